#include "parallel.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace lifeboat::localfs {

Status ParallelFor(size_t n, int threads, std::atomic<bool>& stop,
                   const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    while (!stop.load()) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s;
      // An exception must not leave a worker thread (std::terminate would end the host).
      try {
        s = fn(i);
      } catch (const std::exception& e) {
        s = InternalError(std::string("unexpected exception in a worker: ") + e.what());
      } catch (...) {
        s = InternalError("unexpected exception in a worker");
      }
      if (s.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      if (first.ok() || (first.code() == Code::kCancelled && s.code() != Code::kCancelled)) {
        first = s;
      }
      stop = true;
    }
  };
  size_t extra = std::min<size_t>(n, static_cast<size_t>(std::max(threads, 1))) - (n > 0 ? 1 : 0);
  std::vector<std::thread> pool;
  pool.reserve(extra);
  for (size_t t = 0; t < extra; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return first;
}

ProgressReporter::ProgressReporter(const sdk::Call& call, std::string phase, uint64_t bytes_total,
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
  auto now = std::chrono::steady_clock::now();
  if (force || progress_.bytes_done() - bytes_at_last_ >= every_bytes_ ||
      now - last_ >= std::chrono::milliseconds(250)) {
    ReportLocked();
  }
}

void ProgressReporter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  ReportLocked();
}

void ProgressReporter::ReportLocked() {
  bytes_at_last_ = progress_.bytes_done();
  last_ = std::chrono::steady_clock::now();
  call_.ReportProgress(progress_);
}

bool Throttle::Pace(uint64_t bytes, const sdk::Call& call) {
  if (bytes_per_second_ == 0) return true;
  uint64_t moved = moved_.fetch_add(bytes) + bytes;
  auto due = start_ + std::chrono::nanoseconds(static_cast<int64_t>(
                          static_cast<long double>(moved) * 1e9L / bytes_per_second_));
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= due) return true;
    if (call.Cancelled()) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::nanoseconds>(due - now, std::chrono::milliseconds(50)));
  }
}

}  // namespace lifeboat::localfs
