// Roles, endpoint lookup, failover and failback, and cluster health.
//
// Roles live in the state store (meta "roles/<service>", a ServiceRoles) and change only by
// a switch job, one epoch at a time. Plugins stamp the epoch on each cluster through
// fence/unfence, so an old primary that comes back refuses writes until a controller with a
// newer epoch says otherwise.
#include <lifeboat/core/engine.h>
#include <lifeboat/core/op_ids.h>
#include <lifeboat/v1/plugin.pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "engine_util.h"
#include "executor.h"
#include "member_order.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;

bool Unreachable(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string DataSetList(const v1::Service& svc) {
  std::vector<std::string> names;
  for (const auto& d : svc.data_sets()) names.push_back(Name(d));
  return Join(names);
}

}  // namespace

// ---- roles and endpoints ----------------------------------------------------------------

StatusOr<v1::ServiceRoles> Engine::Roles(const std::string& service) const {
  auto raw = store_->GetRaw(Kind::kMeta, RolesKey(service));
  if (raw.ok()) {
    v1::ServiceRoles roles;
    if (!roles.ParseFromString(*raw)) {
      return DataLossError("the roles record of service " + service + " is unreadable");
    }
    return roles;
  }
  if (raw.status().code() != Code::kNotFound) return raw.status();
  auto svc = store_->Read<v1::Service>(Kind::kServices, service);
  if (!svc.ok()) {
    if (svc.status().code() == Code::kNotFound) {
      return NotFoundError("no service '" + service + "'; `lifeboat service status` lists them");
    }
    return svc.status();
  }
  v1::ServiceRoles roles;
  roles.set_service(service);
  roles.set_primary_cluster(svc->primary_cluster());
  roles.set_secondary_cluster(svc->secondary_cluster());
  roles.set_epoch(1);
  return roles;
}

Status Engine::PutRoles(const v1::ServiceRoles& roles, const std::string& actor,
                        const std::string& action) {
  std::lock_guard<std::mutex> lock(roles_mu_);
  return PutRolesLocked(roles, actor, action);
}

Status Engine::PutRolesLocked(const v1::ServiceRoles& roles, const std::string& actor,
                              const std::string& action) {
  auto stored = Roles(roles.service());
  if (stored.ok() && stored->epoch() > roles.epoch()) {
    return AbortedError("the roles of " + roles.service() + " moved to epoch " +
                        std::to_string(stored->epoch()) + " meanwhile; not writing epoch " +
                        std::to_string(roles.epoch()) + " (" + action + ")");
  }
  StateStore::Batch batch;
  batch.PutRaw(Kind::kMeta, RolesKey(roles.service()), roles.SerializeAsString());
  LIFEBOAT_RETURN_IF_ERROR(Audit(batch, actor, action, roles.service(),
                                 "primary " + roles.primary_cluster() + ", secondary " +
                                     roles.secondary_cluster() + ", epoch " +
                                     std::to_string(roles.epoch())));
  return store_->Write(batch, /*sync=*/true);
}

StatusOr<v1::EndpointAnswer> Engine::Endpoints(const std::string& service) const {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, Roles(service));
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Service svc, store_->Read<v1::Service>(Kind::kServices, service));
  v1::EndpointAnswer answer;
  answer.set_service(service);
  answer.set_active_cluster(roles.primary_cluster());
  answer.set_standby_cluster(roles.secondary_cluster());
  answer.set_epoch(roles.epoch());
  for (const auto& e : svc.endpoints()) {
    if (e.cluster() == roles.primary_cluster()) *answer.add_endpoints() = e;
  }
  return answer;
}

// ---- switch jobs ------------------------------------------------------------------------

StatusOr<std::string> Engine::StartFailover(v1::SwitchSpec spec, const std::string& actor) {
  return StartSwitch(v1::JOB_FAILOVER, std::move(spec), actor);
}

