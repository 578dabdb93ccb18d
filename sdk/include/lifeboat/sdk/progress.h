// Progress reports of one long call, coalesced: the host hears often enough for a live
// progress bar and a moving rate, never once per byte.
//
// Thread-safety: a ProgressReporter may be fed from the workers of one call at once.
#ifndef LIFEBOAT_SDK_PROGRESS_H_
#define LIFEBOAT_SDK_PROGRESS_H_

#include <lifeboat/sdk/plugin.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace lifeboat::sdk {

class ProgressReporter {
 public:
  // Totals are fixed up front (0 = unknown); done counts grow with Add().
  ProgressReporter(const Call& call, std::string phase, uint64_t bytes_total, uint64_t items_total);

  // Adds to the done counts. Reports when `force` is set, or when `interval` passed or
  // `every_bytes` bytes were added since the last report.
  void Add(uint64_t bytes, uint64_t items, std::string_view current_item = {}, bool force = false);
  // Reports the current state now.
  void Flush();

  void set_every_bytes(uint64_t every_bytes) { every_bytes_ = every_bytes; }
  void set_interval(std::chrono::milliseconds interval) { interval_ = interval; }

 private:
  void ReportLocked();

  const Call& call_;
  std::mutex mu_;
  v1::Progress progress_;
  // A quarter second or 1 MiB, whichever comes first: a 40 MB/s transfer reports ~40 times a
  // second at most, a slow one still every quarter second.
  uint64_t every_bytes_ = 1 << 20;
  std::chrono::milliseconds interval_{250};
  uint64_t bytes_at_last_ = 0;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_PROGRESS_H_
