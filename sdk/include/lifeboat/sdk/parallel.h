// A bounded parallel-for inside one plugin call.
//
// Thread-safety: ParallelFor may be called from any thread; `fn` runs on up to `threads`
// threads at once and must guard what it shares.
#ifndef LIFEBOAT_SDK_PARALLEL_H_
#define LIFEBOAT_SDK_PARALLEL_H_

#include <lifeboat/status.h>

#include <atomic>
#include <cstddef>
#include <functional>

namespace lifeboat::sdk {

// Runs fn(i) for every i in [0, n) on up to `threads` threads (the calling one included;
// threads < 1 counts as 1). After the first failure no new index starts and `*stop` (when
// given) turns true, so that running items can give up early. Returns the first failure,
// preferring one that is not CANCELLED (a real error says more than the cancellations it
// caused), or OK when every fn(i) returned OK. An exception thrown by fn counts as an
// INTERNAL failure of its index (it never escapes a worker thread).
Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn,
                   std::atomic<bool>* stop = nullptr);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_PARALLEL_H_