StatusOr<std::string> Engine::StartFailback(v1::SwitchSpec spec, const std::string& actor) {
  return StartSwitch(v1::JOB_FAILBACK, std::move(spec), actor);
}

StatusOr<std::string> Engine::StartSwitch(v1::JobKind kind, v1::SwitchSpec spec,
                                          const std::string& actor) {
  const char* what = kind == v1::JOB_FAILOVER ? "failover" : "failback";
  std::lock_guard<std::mutex> lock(mu_);
  if (!spec.from_cluster().empty()) {
    if (!spec.services().empty()) {
      return InvalidArgumentError("give services or a cluster, not both");
    }
    auto c = store_->Read<v1::Cluster>(Kind::kClusters, spec.from_cluster());
    if (!c.ok()) {
      return NotFoundError("no cluster '" + spec.from_cluster() +
                           "'; the clusters are those applied with `kind: Cluster`");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto services, Services());
    for (const auto& s : services) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto roles, Roles(s.name()));
      if (roles.primary_cluster() == spec.from_cluster()) spec.add_services(s.name());
    }
    if (spec.services().empty()) {
      return FailedPreconditionError("cluster " + spec.from_cluster() +
                                     " is primary for no service; nothing to " + what);
    }
  }
  if (spec.services().empty())
    return InvalidArgumentError(std::string("name a service to ") + what);
  std::set<std::string> seen;
  for (const auto& s : spec.services()) {
    LIFEBOAT_RETURN_IF_ERROR(Roles(s).status());  // NOT_FOUND names the service
    if (!seen.insert(s).second) return InvalidArgumentError("service " + s + " is named twice");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
  for (const auto& j : jobs) {
    if ((j.kind() == v1::JOB_FAILOVER || j.kind() == v1::JOB_FAILBACK) && Unfinished(j) &&
        !spec.dry_run()) {
      return FailedPreconditionError("switch job " + j.id() + " is unfinished (" +
                                     v1::JobState_Name(j.state()) + "); resume or cancel it first");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store_->NextSequence("job"));
  v1::Job job;
  job.set_id(Numbered("job-", seq));
  job.set_kind(kind);
  job.set_service(spec.services_size() == 1 ? spec.services(0) : "");
  job.set_state(v1::JOB_PENDING);
  job.set_trigger("manual");
  job.set_created_unix_nanos(Now());
  *job.mutable_switch_spec() = spec;
  StateStore::Batch batch;
  batch.Put(Kind::kJobs, job.id(), job);
  LIFEBOAT_RETURN_IF_ERROR(Audit(batch, actor,
                                 std::string(what) + (spec.dry_run() ? ".dry_run" : ""), job.id(),
                                 Join({spec.services().begin(), spec.services().end()})));
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  return job.id();
}

Status Engine::RunSwitch(v1::Job& job, const std::function<Status()>& save,
                         const std::atomic<bool>* cancel) {
  v1::SwitchSpec& spec = *job.mutable_switch_spec();
  const bool failback = job.kind() == v1::JOB_FAILBACK;
  const std::string what = failback ? "failback" : "failover";

  // The plan, made once: a resumed job keeps its epochs and skips the steps done.
  if (job.steps_size() == 0) {
    for (const auto& name : spec.services()) {
      LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, Roles(name));
      LIFEBOAT_ASSIGN_OR_RETURN(v1::Service svc, store_->Read<v1::Service>(Kind::kServices, name));
      const uint64_t epoch = roles.epoch() + 1;
      (*spec.mutable_new_epochs())[name] = epoch;
      const std::string& from = roles.primary_cluster();
      const std::string& to = roles.secondary_cluster();
      const std::string sets = DataSetList(svc);
      auto add = [&](const std::string& step, const std::string& detail) {
        v1::SwitchStep* s = job.add_steps();
        s->set_service(name);
        s->set_name(step);
        s->set_detail(detail);
      };
      add("stop-backups", "cancel the unfinished backups of " + name);
      if (failback) {
        add("check", "compare " + sets + " on " + to + " with the last point both clusters " +
                         "share: a write " + to + " took since would be replaced");
        add("replicate", "back up " + name + " from " + from + " to " + to +
                             ": only what changed since the last common point");
        add("fence", "fence " + sets + " on " + from + " at epoch " + std::to_string(epoch) +
                         " (writers stop)");
        add("replicate-final", "back up " + name + " from " + from + " to " + to +
                                   " again: what was written before the fence");
      } else {
        add("fence", "fence " + sets + " on " + from + " at epoch " + std::to_string(epoch) +
                         " (owed until it answers, if unreachable)");
      }
      add("unfence", "unfence " + sets + " on " + to + " at epoch " + std::to_string(epoch));
      add("apply",
          "restore the newest committed point held by " + to + " into " + sets + " on " + to);
      add("swap", "make " + to + " primary and " + from + " secondary at epoch " +
                      std::to_string(epoch) + "; endpoint lookups answer " + to);
    }
    LIFEBOAT_RETURN_IF_ERROR(save());
  }
  if (spec.dry_run()) {
    // Nothing is done; what the real run checks before it acts is checked now, and refused
    // as the real run would refuse it.
    CallOptions opts;
    opts.cancel = cancel;
    for (auto& step : *job.mutable_steps()) {
      std::string found;
      Status s = DryRunStep(job, step, opts, &found);
      step.set_outcome(found.empty() ? "dry run: not done" : "dry run: " + found);
      job.add_log("would " + step.detail() + (found.empty() ? "" : " (" + found + ")"));
      if (!s.ok()) {
        LIFEBOAT_RETURN_IF_ERROR(save());
        return s.WithContext(what + " of " + step.service() + ", step " + step.name() +
                             " (dry run: the real run would stop here)");
      }
    }
    return save();
  }

  for (int k = 0; k < job.steps_size(); ++k) {
    v1::SwitchStep& step = *job.mutable_steps(k);
    if (step.done()) continue;
    if (cancel != nullptr && cancel->load()) {
      return CancelledError(what + " job " + job.id() + " was cancelled before step '" +
                            step.name() + "' of " + step.service() + "; resume it to go on");
    }
    const std::string& name = step.service();
    LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, Roles(name));
    LIFEBOAT_ASSIGN_OR_RETURN(v1::Service svc, store_->Read<v1::Service>(Kind::kServices, name));
    const uint64_t epoch = spec.new_epochs().at(name);
    if (roles.epoch() >= epoch && step.name() != "swap") {
      // Roles already moved (by this job before a crash): only "swap" can be left.
      step.set_done(true);
      step.set_outcome("skipped: roles are at epoch " + std::to_string(roles.epoch()));
      LIFEBOAT_RETURN_IF_ERROR(save());
      continue;
    }
    const std::string from = roles.primary_cluster();
    const std::string to = roles.secondary_cluster();
    std::string outcome;
    // Every plugin call of a step retries as a backup's do (RetryingAgent); a cancel of the
    // job ends a backoff at once, and each retry is noted in the job's log.
    CallOptions opts;
    opts.cancel = cancel;
    opts.on_retry = [&job, &name](const Status& failure, int attempt, int64_t backoff) {
      job.add_log(name + ": retry " + std::to_string(attempt) + " in " + std::to_string(backoff) +
                  " ms after " + failure.ToString());
    };

    auto fence = [&](const std::string& cluster, lb_op op, bool owed_ok) -> Status {
      LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(cluster));
      std::vector<std::string> notes;
      for (int i = 0; i < svc.data_sets_size(); ++i) {
        pb::FenceRequest req;
        req.set_op_id(op_ids::Fence(op, job.id(), name, i));
        *req.mutable_data_set() = ToPlugin(svc.data_sets(i));
        req.set_reason(what + " of " + name + " by job " + job.id() +
                       (spec.reason().empty() ? "" : ": " + spec.reason()));
        req.set_epoch(epoch);
        const std::string& component = svc.data_sets(i).component();
        auto r = op == LB_OP_FENCE ? agent->Invoke<LB_OP_FENCE>(component, req, opts)
                                   : agent->Invoke<LB_OP_UNFENCE>(component, req, opts);
        const std::string ds = Name(svc.data_sets(i));
        if (r.ok()) {
          notes.push_back(ds + (op == LB_OP_FENCE ? " fenced" : " unfenced"));
        } else if (r.status().code() == Code::kUnimplemented) {
          if (op == LB_OP_FENCE && !spec.force() && failback) {
            return FailedPreconditionError(
                "the plugin of " + ds + " on " + cluster +
                " cannot fence, so a planned failback cannot stop its writers; stop them by "
                "other means and run again with --force");
          }
          notes.push_back(ds + ": the plugin cannot " +
                          (op == LB_OP_FENCE ? "fence (stop writers by other means)" : "unfence"));
        } else if (owed_ok && Unreachable(r.status())) {
          return UnavailableError(cluster + " is unreachable: " + r.status().ToString());
        } else if (spec.force()) {
          notes.push_back(ds + ": " + r.status().ToString() + " (ignored: --force)");
        } else {
          return r.status().WithContext((op == LB_OP_FENCE ? "fence " : "unfence ") + ds + " on " +
                                        cluster);
        }
      }
      outcome = Join(notes);
      return OkStatus();
    };

    auto replicate = [&]() -> Status {
      // A child backup of the service, in the current direction (from -> to).
      std::string child = step.outcome().rfind("job-", 0) == 0 ? step.outcome() : "";
      if (child.empty()) {
        LIFEBOAT_ASSIGN_OR_RETURN(auto policies, Policies());
        const v1::Policy* chosen = nullptr;
        for (const auto& p : policies) {
          if (p.service() != name) continue;
          if (chosen == nullptr || p.priority() > chosen->priority()) chosen = &p;
        }
        if (chosen == nullptr) {
          return FailedPreconditionError("service " + name +
                                         " has no policy to replicate with; apply one");
        }
        // Writes the other cluster took, found by the check and let go (--discard-writes),
        // are overwritten: a plugin that finds the target changed since the base (hdfs) then
        // compares in full instead of refusing. Otherwise the usual incremental.
        bool discarded = false;
        for (const auto& other : job.steps()) {
          if (other.service() == name && other.name() == "check") discarded = other.discarded();
        }
        LIFEBOAT_ASSIGN_OR_RETURN(child, StartBackup(chosen->name(), what, "job " + job.id(),
                                                     /*force_full=*/discarded));
        step.set_outcome(child);
        LIFEBOAT_RETURN_IF_ERROR(save());
      }
      Status s = RunJob(child, cancel);
      if (!s.ok()) return s.WithContext(what + " backup " + child);
      LIFEBOAT_ASSIGN_OR_RETURN(v1::Job done, GetJob(child));
      auto rp = GetRestorePoint(name, done.restore_point_id());
      uint64_t copied = 0;
      if (rp.ok()) {
        for (const auto& m : rp->members()) copied += m.bytes_copied();
      }
      // The failback's bytes: what its replication moved (its child backups are not counted
      // again under backups in /metrics).
      job.set_bytes_done(job.bytes_done() + copied);
      outcome = child + ": point " + done.restore_point_id() + ", " + std::to_string(copied) +
                " bytes copied";
      return OkStatus();
    };

    Status s;
    if (step.name() == "stop-backups") {
      LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
      std::vector<std::string> stopped;
      for (const auto& j : jobs) {
        if (j.kind() != v1::JOB_BACKUP || j.service() != name || !Unfinished(j)) continue;
        Status c = CancelJob(j.id());
        if (c.ok()) {
          Wait(j.id());
          stopped.push_back(j.id());
        }
      }
      outcome = stopped.empty() ? "none running" : "cancelled " + Join(stopped);
    } else if (step.name() == "check") {
      bool discarded = false;
      s = CheckNoWritesSince(job, svc, roles, to, spec.discard_writes(), opts, &outcome,
                             &discarded);
      step.set_discarded(discarded);
    } else if (step.name() == "fence") {
      s = fence(from, LB_OP_FENCE, /*owed_ok=*/!failback);
      if (!s.ok() && Unreachable(s) && !failback) {
        // Split brain is prevented when it answers again: the fence is owed until then.
        if (std::find(roles.fence_owed().begin(), roles.fence_owed().end(), from) ==
            roles.fence_owed().end()) {
          roles.add_fence_owed(from);
          LIFEBOAT_RETURN_IF_ERROR(PutRoles(roles, "job " + job.id(), "fence.owed"));
        }
        outcome = "owed: " + s.message();
        (void)RecordEvent(v1::SEVERITY_CRITICAL, v1::EVENT_FENCE_OWED, name,
                          "the old primary " + from + " of " + name +
                              " could not be fenced (unreachable); it will be fenced at epoch " +
                              std::to_string(epoch) + " as soon as it answers",
                          job.id());
        s = OkStatus();
      }
    } else if (step.name() == "unfence") {
      s = fence(to, LB_OP_UNFENCE, /*owed_ok=*/false);
    } else if (step.name() == "replicate" || step.name() == "replicate-final") {
      s = replicate();
    } else if (step.name() == "apply") {
      LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(name));
      const v1::RestorePoint* newest = nullptr;
      for (const auto& p : points) {
        if (p.state() != v1::RP_COMMITTED || p.target_cluster() != to) continue;
        if (newest == nullptr || p.id() > newest->id()) newest = &p;
      }
      if (newest == nullptr) {
        if (!spec.force()) {
          return FailedPreconditionError(
              to + " holds no committed restore point of " + name + ": switching would start " +
              "the service with no data there. Back it up first, or run again with --force");
        }
        outcome = "no committed point on " + to + " (ignored: --force)";
      } else {
        LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(to));
        uint64_t written = 0;
        size_t changes = 0;
        // The data a member's metadata names before the metadata (member_order.h).
        LIFEBOAT_ASSIGN_OR_RETURN(std::vector<int> order, WriteOrder(*newest, *agent));
        for (int i : order) {
          const v1::Member& m = newest->members(i);
          pb::RestoreRequest req;
          req.set_op_id(op_ids::Apply(job.id(), name, i));
          *req.mutable_data_set() = ToPlugin(m.data_set());
          req.set_restore_point_id(newest->id());
          // The switch as a whole is what the operator agreed to (its confirmation): the
          // new primary's data sets become the point, whatever they held.
          req.set_overwrite(true);
          auto r = agent->Invoke<LB_OP_RESTORE>(m.data_set().component(), req, opts);
          if (!r.ok()) return r.status().WithContext("apply " + Name(m.data_set()) + " on " + to);
          written += r->bytes_written();
          changes += static_cast<size_t>(r->changes_size());
        }
        job.set_bytes_done(job.bytes_done() + written);
        roles.set_common_restore_point_id(newest->id());
        LIFEBOAT_RETURN_IF_ERROR(PutRoles(roles, "job " + job.id(), what + ".apply"));
        outcome = "applied " + newest->id() + ": " + std::to_string(changes) + " changes, " +
                  std::to_string(written) + " bytes written";
      }
    } else if (step.name() == "swap") {
      if (roles.epoch() >= epoch) {
        outcome = "already at epoch " + std::to_string(roles.epoch());
      } else {
        v1::ServiceRoles next = roles;
        next.set_primary_cluster(to);
        next.set_secondary_cluster(from);
        next.set_epoch(epoch);
        next.set_changed_unix_nanos(Now());
        next.set_changed_by("job " + job.id());
        next.set_reason(spec.reason());
        LIFEBOAT_RETURN_IF_ERROR(PutRoles(next, "job " + job.id(), what));
        // The switch is the remedy, not the trouble (that is primary_unreachable, critical).
        (void)RecordEvent(failback ? v1::SEVERITY_INFO : v1::SEVERITY_NOTICE,
                          failback ? v1::EVENT_FAILBACK : v1::EVENT_FAILOVER, name,
                          name + " now runs on " + to + " (primary, epoch " +
                              std::to_string(epoch) + "); " + from + " is secondary",
                          job.id());
        outcome = to + " is primary at epoch " + std::to_string(epoch);
      }
    } else {
      return InternalError("unknown switch step '" + step.name() + "'");
    }
    if (!s.ok()) return s.WithContext(what + " of " + name + ", step " + step.name());
    step.set_done(true);
    step.set_outcome(outcome);
    job.add_log(name + ": " + step.name() + ": " + outcome);
    LIFEBOAT_RETURN_IF_ERROR(save());
  }
  return OkStatus();
}

