// A progress display for long work: a redrawn bar on a terminal, plain lines otherwise.
//
// Thread-safety: Update() may be called from any thread; output is serialized.
#ifndef LIFEBOAT_TOOLS_PROGRESS_H_
#define LIFEBOAT_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace lifeboat::cli {

// "1.5 GiB" style sizes.
std::string HumanBytes(double bytes);

class ProgressBar {
 public:
  // `out` is usually stderr; `interactive` says whether it is a terminal.
  ProgressBar(std::FILE* out, bool interactive, std::string label, uint64_t bytes_total,
              uint64_t items_total);

  // Sets the absolute amounts done so far and redraws (at most ~10 times a second on a
  // terminal; every 10% or 5 seconds as plain lines).
  void Update(uint64_t bytes_done, uint64_t items_done);
  // Changes the totals (they may grow while work is being planned).
  void SetTotals(uint64_t bytes_total, uint64_t items_total);
  // Draws the final state and ends the line.
  void Finish();

 private:
  std::string Render(bool final) const;

  std::FILE* out_;
  bool interactive_;
  std::string label_;
  uint64_t bytes_total_;
  uint64_t items_total_;
  uint64_t bytes_done_ = 0;
  uint64_t items_done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int last_decile_ = -1;
  std::mutex mu_;
};

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_PROGRESS_H_
