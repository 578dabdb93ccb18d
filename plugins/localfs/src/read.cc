// The peer stream's serving side (LB_OP_READ, ABI 1.1): bytes of an item of a snapshot or a
// committed point of this root, for a peer instance that cannot open them by path.
//
// Only what belongs to the named snapshot or point is served: a tree item must be a regular
// file inside that snapshot's (or point's) tree, which holds exactly the items of its cut
// record (or manifest), reached without following any symbolic link (each component is
// opened with O_NOFOLLOW below the tree's directory), so a peer can never read other files
// of this host through it — not the live data, not another data set, not a path that a
// symbolic link inside the tree points elsewhere. Nothing of the manifest is held for it
// (issue 13: a set of every file of the cut was the source agent's largest allocation).
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

// The regular file `rel` below the directory `tree`, opened one component at a time without
// following a symbolic link anywhere. NOT_FOUND when a component is missing; INVALID_ARGUMENT
// when one is a symbolic link or the last is not a regular file.
StatusOr<UniqueFd> OpenBeneath(const std::string& tree, const std::string& rel) {
  UniqueFd dir(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return ErrnoError(errno, "cannot open", tree);
  size_t start = 0;
  for (;;) {
    const size_t slash = rel.find('/', start);
    const std::string part = rel.substr(start, slash == std::string::npos ? slash : slash - start);
    const bool last = slash == std::string::npos;
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? 0 : O_DIRECTORY);
    UniqueFd next(::openat(dir.get(), part.c_str(), flags));
    if (!next.valid()) {
      if (errno == ENOENT) return NotFoundError(rel + " is not there", rel);
      if (errno == ELOOP || errno == ENOTDIR) {
        return InvalidArgumentError(rel + " leads through a symbolic link or a file", rel);
      }
      return ErrnoError(errno, "cannot open", JoinPath(tree, rel));
    }
    if (last) {
      struct stat st;
      if (::fstat(next.get(), &st) != 0) return ErrnoError(errno, "cannot inspect", rel);
      if (!S_ISREG(st.st_mode)) return InvalidArgumentError(rel + " is not a regular file", rel);
      return next;
    }
    dir = std::move(next);
    start = slash + 1;
  }
}

}  // namespace

StatusOr<v1::ReadResponse> LocalfsPlugin::Read(sdk::Call& call, const v1::ReadRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const std::string& rp = ref.restore_point_id();
  const std::string key = DataSetKey(ref.data_set().selector());
  const std::string& item = req.item();
  const std::string name = DataSetName(ref.data_set());

  std::string file;
  UniqueFd fd;
  auto served_file = [&](const std::string& record, bool is_cut, const std::string& rel,
                         const std::string& dir) -> Status {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(rel, "item"));
    // The record's head only: it names the cut operation (issue 13: never parsed whole).
    StatusOr<v1::SnapshotRef> made = is_cut ? ReadCutSnapshot(record) : ReadPointSnapshot(record);
    if (!made.ok()) {
      if (made.status().code() == Code::kNotFound) {
        return NotFoundError(std::string(is_cut ? "no complete cut" : "no committed point") +
                                 " of restore point " + rp + " of " + name +
                                 " on this cluster (released or expired?)",
                             item);
      }
      return made.status();
    }
    if (is_cut && !ref.cut_op_id().empty() && made->cut_op_id() != ref.cut_op_id()) {
      return AbortedError("the cut of restore point " + rp + " of " + name +
                              " here was made by operation " + made->cut_op_id() + ", not " +
                              ref.cut_op_id() + "; cut the restore point again",
                          item);
    }
    file = JoinPath(JoinPath(dir, kTreeDir), rel);
    StatusOr<UniqueFd> opened = OpenBeneath(JoinPath(dir, kTreeDir), rel);
    if (!opened.ok()) {
      if (opened.status().code() == Code::kNotFound ||
          opened.status().code() == Code::kInvalidArgument) {
        return InvalidArgumentError("item '" + item + "' is not a file of " +
                                        (is_cut ? "the cut" : "the committed point") +
                                        " of restore point " + rp + " of " + name +
                                        "; only files of the snapshot are served",
                                    item);
      }
      return opened.status();
    }
    fd = std::move(opened).value();
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

  if (!fd.valid()) fd = UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
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