Status Engine::PayOwedFences(const std::string& cluster) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto services, Services());
  for (const auto& svc : services) {
    LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, Roles(svc.name()));
    auto owed = std::find(roles.fence_owed().begin(), roles.fence_owed().end(), cluster);
    if (owed == roles.fence_owed().end()) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(cluster));
    Status failed;
    for (int i = 0; i < svc.data_sets_size(); ++i) {
      pb::FenceRequest req;
      req.set_op_id(op_ids::OwedFence(svc.name(), roles.epoch(), i));
      *req.mutable_data_set() = ToPlugin(svc.data_sets(i));
      req.set_reason("demoted while unreachable (epoch " + std::to_string(roles.epoch()) + ")");
      req.set_epoch(roles.epoch());
      auto r = agent->Invoke<LB_OP_FENCE>(svc.data_sets(i).component(), req);
      if (!r.ok() && r.status().code() != Code::kUnimplemented && failed.ok()) failed = r.status();
    }
    if (!failed.ok()) {
      (void)RecordEvent(v1::SEVERITY_CRITICAL, v1::EVENT_FENCE_FAILED, svc.name(),
                        "the owed fence of " + cluster + " failed: " + failed.ToString());
      continue;
    }
    // The fences took time: a switch may have moved the roles on meanwhile. Take the owed
    // fence off the record as it is now, and only while it is still this epoch's debt.
    {
      std::lock_guard<std::mutex> lock(roles_mu_);
      LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles now, Roles(svc.name()));
      auto still = std::find(now.fence_owed().begin(), now.fence_owed().end(), cluster);
      if (now.epoch() != roles.epoch() || still == now.fence_owed().end()) continue;
      now.mutable_fence_owed()->erase(still);
      LIFEBOAT_RETURN_IF_ERROR(PutRolesLocked(now, "health", "fence.paid"));
    }
    (void)RecordEvent(v1::SEVERITY_NOTICE, v1::EVENT_FENCE_PAID, svc.name(),
                      cluster + " answered again and was fenced at epoch " +
                          std::to_string(roles.epoch()) + ": it stays secondary");
  }
  return OkStatus();
}

