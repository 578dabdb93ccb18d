// A completed HBase snapshot's files, read without HBase: the snapshot directory
// `<root>/.hbase-snapshot/<name>/` holds `.snapshotinfo` (a SnapshotDescription) and
// `data.manifest` (a SnapshotDataManifest: the table's schema and, per region, the store
// files of each column family). This file parses both and says which HFiles a copy of the
// snapshot must carry and where they are, in ExportSnapshot's layout:
//
//   a plain store file      data/<ns>/<table>/<region>/<family>/<hfile>, or the same under
//                           archive/ once a compaction or a table deletion moved it there
//   a reference file        "<hfile>.<parent region>" in a daughter region after a split
//   (HBASE-28806)           (the manifest carries the Reference): the bytes are the PARENT's
//                           HFile, data|archive/data/<ns>/<table>/<parent>/<family>/<hfile>;
//                           the clone recreates the reference from the manifest
//   an HFileLink            "[<ns>=]<table>=<region>-<hfile>" in a table cloned from a
//                           snapshot: the bytes are the ORIGIN table's HFile
//
// The copy goes to the target root's archive/ (archive/data/<ns>/<table>/<region>/<family>/
// <hfile>), where the target's clone finds it through links, then the two descriptor files
// to .hbase-snapshot/<name>/ (see the rig test for the whole sequence).
//
// Only snapshot format version 2 (HBase 0.99+; 2.x writes nothing else) is read; MOB files
// are not listed yet.
//
// Thread-safety: free functions without state.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_SNAPSHOT_MANIFEST_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_SNAPSHOT_MANIFEST_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hbase_snapshot.pb.h"

namespace lifeboat::hbase {

inline constexpr std::string_view kSnapshotDir = ".hbase-snapshot";
inline constexpr std::string_view kSnapshotInfoFile = ".snapshotinfo";
inline constexpr std::string_view kDataManifestFile = "data.manifest";

// The directory of snapshot `name` relative to the HBase root: ".hbase-snapshot/<name>".
std::string SnapshotDirectory(std::string_view name);

// Parses a .snapshotinfo file. DATA_LOSS when it does not parse.
StatusOr<pb::SnapshotDescription> ParseSnapshotInfo(std::string_view bytes);
// Parses a data.manifest file. DATA_LOSS when it does not parse.
StatusOr<pb::SnapshotDataManifest> ParseDataManifest(std::string_view bytes);

// The encoded name of a region (its directory name): the hex MD5 of
// "<table>,<start key>,<region id>" (plus "_<replica id as 4 hex digits>" for a replica), as
// HBase's RegionInfo builds it; <table> is "ns:qualifier", or "qualifier" in the default
// namespace.
std::string EncodedRegionName(const pb::RegionInfo& region);

// One store file of the snapshot and where its bytes are.
struct SnapshotStoreFile {
  enum class Kind { kHFile, kReference, kLink };
  Kind kind = Kind::kHFile;
  std::string region;  // encoded name of the region that lists it
  std::string family;
  std::string name;  // as the manifest names it
  // The HFile holding the bytes, relative to the HBase root, under data/ (live) and under
  // archive/ (after a compaction, split or drop). The copy's destination on the target is
  // `archive_path` too.
  std::string data_path;
  std::string archive_path;
  // The length the manifest recorded: the HFile's for a plain file; for a reference, the
  // length of the small reference file, NOT of the HFile it points to (so a copier must not
  // compare it with the HFile's length: HBASE-28806); absent in old manifests.
  std::optional<uint64_t> manifest_size;
};

// Every store file of `manifest`, in manifest order. INVALID_ARGUMENT when a name is not a
// valid store file, reference or link name (a manifest this reader does not understand).
StatusOr<std::vector<SnapshotStoreFile>> ListStoreFiles(const pb::SnapshotDataManifest& manifest);

// The distinct HFiles a copy must carry (two daughters' references share their parent's
// HFile), by archive_path, sorted.
std::vector<SnapshotStoreFile> DistinctHFiles(const std::vector<SnapshotStoreFile>& files);

// "[<ns>=]<table>=<region>-<hfile>" → its parts; nullopt when `name` is not a link name.
struct HFileLinkName {
  std::string ns;  // "default" when absent
  std::string table;
  std::string region;
  std::string hfile;
};
std::optional<HFileLinkName> ParseHFileLinkName(std::string_view name);

// "<hfile>.<parent encoded region>" → {hfile, parent region}; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> ParseReferenceName(std::string_view name);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_SNAPSHOT_MANIFEST_H_
