#include <lifeboat/sdk/progress.h>

namespace lifeboat::sdk {

ProgressReporter::ProgressReporter(const Call& call, std::string phase, uint64_t bytes_total,
                                   uint64_t items_total)
    : call_(call), last_(std::chrono::steady_clock::now()) {
  progress_.set_phase(std::move(phase));
  progress_.set_bytes_total(bytes_total);
  progress_.set_items_total(items_total);
}

void ProgressReporter::Add(uint64_t bytes, uint64_t items, std::string_view current_item,
                           bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_.set_bytes_done(progress_.bytes_done() + bytes);
  progress_.set_items_done(progress_.items_done() + items);
  if (!current_item.empty()) progress_.set_current_item(std::string(current_item));
  const auto now = std::chrono::steady_clock::now();
  if (force || now - last_ >= interval_ ||
      progress_.bytes_done() - bytes_at_last_ >= every_bytes_) {
    ReportLocked();
  }
}

void ProgressReporter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  ReportLocked();
}

void ProgressReporter::ReportLocked() {
  call_.ReportProgress(progress_);
  bytes_at_last_ = progress_.bytes_done();
  last_ = std::chrono::steady_clock::now();
}

}  // namespace lifeboat::sdk
