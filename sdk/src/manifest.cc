#include <fcntl.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/manifest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <system_error>

namespace lifeboat::sdk {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "LBMANIF1";
constexpr char kEndMagic[] = "LBMEND01";
constexpr size_t kMagicSize = 8;
constexpr size_t kTrailerSize = 8 + 8 + kSha256Bytes + 8 + 8 + kMagicSize;
// A record larger than this is damage, not an entry (paths and ACL texts are bounded).
constexpr uint64_t kMaxRecord = uint64_t{64} << 20;
constexpr size_t kIoBuffer = size_t{1} << 18;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

// A file written through a buffer; tracks the offset for the index.
class OutFile {
 public:
  ~OutFile() {
    if (f_ != nullptr) std::fclose(f_);
  }
  Status Open(const fs::path& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "wbx");
    if (f_ == nullptr) return ErrnoError(path, "create", errno);
    std::setvbuf(f_, nullptr, _IOFBF, kIoBuffer);
    return OkStatus();
  }
  // Takes over `fd` (a fresh temporary file).
  Status Adopt(int fd, const fs::path& path) {
    path_ = path;
    f_ = ::fdopen(fd, "wb");
    if (f_ == nullptr) {
      const int err = errno;
      ::close(fd);
      return ErrnoError(path, "open", err);
    }
    std::setvbuf(f_, nullptr, _IOFBF, kIoBuffer);
    return OkStatus();
  }
  Status Write(std::string_view data) {
    if (std::fwrite(data.data(), 1, data.size(), f_) != data.size()) {
      return ErrnoError(path_, "write", errno);
    }
    offset_ += data.size();
    return OkStatus();
  }
  Status Close(bool durable) {
    if (std::fflush(f_) != 0) return ErrnoError(path_, "write", errno);
    if (durable && ::fsync(::fileno(f_)) != 0) return ErrnoError(path_, "flush", errno);
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) return ErrnoError(path_, "close", errno);
    return OkStatus();
  }
  uint64_t offset() const { return offset_; }

 private:
  fs::path path_;
  std::FILE* f_ = nullptr;
  uint64_t offset_ = 0;
};

// A file read through a buffer: records of varint length + bytes.
class InFile {
 public:
  ~InFile() {
    if (f_ != nullptr) std::fclose(f_);
  }
  Status Open(const fs::path& path) {
    if (f_ != nullptr) std::fclose(f_);
    path_ = path;
    offset_ = 0;
    f_ = std::fopen(path.c_str(), "rb");
    if (f_ == nullptr) return ErrnoError(path, "open", errno);
    std::setvbuf(f_, nullptr, _IOFBF, kIoBuffer);
    return OkStatus();
  }
  Status SeekTo(uint64_t offset) {
    if (::fseeko(f_, static_cast<off_t>(offset), SEEK_SET) != 0) {
      return ErrnoError(path_, "seek in", errno);
    }
    offset_ = offset;
    return OkStatus();
  }
  Status ReadExactly(char* out, size_t n) {
    if (std::fread(out, 1, n, f_) != n) {
      if (std::ferror(f_)) return ErrnoError(path_, "read", errno);
      return Damaged("it ends in the middle of a record");
    }
    offset_ += n;
    return OkStatus();
  }
  // One record into `out`; false at a clean end (the end of the file or `limit`).
  StatusOr<bool> ReadRecord(std::string* out, uint64_t limit) {
    uint64_t len = 0;
    for (int shift = 0;; shift += 7) {
      if (offset_ >= limit) {
        if (shift == 0) return false;
        return Damaged("a record's length is cut short");
      }
      int c = std::fgetc(f_);
      if (c == EOF) {
        if (std::ferror(f_)) return ErrnoError(path_, "read", errno);
        if (shift == 0) return false;
        return Damaged("a record's length is cut short");
      }
      ++offset_;
      if (shift > 63) return Damaged("a record's length is malformed");
      len |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) break;
    }
    if (len > kMaxRecord || offset_ + len > limit) return Damaged("a record's length is too long");
    out->resize(len);
    LIFEBOAT_RETURN_IF_ERROR(ReadExactly(out->data(), len));
    return true;
  }
  Status Damaged(std::string_view why) const {
    return DataLossError("manifest " + path_.string() + " is damaged (" + std::string(why) +
                             "); take the cut again or restore from another point",
                         path_.string());
  }
  uint64_t offset() const { return offset_; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::FILE* f_ = nullptr;
  uint64_t offset_ = 0;
};

