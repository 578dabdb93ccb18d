// Files open for write at a cut (README "Files open at the cut").
//
// An HDFS snapshot does not freeze a file that is open for write (under construction) unless
// the NameNode runs with dfs.namenode.snapshot.capture.openfiles (a NameNode setting, off by
// default, that WebHDFS cannot change): the snapshot's view of such a file follows the live
// file as it grows, and when it is closed (the close records no snapshot diff) it shows the
// closed file, with its new length and modification time. A snapshot diff from that snapshot
// then does not list the file at all. So the cut finds the open files itself (the NameNode's
// fsck, just after the snapshot: no WebHDFS operation lists them) and records, for each, the
// length and time the point holds; plan_transfer copies that prefix and nothing after it,
// and the next incremental compares every file of its snapshot with what the base point holds
// instead of trusting the diff alone.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_OPEN_FILES_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_OPEN_FILES_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "webhdfs.h"

namespace lifeboat::hdfs {

// One file that was open for write when a cut's snapshot was taken, as the point holds it.
struct OpenAtCut {
  std::string path;      // relative to the data set's directory
  uint64_t length = 0;   // the bytes the point holds
  int64_t mtime_ms = 0;  // the modification time the point holds
  // kStillOpen: open when the cut looked just after the snapshot: held at the length the
  // NameNode knew then (completed blocks and flushed lengths), which is at most what it knew
  // at the snapshot plus what completed in those milliseconds. kClosedAfter: closed between
  // the snapshot and the cut's look (or, found by plan_transfer, later): the snapshot shows
  // it closed, so the point holds it as closed, possibly with bytes written after the cut.
  std::string state;
};
inline constexpr char kStillOpen[] = "open";
inline constexpr char kClosedAfter[] = "closed-after-cut";

// What a cut found, carried in SnapshotRef.opaque (JSON) to plan_transfer on the target and
// kept on the source directory (xattr kOpenAttrPrefix + snapshot) for a repeated cut.
struct CutRecord {
  int64_t snapshot_ms = 0;  // when the snapshot was taken (NameNode clock)
  // How open files were found: "fsck", or why they could not be ("fsck failed: ..."; then
  // only files closed after the snapshot are known, by their time).
  std::string detection;
  // dfs.namenode.snapshot.capture.openfiles as the source's NameNode says: "true" (the
  // snapshot itself froze open files), "false", or "" (unknown).
  std::string capture_openfiles;
  // When fsck answered (this host's clock, as the cut's interval): a file held "open" holds
  // at most what the NameNode knew then.
  int64_t looked_unix_ms = 0;
  std::vector<OpenAtCut> open;
};

// What fsck said just after a snapshot, and when it said it.
struct OpenFilesSeen {
  StatusOr<std::vector<OpenFile>> files = std::vector<OpenFile>();
  int64_t looked_unix_ms = 0;  // this host's clock
};
inline constexpr char kOpenAttrPrefix[] = "user.lifeboat.open.";
inline constexpr char kCaptureOpenFilesKey[] = "dfs.namenode.snapshot.capture.openfiles";

std::string EncodeCutRecord(const CutRecord& record);
// A cut by an older plugin (empty opaque) or an unreadable one gives an empty record.
CutRecord DecodeCutRecord(std::string_view text);

// The cut's record from the snapshot's time, the open files fsck listed just after it (or
// why it could not), and the snapshot's listing `manifest` (of data set `path`), whose
// entries of open files are set to what the point holds. A file is open at the cut when
// fsck lists it, or when the listing shows it modified at or after the snapshot (a file
// closed meanwhile: only a file open at the snapshot can change its snapshot view).
CutRecord FindOpenAtCut(const std::string& path, int64_t snapshot_ms, const OpenFilesSeen& fsck,
                        v1::MemberManifest& manifest);

// Sets the entries of `record`'s open files in `manifest` to what the point holds.
void HoldOpenFiles(const CutRecord& record, v1::MemberManifest& manifest);

// One line for logs: "2 files open at the cut (a.log: 1024 bytes; b.txt closed after the
// cut)", "" when none.
std::string DescribeOpenAtCut(const std::vector<OpenAtCut>& open);

// A source listing (relative path -> status, path_suffix = the relative path) held at the
// cut: each open file of `record` at its recorded length (never more than the listing shows)
// and time; then every other file the listing shows modified at or after the snapshot
// (`snapshot_ms`, the record's or, for an older cut, the snapshot's own time), which was
// open at the cut although the cut did not see it, held as it is now. Returns the open files
// as held, by path.
std::map<std::string, OpenAtCut> HoldAtCut(const CutRecord& record, int64_t snapshot_ms,
                                           std::map<std::string, FileStatus>& listing);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_OPEN_FILES_H_
