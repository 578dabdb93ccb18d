// The file copy of the hdfs plugin's data path: one file streamed from one cluster (or
// snapshot) to another over WebHDFS, the DataNode of the source handing its bytes to the
// DataNode of the target without the whole file ever being in memory (a bounded pipe
// between the read and the write, one thread each), a SHA-256 computed on the way,
// throttled, resumable, and with the file's metadata kept (permission, owner, group,
// ACL, extended attributes except user.lifeboat.*, replication, block size, times).
//
// State kept on the target file (when CopyOptions::record_state), so that a repeated or
// resumed copy knows what is there without any memory of its own:
//   user.lifeboat.copy    "<identity> partial" after a copy cut short (cancelled), or
//                         "<identity> done" once data and metadata are in place
//   user.lifeboat.sha256  the hex SHA-256 of the bytes read from the source
//   user.lifeboat.partial "<length>:<mtime>" of the target file when a copy stopped partial
//                         (so that a write after it, by anyone else, shows)
// where identity names the source version (snapshot, length, mtime). A copy whose target
// says "done" for the same identity moves nothing; one that says "partial" resumes by
// APPEND from the target's length, once the SHA-256 of that prefix is found equal on both
// sides (otherwise it starts over); "data" only needs its metadata. "partial" and "data"
// marks of another point (one that never committed) count as well when they name the same
// source version (length and mtime): the prefix check vouches for the bytes.
//
// Thread-safety: CopyFile may run on several threads at once (each with its own file);
// RateLimiter is thread-safe.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_COPY_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_COPY_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "webhdfs.h"

struct evp_md_ctx_st;

namespace lifeboat::hdfs {

inline constexpr char kCopyAttr[] = "user.lifeboat.copy";
inline constexpr char kDigestAttr[] = "user.lifeboat.sha256";
inline constexpr char kPartialAttr[] = "user.lifeboat.partial";
// Extended attributes under this prefix are Lifeboat's own state: never copied.
inline constexpr char kStateAttrPrefix[] = "user.lifeboat.";

// Streaming SHA-256 (OpenSSL EVP). One per thread.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // Lower-case hex of everything fed so far; "" when OpenSSL failed.
  std::string FinishHex();

 private:
  evp_md_ctx_st* ctx_;
  bool failed_ = false;
};

// A byte-rate cap shared by the callers of Acquire (0 = no cap): a token bucket holding at
// most one second of credit.
class RateLimiter {
 public:
  explicit RateLimiter(uint64_t bytes_per_second) : rate_(bytes_per_second) {}
  // Blocks until `bytes` may pass.
  void Acquire(uint64_t bytes);

 private:
  const uint64_t rate_;
  std::mutex mu_;
  double credit_ = 0;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// A copy mark (user.lifeboat.copy) taken apart: "<snapshot>:<length>:<mtime> <state>".
struct CopyMark {
  std::string snapshot;
  uint64_t length = 0;
  int64_t mtime = 0;
  std::string state;  // "partial", "data", "done"
};
std::optional<CopyMark> ParseCopyMark(const std::string& mark);

// FileStatus to and from the compact JSON the plans carry.
nlohmann::json StatusToJson(const FileStatus& st);
FileStatus StatusFromJson(const nlohmann::json& j);

struct CopyOptions {
  // Identity of the source version (see above); used only when record_state.
  std::string identity;
  bool record_state = true;
  bool preserve_block_size = true;
  int32_t replication = 0;             // 0 = the source's, -1 = the target's default, else this
  std::vector<RateLimiter*> limiters;  // every cap the bytes pass through
  // The target data set is fenced (security.h): the copy is written without write bits,
  // the source's permission recorded as the fence's original.
  bool fenced = false;
  // Called with the bytes sent so far by this copy (from the calling thread).
  std::function<void(uint64_t bytes_sent)> on_progress;
};

struct CopyResult {
  uint64_t bytes_copied = 0;   // sent by this call
  uint64_t bytes_skipped = 0;  // found in place already (done, or the resumed prefix)
  std::string sha256_hex;      // of the whole source file ("" when skipped as done)
};

// Copies file `src_path` (status `st`) of `src` to `dst_path` of `dst`, creating parents.
// CANCELLED when `call` is cancelled mid-way (the target keeps the prefix sent, marked
// partial, and a later copy resumes there); UNAVAILABLE when a cluster could not be
// reached; PERMISSION_DENIED naming the path and the user.
StatusOr<CopyResult> CopyFile(sdk::Call& call, WebHdfsClient& src, const std::string& src_path,
                              const FileStatus& st, WebHdfsClient& dst, const std::string& dst_path,
                              const CopyOptions& options);

// Makes the target item's permission, owner, group, ACL and extended attributes (except
// user.lifeboat.*) those of the source item (`st` its status, its permission apart from any
// fence of the source: UnfencedPermission; `current` the target's status, when known, to
// skip what is equal already). `fenced`: the target data set is fenced, so the item gets the
// permission without write bits and records it as its fence original (RecordFenceOriginal).
// Times are left to the caller.
Status CopyMetadata(WebHdfsClient& src, const std::string& src_path, const FileStatus& st,
                    WebHdfsClient& dst, const std::string& dst_path, const FileStatus* current,
                    bool fenced = false);

// Runs `fn(i)` for i in [0, n) on up to `threads` threads (the calling one included); the
// first error stops the rest and is returned (CANCELLED only when nothing worse happened).
Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn);

// SHA-256 (hex) of the first `length` bytes of `path` (all of it when length is 0 and
// `whole`), streamed.
StatusOr<std::string> DigestOf(sdk::Call& call, WebHdfsClient& client, const std::string& path,
                               uint64_t length, uint64_t* bytes_read = nullptr);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_COPY_H_
