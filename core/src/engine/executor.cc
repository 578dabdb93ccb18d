// The engine's executor methods (the pool itself is in executor.h).
#include "executor.h"

#include "engine_util.h"

namespace lifeboat::core {
namespace {

// Jobs of one queue run one after another. A service's backups and restores share its
// queue; switches (failover, failback) have one of their own, so that a failover never
// waits behind a backup stuck on a lost primary — it cancels that backup instead.
std::string QueueOf(const v1::Job& job) {
  if (job.kind() == v1::JOB_FAILOVER || job.kind() == v1::JOB_FAILBACK) return "(switch)";
  return job.service();
}

}  // namespace

void Engine::StartExecutor() {
  executor_ = std::make_unique<Executor>(*this, options_.max_concurrent_jobs);
}

Status Engine::Submit(const std::string& job_id) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Job job, GetJob(job_id));
  if (!Unfinished(job)) return OkStatus();
  return executor_->Submit(job_id, QueueOf(job), /*cancel_first=*/false);
}

std::optional<JobProgress> Engine::LiveProgress(const std::string& job_id) const {
  return executor_->Progress(job_id);
}

Status Engine::CancelJob(const std::string& job_id) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Job job, GetJob(job_id));
  if (executor_->Cancel(job_id)) return OkStatus();
  if (!Unfinished(job)) {
    return FailedPreconditionError("job " + job_id + " has ended (" +
                                   v1::JobState_Name(job.state()) + "); nothing to cancel");
  }
  // Recorded but not running here: run it just to clean up, with the cancel flag set.
  Status s = executor_->Submit(job_id, QueueOf(job), /*cancel_first=*/true);
  if (s.code() == Code::kAlreadyExists) {
    executor_->Cancel(job_id);  // it was submitted in between
    return OkStatus();
  }
  return s;
}

void Engine::Wait(const std::string& job_id) { executor_->Wait(job_id); }
void Engine::WaitIdle() { executor_->WaitIdle(); }

void Engine::WaitAll(const std::vector<std::string>& ids, const std::atomic<bool>* cancel) {
  bool cancelled = false;
  for (const auto& id : ids) {
    while (!executor_->WaitFor(id, std::chrono::milliseconds(50))) {
      if (!cancelled && cancel != nullptr && cancel->load()) {
        cancelled = true;
        for (const auto& other : ids) executor_->Cancel(other);
      }
    }
  }
}

}  // namespace lifeboat::core
