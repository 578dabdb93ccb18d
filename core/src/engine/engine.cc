#include <lifeboat/core/engine.h>
#include <lifeboat/core/op_ids.h>

#include <lifeboat/core/agent_wrapper.h>

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <thread>

#include "engine_util.h"
#include "executor.h"
#include "hooks.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;  // the plugin boundary's messages

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string MakeRestorePointId(int64_t now_unix_nanos, uint64_t sequence) {
  std::time_t t = static_cast<std::time_t>(now_unix_nanos / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "rp-%Y%m%dT%H%M%SZ", &tm);
  return Numbered((std::string(buf) + "-").c_str(), sequence);
}

// ---- engine ------------------------------------------------------------------------------

Engine::Engine(EngineOptions options) : options_(std::move(options)) {
  if (!options_.now) options_.now = &SystemNow;
}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine(std::move(options)));
  LIFEBOAT_RETURN_IF_ERROR(engine->Init());
  return engine;
}

Status Engine::Init() {
  LIFEBOAT_ASSIGN_OR_RETURN(store_, StateStore::Open(options_.state_dir));
  host_ = std::make_unique<PluginHost>(options_.plugin_dirs);
  for (const auto& report : host_->LoadAll()) {
    if (!report.status.ok()) spdlog::warn("plugin refused: {}", report.status.ToString());
  }
  StartExecutor();
  return OkStatus();
}

StatusOr<Agent*> Engine::AgentFor(const std::string& cluster) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agents_.find(cluster);
  if (it != agents_.end()) return it->second.get();
  auto c = store_->Read<v1::Cluster>(Kind::kClusters, cluster);
  if (!c.ok()) {
    if (c.status().code() == Code::kNotFound) {
      return NotFoundError("cluster '" + cluster + "' is not defined; apply a `kind: Cluster`");
    }
    return c.status();
  }
  std::unique_ptr<Agent> agent;
  if (options_.make_agent) {
    LIFEBOAT_ASSIGN_OR_RETURN(agent, options_.make_agent(*c, *host_));
  } else {
    agent = std::make_unique<LocalAgent>(*host_, *c);
  }
  agent = Retrying(std::move(agent));
  Agent* raw = agent.get();
  agents_.emplace(cluster, std::move(agent));
  return raw;
}

std::unique_ptr<Agent> Engine::Retrying(std::unique_ptr<Agent> agent) const {
  RetryPolicy policy;
  policy.max_attempts = std::max(1, options_.max_attempts);
  policy.first_backoff_millis = options_.first_backoff_millis;
  return std::make_unique<RetryingAgent>(std::move(agent), policy);
}

Status Engine::Audit(StateStore::Batch& batch, const std::string& actor, const std::string& action,
                     const std::string& subject, const std::string& detail) {
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store_->NextSequence("audit"));
  v1::AuditEvent ev;
  ev.set_time_unix_nanos(Now());
  ev.set_actor(actor);
  ev.set_action(action);
  ev.set_subject(subject);
  ev.set_detail(detail);
  batch.Put(Kind::kAudit, PaddedNumber(seq), ev);
  return OkStatus();
}

Status Engine::RecordEvent(v1::EventSeverity severity, v1::EventKind kind,
                           const std::string& service, const std::string& message,
                           const std::string& job_id) {
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store_->NextSequence("event"));
  v1::Event ev;
  ev.set_time_unix_nanos(Now());
  ev.set_severity(SeverityName(severity));
  ev.set_service(service);
  ev.set_kind(EventKindName(kind));
  ev.set_message(message);
  ev.set_job_id(job_id);
  StateStore::Batch batch;
  batch.Put(Kind::kEvents, PaddedNumber(seq), ev);
  const bool alert = severity >= v1::SEVERITY_WARNING;
  if (alert) spdlog::info("event {} {}: {}", ev.kind(), service, message);
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  if (alert && !options_.webhooks.empty()) {
    std::string body;
    google::protobuf::util::JsonPrintOptions opts;
    opts.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(ev, &body, opts);
    for (const auto& url : options_.webhooks) {
      // Best effort, off the caller's thread: a slow receiver must not hold up a job.
      std::thread([url, body] {
        Status s = PostJson("webhook", url, body, 10);
        if (!s.ok()) spdlog::warn("{}", s.ToString());
      }).detach();
    }
  }
  return OkStatus();
}

// ---- configuration (Apply: apply.cc) ------------------------------------------------------

