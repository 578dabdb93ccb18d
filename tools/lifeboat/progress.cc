#include "progress.h"

#include <algorithm>
#include <cmath>

namespace lifeboat::cli {
namespace {

constexpr auto kWindow = std::chrono::seconds(5);   // the rate's moving window
constexpr auto kMinSpan = std::chrono::seconds(1);  // no rate before it spans this

double Seconds(ProgressBar::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

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
                         uint64_t items_total, std::function<Clock::time_point()> now)
    : out_(out),
      interactive_(interactive),
      label_(std::move(label)),
      now_(std::move(now)),
      bytes_total_(bytes_total),
      items_total_(items_total),
      start_(now_()),
      last_draw_(start_) {}

std::optional<double> ProgressBar::RateLocked() const {
  if (samples_.size() < 2) return std::nullopt;
  const auto span = samples_.back().first - samples_.front().first;
  if (span < kMinSpan) return std::nullopt;
  const uint64_t from = samples_.front().second, to = samples_.back().second;
  return to > from ? static_cast<double>(to - from) / Seconds(span) : 0.0;
}

std::optional<double> ProgressBar::Rate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return RateLocked();
}

std::string ProgressBar::Render(bool final, bool completed) const {
  double fraction = bytes_total_ > 0   ? static_cast<double>(bytes_done_) / bytes_total_
                    : items_total_ > 0 ? static_cast<double>(items_done_) / items_total_
                                       : (final && completed ? 1.0 : 0.0);
  fraction = std::clamp(fraction, 0.0, 1.0);
  // Rounded down, and below 100 until the work is whole: "100%" means done.
  int percent = static_cast<int>(std::floor(fraction * 100));
  if (percent >= 100 && !(final && completed)) percent = 99;
  std::string line = label_ + (final && !completed ? " stopped" : "") + " ";
  if (interactive_) {
    constexpr int kWidth = 28;
    int filled = percent * kWidth / 100;
    line += "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
            std::string(std::max(0, kWidth - filled - 1), ' ') + "] ";
  }
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3d%%", percent);
  line += pct;
  line += "  " + HumanBytes(bytes_done_) + "/" + HumanBytes(bytes_total_);
  line += "  " + std::to_string(items_done_) + "/" + std::to_string(items_total_) + " items";
  if (!final) {
    const std::optional<double> rate = RateLocked();
    if (!rate) {
      line += "  -- B/s";
    } else {
      line += "  " + HumanBytes(*rate) + "/s";
      if (*rate > 0 && bytes_total_ > bytes_done_) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "  ETA %.0fs", (bytes_total_ - bytes_done_) / *rate);
        line += buf;
      }
    }
    return line;
  }
  const double elapsed = Seconds(now_() - start_);
  char buf[64];
  std::snprintf(buf, sizeof buf, "  in %.1fs", elapsed);
  line += buf;
  // The average over what this bar saw move, when it saw long enough to say.
  if (first_) {
    const double span = Seconds(now_() - first_->first);
    if (span >= Seconds(kMinSpan) && bytes_done_ > first_->second) {
      line += ", " + HumanBytes((bytes_done_ - first_->second) / span) + "/s";
    }
  }
  return line;
}

std::string ProgressBar::Line(bool final, bool completed) const {
  std::lock_guard<std::mutex> lock(mu_);
  return Render(final, completed);
}

void ProgressBar::Update(uint64_t bytes_done, uint64_t items_done) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_done_ = bytes_done;
  items_done_ = items_done;
  const auto now = now_();
  if (!first_) first_ = std::make_pair(now, bytes_done);
  // Bytes done never go back; a lower figure (a task retried) starts the window afresh.
  if (!samples_.empty() && bytes_done < samples_.back().second) samples_.clear();
  samples_.emplace_back(now, bytes_done);
  while (samples_.size() > 2 && now - samples_[1].first >= kWindow) samples_.pop_front();
  if (interactive_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r%s\033[K", Render(false, true).c_str());
    std::fflush(out_);
    return;
  }
  double fraction = bytes_total_ > 0 ? static_cast<double>(bytes_done_) / bytes_total_ : 0;
  int decile = static_cast<int>(fraction * 10);
  if (decile >= 10) return;  // Finish() prints the last line
  if (decile > last_decile_ || now - last_draw_ > std::chrono::seconds(5)) {
    last_decile_ = decile;
    last_draw_ = now;
    std::fprintf(out_, "%s\n", Render(false, true).c_str());
    std::fflush(out_);
  }
}

void ProgressBar::SetTotals(uint64_t bytes_total, uint64_t items_total) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_total_ = bytes_total;
  items_total_ = items_total;
}

void ProgressBar::Finish(bool completed) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string line = Render(true, completed);
  if (interactive_) {
    std::fprintf(out_, "\r%s\033[K\n", line.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace lifeboat::cli
