// The state store on RocksDB: one column family per Kind, protobuf values, a LOCK held by
// RocksDB for the life of the store, and the format version in kMeta.
#include <lifeboat/core/state_store.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "state_store_internal.h"

namespace lifeboat::core {

namespace fs = std::filesystem;

namespace {

// A kind added later is a column family that Open() creates in an older store, and that an
// older build opens as an unknown one: no format version change is needed for it.
constexpr std::array<Kind, 11> kAllKinds = {
    Kind::kClusters, Kind::kServices, Kind::kPolicies,      Kind::kPolicyRevisions,
    Kind::kJobs,     Kind::kTasks,    Kind::kRestorePoints, Kind::kAudit,
    Kind::kEvents,   Kind::kMeta,     Kind::kTokens,
};
constexpr size_t kKindCount = kAllKinds.size();

constexpr char kFormatVersionKey[] = "format_version";
constexpr char kSequencePrefix[] = "seq/";
// Written after the LOCK is taken, so that a refused Open can name the holder. Stale copies
// are harmless: the file is only read while someone holds the LOCK, and that holder wrote it.
constexpr char kOwnerFile[] = "OWNER";
constexpr char kOwnerTempFile[] = "OWNER.tmp";

// Memory bounds: the store holds policies, jobs and tasks of one control service (megabytes),
// so RocksDB's defaults (64 MiB memtables per column family) would be out of proportion.
constexpr size_t kBlockCacheBytes = 8 << 20;
constexpr size_t kWriteBufferBytes = 4 << 20;
constexpr size_t kAllWriteBuffersBytes = 32 << 20;
constexpr uint64_t kMaxTotalWalBytes = 64 << 20;
// Tables of one column family that Open() lets pile up before it merges them, and the size
// up to which a column family is merged whole (see MergeSmallTables).
constexpr uint64_t kMaxTablesPerKind = 8;
constexpr uint64_t kMergeWholeBytes = 64 << 20;
// How long a write after a failed one waits for RocksDB's own error recovery to finish.
constexpr std::chrono::milliseconds kRecoveryWait(500);

bool KnownKind(Kind kind) { return static_cast<size_t>(kind) < kKindCount; }

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Quoted for messages; keys are mostly printable ids, so no escaping beyond the quotes.
std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A RocksDB info logger that drops everything: the read-only probe of Open() must not
// rotate the store's LOG files (it writes nothing at all into the directory).
class DiscardLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

rocksdb::DBOptions MakeDbOptions(const StateStoreOpenOptions& options) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.keep_log_file_num = 3;
  o.max_log_file_size = 4 << 20;
  o.max_total_wal_size = kMaxTotalWalBytes;
  o.db_write_buffer_size = kAllWriteBuffersBytes;
  o.max_background_jobs = 2;
  if (options.env != nullptr) o.env = options.env;
  return o;
}

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = kWriteBufferBytes;
  o.max_write_buffer_number = 2;
  o.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

bool IsNoSpace(const rocksdb::Status& s) {
  return s.IsNoSpace() || s.ToString().find("No space left on device") != std::string::npos;
}

// RocksDB 7.8 (env/fs_posix.cc, LockFile) reports a LOCK held by another process as
// "While lock file: <dir>/LOCK: Resource temporarily unavailable" and one held by this process
// as "lock hold by current process, ...". Other IOErrors mentioning LOCK (e.g. "while open a
// file for lock": permission denied) are not a conflict and stay UNAVAILABLE.
enum class LockConflict { kNone, kThisProcess, kOtherProcess };
LockConflict ClassifyLockError(const rocksdb::Status& s) {
  if (!s.IsIOError()) return LockConflict::kNone;
  const std::string text = s.ToString();
  if (text.find("lock hold by current process") != std::string::npos) {
    return LockConflict::kThisProcess;
  }
  if (text.find("While lock file") != std::string::npos) return LockConflict::kOtherProcess;
  return LockConflict::kNone;
}

std::optional<long> ReadOwnerPid(const fs::path& dir) {
  std::ifstream in(dir / kOwnerFile);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return pid;
}

// Best effort: the pid only serves the message of a refused Open, so a failure to write it
// must not refuse an Open that RocksDB granted.
void WriteOwnerPid(const fs::path& dir) {
  const fs::path tmp = dir / kOwnerTempFile;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ::getpid() << "\n";
    if (!out.flush()) return;
  }
  std::error_code ec;
  fs::rename(tmp, dir / kOwnerFile, ec);
}

