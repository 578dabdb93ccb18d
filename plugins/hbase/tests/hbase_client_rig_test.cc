// The HBase clients against the real rig (label rig; tools/scripts/rig.sh start hbase): two
// HBase 2.6.1 clusters, each with its own HDFS, and a Thrift2 server each. No part of HBase is
// faked: tables and rows go in through Thrift2, snapshots are taken, cloned and restored by
// the master's RPC, and a snapshot moves to the other cluster as ExportSnapshot would lay it
// out — but file by file over WebHDFS, reading the list of HFiles from the manifest.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "master_client.h"
#include "rig_endpoints.h"
#include "snapshot_manifest.h"
#include "thrift2_client.h"
#include "webhdfs_curl.h"

namespace lifeboat::hbase {
namespace {

using testing::HttpReply;
using testing::WebHdfs;

// One cell as read back: (row, family, qualifier, timestamp) → value.
using CellKey = std::tuple<std::string, std::string, std::string, int64_t>;
using Cells = std::map<CellKey, std::string>;

struct Cluster {
  std::string name;
  std::string user;
  std::string root;  // hbase.rootdir's path on the cluster's HDFS
  std::unique_ptr<Thrift2Client> thrift;
  std::unique_ptr<MasterClient> master;
  std::unique_ptr<WebHdfs> hdfs;
};

MasterClient::Options MasterOptions(const std::string& user) {
  MasterClient::Options o;
  o.rpc.user = user;
  o.rpc.connect_timeout = std::chrono::seconds(10);
  o.rpc.call_timeout = std::chrono::seconds(60);
  o.operation_timeout = std::chrono::seconds(120);
  return o;
}

Cluster Connect(const nlohmann::json& ep, const std::string& name) {
  Cluster c;
  c.name = name;
  c.user = ep.value("user", "");
  c.root = ep.value("root_path", "");
  c.thrift = std::make_unique<Thrift2Client>(ep.value("thrift2", ""), Thrift2Client::Options{});
  c.master = std::make_unique<MasterClient>(ep.value("master_rpc", ""), MasterOptions(c.user));
  c.hdfs = std::make_unique<WebHdfs>(ep.value("webhdfs", ""), c.user);
  return c;
}

// A name no earlier run used: the rig lives across test runs.
std::string Unique(const std::string& prefix) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(ms % 100000000);
}

t2::TTableDescriptor TableWithFamilies(const std::string& table,
                                       const std::vector<std::string>& families,
                                       bool compactions = true) {
  t2::TTableDescriptor d;
  d.__set_tableName(ToTTableName(table));
  std::vector<t2::TColumnFamilyDescriptor> cfs;
  for (const std::string& f : families) {
    t2::TColumnFamilyDescriptor cf;
    cf.__set_name(f);
    cf.__set_maxVersions(3);
    cfs.push_back(cf);
  }
  d.__set_columns(cfs);
  // Without compactions a split's daughters keep their reference files (HBASE-28806's case).
  if (!compactions) d.__set_attributes({{"COMPACTION_ENABLED", "false"}});
  return d;
}

// Rows "row000".."row<n-1>", a cell in each family, with explicit timestamp `ts`.
std::vector<t2::TPut> Rows(int n, const std::vector<std::string>& families, int64_t ts,
                           const std::string& tag) {
  std::vector<t2::TPut> puts;
  for (int i = 0; i < n; ++i) {
    char row[16];
    std::snprintf(row, sizeof row, "row%03d", i);
    t2::TPut p;
    p.__set_row(row);
    std::vector<t2::TColumnValue> cols;
    for (const std::string& f : families) {
      t2::TColumnValue cv = Cell(f, "q", tag + "-" + f + "-" + std::to_string(i));
      cv.__set_timestamp(ts);
      cols.push_back(cv);
    }
    p.__set_columnValues(cols);
    puts.push_back(p);
  }
  return puts;
}

// Every cell of `table` (all versions, or only those in [min_ts, max_ts) when given).
StatusOr<Cells> ReadAll(Thrift2Client& client, const std::string& table, int64_t min_ts = -1,
                        int64_t max_ts = -1) {
  t2::TScan scan;
  scan.__set_maxVersions(10);
  if (min_ts >= 0) {
    t2::TTimeRange tr;
    tr.__set_minStamp(min_ts);
    tr.__set_maxStamp(max_ts);
    scan.__set_timeRange(tr);
  }
  Cells cells;
  Status s = client.Scan(table, scan, 37, [&](const std::vector<t2::TResult>& rows) {
    for (const auto& r : rows) {
      for (const auto& cv : r.columnValues) {
        cells[{r.row, cv.family, cv.qualifier, cv.timestamp}] = cv.value;
      }
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return cells;
}

// The snapshot's two descriptor files and its parsed manifest, read over WebHDFS.
struct SnapshotFiles {
  std::string info_bytes;
  std::string manifest_bytes;
  pb::SnapshotDescription info;
  pb::SnapshotDataManifest manifest;
};

StatusOr<SnapshotFiles> ReadSnapshot(const Cluster& c, const std::string& snapshot) {
  SnapshotFiles f;
  const std::string dir = c.root + "/" + SnapshotDirectory(snapshot) + "/";
  HttpReply info = c.hdfs->Read(dir + std::string(kSnapshotInfoFile));
  HttpReply manifest = c.hdfs->Read(dir + std::string(kDataManifestFile));
  if (info.code != 200 || manifest.code != 200) {
    return NotFoundError("snapshot " + snapshot + " on " + c.name + ": " +
                         std::to_string(info.code) + "/" + std::to_string(manifest.code) + " " +
                         info.body + manifest.body);
  }
  f.info_bytes = info.body;
  f.manifest_bytes = manifest.body;
  LIFEBOAT_ASSIGN_OR_RETURN(f.info, ParseSnapshotInfo(f.info_bytes));
  LIFEBOAT_ASSIGN_OR_RETURN(f.manifest, ParseDataManifest(f.manifest_bytes));
  return f;
}

// The snapshot's descriptor files go to .hbase-snapshot/.tmp/<name> first, and that directory
// is renamed into place, so the target's master never sees half a snapshot (ExportSnapshot's
// order). Returns false with `error` set on failure.
bool CommitSnapshot(const Cluster& to, const std::string& snapshot, const SnapshotFiles& files,
                    std::string* error) {
  const std::string tmp = to.root + "/" + std::string(kSnapshotDir) + "/.tmp/" + snapshot;
  if (!to.hdfs->Write(tmp + "/" + std::string(kSnapshotInfoFile), files.info_bytes, error) ||
      !to.hdfs->Write(tmp + "/" + std::string(kDataManifestFile), files.manifest_bytes, error)) {
    return false;
  }
  if (!to.hdfs->Rename(tmp, to.root + "/" + SnapshotDirectory(snapshot))) {
    *error = "could not rename " + tmp + " into .hbase-snapshot/";
    return false;
  }
  return true;
}

// What ExportSnapshot does, without MapReduce: every HFile the manifest references, read from
// data/ or (when a compaction, split or drop moved it) archive/, is written to the target
// root's archive/; then the descriptor files are committed (CommitSnapshot). Returns how many
// HFiles were read from archive/.
StatusOr<int> CopySnapshot(const Cluster& from, const Cluster& to, const std::string& snapshot) {
  LIFEBOAT_ASSIGN_OR_RETURN(SnapshotFiles files, ReadSnapshot(from, snapshot));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store_files, ListStoreFiles(files.manifest));
  int from_archive = 0;
  for (const SnapshotStoreFile& f : DistinctHFiles(store_files)) {
    HttpReply data = from.hdfs->Read(from.root + "/" + f.data_path);
    if (data.code == 404) {
      data = from.hdfs->Read(from.root + "/" + f.archive_path);
      ++from_archive;
    }
    if (data.code != 200) {
      return NotFoundError("HFile " + f.data_path + " of snapshot " + snapshot +
                           " is neither under data/ nor archive/: " + data.body);
    }
    if (f.kind == SnapshotStoreFile::Kind::kHFile && f.manifest_size &&
        *f.manifest_size != data.body.size()) {
      return DataLossError(f.data_path + ": " + std::to_string(data.body.size()) +
                           " bytes read, the manifest says " + std::to_string(*f.manifest_size));
    }
    std::string error;
    if (!to.hdfs->Write(to.root + "/" + f.archive_path, data.body, &error)) {
      return InternalError(error);
    }
  }
  std::string error;
  if (!CommitSnapshot(to, snapshot, files, &error)) return InternalError(error);
  return from_archive;
}

bool Listed(MasterClient& m, const std::string& snapshot) {
  auto all = m.ListSnapshots();
  if (!all.ok()) return false;
  for (const auto& s : *all) {
    if (s.name == snapshot) return true;
  }
  return false;
}

class HBaseClientRig : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(endpoints, "hbase");
    ASSERT_EQ(endpoints.value("system", ""), "hbase");
    primary_ = Connect(endpoints["clusters"]["primary"], "primary");
    secondary_ = Connect(endpoints["clusters"]["secondary"], "secondary");
    ASSERT_FALSE(primary_.root.empty()) << endpoints;
  }

  Cluster primary_;
  Cluster secondary_;
};

// The whole path of a point: rows in through Thrift2; a FLUSH snapshot through the master;
// its manifest read and every HFile found where the manifest says; the source table dropped
// (so every file is only in archive/, as after a compaction: HBASE-23202's situation);
// the snapshot copied to the secondary over WebHDFS; the secondary's master lists it and
// clones it; every cell reads back equal, on the secondary and in a clone on the primary.
TEST_F(HBaseClientRig, FlushSnapshotCopiedOverWebHdfsClonesOnTheOtherCluster) {
  const std::string ns = Unique("lb");
  const std::string table = ns + ":orders";
  const std::string snapshot = Unique("pt") + "_orders";
  const std::vector<std::string> families = {"cf", "meta"};
  ASSERT_TRUE(primary_.thrift->CreateNamespace(ns).ok());
  ASSERT_TRUE(primary_.thrift->CreateTable(TableWithFamilies(table, families), {"row050"}).ok());
  auto names = primary_.thrift->TableNamesInNamespace(ns);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(*names, std::vector<std::string>{table});
  auto descs = primary_.thrift->TableDescriptorsMatching(ns + ":.*", false);
  ASSERT_TRUE(descs.ok()) << descs.status().ToString();
  ASSERT_EQ(descs->size(), 1u);
  EXPECT_EQ((*descs)[0].columns.size(), 2u);

  // Two versions of every cell: t=1000 and t=2000.
  ASSERT_TRUE(primary_.thrift->Put(table, Rows(100, families, 1000, "v1")).ok());
  ASSERT_TRUE(primary_.thrift->Put(table, Rows(100, families, 2000, "v2")).ok());
  auto before = ReadAll(*primary_.thrift, table);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(before->size(), 400u);

  // A time-range read sees the table as of t < 2000: how a point is made exact at T.
  auto at_1500 = ReadAll(*primary_.thrift, table, 0, 1500);
  ASSERT_TRUE(at_1500.ok()) << at_1500.status().ToString();
  EXPECT_EQ(at_1500->size(), 200u);
  for (const auto& [key, value] : *at_1500) {
    EXPECT_EQ(std::get<3>(key), 1000);
    EXPECT_EQ(value.substr(0, 3), "v1-");
  }

  auto taken = primary_.master->TakeSnapshot(table, snapshot);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->snapshot.table, table);
  EXPECT_EQ(taken->snapshot.type, pb::SnapshotDescription::FLUSH);
  EXPECT_LE(taken->requested_ms, taken->completed_ms);
  EXPECT_GE(taken->snapshot.creation_time_ms, taken->requested_ms - 5000) << "clock skew?";
  EXPECT_TRUE(Listed(*primary_.master, snapshot));

