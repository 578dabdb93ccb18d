#include "bandwidth.h"

#include <algorithm>

namespace lifeboat::core {

JobBandwidth::Clock::time_point JobBandwidth::Reserve(uint64_t bytes, Clock::time_point now) {
  if (rate_ == 0 || bytes == 0) return now;
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::time_point start = std::max(now, paid_until_);
  const auto cost = std::chrono::nanoseconds(static_cast<int64_t>(
      static_cast<long double>(bytes) * 1e9L / static_cast<long double>(rate_)));
  paid_until_ = start + std::chrono::duration_cast<Clock::duration>(cost);
  return start;
}

}  // namespace lifeboat::core
