// A progress display for long work: a redrawn bar on a terminal, plain lines otherwise.
//
// The rate is measured over a moving window of the last few seconds of updates, and shown
// only once that window spans a second: a job that resumes with most of its bytes done, or
// whose first report comes after a burst, never shows a made-up "37.8 TiB/s".
//
// Thread-safety: Update() may be called from any thread; output is serialized.
#ifndef LIFEBOAT_TOOLS_PROGRESS_H_
#define LIFEBOAT_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace lifeboat::cli {

// "1.5 GiB" style sizes.
std::string HumanBytes(double bytes);

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  // `out` is usually stderr; `interactive` says whether it is a terminal. `now` is the clock
  // (tests pass their own).
  ProgressBar(std::FILE* out, bool interactive, std::string label, uint64_t bytes_total,
              uint64_t items_total, std::function<Clock::time_point()> now = Clock::now);

  // Sets the absolute amounts done so far and redraws (at most ~10 times a second on a
  // terminal; every 10% or 5 seconds as plain lines).
  void Update(uint64_t bytes_done, uint64_t items_done);
  // Changes the totals (they may grow while work is being planned).
  void SetTotals(uint64_t bytes_total, uint64_t items_total);
  // Draws the final state and ends the line. `completed` false (cancelled, failed): the line
  // says where the work stopped, and never 100%.
  void Finish(bool completed = true);

  // Bytes per second over the window; nullopt until the window spans a second.
  std::optional<double> Rate() const;
  // The line as it would be drawn now (final: as Finish draws it).
  std::string Line(bool final, bool completed = true) const;

 private:
  std::string Render(bool final, bool completed) const;  // requires mu_
  std::optional<double> RateLocked() const;

  std::FILE* out_;
  bool interactive_;
  std::string label_;
  std::function<Clock::time_point()> now_;
  uint64_t bytes_total_;
  uint64_t items_total_;
  uint64_t bytes_done_ = 0;
  uint64_t items_done_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  int last_decile_ = -1;
  // (time, bytes done) of recent updates, oldest first, spanning at most kWindow.
  std::deque<std::pair<Clock::time_point, uint64_t>> samples_;
  // The first update: the bytes moved while this bar watched are counted from it.
  std::optional<std::pair<Clock::time_point, uint64_t>> first_;
  mutable std::mutex mu_;
};

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_PROGRESS_H_
