// The engine: clusters, services and policies; backup and restore jobs that survive crashes;
// restore points and their retention; RPO per service.
//
// A backup job runs the phases plan → prepare → cut → transfer → verify → commit → expire.
// Every state change is one atomic batch in the state store, and every plugin call carries an
// operation id derived from the job (e.g. "cut-<restore point>-<member>"), so that after a
// crash — of the engine or of a plugin call — ResumeAll() continues each job from its last
// checkpoint: a task recorded done is not run again, a repeated plugin call is a no-op for
// the plugin, and no restore point becomes visible before every member has committed.
//
// Thread-safety: all public methods may be called from several threads; jobs run on the
// calling thread (RunJob) with their transfer tasks on a pool of policy.parallelism threads.
#ifndef LIFEBOAT_CORE_ENGINE_H_
#define LIFEBOAT_CORE_ENGINE_H_

#include <lifeboat/core/agent.h>
#include <lifeboat/core/plugin_host.h>
#include <lifeboat/core/policy_yaml.h>
#include <lifeboat/core/scheduler.h>
#include <lifeboat/core/state_store.h>
#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lifeboat::core {

struct EngineOptions {
  std::filesystem::path state_dir;
  std::vector<std::filesystem::path> plugin_dirs;
  // The clock; tests may replace it. Nanoseconds since the Unix epoch.
  std::function<int64_t()> now;
  // Retries of a task that failed with a retryable code, and the first backoff.
  int max_attempts = 5;
  int64_t first_backoff_millis = 200;
};

// Progress of a running job, for progress bars.
struct JobProgress {
  std::string job_id;
  v1::Phase phase = v1::PHASE_UNSPECIFIED;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t items_done = 0;
  uint64_t items_total = 0;
};

struct ServiceStatus {
  v1::Service service;
  std::vector<v1::Policy> policies;
  std::string newest_point;  // newest committed restore point, "" if none
  int64_t newest_point_unix_nanos = 0;
  int64_t rpo_seconds = 0;   // the tightest RPO of the service's policies (0: none)
  int64_t age_seconds = -1;  // age of the newest committed point (-1: none)
  bool rpo_breached = false;
};

class Engine {
 public:
  // Opens the state store (exclusively), loads the plugins of the trusted directories, and
  // makes one agent per known cluster. Does not resume jobs: call ResumeAll().
  static StatusOr<std::unique_ptr<Engine>> Open(EngineOptions options);
  ~Engine();

  // ---- configuration -------------------------------------------------------------------
  // Applies clusters, services and policies (as parsed from YAML) atomically. Checks that
  // every reference resolves (policy → service → clusters → components → plugins) and that
  // each data set's selector resolves on the primary. Idempotent: an unchanged object keeps
  // its revision; a changed one gets the next revision (running jobs keep theirs). Returns
  // one line per object saying what happened.
  StatusOr<std::vector<std::string>> Apply(const std::vector<YamlDocument>& docs,
                                           const std::string& actor);
  StatusOr<std::vector<v1::Policy>> Policies() const;
  StatusOr<v1::Policy> GetPolicy(const std::string& name) const;
  Status DeletePolicy(const std::string& name, const std::string& actor);
  StatusOr<std::vector<v1::Service>> Services() const;
  StatusOr<std::vector<v1::Cluster>> Clusters() const;

  // ---- jobs ----------------------------------------------------------------------------
  // Records a backup job of `policy` (PENDING) and returns its id. FAILED_PRECONDITION when
  // a backup of the same policy is still unfinished (runs never overlap).
  StatusOr<std::string> StartBackup(const std::string& policy, const std::string& trigger,
                                    const std::string& actor);
  // Records a restore job of a committed restore point.
  StatusOr<std::string> StartRestore(const std::string& service, const v1::RestoreSpec& spec,
                                     const std::string& actor);
  // Runs a job from its last checkpoint to its end. Returns the job's final status (OK when
  // it succeeded). `cancel` may stop it (the job ends CANCELLED, resumable state kept by
  // the plugins); `on_progress` sees its progress.
  Status RunJob(const std::string& job_id, const std::atomic<bool>* cancel = nullptr,
                const std::function<void(const JobProgress&)>& on_progress = nullptr);
  // Runs every unfinished job (after a crash). Returns the ids it ran.
  StatusOr<std::vector<std::string>> ResumeAll(const std::atomic<bool>* cancel = nullptr);
  StatusOr<v1::Job> GetJob(const std::string& id) const;
  StatusOr<std::vector<v1::Job>> Jobs() const;
  StatusOr<std::vector<v1::Task>> Tasks(const std::string& job_id) const;

  // ---- scheduling ----------------------------------------------------------------------
  // One pass of the scheduler at the engine's clock: each policy whose slot has come gets a
  // backup job, run to its end before the next starts (in the scheduler's order: priority,
  // then the service that waited longest); a slot that falls due while the policy's
  // previous backup is unfinished is recorded as a SKIPPED job. After downtime a missed slot
  // runs once. Returns the ids of the jobs made (run or skipped).
  StatusOr<std::vector<std::string>> TickOnce(const std::atomic<bool>* cancel = nullptr);
  // The daemon's loop: resumes unfinished jobs, then ticks until `stop`, sleeping until the
  // next slot (at most a second at a time, so that policy changes are seen).
  Status Serve(const std::atomic<bool>* stop);

  // ---- restore points ------------------------------------------------------------------
  StatusOr<std::vector<v1::RestorePoint>> RestorePoints(const std::string& service) const;
  StatusOr<v1::RestorePoint> GetRestorePoint(const std::string& service,
                                             const std::string& id) const;
  // Re-reads every member of a committed point on the target; the mismatches, or none.
  StatusOr<std::vector<std::string>> VerifyRestorePoint(const std::string& service,
                                                        const std::string& id);

  // ---- status --------------------------------------------------------------------------
  StatusOr<ServiceStatus> GetServiceStatus(const std::string& service);
  StatusOr<std::vector<v1::Event>> Events() const;

  StateStore& store() { return *store_; }

 private:
  class JobRunner;
  explicit Engine(EngineOptions options);
  Status Init();
  StatusOr<Agent*> AgentFor(const std::string& cluster);
  int64_t Now() const { return options_.now(); }
  Status Audit(StateStore::Batch& batch, const std::string& actor, const std::string& action,
               const std::string& subject, const std::string& detail);
  Status RecordEvent(const std::string& severity, const std::string& service,
                     const std::string& kind, const std::string& message);

  EngineOptions options_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<PluginHost> host_;
  mutable std::mutex mu_;  // guards agents_ and job starts
  std::map<std::string, std::unique_ptr<Agent>> agents_;
  std::unique_ptr<Scheduler> scheduler_;                // built by the first TickOnce
  std::map<std::string, uint64_t> scheduled_revision_;  // policy -> revision in scheduler_
};

// "rp-20261125T094500Z-000042": sortable by time, unique by sequence.
std::string MakeRestorePointId(int64_t now_unix_nanos, uint64_t sequence);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_H_