Status OpenError(const std::string& dir, const rocksdb::Status& s) {
  switch (ClassifyLockError(s)) {
    case LockConflict::kThisProcess:
      return FailedPreconditionError(dir +
                                     ": the state directory is already open in this process "
                                     "(pid " +
                                     std::to_string(::getpid()) + ")");
    case LockConflict::kOtherProcess: {
      std::optional<long> pid = ReadOwnerPid(dir);
      return FailedPreconditionError(
          dir + ": the state directory is in use by another process" +
          (pid ? " (pid " + std::to_string(*pid) + ")" : std::string(" (pid unknown)")));
    }
    default:
      break;
  }
  if (IsNoSpace(s)) {
    return Status(Code::kResourceExhausted, "state store: disk full at " + dir + ": " +
                                                s.ToString() + "; free space, then retry");
  }
  if (s.IsCorruption()) {
    return DataLossError(dir + ": the state store is damaged: " + s.ToString());
  }
  if (s.IsInvalidArgument() || s.IsNotSupported()) {
    return FailedPreconditionError(dir + ": cannot open the state store: " + s.ToString());
  }
  return UnavailableError(dir + ": cannot open the state store: " + s.ToString());
}

Status ReadError(const std::string& dir, const rocksdb::Status& s) {
  if (s.IsCorruption()) {
    return DataLossError("state store: corrupt data at " + dir + ": " + s.ToString());
  }
  return UnavailableError("state store: read failed at " + dir + ": " + s.ToString());
}

Status WriteError(const std::string& dir, const rocksdb::Status& s) {
  if (IsNoSpace(s)) {
    return Status(Code::kResourceExhausted, "state store: disk full at " + dir + ": " +
                                                s.ToString() + "; free space, then retry");
  }
  std::string message = "state store: write failed at " + dir + ": " + s.ToString();
  // RocksDB stops a database on a fatal error (e.g. a plain I/O error on the WAL); only a
  // new Open brings it back.
  if (s.severity() >= rocksdb::Status::Severity::kFatalError) {
    message += "; the store takes no more writes until it is reopened (restart the service)";
  }
  return UnavailableError(std::move(message));
}

// Files RocksDB (and we) may leave in a directory before its CURRENT file exists, when a
// first Open was interrupted. Anything else without CURRENT is someone else's directory.
bool IsStoreLeftover(const std::string& name) {
  return name == "LOCK" || name == "LOG" || name.starts_with("LOG.old.") || name == "IDENTITY" ||
         name == kOwnerFile || name == kOwnerTempFile || name == "MANIFEST-000001" ||
         name == "000001.dbtmp";
}

// Refuses a path that is not a directory, or a directory with foreign files and no CURRENT;
// creates the directory when absent.
Status PrepareDirectory(const fs::path& dir) {
  const std::string name = dir.string();
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return UnavailableError(name + ": cannot inspect the state directory: " + ec.message());
  }
  if (!fs::exists(st)) {
    fs::create_directories(dir, ec);
    if (ec) return UnavailableError(name + ": cannot create the state directory: " + ec.message());
    return OkStatus();
  }
  if (!fs::is_directory(st)) {
    return FailedPreconditionError(name + ": wanted a state directory, found another kind of file");
  }
  if (fs::exists(dir / "CURRENT", ec)) return OkStatus();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (!IsStoreLeftover(entry)) {
      return FailedPreconditionError(
          name + ": not a Lifeboat state store (it holds '" + entry +
          "' but no RocksDB CURRENT file); use an empty or new directory");
    }
  }
  if (ec) return UnavailableError(name + ": cannot list the state directory: " + ec.message());
  return OkStatus();
}

