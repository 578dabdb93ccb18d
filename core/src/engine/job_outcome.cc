#include "job_outcome.h"

#include <string_view>

namespace lifeboat::core {
namespace {

std::string PhaseName(v1::Phase p) {
  std::string s = v1::Phase_Name(p);
  if (s.rfind("PHASE_", 0) == 0) s = s.substr(6);
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string SwitchWord(const v1::Job& job) {
  return job.kind() == v1::JOB_FAILBACK ? "failback" : "failover";
}

std::string CancelledSwitch(const v1::Job& job) {
  const std::string what = SwitchWord(job);
  std::string done, swapped, next;
  for (const auto& step : job.steps()) {
    if (step.done()) {
      done += (done.empty() ? "" : ", ") + step.service() + ":" + step.name();
      if (step.name() == "swap") swapped += (swapped.empty() ? "" : ", ") + step.service();
    } else if (next.empty()) {
      next = step.name() + " of " + step.service();
    }
  }
  std::string msg = what + " job " + job.id() + " was cancelled" +
                    (next.empty() ? "" : " before step '" + next + "'") + "; ";
  msg += done.empty() ? "no step was done" : "steps done: " + done;
  msg += swapped.empty() ? "; the roles did not change" : "; the roles changed for " + swapped;
  msg += ". A cancelled job is not resumed: start the " + what + " again to go on";
  return msg;
}

std::string CancelledRestore(const v1::Job& job) {
  const std::string point = job.restore_point_id();
  if (job.restore().dry_run()) {
    return "dry run of the restore of " + point + " (job " + job.id() +
           ") was cancelled; nothing was changed";
  }
  return "restore of " + point + " (job " + job.id() + ") was cancelled after " +
         std::to_string(job.changes_size()) +
         " data set(s); what it wrote stays. A cancelled job is not resumed: run the restore "
         "again to finish it";
}

std::string CancelledBackup(const v1::Job& job, const v1::RestorePoint& point) {
  const std::string again = job.policy().name().empty()
                                ? std::string("run the policy again")
                                : "`lifeboat run " + job.policy().name() + "`";
  if (point.id().empty()) {
    return "backup job " + job.id() + " was cancelled before it planned a restore point; " +
           "nothing was made. A cancelled job is not resumed: " + again + " starts a new backup";
  }
  if (point.state() == v1::RP_COMMITTED) {
    return "backup job " + job.id() + " was cancelled after its restore point " + point.id() +
           " was committed; the point stays and is restorable (the next backup finishes the "
           "clean-up left undone)";
  }
  return "backup job " + job.id() + " was cancelled in the " + PhaseName(job.phase()) +
         " phase; its partial restore point " + point.id() +
         " was removed from both clusters. A cancelled job is not resumed: " + again +
         " starts a new backup";
}

}  // namespace

bool IsDryRun(const v1::Job& job) {
  return (job.kind() == v1::JOB_RESTORE && job.restore().dry_run()) ||
         ((job.kind() == v1::JOB_FAILOVER || job.kind() == v1::JOB_FAILBACK) &&
          job.switch_spec().dry_run());
}

std::string CancelledMessage(const v1::Job& job, const v1::RestorePoint& point) {
  switch (job.kind()) {
    case v1::JOB_RESTORE:
      return CancelledRestore(job);
    case v1::JOB_FAILOVER:
    case v1::JOB_FAILBACK:
      return CancelledSwitch(job);
    default:
      return CancelledBackup(job, point);
  }
}

JobEndEvent EndEvent(const v1::Job& job) {
  JobEndEvent ev;
  const bool dry = IsDryRun(job);
  if (job.state() == v1::JOB_CANCELLED) {
    ev.severity = dry ? v1::SEVERITY_NOTICE : v1::SEVERITY_WARNING;
    ev.kind = v1::EVENT_JOB_CANCELLED;
    ev.message = job.error();
    return ev;
  }
  if (job.state() == v1::JOB_PARKED) {
    ev.severity = dry ? v1::SEVERITY_NOTICE : v1::SEVERITY_WARNING;
    ev.kind = v1::EVENT_JOB_PARKED;
    ev.message = "job " + job.id() + " waits for an operator: " + job.error() +
                 ". Fix the cause, then `lifeboat jobs resume " + job.id() +
                 "`; or `lifeboat jobs cancel " + job.id() + "`";
    return ev;
  }
  ev.severity = dry ? v1::SEVERITY_NOTICE : v1::SEVERITY_CRITICAL;
  switch (job.kind()) {
    case v1::JOB_RESTORE:
      ev.kind = v1::EVENT_RESTORE_FAILED;
      ev.message = std::string(dry ? "dry run of the restore" : "restore") + " of " +
                   job.restore_point_id() + " (job " + job.id() + ") failed: " + job.error();
      break;
    case v1::JOB_FAILOVER:
    case v1::JOB_FAILBACK:
      ev.kind = v1::EVENT_SWITCH_FAILED;
      ev.message = std::string(dry ? "dry run of the " : "") + SwitchWord(job) + " job " +
                   job.id() + " failed: " + job.error();
      break;
    default:
      ev.kind = v1::EVENT_JOB_FAILED;
      ev.message = "job " + job.id() + " failed: " + job.error();
      break;
  }
  return ev;
}

v1::DataSetChanges CountChanges(const std::string& data_set,
                                const ::lifeboat::v1::RestoreResponse& r) {
  v1::DataSetChanges c;
  c.set_data_set(data_set);
  for (const std::string& line : r.changes()) {
    const std::string_view l = line;
    if (l.starts_with("create ")) {
      c.set_creates(c.creates() + 1);
    } else if (l.starts_with("update ")) {
      c.set_updates(c.updates() + 1);
    } else if (l.starts_with("delete ")) {
      c.set_deletes(c.deletes() + 1);
    } else {
      c.set_other(c.other() + 1);
    }
  }
  c.set_bytes(r.bytes_written());
  return c;
}

}  // namespace lifeboat::core
