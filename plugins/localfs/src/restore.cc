// restore: makes a directory of this root an exact mirror of a committed point, by copy.
#include <fcntl.h>
#include <lifeboat/sdk/restore.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "copy.h"
#include "fence.h"
#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "parallel.h"
#include "peer.h"
#include "sha256.h"

namespace lifeboat::localfs {
namespace {

enum class Action { kNone, kCreate, kReplace, kRewrite, kMetadata };

bool OwnerDiffers(const v1::Entry& e, const struct stat& st, bool as_root) {
  return as_root && (st.st_uid != e.uid() || st.st_gid != e.gid());
}

// What restore must do to turn `st` (nullptr: nothing there) into `e`.
Action Decide(const v1::Entry& e, const struct stat* st, const std::string& abs, bool as_root) {
  if (st == nullptr) return Action::kCreate;
  if (EntryTypeOf(*st) != e.type()) return Action::kReplace;
  switch (e.type()) {
    case v1::ENTRY_FILE:
      // rsync's quick check: same size and mtime means same content.
      if (static_cast<uint64_t>(st->st_size) != e.size() || MtimeNs(*st) != e.mtime_unix_nanos()) {
        return Action::kRewrite;
      }
      if ((st->st_mode & 07777) != e.mode() || OwnerDiffers(e, *st, as_root) ||
          AclsDiffer(abs, e)) {
        return Action::kMetadata;
      }
      return Action::kNone;
    case v1::ENTRY_SYMLINK: {
      StatusOr<std::string> target = ReadLink(abs);
      return target.ok() && *target == e.symlink_target() ? Action::kNone : Action::kReplace;
    }
    case v1::ENTRY_DIRECTORY:
      if ((st->st_mode & 07777) != e.mode() || OwnerDiffers(e, *st, as_root) ||
          AclsDiffer(abs, e)) {
        return Action::kMetadata;
      }
      return Action::kNone;
    default:
      return Action::kReplace;
  }
}

// Copies the point's file `from` to `dst` through a temporary name in the same directory,
// checking it against the manifest digest on the way. DATA_LOSS when the point's file does
// not match its manifest.
// Copies [0, length) of a point's file into `out_fd` (feeding `sha`): from a file of this host,
// or through the peer stream. OUT_OF_RANGE when the source is shorter; NOT_FOUND when absent.
using FileCopier = std::function<Status(int out_fd, const std::string& out_path, uint64_t length,
                                        Sha256& sha, const ChunkCallback& on_chunk)>;

// `from` names the point's copy in messages (a path, or the item and the peer).
Status RestoreFile(const FileCopier& copy, const std::string& from, const std::string& dst,
                   const v1::Entry& e, const ChunkCallback& on_chunk) {
  std::string tmp = JoinPath(ParentOf(dst), UniqueName(".lbrestore."));
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoError(errno, "cannot create", tmp);
  Sha256 sha;
  Status s = copy(out.get(), tmp, e.size(), sha, on_chunk);
  if (s.code() == Code::kNotFound) {
    s = DataLossError("the restore point lacks " + e.path() + " (" + from +
                          "); verify the point and restore from another one",
                      from);
  } else if (s.ok() && sha.Finish() != e.digest()) {
    s = DataLossError("the restore point's copy of " + e.path() + " (" + from +
                          ") does not match its manifest digest; verify the point and restore "
                          "from another one",
                      from);
  } else if (s.code() == Code::kOutOfRange) {
    s = DataLossError("the restore point's copy of " + e.path() + " (" + from +
                          ") is shorter than its manifest says; verify the point",
                      from);
  }
  if (s.ok()) s = ApplyEntryMetadata(out.get(), tmp, e);
  out.Reset();
  if (s.ok() && ::rename(tmp.c_str(), dst.c_str()) != 0) {
    s = ErrnoError(errno, "cannot rename into place:", dst);
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace

StatusOr<v1::RestoreResponse> LocalfsPlugin::Restore(sdk::Call& call,
                                                     const v1::RestoreRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(req.restore_point_id()));
  // The destination as the operator gave it is a path prefix: the data set lands below it.
  const std::string destination =
      sdk::PathBelowDestination(req.destination(), req.data_set().selector());
  LIFEBOAT_RETURN_IF_ERROR(ValidateSelector(destination, "destination"));
  const bool compare_only = req.dry_run() && req.compare_only();
  const std::string& rp = req.restore_point_id();
  const std::string name = DataSetName(req.data_set());
  const std::string key = DataSetKey(req.data_set().selector());
  // Shared: an expire of this data set's points waits; restores of other points do not.
  auto points_lock = locks_.Get("points:" + key);
  std::shared_lock<std::shared_mutex> points_guard(*points_lock);
  auto dest_lock = locks_.Get("dest:" + destination);
  std::unique_lock<std::shared_mutex> dest_guard(*dest_lock);
  // A fenced data set must not change on this cluster; a dry run says so as the real run
  // would (a comparison only reads).
  if (!compare_only) {
    LIFEBOAT_RETURN_IF_ERROR(CheckNotFenced(layout_, destination, "restore into " + destination));
  }

  // The point lives here, or — restoring back to the primary from the secondary — on the
  // peer named by `source`, whose tree this plugin reads directly (both sides are local
  // directories; a network plugin would stream it from the peer's agent instead).
  Layout from = layout_;
  std::string where = "this cluster";
  std::optional<PeerSource> peer;
  if (req.has_source()) {
    StatusOr<PeerSource> source = PeerSource::Open(call, req.source(), config_.peer_access);
    if (!source.ok()) return source.status().WithContext("restore source configuration");
    peer.emplace(std::move(source).value());
    from = peer->layout();
    where = peer->where();
  }
  const bool streamed = peer.has_value() && !peer->by_path();
  v1::SnapshotRef point_ref;
  *point_ref.mutable_data_set() = req.data_set();
  point_ref.set_restore_point_id(rp);
  const std::string point = from.Point(key, rp);
  StatusOr<v1::MemberManifest> loaded = [&]() -> StatusOr<v1::MemberManifest> {
    if (!streamed) return ReadProto<v1::MemberManifest>(JoinPath(point, kManifestFile));
    LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, peer->ReadRecord(point_ref, kItemPoint));
    v1::MemberManifest m;
    if (!m.ParseFromString(bytes)) {
      return DataLossError("the manifest of restore point " + rp + " of " + name + " on " + where +
                               " is corrupt; verify the point there",
                           rp);
    }
    return m;
  }();
  if (!loaded.ok()) {
    if (loaded.status().code() != Code::kNotFound) return loaded.status();
    std::string available;
    // Through the stream the peer's points cannot be listed; its NOT_FOUND says enough.
    for (const auto& p : streamed ? std::vector<std::string>{} : ListPointsIn(from, key)) {
      available += (available.empty() ? "" : ", ") + p;
    }
    return NotFoundError("restore point " + rp + " of " + name + " is not committed on " + where +
                             "; available: " + (available.empty() ? "none" : available),
                         rp);
  }
  const v1::MemberManifest manifest = std::move(loaded).value();
  const std::string point_tree = JoinPath(point, kTreeDir);
  const std::string dest_dir = layout_.DataDir(destination);
  const bool as_root = RunningAsRoot();

  std::vector<WalkEntry> walked;
  struct stat dest_st;
  bool dest_exists = ::stat(dest_dir.c_str(), &dest_st) == 0;
  if (dest_exists) {
    if (!S_ISDIR(dest_st.st_mode)) {
      return FailedPreconditionError("restore destination " + dest_dir +
                                         " is not a directory; move it aside or choose another",
                                     dest_dir);
    }
    LIFEBOAT_ASSIGN_OR_RETURN(walked, WalkTree(dest_dir));
  } else if (errno != ENOENT) {
    return ErrnoError(errno, "cannot inspect restore destination", dest_dir);
  }
  // A fence by write bits (a comparison may look at a fenced data set) changed the modes:
  // compare the modes as they are without it, as a cut records them.
  const std::map<std::string, uint32_t> unfenced = FencedOriginalModes(layout_, destination);
  for (WalkEntry& w : walked) {
    if (auto it = unfenced.find(w.rel); it != unfenced.end()) {
      w.st.st_mode = (w.st.st_mode & ~mode_t{07777}) | it->second;
    }
  }
  std::unordered_map<std::string, const struct stat*> found;
  found.reserve(walked.size());
  for (const WalkEntry& w : walked) found.emplace(w.rel, &w.st);
  std::unordered_map<std::string, int> wanted;
  wanted.reserve(static_cast<size_t>(manifest.entries_size()));
  for (int i = 0; i < manifest.entries_size(); ++i) wanted.emplace(manifest.entries(i).path(), i);

  // What to do, in the order it is done: extras go first (deepest first when done), then the
  // manifest's items in path order (parents before children).
  v1::RestoreResponse resp;
  sdk::RestoreConflicts conflicts;
  std::vector<std::string> extras;
  for (const WalkEntry& w : walked) {
    if (wanted.count(w.rel) == 0) extras.push_back(w.rel);
  }
  for (const auto& rel : extras) resp.add_changes("delete " + rel);
  conflicts.deletes = extras;
  std::vector<Action> actions(static_cast<size_t>(manifest.entries_size()), Action::kNone);
  uint64_t bytes_to_write = 0;
  size_t files_to_write = 0;
  for (int i = 0; i < manifest.entries_size(); ++i) {
    const v1::Entry& e = manifest.entries(i);
    auto it = found.find(e.path());
    Action a =
        Decide(e, it == found.end() ? nullptr : it->second, JoinPath(dest_dir, e.path()), as_root);
    actions[static_cast<size_t>(i)] = a;
    if (a == Action::kNone) continue;
    resp.add_changes((a == Action::kCreate ? "create " : "update ") + e.path());
    if (a != Action::kCreate) conflicts.overwrites.push_back(e.path());
    if (e.type() == v1::ENTRY_FILE && a != Action::kMetadata) {
      bytes_to_write += e.size();
      ++files_to_write;
    }
  }
  // What is there and would change is changed only with the operator's consent — unless
  // this very restore wrote it (a resume of the same op id).
  const std::string owner_file = layout_.RestoreOwner(DataSetKey(destination));
  StatusOr<std::string> owner = ReadFileBytes(owner_file);
  const bool resumed = !req.op_id().empty() && owner.ok() && *owner == req.op_id();
  if (!resumed) LIFEBOAT_RETURN_IF_ERROR(sdk::CheckRestoreConsent(req, dest_dir, conflicts));
  if (req.dry_run()) {
    resp.set_bytes_written(bytes_to_write);  // what it would write
    return resp;
  }

  // Recorded (durably) before the first change: a resume after a crash finds it.
  if (!req.op_id().empty() && !resumed) {
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(ParentOf(owner_file), 0755));
    LIFEBOAT_RETURN_IF_ERROR(WriteFileAtomic(owner_file, req.op_id(), /*durable=*/true));
  }
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(dest_dir, 0755));
  if (!as_root) {
    // Directories that deny their owner writes (0555 in the point) get their mode back at
    // the end; until then the restore must be able to create entries in them.
    for (const WalkEntry& w : walked) {
      if (S_ISDIR(w.st.st_mode) && (w.st.st_mode & S_IRWXU) != S_IRWXU) {
        ::chmod(JoinPath(dest_dir, w.rel).c_str(), (w.st.st_mode & 07777) | S_IRWXU);
      }
    }
  }
  for (auto it = extras.rbegin(); it != extras.rend(); ++it) {
    LIFEBOAT_RETURN_IF_ERROR(RemoveTree(JoinPath(dest_dir, *it)));
  }