// The value of kMeta/format_version: nullopt when absent; DATA_LOSS when not a number.
StatusOr<std::optional<uint64_t>> ReadFormatVersion(rocksdb::DB& db,
                                                    rocksdb::ColumnFamilyHandle* meta,
                                                    const std::string& dir) {
  std::string value;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), meta, kFormatVersionKey, &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return ReadError(dir, s);
  uint64_t version = 0;
  auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), version);
  if (err != std::errc() || end != value.data() + value.size() || version == 0) {
    return DataLossError(dir + ": the state format version is " + Quoted(value) +
                         ", not a positive number");
  }
  return std::optional<uint64_t>(version);
}

Status NewerFormatError(const std::string& dir, uint64_t found) {
  return FailedPreconditionError(
      dir + ": written by state format " + std::to_string(found) + ", this build reads up to " +
      std::to_string(StateStore::kFormatVersion) + "; use a newer lifeboat");
}

// Reads the format version without writing anything into `dir` (read-only RocksDB, no info
// log), so that a store of a newer format is refused untouched: a read-write open would write
// a new MANIFEST, OPTIONS and WAL and flush the old WAL before we could look. Errors other than
// a newer format are left for the read-write open to report (it also reports the lock).
Status ProbeFormatVersion(const std::string& dir, const rocksdb::DBOptions& base,
                          const rocksdb::ColumnFamilyOptions& cf_options) {
  rocksdb::DBOptions options = base;
  options.info_log = std::make_shared<DiscardLogger>();
  options.create_if_missing = false;
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(options, dir, &names).ok()) return OkStatus();
  size_t meta_index = names.size();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == KindName(Kind::kMeta)) meta_index = i;
    descriptors.emplace_back(names[i], cf_options);
  }
  if (meta_index == names.size()) return OkStatus();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(options, dir, descriptors, &handles, &raw).ok()) {
    return OkStatus();
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  StatusOr<std::optional<uint64_t>> version = ReadFormatVersion(*db, handles[meta_index], dir);
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  if (version.ok() && version->has_value() && **version > StateStore::kFormatVersion) {
    return NewerFormatError(dir, **version);
  }
  return OkStatus();
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kClusters:
      return "clusters";
    case Kind::kServices:
      return "services";
    case Kind::kPolicies:
      return "policies";
    case Kind::kPolicyRevisions:
      return "policy_revisions";
    case Kind::kJobs:
      return "jobs";
    case Kind::kTasks:
      return "tasks";
    case Kind::kRestorePoints:
      return "restore_points";
    case Kind::kAudit:
      return "audit";
    case Kind::kEvents:
      return "events";
    case Kind::kMeta:
      return "meta";
    case Kind::kTokens:
      return "tokens";
    default:
      return "unknown";
  }
}

std::string PaddedNumber(uint64_t n) {
  char buf[21];
  std::snprintf(buf, sizeof buf, "%020" PRIu64, n);
  return buf;
}

// ---- Batch ------------------------------------------------------------------------------

// The changes are kept as plain operations and turned into a rocksdb::WriteBatch by Write():
// a batch is built before it meets a store, and column family ids differ from store to store.
struct StateStore::Batch::Rep {
  struct Op {
    Kind kind;
    bool is_delete;
    std::string key;
    std::string value;
  };
  std::vector<Op> ops;
};

StateStore::Batch::Batch() : rep_(std::make_unique<Rep>()) {}
StateStore::Batch::~Batch() = default;
StateStore::Batch::Batch(Batch&&) noexcept = default;
StateStore::Batch& StateStore::Batch::operator=(Batch&&) noexcept = default;

void StateStore::Batch::Put(Kind kind, std::string_view key,
                            const google::protobuf::Message& value) {
  if (!rep_) rep_ = std::make_unique<Rep>();
  rep_->ops.push_back({kind, false, std::string(key), value.SerializeAsString()});
}

