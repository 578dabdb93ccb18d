// What a switch checks before it acts, in its real run and in its dry run alike:
//   - the failback's first step: has the cluster the service goes back to taken writes that
//     the failback would replace? (After an unplanned failover the old primary keeps what it
//     took after its last point — the RPO window — and whatever reached it before it was
//     fenced.)
//   - a dry run's look at each step: what the real run would refuse (no point to apply, a
//     plugin that cannot fence for a failback, no policy to replicate with).
#include <lifeboat/core/engine.h>
#include <lifeboat/core/op_ids.h>
#include <lifeboat/v1/plugin.pb.h>

#include <algorithm>
#include <optional>

#include "engine_util.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;

// One comparison of `to`'s live data sets with a point: the differences, or why it could not
// be made.
struct Comparison {
  std::string point;
  std::vector<std::string> changes;
  Status status;
};

std::string Some(const std::vector<std::string>& items, size_t n) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < n; ++i) out += (i ? "; " : "") + items[i];
  if (items.size() > n) out += "; and " + std::to_string(items.size() - n) + " more";
  return out;
}

}  // namespace

Status Engine::CheckNoWritesSince(const v1::Job& job, const v1::Service& svc,
                                  const v1::ServiceRoles& roles, const std::string& to,
                                  bool discard, const CallOptions& opts, std::string* outcome,
                                  bool* discarded) {
  // What `to`'s data sets should hold if nothing wrote them: the last point both clusters
  // share (cut from `to`, or applied there), or — where a plugin's copies are the live data
  // set itself (hdfs) — the newest point committed on `to` since. Either one matching is
  // enough: a data set equal to a point Lifeboat put there lost nothing.
  LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(svc.name()));
  std::vector<const v1::RestorePoint*> references;
  const v1::RestorePoint* newest_on_to = nullptr;
  for (const auto& p : points) {
    if (p.state() != v1::RP_COMMITTED) continue;
    if (p.id() == roles.common_restore_point_id()) references.push_back(&p);
    if (p.target_cluster() == to && p.id() > roles.common_restore_point_id() &&
        (newest_on_to == nullptr || p.id() > newest_on_to->id())) {
      newest_on_to = &p;
    }
  }
  if (newest_on_to != nullptr) references.push_back(newest_on_to);
  if (references.empty()) {
    const std::string why = "no committed point is known that " + to + "'s data sets of " +
                            svc.name() + " should equal (the failover applied none), so what " +
                            to + " took cannot be told from what the failback would replace";
    if (discard) {
      *outcome = why + " (going on: --discard-writes)";
      return OkStatus();
    }
    return FailedPreconditionError(why + ". Fail back with --discard-writes to let it " +
                                   "replace whatever " + to + " holds");
  }

  LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(to));
  // Push mode (the policy the failback replicates with says `transfer: push`): the holder's
  // agent connects to `to`'s and serves the reads over that connection, as for a backup.
  bool push = false;
  LIFEBOAT_ASSIGN_OR_RETURN(auto policies, Policies());
  const v1::Policy* chosen = nullptr;
  for (const auto& p : policies) {
    if (p.service() == svc.name() && (chosen == nullptr || p.priority() > chosen->priority())) {
      chosen = &p;
    }
  }
  push = chosen != nullptr && chosen->transfer() == v1::TRANSFER_PUSH;
  std::vector<Comparison> done;
  for (const v1::RestorePoint* point : references) {
    Comparison c;
    c.point = point->id();
    Agent* holder = nullptr;
    const std::string session = "push-" + job.id() + "-check-" + to;
    if (point->target_cluster() != to) {
      auto h = AgentFor(point->target_cluster());
      if (!h.ok()) c.status = h.status();
      holder = h.ok() ? *h : nullptr;
      if (holder != nullptr && push) {
        auto [address, server_name] = agent->BulkAddress();
        c.status = holder->StartPush(session, to, address, server_name);
      }
    }
    for (int i = 0; i < point->members_size() && c.status.ok(); ++i) {
      const v1::Member& m = point->members(i);
      pb::RestoreRequest req;
      req.set_op_id(op_ids::FailbackCheck(job.id(), svc.name(), point->id(), i));
      *req.mutable_data_set() = ToPlugin(m.data_set());
      req.set_restore_point_id(point->id());
      req.set_dry_run(true);
      req.set_compare_only(true);
      CallOptions call = opts;
      if (holder != nullptr) {
        auto config = holder->PeerConfig(m.data_set().component());
        if (!config.ok()) {
          c.status = config.status();
          break;
        }
        pb::Peer* peer = req.mutable_source();
        *peer->mutable_config() = *config;
        peer->set_component(m.data_set().component());
        call = RoutedTo(holder, push ? session : "", call);
      }
      auto r = agent->Invoke<LB_OP_RESTORE>(m.data_set().component(), req, call);
      if (!r.ok()) {
        c.status = r.status().WithContext("comparing " + Name(m.data_set()) + " on " + to +
                                          " with " + point->id());
        break;
      }
      for (const auto& change : r->changes())
        c.changes.push_back(Name(m.data_set()) + ": " + change);
    }
    if (holder != nullptr && push) (void)holder->StopPush(session);
    if (c.status.ok() && c.changes.empty()) {
      *outcome = "no writes on " + to + " since " + point->id() + " (its data sets equal it)";
      return OkStatus();
    }
    if (c.status.code() == Code::kCancelled) return c.status;
    done.push_back(std::move(c));
  }

  // None matched. The comparison with the fewest differences names them best (the other one
  // also lists what the primary changed since).
  const Comparison* best = nullptr;
  for (const auto& c : done) {
    if (!c.status.ok()) continue;
    if (best == nullptr || c.changes.size() < best->changes.size()) best = &c;
  }
  if (best == nullptr) {
    const Status& failed = done.front().status;
    if (discard) {
      *outcome = "not compared (" + failed.ToString() + "); going on: --discard-writes";
      if (discarded != nullptr) *discarded = true;
      return OkStatus();
    }
    return failed.WithContext("checking " + to + " for writes the failback would replace (" +
                              "--discard-writes goes on without this check)");
  }
  const std::string found =
      to + " took writes after " + best->point +
      " that the failback would replace: " + std::to_string(best->changes.size()) +
      " difference(s): " + Some(best->changes, 10);
  if (discard) {
    *outcome = found + " (discarded: --discard-writes)";
    if (discarded != nullptr) *discarded = true;
    return OkStatus();
  }
  const std::string how =
      job.switch_spec().dry_run()
          ? "Copy what must be kept to the primary " + roles.primary_cluster() +
                " (or aside) before failing back; or fail back with --discard-writes to let it "
                "replace them"
          : "Copy what must be kept to the primary " + roles.primary_cluster() +
                " (or aside), then `lifeboat jobs cancel " + job.id() +
                "` and fail back with --discard-writes to let it replace them";
  return FailedPreconditionError(found + ". " + how, to);
}

