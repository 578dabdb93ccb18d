// The source side: cut (hard-link snapshot + manifest) and release.
#include <dirent.h>
#include <fcntl.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_map>
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
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
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
// `dst_root` and hard-linking every regular file there. Fills `items` (unsorted). A file
// whose digest `cache` still vouches for, judged by the stats around its link, gets it here
// and is not read.
Status LinkTree(const std::string& src_root, const std::string& dst_root, const DigestCache& cache,
                const sdk::Call& call, const sdk::Host& host, std::vector<CutItem>& items) {
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
      CutItem item;
      v1::Entry& e = item.entry;
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
        if (::link(src.c_str(), dst.c_str()) == 0) {
          item.linked = true;
          struct stat linked;
          if (::lstat(dst.c_str(), &linked) != 0) {
            return ErrnoError(errno, "cannot inspect snapshot file", dst);
          }
          // The ctime after our own link(2) is the one the cache may follow (see
          // digest_cache.h); the stat just taken is also the file's state at the cut.
          if (const std::string* digest = cache.Find(child, st, linked)) {
            e.set_digest(*digest);
            item.final_stat = FileState(linked);
            item.cacheable = true;
            item.from_cache = true;
          }
        } else if (errno == ENOENT) {
          continue;  // deleted while the cut runs
        } else if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP ||
                   errno == EACCES) {
          // Another file system below the data set, a hard-link restriction
          // (fs.protected_hardlinks) or the link count limit: copy instead.
          item.linked = false;
        } else {
          return ErrnoError(errno, "cannot link into the snapshot", src);
        }
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
      items.push_back(std::move(item));
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
  StatusOr<v1::CutResponse> existing = ReadProto<v1::CutResponse>(cut_file);
  if (existing.ok()) {
    if (existing->snapshot().cut_op_id() == req.op_id()) {
      KeepEntriesHome(*existing->mutable_manifest());
      return existing;
    }
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
  DigestCache cache = DigestCache::Load(layout_.DigestCache(key));

  const int64_t cut_start = host_.NowUnixNanos();
  std::vector<CutItem> items;
  LIFEBOAT_RETURN_IF_ERROR(LinkTree(data_dir, tree, cache, call, host_, items));
  cache = DigestCache();  // consulted by the walk only: not held beside the new records
  int64_t cut_end = host_.NowUnixNanos();
  if (call.Cancelled()) return CancelledError("cut cancelled; cut again to start over");

  // Files the cache could not vouch for are read; the others count as done at once.
  std::vector<size_t> files;
  uint64_t bytes_total = 0, bytes_cached = 0;
  size_t files_total = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const CutItem& item = items[i];
    if (item.entry.type() != v1::ENTRY_FILE) continue;
    ++files_total;
    bytes_total += item.entry.size();
    if (item.from_cache) {
      bytes_cached += item.entry.size();
    } else {
      files.push_back(i);
    }
  }
  // Big files first, so that one large file does not run alone at the end.
  std::stable_sort(files.begin(), files.end(), [&](size_t a, size_t b) {
    return items[a].entry.size() > items[b].entry.size();
  });
  sdk::ProgressReporter progress(call, "cut", bytes_total, files_total);
  progress.set_every_bytes(static_cast<uint64_t>(config_.chunk_bytes));
  progress.Add(bytes_cached, files_total - files.size(), "", false);
  std::atomic<bool> stop{false};
  std::atomic<bool> any_reread{false};
  Status hashed = sdk::ParallelFor(
      files.size(), config_.parallelism,
      [&](size_t i) -> Status {
        if (call.Cancelled()) return CancelledError("cut cancelled; cut again to start over");
        bool reread = false;
        Status s = HashItem(items[files[i]], data_dir, tree, config_, call, progress, stop, reread);
        if (reread) any_reread = true;
        return s;
      },
      &stop);
  LIFEBOAT_RETURN_IF_ERROR(hashed);
  // A file read again holds its content as of that later read.
  if (any_reread) cut_end = std::max(cut_end, host_.NowUnixNanos());

  // A fence by write bits changed the modes the walk saw; the point records the data set
  // as it is without the fence (the immutable attribute changes nothing recorded).
  const std::map<std::string, uint32_t> unfenced_modes = FencedOriginalModes(layout_, selector);
  NameCache names;
  std::map<uint32_t, std::string> named_users, named_groups;
  uint64_t total_bytes = 0;
  std::unordered_map<std::string, DigestCache::Record> records;
  for (CutItem& item : items) {
    v1::Entry& e = item.entry;
    if (e.type() == v1::ENTRY_FILE) {
      const FileState& st = item.final_stat;
      e.set_size(st.size);
      e.set_mtime_unix_nanos(st.mtime_ns);
      e.set_mode(st.mode);
      e.set_uid(st.uid);
      e.set_gid(st.gid);
      total_bytes += e.size();
      if (item.cacheable) {
        records[e.path()] =
            DigestCache::Record{st.inode, st.size, st.mtime_ns, st.ctime_ns, e.digest()};
      }
    }
    if (auto it = unfenced_modes.find(e.path()); it != unfenced_modes.end()) {
      e.set_mode(it->second);
      // The fence's chmod changed the access ACL's owner, mask and other entries too.
      StatusOr<Acl> access = Acl::FromText(e.acl_access());
      if (access.ok() && !access->empty()) e.set_acl_access(access->WithMode(it->second).ToText());
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
  }
  std::sort(items.begin(), items.end(),
            [](const CutItem& a, const CutItem& b) { return a.entry.path() < b.entry.path(); });

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
  v1::MemberManifest* manifest = resp.mutable_manifest();
  *manifest->mutable_snapshot() = *ref;
  manifest->set_digest_algorithm(sdk::kSha256Algorithm);
  manifest->mutable_entries()->Reserve(static_cast<int>(items.size()));
  for (CutItem& item : items) *manifest->add_entries() = std::move(item.entry);
  std::vector<CutItem>().swap(items);  // moved out: their stats go before cut.pb is written
  manifest->set_total_bytes(total_bytes);
  for (const auto& [id, n] : named_users) {
    if (!n.empty()) (*manifest->mutable_user_names())[id] = n;
  }
  for (const auto& [id, n] : named_groups) {
    if (!n.empty()) (*manifest->mutable_group_names())[id] = n;
  }
  manifest->set_manifest_digest(ManifestDigest(*manifest));
  manifest->set_entry_count(static_cast<uint64_t>(manifest->entries_size()));

  cache.ReplaceRecords(std::move(records));
  Status saved = cache.Save(layout_.DigestCache(key));
  if (!saved.ok()) host_.Warn("cannot save the digest cache: " + saved.ToString());
  cache = DigestCache();  // saved: not held while cut.pb is serialized
  // Written last: its presence is what makes the cut complete.
  LIFEBOAT_RETURN_IF_ERROR(WriteLargeProto(cut_file, resp));
  progress.Flush();
  host_.Info("cut " + name + " for restore point " + rp + ": " +
             std::to_string(manifest->entry_count()) + " entries, " + std::to_string(total_bytes) +
             " bytes in " + std::to_string(files_total) + " files, " +
             std::to_string(files.size()) + " files read, " +
             std::to_string(files_total - files.size()) + " digests reused");
  // The entries stay in cut.pb, where the target reads them; the engine keeps counts.
  KeepEntriesHome(*manifest);
  return resp;
}