// ---- health -----------------------------------------------------------------------------

StatusOr<std::vector<v1::ClusterHealth>> Engine::CheckClusters() {
  LIFEBOAT_ASSIGN_OR_RETURN(auto clusters, Clusters());
  std::vector<v1::ClusterHealth> out;
  for (const auto& c : clusters) {
    v1::ClusterHealth h;
    h.set_cluster(c.name());
    h.set_checked_unix_nanos(Now());
    auto clock = MeasureClock(c.name());
    if (!clock.ok()) {
      h.set_state(v1::CLUSTER_UNREACHABLE);
      h.set_detail(clock.status().ToString());
    } else {
      *h.mutable_clock() = *clock;
      h.set_state(v1::CLUSTER_HEALTHY);
      LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(c.name()));
      std::vector<std::string> bad;
      for (const auto& comp : c.components()) {
        v1::ComponentHealth* ch = h.add_components();
        ch->set_component(comp.component());
        auto probe = agent->Invoke<LB_OP_PROBE>(comp.component(), pb::ProbeRequest{});
        if (!probe.ok()) {
          ch->set_health(probe.status().ToString());
          bad.push_back(comp.component() + ": " + probe.status().ToString());
          continue;
        }
        ch->set_health(pb::Health_Name(probe->health()));
        ch->set_detail(probe->detail());
        ch->set_component_version(probe->component_version());
        ch->set_fenced_data_sets(static_cast<uint32_t>(probe->fenced_size()));
        if (probe->health() != pb::HEALTHY) {
          bad.push_back(comp.component() + " " + pb::Health_Name(probe->health()));
        }
      }
      if (!bad.empty()) {
        h.set_state(v1::CLUSTER_DEGRADED);
        h.set_detail(Join(bad));
      }
    }
    v1::ClusterHealthState before = v1::CLUSTER_HEALTH_UNSPECIFIED;
    {
      std::lock_guard<std::mutex> lock(health_mu_);
      auto it = health_.find(c.name());
      if (it != health_.end()) {
        before = it->second.state();
        h.set_since_unix_nanos(before == h.state() ? it->second.since_unix_nanos() : Now());
      } else {
        h.set_since_unix_nanos(Now());
      }
      health_[c.name()] = h;
    }
    if (before != h.state()) {
      const std::string state = v1::ClusterHealthState_Name(h.state());
      const bool first_and_fine =
          before == v1::CLUSTER_HEALTH_UNSPECIFIED && h.state() == v1::CLUSTER_HEALTHY;
      if (!first_and_fine) {
        const bool unreachable = h.state() == v1::CLUSTER_UNREACHABLE;
        const bool degraded = h.state() == v1::CLUSTER_DEGRADED;
        (void)RecordEvent(
            unreachable ? v1::SEVERITY_CRITICAL
            : degraded  ? v1::SEVERITY_WARNING
                        : v1::SEVERITY_INFO,
            unreachable ? v1::EVENT_CLUSTER_UNREACHABLE
            : degraded  ? v1::EVENT_CLUSTER_DEGRADED
                        : v1::EVENT_CLUSTER_HEALTHY,
            "",
            "cluster " + c.name() + " is " + state + (h.detail().empty() ? "" : ": " + h.detail()));
        if (h.state() == v1::CLUSTER_UNREACHABLE) {
          LIFEBOAT_ASSIGN_OR_RETURN(auto services, Services());
          for (const auto& svc : services) {
            LIFEBOAT_ASSIGN_OR_RETURN(auto roles, Roles(svc.name()));
            if (roles.primary_cluster() != c.name()) continue;
            (void)RecordEvent(v1::SEVERITY_CRITICAL, v1::EVENT_PRIMARY_UNREACHABLE, svc.name(),
                              "the primary " + c.name() + " of " + svc.name() +
                                  " is unreachable; `lifeboat failover " + svc.name() +
                                  "` moves it to " + roles.secondary_cluster());
          }
        }
      }
    }
    if (h.state() != v1::CLUSTER_UNREACHABLE) {
      Status paid = PayOwedFences(c.name());
      if (!paid.ok()) spdlog::warn("owed fences of {}: {}", c.name(), paid.ToString());
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<v1::ClusterHealth> Engine::Health() const {
  std::lock_guard<std::mutex> lock(health_mu_);
  std::vector<v1::ClusterHealth> out;
  for (const auto& [name, h] : health_) out.push_back(h);
  return out;
}

}  // namespace lifeboat::core