size_t EstimatedSize(const v1::Entry& e) {
  return sizeof(v1::Entry) + e.path().capacity() + e.owner().capacity() + e.group().capacity() +
         e.symlink_target().capacity() + e.digest().capacity() + e.acl_access().capacity() +
         e.acl_default().capacity() + 64;
}

bool ByPath(const v1::Entry& a, const v1::Entry& b) { return a.path() < b.path(); }

Status Duplicate(const std::string& path) {
  return InvalidArgumentError(
      "the manifest has the path '" + path +
          "' twice; each item of a data set must be recorded once (fix the plugin's listing)",
      path);
}

Status AppendRecord(OutFile& out, const v1::Entry& e, std::string& scratch) {
  scratch.clear();
  PutVarint(scratch, e.ByteSizeLong());
  if (!e.AppendToString(&scratch)) {
    return InternalError("cannot serialize the manifest entry of " + e.path(), e.path());
  }
  return out.Write(scratch);
}

// A run or a manifest's records, one entry ahead.
class RunCursor {
 public:
  Status Open(const fs::path& path, uint64_t start, uint64_t limit) {
    limit_ = limit;
    LIFEBOAT_RETURN_IF_ERROR(in_.Open(path));
    if (start != 0) LIFEBOAT_RETURN_IF_ERROR(in_.SeekTo(start));
    return Advance();
  }
  Status Advance() {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, in_.ReadRecord(&record_, limit_));
    done_ = !more;
    if (more && !current_.ParseFromString(record_)) {
      return in_.Damaged("a record does not parse as an entry");
    }
    return OkStatus();
  }
  bool done() const { return done_; }
  v1::Entry& current() { return current_; }
  InFile& file() { return in_; }

 private:
  InFile in_;
  uint64_t limit_ = UINT64_MAX;
  std::string record_;
  v1::Entry current_;
  bool done_ = true;
};

bool SameEntry(const v1::Entry& a, const v1::Entry& b) {
  return a.path() == b.path() && a.type() == b.type() && a.size() == b.size() &&
         a.mtime_unix_nanos() == b.mtime_unix_nanos() && a.mode() == b.mode() &&
         a.uid() == b.uid() && a.gid() == b.gid() && a.owner() == b.owner() &&
         a.group() == b.group() && a.symlink_target() == b.symlink_target() &&
         a.digest() == b.digest() && a.acl_access() == b.acl_access() &&
         a.acl_default() == b.acl_default();
}

}  // namespace

// ---- digest ----

struct ManifestDigester::State {
  std::string domain;
  Sha256 plain;     // the v1 form: without ACLs
  Sha256 with_acl;  // the v2 form, chosen at the end when any entry has an ACL
  std::string buf_plain, buf_acl;
  bool acls = false;
};

ManifestDigester::ManifestDigester(std::string_view domain) : s_(std::make_unique<State>()) {
  s_->domain = std::string(domain);
  s_->buf_plain = s_->domain + ".v1\n";
  s_->buf_acl = s_->domain + ".v2\n";
}
ManifestDigester::~ManifestDigester() = default;

void ManifestDigester::Add(const v1::Entry& e) {
  std::string& b = s_->buf_plain;
  const size_t start = b.size();
  PutString(b, e.path());
  b += static_cast<char>(e.type());
  PutU64(b, e.size());
  PutU64(b, static_cast<uint64_t>(e.mtime_unix_nanos()));
  PutU32(b, e.mode());
  PutU32(b, e.uid());
  PutU32(b, e.gid());
  PutString(b, e.owner());
  PutString(b, e.group());
  PutString(b, e.symlink_target());
  PutString(b, e.digest());
  // Both forms are fed as the entries go by: whether the v2 form is the digest is known only
  // at the end.
  s_->buf_acl.append(b, start, std::string::npos);
  PutString(s_->buf_acl, e.acl_access());
  PutString(s_->buf_acl, e.acl_default());
  s_->acls = s_->acls || !e.acl_access().empty() || !e.acl_default().empty();
  if (b.size() > (1 << 20)) {
    s_->plain.Update(b);
    b.clear();
    s_->with_acl.Update(s_->buf_acl);
    s_->buf_acl.clear();
  }
}

std::string ManifestDigester::Finish() {
  if (s_->acls) {
    s_->with_acl.Update(s_->buf_acl);
    return s_->with_acl.Finish();
  }
  s_->plain.Update(s_->buf_plain);
  return s_->plain.Finish();
}

