// Work spread over threads inside one call, progress reports and bandwidth pacing.
//
// Thread-safety: ProgressReporter and Throttle are safe from the workers of one call.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_PARALLEL_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_PARALLEL_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace lifeboat::localfs {

// Runs fn(i) for every i in [0, n) on up to `threads` threads (the calling one included).
// After the first failure no new index is started; `stop` is set so that running items can
// give up early. Returns the first failure, preferring one that is not CANCELLED (a real
// error says more than the cancellations it caused), or OK.
Status ParallelFor(size_t n, int threads, std::atomic<bool>& stop,
                   const std::function<Status(size_t)>& fn);

// Reports v1::Progress of one call: totals fixed up front, done counts cumulative.
class ProgressReporter {
 public:
  ProgressReporter(const sdk::Call& call, std::string phase, uint64_t bytes_total,
                   uint64_t items_total);

  // Adds to the done counts and reports when `force` is set, or when a quarter second or
  // `every_bytes` bytes passed since the last report.
  void Add(uint64_t bytes, uint64_t items, std::string_view current_item, bool force);
  // Reports the current state.
  void Flush();

  void set_every_bytes(uint64_t every_bytes) { every_bytes_ = every_bytes; }

 private:
  void ReportLocked();

  const sdk::Call& call_;
  std::mutex mu_;
  v1::Progress progress_;
  uint64_t every_bytes_ = 1 << 20;
  uint64_t bytes_at_last_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// Paces the bytes moved by one call to `bytes_per_second` (0 = unlimited), across threads.
class Throttle {
 public:
  explicit Throttle(uint64_t bytes_per_second)
      : bytes_per_second_(bytes_per_second), start_(std::chrono::steady_clock::now()) {}

  // Accounts `bytes` just moved and sleeps until the rate allows more. Returns false when
  // the call was cancelled while waiting.
  bool Pace(uint64_t bytes, const sdk::Call& call);

 private:
  uint64_t bytes_per_second_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> moved_{0};
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_PARALLEL_H_
