// The source side: cut (hard-link snapshot + manifest) and release.
#include <dirent.h>
#include <fcntl.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/manifest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "acl.h"
#include "digest_cache.h"
#include "fence.h"
#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"

namespace lifeboat::localfs {
namespace {

// How often a file that changes while it is read is read again before the cut gives up.
constexpr int kReadAttempts = 3;
// A digest is cached only for files whose mtime is this much older than the start of their
// read (see digest_cache.h, "racily clean").
constexpr int64_t kRacyMarginNs = 20'000'000;
// The walk's items kept in memory before a sorted run goes to disk.
constexpr size_t kWalkBufferBytes = size_t{16} << 20;
// The items finished at once after the walk: this many, or as many as hold this many bytes
// to read (their hashing runs in parallel within the batch).
constexpr size_t kBatchItems = 4096;
constexpr uint64_t kBatchBytes = uint64_t{256} << 20;

// What a cut keeps of a file's stat (a struct stat is 144 bytes; a cut holds one per file
// until its manifest is written: issue 13).
struct FileState {
  FileState() = default;
  explicit FileState(const struct stat& st)
      : inode(static_cast<uint64_t>(st.st_ino)),
        size(static_cast<uint64_t>(st.st_size)),
        mtime_ns(MtimeNs(st)),
        ctime_ns(CtimeNs(st)),
        mode(st.st_mode & 07777),
        uid(st.st_uid),
        gid(st.st_gid) {}
  StatStamp stamp() const { return StatStamp{inode, size, mtime_ns, ctime_ns}; }
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// What the walk learned about a file, carried through the sorted scratch of the walk in its
// entry's digest field: the digest is not known yet, and the scratch is never a manifest.
struct WalkState {
  bool linked = false;  // false: the snapshot needs a copy (linking was refused)
  FileState before;     // the data set's file just before the link
  FileState after;      // the snapshot's link just after it
};

void PutFileState(std::string& out, const FileState& f) {
  AppendU64(out, f.inode);
  AppendU64(out, f.size);
  AppendU64(out, static_cast<uint64_t>(f.mtime_ns));
  AppendU64(out, static_cast<uint64_t>(f.ctime_ns));
  AppendU32(out, f.mode);
  AppendU32(out, f.uid);
  AppendU32(out, f.gid);
}
constexpr size_t kFileStateBytes = 4 * 8 + 3 * 4;

std::string PackWalkState(const WalkState& w) {
  std::string out(1, w.linked ? '\1' : '\0');
  PutFileState(out, w.before);
  PutFileState(out, w.after);
  return out;
}

bool UnpackWalkState(std::string_view in, WalkState* w) {
  if (in.size() != 1 + 2 * kFileStateBytes) return false;
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
    return v;
  };
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
    return v;
  };
  auto get = [&](size_t at, FileState& f) {
    f.inode = u64(at);
    f.size = u64(at + 8);
    f.mtime_ns = static_cast<int64_t>(u64(at + 16));
    f.ctime_ns = static_cast<int64_t>(u64(at + 24));
    f.mode = u32(at + 32);
    f.uid = u32(at + 36);
    f.gid = u32(at + 40);
  };
  w->linked = in[0] != 0;
  get(1, w->before);
  get(1 + kFileStateBytes, w->after);
  return true;
}

// How much the walk found, for the cut's progress.
struct WalkTotals {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

struct CutItem {
  v1::Entry entry;
  bool linked = false;      // false: the snapshot holds a copy (linking was refused)
  bool cacheable = false;   // the digest may be reused by the next cut
  bool from_cache = false;  // the digest was reused from the previous cut: nothing to read
  FileState final_stat;     // the stat that goes with the digest
};

bool SameFileState(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && MtimeNs(a) == MtimeNs(b) &&
         CtimeNs(a) == CtimeNs(b);
}

// O_NOATIME keeps a backup from touching atimes; it needs ownership (or CAP_FOWNER), so
// fall back to a plain open when refused.
int OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  return fd;
}

// Walks the data set under `src_root`, recreating directories and symbolic links under
// `dst_root` and hard-linking every regular file there. Hands every item to `walk` (which
// sorts them on disk), a file's stats around its link packed in its digest field (WalkState).
Status LinkTree(const std::string& src_root, const std::string& dst_root, const sdk::Call& call,
                const sdk::Host& host, sdk::ManifestWriter& walk, WalkTotals& totals) {
  std::vector<std::string> pending = {""};
  size_t seen = 0;
  while (!pending.empty()) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    std::string src_dir = JoinPath(src_root, rel);
    DIR* d = ::opendir(src_dir.c_str());
    if (d == nullptr) {
      // A subdirectory removed while the cut runs is simply not part of the cut.
      if (errno == ENOENT && !rel.empty()) continue;
      return ErrnoError(errno, "cannot list", src_dir);
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    for (const auto& name : names) {
      if (++seen % 256 == 0 && call.Cancelled()) {
        return CancelledError("cut cancelled while linking; cut again to start over");
      }
      std::string child = rel.empty() ? name : rel + "/" + name;
      std::string src = JoinPath(src_root, child);
      std::string dst = JoinPath(dst_root, child);
      if (!IsValidUtf8(child)) {
        return FailedPreconditionError(
            "cannot record " + Printable(src) +
                ": its name is not valid UTF-8, which restore point manifests require; rename "
                "it and cut again",
            Printable(src));
      }
      struct stat st;
      if (::lstat(src.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // deleted while the cut runs
        return ErrnoError(errno, "cannot inspect", src);
      }
      v1::Entry e;
      e.set_path(child);
      e.set_mode(st.st_mode & 07777);
      e.set_uid(st.st_uid);
      e.set_gid(st.st_gid);
      e.set_mtime_unix_nanos(MtimeNs(st));
      if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
        // ACLs belong to the inode (shared with the snapshot's link); a directory's default
        // ACL too. Read from the data set, before its content is linked or hashed.
        StatusOr<Acl> access = ReadAcl(src, AclKind::kAccess);
        if (!access.ok()) {
          if (access.status().code() == Code::kNotFound) continue;  // deleted while the cut runs
          return access.status();
        }
        e.set_acl_access(access->ToText());
        if (S_ISDIR(st.st_mode)) {
          StatusOr<Acl> inherited = ReadAcl(src, AclKind::kDefault);
          if (!inherited.ok()) {
            if (inherited.status().code() == Code::kNotFound) continue;
            return inherited.status();
          }
          e.set_acl_default(inherited->ToText());
        }
      }
      if (S_ISDIR(st.st_mode)) {
        e.set_type(v1::ENTRY_DIRECTORY);
        if (::mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) {
          return ErrnoError(errno, "cannot create snapshot directory", dst);
        }
        pending.push_back(child);
      } else if (S_ISREG(st.st_mode)) {
        e.set_type(v1::ENTRY_FILE);
        e.set_size(static_cast<uint64_t>(st.st_size));
        WalkState state;
        state.before = FileState(st);
        if (::link(src.c_str(), dst.c_str()) == 0) {
          state.linked = true;
          struct stat linked;
          if (::lstat(dst.c_str(), &linked) != 0) {
            return ErrnoError(errno, "cannot inspect snapshot file", dst);
          }
          // The ctime after our own link(2) is the one the cache may follow (see
          // digest_cache.h); the stat just taken is also the file's state at the cut.
          state.after = FileState(linked);
        } else if (errno == ENOENT) {
          continue;  // deleted while the cut runs
        } else if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP ||
                   errno == EACCES) {
          // Another file system below the data set, a hard-link restriction
          // (fs.protected_hardlinks) or the link count limit: copy instead.
          state.linked = false;
        } else {
          return ErrnoError(errno, "cannot link into the snapshot", src);
        }
        e.set_digest(PackWalkState(state));
      } else if (S_ISLNK(st.st_mode)) {
        StatusOr<std::string> read = ReadLink(src);
        if (!read.ok()) {
          if (read.status().code() == Code::kNotFound) continue;  // deleted while the cut runs
          return read.status();
        }
        const std::string& target = *read;
        if (!IsValidUtf8(target)) {
          return FailedPreconditionError("cannot record symbolic link " + Printable(src) +
                                             ": its target is not valid UTF-8; change it and "
                                             "cut again",
                                         Printable(src));
        }
        e.set_type(v1::ENTRY_SYMLINK);
        e.set_symlink_target(target);
        if (::symlink(target.c_str(), dst.c_str()) != 0) {
          return ErrnoError(errno, "cannot create snapshot symbolic link", dst);
        }
      } else {
        host.Warn("skipping " + Printable(src) +
                  ": sockets, FIFOs and device files are not part of a localfs restore point");
        continue;
      }
      if (e.type() == v1::ENTRY_FILE) {
        ++totals.files;
        totals.bytes += e.size();
      }
      LIFEBOAT_RETURN_IF_ERROR(walk.Add(std::move(e)));
    }
  }
  return OkStatus();
}