  auto files = ReadSnapshot(primary_, snapshot);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->info.name(), snapshot);
  EXPECT_EQ(files->info.table(), table);
  EXPECT_EQ(files->info.version(), 2);
  EXPECT_EQ(FormatTableName(files->manifest.table_schema().table_name()), table);
  ASSERT_EQ(files->manifest.region_manifests_size(), 2) << "the table was created with 2 regions";
  auto store_files = ListStoreFiles(files->manifest);
  ASSERT_TRUE(store_files.ok()) << store_files.status().ToString();
  // FLUSH: each region flushed its memstore, one HFile per family and region.
  EXPECT_EQ(store_files->size(), 4u);
  for (const SnapshotStoreFile& f : *store_files) {
    EXPECT_EQ(f.kind, SnapshotStoreFile::Kind::kHFile) << f.name;
    HttpReply st = primary_.hdfs->Status(primary_.root + "/" + f.data_path);
    EXPECT_EQ(st.code, 200) << "the manifest's HFile is not where the region's encoded name "
                               "says: "
                            << f.data_path << " " << st.body;
    auto stat = nlohmann::json::parse(st.body, nullptr, false);
    ASSERT_TRUE(f.manifest_size.has_value());
    EXPECT_EQ(stat["FileStatus"].value("length", uint64_t{0}), *f.manifest_size) << f.data_path;
  }

  // Drop the source table: HBase moves its HFiles to archive/, where only the snapshot keeps
  // them alive. The copy finds each there.
  ASSERT_TRUE(primary_.thrift->DisableTable(table).ok());
  ASSERT_TRUE(primary_.thrift->DeleteTable(table).ok());
  for (const SnapshotStoreFile& f : *store_files) {
    EXPECT_EQ(primary_.hdfs->Status(primary_.root + "/" + f.data_path).code, 404) << f.data_path;
    EXPECT_EQ(primary_.hdfs->Status(primary_.root + "/" + f.archive_path).code, 200)
        << f.archive_path;
  }

  EXPECT_FALSE(Listed(*secondary_.master, snapshot));
  auto copied = CopySnapshot(primary_, secondary_, snapshot);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(*copied, 4) << "every HFile had to come from archive/";
  EXPECT_TRUE(Listed(*secondary_.master, snapshot)) << "the target's master reads the copy";

  // A clone needs its namespace on the target.
  Status no_ns = secondary_.master->CloneSnapshot(snapshot, table);
  EXPECT_EQ(no_ns.code(), Code::kNotFound) << no_ns.ToString();
  EXPECT_NE(no_ns.message().find("NamespaceNotFoundException"), std::string::npos)
      << no_ns.ToString();
  ASSERT_TRUE(secondary_.thrift->CreateNamespace(ns).ok());

  Status cloned = secondary_.master->CloneSnapshot(snapshot, table);
  ASSERT_TRUE(cloned.ok()) << cloned.ToString();
  auto after = ReadAll(*secondary_.thrift, table);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before) << "every cell, every version, every timestamp";

  // The same snapshot brings the dropped table back on the primary, under a new name.
  const std::string back = ns + ":orders_back";
  Status cloned_back = primary_.master->CloneSnapshot(snapshot, back);
  ASSERT_TRUE(cloned_back.ok()) << cloned_back.ToString();
  auto restored = ReadAll(*primary_.thrift, back);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(*restored, *before);

  // Cloning over an existing table is refused, not turned into a restore.
  Status again = secondary_.master->CloneSnapshot(snapshot, table);
  EXPECT_EQ(again.code(), Code::kAlreadyExists) << again.ToString();
  EXPECT_NE(again.message().find(table), std::string::npos) << again.ToString();

  // A second snapshot of the same name.
  auto dup = primary_.master->TakeSnapshot(back, snapshot);
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists) << dup.status().ToString();
  EXPECT_NE(dup.status().message().find("SnapshotExistsException"), std::string::npos)
      << dup.status().ToString();

  ASSERT_TRUE(primary_.master->DeleteSnapshot(snapshot).ok());
  EXPECT_FALSE(Listed(*primary_.master, snapshot));
  ASSERT_TRUE(secondary_.master->DeleteSnapshot(snapshot).ok());
}