  std::vector<int> to_write;
  for (int i = 0; i < manifest.entries_size(); ++i) {
    const v1::Entry& e = manifest.entries(i);
    const Action a = actions[static_cast<size_t>(i)];
    const std::string dst = JoinPath(dest_dir, e.path());
    if (a == Action::kReplace) LIFEBOAT_RETURN_IF_ERROR(RemoveTree(dst));
    switch (e.type()) {
      case v1::ENTRY_DIRECTORY:
        if (a == Action::kCreate || a == Action::kReplace) {
          if (::mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) {
            return ErrnoError(errno, "cannot create directory", dst);
          }
        }
        break;
      case v1::ENTRY_SYMLINK:
        if (a == Action::kCreate || a == Action::kReplace) {
          if (::symlink(e.symlink_target().c_str(), dst.c_str()) != 0) {
            return ErrnoError(errno, "cannot create symbolic link", dst);
          }
          LIFEBOAT_RETURN_IF_ERROR(
              ApplyPathMetadata(dst, true, e.uid(), e.gid(), e.mode(), e.mtime_unix_nanos()));
        }
        break;
      case v1::ENTRY_FILE:
        if (a == Action::kMetadata) {
          LIFEBOAT_RETURN_IF_ERROR(ApplyEntryMetadata(dst, e));
        } else if (a != Action::kNone) {
          to_write.push_back(i);
        }
        break;
      default:
        break;
    }
  }

