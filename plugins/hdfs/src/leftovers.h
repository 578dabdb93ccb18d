// What a point that failed or was cancelled before its commit left in the target's live
// directory, told apart from anyone else's writes there (README "A point that did not
// commit"; issue 11).
//
// A transfer writes the target's live directory (the data set lives at the same path on both
// clusters); only commit makes that a point (a snapshot). A point abandoned after its transfer
// wrote (its verify failed, the job was cancelled, the agent crashed) leaves those writes
// behind, and the next plan's check "the target changed since the base" (its snapshot diff
// base -> live) sees them. That check exists to stop Lifeboat from overwriting what someone
// else wrote on the secondary; Lifeboat's own writes are not that. They are recognised by
// what each transfer records:
//   - every planned point has a pending mark, <state dir>/<snapshot>.pending, removed when a
//     point commits (a commit makes the target that point, whatever earlier attempts wrote);
//     its plan (<snapshot>.plan) names the base it was planned from (`target_base`), the
//     source's listing it set out to copy, and the cut's root directory;
//   - every file a copy wrote carries user.lifeboat.copy "<snapshot>:<length>:<mtime>
//     partial|data|done" (copy.h), and a partial copy its length and time when it stopped
//     (user.lifeboat.partial);
//   - a verify that found copies with other bytes than were streamed lists them in
//     <snapshot>.bad.
// A change since the base is Lifeboat's own when it is exactly what one of those points, still
// uncommitted and planned from the same base, set out to write: a file with its copy mark that
// still matches the file (length and time; for a done copy also the point's metadata), or a
// file, directory or absence equal to that point's listing (its renames, deletes, metadata
// changes); its tree task's parking directory. Anything else is someone else's and is refused
// as before.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_LEFTOVERS_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_LEFTOVERS_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tree.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {

// A point planned on this target that has not committed here.
struct UncommittedPoint {
  std::string snapshot;            // its snapshot name
  std::string restore_point;       // its restore point's id
  Tree manifest;                   // the source's listing it set out to copy (permissions unfenced)
  std::optional<FileStatus> root;  // its cut's root directory (permission unfenced)
  std::set<std::string> bad;       // files its verify found with other bytes (<snapshot>.bad)
};

// The state files next to the plan (StateFile): <snapshot>.pending and <snapshot>.bad.
std::string PendingFile(const std::string& data_set_path, const std::string& snapshot_name);
std::string BadFile(const std::string& data_set_path, const std::string& snapshot_name);

// Marks a planned point as not committed (yet). Idempotent.
Status MarkPending(WebHdfsClient& client, const std::string& path, const std::string& snapshot);
// The snapshots marked pending for the data set at `path`, sorted.
StatusOr<std::vector<std::string>> PendingSnapshots(WebHdfsClient& client, const std::string& path);
// After a commit: no point is pending any more (the commit made the target that point, so
// what earlier attempts wrote is part of it now); their .bad records go too.
Status ClearPending(WebHdfsClient& client, const std::string& path);

// The files of an uncommitted point whose verify found other bytes; saved only by a verify of
// the live directory (not of a committed snapshot). Empty when there is no record.
Status SaveBad(WebHdfsClient& client, const std::string& path, const std::string& snapshot,
               const std::set<std::string>& files);
std::set<std::string> LoadBad(WebHdfsClient& client, const std::string& path,
                              const std::string& snapshot);

// The target's changes since the base, sorted.
struct TargetChanges {
  std::vector<char> own;          // per entry: Lifeboat's own write for an uncommitted point
  std::set<std::string> points;   // snapshots of the points whose writes were found
  std::set<std::string> touched;  // live files those writes made or changed
  std::set<std::string> recopy;   // of those, the ones their verify found with other bytes
};

// Sorts `changed` (the target's snapshot diff base -> live at `path`, without the entries
// whose status is equal in the base) into the writes of `points` (points planned from that
// base, not committed) and the others. Reads the target only.
StatusOr<TargetChanges> SortTargetChanges(sdk::Call& call, WebHdfsClient& dst,
                                          const std::string& path,
                                          const std::vector<SnapshotDiffEntry>& changed,
                                          const std::vector<UncommittedPoint>& points,
                                          int parallelism);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_LEFTOVERS_H_