void StateStore::Batch::PutRaw(Kind kind, std::string_view key, std::string_view value) {
  if (!rep_) rep_ = std::make_unique<Rep>();
  rep_->ops.push_back({kind, false, std::string(key), std::string(value)});
}

void StateStore::Batch::Delete(Kind kind, std::string_view key) {
  if (!rep_) rep_ = std::make_unique<Rep>();
  rep_->ops.push_back({kind, true, std::string(key), std::string()});
}

size_t StateStore::Batch::size() const { return rep_ ? rep_->ops.size() : 0; }

// ---- the store --------------------------------------------------------------------------

class StateStoreImpl final : public StateStore {
 public:
  explicit StateStoreImpl(std::string dir)
      : dir_(std::move(dir)), cache_(rocksdb::NewLRUCache(kBlockCacheBytes)) {}

  ~StateStoreImpl() override {
    if (!db_) return;
    // Unsynced batches already reached the OS; syncing here makes a clean shutdown durable
    // against a power cut as well. Not after a failed WAL write: the WAL writer is then in
    // error, and Debian's RocksDB (built with assertions) aborts on a sync of it
    // (WritableFileWriter::AssertFalseAndGetStatusForPrevError).
    if (!write_failed_.load()) db_->SyncWAL().PermitUncheckedError();
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }

  StateStoreImpl(const StateStoreImpl&) = delete;
  StateStoreImpl& operator=(const StateStoreImpl&) = delete;

