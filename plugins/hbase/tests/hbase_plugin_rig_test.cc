// The hbase plugin's own scenarios against the HBase rig (label rig), the ones issue 15 names
// beyond the conformance suite: a region split between two points, an HFile that moves to
// archive/ in the middle of its copy (HBASE-23202's case), and a restore over an existing table
// refused without the operator's agreement. The plugin is created in-process with the SDK's
// FakeHost; the clusters are real.
#include <gtest/gtest.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>

#include "hbase_plugin.h"
#include "rig_endpoints.h"
#include "snapshot_manifest.h"

namespace lifeboat::hbase {
namespace {

using Cells = std::map<std::tuple<std::string, std::string, std::string, int64_t>, std::string>;

struct Cluster {
  std::string name;
  v1::PluginConfig config;
  std::unique_ptr<HBasePlugin> plugin;
  std::unique_ptr<MasterClient> master;
  std::unique_ptr<Thrift2Client> thrift;
  std::unique_ptr<hdfs::WebHdfsClient> fs;
  std::string root;
};

class HBasePluginRigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(endpoints, "hbase");
    static int counter = 0;
    ns_ = "plg" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    src_ = Connect(endpoints, "primary");
    dst_ = Connect(endpoints, "secondary");
    ASSERT_TRUE(src_.thrift->CreateNamespace(ns_).ok());
  }

  void TearDown() override {
    for (Cluster* c : {&src_, &dst_}) {
      if (!c->thrift) continue;
      auto namespaces = c->thrift->ListNamespaces();
      for (const auto& ns : namespaces.ok() ? *namespaces : std::vector<std::string>{}) {
        if (ns != ns_ && ns.rfind(ns_ + "_", 0) != 0) continue;
        auto tables = c->thrift->TableNamesInNamespace(ns);
        for (const auto& t : tables.ok() ? *tables : std::vector<std::string>{}) {
          auto enabled = c->thrift->IsTableEnabled(t);
          if (enabled.ok() && *enabled) (void)c->thrift->DisableTable(t);
          (void)c->thrift->DeleteTable(t);
        }
        (void)c->thrift->DeleteNamespace(ns);
      }
      auto snaps = c->master->ListSnapshots();
      for (const auto& s : snaps.ok() ? *snaps : std::vector<SnapshotSummary>{}) {
        if (s.name.find("-" + ns_ + "-") != std::string::npos) {
          (void)c->master->DeleteSnapshot(s.name);
        }
      }
      (void)c->fs->Delete(c->root + "/.lifeboat-" + ns_, true);
    }
  }

  Cluster Connect(const nlohmann::json& endpoints, const std::string& name) {
    const auto& e = endpoints["clusters"][name];
    Cluster c;
    c.name = name;
    c.root = e.value("root_path", "");
    nlohmann::json cfg = {{"master", e.value("master_rpc", "")},
                          {"thrift2", e.value("thrift2", "")},
                          {"namenodes", {e.value("namenode_http", "")}},
                          {"root", c.root},
                          {"user", e.value("user", "")},
                          {"state_dir", c.root + "/.lifeboat-" + ns_}};
    c.config.set_plugin("hbase");
    c.config.set_cluster(name);
    c.config.set_config_json(cfg.dump());
    auto made = HBasePlugin::Create(sdk::Host(host_.table(), host_.context_handle()), c.config);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (made.ok()) c.plugin = std::move(made).value();
    MasterClient::Options mo;
    mo.rpc.user = e.value("user", "");
    c.master = std::make_unique<MasterClient>(e.value("master_rpc", ""), mo);
    c.thrift = std::make_unique<Thrift2Client>(e.value("thrift2", ""), Thrift2Client::Options());
    hdfs::WebHdfsClient::Options fo;
    fo.namenodes = {"http://" + e.value("namenode_http", "")};
    fo.user = e.value("user", "");
    c.fs = std::make_unique<hdfs::WebHdfsClient>(fo);
    return c;
  }

  sdk::Call MakeCall() {
    return sdk::Call(host_.table(), host_.call_handle(),
                     sdk::Host(host_.table(), host_.context_handle()));
  }

  v1::DataSet DataSet() const {
    v1::DataSet ds;
    ds.set_component("hbase");
    ds.set_selector(ns_);
    return ds;
  }
  std::string Table(const std::string& q) const { return ns_ + ":" + q; }

  void MakeTable(const std::string& q) {
    t2::TTableDescriptor d;
    d.__set_tableName(ToTTableName(Table(q)));
    t2::TColumnFamilyDescriptor cf;
    cf.__set_name("cf");
    d.__set_columns({cf});
    // Without compactions a split's daughters keep their reference files.
    d.__set_attributes({{"COMPACTION_ENABLED", "false"}});
    ASSERT_TRUE(src_.thrift->CreateTable(d).ok());
  }