std::string CanonicalManifestDigest(const google::protobuf::RepeatedPtrField<v1::Entry>& entries,
                                    std::string_view domain) {
  ManifestDigester d(domain);
  for (const v1::Entry& e : entries) d.Add(e);
  return d.Finish();
}

// ---- writer ----

ManifestWriter::ManifestWriter(fs::path path, ManifestWriterOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
  if (options_.index_every == 0) options_.index_every = 1;
}

ManifestWriter::~ManifestWriter() {
  if (!run_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(run_dir_, ec);
  }
}

Status ManifestWriter::MakeRunDir() {
  std::string tmpl = path_.string() + ".runs-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoError(tmpl, "create a directory for the manifest's sorted runs", errno);
  }
  run_dir_ = tmpl;
  return OkStatus();
}

Status ManifestWriter::Add(v1::Entry entry) {
  if (finished_) return FailedPreconditionError("the manifest " + path_.string() + " is finished");
  buffered_bytes_ += EstimatedSize(entry);
  buffer_.push_back(std::move(entry));
  if (buffered_bytes_ >= options_.buffer_bytes) return Spill();
  return OkStatus();
}

Status ManifestWriter::Spill() {
  if (run_dir_.empty()) LIFEBOAT_RETURN_IF_ERROR(MakeRunDir());
  std::sort(buffer_.begin(), buffer_.end(), ByPath);
  fs::path run = run_dir_ / ("run-" + std::to_string(runs_.size()));
  OutFile out;
  LIFEBOAT_RETURN_IF_ERROR(out.Open(run));
  std::string scratch;
  for (size_t i = 0; i < buffer_.size(); ++i) {
    if (i > 0 && buffer_[i].path() == buffer_[i - 1].path()) return Duplicate(buffer_[i].path());
    LIFEBOAT_RETURN_IF_ERROR(AppendRecord(out, buffer_[i], scratch));
  }
  // Runs are scratch: a crash loses them with the writer, so no flush to disk.
  LIFEBOAT_RETURN_IF_ERROR(out.Close(/*durable=*/false));
  runs_.push_back(run);
  buffer_.clear();
  buffer_.shrink_to_fit();
  buffered_bytes_ = 0;
  return OkStatus();
}

StatusOr<ManifestSummary> ManifestWriter::Finish() {
  if (finished_) return FailedPreconditionError("the manifest " + path_.string() + " is finished");
  finished_ = true;
  // Everything in memory when it fits; otherwise the last run too, and a merge of the runs.
  std::vector<std::unique_ptr<RunCursor>> cursors;
  if (!runs_.empty() && !buffer_.empty()) LIFEBOAT_RETURN_IF_ERROR(Spill());
  if (runs_.empty()) std::sort(buffer_.begin(), buffer_.end(), ByPath);
  for (const fs::path& run : runs_) {
    auto c = std::make_unique<RunCursor>();
    LIFEBOAT_RETURN_IF_ERROR(c->Open(run, 0, UINT64_MAX));
    cursors.push_back(std::move(c));
  }

  std::string tmpl = path_.string() + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return ErrnoError(tmpl, "create", errno);
  fs::path tmp = tmpl;
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      if (!p.empty()) ::unlink(p.c_str());
    }
  } cleanup{tmp};
  OutFile out;
  LIFEBOAT_RETURN_IF_ERROR(out.Adopt(fd, tmp));
  LIFEBOAT_RETURN_IF_ERROR(out.Write(std::string_view(kMagic, kMagicSize)));

  ManifestSummary summary;
  ManifestDigester digester(options_.digest_domain);
  std::string index, scratch, last_path;
  uint64_t index_records = 0;
  auto emit = [&](const v1::Entry& e) -> Status {
    if (summary.entry_count > 0 && e.path() == last_path) return Duplicate(e.path());
    if (summary.entry_count % options_.index_every == 0) {
      PutVarint(index, e.path().size());
      index += e.path();
      PutU64(index, out.offset());
      ++index_records;
    }
    LIFEBOAT_RETURN_IF_ERROR(AppendRecord(out, e, scratch));
    digester.Add(e);
    ++summary.entry_count;
    if (e.type() == v1::ENTRY_FILE) summary.total_bytes += e.size();
    last_path = e.path();
    return OkStatus();
  };

  if (runs_.empty()) {
    for (const v1::Entry& e : buffer_) LIFEBOAT_RETURN_IF_ERROR(emit(e));
    buffer_.clear();
    buffer_.shrink_to_fit();
  } else {
    auto later = [&](size_t a, size_t b) {
      return cursors[b]->current().path() < cursors[a]->current().path();
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
    for (size_t i = 0; i < cursors.size(); ++i) {
      if (!cursors[i]->done()) heap.push(i);
    }
    while (!heap.empty()) {
      size_t i = heap.top();
      heap.pop();
      LIFEBOAT_RETURN_IF_ERROR(emit(cursors[i]->current()));
      LIFEBOAT_RETURN_IF_ERROR(cursors[i]->Advance());
      if (!cursors[i]->done()) heap.push(i);
    }
  }
  summary.digest = digester.Finish();
  if (summary.digest.size() != kSha256Bytes) {
    return InternalError("cannot compute the digest of manifest " + path_.string());
  }

  const uint64_t index_offset = out.offset();
  LIFEBOAT_RETURN_IF_ERROR(out.Write(index));
  std::string trailer;
  PutU64(trailer, summary.entry_count);
  PutU64(trailer, summary.total_bytes);
  trailer += summary.digest;
  PutU64(trailer, index_offset);
  PutU64(trailer, index_records);
  trailer.append(kEndMagic, kMagicSize);
  LIFEBOAT_RETURN_IF_ERROR(out.Write(trailer));
  LIFEBOAT_RETURN_IF_ERROR(out.Close(options_.durable));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return ErrnoError(path_, "rename into", errno);
  cleanup.p.clear();
  if (options_.durable) {
    LIFEBOAT_RETURN_IF_ERROR(SyncDirectory(path_.has_parent_path() ? path_.parent_path() : "."));
  }
  cursors.clear();
  std::error_code ec;
  if (!run_dir_.empty()) fs::remove_all(run_dir_, ec);
  run_dir_.clear();
  runs_.clear();
  return summary;
}

