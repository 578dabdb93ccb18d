// Fencing and security sync of HDFS data sets (plugins/hdfs/README.md, "Fencing"; docs/
// decisions.md D11).
//
// How a fence stops writes: the write bits (0222) of every directory and file of the data set
// are removed, top-down, each item's original permission kept on the item itself in the
// extended attribute user.lifeboat.fence.mode (octal text), written before the bits change.
// HDFS checks permissions on every create, append, delete, rename and mkdir, and needs write
// permission on the parent directory (or, for append, on the file), so once a directory has
// lost its write bits nobody but the HDFS superuser adds, removes or renames an entry in it.
// The bits also take write out of ACL entries: on an item with an ACL, HDFS shows the ACL
// mask as the group bits, and removing their write bit masks every named entry. Unfence puts
// back exactly the recorded permission (and so the mask); the ACL entries are never touched.
//
// What it does not stop (see the README): the HDFS superuser (and so Lifeboat itself,
// running as it, which keeps replicating into a demoted cluster); a writer that opened its
// file before the fence (HDFS checks permissions when a file is opened, not per block); the
// owner who deliberately sets the permission back (a repeated fence takes it away again);
// a rename of the data set directory itself by someone who may write its parent. Quotas
// (SETQUOTA, namespace and space quotas) were measured and rejected: they refuse new names
// and blocks to the superuser too (Lifeboat could no longer replicate into the demoted
// cluster), do not refuse deletes or renames, and would clash with an administrator's quotas.
//
// What a fence records on the cluster, so that a primary coming back knows it was demoted
// (nothing is kept in the plugin's memory):
//   - user.lifeboat.fence on the data set directory: {"epoch", "reason", "fenced_unix_nanos",
//     "op_id", "complete"} (JSON), written before anything is fenced and removed last by an
//     unfence; the highest epoch seen wins.
//   - an empty directory /.lifeboat/fences/<data set path, percent-encoded>, so that probe
//     can list the fenced data sets of the cluster (made before the marker, removed after).
//   - user.lifeboat.ops on the data set directory: the answers of the newest fence, unfence
//     and sync_security calls by op id, so that a repeated call answers the same.
// The plugin's user must be the HDFS superuser (it changes the permissions of other users'
// items and writes extended attributes of items it may no longer write).
//
// Thread-safety: every function may run on any thread; calls on the same data set (same
// client target and path) are serialised by a process-wide lock per path.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_SECURITY_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_SECURITY_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {

inline constexpr char kFenceMarkerAttr[] = "user.lifeboat.fence";
inline constexpr char kFenceModeAttr[] = "user.lifeboat.fence.mode";
inline constexpr char kOpsJournalAttr[] = "user.lifeboat.ops";
inline constexpr char kFenceIndexDir[] = "/.lifeboat/fences";
inline constexpr char kFenceMechanism[] = "write_bits";

// The fence recorded on a data set directory.
struct FenceMarker {
  uint64_t epoch = 0;
  std::string reason;
  int64_t fenced_unix_nanos = 0;
  std::string op_id;
  bool complete = false;  // false while a fence is under way (or was interrupted)
};

// The marker of directory `path`; std::nullopt when it is not fenced. NOT_FOUND when `path`
// does not exist; DATA_LOSS when the marker does not parse.
StatusOr<std::optional<FenceMarker>> ReadFenceMarker(WebHdfsClient& client,
                                                     const std::string& path);

// OK unless the data set at `path` (or one holding it or below it) is fenced on this cluster;
// then FAILED_PRECONDITION naming the fenced directory, its epoch and reason and saying that
// `action` (e.g. "restore into /a") would write it. For the plugin's own writes into a live
// data set (restore). Checks `path` and its ancestors by their markers, and the fence index
// for fenced directories below `path`.
Status CheckNotFenced(WebHdfsClient& client, const std::string& path, std::string_view action);

// --- The data path and a fenced data set (README "Fencing and the data path") -------------
// Backups keep flowing into a fenced data set (after a failover the demoted cluster is the
// target; a failback replicates into it before unfencing it). Lifeboat writes it as the
// superuser and keeps it fenced: an item it writes gets the source's permission without the
// write bits, and the source's permission as its fence original (what unfence puts back).
// Wherever the data path compares or copies permissions it reads a fenced item's original.

// The permission `permission` without its write bits: what a fence leaves.
constexpr uint32_t FencedPermission(uint32_t permission) { return permission & ~0222u; }

// The octal text of user.lifeboat.fence.mode ("0644", sticky bit included), and back.
std::string FenceModeText(uint32_t permission);
std::optional<uint32_t> ParseFenceModeText(const std::string& text);

// Whether `root` (a data set directory, or one of its snapshots, whose extended attributes
// are the directory's at the snapshot's time) carries a fence marker, complete or not.
// false when `root` does not exist.
StatusOr<bool> FencedAt(WebHdfsClient& client, const std::string& root);

// The permission the item at `path` (live or in a snapshot) has apart from a fence: its
// recorded original when it has one and its `permission` is exactly that original without
// the write bits (the rule unfence applies), else `permission`. Costs one GETXATTRS, and
// only for an item without any write bit.
StatusOr<uint32_t> UnfencedPermission(WebHdfsClient& client, const std::string& path,
                                      uint32_t permission);

// For an item Lifeboat writes into a fenced data set: records `source_permission` as the
// item's fence original (replacing an older one), or removes the record when that
// permission has no write bit (unfence must then leave the item alone). The caller then
// sets FencedPermission(source_permission). Recording first, as the fence does: an
// interruption leaves an item that unfence restores correctly.
Status RecordFenceOriginal(WebHdfsClient& client, const std::string& path,
                           uint32_t source_permission);

// Brings one item Lifeboat wrote in line with a fence that came or went while it wrote:
// fenced = true strips the write bits of the item's current permission after recording it
// (as the fence does for the items it walks); false puts a recorded original back and
// removes the record (as unfence does). NOT_FOUND items are skipped (OK).
Status SettleFence(WebHdfsClient& client, const std::string& path, bool fenced);

// The fenced data sets of the cluster (from the fence index, each confirmed by its marker),
// appended to `probe.fenced`; a problem reading them (e.g. the index is not readable by this
// user) is added to `probe.detail`, never an error.
void AddFencedDataSets(WebHdfsClient& client, v1::ProbeResponse& probe);

// The name of the fence index entry of data set directory `path` (percent-encoded), and back.
std::string FenceIndexName(const std::string& path);
std::string FenceIndexPath(const std::string& path);
std::optional<std::string> PathFromFenceIndexName(std::string_view name);

// The full HDFS ACL spec (for SETACL) of an item with permission `permission` and the
// entries GETACLSTATUS lists (`entries`, possibly translated): user::, the named and group::
// access entries, mask:: (when there are named entries), other::, then the default entries.
// Empty when `entries` is empty (the item has no ACL: REMOVEACL).
std::vector<std::string> FullAclSpec(uint32_t permission, const std::vector<std::string>& entries);

// `entries` with the names of named user and group entries (access and default) translated
// by the maps (a name absent from its map stays). FAILED_PRECONDITION naming `path` when two
// entries of the same scope and type end up with the same name (HDFS refuses such an ACL).
StatusOr<std::vector<std::string>> TranslateAcl(
    const std::vector<std::string>& entries,
    const google::protobuf::Map<std::string, std::string>& user_map,
    const google::protobuf::Map<std::string, std::string>& group_map, const std::string& path);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_SECURITY_H_
