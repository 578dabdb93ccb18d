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
#include <lifeboat/v1/plugin.pb.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lifeboat::core {

struct EngineOptions {
  std::filesystem::path state_dir;
  std::vector<std::filesystem::path> plugin_dirs;
  // The clock; tests may replace it. Nanoseconds since the Unix epoch.
  std::function<int64_t()> now;
  // The retry policy of every plugin call the engine makes (RetryingAgent, agent_wrapper.h):
  // attempts in all for a call that fails with a retryable code, and the first backoff.
  int max_attempts = 5;
  int64_t first_backoff_millis = 200;
  // Jobs that run at once on the executor (Submit, the scheduler, resumes). Jobs of one
  // service never run at once, whatever this says.
  int max_concurrent_jobs = 4;
  // Makes the agent of a cluster. Unset: an in-process LocalAgent over the engine's plugin
  // host. The control service sets it to agents reached over the network; tests may wrap.
  // Whatever it makes, the engine wraps in its RetryingAgent.
  std::function<StatusOr<std::unique_ptr<Agent>>(const v1::Cluster&, const PluginHost&)> make_agent;
  // Webhooks told of every warning and critical event: a JSON POST each (best effort, in the
  // background; a failure is logged, never retried forever).
  std::vector<std::string> webhooks;
  // How often Serve() checks the clusters' health (0: never).
  int64_t health_interval_millis = 5000;
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

// What an apply did — or, in a dry run, would do — to one object.
struct AppliedObject {
  std::string kind;  // "cluster", "service", "policy"
  std::string name;
  std::string action;              // "created", "changed", "unchanged"
  uint64_t revision = 0;           // the revision it has (would have) after the apply
  uint64_t previous_revision = 0;  // 0: it did not exist
  // The difference, as lines of its YAML (ToYaml): "- rpo: 1h", "+ rpo: 2h".
  std::vector<std::string> changes;
  std::string where;  // "FILE:LINE" of its document
};

// The roles of a service as an apply leaves them, and how the file's primary and secondary
// compare with them (apply never switches a service that has a restore point or a switch).
struct AppliedRoles {
  std::string service;
  std::string primary;  // the stored roles (after the apply)
  std::string secondary;
  uint64_t epoch = 0;
  std::string file_primary;  // what the file says
  std::string file_secondary;
  bool agrees = true;    // the file names the same primary
  bool changed = false;  // the apply sets the roles (a service with no point and no switch yet)
  std::string note;      // what the difference means, when there is one
};

struct ApplyReport {
  bool dry_run = false;
  std::vector<AppliedObject> objects;
  std::vector<AppliedRoles> roles;  // one per service of the documents
  std::vector<std::string> notes;   // e.g. a remote agent that did not answer
  // The report as text, one line per object (and its changes, roles and notes below it):
  // "policy p applied (revision 2)", or in a dry run "policy p would change (revision 1 -> 2)".
  std::vector<std::string> Lines() const;
};

struct ApplyOptions {
  bool dry_run = false;  // check everything, report the difference, write nothing
};

struct DeleteOptions {
  bool dry_run = false;  // check and report, delete nothing
  bool force = false;    // the operator agrees to what the refusal named (see each delete)
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
  // Apply with its full report; with options.dry_run every check runs and nothing is
  // written. Besides the checks above: the same object twice in `docs` is refused naming both
  // places; each changed cluster's components are checked by their plugins (configure /
  // validate, or the remote agent's describe); errors point at the field (FILE:LINE:COLUMN).
  // Roles: apply never switches a service's active side once it has a restore point or has
  // been switched — a file that names the other cluster primary is FAILED_PRECONDITION
  // naming `lifeboat failover`/`failback`, unless the roles were already switched by one, in
  // which case the file's orientation is stored as the configured one and the report says
  // the roles stay. Other clusters for such a service are refused; before any point the
  // file decides (epoch 1).
  StatusOr<ApplyReport> ApplyConfig(const std::vector<YamlDocument>& docs, const std::string& actor,
                                    const ApplyOptions& options);
  StatusOr<std::vector<v1::Policy>> Policies() const;
  StatusOr<v1::Policy> GetPolicy(const std::string& name) const;
  Status DeletePolicy(const std::string& name, const std::string& actor);
  // Deletes return one line per object saying what was (or, in a dry run, would be)
  // deleted and what stays; each real delete is audited. A cluster: refused while a service
  // names it or a job runs on it; with committed restore points on it only with force (their
  // data stays there, out of Lifeboat's reach). A service: refused while one of its jobs is
  // unfinished; with policies or restore points only with force — its policies go with it,
  // its restore points and roles stay (restorable once it is applied again; `points delete`
  // removes them). NOT_FOUND for an unknown name.
  StatusOr<std::vector<std::string>> DeleteCluster(const std::string& name,
                                                   const DeleteOptions& options,
                                                   const std::string& actor);
  StatusOr<std::vector<std::string>> DeleteService(const std::string& name,
                                                   const DeleteOptions& options,
                                                   const std::string& actor);
  // The objects `docs` define (by kind and name), in one write: policies, then services,
  // then clusters, each checked as above against what remains after the others go. Objects
  // that are not stored are reported and skipped.
  StatusOr<std::vector<std::string>> DeleteObjects(const std::vector<YamlDocument>& docs,
                                                   const DeleteOptions& options,
                                                   const std::string& actor);
  StatusOr<std::vector<v1::Service>> Services() const;
  StatusOr<std::vector<v1::Cluster>> Clusters() const;