// Reads the snapshot file of `item` (or copies the source into it when it could not be
// linked) and sets its digest and metadata. A file that changes while it is read is read
// again; one that keeps changing is refused rather than recorded torn.
Status HashItem(CutItem& item, const std::string& src_root, const std::string& tree,
                const Config& config, const sdk::Call& call, sdk::ProgressReporter& progress,
                std::atomic<bool>& stop, bool& reread) {
  const std::string& rel = item.entry.path();
  std::string src = JoinPath(src_root, rel);
  std::string snap = JoinPath(tree, rel);
  int attempt = 0;
  sdk::ReadChunkCallback on_chunk = [&](uint64_t n) -> Status {
    if (attempt == 0) progress.Add(n, 0, rel, false);  // a re-read is not new progress
    if (stop.load()) return CancelledError("stopped");
    if (call.Cancelled()) return CancelledError("cut cancelled; cut again to start over");
    return OkStatus();
  };
  for (; attempt < kReadAttempts; ++attempt) {
    if (attempt > 0) reread = true;
    int64_t read_start = CoarseNowNs();
    sdk::Sha256 sha;
    std::string sha_of_copy;
    struct stat before, after;
    if (item.linked) {
      UniqueFd fd(OpenForRead(snap));
      if (!fd.valid()) return ErrnoError(errno, "cannot open snapshot file", snap);
      if (::fstat(fd.get(), &before) != 0) return ErrnoError(errno, "cannot inspect", snap);
      LIFEBOAT_ASSIGN_OR_RETURN(uint64_t bytes,
                                sdk::HashFd(fd.get(), snap, config.chunk_bytes, sha, on_chunk));
      if (::fstat(fd.get(), &after) != 0) return ErrnoError(errno, "cannot inspect", snap);
      if (!SameFileState(before, after) || bytes != static_cast<uint64_t>(before.st_size)) {
        call.host().Warn(rel + " changed while the cut read it; reading it again");
        continue;
      }
    } else {
      UniqueFd in(OpenForRead(src));
      if (!in.valid()) return ErrnoError(errno, "cannot open", src);
      if (::fstat(in.get(), &before) != 0) return ErrnoError(errno, "cannot inspect", src);
      // From scratch: a copy left by an earlier attempt is of another state of the file.
      if (::unlink(snap.c_str()) != 0 && errno != ENOENT) {
        return ErrnoError(errno, "cannot remove the snapshot copy", snap);
      }
      sdk::CopyOptions options;
      options.sync = false;  // commit's syncfs makes the snapshot durable
      options.write_back = true;
      options.create_mode = 0600;
      options.on_chunk = on_chunk;
      StatusOr<sdk::CopyResult> copied = sdk::CopyResumable(
          call, sdk::FdRangeReader(in.get(), src, static_cast<uint64_t>(config.chunk_bytes)),
          static_cast<uint64_t>(before.st_size), snap, options);
      if (!copied.ok() && copied.status().code() != Code::kOutOfRange) return copied.status();
      if (copied.ok()) sha_of_copy = copied->sha256;
      if (::fstat(in.get(), &after) != 0) return ErrnoError(errno, "cannot inspect", src);
      if (!copied.ok() || !SameFileState(before, after)) {
        call.host().Warn(rel + " changed while the cut copied it; copying it again");
        continue;
      }
    }
    std::string digest = item.linked ? sha.Finish() : sha_of_copy;
    if (digest.size() != sdk::kSha256Bytes) return InternalError("SHA-256 failed for " + snap, rel);
    item.entry.set_digest(digest);
    item.final_stat = FileState(after);
    item.cacheable = item.linked && MtimeNs(after) + kRacyMarginNs < read_start;
    progress.Add(0, 1, rel, false);
    return OkStatus();
  }
  return AbortedError(rel +
                          " kept changing while it was read; cut again (or quiesce the writers "
                          "of the data set first)",
                      rel);
}