// ---- reader ----

struct ManifestReader::Impl {
  fs::path path;
  RunCursor cursor;
  uint64_t records_end = 0;  // offset of the index
  uint64_t index_records = 0;
  uint64_t seen = 0;    // entries handed out since the start or the last seek
  bool counted = true;  // false after a seek: the count check covers whole reads only
  std::string last_path;
  bool started = false;
};

ManifestReader::ManifestReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ManifestReader::~ManifestReader() = default;

StatusOr<std::unique_ptr<ManifestReader>> ManifestReader::Open(const fs::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  InFile probe;
  LIFEBOAT_RETURN_IF_ERROR(probe.Open(path));
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return ErrnoError(path, "inspect", ec.value());
  if (size < kMagicSize + kTrailerSize) return probe.Damaged("it is shorter than a manifest");
  char magic[kMagicSize];
  LIFEBOAT_RETURN_IF_ERROR(probe.ReadExactly(magic, kMagicSize));
  if (std::memcmp(magic, kMagic, kMagicSize) != 0) return probe.Damaged("it is no manifest file");
  LIFEBOAT_RETURN_IF_ERROR(probe.SeekTo(size - kTrailerSize));
  char t[kTrailerSize];
  LIFEBOAT_RETURN_IF_ERROR(probe.ReadExactly(t, kTrailerSize));
  if (std::memcmp(t + kTrailerSize - kMagicSize, kEndMagic, kMagicSize) != 0) {
    return probe.Damaged("it has no closing trailer: it was not written to the end");
  }
  ManifestSummary summary;
  summary.entry_count = GetU64(t);
  summary.total_bytes = GetU64(t + 8);
  summary.digest.assign(t + 16, kSha256Bytes);
  impl->records_end = GetU64(t + 16 + kSha256Bytes);
  impl->index_records = GetU64(t + 24 + kSha256Bytes);
  if (impl->records_end < kMagicSize || impl->records_end > size - kTrailerSize) {
    return probe.Damaged("its trailer points outside the file");
  }
  LIFEBOAT_RETURN_IF_ERROR(impl->cursor.Open(path, kMagicSize, impl->records_end));
  std::unique_ptr<ManifestReader> r(new ManifestReader(std::move(impl)));
  r->summary_ = std::move(summary);
  return r;
}

StatusOr<bool> ManifestReader::Next(v1::Entry* entry) {
  Impl& m = *impl_;
  if (m.cursor.done()) {
    if (m.counted && m.seen != summary_.entry_count) {
      return m.cursor.file().Damaged("it holds " + std::to_string(m.seen) +
                                     " entries where its trailer says " +
                                     std::to_string(summary_.entry_count));
    }
    return false;
  }
  v1::Entry& cur = m.cursor.current();
  if (m.started && !(m.last_path < cur.path())) {
    return m.cursor.file().Damaged("its entries are not sorted at " + cur.path());
  }
  m.started = true;
  m.last_path = cur.path();
  ++m.seen;
  entry->Swap(&cur);
  LIFEBOAT_RETURN_IF_ERROR(m.cursor.Advance());
  return true;
}