  // ---- jobs ----------------------------------------------------------------------------
  // Records a backup job of `policy` (PENDING) and returns its id. FAILED_PRECONDITION when
  // a backup of the same policy is still unfinished (runs never overlap). `force_full`: the
  // plugins plan full comparisons (PlanTransferRequest.force_full), e.g. to overwrite
  // changes made on the target since the base point.
  StatusOr<std::string> StartBackup(const std::string& policy, const std::string& trigger,
                                    const std::string& actor, bool force_full = false);
  // Records a restore job of a committed restore point. Its destinations: one for every
  // member (`spec.destination`), or per component (`spec.destinations`, each component of the
  // point covered unless a destination for all is given too); INVALID_ARGUMENT otherwise. The
  // job checks every member (a dry run with the real run's options: destination, consent,
  // fence) before any member writes; a dry-run job is that check. Without `spec.overwrite` a
  // member that would delete or replace what its destination holds is refused, naming it. A
  // restore that stops part-way parks, saying what it left; `jobs resume` finishes it.
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

  // ---- the executor ----------------------------------------------------------------------
  // Queues a recorded job to run in the background and returns at once. Up to
  // max_concurrent_jobs jobs run at once; jobs of one service run one after another, in the
  // order submitted. ALREADY_EXISTS when the job is queued or running already; NOT_FOUND for
  // an unknown job; OK (nothing to do) for a job that has ended.
  Status Submit(const std::string& job_id);
  // Progress of a job queued or running on this engine's executor; nullopt otherwise.
  std::optional<JobProgress> LiveProgress(const std::string& job_id) const;
  // Stops a job: a queued or running one ends CANCELLED (its partial work cleaned up as for
  // any cancellation); a recorded PENDING/RUNNING/PARKED job that no executor runs is run
  // just long enough to clean up and end CANCELLED. FAILED_PRECONDITION when it has ended.
  Status CancelJob(const std::string& job_id);
  // Blocks until `job_id` is neither queued nor running on the executor.
  void Wait(const std::string& job_id);
  // Blocks until the executor has nothing queued or running.
  void WaitIdle();

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

  // ---- clocks --------------------------------------------------------------------------
  // Reads the clock of a cluster's agent once, NTP-style, against this process's wall clock
  // (not EngineOptions::now, which tests may fake). A backup refuses to cut when any cutting
  // agent's |offset| + round_trip/2 exceeds the policy's max_clock_skew.
  StatusOr<v1::ClockSample> MeasureClock(const std::string& cluster);

  // ---- roles, endpoints, failover and failback -----------------------------------------
  // Which cluster holds PRIMARY for the service now, at which epoch (epoch 1 and the
  // configured clusters until the first switch).
  StatusOr<v1::ServiceRoles> Roles(const std::string& service) const;
  // Where applications should go now: the active cluster's endpoints.
  StatusOr<v1::EndpointAnswer> Endpoints(const std::string& service) const;
  // Records a failover job: `spec.services`, or — with `spec.from_cluster` — every service
  // whose primary that cluster is now. Steps per service: stop its backups, fence the old
  // primary (where reachable; owed otherwise), unfence the new primary, apply the newest
  // committed point on it, swap roles with the next epoch. With dry_run the job lists the
  // steps and does none. NOT_FOUND for an unknown service or cluster; FAILED_PRECONDITION
  // when there is nothing to move or a switch is already unfinished.
  StatusOr<std::string> StartFailover(v1::SwitchSpec spec, const std::string& actor);
  // Records a failback job: the planned move of each service back to its other cluster with
  // no data loss — check that the other cluster took no writes since the last point both
  // share (it parks naming them, unless `spec.discard_writes`), replicate what changed since
  // the last common point, fence the current primary, replicate the rest, unfence and apply
  // on the other cluster, swap roles. A dry run runs the checks (and refuses as the real run
  // would) and does none of the rest.
  StatusOr<std::string> StartFailback(v1::SwitchSpec spec, const std::string& actor);