Status Engine::DryRunStep(const v1::Job& job, const v1::SwitchStep& step, const CallOptions& opts,
                          std::string* found) {
  const v1::SwitchSpec& spec = job.switch_spec();
  const bool failback = job.kind() == v1::JOB_FAILBACK;
  const std::string& name = step.service();
  LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, Roles(name));
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Service svc, store_->Read<v1::Service>(Kind::kServices, name));
  const std::string from = roles.primary_cluster();
  const std::string to = roles.secondary_cluster();
  if (step.name() == "check") {
    return CheckNoWritesSince(job, svc, roles, to, spec.discard_writes(), opts, found);
  }
  if (step.name() == "replicate" || step.name() == "replicate-final") {
    LIFEBOAT_ASSIGN_OR_RETURN(auto policies, Policies());
    for (const auto& p : policies) {
      if (p.service() == name) return OkStatus();
    }
    return FailedPreconditionError("service " + name +
                                   " has no policy to replicate with; apply one");
  }
  if (step.name() == "fence" && failback && !spec.force()) {
    LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(from));
    for (const auto& ds : svc.data_sets()) {
      auto d = agent->Describe(ds.component());
      if (!d.ok()) return d.status().WithContext("describing " + Name(ds) + " on " + from);
      if (std::find(d->capabilities().begin(), d->capabilities().end(), pb::CAP_FENCING) ==
          d->capabilities().end()) {
        return FailedPreconditionError(
            "the plugin of " + Name(ds) + " on " + from +
            " cannot fence, so a planned failback cannot stop its writers; stop them by other "
            "means and run again with --force");
      }
    }
    *found = "the plugins can fence";
    return OkStatus();
  }
  if (step.name() == "apply" && !failback) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(name));
    const v1::RestorePoint* newest = nullptr;
    for (const auto& p : points) {
      if (p.state() != v1::RP_COMMITTED || p.target_cluster() != to) continue;
      if (newest == nullptr || p.id() > newest->id()) newest = &p;
    }
    if (newest != nullptr) {
      *found = "would apply " + newest->id();
      return OkStatus();
    }
    if (spec.force()) {
      *found = "no committed point on " + to + " (ignored: --force)";
      return OkStatus();
    }
    return FailedPreconditionError(to + " holds no committed restore point of " + name +
                                   ": switching would start the service with no data there. "
                                   "Back it up first, or run again with --force");
  }
  return OkStatus();
}

}  // namespace lifeboat::core