  Status Open(const StateStoreOpenOptions& options) {
    rocksdb::DBOptions db_options = MakeDbOptions(options);
    rocksdb::ColumnFamilyOptions cf_options = MakeCfOptions(cache_);

    std::error_code ec;
    const bool existing = fs::exists(fs::path(dir_) / "CURRENT", ec);
    if (existing) LIFEBOAT_RETURN_IF_ERROR(ProbeFormatVersion(dir_, db_options, cf_options));

    // Open with every column family on disk (a newer format may have more) plus ours.
    std::vector<std::string> names;
    if (existing) {
      rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir_, &names);
      if (!s.ok()) return OpenError(dir_, s);
    } else {
      names.push_back(rocksdb::kDefaultColumnFamilyName);
    }
    for (Kind kind : kAllKinds) {
      if (std::find(names.begin(), names.end(), KindName(kind)) == names.end()) {
        names.push_back(KindName(kind));
      }
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) descriptors.emplace_back(name, cf_options);

    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, dir_, descriptors, &handles_, &raw);
    if (!s.ok()) return OpenError(dir_, s);
    db_.reset(raw);
    WriteOwnerPid(dir_);

    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      for (Kind kind : kAllKinds) {
        if (h->GetName() == KindName(kind)) by_kind_[static_cast<size_t>(kind)] = h;
      }
    }
    LIFEBOAT_RETURN_IF_ERROR(CheckFormatVersion());
    MergeSmallTables();
    return OkStatus();
  }

  Status Write(Batch& batch, bool sync) override {
    rocksdb::WriteBatch wb;
    if (batch.rep_) {
      for (const Batch::Rep::Op& op : batch.rep_->ops) {
        rocksdb::ColumnFamilyHandle* cf = Cf(op.kind);
        if (cf == nullptr) return UnknownKindError(op.kind);
        rocksdb::Status s =
            op.is_delete ? wb.Delete(cf, ToSlice(op.key)) : wb.Put(cf, ToSlice(op.key), op.value);
        if (!s.ok()) return InvalidArgumentError("state store: bad batch: " + s.ToString());
      }
    }
    return WriteRocks(wb, sync);
  }

  Status Get(Kind kind, std::string_view key, google::protobuf::Message* out) const override {
    StatusOr<std::string> bytes = GetRaw(kind, key);
    if (!bytes.ok()) return bytes.status();
    if (!out->ParseFromString(*bytes)) {
      return DataLossError(std::string(KindName(kind)) + " record " + Quoted(key) +
                               " does not parse as " + out->GetTypeName(),
                           std::string(key));
    }
    return OkStatus();
  }

  StatusOr<std::string> GetRaw(Kind kind, std::string_view key) const override {
    rocksdb::ColumnFamilyHandle* cf = Cf(kind);
    if (cf == nullptr) return UnknownKindError(kind);
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &value);
    if (s.IsNotFound()) {
      return NotFoundError("no " + std::string(KindName(kind)) + " record " + Quoted(key),
                           std::string(key));
    }
    if (!s.ok()) return ReadError(dir_, s);
    return value;
  }

  // The views passed to `fn` are valid during the call only.
  Status Scan(
      Kind kind, std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const override {
    rocksdb::ColumnFamilyHandle* cf = Cf(kind);
    if (cf == nullptr) return UnknownKindError(kind);
    // Upper bound: the prefix with its last byte below 0xff incremented (trailing 0xff bytes
    // dropped); a prefix of only 0xff bytes (or empty) has no bound.
    std::string upper(prefix);
    while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
    if (!upper.empty())
      upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions read;
    if (!upper.empty()) read.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, cf));
    for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key();
      const std::string_view key(k.data(), k.size());
      // The bound already ends the scan; this guards the unbounded 0xff... case.
      if (!key.starts_with(prefix)) break;
      const rocksdb::Slice v = it->value();
      if (!fn(key, std::string_view(v.data(), v.size()))) break;
    }
    if (!it->status().ok()) return ReadError(dir_, it->status());
    return OkStatus();
  }

  StatusOr<uint64_t> NextSequence(std::string_view counter) override {
    if (counter.empty()) return InvalidArgumentError("state store: empty sequence name");
    const std::string key = kSequencePrefix + std::string(counter);
    std::lock_guard<std::mutex> lock(sequence_mu_);
    uint64_t current = 0;
    StatusOr<std::string> stored = GetRaw(Kind::kMeta, key);
    if (stored.ok()) {
      auto [end, err] = std::from_chars(stored->data(), stored->data() + stored->size(), current);
      if (err != std::errc() || end != stored->data() + stored->size()) {
        return DataLossError(
            "sequence " + Quoted(counter) + " holds " + Quoted(*stored) + ", not a number", key);
      }
    } else if (stored.status().code() != Code::kNotFound) {
      return stored.status();
    }
    if (current == UINT64_MAX) {
      return Status(Code::kOutOfRange, "sequence " + Quoted(counter) + " is exhausted", key);
    }
    const uint64_t next = current + 1;
    rocksdb::WriteBatch wb;
    rocksdb::Status s =
        wb.Put(by_kind_[static_cast<size_t>(Kind::kMeta)], key, std::to_string(next));
    if (!s.ok()) return InvalidArgumentError("state store: bad batch: " + s.ToString());
    LIFEBOAT_RETURN_IF_ERROR(WriteRocks(wb, /*sync=*/true));
    return next;
  }

 private:
  rocksdb::ColumnFamilyHandle* Cf(Kind kind) const {
    return KnownKind(kind) ? by_kind_[static_cast<size_t>(kind)] : nullptr;
  }

  static Status UnknownKindError(Kind kind) {
    return InvalidArgumentError("state store: unknown record kind " +
                                std::to_string(static_cast<int>(kind)));
  }

  Status WriteRocks(rocksdb::WriteBatch& wb, bool sync) {
    // A failed WAL write puts RocksDB into a read-only error state. For "disk full" its own
    // recovery (SstFileManager) resumes by itself once space is back, checking every few
    // seconds; meanwhile Resume() answers Busy. For other errors Resume() here lets a retry
    // succeed without restarting the service. A running recovery gets a moment to finish;
    // the write below then reports whether the error is gone.
    if (write_failed_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(resume_mu_);
      const auto give_up = std::chrono::steady_clock::now() + kRecoveryWait;
      while (write_failed_.load(std::memory_order_relaxed)) {
        rocksdb::Status s = db_->Resume();
        if (s.ok()) {
          write_failed_.store(false, std::memory_order_release);
        } else if (!s.IsBusy()) {
          return WriteError(dir_, s);
        } else if (std::chrono::steady_clock::now() >= give_up) {
          break;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
    }
    rocksdb::WriteOptions options;
    options.sync = sync;
    rocksdb::Status s = db_->Write(options, &wb);
    if (!s.ok()) {
      write_failed_.store(true, std::memory_order_release);
      return WriteError(dir_, s);
    }
    return OkStatus();
  }

  // Every process that opens the store (each `lifeboat` command) flushes what the previous
  // one left in the WAL into a new table per column family it wrote. Those tables hold keys
  // no other table holds (new jobs, points, events), so RocksDB moves them down a level
  // untouched and never merges them: each open, and each scan of all jobs or points, then
  // touched one more file per command ever run (issue 13: 1,148 tables after 285 backups,
  // +0.3 ms of CPU per stored point). A column family of more than kMaxTablesPerKind tables
  // and at most kMergeWholeBytes is merged into one table here. Best effort: a failure (a
  // full disk) leaves the tables as they are, readable, for the next open to try again.
  void MergeSmallTables() {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      rocksdb::ColumnFamilyMetaData meta;
      db_->GetColumnFamilyMetaData(h, &meta);
      if (meta.file_count <= kMaxTablesPerKind || meta.size > kMergeWholeBytes) continue;
      rocksdb::CompactRangeOptions options;
      // The tables sit in the bottom level, which RocksDB otherwise leaves alone.
      options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      db_->CompactRange(options, h, nullptr, nullptr).PermitUncheckedError();
    }
  }

  // Refuses a newer format; stamps a new store; refuses a RocksDB database that has data but
  // no format version (someone else's, or not ours).
  Status CheckFormatVersion() {
    rocksdb::ColumnFamilyHandle* meta = by_kind_[static_cast<size_t>(Kind::kMeta)];
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<uint64_t> version, ReadFormatVersion(*db_, meta, dir_));
    if (version) {
      if (*version > kFormatVersion) return NewerFormatError(dir_, *version);
      return OkStatus();
    }
    // No version: a store whose first Open stopped before stamping it is empty; any record
    // means the database was written by something else.
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
      it->SeekToFirst();
      if (!it->status().ok()) return ReadError(dir_, it->status());
      if (it->Valid()) {
        return FailedPreconditionError(dir_ +
                                       ": a RocksDB database without a Lifeboat state format "
                                       "version (column family '" +
                                       h->GetName() + "' has data); not a Lifeboat state store");
      }
    }
    rocksdb::WriteBatch wb;
    rocksdb::Status s = wb.Put(meta, kFormatVersionKey, std::to_string(kFormatVersion));
    if (!s.ok()) return InvalidArgumentError("state store: bad batch: " + s.ToString());
    return WriteRocks(wb, /*sync=*/true);
  }

  const std::string dir_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  // Every open column family (ours and any unknown to this build), destroyed before Close().
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::array<rocksdb::ColumnFamilyHandle*, kKindCount> by_kind_{};
  std::mutex sequence_mu_;  // NextSequence: read, increment and write as one step
  std::mutex resume_mu_;    // one Resume() at a time
  std::atomic<bool> write_failed_{false};
};

StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const fs::path& dir,
                                                     const StateStoreOpenOptions& options) {
  LIFEBOAT_RETURN_IF_ERROR(PrepareDirectory(dir));
  auto store = std::make_unique<StateStoreImpl>(dir.string());
  LIFEBOAT_RETURN_IF_ERROR(store->Open(options));
  return std::unique_ptr<StateStore>(std::move(store));
}

StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const fs::path& dir) {
  return OpenStateStore(dir, StateStoreOpenOptions());
}

}  // namespace lifeboat::core
