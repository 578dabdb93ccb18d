// Names and places: what a selector may be, how a data set maps to a directory, and where
// the plugin keeps its state under <root>/.lifeboat/:
//
//   ROLE                                   role marker of the cluster (written by others)
//   snapshots/<key>/<rp>/tree/             source side: hard links of the data set at the cut
//   snapshots/<key>/<rp>/cut.pb            CutResponse; written last (the cut is complete)
//   snapshots/<key>/.digest-cache.bin      digests of the last cut, reused when unchanged
//   staging/<key>/<rp>/tree/               target side: the point being transferred
//   staging/<key>/<rp>/{cut.pb,plan.pb,boot_id}
//   points/<key>/<rp>/{manifest.pb,tree/}  committed restore points
//   points/<key>/CURRENT                   id of the newest committed point
//   trash/                                 what is being deleted (renamed here first)
//   scratch/verify-<pid>...                a verify's sorted walk of a tree, removed when the
//                                          verify ends (a crash leaves it: remove by hand)
//   fences/<key>/FENCE                     the data set is fenced (FenceRecord, state.proto)
//   fences/<key>/ops.pb                    answers of recent fence and unfence calls
//   security/<key>/ops.pb                  answers of recent sync_security calls
//   restores/<key>                         op id of the restore writing that destination
//
// <key> is the selector with '%' and '/' percent-encoded ("/a/b" -> "%2Fa%2Fb").
//
// Thread-safety: values and pure functions.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_LAYOUT_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_LAYOUT_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <string>
#include <string_view>

namespace lifeboat::localfs {

inline constexpr char kMetaDirName[] = ".lifeboat";
// Names inside a snapshot, staging or point directory.
inline constexpr char kTreeDir[] = "tree";
inline constexpr char kCutFile[] = "cut.pb";            // CutResponse
inline constexpr char kPlanFile[] = "plan.pb";          // see EncodePlanFile()
inline constexpr char kBootIdFile[] = "boot_id";        // boot id when staging began
inline constexpr char kManifestFile[] = "manifest.pb";  // MemberManifest of a committed point

// A selector ("/a/b"): starts with '/', has at least one component, no empty, "." or ".."
// component, no NUL, and is neither "/.lifeboat" nor inside it. `field` names the request
// field in the message ("selector", "destination"). INVALID_ARGUMENT otherwise.
Status ValidateSelector(std::string_view selector, std::string_view field);

// The data set is of component "localfs" and has a valid selector.
Status ValidateDataSet(const v1::DataSet& data_set);

// A restore point id becomes a directory name: non-empty, at most 200 bytes, no '/' or NUL,
// not starting with '.', not "CURRENT".
Status ValidateRestorePointId(std::string_view id, std::string_view field = "restore_point_id");

// A path relative to a data set root as found in a manifest or a task: no leading '/', no
// empty, "." or ".." component. `what` names it in the message.
Status ValidateRelativePath(std::string_view path, std::string_view what);

// Filesystem-safe name of a data set: the selector with '%' and '/' percent-encoded.
std::string DataSetKey(std::string_view selector);
// True when one of the selectors is the other or lies below it ("/a" and "/a/b").
bool SelectorsOverlap(std::string_view a, std::string_view b);

// "localfs:/a/b", for messages.
std::string DataSetName(const v1::DataSet& data_set);

// Paths of one root's data and state.
class Layout {
 public:
  explicit Layout(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // <root><selector>
  std::string DataDir(std::string_view selector) const;
  std::string Meta() const;
  std::string RoleFile() const;
  std::string Trash() const;
  std::string Scratch() const;
  std::string SnapshotsOf(const std::string& key) const;
  std::string Snapshot(const std::string& key, const std::string& rp) const;
  std::string DigestCache(const std::string& key) const;
  std::string StagingOf(const std::string& key) const;
  std::string Staging(const std::string& key, const std::string& rp) const;
  std::string PointsOf(const std::string& key) const;
  std::string Point(const std::string& key, const std::string& rp) const;
  std::string Current(const std::string& key) const;
  std::string Fences() const;
  std::string FenceFile(const std::string& key) const;
  std::string FenceJournal(const std::string& key) const;
  std::string SecurityJournal(const std::string& key) const;
  // The op id of the last restore that began writing the destination `key` (a resume of it
  // may change what it wrote there without asking again).
  std::string RestoreOwner(const std::string& key) const;

 private:
  std::string root_;
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_LAYOUT_H_