StatusOr<std::vector<v1::Policy>> Engine::Policies() const {
  return store_->List<v1::Policy>(Kind::kPolicies);
}

StatusOr<v1::Policy> Engine::GetPolicy(const std::string& name) const {
  auto p = store_->Read<v1::Policy>(Kind::kPolicies, name);
  if (!p.ok() && p.status().code() == Code::kNotFound) {
    return NotFoundError("no policy named '" + name + "'; `lifeboat policy list` shows them");
  }
  return p;
}

Status Engine::DeletePolicy(const std::string& name, const std::string& actor) {
  LIFEBOAT_RETURN_IF_ERROR(GetPolicy(name).status());
  StateStore::Batch batch;
  batch.Delete(Kind::kPolicies, name);
  LIFEBOAT_RETURN_IF_ERROR(Audit(batch, actor, "policy.delete", name, ""));
  return store_->Write(batch, /*sync=*/true);
}

StatusOr<std::vector<v1::Service>> Engine::Services() const {
  return store_->List<v1::Service>(Kind::kServices);
}
StatusOr<std::vector<v1::Cluster>> Engine::Clusters() const {
  return store_->List<v1::Cluster>(Kind::kClusters);
}

// ---- jobs --------------------------------------------------------------------------------

StatusOr<std::string> Engine::StartBackup(const std::string& policy_name,
                                          const std::string& trigger, const std::string& actor,
                                          bool force_full) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Policy policy, GetPolicy(policy_name));
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, store_->List<v1::Job>(Kind::kJobs));
  for (const auto& j : jobs) {
    if (j.kind() == v1::JOB_BACKUP && j.policy().name() == policy_name && Unfinished(j)) {
      return FailedPreconditionError("policy " + policy_name +
                                     " already has an unfinished backup "
                                     "job " +
                                     j.id() + " (" + v1::JobState_Name(j.state()) +
                                     "); runs of one policy never overlap: let it finish, "
                                     "resume it, or cancel it");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store_->NextSequence("job"));
  v1::Job job;
  job.set_id(Numbered("job-", seq));
  job.set_kind(v1::JOB_BACKUP);
  job.set_service(policy.service());
  *job.mutable_policy() = policy;
  job.set_state(v1::JOB_PENDING);
  job.set_phase(v1::PHASE_PLAN);
  job.set_trigger(trigger);
  job.set_force_full(force_full);
  job.set_created_unix_nanos(Now());
  StateStore::Batch batch;
  batch.Put(Kind::kJobs, job.id(), job);
  LIFEBOAT_RETURN_IF_ERROR(Audit(batch, actor, "job.backup", job.id(),
                                 force_full ? policy_name + " (force full)" : policy_name));
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  return job.id();
}

StatusOr<std::string> Engine::StartRestore(const std::string& service, const v1::RestoreSpec& spec,
                                           const std::string& actor) {
  // As every job start: under mu_, so that `points delete` cannot expire the point between
  // this check and the job's record (DeleteRestorePoint).
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(v1::RestorePoint rp, GetRestorePoint(service, spec.restore_point_id()));
  if (rp.state() != v1::RP_COMMITTED) {
    return FailedPreconditionError("restore point " + rp.id() + " is " +
                                   v1::RestorePointState_Name(rp.state()) +
                                   "; only committed points can be restored");
  }
  LIFEBOAT_RETURN_IF_ERROR(CheckDestinations(rp, spec));
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store_->NextSequence("job"));
  v1::Job job;
  job.set_id(Numbered("job-", seq));
  job.set_kind(v1::JOB_RESTORE);
  job.set_service(service);
  job.set_state(v1::JOB_PENDING);
  job.set_phase(v1::PHASE_PLAN);
  job.set_trigger("manual");
  job.set_restore_point_id(rp.id());
  *job.mutable_restore() = spec;
  if (job.restore().cluster().empty()) job.mutable_restore()->set_cluster(rp.target_cluster());
  job.set_created_unix_nanos(Now());
  StateStore::Batch batch;
  batch.Put(Kind::kJobs, job.id(), job);
  std::string detail = service + "/" + rp.id();
  if (!spec.destination().empty()) detail += " into " + spec.destination();
  for (const auto& [component, dest] : spec.destinations()) {
    detail += " " + component + "=" + dest;
  }
  if (spec.overwrite()) detail += " (overwrite)";
  LIFEBOAT_RETURN_IF_ERROR(
      Audit(batch, actor, spec.dry_run() ? "restore.dry_run" : "restore", job.id(), detail));
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  return job.id();
}

