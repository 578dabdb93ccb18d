#include "staged_index.h"

#include <fcntl.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fs.h"
#include "layout.h"
#include "manifest_io.h"

namespace lifeboat::localfs {

Status ManifestChecker::Add(const v1::Entry& e) {
  LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(e.path(), "manifest path"));
  if (!first_ && !(last_ < e.path())) {
    return InvalidArgumentError("entries are not sorted and unique at " + e.path(), e.path());
  }
  first_ = false;
  last_ = e.path();
  // Every parent must be a directory of the manifest: a path can then never lead through a
  // symbolic link that an earlier entry created.
  std::string parent = ParentOf(e.path());
  if (!parent.empty() && dirs_.count(parent) == 0) {
    return InvalidArgumentError(
        e.path() + " lies below " + parent + ", which is not a directory of the manifest",
        e.path());
  }
  switch (e.type()) {
    case v1::ENTRY_DIRECTORY:
      dirs_.insert(e.path());
      return OkStatus();
    case v1::ENTRY_FILE:
      if (e.digest().size() != sdk::kSha256Bytes) {
        return InvalidArgumentError(e.path() + " has no SHA-256 digest", e.path());
      }
      return OkStatus();
    case v1::ENTRY_SYMLINK:
      return OkStatus();
    default:
      return InvalidArgumentError(e.path() + " has an unknown type", e.path());
  }
}

bool LooksLikePartName(std::string_view path) {
  constexpr std::string_view kPart = ".lbpart";
  size_t end = path.size();
  while (end > 0 && path[end - 1] >= '0' && path[end - 1] <= '9') --end;
  return end >= kPart.size() && path.substr(end - kPart.size(), kPart.size()) == kPart;
}

sdk::ManifestWriterOptions IndexWriterOptions() {
  sdk::ManifestWriterOptions options;
  // Entries arrive sorted; the buffer only bounds what a run holds.
  options.buffer_bytes = size_t{8} << 20;
  options.index_every = kIndexEvery;
  options.digest_domain = kManifestDigestDomain;
  return options;
}

Status EnsurePointIndex(const std::string& point_dir) {
  const std::string index = JoinPath(point_dir, kIndexFile);
  if (::access(index.c_str(), F_OK) == 0) return OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(auto entries,
                            ManifestFileEntries::Open(JoinPath(point_dir, kManifestFile), false));
  sdk::ManifestWriter writer(index, IndexWriterOptions());
  v1::Entry e;
  for (;;) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, entries->Next(&e));
    if (!more) break;
    LIFEBOAT_RETURN_IF_ERROR(writer.Add(std::move(e)));
    e.Clear();
  }
  return writer.Finish().status();
}

StatusOr<std::unique_ptr<IndexCursor>> IndexCursor::Open(const std::string& file) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<sdk::ManifestReader> reader,
                            sdk::ManifestReader::Open(file));
  return std::unique_ptr<IndexCursor>(new IndexCursor(std::move(reader)));
}

Status IndexCursor::Advance() {
  LIFEBOAT_ASSIGN_OR_RETURN(bool more, reader_->Next(&current_));
  have_ = more;
  return OkStatus();
}

StatusOr<const v1::Entry*> IndexCursor::Find(std::string_view path) {
  if (!started_ || path < last_asked_) {
    LIFEBOAT_RETURN_IF_ERROR(reader_->Seek(path));
    started_ = true;
    LIFEBOAT_RETURN_IF_ERROR(Advance());
  }
  last_asked_ = std::string(path);
  while (have_ && std::string_view(current_.path()) < path) {
    LIFEBOAT_RETURN_IF_ERROR(Advance());
  }
  if (have_ && current_.path() == path) return &current_;
  return nullptr;
}

Status IndexCursor::ForRange(std::string_view first, std::string_view last, bool whole,
                             const std::function<Status(const v1::Entry&)>& each) {
  LIFEBOAT_RETURN_IF_ERROR(reader_->Seek(whole ? std::string_view() : first));
  started_ = true;
  last_asked_.clear();
  for (;;) {
    LIFEBOAT_RETURN_IF_ERROR(Advance());
    if (!have_ || (!whole && std::string_view(current_.path()) > last)) break;
    LIFEBOAT_RETURN_IF_ERROR(each(current_));
  }
  // The position is past the range: a Find must seek again.
  started_ = false;
  return OkStatus();
}

namespace {
constexpr char kRangeKind[] = "range";
}  // namespace

std::string EncodeTaskRange(const TaskRange& range) {
  v1::TransferTask t;
  t.set_kind(kRangeKind);
  t.set_task_id(range.base_rp);
  if (!range.whole) {
    t.add_paths(range.first);
    t.add_paths(range.last);
  }
  return t.SerializeAsString();
}