// The cut record (cut.pb, a CutResponse) written as a stream: the manifest's entries go to a
// side file as they are finished, and Finish() composes the record around them with the
// fields known only at the end (a nested message needs its length first). A serialized
// message is the concatenation of its fields in any order, so the manifest is its head
// (snapshot, digest algorithm), the entries, then its tail (counts, digest, names).
class CutRecordWriter {
 public:
  explicit CutRecordWriter(std::string cut_file)
      : cut_file_(std::move(cut_file)), entries_file_(cut_file_ + ".entries") {
    fd_ = UniqueFd(::open(entries_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  }
  ~CutRecordWriter() { ::unlink(entries_file_.c_str()); }

  Status Add(const v1::Entry& e) {
    if (!fd_.valid()) return ErrnoError(errno, "cannot create", entries_file_);
    const std::string bytes = e.SerializeAsString();
    buf_ += static_cast<char>((v1::MemberManifest::kEntriesFieldNumber << 3) | 2);
    PutVarint(buf_, bytes.size());
    buf_ += bytes;
    if (buf_.size() >= (size_t{1} << 20)) return Flush();
    return OkStatus();
  }

  // Writes cut.pb (atomically and durably): `snapshot` as the record's reference, `head` and
  // `tail` as the manifest's other fields (no entries in either).
  Status Finish(const v1::SnapshotRef& snapshot, const v1::MemberManifest& head,
                const v1::MemberManifest& tail) {
    LIFEBOAT_RETURN_IF_ERROR(Flush());
    if (::fsync(fd_.get()) != 0) return ErrnoError(errno, "cannot flush", entries_file_);
    fd_.Reset();
    v1::CutResponse outer;
    *outer.mutable_snapshot() = snapshot;
    const std::string head_bytes = head.SerializeAsString();
    const std::string tail_bytes = tail.SerializeAsString();
    std::string prefix = outer.SerializeAsString();
    prefix += static_cast<char>((v1::CutResponse::kManifestFieldNumber << 3) | 2);
    PutVarint(prefix, head_bytes.size() + entries_bytes_ + tail_bytes.size());
    prefix += head_bytes;
    const std::string tmp = cut_file_ + ".tmp";
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out.valid()) return ErrnoError(errno, "cannot create", tmp);
    LIFEBOAT_RETURN_IF_ERROR(WriteAll(out.get(), prefix, tmp));
    UniqueFd in(::open(entries_file_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return ErrnoError(errno, "cannot open", entries_file_);
    std::vector<char> chunk(size_t{1} << 20);
    uint64_t copied = 0;
    for (;;) {
      ssize_t n = ::read(in.get(), chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, "cannot read", entries_file_);
      if (n == 0) break;
      LIFEBOAT_RETURN_IF_ERROR(
          WriteAll(out.get(), std::string_view(chunk.data(), static_cast<size_t>(n)), tmp));
      copied += static_cast<uint64_t>(n);
    }
    if (copied != entries_bytes_) {
      return InternalError("the entries of " + cut_file_ + " were not all written", cut_file_);
    }
    LIFEBOAT_RETURN_IF_ERROR(WriteAll(out.get(), tail_bytes, tmp));
    if (::fsync(out.get()) != 0) return ErrnoError(errno, "cannot flush", tmp);
    out.Reset();
    if (::rename(tmp.c_str(), cut_file_.c_str()) != 0)
      return ErrnoError(errno, "cannot rename", tmp);
    return sdk::SyncDirectory(ParentOf(cut_file_));
  }

 private:
  static void PutVarint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
      out += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out += static_cast<char>(v);
  }

  Status Flush() {
    if (!fd_.valid()) return ErrnoError(errno, "cannot create", entries_file_);
    LIFEBOAT_RETURN_IF_ERROR(WriteAll(fd_.get(), buf_, entries_file_));
    entries_bytes_ += buf_.size();
    buf_.clear();
    return OkStatus();
  }

  std::string cut_file_;
  std::string entries_file_;
  UniqueFd fd_;
  std::string buf_;
  uint64_t entries_bytes_ = 0;
};

}  // namespace

StatusOr<v1::CutResponse> LocalfsPlugin::Cut(sdk::Call& call, const v1::CutRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("cut needs an op_id", "op_id");
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(req.restore_point_id()));
  const std::string& selector = req.data_set().selector();
  const std::string& rp = req.restore_point_id();
  const std::string name = DataSetName(req.data_set());
  const std::string key = DataSetKey(selector);
  auto ds_lock = locks_.Get("ds:" + key);
  std::unique_lock<std::shared_mutex> guard(*ds_lock);