  static Status PutRows(Thrift2Client& c, const std::string& table, int from, int to,
                        const std::string& value) {
    std::vector<t2::TPut> puts;
    for (int i = from; i < to; ++i) {
      char row[16];
      std::snprintf(row, sizeof row, "r%03d", i);
      t2::TPut p;
      p.__set_row(row);
      p.__set_columnValues({Cell("cf", "q", value)});
      puts.push_back(p);
    }
    return c.Put(table, puts);
  }

  static Cells Read(Thrift2Client& c, const std::string& table) {
    Cells cells;
    t2::TScan scan;
    scan.__set_maxVersions(10);
    Status s = c.Scan(table, scan, 50, [&](const std::vector<t2::TResult>& rows) {
      for (const auto& r : rows) {
        for (const auto& cv : r.columnValues) {
          cells[{r.row, cv.family, cv.qualifier, cv.timestamp}] = cv.value;
        }
      }
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return cells;
  }

  v1::Peer SourcePeer() const {
    v1::Peer p;
    *p.mutable_config() = src_.config;
    return p;
  }

  StatusOr<v1::CutResponse> Cut(const std::string& rp) {
    sdk::Call call = MakeCall();
    v1::CutRequest req;
    req.set_op_id("cut-" + rp);
    *req.mutable_data_set() = DataSet();
    req.set_restore_point_id(rp);
    return src_.plugin->Cut(call, req);
  }

  StatusOr<v1::PlanTransferResponse> Plan(const v1::SnapshotRef& snap, const std::string& base) {
    sdk::Call call = MakeCall();
    v1::PlanTransferRequest req;
    req.set_op_id("plan-" + snap.restore_point_id());
    *req.mutable_source() = SourcePeer();
    *req.mutable_snapshot() = snap;
    req.set_base_restore_point_id(base);
    return dst_.plugin->PlanTransfer(call, req);
  }

  StatusOr<v1::TransferResponse> Transfer(const v1::SnapshotRef& snap,
                                          const v1::TransferTask& task) {
    sdk::Call call = MakeCall();
    v1::TransferRequest req;
    req.set_op_id("transfer-" + task.task_id());
    *req.mutable_source() = SourcePeer();
    *req.mutable_snapshot() = snap;
    *req.mutable_task() = task;
    return dst_.plugin->Transfer(call, req);
  }

  // Verify at DIGEST and commit; both must succeed.
  void VerifyAndCommit(const v1::SnapshotRef& snap, const std::string& base) {
    sdk::Call call = MakeCall();
    v1::VerifyRequest v;
    v.set_op_id("verify-" + snap.restore_point_id());
    *v.mutable_snapshot() = snap;
    v.set_level(v1::VERIFY_DIGEST);
    auto verified = dst_.plugin->Verify(call, v);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    ASSERT_TRUE(verified->ok()) << verified->mismatches_size() << " mismatches, first "
                                << (verified->mismatches_size() ? verified->mismatches(0).path()
                                                                : "");
    v1::CommitRequest c;
    c.set_op_id("commit-" + snap.restore_point_id());
    *c.mutable_snapshot() = snap;
    c.set_base_restore_point_id(base);
    auto committed = dst_.plugin->Commit(call, c);
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  }

  v1::SnapshotRef Backup(const std::string& rp, const std::string& base,
                         v1::PlanTransferResponse* plan_out = nullptr) {
    // Right after a split the daughters may still be opening: the cut says so and is retried,
    // as the engine retries it.
    StatusOr<v1::CutResponse> cut = Cut(rp);
    for (int i = 0; i < 20 && !cut.ok() && cut.status().code() != Code::kInvalidArgument; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      cut = Cut(rp);
    }
    EXPECT_TRUE(cut.ok()) << cut.status().ToString();
    if (!cut.ok()) return {};
    auto plan = Plan(cut->snapshot(), base);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    for (const auto& task : plan->tasks()) {
      auto t = Transfer(cut->snapshot(), task);
      EXPECT_TRUE(t.ok()) << task.task_id() << ": " << t.status().ToString();
    }
    VerifyAndCommit(cut->snapshot(), base);
    if (plan_out != nullptr) *plan_out = *plan;
    return cut->snapshot();
  }

  StatusOr<v1::RestoreResponse> Restore(const std::string& rp, const std::string& dest,
                                        const std::string& op, bool overwrite, bool dry_run) {
    sdk::Call call = MakeCall();
    v1::RestoreRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = DataSet();
    req.set_restore_point_id(rp);
    req.set_destination(dest);
    req.set_overwrite(overwrite);
    req.set_dry_run(dry_run);
    return dst_.plugin->Restore(call, req);
  }

  testing::FakeHost host_;
  std::string ns_;
  Cluster src_;
  Cluster dst_;
};

// A region split between two points: the second point's daughters hold reference files to the
// parent's HFile (HBASE-28806's case). The incremental copies only the HFile written after the
// split — the parent's HFile is held already — and both points restore every row.
TEST_F(HBasePluginRigTest, SplitBetweenTwoPointsCopiesOnlyNewFiles) {
  MakeTable("t");
  ASSERT_TRUE(PutRows(*src_.thrift, Table("t"), 0, 60, "v1").ok());
  v1::PlanTransferResponse first;
  v1::SnapshotRef rp1 = Backup("rp1", "", &first);
  ASSERT_EQ(first.items_to_copy(), 1u) << "60 rows flushed once: one HFile";
  const Cells at_rp1 = Read(*src_.thrift, Table("t"));

  // The region of the table, from rp1's snapshot on the source, split at r030.
  PointRecord point = *PointFromJson(rp1.opaque());
  auto manifest = src_.fs->ReadAll(src_.root + "/" + SnapshotDirectory(point.tables[0].snapshot) +
                                   "/" + std::string(kDataManifestFile));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  auto parsed = ParseDataManifest(*manifest);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->region_manifests_size(), 1);
  Status split = src_.master->SplitRegion(parsed->region_manifests(0).region_info(), "r030");
  ASSERT_TRUE(split.ok()) << split.ToString();
  ASSERT_TRUE(PutRows(*src_.thrift, Table("t"), 40, 45, "v2").ok());
  const Cells at_rp2 = Read(*src_.thrift, Table("t"));

  v1::PlanTransferResponse second;
  v1::SnapshotRef rp2 = Backup("rp2", "rp1", &second);
  EXPECT_TRUE(second.incremental()) << second.full_reason();
  EXPECT_EQ(second.items_to_copy(), 1u)
      << "only the upper daughter's new HFile: the references share the parent's HFile, "
         "which rp1 brought";
  EXPECT_EQ(second.items_unchanged(), 1u);

  ASSERT_TRUE(Restore("rp2", ns_ + "_r2", "restore-rp2", false, false).ok());
  EXPECT_EQ(Read(*dst_.thrift, ns_ + "_r2:t"), at_rp2);
  ASSERT_TRUE(Restore("rp1", ns_ + "_r1", "restore-rp1", false, false).ok());
  EXPECT_EQ(Read(*dst_.thrift, ns_ + "_r1:t"), at_rp1);
}

// An HFile that leaves data/ in the middle of its copy (its table dropped; a compaction does
// the same): the copy stopped half-way resumes from archive/, where the source snapshot keeps
// the file until the point commits, and the point restores every row. ExportSnapshot fails
// here (HBASE-23202).
TEST_F(HBasePluginRigTest, FileMovedToArchiveMidCopyResumesFromArchive) {
  MakeTable("t");
  const std::string value(64 << 10, 'x');
  ASSERT_TRUE(PutRows(*src_.thrift, Table("t"), 0, 64, value).ok());  // ~4 MiB, one HFile
  const Cells at_cut = Read(*src_.thrift, Table("t"));
  auto cut = Cut("rp1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  auto plan = Plan(cut->snapshot(), "");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->tasks_size(), 1);
  const v1::TransferTask task = plan->tasks(0);

  host_.CancelWhen([](const v1::Progress& p) { return p.bytes_done() > 0; });
  auto stopped = Transfer(cut->snapshot(), task);
  ASSERT_EQ(stopped.status().code(), Code::kCancelled) << stopped.status().ToString();
  host_.ClearCancel();

  // The table goes: its HFiles move from data/ to archive/ on the source.
  const std::string data_path = src_.root + "/data/" + ns_ + "/" + task.task_id();
  ASSERT_TRUE(src_.fs->GetFileStatus(data_path).ok()) << "the HFile was in data/";
  ASSERT_TRUE(src_.thrift->DisableTable(Table("t")).ok());
  ASSERT_TRUE(src_.thrift->DeleteTable(Table("t")).ok());
  EXPECT_EQ(src_.fs->GetFileStatus(data_path).status().code(), Code::kNotFound);

  auto resumed = Transfer(cut->snapshot(), task);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_GT(resumed->bytes_copied(), 0u);
  EXPECT_LT(resumed->bytes_copied(), task.bytes()) << "the resumed copy started over";
  EXPECT_EQ(resumed->bytes_copied() + resumed->bytes_skipped(), task.bytes());
  VerifyAndCommit(cut->snapshot(), "");
  ASSERT_TRUE(Restore("rp1", ns_ + "_r", "restore-1", false, false).ok());
  EXPECT_EQ(Read(*dst_.thrift, ns_ + "_r:t"), at_cut);
}

// Restoring over a table that exists (here: the point restored into the data set itself, then
// written to by an application) asks first: refused, dry run included, with the table named
// and left as it was; with the operator's agreement the table is the point again, enabled.
TEST_F(HBasePluginRigTest, RestoreOverExistingTableNeedsAgreement) {
  MakeTable("t");
  ASSERT_TRUE(PutRows(*src_.thrift, Table("t"), 0, 10, "v1").ok());
  const Cells at_cut = Read(*src_.thrift, Table("t"));
  Backup("rp1", "");
  auto first = Restore("rp1", "", "restore-live", false, false);
  ASSERT_TRUE(first.ok()) << "nothing there yet: " << first.status().ToString();
  ASSERT_TRUE(PutRows(*dst_.thrift, Table("t"), 100, 101, "late").ok());
  const Cells written = Read(*dst_.thrift, Table("t"));
  ASSERT_NE(written, at_cut);

  for (bool dry : {true, false}) {
    auto refused = Restore("rp1", "", dry ? "again-dry" : "again", false, dry);
    EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find(Table("t")), std::string::npos)
        << "the refusal names the table: " << refused.status().ToString();
  }
  EXPECT_EQ(Read(*dst_.thrift, Table("t")), written) << "a refused restore changed the table";

  auto dry = Restore("rp1", "", "agreed-dry", true, true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(Read(*dst_.thrift, Table("t")), written) << "a dry run changed the table";
  auto agreed = Restore("rp1", "", "agreed", true, false);
  ASSERT_TRUE(agreed.ok()) << agreed.status().ToString();
  EXPECT_EQ(Read(*dst_.thrift, Table("t")), at_cut);
  auto enabled = dst_.thrift->IsTableEnabled(Table("t"));
  ASSERT_TRUE(enabled.ok());
  EXPECT_TRUE(*enabled) << "the restored table was left disabled";
}

}  // namespace
}  // namespace lifeboat::hbase