// Store files are immutable and keep their names: a later snapshot lists the earlier one's
// HFiles plus those flushed since, so once the target holds the first point (and keeps its
// snapshot, which keeps the files from the archive cleaner), the next point needs only the
// new files. Copied that way, the clone of the second point holds every cell.
TEST_F(HBaseClientRig, ASecondPointNeedsOnlyTheNewStoreFiles) {
  const std::string table = Unique("lb_incr");
  const std::string first = Unique("pt") + "_incr1";
  const std::string second = Unique("pt") + "_incr2";
  const std::vector<std::string> families = {"cf", "meta"};
  ASSERT_TRUE(primary_.thrift->CreateTable(TableWithFamilies(table, families), {"row050"}).ok());
  ASSERT_TRUE(primary_.thrift->Put(table, Rows(100, families, 1000, "v1")).ok());
  ASSERT_TRUE(primary_.master->TakeSnapshot(table, first).ok());
  // 1 % of the rows change: row000, in the first region.
  auto changed = Rows(1, families, 2000, "v2");
  ASSERT_TRUE(primary_.thrift->Put(table, changed).ok());
  ASSERT_TRUE(primary_.master->TakeSnapshot(table, second).ok());
  auto expected = ReadAll(*primary_.thrift, table);
  ASSERT_TRUE(expected.ok());

  auto a = ReadSnapshot(primary_, first);
  auto b = ReadSnapshot(primary_, second);
  ASSERT_TRUE(a.ok() && b.ok());
  auto files_a = ListStoreFiles(a->manifest);
  auto files_b = ListStoreFiles(b->manifest);
  ASSERT_TRUE(files_a.ok() && files_b.ok());
  std::set<std::string> in_a;
  for (const auto& f : DistinctHFiles(*files_a)) in_a.insert(f.archive_path);
  std::vector<std::string> only_b;
  for (const auto& f : DistinctHFiles(*files_b)) {
    if (in_a.count(f.archive_path) == 0) only_b.push_back(f.archive_path);
  }
  EXPECT_EQ(in_a.size(), 4u);
  // The changed row lives in the first region only: one new HFile per family there. A region
  // with nothing in its memstore is not flushed, so the second region adds nothing.
  EXPECT_EQ(only_b.size(), 2u);
  for (const std::string& path : in_a) {
    bool kept = false;
    for (const auto& f : *files_b) kept = kept || f.archive_path == path;
    EXPECT_TRUE(kept) << path << " of the first point is not in the second";
  }

  // The first point in full, then the second with only its new files: the target already
  // holds the others in archive/ (kept there by the first snapshot).
  auto full = CopySnapshot(primary_, secondary_, first);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  int written = 0;
  for (const auto& f : DistinctHFiles(*files_b)) {
    HttpReply there = secondary_.hdfs->Status(secondary_.root + "/" + f.archive_path);
    if (there.code == 200) continue;
    HttpReply data = primary_.hdfs->Read(primary_.root + "/" + f.data_path);
    ASSERT_EQ(data.code, 200) << f.data_path;
    std::string error;
    ASSERT_TRUE(secondary_.hdfs->Write(secondary_.root + "/" + f.archive_path, data.body, &error))
        << error;
    ++written;
  }
  EXPECT_EQ(written, 2);
  std::string error;
  ASSERT_TRUE(CommitSnapshot(secondary_, second, *b, &error)) << error;
  ASSERT_TRUE(secondary_.master->CloneSnapshot(second, table).ok());
  auto after = ReadAll(*secondary_.thrift, table);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *expected);
  for (const auto& name : {first, second}) {
    EXPECT_TRUE(primary_.master->DeleteSnapshot(name).ok());
    EXPECT_TRUE(secondary_.master->DeleteSnapshot(name).ok());
  }
}

