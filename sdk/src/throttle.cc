#include <lifeboat/sdk/throttle.h>

#include <algorithm>
#include <thread>

namespace lifeboat::sdk {
namespace {
using Clock = std::chrono::steady_clock;
// Waits are sliced so that a cancel is seen within this long.
constexpr std::chrono::milliseconds kWaitSlice{50};
}  // namespace

Throttle::Throttle(uint64_t bytes_per_second, double burst_seconds)
    : rate_(bytes_per_second), burst_seconds_(burst_seconds), last_(Clock::now()) {}

uint64_t Throttle::rate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_;
}

void Throttle::SetRate(uint64_t bytes_per_second) {
  std::lock_guard<std::mutex> lock(mu_);
  rate_ = bytes_per_second;
  credit_ = std::min(credit_, static_cast<double>(rate_) * burst_seconds_);
}

Status Throttle::Acquire(uint64_t bytes, const Call* call) {
  uint64_t left = bytes;
  while (left > 0) {
    std::chrono::duration<double> wait{0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (rate_ == 0) return OkStatus();
      const double capacity = std::max(1.0, static_cast<double>(rate_) * burst_seconds_);
      const Clock::time_point now = Clock::now();
      credit_ = std::min(capacity, credit_ + std::chrono::duration<double>(now - last_).count() *
                                                 static_cast<double>(rate_));
      last_ = now;
      // Bytes beyond one bucket are taken a bucket at a time: the bucket never goes so far
      // into debt that a later, smaller caller waits for somebody else's giant chunk.
      const double step = std::min(static_cast<double>(left), capacity);
      if (credit_ >= step) {
        credit_ -= step;
        left -= static_cast<uint64_t>(step);
        continue;
      }
      wait = std::chrono::duration<double>((step - credit_) / static_cast<double>(rate_));
    }
    if (call != nullptr && call->Cancelled()) return CancelledError("cancelled while throttled");
    std::this_thread::sleep_for(
        std::min<std::chrono::duration<double>>(wait, std::chrono::duration<double>(kWaitSlice)));
  }
  return OkStatus();
}

std::shared_ptr<Throttle> JobThrottle::For(const std::string& job_key, uint64_t bytes_per_second) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = it->second.expired() ? buckets_.erase(it) : std::next(it);
  }
  std::shared_ptr<Throttle> bucket = buckets_[job_key].lock();
  if (bucket) {
    if (bucket->rate() != bytes_per_second) bucket->SetRate(bytes_per_second);
    return bucket;
  }
  bucket = std::make_shared<Throttle>(bytes_per_second);
  buckets_[job_key] = bucket;
  return bucket;
}

}  // namespace lifeboat::sdk