StatusOr<std::optional<TaskRange>> DecodeTaskRange(const v1::TransferTask& task) {
  if (task.opaque().empty()) return std::optional<TaskRange>();
  v1::TransferTask t;
  if (!t.ParseFromString(task.opaque())) {
    return InvalidArgumentError("task " + task.task_id() +
                                    " carries opaque bytes that do not parse; plan the transfer "
                                    "again",
                                task.task_id());
  }
  if (t.kind() != kRangeKind) return std::optional<TaskRange>();  // link sources, say
  if (t.paths_size() != 0 && t.paths_size() != 2) {
    return InvalidArgumentError("task " + task.task_id() + " names a range with " +
                                    std::to_string(t.paths_size()) +
                                    " ends; plan the transfer again",
                                task.task_id());
  }
  TaskRange range;
  range.base_rp = t.task_id();
  range.whole = t.paths_size() == 0;
  if (!range.whole) {
    range.first = t.paths(0);
    range.last = t.paths(1);
    LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(range.first, "range start"));
    LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(range.last, "range end"));
  }
  if (!range.base_rp.empty()) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(range.base_rp, "base restore point"));
  }
  return std::optional<TaskRange>(std::move(range));
}

namespace {

// A file read front to back, a buffer at a time.
class Input {
 public:
  Input(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  // One byte; false at the end of the file.
  StatusOr<bool> Byte(uint8_t* b) {
    if (pos_ == len_) {
      LIFEBOAT_RETURN_IF_ERROR(Fill());
      if (len_ == 0) return false;
    }
    *b = static_cast<uint8_t>(buf_[pos_++]);
    return true;
  }
  StatusOr<bool> Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = 0;
      LIFEBOAT_ASSIGN_OR_RETURN(bool got, Byte(&b));
      if (!got) {
        if (shift == 0) return false;
        return Corrupt();
      }
      *v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return true;
    }
    return Corrupt();
  }
  // Hands the next `n` bytes to `sink` (or skips them when it is empty).
  Status Take(uint64_t n, const std::function<Status(std::string_view)>& sink) {
    while (n > 0) {
      if (pos_ == len_) {
        LIFEBOAT_RETURN_IF_ERROR(Fill());
        if (len_ == 0) return Corrupt();
      }
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, len_ - pos_));
      if (sink) LIFEBOAT_RETURN_IF_ERROR(sink(std::string_view(buf_.data() + pos_, k)));
      pos_ += k;
      n -= k;
    }
    return OkStatus();
  }
  Status Corrupt() const {
    return DataLossError(
        "the staged cut " + path_ + " is cut short or damaged; run plan_transfer again", path_);
  }

 private:
  Status Fill() {
    for (;;) {
      ssize_t n = ::read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, "cannot read", path_);
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      return OkStatus();
    }
  }
  int fd_;
  std::string path_;
  std::vector<char> buf_ = std::vector<char>(size_t{1} << 16);
  size_t pos_ = 0, len_ = 0;
};

// A varint that must be there.
Status ReadLength(Input& input, uint64_t* v) {
  LIFEBOAT_ASSIGN_OR_RETURN(bool got, input.Varint(v));
  return got ? OkStatus() : input.Corrupt();
}

}  // namespace

Status WriteManifestFromCut(const std::string& cut_file, const std::string& out,
                            const std::string& append) {
  UniqueFd in(::open(cut_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoError(errno, "cannot open", cut_file);
  const std::string tmp = out + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "cannot create", tmp);
  Input input(in.get(), cut_file);
  auto sink = [&](std::string_view chunk) { return WriteAll(fd.get(), chunk, tmp); };
  bool found = false;
  for (;;) {
    uint64_t tag = 0;
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, input.Varint(&tag));
    if (!more) break;
    const uint64_t field = tag >> 3;
    uint64_t len = 0;
    switch (tag & 7) {
      case 0:
        LIFEBOAT_RETURN_IF_ERROR(ReadLength(input, &len));
        continue;
      case 1:
        LIFEBOAT_RETURN_IF_ERROR(input.Take(8, {}));
        continue;
      case 5:
        LIFEBOAT_RETURN_IF_ERROR(input.Take(4, {}));
        continue;
      case 2:
        LIFEBOAT_RETURN_IF_ERROR(ReadLength(input, &len));
        if (field == static_cast<uint64_t>(v1::CutResponse::kManifestFieldNumber)) {
          // A repeated message field's values merge: every occurrence belongs to the manifest.
          LIFEBOAT_RETURN_IF_ERROR(input.Take(len, sink));
          found = true;
        } else {
          LIFEBOAT_RETURN_IF_ERROR(input.Take(len, {}));
        }
        continue;
      default:
        return input.Corrupt();
    }
  }
  if (!found) return input.Corrupt();
  LIFEBOAT_RETURN_IF_ERROR(WriteAll(fd.get(), append, tmp));
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "cannot flush", tmp);
  fd.Reset();
  if (::rename(tmp.c_str(), out.c_str()) != 0) return ErrnoError(errno, "cannot rename", tmp);
  return sdk::SyncDirectory(ParentOf(out));
}

}  // namespace lifeboat::localfs