namespace lifeboat::hbase {
namespace {

// A point cut from a fenced (read-only) table, as a failback's last backup cuts the fenced
// new primary: the cut works (SKIPFLUSH: a read-only region refuses a flush), and a table
// restored from it is writable, without the fence's marker — the fence belongs to the
// cluster it was set on. Both failed before (the cut with "HBaseSnapshotException ... had an
// error", the restored table with "region is read only").
TEST_F(HBasePluginRigTest, PointOfAFencedTableRestoresWritable) {
  MakeTable("t");
  ASSERT_TRUE(PutRows(*src_.thrift, Table("t"), 0, 10, "v1").ok());
  sdk::Call call = MakeCall();
  v1::FenceRequest fence;
  fence.set_op_id("fence-1");
  *fence.mutable_data_set() = DataSet();
  fence.set_epoch(2);
  fence.set_reason("demoted");
  auto fenced = src_.plugin->Fence(call, fence);
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  ASSERT_FALSE(PutRows(*src_.thrift, Table("t"), 10, 11, "late").ok())
      << "the fence let a write in";
  const Cells at_cut = Read(*src_.thrift, Table("t"));

  v1::SnapshotRef rp1 = Backup("rp1", "");
  ASSERT_FALSE(rp1.restore_point_id().empty()) << "the cut of the fenced table failed";
  ASSERT_TRUE(Restore("rp1", ns_ + "_r", "restore-1", false, false).ok());
  EXPECT_EQ(Read(*dst_.thrift, ns_ + "_r:t"), at_cut);
  auto d = dst_.thrift->GetTableDescriptor(ns_ + "_r:t");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->attributes.count(kFenceAttribute), 0u) << "the restored table carries the marker";
  Status write = PutRows(*dst_.thrift, ns_ + "_r:t", 20, 21, "new");
  EXPECT_TRUE(write.ok()) << "the restored table refuses writes: " << write.ToString();
  auto probe = dst_.plugin->Probe(call, v1::ProbeRequest());
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->fenced_size(), 0) << "the target reports a fence it never had";

  v1::FenceRequest unfence = fence;
  unfence.set_op_id("unfence-1");
  ASSERT_TRUE(src_.plugin->Unfence(call, unfence).ok());
  EXPECT_TRUE(PutRows(*src_.thrift, Table("t"), 10, 11, "late").ok()) << "unfence did not lift it";
}

}  // namespace
}  // namespace lifeboat::hbase
