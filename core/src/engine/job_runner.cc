// Running one job from its last checkpoint (see engine.h for the guarantees).
#include <lifeboat/core/engine.h>
#include <lifeboat/core/op_ids.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "bandwidth.h"
#include "engine_util.h"
#include "hooks.h"
#include "job_outcome.h"
#include "member_order.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;

pb::VerifyLevel ToPlugin(v1::VerificationLevel level) {
  switch (level) {
    case v1::VERIFY_NONE:
      return pb::VERIFY_NONE;
    case v1::VERIFY_SIZE:
      return pb::VERIFY_SIZE;
    default:
      return pb::VERIFY_DIGEST;
  }
}

bool Terminal(v1::JobState s) {
  return s == v1::JOB_SUCCEEDED || s == v1::JOB_FAILED || s == v1::JOB_CANCELLED ||
         s == v1::JOB_SKIPPED;
}

}  // namespace

class Engine::JobRunner {
 public:
  JobRunner(Engine& engine, v1::Job job, const std::atomic<bool>* cancel,
            const std::function<void(const JobProgress&)>& on_progress)
      : e_(engine), job_(std::move(job)), cancel_(cancel), on_progress_(on_progress) {}

  Status Run() {
    if (Terminal(job_.state())) {
      return job_.state() == v1::JOB_SUCCEEDED
                 ? OkStatus()
                 : Status(static_cast<Code>(job_.error_code()), job_.error());
    }
    job_.set_state(v1::JOB_RUNNING);
    if (job_.started_unix_nanos() == 0) job_.set_started_unix_nanos(e_.Now());
    LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true));
    Status s;
    {
      CancelWatch watch(*this);  // stopped before Fail(): clean-up calls must not be cancelled
      switch (job_.kind()) {
        case v1::JOB_RESTORE:
          s = RunRestore();
          break;
        case v1::JOB_FAILOVER:
        case v1::JOB_FAILBACK:
          s = e_.RunSwitch(
              job_, [this] { return Save(/*sync=*/true); }, cancel_);
          break;
        default:
          s = RunBackup();
          break;
      }
    }
    if (s.ok()) {
      job_.set_state(v1::JOB_SUCCEEDED);
      job_.set_phase(v1::PHASE_DONE);
    } else {
      Fail(s);
    }
    job_.set_finished_unix_nanos(e_.Now());
    Status saved = Save(/*sync=*/true);
    if (!saved.ok()) return saved;
    return s;
  }

 private:
  // ---- persistence ----------------------------------------------------------------------
  Status Save(bool sync, StateStore::Batch* extra = nullptr) {
    StateStore::Batch local;
    StateStore::Batch& batch = extra != nullptr ? *extra : local;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.Put(Kind::kJobs, job_.id(), job_);
      if (!rp_.id().empty()) batch.Put(Kind::kRestorePoints, Key(rp_.service(), rp_.id()), rp_);
    }
    return e_.store_->Write(batch, sync);
  }

  void Note(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    job_.add_log(line);
    if (job_.log_size() > 200) job_.mutable_log()->DeleteSubrange(0, job_.log_size() - 200);
  }

  // Tells on_progress where the job is. The plugins report often (every chunk of every
  // file, from every worker); between the forced reports (a task or phase done) at most one
  // every 50 ms goes on.
  void Report(bool force = true) {
    if (!on_progress_) return;
    JobProgress p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = std::chrono::steady_clock::now();
      if (!force && now - last_report_ < std::chrono::milliseconds(50)) return;
      last_report_ = now;
      p.job_id = job_.id();
      p.phase = job_.phase();
      p.bytes_total = job_.bytes_total();
      p.items_total = job_.items_total();
      p.bytes_done = job_.bytes_done();
      p.items_done = job_.items_done();
      for (const auto& [task, bytes] : in_flight_) p.bytes_done += bytes;
    }
    on_progress_(p);
  }

  bool Cancelled() const { return (cancel_ != nullptr && cancel_->load()) || stop_.load(); }

  CallOptions Options() {
    CallOptions o;
    o.cancel = &stop_;
    return o;
  }

  // The Peer of an operation that reads from `holder`: its plugin configuration and
  // component, nothing about how to reach it (PeerOptions carries that, to the host). The
  // plugin passes it to its host's peer_read; the engine itself never moves the bytes.
  StatusOr<pb::Peer> MakePeer(Agent* holder, const std::string& component) {
    pb::Peer peer;
    LIFEBOAT_ASSIGN_OR_RETURN(*peer.mutable_config(), holder->PeerConfig(component));
    peer.set_component(component);
    return peer;
  }

  // Push mode (policy `transfer: push`): for the duration of one step, `holder`'s agent opens
  // the connection to `reader`'s agent and serves its reads over it (MakePeer names the
  // session). The engine only instructs; the bytes go agent to agent.
  class PushScope {
   public:
    PushScope(JobRunner& r, Agent* holder, Agent* reader, const v1::Policy& policy)
        : r_(r), holder_(holder) {
      if (policy.transfer() != v1::TRANSFER_PUSH) return;
      auto [address, server_name] = reader->BulkAddress();
      const std::string session = "push-" + r.job_.id() + "-" + reader->cluster();
      status_ = holder->StartPush(session, reader->cluster(), address, server_name);
      if (!status_.ok()) {
        status_ = status_.WithContext("push mode: starting the push from cluster " +
                                      holder->cluster() + " to cluster " + reader->cluster());
        return;
      }
      r.push_session_ = session;
      r.Note("push mode: the agent of cluster " + holder->cluster() + " connects to the agent of " +
             reader->cluster() + " and sends the data over that connection");
    }
    ~PushScope() {
      if (r_.push_session_.empty()) return;
      Status s = holder_->StopPush(r_.push_session_);
      if (!s.ok()) r_.Note("push mode: stopping the push session: " + s.ToString());
      r_.push_session_.clear();
    }
    PushScope(const PushScope&) = delete;
    PushScope& operator=(const PushScope&) = delete;
    const Status& status() const { return status_; }

   private:
    JobRunner& r_;
    Agent* holder_;
    Status status_;
  };

  // Options of a call whose plugin may read from `holder` through peer_read (RoutedTo,
  // engine_util.h): the route a remote agent's host follows, and the in-process read an
  // agent here uses.
  CallOptions PeerOptions(Agent* holder) { return RoutedTo(holder, push_session_, Options()); }

  // A plugin call. Retries are the agent's (every agent the engine makes is a RetryingAgent):
  // this only stops a cancelled job from calling, hands the call the job's stop flag (so a
  // backoff ends at once on a cancel) and notes each retry in the job's log.
  template <lb_op Op>
  StatusOr<typename OpTraits<Op>::Response> Call(Agent* agent, const std::string& component,
                                                 const typename OpTraits<Op>::Request& req,
                                                 CallOptions opts) {
    if (cancel_ != nullptr && cancel_->load()) stop_ = true;
    if (stop_.load()) return CancelledError("job " + job_.id() + " was cancelled");
    if (opts.cancel == nullptr) opts.cancel = &stop_;
    if (!opts.on_retry) {
      opts.on_retry = [this, agent](const Status& failure, int attempt, int64_t backoff) {
        Note("retry " + std::to_string(attempt) + " of " + OpName(Op) + " on " + agent->cluster() +
             " in " + std::to_string(backoff) + " ms after " + failure.ToString());
      };
    }
    return agent->Invoke<Op>(component, req, opts);
  }

  // Turns the caller's cancel flag into the job's stop flag while the job runs, so that
  // every plugin call (and a retry's backoff) sees a cancellation within ~20 ms, not only
  // the calls that report progress.
  class CancelWatch {
   public:
    explicit CancelWatch(JobRunner& r) : r_(r) {
      if (r.cancel_ == nullptr) return;
      thread_ = std::thread([this] {
        std::unique_lock<std::mutex> lock(mu_);
        while (!done_) {
          if (r_.cancel_->load()) r_.stop_ = true;
          cv_.wait_for(lock, std::chrono::milliseconds(20));
        }
      });
    }
    ~CancelWatch() { Stop(); }
    void Stop() {
      if (!thread_.joinable()) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }

   private:
    JobRunner& r_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
  };

  // ---- failure ----------------------------------------------------------------------------
  void Fail(const Status& s) {
    job_.set_state(StateFor(s.code()));
    job_.set_error_code(static_cast<int32_t>(s.code()));
    job_.set_error(s.ToString());
    // A dry run has nothing to resume: it ends, saying why the real run would be refused.
    if (IsDryRun() && job_.state() == v1::JOB_PARKED) job_.set_state(v1::JOB_FAILED);
    if (!restore_left_.empty()) {
      // A restore that stopped part-way waits for an operator (resume, or cancel); what it
      // left is in its error and its log.
      Note(restore_left_);
      job_.set_error(s.ToString() + ". " + restore_left_);
      if (job_.state() == v1::JOB_FAILED) job_.set_state(v1::JOB_PARKED);
    }
    // A parked backup keeps its point: an operator may fix the cause and resume it.
    if (job_.kind() == v1::JOB_BACKUP && !rp_.id().empty() && job_.state() != v1::JOB_PARKED) {
      if (rp_.state() == v1::RP_COMMITTED) {
        // Failed or cancelled after the commit (releasing cuts, retention): the point is
        // whole and visible, and stays; what was left undone is retried by the next backup.
        Note("restore point " + rp_.id() + " was committed before this and stays");
      } else {
        // Abandoned: drop what was made so far on both sides, so that nothing is orphaned.
        CleanUpAbandonedPoint();
        rp_.set_state(v1::RP_FAILED);
      }
    }
    if (s.code() == Code::kCancelled) {
      // The interrupted call may speak of running it again; a cancelled job is never
      // resumed, so its error says what became of the work instead.
      job_.set_error(Status(Code::kCancelled, CancelledMessage(job_, rp_)).ToString());
    }
    const JobEndEvent ev = EndEvent(job_);
    (void)e_.RecordEvent(ev.severity, ev.kind, job_.service(), ev.message, job_.id());
  }

  bool IsDryRun() const { return ::lifeboat::core::IsDryRun(job_); }

  static v1::JobState StateFor(Code code) {
    switch (code) {
      case Code::kCancelled:
        return v1::JOB_CANCELLED;
      case Code::kFailedPrecondition:
        return v1::JOB_PARKED;
      default:
        return v1::JOB_FAILED;
    }
  }

  void CleanUpAbandonedPoint() {
    stop_ = false;  // clean-up calls must run even after a cancellation
    const std::atomic<bool>* outer = cancel_;
    cancel_ = nullptr;
    auto source = e_.AgentFor(rp_.source_cluster());
    auto target = e_.AgentFor(rp_.target_cluster());
    for (int i = 0; i < rp_.members_size(); ++i) {
      const v1::Member& m = rp_.members(i);
      if (source.ok() && !m.snapshot().empty()) {
        pb::ReleaseRequest rel;
        rel.set_op_id(op_ids::ForMember(op_ids::PointStep::kRelease, rp_.id(), i));
        rel.mutable_snapshot()->ParseFromString(m.snapshot());
        auto r = (*source)->Invoke<LB_OP_RELEASE>(m.data_set().component(), rel);
        if (r.ok()) {
          rp_.mutable_members(i)->set_source_released(true);
        } else {
          Note("could not release " + Name(m.data_set()) + ": " + r.status().ToString());
        }
      }
      if (target.ok()) {
        pb::ExpireRequest ex;
        ex.set_op_id(op_ids::ForMember(op_ids::PointStep::kAbandon, rp_.id(), i));
        *ex.mutable_data_set() = ToPlugin(m.data_set());
        ex.add_restore_point_ids(rp_.id());
        auto r = (*target)->Invoke<LB_OP_EXPIRE>(m.data_set().component(), ex);
        if (!r.ok()) Note("could not clean " + Name(m.data_set()) + ": " + r.status().ToString());
      }
    }
    cancel_ = outer;
  }

  // ---- backup ---------------------------------------------------------------------------
  Status RunBackup() {
    const v1::Policy& policy = job_.policy();
    auto svc = e_.store_->Read<v1::Service>(Kind::kServices, job_.service());
    if (!svc.ok()) return svc.status().WithContext("service " + job_.service());
    service_ = *svc;
    // The direction: the roles at plan time (after a failover, from the new primary back to
    // the old one); a resumed job keeps the direction its point recorded.
    if (!job_.restore_point_id().empty()) {
      LIFEBOAT_ASSIGN_OR_RETURN(rp_, e_.GetRestorePoint(job_.service(), job_.restore_point_id()));
      source_cluster_ = rp_.source_cluster();
      target_cluster_ = rp_.target_cluster();
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, e_.Roles(job_.service()));
      source_cluster_ = roles.primary_cluster();
      target_cluster_ = roles.secondary_cluster();
    }
    LIFEBOAT_ASSIGN_OR_RETURN(source_, e_.AgentFor(source_cluster_));
    LIFEBOAT_ASSIGN_OR_RETURN(target_, e_.AgentFor(target_cluster_));
    // A resume owed from a crash while writers were paused comes first of all.
    if (job_.writers_paused()) LIFEBOAT_RETURN_IF_ERROR(ResumeWriters());
    phase_started_ = step_started_ = e_.Now();

    while (job_.phase() != v1::PHASE_DONE) {
      if (cancel_ != nullptr && cancel_->load()) {
        return CancelledError("job " + job_.id() + " was cancelled");
      }
      Status s;
      switch (job_.phase()) {
        case v1::PHASE_PLAN:
          s = Plan(policy);
          break;
        case v1::PHASE_PREPARE:
          s = Prepare();
          break;
        case v1::PHASE_CUT:
          s = Cut(policy);
          break;
        case v1::PHASE_TRANSFER:
          s = Transfer(policy);
          break;
        case v1::PHASE_VERIFY:
          s = Verify(policy);
          break;
        case v1::PHASE_COMMIT:
          s = Commit();
          break;
        case v1::PHASE_EXPIRE:
          s = Expire(policy);
          break;
        default:
          return InternalError("job " + job_.id() + " is in an unknown phase " +
                               std::to_string(job_.phase()));
      }
      LIFEBOAT_RETURN_IF_ERROR(s);
      Report();
    }
    return OkStatus();
  }

  Status Advance(v1::Phase next, bool sync) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      AddPhaseTime("", phase_started_);
      phase_started_ = step_started_ = e_.Now();
      job_.set_phase(next);
    }
    // What the phase freed goes back to the system before the next one allocates: glibc
    // keeps freed memory in per-thread arenas, and each phase's threads stacked their
    // leftovers on the last's (issue 13: a 200k-file incremental peaked at 658 MB RSS for a
    // 315 MB heap; 396 MB with this).
    malloc_trim(0);
    return Save(sync);
  }

  // Records the time of a step of the current phase that ends now (saved with the phase).
  void StepDone(const char* step) {
    std::lock_guard<std::mutex> lock(mu_);
    AddPhaseTime(step, step_started_);
    step_started_ = e_.Now();
  }

  void AddPhaseTime(const char* step, int64_t started) {
    v1::PhaseTime* t = job_.add_phase_times();
    t->set_phase(job_.phase());
    t->set_step(step);
    t->set_started_unix_nanos(started);
    t->set_finished_unix_nanos(e_.Now());
  }

  Status Plan(const v1::Policy& policy) {
    // Resolve each data set to concrete members on the primary.
    v1::RestorePoint rp;
    rp.set_service(service_.name());
    rp.set_policy(policy.name());
    rp.set_policy_revision(policy.revision());
    rp.set_job_id(job_.id());
    rp.set_state(v1::RP_PENDING);
    rp.set_consistency(policy.consistency());
    rp.set_source_cluster(source_cluster_);
    rp.set_target_cluster(target_cluster_);
    for (const auto& spec : service_.data_sets()) {
      pb::ResolveRequest req;
      req.set_selector(spec.selector());
      auto resolved = Call<LB_OP_RESOLVE>(source_, spec.component(), req, {});
      if (!resolved.ok()) return resolved.status().WithContext("resolve " + Name(spec));
      if (resolved->data_sets_size() == 0) {
        return NotFoundError("data set " + Name(spec) + " matches nothing on cluster " +
                             source_cluster_);
      }
      for (const auto& ds : resolved->data_sets()) {
        v1::Member* m = rp.add_members();
        m->mutable_data_set()->set_component(spec.component());
        m->mutable_data_set()->set_selector(ds.selector());
        m->mutable_data_set()->set_commit_stage(spec.commit_stage());
      }
    }
    // The base: the newest committed point of the service on this job's target.
    LIFEBOAT_ASSIGN_OR_RETURN(auto points, e_.RestorePoints(service_.name()));
    const v1::RestorePoint* newest = nullptr;
    for (const auto& p : points) {
      if (p.state() != v1::RP_COMMITTED) continue;
      if (p.target_cluster() == target_cluster_ && p.id() > rp.base_restore_point_id()) {
        rp.set_base_restore_point_id(p.id());
      }
      if (newest == nullptr || p.id() > newest->id()) newest = &p;
    }
    // A plugin that diffs from the base's cut (CAP_DIFF_FROM_BASE_CUT) may build on a newer
    // point that went the other way — the last backup of a failback: this job's target still
    // holds that point's cut (the newest point's cut is kept) and this job's source holds it
    // committed. Its plan refuses, loudly, when the target changed since that cut (after an
    // unplanned failover: writes the old primary took after the last point).
    const bool reverse = newest != nullptr && newest->id() > rp.base_restore_point_id() &&
                         newest->source_cluster() == target_cluster_ &&
                         newest->target_cluster() == source_cluster_;
    for (auto& m : *rp.mutable_members()) {
      m.set_base_restore_point_id(rp.base_restore_point_id());
      if (!reverse) continue;
      LIFEBOAT_ASSIGN_OR_RETURN(bool keeps, KeepsBaseCut(source_, m.data_set().component()));
      for (const auto& held : newest->members()) {
        if (keeps && held.data_set().component() == m.data_set().component() &&
            held.data_set().selector() == m.data_set().selector() && !held.snapshot().empty() &&
            !held.source_released()) {
          m.set_base_restore_point_id(newest->id());
        }
      }
    }
    LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, e_.store_->NextSequence("restore_point"));
    rp.set_id(MakeRestorePointId(e_.Now(), seq));
    rp.set_created_unix_nanos(e_.Now());
    rp_ = rp;
    job_.set_restore_point_id(rp.id());
    job_.set_base_restore_point_id(rp.base_restore_point_id());
    return Advance(v1::PHASE_PREPARE, /*sync=*/true);
  }

  Status Prepare() {
    for (int i = 0; i < rp_.members_size(); ++i) {
      const v1::Member& m = rp_.members(i);
      pb::PrepareRequest req;
      req.set_op_id(op_ids::ForMember(op_ids::PointStep::kPrepare, rp_.id(), i));
      *req.mutable_data_set() = ToPlugin(m.data_set());
      auto r = Call<LB_OP_PREPARE>(source_, m.data_set().component(), req, Options());
      if (!r.ok() && r.status().code() != Code::kUnimplemented) {
        return r.status().WithContext("prepare " + Name(m.data_set()));
      }
    }
    return Advance(v1::PHASE_CUT, /*sync=*/false);
  }

  // Cuts the members in `which` in parallel at `t` (0 = as close to now as they can).
  Status CutMembers(const std::vector<int>& which, int64_t t) {
    std::vector<Status> results(which.size());
    std::vector<std::thread> threads;
    for (size_t k = 0; k < which.size(); ++k) {
      threads.emplace_back([&, k] {
        int i = which[k];
        v1::DataSetSpec spec;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (!rp_.members(i).snapshot().empty()) return;  // cut before a crash
          spec = rp_.members(i).data_set();
        }
        pb::CutRequest req;
        req.set_op_id(op_ids::ForMember(op_ids::PointStep::kCut, rp_.id(), i));
        *req.mutable_data_set() = ToPlugin(spec);
        req.set_restore_point_id(rp_.id());
        req.set_cut_unix_nanos(t);
        req.set_mode(ToPlugin(rp_.consistency()));
        req.set_consistency(v1::ConsistencyMode_Name(rp_.consistency()));  // for older plugins
        auto r = Call<LB_OP_CUT>(source_, spec.component(), req, Options());
        if (!r.ok()) {
          results[k] = r.status().WithContext("cut " + Name(spec));
          return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        v1::Member* m = rp_.mutable_members(i);
        m->set_snapshot(r->snapshot().SerializeAsString());
        m->set_cut_start_unix_nanos(r->snapshot().cut_start_unix_nanos());
        m->set_cut_end_unix_nanos(r->snapshot().cut_end_unix_nanos());
        m->set_total_bytes(r->manifest().total_bytes());
        // A plugin that streams its manifest gives the count; older ones send the entries.
        m->set_items(r->manifest().entry_count() != 0
                         ? r->manifest().entry_count()
                         : static_cast<uint64_t>(r->manifest().entries_size()));
        m->set_manifest_digest(r->manifest().manifest_digest());
      });
    }
    for (auto& th : threads) th.join();
    Status saved = Save(/*sync=*/true);  // cut snapshots must never be forgotten
    for (const auto& s : results) LIFEBOAT_RETURN_IF_ERROR(s);
    return saved;
  }

  // The consistency cut picks T on the control service's clock: refused when the clock of an
  // agent that cuts is further from it than the policy allows (offset ± round trip / 2).
  Status CheckClocks(const v1::Policy& policy) {
    rp_.clear_clocks();
    auto sample = e_.MeasureClock(rp_.source_cluster());
    if (!sample.ok()) return sample.status();
    *rp_.add_clocks() = *sample;
    const int64_t bound_nanos = policy.max_clock_skew_millis() * 1000000;
    const int64_t worst = std::llabs(sample->offset_nanos()) + sample->round_trip_nanos() / 2;
    if (bound_nanos > 0 && worst > bound_nanos) {
      std::string msg = "clock skew too large to cut: the agent of cluster " + sample->cluster() +
                        " is " + FormatMillis(sample->offset_nanos()) +
                        " off the control service (round trip " +
                        FormatMillis(sample->round_trip_nanos()) + "); policy " + policy.name() +
                        " allows " + std::to_string(policy.max_clock_skew_millis()) +
                        " ms. Fix time sync (NTP/chrony) on that cluster's hosts, or raise "
                        "max_clock_skew in the policy";
      (void)e_.RecordEvent(v1::SEVERITY_WARNING, v1::EVENT_CLOCK_SKEW, job_.service(), msg,
                           job_.id());
      // ABORTED, not FAILED_PRECONDITION: nothing was cut, so the job ends and the next
      // scheduled run tries again instead of parking and blocking the schedule.
      return AbortedError(msg);
    }
    return OkStatus();
  }

  static std::string FormatMillis(int64_t nanos) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(nanos) / 1e6);
    return buf;
  }

  // Cuts the members in `which` at `t`, wave after wave (member_order.h's CutWaves).
  Status CutInWaves(const std::vector<OrderedMember>& ordered, const std::vector<int>& which,
                    int64_t t) {
    std::vector<OrderedMember> subset;
    for (int i : which) subset.push_back(ordered[i]);
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::vector<int>> waves, CutWaves(subset));
    std::string order = DescribeCutOrder(subset, waves);
    if (!order.empty()) Note("cut order by references: " + order);
    for (const auto& wave : waves) {
      std::vector<int> members;
      for (int k : wave) members.push_back(which[k]);
      LIFEBOAT_RETURN_IF_ERROR(CutMembers(members, t));
    }
    return OkStatus();
  }

  Status Cut(const v1::Policy& policy) {
    std::vector<int> all;
    for (int i = 0; i < rp_.members_size(); ++i) all.push_back(i);
    bool any_cut = false;
    for (const auto& m : rp_.members()) any_cut = any_cut || !m.snapshot().empty();
    if (!any_cut) LIFEBOAT_RETURN_IF_ERROR(CheckClocks(policy));
    if (rp_.cut_unix_nanos() == 0) {
      rp_.set_cut_unix_nanos(e_.Now());
      LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true));
    }
    // Members whose plugins reference others' data (hive: hdfs) are cut first.
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<OrderedMember> ordered, MembersOf(rp_, *source_));
    switch (policy.consistency()) {
      case v1::ALIGNED: {
        // Members that cannot travel in time cut first; T is the end of their cuts; the
        // others then cut at exactly T. A member that travels but references one that does
        // not is cut with those, before them: at T it would be cut after them.
        std::vector<bool> travels(all.size());
        for (int i : all) {
          auto d = source_->Describe(rp_.members(i).data_set().component());
          if (!d.ok()) return d.status();
          travels[i] = std::find(d->capabilities().begin(), d->capabilities().end(),
                                 pb::CAP_CUT_AT_TIME) != d->capabilities().end();
        }
        for (bool changed = true; changed;) {
          changed = false;
          for (int i : all) {
            if (!travels[i]) continue;
            for (int j : all) {
              if (!travels[j] && References(ordered[i], ordered[j])) {
                travels[i] = false;
                changed = true;
              }
            }
          }
        }
        std::vector<int> now_only, at_time;
        for (int i : all) (travels[i] ? at_time : now_only).push_back(i);
        LIFEBOAT_RETURN_IF_ERROR(CutInWaves(ordered, now_only, 0));
        int64_t t = rp_.cut_unix_nanos();
        for (int i : now_only) t = std::max(t, rp_.members(i).cut_end_unix_nanos());
        rp_.set_cut_unix_nanos(t);
        LIFEBOAT_RETURN_IF_ERROR(CutInWaves(ordered, at_time, t));
        break;
      }
      case v1::QUIESCED: {
        // A failed pause (of the second hook, say) still owes the first hook's writers a
        // resume: resume runs whatever the pause and the cut did.
        Status paused = PauseWriters(policy);
        Status cut = paused.ok() ? CutInWaves(ordered, all, rp_.cut_unix_nanos()) : paused;
        Status resumed = ResumeWriters();
        LIFEBOAT_RETURN_IF_ERROR(cut);
        LIFEBOAT_RETURN_IF_ERROR(resumed);
        break;
      }
      default:
        LIFEBOAT_RETURN_IF_ERROR(CutInWaves(ordered, all, rp_.cut_unix_nanos()));
        break;
    }
    int64_t first = INT64_MAX, last = 0;
    for (const auto& m : rp_.members()) {
      first = std::min(first, m.cut_start_unix_nanos());
      last = std::max(last, m.cut_end_unix_nanos());
    }
    rp_.set_spread_nanos(last > first ? last - first : 0);
    return Advance(v1::PHASE_TRANSFER, /*sync=*/true);
  }

  Status PauseWriters(const v1::Policy& policy) {
    // Recorded before the first pause: a crash from here on owes the writers a resume.
    job_.set_writers_paused(true);
    LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true));
    for (const auto& hook : policy.hooks()) {
      Status s = RunHook(hook, HookStep::kPause);
      if (!s.ok()) return s.WithContext("pausing writers");
    }
    return OkStatus();
  }

  Status ResumeWriters() {
    Status first;
    for (const auto& hook : job_.policy().hooks()) {
      Status s = RunHook(hook, HookStep::kResume);
      if (!s.ok()) {
        Note("resume failed: " + s.ToString());
        if (first.ok()) first = s;
      }
    }
    job_.set_writers_paused(false);
    LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true));
    if (!first.ok()) {
      (void)e_.RecordEvent(v1::SEVERITY_CRITICAL, v1::EVENT_RESUME_FAILED, job_.service(),
                           first.ToString(), job_.id());
    }
    return first;
  }

  Status Transfer(const v1::Policy& policy) {
    PushScope push(*this, source_, target_, policy);
    LIFEBOAT_RETURN_IF_ERROR(push.status());
    // Plan every member once; the plan and its tasks are recorded in one batch.
    LIFEBOAT_ASSIGN_OR_RETURN(auto tasks, e_.Tasks(job_.id()));
    std::map<std::string, v1::Task> by_id;
    for (auto& t : tasks) by_id[t.id()] = t;
    for (int i = 0; i < rp_.members_size(); ++i) {
      const std::string plan_id = "m" + std::to_string(i) + "-plan";
      if (by_id.count(plan_id)) continue;
      const v1::Member& m = rp_.members(i);
      pb::PlanTransferRequest req;
      req.set_op_id(op_ids::ForMember(op_ids::PointStep::kPlan, rp_.id(), i));
      LIFEBOAT_ASSIGN_OR_RETURN(*req.mutable_source(), MakePeer(source_, m.data_set().component()));
      req.mutable_snapshot()->ParseFromString(m.snapshot());
      req.set_base_restore_point_id(BaseOf(m));
      req.set_force_full(job_.force_full());
      auto plan =
          Call<LB_OP_PLAN_TRANSFER>(target_, m.data_set().component(), req, PeerOptions(source_));
      if (!plan.ok()) return plan.status().WithContext("plan " + Name(m.data_set()));
      if (!BaseOf(m).empty() && BaseOf(m) != rp_.base_restore_point_id()) {
        Note(Name(m.data_set()) + " builds on " + BaseOf(m) + ", the point " + target_cluster_ +
             " sent to " + source_cluster_ + " last (its cut is still on " + target_cluster_ + ")");
      }
      if (!BaseOf(m).empty() && !plan->incremental()) {
        Note("full copy of " + Name(m.data_set()) + ": " + plan->full_reason());
        (void)e_.RecordEvent(v1::SEVERITY_NOTICE, v1::EVENT_FULL_COPY, job_.service(),
                             Name(m.data_set()) + ": " + plan->full_reason(), job_.id());
      }
      StateStore::Batch batch;
      v1::Task marker;
      marker.set_job_id(job_.id());
      marker.set_id(plan_id);
      marker.set_phase(v1::PHASE_PLAN);
      *marker.mutable_data_set() = m.data_set();
      marker.set_state(v1::TASK_DONE);
      marker.set_result(plan->SerializeAsString());
      batch.Put(Kind::kTasks, Key(job_.id(), plan_id), marker);
      by_id[plan_id] = marker;
      for (int order = 0; order < plan->tasks_size(); ++order) {
        const pb::TransferTask& t = plan->tasks(order);
        v1::Task task;
        task.set_member(i);
        task.set_order(order);
        task.set_job_id(job_.id());
        task.set_id("m" + std::to_string(i) + "-" + t.task_id());
        task.set_phase(v1::PHASE_TRANSFER);
        *task.mutable_data_set() = m.data_set();
        task.set_state(v1::TASK_PENDING);
        task.set_op_id(op_ids::Transfer(rp_.id(), i, t.task_id()));
        task.set_payload(t.SerializeAsString());
        task.set_bytes(t.bytes());
        task.set_items(t.items());
        batch.Put(Kind::kTasks, Key(job_.id(), task.id()), task);
        by_id[task.id()] = task;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        job_.set_bytes_total(job_.bytes_total() + plan->bytes_to_copy());
        job_.set_items_total(job_.items_total() + plan->items_to_copy());
      }
      LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true, &batch));
    }

    StepDone("plan");
    // Run what is not done yet, `parallelism` at a time, in each member's plan order (the
    // plugin puts its tree and link tasks before its copies).
    std::deque<v1::Task> queue;
    for (const auto& [id, t] : by_id) {
      if (t.phase() == v1::PHASE_TRANSFER && t.state() != v1::TASK_DONE) queue.push_back(t);
    }
    std::sort(queue.begin(), queue.end(), [](const v1::Task& a, const v1::Task& b) {
      return std::make_pair(a.member(), a.order()) < std::make_pair(b.member(), b.order());
    });
    const int workers = std::max<int>(1, static_cast<int>(policy.parallelism()));
    // The policy's bandwidth is the job's, shared by the workers (bandwidth.h).
    JobBandwidth bandwidth(policy.bandwidth_bytes_per_second());
    Status first_error;
    std::mutex qmu;
    auto worker = [&] {
      while (true) {
        v1::Task task;
        {
          std::lock_guard<std::mutex> lock(qmu);
          if (queue.empty() || !first_error.ok()) return;
          task = queue.front();
          queue.pop_front();
        }
        Status s = WaitForBandwidth(bandwidth, task.bytes());
        if (s.ok()) s = RunTransferTask(task, bandwidth.per_call());
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(qmu);
          if (first_error.ok()) first_error = s;
          stop_ = true;
        }
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
    if (!first_error.ok()) return first_error;
    return Advance(v1::PHASE_VERIFY, /*sync=*/false);
  }

  // Draws a task's bytes from the job's bandwidth and sleeps until it may start; CANCELLED
  // when the job is cancelled meanwhile.
  Status WaitForBandwidth(JobBandwidth& bandwidth, uint64_t bytes) {
    const auto start = bandwidth.Reserve(bytes, JobBandwidth::Clock::now());
    while (JobBandwidth::Clock::now() < start) {
      if (cancel_ != nullptr && cancel_->load()) stop_ = true;
      if (Cancelled()) return CancelledError("job " + job_.id() + " was cancelled");
      std::this_thread::sleep_for(std::min<JobBandwidth::Clock::duration>(
          start - JobBandwidth::Clock::now(), std::chrono::milliseconds(20)));
    }
    return OkStatus();
  }

  Status RunTransferTask(v1::Task task, uint64_t bandwidth) {
    const int index = task.member();
    const v1::Member* member = &rp_.members(index);
    pb::TransferRequest req;
    req.set_op_id(task.op_id());
    LIFEBOAT_ASSIGN_OR_RETURN(*req.mutable_source(),
                              MakePeer(source_, member->data_set().component()));
    req.mutable_snapshot()->ParseFromString(member->snapshot());
    req.mutable_task()->ParseFromString(task.payload());
    req.set_bandwidth_bytes_per_second(bandwidth);
    CallOptions opts = PeerOptions(source_);
    opts.on_progress = [&](const pb::Progress& p) {
      if (cancel_ != nullptr && cancel_->load()) stop_ = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        in_flight_[task.id()] = task.bytes() > 0 ? p.bytes_done() : 0;
      }
      Report(/*force=*/false);
    };
    auto r = Call<LB_OP_TRANSFER>(target_, member->data_set().component(), req, opts);
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_.erase(task.id());
    }
    if (!r.ok()) return r.status().WithContext("transfer " + task.id());
    task.set_state(v1::TASK_DONE);
    task.set_result(r->SerializeAsString());
    StateStore::Batch batch;
    batch.Put(Kind::kTasks, Key(job_.id(), task.id()), task);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_.set_bytes_done(job_.bytes_done() + task.bytes());
      job_.set_items_done(job_.items_done() + task.items());
      rp_.mutable_members(index)->set_bytes_copied(rp_.members(index).bytes_copied() +
                                                   r->bytes_copied());
    }
    // Not synced: a task done but not recorded is run again after a crash, and the plugin
    // answers it without moving data (idempotent per op id).
    LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/false, &batch));
    Report();
    return OkStatus();
  }

  Status Verify(const v1::Policy& policy) {
    if (policy.verification() != v1::VERIFY_NONE) {
      std::vector<pb::Reference> references;  // what members point at in other members
      for (int i = 0; i < rp_.members_size(); ++i) {
        const v1::Member& m = rp_.members(i);
        pb::VerifyRequest req;
        req.set_op_id(op_ids::ForMember(op_ids::PointStep::kVerify, rp_.id(), i));
        req.mutable_snapshot()->ParseFromString(m.snapshot());
        req.set_level(ToPlugin(policy.verification()));
        // The source helps (a plugin may compare with it what nothing on the target vouches
        // for) but is not needed: a source lost since the copy must not fail the verify.
        auto peer = MakePeer(source_, m.data_set().component());
        if (peer.ok()) {
          *req.mutable_source() = *peer;
        } else {
          Note("verify of " + Name(m.data_set()) +
               " without the source: " + peer.status().ToString());
        }
        auto r = Call<LB_OP_VERIFY>(target_, m.data_set().component(), req, PeerOptions(source_));
        if (!r.ok()) return r.status().WithContext("verify " + Name(m.data_set()));
        if (!r->ok()) {
          std::string first = r->mismatches_size() > 0
                                  ? r->mismatches(0).path() + " (" + r->mismatches(0).what() + ")"
                                  : "";
          return DataLossError("verify " + Name(m.data_set()) + ": " +
                               std::to_string(r->mismatches_size()) +
                               " differences between the copy and the cut, first " + first +
                               "; the restore point was not committed");
        }
        references.insert(references.end(), r->references().begin(), r->references().end());
      }
      LIFEBOAT_RETURN_IF_ERROR(CheckReferences(references));
    }
    return Advance(v1::PHASE_COMMIT, /*sync=*/false);
  }

  // Asks the members of the components that `references` point into whether the point holds
  // each location (VerifyRequest.expect_held). A location some member lacks fails the
  // backup: the point's metadata would name data the point does not have. One that lies in
  // no member of the point is not protected by it: noted, not failed (a table outside the
  // service's directories is the operator's choice).
  Status CheckReferences(const std::vector<pb::Reference>& references) {
    std::map<std::string, std::vector<const pb::Reference*>> by_component;
    for (const auto& ref : references) by_component[ref.component()].push_back(&ref);
    for (const auto& [component, refs] : by_component) {
      std::map<std::string, int> verdict;  // location -> best answer (HELD > NOT_HELD > other)
      bool asked = false;
      for (int j = 0; j < rp_.members_size(); ++j) {
        const v1::Member& m = rp_.members(j);
        if (m.data_set().component() != component) continue;
        pb::VerifyRequest req;
        req.set_op_id(op_ids::ForMember(op_ids::PointStep::kVerifyHeld, rp_.id(), j));
        req.mutable_snapshot()->ParseFromString(m.snapshot());
        req.set_level(pb::VERIFY_NONE);
        for (const pb::Reference* ref : refs) req.add_expect_held(ref->location());
        auto r = Call<LB_OP_VERIFY>(target_, component, req, Options());
        if (!r.ok()) return r.status().WithContext("check references into " + Name(m.data_set()));
        if (r->held_size() != req.expect_held_size()) {
          Note("references into " + Name(m.data_set()) + " not checked: its plugin answered " +
               std::to_string(r->held_size()) + " of " + std::to_string(req.expect_held_size()) +
               " locations (a plugin older than VerifyRequest.expect_held)");
          continue;
        }
        asked = true;
        for (const auto& h : r->held()) {
          int rank = h.held() == pb::HELD ? 2 : h.held() == pb::NOT_HELD ? 1 : 0;
          int& v = verdict[h.location()];
          v = std::max(v, rank);
        }
      }
      if (!asked) continue;
      std::vector<const pb::Reference*> missing, outside;
      for (const pb::Reference* ref : refs) {
        int v = verdict[ref->location()];
        if (v == 1) missing.push_back(ref);
        if (v == 0) outside.push_back(ref);
      }
      auto first = [](const pb::Reference* ref) {
        return ref->location() + (ref->referrer().empty() ? "" : " (" + ref->referrer() + ")");
      };
      if (!outside.empty()) {
        Note(std::to_string(outside.size()) + " of " + std::to_string(refs.size()) +
             " locations the point references lie in no " + component +
             " member of the point, so it does not protect them; first " + first(outside[0]));
      }
      if (!missing.empty()) {
        return DataLossError(
            "the point references " + std::to_string(missing.size()) + " " + component +
            " locations its " + component + " members lack, first " + first(missing[0]) +
            ": the metadata would name data the point does not hold (removed between the two "
            "cuts?); the restore point was not committed, the next backup cuts both again");
      }
      Note("references checked: " + std::to_string(refs.size()) + " " + component +
           " locations, every one held by the point");
    }
    return OkStatus();
  }

  Status Commit() {
    // Group by group: by commit stage, and a member after those whose data it references
    // (member_order.h); a group commits only after every member of the previous one did.
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<OrderedMember> ordered, MembersOf(rp_, *target_));
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::vector<int>> groups, CommitGroups(ordered));
    for (const auto& group : groups) {
      for (int i : group) {
        const v1::Member& m = rp_.members(i);
        if (m.committed()) continue;
        pb::CommitRequest req;
        req.set_op_id(op_ids::ForMember(op_ids::PointStep::kCommit, rp_.id(), i));
        req.mutable_snapshot()->ParseFromString(m.snapshot());
        req.set_base_restore_point_id(BaseOf(m));
        auto r = Call<LB_OP_COMMIT>(target_, m.data_set().component(), req, Options());
        if (!r.ok()) return r.status().WithContext("commit " + Name(m.data_set()));
        rp_.mutable_members(i)->set_committed(true);
        LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true));
      }
    }
    // Visible only now that every member has committed.
    rp_.set_state(v1::RP_COMMITTED);
    rp_.set_committed_unix_nanos(e_.Now());
    return Advance(v1::PHASE_EXPIRE, /*sync=*/true);
  }

  // Users, groups and permissions of the live data sets, source to target, names mapped by
  // the policy. The point is committed by now: a failure here is reported (event, job log),
  // never allowed to undo it.
  void SyncSecurity(const v1::Policy& policy) {
    if (!policy.sync_security()) return;
    // A fenced data set on the target (a demoted cluster, e.g. the old primary after a
    // failback) refuses every write, security included; its live copy takes the point's
    // owners and modes with the data when a failover applies the point.
    std::map<std::string, std::map<std::string, uint64_t>> fenced;  // component -> selector
    std::vector<int> to_sync;
    for (int i = 0; i < service_.data_sets_size(); ++i) {
      const v1::DataSetSpec& spec = service_.data_sets(i);
      if (!fenced.count(spec.component())) {
        auto& sets = fenced[spec.component()];
        auto probe = Call<LB_OP_PROBE>(target_, spec.component(), pb::ProbeRequest{}, Options());
        // A failed probe: the sync itself reports what is wrong.
        if (probe.ok()) {
          for (const auto& f : probe->fenced()) sets[f.data_set().selector()] = f.epoch();
        }
      }
      auto is_fenced = fenced[spec.component()].find(spec.selector());
      if (is_fenced == fenced[spec.component()].end()) {
        to_sync.push_back(i);
        continue;
      }
      Note("security of " + Name(spec) + ": not synced: it is fenced on " + target_cluster_ +
           " (epoch " + std::to_string(is_fenced->second) +
           "); the point carries the source's security and a failover applies it");
    }
    if (to_sync.empty()) return;
    PushScope push(*this, source_, target_, policy);
    if (!push.status().ok()) {
      Note("security sync skipped: " + push.status().ToString());
      return;
    }
    for (int i : to_sync) {
      const v1::DataSetSpec& spec = service_.data_sets(i);
      pb::SyncSecurityRequest req;
      req.set_op_id(op_ids::ForMember(op_ids::PointStep::kSecurity, rp_.id(), i));
      auto peer = MakePeer(source_, spec.component());
      if (!peer.ok()) {
        Note("security sync of " + Name(spec) + " skipped: " + peer.status().ToString());
        continue;
      }
      *req.mutable_source() = *peer;
      *req.mutable_data_set() = ToPlugin(spec);
      // This point's cut of the data set, still on the source (released after the sync).
      for (const v1::Member& m : rp_.members()) {
        if (m.data_set().component() == spec.component() &&
            m.data_set().selector() == spec.selector() && !m.snapshot().empty()) {
          req.mutable_snapshot()->ParseFromString(m.snapshot());
        }
      }
      req.mutable_user_map()->insert(policy.user_map().begin(), policy.user_map().end());
      req.mutable_group_map()->insert(policy.group_map().begin(), policy.group_map().end());
      auto r = Call<LB_OP_SYNC_SECURITY>(target_, spec.component(), req, PeerOptions(source_));
      if (r.ok()) {
        Note("security of " + Name(spec) + ": " + std::to_string(r->changes_size()) + " changes, " +
             std::to_string(r->items_compared()) + " items compared");
        for (int k = 0; k < r->changes_size() && k < 20; ++k) Note("  " + r->changes(k));
      } else if (r.status().code() == Code::kUnimplemented) {
        Note("security of " + Name(spec) + ": the plugin does not sync security");
      } else if (r.status().code() == Code::kNotFound) {
        // No live copy on the target yet (nothing restored there): nothing to sync.
        Note("security of " + Name(spec) + ": nothing to sync yet: " + r.status().message());
      } else {
        Note("security sync of " + Name(spec) + " failed: " + r.status().ToString());
        (void)e_.RecordEvent(v1::SEVERITY_WARNING, v1::EVENT_SECURITY_SYNC_FAILED, job_.service(),
                             "job " + job_.id() + ": " + Name(spec) + ": " + r.status().ToString(),
                             job_.id());
      }
    }
  }

  // The point member `m` builds on: its own base (set when the point was made), or the
  // point's for a point recorded before members had one.
  const std::string& BaseOf(const v1::Member& m) const {
    return m.base_restore_point_id().empty() ? rp_.base_restore_point_id()
                                             : m.base_restore_point_id();
  }

  // Whether the plugin of `component` on `agent` plans from the base point's cut on the
  // source (CAP_DIFF_FROM_BASE_CUT), so that the newest committed cut must be kept.
  StatusOr<bool> KeepsBaseCut(Agent* agent, const std::string& component) {
    LIFEBOAT_ASSIGN_OR_RETURN(pb::PluginDescriptor d, agent->Describe(component));
    return std::find(d.capabilities().begin(), d.capabilities().end(),
                     pb::CAP_DIFF_FROM_BASE_CUT) != d.capabilities().end();
  }

  // Releases member `i` of `point` on `agent`, its source. OK also when the plugin has no
  // release or the cut is gone already.
  Status ReleaseCut(Agent* agent, const v1::RestorePoint& point, int i) {
    const v1::Member& m = point.members(i);
    pb::ReleaseRequest req;
    req.set_op_id(op_ids::ForMember(op_ids::PointStep::kRelease, point.id(), i));
    req.mutable_snapshot()->ParseFromString(m.snapshot());
    auto r = Call<LB_OP_RELEASE>(agent, m.data_set().component(), req, Options());
    if (r.ok() || r.status().code() == Code::kUnimplemented ||
        r.status().code() == Code::kNotFound) {
      return OkStatus();
    }
    return r.status().WithContext("release " + Name(m.data_set()) + " of " + point.id() + " on " +
                                  point.source_cluster());
  }

  // The cuts on the source once this point has committed. A plugin that diffs from the base's
  // cut (CAP_DIFF_FROM_BASE_CUT: HDFS) keeps this point's cut — the base of the next backup in
  // this direction, or, after a failback, in the other — and the cuts of every older point of
  // the service are released now that a newer one has committed; other plugins' cuts are
  // released at once. A cut whose source cannot be reached now is left for the next backup
  // (its member stays unreleased), never allowed to fail this one.
  Status ReleaseCuts() {
    for (int i = 0; i < rp_.members_size(); ++i) {
      const v1::Member& m = rp_.members(i);
      if (m.snapshot().empty() || m.source_released()) continue;
      StatusOr<bool> keep = KeepsBaseCut(source_, m.data_set().component());
      Status s = !keep.ok() ? keep.status() : *keep ? OkStatus() : ReleaseCut(source_, rp_, i);
      if (s.code() == Code::kCancelled) return s;
      if (!s.ok()) {
        Note("the cut of " + Name(m.data_set()) + " stays on " + rp_.source_cluster() +
             " until the next backup: " + s.ToString());
        continue;
      }
      if (!*keep) rp_.mutable_members(i)->set_source_released(true);
    }
    LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true));

    LIFEBOAT_ASSIGN_OR_RETURN(auto points, e_.RestorePoints(service_.name()));
    std::set<std::string> unreachable;  // sources tried once in this job, with every retry
    for (v1::RestorePoint p : points) {
      if (p.id() >= rp_.id()) continue;  // this point, and any newer (none: one job at a time)
      if (p.state() != v1::RP_COMMITTED && p.state() != v1::RP_EXPIRED) continue;
      bool changed = false;
      for (int i = 0; i < p.members_size(); ++i) {
        const v1::Member& m = p.members(i);
        if (m.snapshot().empty() || m.source_released()) continue;
        if (unreachable.count(p.source_cluster())) continue;
        auto agent = e_.AgentFor(p.source_cluster());
        Status s = agent.ok() ? ReleaseCut(*agent, p, i) : agent.status();
        if (s.code() == Code::kCancelled) return s;
        if (IsRetryable(s.code())) unreachable.insert(p.source_cluster());
        if (!s.ok()) {
          Note("the cut of " + Name(m.data_set()) + " for " + p.id() + " stays on " +
               p.source_cluster() + " until the next backup: " + s.ToString());
          continue;
        }
        p.mutable_members(i)->set_source_released(true);
        changed = true;
        Note("released the cut of " + Name(m.data_set()) + " for " + p.id() + " on " +
             p.source_cluster() + " (superseded by " + rp_.id() + ")");
      }
      if (changed) {
        StateStore::Batch batch;
        batch.Put(Kind::kRestorePoints, Key(p.service(), p.id()), p);
        LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true, &batch));
      }
    }
    return OkStatus();
  }

  Status Expire(const v1::Policy& policy) {
    SyncSecurity(policy);
    if (policy.sync_security()) StepDone("security");
    LIFEBOAT_RETURN_IF_ERROR(ReleaseCuts());
    StepDone("release");
    LIFEBOAT_ASSIGN_OR_RETURN(auto victims, e_.RetentionVictims(policy, job_.id()));
    for (v1::RestorePoint victim : victims) {
      // The same path as `lifeboat points delete` (delete.cc), with this job's retries.
      int removed = 0;
      Status failed = e_.ExpireMembers(
          victim,
          [this](Agent* agent, const std::string& component, const pb::ExpireRequest& req) {
            return Call<LB_OP_EXPIRE>(agent, component, req, Options());
          },
          &removed);
      if (failed.code() == Code::kCancelled) return failed;
      if (!failed.ok()) {
        // The point stays committed and the next backup's retention tries again.
        Note(failed.ToString() + "; retention tries again after the next backup");
        (void)e_.RecordEvent(v1::SEVERITY_WARNING, v1::EVENT_EXPIRE_FAILED, job_.service(),
                             "job " + job_.id() + ": " + failed.ToString(), job_.id());
        continue;
      }
      victim.set_state(v1::RP_EXPIRED);
      StateStore::Batch batch;
      batch.Put(Kind::kRestorePoints, Key(victim.service(), victim.id()), victim);
      LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true, &batch));
      Note("expired " + victim.id());
    }
    return Advance(v1::PHASE_DONE, /*sync=*/true);
  }

  // ---- restore --------------------------------------------------------------------------
  // Two passes. The check (PHASE_PLAN) asks every member for a dry run with the real run's
  // options — destination, consent, fence — so that a member that would be refused is found
  // before any member writes (a point with hdfs and kafka members must not leave its hdfs
  // part written when the kafka destination is wrong). The write (PHASE_TRANSFER) restores
  // each member and records it done (task "m<i>-restore"), so that a resume does only what is
  // left. A dry-run job is the check alone: it refuses as the real run would.
  Status RunRestore() {
    LIFEBOAT_ASSIGN_OR_RETURN(v1::RestorePoint rp,
                              e_.GetRestorePoint(job_.service(), job_.restore_point_id()));
    LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, e_.AgentFor(job_.restore().cluster()));
    // Points live on the cluster that committed them (the secondary); restoring anywhere
    // else — back to the primary — has that cluster's plugin read the point from its peer.
    Agent* holder = nullptr;
    if (job_.restore().cluster() != rp.target_cluster()) {
      LIFEBOAT_ASSIGN_OR_RETURN(holder, e_.AgentFor(rp.target_cluster()));
    }
    // A resumed restore runs every member again (each is idempotent): count afresh.
    job_.clear_changes();
    std::optional<PushScope> push;
    if (holder != nullptr) {
      push.emplace(*this, holder, agent, job_.policy());
      LIFEBOAT_RETURN_IF_ERROR(push->status());
    }
    auto restore = [&](int i, bool dry_run) -> StatusOr<pb::RestoreResponse> {
      const v1::Member& m = rp.members(i);
      pb::RestoreRequest req;
      if (holder != nullptr) {
        auto peer = MakePeer(holder, m.data_set().component());
        if (!peer.ok()) return peer.status();
        *req.mutable_source() = *peer;
      }
      req.set_op_id(op_ids::Restore(job_.id(), i, dry_run));
      *req.mutable_data_set() = ToPlugin(m.data_set());
      req.set_restore_point_id(rp.id());
      // As the operator gave it for the component: the plugin places the data set below it.
      req.set_destination(DestinationOf(m));
      req.set_dry_run(dry_run);
      req.set_overwrite(job_.restore().overwrite());
      return Call<LB_OP_RESTORE>(agent, m.data_set().component(), req,
                                 holder != nullptr ? PeerOptions(holder) : Options());
    };

    if (job_.phase() == v1::PHASE_PLAN) {
      const bool dry_run = job_.restore().dry_run();
      for (int i = 0; i < rp.members_size(); ++i) {
        const v1::Member& m = rp.members(i);
        auto r = restore(i, /*dry_run=*/true);
        if (!r.ok()) {
          return r.status().WithContext("restore " + Name(m.data_set()) +
                                        (dry_run ? "" : " (checked before anything was written)"));
        }
        if (dry_run) {
          for (const auto& c : r->changes()) Note(Name(m.data_set()) + ": " + c);
          std::lock_guard<std::mutex> lock(mu_);
          // What the data set would get: the dry run's summary (its bytes_written is what it
          // would write).
          *job_.add_changes() = CountChanges(Name(m.data_set()), *r);
          job_.set_items_done(job_.items_done() + static_cast<uint64_t>(r->changes_size()));
        } else {
          Note("checked " + Name(m.data_set()) + ": " + std::to_string(r->changes_size()) +
               " change(s) to make");
        }
      }
      if (dry_run) return OkStatus();
      LIFEBOAT_RETURN_IF_ERROR(Advance(v1::PHASE_TRANSFER, /*sync=*/true));
    }

    LIFEBOAT_ASSIGN_OR_RETURN(auto tasks, e_.Tasks(job_.id()));
    std::set<std::string> done;
    for (const auto& t : tasks) {
      if (t.state() == v1::TASK_DONE) done.insert(t.id());
    }
    // Written in commit order: the data a member's metadata names before the metadata
    // (member_order.h), so a restore stopped half-way never leaves tables naming nothing.
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<int> order, WriteOrder(rp, *agent));
    for (int i : order) {
      const v1::Member& m = rp.members(i);
      const std::string task_id = "m" + std::to_string(i) + "-restore";
      if (done.count(task_id)) continue;
      auto r = restore(i, /*dry_run=*/false);
      if (!r.ok()) return WhatARestoreLeft(rp, done, i, r.status());
      for (const auto& c : r->changes()) Note(Name(m.data_set()) + ": " + c);
      v1::Task task;
      task.set_job_id(job_.id());
      task.set_id(task_id);
      task.set_member(i);
      task.set_phase(v1::PHASE_TRANSFER);
      *task.mutable_data_set() = m.data_set();
      task.set_state(v1::TASK_DONE);
      task.set_bytes(r->bytes_written());
      StateStore::Batch batch;
      batch.Put(Kind::kTasks, Key(job_.id(), task_id), task);
      done.insert(task_id);
      {
        std::lock_guard<std::mutex> lock(mu_);
        *job_.add_changes() = CountChanges(Name(m.data_set()), *r);
        // A dry run moves nothing (its bytes_written is what it would write).
        if (!job_.restore().dry_run()) {
          job_.set_bytes_done(job_.bytes_done() + r->bytes_written());
          job_.set_items_done(job_.items_done() + static_cast<uint64_t>(r->changes_size()));
        }
      }
      LIFEBOAT_RETURN_IF_ERROR(Save(/*sync=*/true, &batch));
      Report();
    }
    return OkStatus();
  }

  // Where member `m` goes: its component's destination, else the one for all ("" = in place).
  std::string DestinationOf(const v1::Member& m) const {
    auto it = job_.restore().destinations().find(m.data_set().component());
    return it != job_.restore().destinations().end() ? it->second : job_.restore().destination();
  }

  // A restore that stopped at member `failed` after writing began: the failure, saying what
  // it left — the members restored whole, the one perhaps written in part — and how to finish.
  // The job parks (Fail) so that `jobs resume` does what is left with the same operation ids
  // (a plugin lets a repeat of its own restore change what it wrote).
  Status WhatARestoreLeft(const v1::RestorePoint& rp, const std::set<std::string>& done, int failed,
                          const Status& s) {
    std::vector<std::string> whole;
    for (int i = 0; i < rp.members_size(); ++i) {
      if (!done.count("m" + std::to_string(i) + "-restore")) continue;
      const std::string dest = DestinationOf(rp.members(i));
      whole.push_back(Name(rp.members(i).data_set()) +
                      (dest.empty() ? " (in place)" : " (into " + dest + ")"));
    }
    std::string joined;
    for (const auto& w : whole) joined += (joined.empty() ? "" : ", ") + w;
    const std::string part = Name(rp.members(failed).data_set());
    const std::string how =
        s.code() == Code::kCancelled
            ? "a restore into the same destination now needs --overwrite (it lists what is "
              "there); or remove what was written"
            : "`lifeboat jobs resume " + job_.id() +
                  "` finishes it (what is done is not done again); `lifeboat jobs cancel " +
                  job_.id() + "` ends it as it is";
    restore_left_ = "the restore of " + rp.id() + " stopped at " + part + ". It left: " +
                    (joined.empty() ? "no member restored whole" : "restored whole: " + joined) +
                    "; " + part + " perhaps written in part. " + how;
    return s.WithContext("restore " + part);
  }

  Engine& e_;
  v1::Job job_;
  v1::RestorePoint rp_;
  v1::Service service_;
  Agent* source_ = nullptr;
  Agent* target_ = nullptr;
  std::string source_cluster_;
  std::string target_cluster_;
  const std::atomic<bool>* cancel_;
  std::function<void(const JobProgress&)> on_progress_;
  std::atomic<bool> stop_{false};
  // The push session in force (PushScope), "" in pull mode.
  std::string push_session_;
  // What a restore that stopped part-way left (WhatARestoreLeft), "" otherwise.
  std::string restore_left_;
  std::mutex mu_;
  std::map<std::string, uint64_t> in_flight_;
  std::chrono::steady_clock::time_point last_report_{};  // guarded by mu_
  // Where the current phase and step began (this run of the job), for `Job.phase_times`.
  int64_t phase_started_ = 0;
  int64_t step_started_ = 0;
};

Status Engine::RunJob(const std::string& job_id, const std::atomic<bool>* cancel,
                      const std::function<void(const JobProgress&)>& on_progress) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Job job, GetJob(job_id));
  JobRunner runner(*this, std::move(job), cancel, on_progress);
  return runner.Run();
}

}  // namespace lifeboat::core