// How exact a point at T can be made by reading its snapshot with the time range [0, T):
// a cell overwritten after T keeps its old version only if the family keeps 2+ versions (a
// FLUSH snapshot's flush drops the older one at VERSIONS=1), and a cell deleted after T shows
// only with KEEP_DELETED_CELLS=TRUE (the later delete marker hides it from a time-range read,
// even before any flush). Observed on HBase 2.6.1; the plugin declares "exact at T" only for
// tables whose families all keep both.
TEST_F(HBaseClientRig, TimeRangeReadsAtTNeedVersionsAndKeptDeletes) {
  struct Case {
    int32_t versions;
    bool keep_deleted;
    std::string expected;  // the values a [0, 2000) read of the clone returns
  };
  for (const Case& c : {Case{1, false, ""}, Case{3, false, "a@1000 "}, Case{1, true, "b@1000 "},
                        Case{3, true, "a@1000 b@1000 "}}) {
    SCOPED_TRACE("VERSIONS=" + std::to_string(c.versions) +
                 " KEEP_DELETED_CELLS=" + (c.keep_deleted ? "TRUE" : "FALSE"));
    const std::string table =
        Unique("lb_at_t") + "_" + std::to_string(c.versions) + (c.keep_deleted ? "_keep" : "");
    const std::string snapshot = table + "_pt";
    t2::TTableDescriptor d;
    d.__set_tableName(ToTTableName(table));
    t2::TColumnFamilyDescriptor cf;
    cf.__set_name("cf");
    cf.__set_maxVersions(c.versions);
    if (c.keep_deleted) cf.__set_keepDeletedCells(t2::TKeepDeletedCells::TRUE);
    d.__set_columns({cf});
    ASSERT_TRUE(primary_.thrift->CreateTable(d).ok());
    auto put = [&](const std::string& row, int64_t ts) {
      t2::TPut p;
      p.__set_row(row);
      t2::TColumnValue cv = Cell("cf", "q", row + "@" + std::to_string(ts));
      cv.__set_timestamp(ts);
      p.__set_columnValues({cv});
      return primary_.thrift->Put(table, {p});
    };
    // T = 2000: "a" is overwritten after T, "b" is deleted after T.
    ASSERT_TRUE(put("a", 1000).ok());
    ASSERT_TRUE(put("a", 3000).ok());
    ASSERT_TRUE(put("b", 1000).ok());
    t2::TDelete del;
    del.__set_row("b");
    del.__set_timestamp(3000);
    del.__set_deleteType(t2::TDeleteType::DELETE_COLUMNS);
    t2::TColumn col;
    col.__set_family("cf");
    col.__set_qualifier("q");
    del.__set_columns({col});
    ASSERT_TRUE(
        primary_.thrift->Invoke("deleteSingle", [&](auto& cl) { cl.deleteSingle(table, del); })
            .ok());
    ASSERT_TRUE(primary_.master->TakeSnapshot(table, snapshot).ok());
    ASSERT_TRUE(primary_.master->CloneSnapshot(snapshot, table + "_clone").ok());
    auto at_t = ReadAll(*primary_.thrift, table + "_clone", 0, 2000);
    ASSERT_TRUE(at_t.ok()) << at_t.status().ToString();
    std::string values;
    for (const auto& [key, value] : *at_t) values += value + " ";
    EXPECT_EQ(values, c.expected);
    EXPECT_TRUE(primary_.master->DeleteSnapshot(snapshot).ok());
  }
}