  ProgressReporter progress(call, "restore", bytes_to_write, files_to_write);
  progress.set_every_bytes(static_cast<uint64_t>(config_.chunk_bytes));
  std::atomic<uint64_t> written{0};
  std::atomic<bool> stop{false};
  Status copied = ParallelFor(to_write.size(), config_.parallelism, stop, [&](size_t k) -> Status {
    const v1::Entry& e = manifest.entries(to_write[k]);
    ChunkCallback on_chunk = [&](uint64_t n) -> Status {
      written += n;
      progress.Add(n, 0, e.path(), false);
      if (stop.load()) return CancelledError("stopped by a failure of another file");
      if (call.Cancelled()) return CancelledError("restore cancelled; restore again to finish");
      return OkStatus();
    };
    const uint64_t chunk = static_cast<uint64_t>(config_.chunk_bytes);
    if (streamed) {
      FileCopier copy = [&](int out_fd, const std::string& out_path, uint64_t length, Sha256& sha,
                            const ChunkCallback& cb) {
        return peer->CopyItem(point_ref, kItemPointPrefix + e.path(), out_fd, out_path, 0, length,
                              chunk, sha, cb);
      };
      LIFEBOAT_RETURN_IF_ERROR(RestoreFile(copy, kItemPointPrefix + e.path() + " of " + where,
                                           JoinPath(dest_dir, e.path()), e, on_chunk));
    } else {
      const std::string from_file = JoinPath(point_tree, e.path());
      FileCopier copy = [&](int out_fd, const std::string& out_path, uint64_t length, Sha256& sha,
                            const ChunkCallback& cb) -> Status {
        UniqueFd in(::open(from_file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!in.valid()) {
          if (errno == ENOENT) return NotFoundError(from_file + " does not exist", from_file);
          return ErrnoError(errno, "cannot open", from_file);
        }
        return CopyRange(in.get(), from_file, out_fd, out_path, 0, length, chunk, sha, cb);
      };
      LIFEBOAT_RETURN_IF_ERROR(
          RestoreFile(copy, from_file, JoinPath(dest_dir, e.path()), e, on_chunk));
    }
    progress.Add(0, 1, e.path(), false);
    return OkStatus();
  });
  LIFEBOAT_RETURN_IF_ERROR(copied);

  // Directory modes and mtimes last, deepest first: writing entries moved them.
  for (int i = manifest.entries_size() - 1; i >= 0; --i) {
    const v1::Entry& e = manifest.entries(i);
    if (e.type() != v1::ENTRY_DIRECTORY) continue;
    LIFEBOAT_RETURN_IF_ERROR(ApplyEntryMetadata(JoinPath(dest_dir, e.path()), e));
  }
  progress.Flush();
  resp.set_bytes_written(written);
  host_.Info("restored point " + rp + " of " + name + " into " + dest_dir + ": " +
             std::to_string(resp.changes_size()) + " changes, " + std::to_string(written.load()) +
             " bytes written");
  return resp;
}

}  // namespace lifeboat::localfs
