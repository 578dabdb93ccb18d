// Bandwidth: a token bucket shared by every transfer call of one job.
//
// The engine hands each transfer the policy's whole bandwidth
// (TransferRequest.bandwidth_bytes_per_second), not a share of it, and runs several
// transfers of a job at once: they must share one bucket, or N parallel tasks would move N
// times the rate. JobThrottle::For() finds that bucket by the job's restore point, so one big
// file alone gets the whole rate and many small ones split it.
//
// Thread-safety: Throttle and JobThrottle are safe from any thread.
#ifndef LIFEBOAT_SDK_THROTTLE_H_
#define LIFEBOAT_SDK_THROTTLE_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace lifeboat::sdk {

class Throttle {
 public:
  // `bytes_per_second` 0 = unlimited. The bucket holds at most `burst_seconds` of credit, so
  // a pause never turns into a burst above the rate for longer than that.
  explicit Throttle(uint64_t bytes_per_second, double burst_seconds = 0.25);

  // Takes `bytes` from the bucket, sleeping until the rate allows them; bytes larger than the
  // bucket are taken in bucket-sized steps. CANCELLED (nothing more taken) when `call` is
  // cancelled while waiting; OK otherwise. `call` may be null (no cancellation).
  Status Acquire(uint64_t bytes, const Call* call);

  uint64_t rate() const;
  // Changes the rate (a later transfer of the job may carry another bandwidth).
  void SetRate(uint64_t bytes_per_second);

 private:
  mutable std::mutex mu_;
  uint64_t rate_;
  double burst_seconds_;
  double credit_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// The buckets of the jobs a plugin instance is serving now.
class JobThrottle {
 public:
  // The bucket of job `job_key` (e.g. the snapshot's restore point id), made at
  // `bytes_per_second` or set to it. Kept while any caller holds it; a later call for the
  // same key after every holder let go starts a fresh bucket.
  std::shared_ptr<Throttle> For(const std::string& job_key, uint64_t bytes_per_second);

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<Throttle>> buckets_;
};

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_THROTTLE_H_