  const std::string snap = layout_.Snapshot(key, rp);
  const std::string cut_file = JoinPath(snap, kCutFile);
  StatusOr<v1::CutResponse> existing = ReadCutHeader(cut_file);
  if (existing.ok()) {
    if (existing->snapshot().cut_op_id() == req.op_id()) return existing;
    return AlreadyExistsError("restore point " + rp + " of " + name +
                                  " was already cut by operation " +
                                  existing->snapshot().cut_op_id() +
                                  "; release that cut first or use a new restore point id",
                              rp);
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();

  const std::string data_dir = layout_.DataDir(selector);
  struct stat root_st;
  if (::stat(data_dir.c_str(), &root_st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFoundError(
          "data set " + name + " has no directory " + data_dir + "; create it or fix the selector",
          data_dir);
    }
    return ErrnoError(errno, "cannot inspect data set directory", data_dir);
  }
  if (!S_ISDIR(root_st.st_mode)) {
    return FailedPreconditionError("data set " + name + ": " + data_dir + " is not a directory",
                                   data_dir);
  }

  LIFEBOAT_ASSIGN_OR_RETURN(auto leftover, LstatIfExists(snap));
  if (leftover) {
    host_.Warn("removing the incomplete cut " + snap + " left by an interrupted run");
    LIFEBOAT_RETURN_IF_ERROR(RemoveSnapshotDir(key, selector, snap));
  }
  const std::string tree = JoinPath(snap, kTreeDir);
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(tree, 0700));