Status ManifestReader::Seek(std::string_view path) {
  Impl& m = *impl_;
  // The index: the last indexed record at or before `path`, read from the file each time
  // (it is small: one record per index_every entries) rather than held.
  InFile idx;
  LIFEBOAT_RETURN_IF_ERROR(idx.Open(m.path));
  LIFEBOAT_RETURN_IF_ERROR(idx.SeekTo(m.records_end));
  uint64_t start = kMagicSize;
  std::string key;
  for (uint64_t i = 0; i < m.index_records; ++i) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, idx.ReadRecord(&key, UINT64_MAX));
    if (!more) return idx.Damaged("its index is cut short");
    char off[8];
    LIFEBOAT_RETURN_IF_ERROR(idx.ReadExactly(off, 8));
    if (std::string_view(key) > path) break;
    start = GetU64(off);
    if (start < kMagicSize || start >= m.records_end) {
      return idx.Damaged("its index points outside the records");
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(m.cursor.Open(m.path, start, m.records_end));
  m.counted = start == kMagicSize && path.empty();
  m.seen = 0;
  m.started = false;
  m.last_path.clear();
  while (!m.cursor.done() && std::string_view(m.cursor.current().path()) < path) {
    LIFEBOAT_RETURN_IF_ERROR(m.cursor.Advance());
  }
  return OkStatus();
}

EntryStream ManifestReader::AsStream() {
  return [this](v1::Entry* e) { return Next(e); };
}

EntryStream EntriesStream(const google::protobuf::RepeatedPtrField<v1::Entry>& entries) {
  int i = 0;
  return [&entries, i](v1::Entry* e) mutable -> StatusOr<bool> {
    if (i >= entries.size()) return false;
    *e = entries[i++];
    return true;
  };
}

// ---- diff ----

Status DiffManifests(const EntryStream& base, const EntryStream& next, const ManifestDiff& diff) {
  v1::Entry b, n;
  std::string last_b, last_n;
  bool have_b = false, have_n = false;
  auto pull = [](const EntryStream& s, v1::Entry* e, std::string* last, bool first,
                 const char* which) -> StatusOr<bool> {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, s(e));
    if (more && !first && !(*last < e->path())) {
      return InvalidArgumentError(std::string("the ") + which +
                                      " manifest is not sorted and unique at '" + e->path() +
                                      "'; a manifest must list each path once, in byte order",
                                  e->path());
    }
    if (more) *last = e->path();
    return more;
  };
  bool first_b = true, first_n = true;
  LIFEBOAT_ASSIGN_OR_RETURN(have_b, pull(base, &b, &last_b, first_b, "base"));
  first_b = false;
  LIFEBOAT_ASSIGN_OR_RETURN(have_n, pull(next, &n, &last_n, first_n, "new"));
  first_n = false;
  while (have_b || have_n) {
    const int cmp = !have_b ? 1 : !have_n ? -1 : b.path().compare(n.path());
    if (cmp < 0) {
      if (diff.removed) LIFEBOAT_RETURN_IF_ERROR(diff.removed(b));
      LIFEBOAT_ASSIGN_OR_RETURN(have_b, pull(base, &b, &last_b, false, "base"));
    } else if (cmp > 0) {
      if (diff.added) LIFEBOAT_RETURN_IF_ERROR(diff.added(n));
      LIFEBOAT_ASSIGN_OR_RETURN(have_n, pull(next, &n, &last_n, false, "new"));
    } else {
      const bool same = diff.same ? diff.same(b, n) : SameEntry(b, n);
      if (same && diff.unchanged) LIFEBOAT_RETURN_IF_ERROR(diff.unchanged(b, n));
      if (!same && diff.changed) LIFEBOAT_RETURN_IF_ERROR(diff.changed(b, n));
      LIFEBOAT_ASSIGN_OR_RETURN(have_b, pull(base, &b, &last_b, false, "base"));
      LIFEBOAT_ASSIGN_OR_RETURN(have_n, pull(next, &n, &last_n, false, "new"));
    }
  }
  return OkStatus();
}

}  // namespace lifeboat::sdk