// Restore in place: the table must be disabled; afterwards it holds the snapshot's rows and
// not the write taken after it.
TEST_F(HBaseClientRig, RestoreInPlaceNeedsADisabledTableAndDropsLaterWrites) {
  const std::string table = Unique("lb_restore");
  const std::string snapshot = Unique("pt") + "_restore";
  ASSERT_TRUE(primary_.thrift->CreateTable(TableWithFamilies(table, {"cf"})).ok());
  ASSERT_TRUE(primary_.thrift->Put(table, Rows(20, {"cf"}, 1000, "v1")).ok());
  auto before = ReadAll(*primary_.thrift, table);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(primary_.master->TakeSnapshot(table, snapshot).ok());
  ASSERT_TRUE(primary_.thrift->Put(table, Rows(30, {"cf"}, 3000, "late")).ok());

  Status enabled = primary_.master->RestoreSnapshot(snapshot, table);
  EXPECT_EQ(enabled.code(), Code::kFailedPrecondition) << enabled.ToString();
  EXPECT_NE(enabled.message().find("disable"), std::string::npos) << enabled.ToString();

  ASSERT_TRUE(primary_.thrift->DisableTable(table).ok());
  Status restored = primary_.master->RestoreSnapshot(snapshot, table);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  ASSERT_TRUE(primary_.thrift->EnableTable(table).ok());
  auto after = ReadAll(*primary_.thrift, table);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before);
  ASSERT_TRUE(primary_.master->DeleteSnapshot(snapshot).ok());
}