  // The walk: every item into sorted runs on disk (memory does not grow with the file count).
  const int64_t cut_start = host_.NowUnixNanos();
  const std::string walk_file = JoinPath(snap, "walk.lbm");
  WalkTotals totals;
  {
    sdk::ManifestWriterOptions options;
    options.buffer_bytes = kWalkBufferBytes;
    options.durable = false;  // scratch: an interrupted cut is cut again from the start
    sdk::ManifestWriter walk(walk_file, options);
    LIFEBOAT_RETURN_IF_ERROR(LinkTree(data_dir, tree, call, host_, walk, totals));
    LIFEBOAT_RETURN_IF_ERROR(walk.Finish().status());
  }
  int64_t cut_end = host_.NowUnixNanos();
  if (call.Cancelled()) return CancelledError("cut cancelled; cut again to start over");

  // Then in path order, a batch at a time: digests the cache vouches for are reused, the
  // other files are read (in parallel within the batch), and each item is finished and
  // written to the cut record and the new digest cache as it comes.
  sdk::ProgressReporter progress(call, "cut", totals.bytes, totals.files);
  progress.set_every_bytes(static_cast<uint64_t>(config_.chunk_bytes));
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<sdk::ManifestReader> walked,
                            sdk::ManifestReader::Open(walk_file));
  std::unique_ptr<DigestCacheReader> old_cache = DigestCacheReader::Open(layout_.DigestCache(key));
  DigestCacheWriter new_cache(layout_.DigestCache(key));
  Status cache_saved = OkStatus();
  CutRecordWriter record(cut_file);
  sdk::ManifestDigester digester(kManifestDigestDomain);
  // A fence by write bits changed the modes the walk saw; the point records the data set
  // as it is without the fence (the immutable attribute changes nothing recorded).
  const std::map<std::string, uint32_t> unfenced_modes = FencedOriginalModes(layout_, selector);
  NameCache names;
  std::map<uint32_t, std::string> named_users, named_groups;
  uint64_t total_bytes = 0, entry_count = 0, files_read = 0, files_reused = 0;
  std::atomic<bool> any_reread{false};

  std::vector<CutItem> batch;
  uint64_t batch_bytes = 0;  // to read
  auto finish_batch = [&]() -> Status {
    // Big files first, so that one large file does not run alone at the end.
    std::vector<size_t> files;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].entry.type() == v1::ENTRY_FILE && !batch[i].from_cache) files.push_back(i);
    }
    std::stable_sort(files.begin(), files.end(), [&](size_t a, size_t b) {
      return batch[a].entry.size() > batch[b].entry.size();
    });
    std::atomic<bool> stop{false};
    LIFEBOAT_RETURN_IF_ERROR(sdk::ParallelFor(
        files.size(), config_.parallelism,
        [&](size_t i) -> Status {
          if (call.Cancelled()) return CancelledError("cut cancelled; cut again to start over");
          bool reread = false;
          Status st =
              HashItem(batch[files[i]], data_dir, tree, config_, call, progress, stop, reread);
          if (reread) any_reread = true;
          return st;
        },
        &stop));
    files_read += files.size();
    for (CutItem& item : batch) {
      v1::Entry& e = item.entry;
      if (e.type() == v1::ENTRY_FILE) {
        const FileState& st = item.final_stat;
        e.set_size(st.size);
        e.set_mtime_unix_nanos(st.mtime_ns);
        e.set_mode(st.mode);
        e.set_uid(st.uid);
        e.set_gid(st.gid);
        total_bytes += e.size();
        if (item.cacheable && cache_saved.ok()) {
          cache_saved = new_cache.Add(
              e.path(), DigestRecord{st.inode, st.size, st.mtime_ns, st.ctime_ns, e.digest()});
        }
      }
      if (auto it = unfenced_modes.find(e.path()); it != unfenced_modes.end()) {
        e.set_mode(it->second);
        // The fence's chmod changed the access ACL's owner, mask and other entries too.
        StatusOr<Acl> access = Acl::FromText(e.acl_access());
        if (access.ok() && !access->empty()) {
          e.set_acl_access(access->WithMode(it->second).ToText());
        }
      }
      e.set_owner(names.User(e.uid()));
      e.set_group(names.Group(e.gid()));
      named_users[e.uid()] = e.owner();
      named_groups[e.gid()] = e.group();
      // Named ACL entries: a peer that reads this manifest through the stream cannot ask this
      // host's user database what their ids are called.
      for (const std::string* text : {&e.acl_access(), &e.acl_default()}) {
        if (text->empty()) continue;
        StatusOr<Acl> acl = Acl::FromText(*text);
        if (!acl.ok()) continue;
        for (const AclEntry& a : acl->entries()) {
          if (a.tag == AclEntry::kUser) named_users[a.id] = names.User(a.id);
          if (a.tag == AclEntry::kGroup) named_groups[a.id] = names.Group(a.id);
        }
      }
      digester.Add(e);
      LIFEBOAT_RETURN_IF_ERROR(record.Add(e));
      ++entry_count;
    }
    batch.clear();
    batch_bytes = 0;
    return OkStatus();
  };
  v1::Entry e;
  for (;;) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, walked->Next(&e));
    if (!more) break;
    CutItem item;
    if (e.type() == v1::ENTRY_FILE) {
      WalkState state;
      if (!UnpackWalkState(e.digest(), &state)) {
        return InternalError("the cut's walk of " + name + " lost the state of " + e.path(),
                             e.path());
      }
      e.clear_digest();
      item.linked = state.linked;
      const DigestRecord* cached = state.linked ? old_cache->Find(e.path()) : nullptr;
      if (cached != nullptr && CacheVouches(*cached, state.before.stamp(), state.after.stamp())) {
        e.set_digest(cached->digest);
        item.final_stat = state.after;
        item.cacheable = item.from_cache = true;
        ++files_reused;
        progress.Add(e.size(), 1, "", false);
      } else {
        batch_bytes += e.size();
      }
    }
    item.entry = std::move(e);
    e.Clear();
    batch.push_back(std::move(item));
    if (batch.size() >= kBatchItems || batch_bytes >= kBatchBytes) {
      LIFEBOAT_RETURN_IF_ERROR(finish_batch());
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(finish_batch());
  walked.reset();
  ::unlink(walk_file.c_str());
  // A file read again holds its content as of that later read.
  if (any_reread) cut_end = std::max(cut_end, host_.NowUnixNanos());

  v1::CutResponse resp;
  v1::SnapshotRef* ref = resp.mutable_snapshot();
  ref->set_plugin(kPluginName);
  ref->set_cluster(config_.cluster);
  *ref->mutable_data_set() = req.data_set();
  ref->set_restore_point_id(rp);
  ref->set_snapshot_id(rp);
  ref->set_cut_start_unix_nanos(cut_start);
  ref->set_cut_end_unix_nanos(cut_end);
  ref->set_cut_op_id(req.op_id());
  v1::MemberManifest head, tail;
  *head.mutable_snapshot() = *ref;
  head.set_digest_algorithm(sdk::kSha256Algorithm);
  tail.set_total_bytes(total_bytes);
  for (const auto& [id, n] : named_users) {
    if (!n.empty()) (*tail.mutable_user_names())[id] = n;
  }
  for (const auto& [id, n] : named_groups) {
    if (!n.empty()) (*tail.mutable_group_names())[id] = n;
  }
  tail.set_manifest_digest(digester.Finish());
  tail.set_entry_count(entry_count);

  if (cache_saved.ok()) cache_saved = new_cache.Finish();
  if (!cache_saved.ok()) host_.Warn("cannot save the digest cache: " + cache_saved.ToString());
  old_cache.reset();
  // Written last: its presence is what makes the cut complete.
  LIFEBOAT_RETURN_IF_ERROR(record.Finish(*ref, head, tail));
  progress.Flush();
  host_.Info("cut " + name + " for restore point " + rp + ": " + std::to_string(entry_count) +
             " entries, " + std::to_string(total_bytes) + " bytes in " +
             std::to_string(totals.files) + " files, " + std::to_string(files_read) +
             " files read, " + std::to_string(files_reused) + " digests reused");
  // The entries stay in cut.pb, where the target reads them; the engine keeps counts.
  v1::MemberManifest* manifest = resp.mutable_manifest();
  *manifest = head;
  manifest->MergeFrom(tail);
  return resp;
}

