#include "progress.h"

#include <algorithm>

namespace lifeboat::cli {

std::string HumanBytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

ProgressBar::ProgressBar(std::FILE* out, bool interactive, std::string label, uint64_t bytes_total,
                         uint64_t items_total)
    : out_(out),
      interactive_(interactive),
      label_(std::move(label)),
      bytes_total_(bytes_total),
      items_total_(items_total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string ProgressBar::Render(bool final) const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double fraction = bytes_total_ > 0   ? static_cast<double>(bytes_done_) / bytes_total_
                    : items_total_ > 0 ? static_cast<double>(items_done_) / items_total_
                                       : (final ? 1.0 : 0.0);
  fraction = std::clamp(fraction, 0.0, 1.0);
  double rate = elapsed > 0 ? bytes_done_ / elapsed : 0;
  std::string line = label_ + " ";
  if (interactive_) {
    constexpr int kWidth = 28;
    int filled = static_cast<int>(fraction * kWidth);
    line += "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
            std::string(std::max(0, kWidth - filled - 1), ' ') + "] ";
  }
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3.0f%%", fraction * 100);
  line += pct;
  line += "  " + HumanBytes(bytes_done_) + "/" + HumanBytes(bytes_total_);
  line += "  " + std::to_string(items_done_) + "/" + std::to_string(items_total_) + " items";
  line += "  " + HumanBytes(rate) + "/s";
  if (!final && rate > 0 && bytes_total_ > bytes_done_) {
    double eta = (bytes_total_ - bytes_done_) / rate;
    char buf[32];
    std::snprintf(buf, sizeof buf, "  ETA %.0fs", eta);
    line += buf;
  } else if (final) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "  in %.1fs", elapsed);
    line += buf;
  }
  return line;
}

void ProgressBar::Update(uint64_t bytes_done, uint64_t items_done) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_done_ = bytes_done;
  items_done_ = items_done;
  auto now = std::chrono::steady_clock::now();
  if (interactive_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r%s\033[K", Render(false).c_str());
    std::fflush(out_);
    return;
  }
  double fraction = bytes_total_ > 0 ? static_cast<double>(bytes_done_) / bytes_total_ : 0;
  int decile = static_cast<int>(fraction * 10);
  if (decile >= 10) return;  // Finish() prints the last line
  if (decile > last_decile_ || now - last_draw_ > std::chrono::seconds(5)) {
    last_decile_ = decile;
    last_draw_ = now;
    std::fprintf(out_, "%s\n", Render(false).c_str());
    std::fflush(out_);
  }
}

void ProgressBar::SetTotals(uint64_t bytes_total, uint64_t items_total) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_total_ = bytes_total;
  items_total_ = items_total;
}

void ProgressBar::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (interactive_) {
    std::fprintf(out_, "\r%s\033[K\n", Render(true).c_str());
  } else {
    std::fprintf(out_, "%s\n", Render(true).c_str());
  }
  std::fflush(out_);
}

}  // namespace lifeboat::cli
