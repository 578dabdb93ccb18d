// Names and places of the hbase plugin: data set selectors, snapshot names, the plugin's
// state directories on the HBase root's file system, item paths, the point record, the fence
// marker, and the op-id journal kept on HDFS.
//
// Thread-safety: values and free functions; HdfsJournalStore is used under OpJournal's lock.
#ifndef LIFEBOAT_PLUGINS_HBASE_SRC_LAYOUT_H_
#define LIFEBOAT_PLUGINS_HBASE_SRC_LAYOUT_H_

#include <lifeboat/sdk/journal.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/manifest.pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "webhdfs.h"

namespace lifeboat::hbase {

// A data set selector: "ns" (a namespace) or "ns:table" (one table).
struct DataSetName {
  std::string ns;
  std::string table;  // qualifier; "" for a namespace
  bool is_namespace() const { return table.empty(); }
  std::string selector() const { return table.empty() ? ns : ns + ":" + table; }
};
// INVALID_ARGUMENT (saying what a selector looks like) unless `selector` is one.
StatusOr<DataSetName> ParseDataSet(std::string_view selector);
// HBase's rules: a namespace is [A-Za-z0-9_]+; a qualifier [A-Za-z0-9_.-]+ not starting
// with '.' or '-'.
bool IsNamespaceName(std::string_view s);
bool IsQualifierName(std::string_view s);
// "ns:q" -> q, "q" -> q.
std::string QualifierOf(const std::string& table);

// The restore point id made safe for a path and a snapshot name: its letters, digits, '_',
// '-' and '.' (others become '_'), at most 40 of them, then '-' and 8 hex digits of its
// SHA-256 (so that two ids that clean up alike stay apart).
std::string PointKey(std::string_view restore_point_id);
// The snapshot of `table` for a point: "lifeboat-<point key>-<ns>-<qualifier>" (a legal
// snapshot name).
std::string SnapshotName(std::string_view restore_point_id, const std::string& table);

// Paths on one cluster's file system.
struct Layout {
  std::string root;   // hbase.rootdir
  std::string state;  // the plugin's state directory

  std::string CutDir(std::string_view rp) const { return state + "/cuts/" + PointKey(rp); }
  std::string StagingDir(std::string_view rp) const { return state + "/staging/" + PointKey(rp); }
  std::string PointDir(std::string_view rp) const { return state + "/points/" + PointKey(rp); }
  std::string SnapshotDir(const std::string& name) const {
    return root + "/.hbase-snapshot/" + name;
  }
  std::string Journal() const { return state + "/journal"; }
};

inline constexpr char kManifestFile[] = "manifest.pb";
inline constexpr char kPointFile[] = "point.json";

// One table of a point: its snapshot and when it was taken (this plugin's clock, ms).
struct PointTable {
  std::string table;  // "ns:qualifier"
  std::string snapshot;
  int64_t requested_ms = 0;
  int64_t completed_ms = 0;
};
// What a cut took: the data set and one snapshot per table (also SnapshotRef.opaque).
struct PointRecord {
  std::string restore_point_id;
  std::string selector;
  std::vector<PointTable> tables;
};
std::string PointToJson(const PointRecord& point);
StatusOr<PointRecord> PointFromJson(std::string_view json);

// A point's two files, as read back.
struct PointFiles {
  PointRecord point;
  v1::MemberManifest manifest;
};

// The item path of an HFile: its path below archive/data/<ns>/ ("<table>/<region>/<family>/
// <hfile>"); and back, the HFile's path relative to the root ("archive/data/<ns>/<item>").
std::string ItemOfArchivePath(const std::string& archive_path);
std::string ArchivePathOfItem(const std::string& ns, const std::string& item);

// The digest a manifest keeps for an HFile: HDFS's file checksum, "<algorithm>:<hex>".
std::string ChecksumText(const hdfs::WebHdfsClient::FileChecksum& checksum);

// The fence marker kept in each fenced table's descriptor (attribute kFenceAttribute).
inline constexpr char kFenceAttribute[] = "lifeboat.fence";
struct FenceMarker {
  std::string selector;  // the data set that was fenced
  uint64_t epoch = 0;
  std::string reason;
  int64_t fenced_unix_nanos = 0;
  // The table's READONLY before the fence ("" = not set), put back by unfence.
  std::string readonly_before;
};
std::string FenceToJson(const FenceMarker& marker);
std::optional<FenceMarker> FenceFromJson(std::string_view json);

// The op-id journal on HDFS: one file, rewritten as `journal.new`, then renamed over
// `journal` (WebHDFS's RENAME does not replace, so the old one is deleted first; Load falls
// back to journal.new when a crash came between the two).
class HdfsJournalStore : public sdk::JournalStore {
 public:
  HdfsJournalStore(hdfs::WebHdfsClient* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  StatusOr<std::optional<std::string>> Load() override;
  Status Save(std::string_view record) override;

 private:
  hdfs::WebHdfsClient* fs_;
  std::string path_;
};

// Where the tables of `ds` land for destination `dest`: "" = the data set itself; a name
// with ':' = a table (table data sets only); otherwise a namespace. A path-shaped name of
// another component ("/restored", "restored/") is accepted as the namespace "restored".
struct Placement {
  std::string ns;                         // namespace to create when missing
  std::map<std::string, std::string> to;  // point table -> destination table
  bool into_itself = false;
};

StatusOr<Placement> PlaceRestore(const DataSetName& ds, const PointRecord& point, std::string dest);

// Reads a whole small file; NOT_FOUND when absent.
StatusOr<std::string> ReadSmallFile(hdfs::WebHdfsClient& fs, const std::string& path);
// Writes a whole small file (replacing it).
Status WriteSmallFile(hdfs::WebHdfsClient& fs, const std::string& path, std::string_view data);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_SRC_LAYOUT_H_