Status LocalfsPlugin::RemoveSnapshotDir(const std::string& key, const std::string& selector,
                                        const std::string& dir) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string trash, MoveToTrash(dir));
  if (trash.empty()) return OkStatus();
  // The cache's records in path order (not the tree's walk: no collection of either): a
  // record whose snapshot link is still the recorded inode and ctime is unlinked here, and
  // follows the ctime change that the unlink made (see digest_cache.h).
  std::unique_ptr<DigestCacheReader> cache = DigestCacheReader::Open(layout_.DigestCache(key));
  DigestCacheWriter updated(layout_.DigestCache(key));
  const std::string tree = JoinPath(trash, kTreeDir);
  const std::string data_dir = layout_.DataDir(selector);
  bool changed = false;
  Status kept = OkStatus();
  std::string rel;
  DigestRecord rec;
  while (cache->Next(&rel, &rec)) {
    const std::string link = JoinPath(tree, rel);
    struct stat st;
    if (::lstat(link.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        rec.inode == static_cast<uint64_t>(st.st_ino) && rec.ctime_ns == CtimeNs(st) &&
        ::unlink(link.c_str()) == 0) {
      struct stat now;
      if (::lstat(JoinPath(data_dir, rel).c_str(), &now) == 0 && now.st_ino == st.st_ino) {
        rec.ctime_ns = CtimeNs(now);
        changed = true;
      }
    }
    if (kept.ok()) kept = updated.Add(rel, rec);
  }
  if (changed) {
    if (kept.ok()) kept = updated.Finish();
    if (!kept.ok()) host_.Warn("cannot save the digest cache: " + kept.ToString());
  }
  Status removed = RemoveTree(trash);
  if (removed.code() == Code::kPermissionDenied && !ListFences(layout_).empty()) {
    // Files of a snapshot share inodes with the live data set; while it is fenced by the
    // immutable attribute they cannot be unlinked. They stay in the trash, which unfence
    // (and any expire) empties.
    host_.Warn("the snapshot " + dir + " holds files of a fenced data set; they stay in " +
               layout_.Trash() + " until it is unfenced: " + removed.ToString());
    removed = OkStatus();
  }
  return removed;
}

