// The engine's executor: a small pool of threads that run recorded jobs in the background.
// Jobs of different services run at once; jobs of one service run one after another, in
// the order submitted (two jobs of one service would race for its snapshots and points).
//
// Thread-safety: every method may be called from any thread.
#ifndef LIFEBOAT_CORE_ENGINE_EXECUTOR_H_
#define LIFEBOAT_CORE_ENGINE_EXECUTOR_H_

#include <lifeboat/core/engine.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace lifeboat::core {

class Engine::Executor {
 public:
  Executor(Engine& engine, int workers) : e_(engine) {
    for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { Work(); });
  }

  // Cancels what runs, drops what waits (it stays recorded and resumes on the next start).
  ~Executor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (auto& [id, entry] : entries_) entry->cancel = true;
      for (const auto& entry : queue_) entries_.erase(entry->id);
      queue_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // ALREADY_EXISTS when queued or running.
  Status Submit(const std::string& job_id, const std::string& service, bool cancel_first) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return UnavailableError("the engine is stopping; job " + job_id + " waits");
      if (entries_.count(job_id)) {
        return AlreadyExistsError("job " + job_id + " is already queued or running");
      }
      auto entry = std::make_shared<Entry>();
      entry->id = job_id;
      entry->service = service;
      entry->cancel = cancel_first;
      entry->progress.job_id = job_id;
      entries_.emplace(job_id, entry);
      queue_.push_back(entry);
    }
    cv_.notify_all();
    return OkStatus();
  }

  std::optional<JobProgress> Progress(const std::string& job_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(job_id);
    if (it == entries_.end()) return std::nullopt;
    return it->second->progress;
  }

  // True when the job was queued or running here (it is now asked to stop).
  bool Cancel(const std::string& job_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(job_id);
    if (it == entries_.end()) return false;
    it->second->cancel = true;
    return true;
  }

  void Wait(const std::string& job_id) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entries_.count(job_id) == 0; });
  }

  // Waits up to `timeout` for the job to leave; true when it has.
  bool WaitFor(const std::string& job_id, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entries_.count(job_id) == 0; });
  }

  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entries_.empty(); });
  }

 private:
  struct Entry {
    std::string id;
    std::string service;
    std::atomic<bool> cancel{false};
    JobProgress progress;
  };

  void Work() {
    for (;;) {
      std::shared_ptr<Entry> entry;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || Runnable() != queue_.end(); });
        if (stopping_) return;
        auto it = Runnable();
        entry = *it;
        queue_.erase(it);
        busy_services_.insert(entry->service);
      }
      Status s = e_.RunJob(entry->id, &entry->cancel, [this, &entry](const JobProgress& p) {
        std::lock_guard<std::mutex> lock(mu_);
        entry->progress = p;
      });
      // The job's record, its event and the CLI that follows it say this already; a log line
      // at warning would print the same error twice on a terminal (info reaches the daemon's).
      if (!s.ok()) spdlog::info("job {} ended: {}", entry->id, s.ToString());
      {
        std::lock_guard<std::mutex> lock(mu_);
        busy_services_.erase(entry->service);
        entries_.erase(entry->id);
      }
      cv_.notify_all();
    }
  }

  // The first queued job whose service has no job running. Requires mu_.
  std::list<std::shared_ptr<Entry>>::iterator Runnable() {
    return std::find_if(queue_.begin(), queue_.end(),
                        [&](const auto& e) { return busy_services_.count(e->service) == 0; });
  }

  Engine& e_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // queue changed, or a job left
  std::list<std::shared_ptr<Entry>> queue_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // queued or running
  std::set<std::string> busy_services_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_EXECUTOR_H_
