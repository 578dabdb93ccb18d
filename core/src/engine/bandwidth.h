// A job's bandwidth, shared by its transfer workers: the policy's `bandwidth` is the job's,
// not each worker's.
//
// Each transfer call draws the bytes it will move from one token bucket before it starts,
// and is handed the whole rate (its plugin paces the call within it), so that one big file
// can use all of the bandwidth while calls that would together go faster wait their turn.
// The bucket keeps no credit (no burst): over any stretch of time the calls started move at
// most rate × time, plus the call that is running. Calls that move no bytes (directories,
// links) do not wait.
//
// Thread-safety: Reserve may be called from several threads.
#ifndef LIFEBOAT_CORE_ENGINE_BANDWIDTH_H_
#define LIFEBOAT_CORE_ENGINE_BANDWIDTH_H_

#include <chrono>
#include <cstdint>
#include <mutex>

namespace lifeboat::core {

class JobBandwidth {
 public:
  using Clock = std::chrono::steady_clock;

  // `bytes_per_second` 0: unlimited (Reserve never waits).
  explicit JobBandwidth(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // The rate each transfer call is handed (the job's whole rate; 0 = unlimited).
  uint64_t per_call() const { return rate_; }

  // Draws `bytes` at `now`; returns when the call may start: `now` when the bytes drawn
  // before are paid for by then, else the moment they are.
  Clock::time_point Reserve(uint64_t bytes, Clock::time_point now);

 private:
  const uint64_t rate_;
  std::mutex mu_;
  // When the bytes drawn so far are paid for at `rate_`; never before the first draw.
  Clock::time_point paid_until_{};
};

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_BANDWIDTH_H_