Status Engine::CheckDestinations(const v1::RestorePoint& rp, const v1::RestoreSpec& spec) {
  if (spec.destinations().empty()) return OkStatus();
  std::set<std::string> components;
  for (const auto& m : rp.members()) components.insert(m.data_set().component());
  std::string have;
  for (const auto& c : components) have += (have.empty() ? "" : ", ") + c;
  for (const auto& [component, dest] : spec.destinations()) {
    if (!components.count(component)) {
      return InvalidArgumentError("restore point " + rp.id() + " has no member of component '" +
                                  component + "' to give a destination; its components: " + have);
    }
    if (dest.empty()) {
      return InvalidArgumentError("the destination of component '" + component +
                                  "' is empty; name one, or leave the component out");
    }
  }
  if (!spec.destination().empty()) return OkStatus();
  // Without a destination for all, a component left out would be restored in place.
  for (const auto& c : components) {
    if (!spec.destinations().count(c)) {
      return InvalidArgumentError("restore point " + rp.id() + " has members of " + have +
                                  "; destinations are given for some only, so " + c +
                                  " would be restored in place: give it one too (--destination " +
                                  c + "=...), or one " + "--destination for every component");
    }
  }
  return OkStatus();
}

StatusOr<v1::Job> Engine::GetJob(const std::string& id) const {
  auto j = store_->Read<v1::Job>(Kind::kJobs, id);
  if (!j.ok() && j.status().code() == Code::kNotFound) {
    return NotFoundError("no job '" + id + "'; `lifeboat jobs list` shows them");
  }
  return j;
}
StatusOr<std::vector<v1::Job>> Engine::Jobs() const { return store_->List<v1::Job>(Kind::kJobs); }
StatusOr<std::vector<v1::Task>> Engine::Tasks(const std::string& job_id) const {
  return store_->List<v1::Task>(Kind::kTasks, job_id + "/");
}

StatusOr<std::vector<v1::RestorePoint>> Engine::RestorePoints(const std::string& service) const {
  return store_->List<v1::RestorePoint>(Kind::kRestorePoints, service + "/");
}

StatusOr<v1::RestorePoint> Engine::GetRestorePoint(const std::string& service,
                                                   const std::string& id) const {
  auto rp = store_->Read<v1::RestorePoint>(Kind::kRestorePoints, Key(service, id));
  if (!rp.ok() && rp.status().code() == Code::kNotFound) {
    return NotFoundError("service " + service + " has no restore point '" + id +
                         "'; `lifeboat points list " + service + "` shows them");
  }
  return rp;
}

StatusOr<std::vector<std::string>> Engine::TickOnce(const std::atomic<bool>* cancel) {
  return Tick(cancel, /*wait=*/true);
}

