// The peer stream's serving side (LB_OP_READ, ABI 1.1): bytes of an item of a snapshot or a
// committed point of this root, for a peer instance that cannot open them by path.
//
// Only what belongs to the named snapshot or point is served: a tree item must be a file of
// that cut record's (or point manifest's) entries, so a peer can never read other files of
// this host through it — not the live data, not another data set, not a path that a symbolic
// link inside the tree points elsewhere (entries' parents are directories of the manifest,
// and the last component is opened with O_NOFOLLOW).
#include <fcntl.h>
#include <lifeboat/sdk/serve.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "peer.h"

namespace lifeboat::localfs {
namespace {

constexpr size_t kEmitBytes = 1 << 20;

}  // namespace

StatusOr<std::shared_ptr<const LocalfsPlugin::ServedManifest>> LocalfsPlugin::LoadServedManifest(
    const std::string& file, bool is_cut) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return ErrnoError(errno, "cannot inspect", file);
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  {
    std::lock_guard<std::mutex> lock(served_mu_);
    auto it = served_.find(file);
    if (it != served_.end() && it->second->file_inode == st.st_ino &&
        it->second->file_mtime_ns == mtime) {
      return it->second;
    }
  }
  auto made = std::make_shared<ServedManifest>();
  made->file_inode = st.st_ino;
  made->file_mtime_ns = mtime;
  const v1::MemberManifest* manifest = nullptr;
  v1::CutResponse cut;
  v1::MemberManifest point;
  if (is_cut) {
    LIFEBOAT_ASSIGN_OR_RETURN(cut, ReadProto<v1::CutResponse>(file));
    manifest = &cut.manifest();
    made->cut_op_id = cut.snapshot().cut_op_id();
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(point, ReadProto<v1::MemberManifest>(file));
    manifest = &point;
    made->cut_op_id = point.snapshot().cut_op_id();
  }
  made->files.reserve(static_cast<size_t>(manifest->entries_size()));
  for (const auto& e : manifest->entries()) {
    if (e.type() == v1::ENTRY_FILE) made->files.insert(e.path());
  }
  std::lock_guard<std::mutex> lock(served_mu_);
  // A few data sets are served at once; an old entry is simply parsed again when needed.
  if (served_.size() >= 16) served_.clear();
  served_[file] = made;
  return std::shared_ptr<const ServedManifest>(made);
}

StatusOr<v1::ReadResponse> LocalfsPlugin::Read(sdk::Call& call, const v1::ReadRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const std::string& rp = ref.restore_point_id();
  const std::string key = DataSetKey(ref.data_set().selector());
  const std::string& item = req.item();
  const std::string name = DataSetName(ref.data_set());

  std::string file;
  auto served_file = [&](const std::string& record, bool is_cut, const std::string& rel,
                         const std::string& tree) -> Status {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(rel, "item"));
    auto loaded = LoadServedManifest(record, is_cut);
    if (!loaded.ok()) {
      if (loaded.status().code() == Code::kNotFound) {
        return NotFoundError(std::string(is_cut ? "no complete cut" : "no committed point") +
                                 " of restore point " + rp + " of " + name +
                                 " on this cluster (released or expired?)",
                             item);
      }
      return loaded.status();
    }
    if (is_cut && !ref.cut_op_id().empty() && (*loaded)->cut_op_id != ref.cut_op_id()) {
      return AbortedError("the cut of restore point " + rp + " of " + name +
                              " here was made by operation " + (*loaded)->cut_op_id + ", not " +
                              ref.cut_op_id() + "; cut the restore point again",
                          item);
    }
    if ((*loaded)->files.count(rel) == 0) {
      return InvalidArgumentError(
          "item '" + item + "' is not a file of " + (is_cut ? "the cut" : "the committed point") +
              " of restore point " + rp + " of " + name + "; only files of the snapshot are served",
          item);
    }
    file = JoinPath(JoinPath(tree, kTreeDir), rel);
    return OkStatus();
  };
  if (item == kItemCut) {
    file = JoinPath(layout_.Snapshot(key, rp), kCutFile);
  } else if (item == kItemPoint) {
    file = JoinPath(layout_.Point(key, rp), kManifestFile);
  } else if (item.rfind(kItemTreePrefix, 0) == 0) {
    const std::string snap = layout_.Snapshot(key, rp);
    LIFEBOAT_RETURN_IF_ERROR(served_file(JoinPath(snap, kCutFile), true,
                                         item.substr(sizeof(kItemTreePrefix) - 1), snap));
  } else if (item.rfind(kItemPointPrefix, 0) == 0) {
    const std::string point = layout_.Point(key, rp);
    LIFEBOAT_RETURN_IF_ERROR(served_file(JoinPath(point, kManifestFile), false,
                                         item.substr(sizeof(kItemPointPrefix) - 1), point));
  } else {
    return InvalidArgumentError(
        "localfs serves the items cut, tree/<path>, point and "
        "point/<path>; '" +
            item + "' is none of them",
        "item");
  }

  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return NotFoundError(item + " of restore point " + rp + " of " + name +
                               " is not on this cluster (released, expired or never made)",
                           item);
    }
    return ErrnoError(errno, "cannot open", file);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "cannot inspect", file);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError(item + " is not a regular file here", item);
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (req.offset() > size) {
    return Status(Code::kOutOfRange,
                  item + " has " + std::to_string(size) + " bytes; offset " +
                      std::to_string(req.offset()) + " is past its end",
                  item);
  }
  return sdk::ServeFdRange(call, fd.get(), file, req.offset(), req.length(), /*clamp=*/true,
                           kEmitBytes);
}

}  // namespace lifeboat::localfs
