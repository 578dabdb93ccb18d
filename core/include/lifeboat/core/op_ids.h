// Every op id the engine hands a plugin, built here and nowhere else.
//
// An op id names one piece of work that must happen at most once however often it is asked
// for: a plugin answers a repeat from its journal, and a remote agent's channel answers it
// from memory (Agent::Invoke<Op> hands it over in CallOptions::op_id). Its scope is what
// decides what is "the same work": a member of a restore point (a resumed backup repeats the
// point's cut, not a new one), a job (a restore started again is new work), a role epoch (an
// owed fence is paid once per demotion).
//
// The formats are persisted — plugins journal them, a job resumed after an upgrade repeats
// them — and must never change (op_ids_test pins them).
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_CORE_OP_IDS_H_
#define LIFEBOAT_CORE_OP_IDS_H_

#include <lifeboat/abi.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lifeboat::core::op_ids {

// The steps of a backup, and of cleaning up after one, whose scope is one member of a point.
enum class PointStep {
  kPrepare,  // "prepare"
  kCut,      // "cut"
  kPlan,     // "plan": plan_transfer
  kVerify,   // "verify"
  // "verify-held": whether the member holds the locations other members of the point
  // reference (VerifyRequest.expect_held)
  kVerifyHeld,
  kCommit,    // "commit"
  kSecurity,  // "security": sync_security after the commit
  kRelease,   // "release": the source's cut, once the point no longer needs it
  kAbandon,   // "abandon": the target's copies of a point that will never commit
  kExpire,    // "expire": retention, or a delete of the point
};

// "<step>-<point>-<member>", e.g. "cut-rp-20261207T101500Z-000004-0".
std::string ForMember(PointStep step, std::string_view point, int member);
// One transfer task of a member: "transfer-<point>-<member>-<task id>".
std::string Transfer(std::string_view point, int member, std::string_view task_id);
// A verify asked by an operator: new work each time ("reverify-<point>-<member>-<now>").
std::string Reverify(std::string_view point, int member, int64_t now_unix_nanos);
// A restore job's call for one member; `check` for the dry run every member gets before any
// is written ("restore-check-<job>-<member>" / "restore-<job>-<member>").
std::string Restore(std::string_view job, int member, bool check);
// A switch job's fence or unfence of one data set ("fence-<job>-<service>-<i>").
std::string Fence(lb_op op, std::string_view job, std::string_view service, int data_set);
// A switch job's apply of the newest point to a data set ("apply-<job>-<service>-<i>").
std::string Apply(std::string_view job, std::string_view service, int member);
// A failback's comparison of the old primary with a point ("check-<job>-<service>-<point>-<i>").
std::string FailbackCheck(std::string_view job, std::string_view service, std::string_view point,
                          int member);
// The fence owed to a cluster demoted while unreachable: once per epoch
// ("owed-fence-<service>-<epoch>-<i>").
std::string OwedFence(std::string_view service, int64_t epoch, int data_set);
// An operator's unfence: its own sequence, so a late repeat of an old one cannot lift a fence
// made after it ("unfence-manual-<seq>-<service>-<cluster>-<i>").
std::string ManualUnfence(uint64_t seq, std::string_view service, std::string_view cluster,
                          int data_set);

}  // namespace lifeboat::core::op_ids

#endif  // LIFEBOAT_CORE_OP_IDS_H_