Status LocalfsPlugin::RemoveSnapshotDir(const std::string& key, const std::string& selector,
                                        const std::string& dir) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string trash, MoveToTrash(dir));
  if (trash.empty()) return OkStatus();
  DigestCache cache = DigestCache::Load(layout_.DigestCache(key));
  bool changed = false;
  if (cache.size() > 0) {
    std::string tree = JoinPath(trash, kTreeDir);
    std::string data_dir = layout_.DataDir(selector);
    // Walked a directory at a time: the snapshot's items are not collected (issue 13).
    Status walked = ForEachInTree(tree, [&](const std::string& rel, const struct stat& st) {
      if (!S_ISREG(st.st_mode)) return OkStatus();
      const DigestCache::Record* rec = cache.Get(rel);
      if (rec == nullptr || rec->inode != static_cast<uint64_t>(st.st_ino) ||
          rec->ctime_ns != CtimeNs(st)) {
        return OkStatus();
      }
      // unlink(2) stamps the inode's ctime; follow it through the data set's own name.
      if (::unlink(JoinPath(tree, rel).c_str()) != 0) return OkStatus();
      struct stat now;
      if (::lstat(JoinPath(data_dir, rel).c_str(), &now) == 0 && now.st_ino == st.st_ino) {
        changed |= cache.Chain(rel, static_cast<uint64_t>(st.st_ino), CtimeNs(st), CtimeNs(now));
      }
      return OkStatus();
    });
    (void)walked;  // as before: a tree that cannot be walked is removed without chaining
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
  if (changed) {
    Status saved = cache.Save(layout_.DigestCache(key));
    if (!saved.ok()) host_.Warn("cannot save the digest cache: " + saved.ToString());
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
  StatusOr<v1::CutResponse> cut = ReadProto<v1::CutResponse>(JoinPath(snap, kCutFile));
  if (cut.ok() && !ref.cut_op_id().empty() && cut->snapshot().cut_op_id() != ref.cut_op_id()) {
    return FailedPreconditionError(
        "the snapshot of restore point " + ref.restore_point_id() + " of " +
            DataSetName(ref.data_set()) + " was made by cut operation " +
            cut->snapshot().cut_op_id() + ", not " + ref.cut_op_id() +
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
