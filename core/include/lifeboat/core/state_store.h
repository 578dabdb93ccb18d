// The control service's state: RocksDB, one column family per record kind, protobuf values.
//
// Every change of a job's state is one atomic WriteBatch; batches that could lose data if
// lost (a restore point committed, a job finished, a task done) are written with sync.
// Open() takes an exclusive lock on the directory (a second process gets
// FAILED_PRECONDITION naming the directory and, when known, the holder's pid) and refuses a
// store written by a newer format version (FAILED_PRECONDITION: "written by format N, this
// build reads up to M").
//
// Thread-safety: all methods may be called from several threads.
#ifndef LIFEBOAT_CORE_STATE_STORE_H_
#define LIFEBOAT_CORE_STATE_STORE_H_

#include <google/protobuf/message.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::core {

// One column family each. Append only (the names are stored on disk).
enum class Kind {
  kClusters,
  kServices,
  kPolicies,         // key: policy name -> newest revision
  kPolicyRevisions,  // key: "<name>/<revision, 20 digits>" -> that revision
  kJobs,             // key: job id
  kTasks,            // key: "<job id>/<task id>"
  kRestorePoints,    // key: "<service>/<restore point id>"
  kAudit,            // key: 20-digit sequence
  kEvents,           // key: 20-digit sequence
  kMeta,             // format version, sequences, scheduler state
  kTokens,           // key: token id -> API token (name, role, salted hash; never the secret)
};

// Stable column family name of a kind ("jobs", "tasks", ...).
const char* KindName(Kind kind);

class StateStore {
 public:
  // Current on-disk format version written into kMeta by this build.
  static constexpr uint32_t kFormatVersion = 1;

  // Opens (creating when absent) the store in `dir`.
  static StatusOr<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir);
  virtual ~StateStore() = default;

  // A set of changes applied atomically by Write().
  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) noexcept;
    void Put(Kind kind, std::string_view key, const google::protobuf::Message& value);
    void PutRaw(Kind kind, std::string_view key, std::string_view value);
    void Delete(Kind kind, std::string_view key);
    size_t size() const;

   private:
    friend class StateStoreImpl;
    struct Rep;
    std::unique_ptr<Rep> rep_;
  };

  // Applies `batch` atomically. `sync`: durable before returning (fsync of the WAL).
  // UNAVAILABLE / RESOURCE_EXHAUSTED (disk full) with RocksDB's message otherwise; a failed
  // write changes nothing.
  virtual Status Write(Batch& batch, bool sync) = 0;

  // Reads one record into `out`. NOT_FOUND when absent; DATA_LOSS when the bytes do not
  // parse as out's type.
  virtual Status Get(Kind kind, std::string_view key, google::protobuf::Message* out) const = 0;
  virtual StatusOr<std::string> GetRaw(Kind kind, std::string_view key) const = 0;

  // Calls `fn(key, value)` for every record whose key starts with `prefix`, in key order,
  // until it returns false.
  virtual Status Scan(
      Kind kind, std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;

  // Returns the next value of a persistent counter (starting at 1), in a batch of its own.
  virtual StatusOr<uint64_t> NextSequence(std::string_view counter) = 0;

  // Typed helpers.
  template <typename M>
  StatusOr<M> Read(Kind kind, std::string_view key) const {
    M m;
    Status s = Get(kind, key, &m);
    if (!s.ok()) return s;
    return m;
  }
  template <typename M>
  StatusOr<std::vector<M>> List(Kind kind, std::string_view prefix = {}) const {
    std::vector<M> out;
    Status bad;
    Status s = Scan(kind, prefix, [&](std::string_view key, std::string_view value) {
      M m;
      if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        bad = DataLossError("record does not parse as " + m.GetTypeName(), std::string(key));
        return false;
      }
      out.push_back(std::move(m));
      return true;
    });
    if (!s.ok()) return s;
    if (!bad.ok()) return bad;
    return out;
  }
};

// Zero-padded decimal, so that keys sort numerically.
std::string PaddedNumber(uint64_t n);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_STATE_STORE_H_