  // Lifts the fences of `service`'s data sets on `cluster` (one of its two), at the roles'
  // epoch: the way out after a restore into a demoted cluster was refused as fenced. With
  // dry_run it says what it would lift and lifts nothing. One line per data set (and a
  // warning first when `cluster` is the secondary: writes there are not replicated).
  // Audited; an event when something was lifted. INVALID_ARGUMENT for a cluster not of the
  // service; FAILED_PRECONDITION while a switch of the service is under way or the cluster
  // owes a fence (it would be fenced again when it answers).
  StatusOr<std::vector<std::string>> Unfence(const std::string& service, const std::string& cluster,
                                             bool dry_run, const std::string& actor);

  // ---- cluster health ----------------------------------------------------------------
  // Checks every cluster once: its agent's clock (reachability, offset) and each
  // component's probe. A change of state records an event (and tells the webhooks); a
  // cluster that answers again is handed the fences it is owed.
  StatusOr<std::vector<v1::ClusterHealth>> CheckClusters();
  // The latest result of CheckClusters() per cluster (empty before the first).
  std::vector<v1::ClusterHealth> Health() const;

  // ---- restore points ------------------------------------------------------------------
  StatusOr<std::vector<v1::RestorePoint>> RestorePoints(const std::string& service) const;
  StatusOr<v1::RestorePoint> GetRestorePoint(const std::string& service,
                                             const std::string& id) const;
  // Re-reads every member of a committed point on the target; the mismatches, or none.
  StatusOr<std::vector<std::string>> VerifyRestorePoint(const std::string& service,
                                                        const std::string& id);
  // Deletes a restore point: its members are removed from the cluster that holds them by the
  // plugins' expire op — the path retention takes — and it is recorded EXPIRED. Refused
  // while a job of the service is unfinished, for a point being made, and — without force —
  // for a point retention always keeps: the newest committed point on a cluster, or the last
  // common point of the roles (failback replicates from it). A plugin may still refuse
  // (localfs keeps the point a data set currently is). Returns what was (would be) done.
  StatusOr<std::vector<std::string>> DeleteRestorePoint(const std::string& service,
                                                        const std::string& id,
                                                        const DeleteOptions& options,
                                                        const std::string& actor);

  // ---- status --------------------------------------------------------------------------
  StatusOr<ServiceStatus> GetServiceStatus(const std::string& service);
  StatusOr<std::vector<v1::Event>> Events() const;

  StateStore& store() { return *store_; }