StatusOr<std::vector<std::string>> Engine::Tick(const std::atomic<bool>* cancel, bool wait) {
  if (!scheduler_) scheduler_ = std::make_unique<Scheduler>();
  // Bring the scheduler in line with the stored policies.
  LIFEBOAT_ASSIGN_OR_RETURN(auto policies, Policies());
  std::set<std::string> present;
  for (const auto& p : policies) {
    present.insert(p.name());
    auto known = scheduled_revision_.find(p.name());
    if (known != scheduled_revision_.end() && known->second == p.revision()) continue;
    int64_t last_run = 0;
    auto raw = store_->GetRaw(Kind::kMeta, "last_run/" + p.name());
    if (raw.ok()) last_run = std::stoll(*raw);
    Status s = scheduler_->Upsert(p, p.applied_unix_nanos(), last_run);
    if (!s.ok()) {
      spdlog::warn("policy {} cannot be scheduled: {}", p.name(), s.ToString());
      continue;
    }
    scheduled_revision_[p.name()] = p.revision();
  }
  for (auto it = scheduled_revision_.begin(); it != scheduled_revision_.end();) {
    if (present.count(it->first)) {
      ++it;
    } else {
      scheduler_->Remove(it->first);
      it = scheduled_revision_.erase(it);
    }
  }
  std::set<std::string> busy;
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
  for (const auto& j : jobs) {
    if (j.kind() == v1::JOB_BACKUP && Unfinished(j)) busy.insert(j.policy().name());
  }
  std::vector<std::string> made, submitted;
  auto runs = scheduler_->Tick(Now(), [&](const std::string& p) { return busy.count(p) > 0; });
  for (const Scheduler::Run& run : runs) {
    if (cancel != nullptr && cancel->load()) break;
    StateStore::Batch batch;
    batch.PutRaw(Kind::kMeta, "last_run/" + run.policy, std::to_string(run.scheduled_unix_nanos));
    if (run.skipped) {
      LIFEBOAT_ASSIGN_OR_RETURN(v1::Policy policy, GetPolicy(run.policy));
      LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store_->NextSequence("job"));
      v1::Job job;
      job.set_id(Numbered("job-", seq));
      job.set_kind(v1::JOB_BACKUP);
      job.set_service(run.service);
      *job.mutable_policy() = policy;
      job.set_state(v1::JOB_SKIPPED);
      job.set_trigger("schedule");
      job.set_scheduled_unix_nanos(run.scheduled_unix_nanos);
      job.set_created_unix_nanos(Now());
      job.set_finished_unix_nanos(Now());
      job.set_error("the previous backup of this policy was still unfinished");
      batch.Put(Kind::kJobs, job.id(), job);
      LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
      made.push_back(job.id());
      continue;
    }
    LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
    auto id = StartBackup(run.policy, "schedule", "scheduler");
    if (!id.ok()) {
      spdlog::warn("scheduled run of {} not started: {}", run.policy, id.status().ToString());
      continue;
    }
    made.push_back(*id);
    // The scheduler's order is the submission order; the executor keeps it per service and
    // runs different services at once.
    Status s = Submit(*id);
    if (!s.ok()) {
      spdlog::warn("scheduled job {} not submitted: {}", *id, s.ToString());
      continue;
    }
    submitted.push_back(*id);
  }
  if (wait) WaitAll(submitted, cancel);
  return made;
}

Status Engine::Serve(const std::atomic<bool>* stop) {
  LIFEBOAT_RETURN_IF_ERROR(SubmitUnfinished().status());
  int64_t next_health = 0;
  while (stop == nullptr || !stop->load()) {
    if (options_.health_interval_millis > 0 && SystemNow() >= next_health) {
      auto checked = CheckClusters();
      if (!checked.ok()) spdlog::warn("health check: {}", checked.status().ToString());
      next_health = SystemNow() + options_.health_interval_millis * 1000000;
    }
    LIFEBOAT_RETURN_IF_ERROR(Tick(stop, /*wait=*/false).status());
    int64_t wait = scheduler_->NextDue() - Now();
    wait = std::clamp<int64_t>(wait, 0, 1000000000);
    for (int64_t slept = 0; slept < wait && (stop == nullptr || !stop->load()); slept += 50000000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return OkStatus();
}

StatusOr<std::vector<v1::Event>> Engine::Events() const {
  return store_->List<v1::Event>(Kind::kEvents);
}

StatusOr<std::vector<std::string>> Engine::ResumeAll(const std::atomic<bool>* cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto ran, SubmitUnfinished());
  WaitAll(ran, cancel);
  return ran;
}

StatusOr<std::vector<std::string>> Engine::SubmitUnfinished() {
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, store_->List<v1::Job>(Kind::kJobs));
  std::vector<std::string> ran;
  for (const auto& job : jobs) {
    if (job.state() != v1::JOB_PENDING && job.state() != v1::JOB_RUNNING) continue;
    Status s = Submit(job.id());
    if (s.ok()) {
      ran.push_back(job.id());
    } else if (s.code() != Code::kAlreadyExists) {
      return s;
    }
  }
  return ran;
}

StatusOr<v1::ClockSample> Engine::MeasureClock(const std::string& cluster) {
  LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(cluster));
  auto wall = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  // The best of a few readings: the one with the shortest round trip bounds the offset
  // most tightly.
  v1::ClockSample best;
  for (int i = 0; i < 3; ++i) {
    const int64_t sent = wall();
    auto agent_time = agent->ClockNow();
    const int64_t received = wall();
    if (!agent_time.ok()) {
      return agent_time.status().WithContext("reading the clock of cluster " + cluster);
    }
    const int64_t rtt = received - sent;
    if (i == 0 || rtt < best.round_trip_nanos()) {
      best.set_cluster(cluster);
      best.set_round_trip_nanos(rtt);
      best.set_offset_nanos(*agent_time - (sent + rtt / 2));
      best.set_measured_unix_nanos(received);
    }
  }
  return best;
}