StatusOr<v1::ReleaseResponse> LocalfsPlugin::Release(sdk::Call& call,
                                                     const v1::ReleaseRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const std::string key = DataSetKey(ref.data_set().selector());
  auto ds_lock = locks_.Get("ds:" + key);
  std::unique_lock<std::shared_mutex> guard(*ds_lock);
  const std::string snap = layout_.Snapshot(key, ref.restore_point_id());
  v1::ReleaseResponse resp;
  LIFEBOAT_ASSIGN_OR_RETURN(auto st, LstatIfExists(snap));
  if (!st) {
    resp.set_released(false);
    return resp;
  }
  StatusOr<v1::SnapshotRef> cut = ReadCutSnapshot(JoinPath(snap, kCutFile));
  if (cut.ok() && !ref.cut_op_id().empty() && cut->cut_op_id() != ref.cut_op_id()) {
    return FailedPreconditionError(
        "the snapshot of restore point " + ref.restore_point_id() + " of " +
            DataSetName(ref.data_set()) + " was made by cut operation " + cut->cut_op_id() +
            ", not " + ref.cut_op_id() +
            "; it is not the one this reference names, so it was left in place",
        snap);
  }
  LIFEBOAT_RETURN_IF_ERROR(RemoveSnapshotDir(key, ref.data_set().selector(), snap));
  host_.Info("released the snapshot of restore point " + ref.restore_point_id() + " of " +
             DataSetName(ref.data_set()));
  resp.set_released(true);
  return resp;
}

}  // namespace lifeboat::localfs