 private:
  class JobRunner;
  class Executor;
  explicit Engine(EngineOptions options);
  Status Init();
  StatusOr<Agent*> AgentFor(const std::string& cluster);
  // `agent` wrapped in the engine's retry policy (every agent the engine makes is).
  std::unique_ptr<Agent> Retrying(std::unique_ptr<Agent> agent) const;
  void StartExecutor();
  // Waits for the jobs (on the executor) to leave; cancels them all when `cancel` turns true.
  void WaitAll(const std::vector<std::string>& ids, const std::atomic<bool>* cancel);
  // The scheduler's pass; `wait` = block until the jobs made have ended.
  StatusOr<std::vector<std::string>> Tick(const std::atomic<bool>* cancel, bool wait);
  StatusOr<std::vector<std::string>> SubmitUnfinished();
  static Status CheckDestinations(const v1::RestorePoint& rp, const v1::RestoreSpec& spec);
  StatusOr<std::string> StartSwitch(v1::JobKind kind, v1::SwitchSpec spec,
                                    const std::string& actor);
  // Runs a failover/failback job's steps; `save` persists the job after each step.
  Status RunSwitch(v1::Job& job, const std::function<Status()>& save,
                   const std::atomic<bool>* cancel);
  // Writes a service's roles; ABORTED (nothing written) when the stored epoch is already
  // higher than `roles.epoch()`: an epoch only grows, whoever wrote last.
  Status PutRoles(const v1::ServiceRoles& roles, const std::string& actor,
                  const std::string& action);
  Status PutRolesLocked(const v1::ServiceRoles& roles, const std::string& actor,
                        const std::string& action);  // roles_mu_ held
  Status PayOwedFences(const std::string& cluster);
  // ---- apply and delete (apply.cc, delete.cc) ----
  // Checks every component of `cluster` with its plugin; `doc` (may be null) gives positions.
  // A remote agent that does not answer is noted in `notes`, not refused.
  Status CheckClusterPlugins(const v1::Cluster& cluster, const YamlDocument* doc,
                             std::vector<std::string>& notes);
  // The points of `service` that retention keeps whatever its rules say, with why: the
  // newest committed point on each cluster that holds points, and the roles' last common
  // point.
  StatusOr<std::map<std::string, std::string>> AlwaysKeptPoints(const std::string& service);
  // The objects one config delete removes, planned together.
  struct Removal {
    std::set<std::string> clusters, services, policies;
  };
  StatusOr<std::vector<std::string>> DeleteConfig(const Removal& want,
                                                  const std::vector<std::string>& absent,
                                                  const DeleteOptions& options,
                                                  const std::string& actor);
  // Apply's rules for a service's roles (see ApplyConfig); `old` is the stored service.
  StatusOr<AppliedRoles> CheckRoles(const YamlDocument& doc, const v1::Service& next,
                                    const v1::Service* old, const std::vector<v1::Job>& jobs);
  // Each data set's component on both clusters, and its selector on the active side.
  Status CheckDataSets(const v1::Service& svc, const YamlDocument* doc,
                       const std::map<std::string, v1::Cluster>& clusters, ApplyReport& report);
  // The committed points of policy.service() that `policy`'s retention lets go now: never
  // the always-kept ones, never one an unfinished job (other than `running_job`) builds on
  // or restores from.
  StatusOr<std::vector<v1::RestorePoint>> RetentionVictims(const v1::Policy& policy,
                                                           const std::string& running_job);
  // Removes every member of `point` from the cluster that holds it through the plugins'
  // expire op (op ids "expire-<point>-<member>": retention and a delete of one point repeat
  // each other harmlessly). `call` makes each call (a job's retrying Call, or a plain one).
  // `*removed` counts the members removed before a failure.
  using ExpireCall = std::function<StatusOr<::lifeboat::v1::ExpireResponse>(
      Agent*, const std::string& component, const ::lifeboat::v1::ExpireRequest&)>;
  Status ExpireMembers(const v1::RestorePoint& point, const ExpireCall& call, int* removed);
  // The failback's "check" step (switch_checks.cc): OK when `to`'s data sets of `svc` equal
  // the last point both clusters share, or the newest committed on `to` since; else
  // FAILED_PRECONDITION naming the differences (writes `to` took that the failback would
  // replace), unless `discard`. `outcome` says what was found; `discarded` (may be null) is
  // set when there were writes and `discard` let them go.
  Status CheckNoWritesSince(const v1::Job& job, const v1::Service& svc,
                            const v1::ServiceRoles& roles, const std::string& to, bool discard,
                            const CallOptions& opts, std::string* outcome,
                            bool* discarded = nullptr);
  // What a dry run of a switch checks for `step` (switch_checks.cc): what the real run would
  // refuse, refused the same way; `found` says what was seen.
  Status DryRunStep(const v1::Job& job, const v1::SwitchStep& step, const CallOptions& opts,
                    std::string* found);
  int64_t Now() const { return options_.now(); }
  Status Audit(StateStore::Batch& batch, const std::string& actor, const std::string& action,
               const std::string& subject, const std::string& detail);
  // Records an event (Event.severity and .kind are the enums' short names) and tells the
  // webhooks of a warning or a critical one. `job_id`: the job it is about, if any.
  Status RecordEvent(v1::EventSeverity severity, v1::EventKind kind, const std::string& service,
                     const std::string& message, const std::string& job_id = "");

  EngineOptions options_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<PluginHost> host_;
  mutable std::mutex mu_;  // guards agents_ and job starts
  std::map<std::string, std::unique_ptr<Agent>> agents_;
  std::unique_ptr<Scheduler> scheduler_;                // built by the first TickOnce
  std::map<std::string, uint64_t> scheduled_revision_;  // policy -> revision in scheduler_
  std::mutex roles_mu_;  // makes each read-check-write of a roles record atomic
  mutable std::mutex health_mu_;
  std::map<std::string, v1::ClusterHealth> health_;  // cluster -> last check
  std::unique_ptr<Executor> executor_;               // last: stopped first
};

// "rp-20261125T094500Z-000042": sortable by time, unique by sequence.
std::string MakeRestorePointId(int64_t now_unix_nanos, uint64_t sequence);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_H_