StatusOr<std::vector<std::string>> Engine::VerifyRestorePoint(const std::string& service,
                                                              const std::string& id) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::RestorePoint rp, GetRestorePoint(service, id));
  if (rp.state() != v1::RP_COMMITTED) {
    return FailedPreconditionError("restore point " + id + " is " +
                                   v1::RestorePointState_Name(rp.state()) +
                                   "; only committed points can be verified");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Agent * target, AgentFor(rp.target_cluster()));
  std::vector<std::string> mismatches;
  for (int i = 0; i < rp.members_size(); ++i) {
    const v1::Member& m = rp.members(i);
    pb::VerifyRequest req;
    req.set_op_id(op_ids::Reverify(id, i, Now()));
    if (!req.mutable_snapshot()->ParseFromString(m.snapshot())) {
      return DataLossError("restore point " + id + ": member " + Name(m.data_set()) +
                           " has an unreadable snapshot reference");
    }
    req.set_level(pb::VERIFY_DIGEST);
    auto resp = target->Invoke<LB_OP_VERIFY>(m.data_set().component(), req);
    if (!resp.ok()) return resp.status().WithContext("verify " + Name(m.data_set()));
    for (const auto& mm : resp->mismatches()) {
      mismatches.push_back(Name(m.data_set()) + " " + mm.path() + ": " + mm.what() + " (expected " +
                           mm.expected() + ", found " + mm.found() + ")");
    }
  }
  if (!mismatches.empty()) {
    LIFEBOAT_RETURN_IF_ERROR(RecordEvent(
        v1::SEVERITY_CRITICAL, v1::EVENT_VERIFY_FAILED, service,
        "restore point " + id + ": " + std::to_string(mismatches.size()) + " mismatches"));
  }
  return mismatches;
}

StatusOr<ServiceStatus> Engine::GetServiceStatus(const std::string& name) {
  ServiceStatus st;
  auto svc = store_->Read<v1::Service>(Kind::kServices, name);
  if (!svc.ok()) {
    if (svc.status().code() == Code::kNotFound) {
      return NotFoundError("no service named '" + name + "'");
    }
    return svc.status();
  }
  st.service = *svc;
  LIFEBOAT_ASSIGN_OR_RETURN(auto policies, Policies());
  for (const auto& p : policies) {
    if (p.service() != name) continue;
    st.policies.push_back(p);
    if (p.rpo_seconds() > 0 && (st.rpo_seconds == 0 || p.rpo_seconds() < st.rpo_seconds)) {
      st.rpo_seconds = p.rpo_seconds();
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(name));
  for (const auto& rp : points) {
    if (rp.state() != v1::RP_COMMITTED) continue;
    if (rp.cut_unix_nanos() >= st.newest_point_unix_nanos) {
      st.newest_point = rp.id();
      st.newest_point_unix_nanos = rp.cut_unix_nanos();
    }
  }
  if (!st.newest_point.empty()) {
    st.age_seconds = (Now() - st.newest_point_unix_nanos) / 1000000000;
  }
  st.rpo_breached = st.rpo_seconds > 0 && (st.age_seconds < 0 || st.age_seconds > st.rpo_seconds);
  // An event when the service crosses into breach (and one when it recovers).
  const std::string key = "rpo_state/" + name;
  auto prev = store_->GetRaw(Kind::kMeta, key);
  std::string now_state = st.rpo_breached ? "breached" : "ok";
  if (!prev.ok() || *prev != now_state) {
    if (st.rpo_breached) {
      LIFEBOAT_RETURN_IF_ERROR(RecordEvent(
          v1::SEVERITY_CRITICAL, v1::EVENT_RPO_BREACH, name,
          st.newest_point.empty()
              ? "no committed restore point; RPO is " + std::to_string(st.rpo_seconds) + "s"
              : "newest committed point " + st.newest_point + " is " +
                    std::to_string(st.age_seconds) + "s old; RPO is " +
                    std::to_string(st.rpo_seconds) + "s"));
    } else if (prev.ok()) {
      LIFEBOAT_RETURN_IF_ERROR(RecordEvent(v1::SEVERITY_INFO, v1::EVENT_RPO_RECOVERED, name,
                                           "RPO met again by " + st.newest_point));
    }
    StateStore::Batch batch;
    batch.PutRaw(Kind::kMeta, key, now_state);
    LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/false));
  }
  return st;
}

}  // namespace lifeboat::core
