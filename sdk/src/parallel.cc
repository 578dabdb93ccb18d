#include <lifeboat/sdk/parallel.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lifeboat::sdk {

Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn,
                   std::atomic<bool>* stop) {
  std::atomic<bool> own_stop{false};
  std::atomic<bool>& halt = stop != nullptr ? *stop : own_stop;
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    for (;;) {
      if (halt.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s;
      // An exception must not leave a worker thread: std::terminate would end the host.
      try {
        s = fn(i);
      } catch (const std::exception& e) {
        s = InternalError(std::string("unexpected exception in a worker: ") + e.what());
      } catch (...) {
        s = InternalError("unexpected exception in a worker");
      }
      if (s.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      // A real error says more than the cancellations it caused in other workers.
      if (first.ok() || (first.code() == Code::kCancelled && s.code() != Code::kCancelled)) {
        first = s;
      }
      halt = true;
      return;
    }
  };
  const size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(threads, 1)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return first;
}

}  // namespace lifeboat::sdk