// After a split (compactions off, so the daughters keep their reference files) a snapshot's
// manifest lists references named <hfile>.<parent>; the bytes are the parent's HFiles. Copied
// as ExportSnapshot lays them out, the target's clone reads every row (HBASE-28806).
TEST_F(HBaseClientRig, ReferenceFilesAfterASplitCopyAndClone) {
  const std::string table = Unique("lb_split");
  const std::string first = Unique("pt") + "_presplit";
  const std::string second = Unique("pt") + "_split";
  ASSERT_TRUE(primary_.thrift->CreateTable(TableWithFamilies(table, {"cf"}, false)).ok());
  ASSERT_TRUE(primary_.thrift->Put(table, Rows(60, {"cf"}, 1000, "v1")).ok());
  auto before = ReadAll(*primary_.thrift, table);
  ASSERT_TRUE(before.ok());
  // The first snapshot flushes the rows into one HFile and tells us the region to split.
  ASSERT_TRUE(primary_.master->TakeSnapshot(table, first).ok());
  auto pre = ReadSnapshot(primary_, first);
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  ASSERT_EQ(pre->manifest.region_manifests_size(), 1);
  const pb::RegionInfo parent = pre->manifest.region_manifests(0).region_info();
  Status split = primary_.master->SplitRegion(parent, "row030");
  ASSERT_TRUE(split.ok()) << split.ToString();

  // The daughters may take a moment to be online for the snapshot's flush.
  StatusOr<TakenSnapshot> taken = UnavailableError("not tried");
  for (int i = 0; i < 50 && !taken.ok(); ++i) {
    taken = primary_.master->TakeSnapshot(table, second);
    if (!taken.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  auto post = ReadSnapshot(primary_, second);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  // The snapshot lists the split parent too (offline, split=true) until the catalog janitor
  // removes it: its HFile is what the daughters' references point at.
  int online = 0;
  for (const auto& rm : post->manifest.region_manifests()) {
    if (!rm.region_info().offline()) ++online;
    std::cerr << "region " << EncodedRegionName(rm.region_info()) << " of "
              << FormatTableName(rm.region_info().table_name()) << " id "
              << rm.region_info().region_id() << " start '" << rm.region_info().start_key()
              << "' offline=" << rm.region_info().offline() << " split=" << rm.region_info().split()
              << " files=";
    for (const auto& ff : rm.family_files()) {
      for (const auto& sf : ff.store_files()) std::cerr << sf.name() << " ";
    }
    std::cerr << "\n";
  }
  EXPECT_EQ(online, 2);
  auto store_files = ListStoreFiles(post->manifest);
  ASSERT_TRUE(store_files.ok()) << store_files.status().ToString();
  int references = 0;
  const std::string parent_region = EncodedRegionName(parent);
  for (const SnapshotStoreFile& f : *store_files) {
    if (f.kind != SnapshotStoreFile::Kind::kReference) continue;
    ++references;
    EXPECT_NE(f.data_path.find("/" + parent_region + "/"), std::string::npos) << f.data_path;
  }
  EXPECT_EQ(references, 2) << "one reference per daughter, both to the parent's HFile";
  EXPECT_EQ(DistinctHFiles(*store_files).size(), 1u);

  auto copied = CopySnapshot(primary_, secondary_, second);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ASSERT_TRUE(secondary_.master->CloneSnapshot(second, table).ok());
  auto after = ReadAll(*secondary_.thrift, table);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before);
  EXPECT_TRUE(primary_.master->DeleteSnapshot(first).ok());
  EXPECT_TRUE(primary_.master->DeleteSnapshot(second).ok());
  EXPECT_TRUE(secondary_.master->DeleteSnapshot(second).ok());
}

// Errors say which server, which call and what HBase answered.
TEST_F(HBaseClientRig, ErrorsNameTheServerTheCallAndHBasesAnswer) {
  auto missing = primary_.master->TakeSnapshot("no_such_table_here", Unique("pt"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("TableNotFoundException"), std::string::npos)
      << missing.status().ToString();
  EXPECT_NE(missing.status().message().find(primary_.master->address()), std::string::npos)
      << missing.status().ToString();

  Status del = primary_.master->DeleteSnapshot("no_such_snapshot_here");
  EXPECT_EQ(del.code(), Code::kNotFound) << del.ToString();
  EXPECT_NE(del.message().find("SnapshotDoesNotExistException"), std::string::npos)
      << del.ToString();

  Status clone = primary_.master->CloneSnapshot("no_such_snapshot_here", Unique("lb_none"));
  EXPECT_EQ(clone.code(), Code::kNotFound) << clone.ToString();

  auto bad_name = primary_.master->TakeSnapshot("no_such_table_here", "bad name");
  EXPECT_EQ(bad_name.status().code(), Code::kInvalidArgument) << bad_name.status().ToString();
  auto meta = primary_.master->TakeSnapshot("hbase:meta", Unique("pt"));
  EXPECT_EQ(meta.status().code(), Code::kInvalidArgument) << meta.status().ToString();

  auto no_table = primary_.thrift->GetTableDescriptor("no_such_table_here");
  EXPECT_FALSE(no_table.ok());
  EXPECT_EQ(no_table.status().code(), Code::kNotFound) << no_table.status().ToString();
  EXPECT_NE(no_table.status().message().find("no_such_table_here"), std::string::npos)
      << no_table.status().ToString();
  EXPECT_NE(no_table.status().message().find(primary_.thrift->address()), std::string::npos)
      << no_table.status().ToString();

  auto dup_ns = primary_.thrift->CreateNamespace("default");
  EXPECT_EQ(dup_ns.code(), Code::kAlreadyExists) << dup_ns.ToString();
}

// A master or Thrift2 server that is not there: UNAVAILABLE, naming the address and the call.
TEST_F(HBaseClientRig, DeadServersAreUnavailable) {
  // A port that was just free: bound, then closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const std::string dead = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  MasterClient master(dead, MasterOptions(primary_.user));
  auto list = master.ListSnapshots();
  EXPECT_EQ(list.status().code(), Code::kUnavailable) << list.status().ToString();
  EXPECT_NE(list.status().message().find("HBase master " + dead), std::string::npos)
      << list.status().ToString();
  EXPECT_NE(list.status().message().find("refused"), std::string::npos) << list.status().ToString();

  Thrift2Client thrift(dead, Thrift2Client::Options{});
  auto ns = thrift.ListNamespaces();
  EXPECT_EQ(ns.status().code(), Code::kUnavailable) << ns.status().ToString();
  EXPECT_NE(ns.status().message().find(dead), std::string::npos) << ns.status().ToString();

  // The Thrift2 port is not an HBase RPC port: the master client's answer must be an error,
  // not a hang or a crash.
  MasterClient::Options short_wait = MasterOptions(primary_.user);
  short_wait.rpc.call_timeout = std::chrono::seconds(5);
  MasterClient wrong(secondary_.thrift->address(), short_wait);
  EXPECT_FALSE(wrong.Ping().ok());
}

// The in-process Thrift2 server (hbase-thrift 2.6.1, -threadpool) speaks the unframed binary
// protocol: a framed or compact client gets an error (not an answer, and not a hang).
TEST_F(HBaseClientRig, Thrift2ServerSpeaksUnframedBinary) {
  auto plain = primary_.thrift->ListNamespaces();
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_NE(std::find(plain->begin(), plain->end(), "default"), plain->end());
  for (auto [framed, compact] : {std::pair{true, false}, std::pair{false, true}}) {
    Thrift2Client::Options o;
    o.framed = framed;
    o.compact = compact;
    o.call_timeout = std::chrono::seconds(5);
    Thrift2Client other(primary_.thrift->address(), o);
    auto ns = other.ListNamespaces();
    EXPECT_FALSE(ns.ok()) << "framed=" << framed << " compact=" << compact;
  }
}

}  // namespace
}  // namespace lifeboat::hbase
