// The hive plugin against the two metastores of the Hive rig (label rig), for what the
// conformance suite does not ask: a hole in the notification log, locations rewritten between
// file systems, transactional tables refused, a failback of a table created on the new
// primary (and of an old primary that took writes of its own), a restore's dry run. The
// plugin runs as the agents run it (its C table, through the SDK's fake host), one instance
// per metastore, the target reading its source through the peer stream. Each test uses a
// database of its own. Without the rig the tests skip, unless LIFEBOAT_RIG_REQUIRED=1.
#include <gtest/gtest.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <random>

#include "hive_plugin.h"
#include "hive_test_util.h"
#include "rig_endpoints.h"
#include "rig_fixture.h"
#include "store.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::hive {
namespace {

using json = nlohmann::json;
using Content = std::map<std::string, std::string>;

class HiveRigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<json> endpoints = lifeboat::testing::rig::LoadEndpoints("hive");
    if (!endpoints.ok()) {
      if (endpoints.status().code() == Code::kNotFound && !lifeboat::testing::rig::RigRequired()) {
        GTEST_SKIP() << endpoints.status().message();
      }
      FAIL() << endpoints.status().ToString();
    }
    endpoints_ = *endpoints;
    primary_ms_ = testing::MetastoreFrom(endpoints_, "primary");
    secondary_ms_ = testing::MetastoreFrom(endpoints_, "secondary");
    db_ = testing::UniqueName("t");
    state_ = std::filesystem::temp_directory_path() / ("lifeboat-hive-rig-" + db_);
    std::filesystem::remove_all(state_);
    api_ = lifeboat_plugin_init(host_.table());
    p_ = testing::MustConnect(primary_ms_);
    s_ = testing::MustConnect(secondary_ms_);
    ASSERT_TRUE(p_ && s_);
    host_.SetPeerReader([this](const v1::PeerReadRequest& req,
                               const std::function<Status(std::string_view)>& sink) -> Status {
      // The peer's Read emits into the same fake host: one read at a time.
      std::lock_guard<std::mutex> lock(read_mu_);
      auto it = by_cluster_.find(req.peer().config().cluster());
      if (it == by_cluster_.end()) return UnavailableError("no instance of that cluster");
      host_.ClearEmitted();
      auto r = host_.Call<v1::ReadResponse>(api_, it->second, LB_OP_READ, req.read());
      std::string bytes = host_.Emitted();
      host_.ClearEmitted();
      if (!r.ok()) return r.status();
      return sink(bytes);
    });
  }

  void TearDown() override {
    for (lb_instance* i : instances_) api_->destroy(i);
    for (MetastoreClient* c : {p_.get(), s_.get()}) {
      if (c == nullptr) continue;
      auto dbs = c->GetAllDatabases();
      if (!dbs.ok()) continue;
      for (const auto& d : *dbs) {
        if (d.find(db_) != std::string::npos) (void)c->DropDatabase(d, false, true);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(state_, ec);
  }

  std::string External(const std::string& cluster) const {
    return endpoints_["clusters"][cluster]["external_warehouse"].get<std::string>();
  }

  v1::PluginConfig Config(const std::string& cluster, const json& extra = json::object()) const {
    json cfg = {{"metastore", endpoints_["clusters"][cluster]["thrift"]},
                {"state_dir", (state_ / cluster).string()},
                {"timeout_seconds", 60}};
    cfg.update(extra);
    v1::PluginConfig c;
    c.set_plugin("hive");
    c.set_cluster(cluster);
    c.set_config_json(cfg.dump());
    return c;
  }
  // The location map each way between the two rig warehouses.
  json MapTo(const std::string& cluster) const {
    const std::string other = cluster == "primary" ? "secondary" : "primary";
    return {{"location_map", {{External(other), External(cluster)}}}};
  }

  lb_instance* Instance(const std::string& cluster, const json& extra = json::object()) {
    StatusOr<lb_instance*> made = host_.Create(api_, Config(cluster, extra));
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return nullptr;
    instances_.push_back(*made);
    by_cluster_[cluster] = *made;
    return *made;
  }

  template <typename Resp, typename Req>
  StatusOr<Resp> Call(lb_instance* instance, lb_op op, const Req& req) {
    return host_.Call<Resp>(api_, instance, op, req);
  }

  v1::DataSet DataSet() const {
    v1::DataSet ds;
    ds.set_component("hive");
    ds.set_selector(db_);
    return ds;
  }
  v1::Peer PeerOf(const std::string& cluster) const {
    v1::Peer p;
    *p.mutable_config() = Config(cluster);
    return p;
  }

  StatusOr<v1::CutResponse> Cut(lb_instance* src, const std::string& rp) {
    v1::CutRequest req;
    req.set_op_id("cut-" + rp);
    *req.mutable_data_set() = DataSet();
    req.set_restore_point_id(rp);
    return Call<v1::CutResponse>(src, LB_OP_CUT, req);
  }
  StatusOr<v1::PlanTransferResponse> Plan(lb_instance* dst, const std::string& from,
                                          const v1::SnapshotRef& snap, const std::string& base,
                                          bool force_full = false) {
    v1::PlanTransferRequest req;
    req.set_op_id("plan-" + snap.restore_point_id() + (force_full ? "-full" : ""));
    *req.mutable_source() = PeerOf(from);
    *req.mutable_snapshot() = snap;
    req.set_base_restore_point_id(base);
    req.set_force_full(force_full);
    return Call<v1::PlanTransferResponse>(dst, LB_OP_PLAN_TRANSFER, req);
  }
  // Transfer, verify and commit of a planned point; ASSERTs inside.
  void Finish(lb_instance* dst, const std::string& from, const v1::SnapshotRef& snap,
              const v1::PlanTransferResponse& plan, const std::string& base) {
    for (const auto& task : plan.tasks()) {
      v1::TransferRequest req;
      req.set_op_id("transfer-" + snap.restore_point_id() + "-" + task.task_id());
      *req.mutable_source() = PeerOf(from);
      *req.mutable_snapshot() = snap;
      *req.mutable_task() = task;
      auto r = Call<v1::TransferResponse>(dst, LB_OP_TRANSFER, req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    v1::CommitRequest commit;
    commit.set_op_id("commit-" + snap.restore_point_id());
    *commit.mutable_snapshot() = snap;
    commit.set_base_restore_point_id(base);
    auto c = Call<v1::CommitResponse>(dst, LB_OP_COMMIT, commit);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    v1::VerifyRequest verify;
    verify.set_op_id("verify-" + snap.restore_point_id());
    *verify.mutable_snapshot() = snap;
    verify.set_level(v1::VERIFY_DIGEST);
    auto v = Call<v1::VerifyResponse>(dst, LB_OP_VERIFY, verify);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    std::string mismatches;
    for (const auto& m : v->mismatches()) mismatches += "\n  " + m.path() + " " + m.what();
    EXPECT_TRUE(v->ok()) << "verify after commit:" << mismatches;
  }
  // Cut on `src`, the whole way to a commit on `dst`. Returns the plan.
  v1::PlanTransferResponse Backup(lb_instance* src, const std::string& from, lb_instance* dst,
                                  const std::string& rp, const std::string& base) {
    auto cut = Cut(src, rp);
    EXPECT_TRUE(cut.ok()) << cut.status().ToString();
    if (!cut.ok()) return {};
    auto plan = Plan(dst, from, cut->snapshot(), base);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    Finish(dst, from, cut->snapshot(), *plan, base);
    return *plan;
  }

  // The cut record of `rp` on `cluster`.
  hstate::CutRecord CutRecordOf(const std::string& cluster, const std::string& rp) {
    SetStore store(state_ / cluster / cluster / db_);
    auto r = store.ReadCut(rp);
    EXPECT_TRUE(r.ok() && r->has_value()) << "no cut record of " << rp << " on " << cluster;
    return r.ok() && r->has_value() ? **r : hstate::CutRecord();
  }

  // A database on the primary: "orders" with partitions and statistics (every field the
  // client tests use), "plain", a view and a function.
  void Populate() {
    ASSERT_TRUE(p_->CreateDatabase(testing::SampleDatabase(db_, External("primary"))).ok());
    const std::string base = External("primary") + "/" + db_;
    thrift::Table orders = testing::SampleTable(db_, "orders", base + "/orders");
    ASSERT_TRUE(p_->CreateTable(orders).ok());
    std::vector<thrift::Partition> parts;
    for (const char* dt : {"2024-01-01", "2024-01-02", "2024-01-03"}) {
      parts.push_back(
          testing::SamplePartition(orders, dt, "de", base + "/orders/dt=" + dt + "/country=de"));
    }
    auto added = p_->AddPartitions(db_, "orders", parts, false);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    ASSERT_TRUE(p_->UpdateColumnStatistics(testing::SampleStatistics(db_, "orders", "")).ok());
    ASSERT_TRUE(p_->CreateTable(testing::MakeTable(db_, "plain", base + "/plain", false)).ok());
    ASSERT_TRUE(p_->CreateTable(testing::SampleView(db_, "orders_view", "orders")).ok());
    ASSERT_TRUE(p_->CreateFunction(testing::SampleFunction(db_, "upper_udf")).ok());
  }

  json endpoints_;
  testing::Metastore primary_ms_, secondary_ms_;
  std::string db_;
  std::filesystem::path state_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  std::vector<lb_instance*> instances_;
  std::map<std::string, lb_instance*> by_cluster_;
  std::mutex read_mu_;
  std::unique_ptr<MetastoreClient> p_, s_;
};

// The target's metastore holds the point with every location on its own file system.
TEST_F(HiveRigTest, LocationsAreRewrittenToTheTargetsFileSystem) {
  Populate();
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary", MapTo("secondary"));
  ASSERT_TRUE(src && dst);
  Backup(src, "primary", dst, "rp1", "");
  if (HasFatalFailure()) return;
  const std::vector<std::string> locations = testing::Locations(*s_, db_);
  ASSERT_GE(locations.size(), 6u) << "database, orders, plain and three partitions";
  for (const std::string& l : locations) {
    if (l.empty()) continue;  // the view has no location
    EXPECT_EQ(l.rfind(External("secondary") + "/", 0), 0u)
        << l << " is not under the secondary's " << External("secondary");
  }
  // Everything else is the primary's, once its locations are seen the same way.
  LocationRewriter rw;
  rw.Add(External("primary"), External("secondary"));
  EXPECT_EQ(testing::Capture(*p_, db_, rw), testing::Capture(*s_, db_));
}

// A hole in the log since the base cut (the event cleaner ran) is said, and the cut reads
// everything again: the change made in the hole is in the point. Without a hole the next cut
// replays the events only.
TEST_F(HiveRigTest, EventGapFallsBackToAFullExportLoudly) {
  Populate();
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary");
  ASSERT_TRUE(src && dst);
  Backup(src, "primary", dst, "rp1", "");
  if (HasFatalFailure()) return;
  EXPECT_EQ(CutRecordOf("primary", "rp1").method(), "export");

  // Without a hole: the events are replayed.
  auto plain = p_->GetTable(db_, "plain");
  ASSERT_TRUE(plain.ok());
  plain->parameters["comment"] = "second";
  ASSERT_TRUE(p_->AlterTable(db_, "plain", *plain).ok());
  Backup(src, "primary", dst, "rp2", "rp1");
  if (HasFatalFailure()) return;
  hstate::CutRecord rp2 = CutRecordOf("primary", "rp2");
  EXPECT_EQ(rp2.method(), "events");
  EXPECT_EQ(rp2.chained_from(), "rp1");
  EXPECT_GE(rp2.events_applied(), 1);

  // A change, then the cleaner removes its event.
  plain->parameters["comment"] = "changed in the hole";
  ASSERT_TRUE(p_->AlterTable(db_, "plain", *plain).ok());
  auto now = p_->GetCurrentNotificationEventId();
  ASSERT_TRUE(now.ok());
  const std::string why = testing::DeleteEventsUpTo(primary_ms_, *now);
  ASSERT_TRUE(why.empty()) << why;
  Backup(src, "primary", dst, "rp3", "rp2");
  if (HasFatalFailure()) return;
  hstate::CutRecord rp3 = CutRecordOf("primary", "rp3");
  EXPECT_EQ(rp3.method(), "export");
  EXPECT_NE(rp3.export_reason().find("are missing"), std::string::npos) << rp3.export_reason();
  bool warned = false;
  for (const std::string& line : host_.Logs()) {
    warned |= line.find("are missing") != std::string::npos &&
              line.find("every object is read again") != std::string::npos;
  }
  EXPECT_TRUE(warned) << "the hole was not said as a warning";
  auto restored = s_->GetTable(db_, "plain");
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->parameters["comment"], "changed in the hole");
  EXPECT_EQ(testing::Capture(*p_, db_), testing::Capture(*s_, db_));
}

// Transactional tables are refused by prepare and cut, naming the table.
TEST_F(HiveRigTest, TransactionalTableIsRefusedByName) {
  Populate();
  thrift::Table acid = testing::MakeTable(db_, "acid_orders", "", false);
  acid.__set_tableType("MANAGED_TABLE");
  acid.parameters = {{"transactional", "true"}, {"transactional_properties", "insert_only"}};
  acid.sd.__isset.location = false;
  // As Hive itself would: a client that says it can write insert-only tables.
  testing::Metastore writer = primary_ms_;
  writer.options.processor_capabilities = {"HIVEMANAGEDINSERTWRITE", "HIVEFULLACIDWRITE"};
  auto acid_client = testing::MustConnect(writer);
  ASSERT_TRUE(acid_client);
  Status made = acid_client->CreateTable(acid);
  ASSERT_TRUE(made.ok()) << "the rig refused an insert-only table: " << made.ToString();
  auto back = p_->GetTable(db_, "acid_orders");
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(IsTransactional(*back)) << "the metastore did not keep it transactional";

  lb_instance* src = Instance("primary");
  ASSERT_TRUE(src);
  v1::PrepareRequest prep;
  prep.set_op_id("prepare-1");
  *prep.mutable_data_set() = DataSet();
  auto prepared = Call<v1::PrepareResponse>(src, LB_OP_PREPARE, prep);
  EXPECT_EQ(prepared.status().code(), Code::kFailedPrecondition) << prepared.status().ToString();
  EXPECT_NE(prepared.status().message().find(db_ + ".acid_orders"), std::string::npos)
      << prepared.status().message();
  auto cut = Cut(src, "rp1");
  EXPECT_EQ(cut.status().code(), Code::kFailedPrecondition) << cut.status().ToString();
  EXPECT_NE(cut.status().message().find(db_ + ".acid_orders"), std::string::npos)
      << cut.status().message();
  // A data set of the other tables alone is fine.
  v1::PrepareRequest one = prep;
  one.set_op_id("prepare-2");
  one.mutable_data_set()->set_selector(db_ + ".plain");
  auto ok = Call<v1::PrepareResponse>(src, LB_OP_PREPARE, one);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

// Failover to the secondary, a table created there, failback: the old primary gets it, its
// locations on the primary's file system, the plan incremental from the point both hold.
TEST_F(HiveRigTest, FailbackBringsATableCreatedOnTheNewPrimary) {
  Populate();
  lb_instance* p = Instance("primary", MapTo("primary"));
  lb_instance* s = Instance("secondary", MapTo("secondary"));
  ASSERT_TRUE(p && s);
  Backup(p, "primary", s, "rp1", "");
  if (HasFatalFailure()) return;

  // On the new primary: a partitioned table of its own, and a change to an old one.
  const std::string base = External("secondary") + "/" + db_;
  thrift::Table made = testing::MakeTable(db_, "made_on_secondary", base + "/made", true);
  ASSERT_TRUE(s_->CreateTable(made).ok());
  auto added = s_->AddPartitions(db_, "made_on_secondary",
                                 {testing::MakePartition(made, "2025-01-01")}, false);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_TRUE(s_->DropTable(db_, "plain", false).ok());

  auto cut = Cut(s, "rp2");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  auto plan = Plan(p, "secondary", cut->snapshot(), "rp1");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->incremental()) << plan->full_reason();
  Finish(p, "secondary", cut->snapshot(), *plan, "rp1");
  if (HasFatalFailure()) return;

  auto back = p_->GetTable(db_, "made_on_secondary");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->sd.location, External("primary") + "/" + db_ + "/made");
  auto parts = p_->GetPartitions(db_, "made_on_secondary");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].sd.location, External("primary") + "/" + db_ + "/made/dt=2025-01-01");
  EXPECT_FALSE(p_->GetTable(db_, "plain").ok()) << "the table dropped on the new primary";
  LocationRewriter rw;
  rw.Add(External("secondary"), External("primary"));
  EXPECT_EQ(testing::Capture(*s_, db_, rw), testing::Capture(*p_, db_));
}

// An old primary that took writes after the failover is not overwritten silently: the
// failback's plan names the write; forced, the point replaces the data set whole.
TEST_F(HiveRigTest, FailbackRefusesTheOldPrimarysOwnWritesUnlessForced) {
  Populate();
  lb_instance* p = Instance("primary", MapTo("primary"));
  lb_instance* s = Instance("secondary", MapTo("secondary"));
  ASSERT_TRUE(p && s);
  Backup(p, "primary", s, "rp1", "");
  if (HasFatalFailure()) return;
  // A late write on the old primary.
  ASSERT_TRUE(
      p_->CreateTable(testing::MakeTable(db_, "late", External("primary") + "/late", false)).ok());
  auto cut = Cut(s, "rp2");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  auto refused = Plan(p, "secondary", cut->snapshot(), "rp1");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("late"), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(p_->GetTable(db_, "late").ok()) << "the refused plan changed the old primary";

  auto forced = Plan(p, "secondary", cut->snapshot(), "rp1", /*force_full=*/true);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_FALSE(forced->incremental());
  Finish(p, "secondary", cut->snapshot(), *forced, "rp1");
  if (HasFatalFailure()) return;
  EXPECT_FALSE(p_->GetTable(db_, "late").ok()) << "the forced point kept the late table";
  LocationRewriter rw;
  rw.Add(External("secondary"), External("primary"));
  EXPECT_EQ(testing::Capture(*s_, db_, rw), testing::Capture(*p_, db_));
}

// A dry run lists the creates, alters and drops and changes nothing; the real run then does
// them (with consent, since it replaces and drops what is there).
TEST_F(HiveRigTest, RestoreDryRunListsCreatesAltersAndDrops) {
  Populate();
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary");
  ASSERT_TRUE(src && dst);
  Backup(src, "primary", dst, "rp1", "");
  if (HasFatalFailure()) return;
  const Content at_point = testing::Capture(*s_, db_);
  // The secondary's copy drifts: a table altered, one dropped, one added.
  auto plain = s_->GetTable(db_, "plain");
  ASSERT_TRUE(plain.ok());
  plain->parameters["comment"] = "drifted";
  ASSERT_TRUE(s_->AlterTable(db_, "plain", *plain).ok());
  ASSERT_TRUE(s_->DropTable(db_, "orders_view", false).ok());
  ASSERT_TRUE(
      s_->CreateTable(testing::MakeTable(db_, "extra", External("secondary") + "/x", false)).ok());
  const Content drifted = testing::Capture(*s_, db_);

  v1::RestoreRequest req;
  req.set_op_id("restore-dry");
  *req.mutable_data_set() = DataSet();
  req.set_restore_point_id("rp1");
  req.set_dry_run(true);
  req.set_overwrite(true);
  auto dry = Call<v1::RestoreResponse>(dst, LB_OP_RESTORE, req);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  std::string listed;
  for (const auto& c : dry->changes()) listed += c + "\n";
  EXPECT_NE(listed.find("alter table " + db_ + ".plain"), std::string::npos) << listed;
  EXPECT_NE(listed.find("create table " + db_ + ".orders_view"), std::string::npos) << listed;
  EXPECT_NE(listed.find("drop table " + db_ + ".extra"), std::string::npos) << listed;
  EXPECT_EQ(testing::Capture(*s_, db_), drifted) << "the dry run changed the metastore";

  req.set_dry_run(false);
  req.set_overwrite(false);
  req.set_op_id("restore-asks");
  auto refused = Call<v1::RestoreResponse>(dst, LB_OP_RESTORE, req);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_EQ(testing::Capture(*s_, db_), drifted) << "the refused restore changed the metastore";
  req.set_overwrite(true);
  req.set_op_id("restore-1");
  auto done = Call<v1::RestoreResponse>(dst, LB_OP_RESTORE, req);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(testing::Capture(*s_, db_), at_point);
}

// What the fence stops, measured: the database is marked readonly=true (what HiveServer2's
// EnforceReadOnlyDatabaseHook enforces) and a restore into it is refused, but the metastore's
// Thrift API itself checks neither: a direct Thrift client still creates tables (README.md,
// "Fencing"). The unfence gives back what readonly was.
TEST_F(HiveRigTest, FenceMarksReadOnlyButTheThriftApiStillWrites) {
  Populate();
  lb_instance* p = Instance("primary");
  ASSERT_TRUE(p);
  v1::FenceRequest fence;
  fence.set_op_id("fence-1");
  *fence.mutable_data_set() = DataSet();
  fence.set_epoch(3);
  fence.set_reason("rig test");
  auto fenced = Call<v1::FenceResponse>(p, LB_OP_FENCE, fence);
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  auto db = p_->GetDatabase(db_);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->parameters["readonly"], "true");
  EXPECT_EQ(db->parameters["lifeboat.fence.epoch"], "3");
  Status write = p_->CreateTable(
      testing::MakeTable(db_, "written_while_fenced", External("primary") + "/w", false));
  EXPECT_TRUE(write.ok()) << "the metastore's Thrift API refused a write to a readonly "
                             "database; README.md's \"Fencing\" says otherwise: "
                          << write.ToString();
  v1::FenceRequest unfence = fence;
  unfence.set_op_id("unfence-1");
  auto lifted = Call<v1::FenceResponse>(p, LB_OP_UNFENCE, unfence);
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  db = p_->GetDatabase(db_);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->parameters.count("readonly"), 0u) << "readonly was not set before the fence";
  EXPECT_EQ(db->parameters.count("lifeboat.fence.epoch"), 0u);
}

// A full commit adds a table's partitions with one add_partitions and, when the metastore
// stored them as the point holds them, writes them no second time (no ALTER_PARTITION event on
// the target); the partitions still verify (Finish) against the point.
TEST_F(HiveRigTest, FullCommitAddsPartitionsWithoutAlteringThem) {
  ASSERT_TRUE(p_->CreateDatabase(testing::SampleDatabase(db_, External("primary"))).ok());
  const thrift::Table t =
      testing::MakeTable(db_, "events", External("primary") + "/" + db_ + "/events", true);
  ASSERT_TRUE(p_->CreateTable(t).ok());
  std::vector<thrift::Partition> parts;
  for (const char* dt : {"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}) {
    parts.push_back(testing::MakePartition(t, dt));
  }
  ASSERT_TRUE(p_->AddPartitions(db_, "events", parts, false).ok());
  lb_instance* p = Instance("primary", MapTo("primary"));
  lb_instance* s = Instance("secondary", MapTo("secondary"));
  ASSERT_TRUE(p && s);
  auto before = s_->GetCurrentNotificationEventId();
  ASSERT_TRUE(before.ok());
  Backup(p, "primary", s, "rp1", "");
  auto events = s_->GetNextNotifications(*before, 0);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  std::map<std::string, int> kinds;
  for (const auto& e : *events) {
    // ALTER_PARTITION per partition, or Hive 4's ALTER_PARTITIONS per batch: both count.
    if (e.dbName == db_)
      ++kinds[e.eventType.rfind("ALTER_PARTITION", 0) == 0 ? "ALTER_PARTITION" : e.eventType];
  }
  EXPECT_EQ(kinds["ADD_PARTITION"], 1) << "one add_partitions call for the four partitions";
  EXPECT_EQ(kinds["ALTER_PARTITION"], 0) << "added partitions were written a second time";
  auto got = s_->GetPartitionNames(db_, "events");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 4u);
}

// sync_security: a role, a grant of that role to a user and a SELECT privilege of the role on
// a table on the primary appear on the secondary; a dry run changes nothing; a repeated op id
// answers the same; a privilege and a role grant revoked on the primary are revoked on the
// secondary by the next sync; names go through user_map.
class HiveSecurityRigTest : public HiveRigTest {
 protected:
  // The privileges on `table` of `c`, "<type> <name> <privilege>[ +grant]" sorted.
  static std::vector<std::string> Privileges(MetastoreClient& c, const std::string& db,
                                             const std::string& table) {
    thrift::HiveObjectRef ref;
    ref.objectType = thrift::HiveObjectType::TABLE;
    ref.__set_dbName(db);
    ref.__set_objectName(table);
    auto got = c.ListObjectPrivileges(ref);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::vector<std::string> out;
    if (!got.ok()) return out;
    for (const auto& p : *got) {
      out.push_back(std::to_string(p.principalType) + " " + p.principalName + " " +
                    p.grantInfo.privilege + (p.grantInfo.grantOption ? " +grant" : ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The members of `role` on `c`, "<type> <name>" sorted; empty when the role is absent.
  static std::vector<std::string> Members(MetastoreClient& c, const std::string& role) {
    std::vector<std::string> out;
    auto roles = c.GetRoleNames();
    EXPECT_TRUE(roles.ok()) << roles.status().ToString();
    if (!roles.ok() || std::find(roles->begin(), roles->end(), role) == roles->end()) return out;
    auto got = c.GetPrincipalsInRole(role);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) return out;
    for (const auto& g : *got) {
      out.push_back(std::to_string(g.principalType) + " " + g.principalName);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static thrift::HiveObjectPrivilege Privilege(const std::string& db, const std::string& table,
                                               const std::string& principal,
                                               thrift::PrincipalType::type type,
                                               const std::string& privilege) {
    thrift::HiveObjectPrivilege p;
    thrift::HiveObjectRef ref;
    ref.objectType = thrift::HiveObjectType::TABLE;
    ref.__set_dbName(db);
    ref.__set_objectName(table);
    ref.__set_catName("hive");
    p.__set_hiveObject(ref);
    p.__set_principalName(principal);
    p.principalType = type;
    thrift::PrivilegeGrantInfo info;
    info.__set_privilege(privilege);
    info.__set_grantor("admin_user");
    info.grantorType = thrift::PrincipalType::USER;
    p.__set_grantInfo(info);
    return p;
  }
  static Status Grant(MetastoreClient& c, thrift::GrantRevokeType::type type,
                      const thrift::HiveObjectPrivilege& p) {
    thrift::PrivilegeBag bag;
    bag.__set_privileges({p});
    return c.GrantRevokePrivileges(type, bag);
  }
  static Status GrantRole(MetastoreClient& c, thrift::GrantRevokeType::type type,
                          const std::string& role, const std::string& user) {
    thrift::GrantRevokeRoleRequest r;
    r.requestType = type;
    r.__set_roleName(role);
    r.__set_principalName(user);
    r.principalType = thrift::PrincipalType::USER;
    if (type == thrift::GrantRevokeType::GRANT) {
      r.__set_grantor("admin_user");
      r.__set_grantorType(thrift::PrincipalType::USER);
      r.__set_grantOption(false);
    }
    return c.GrantRevokeRole(r);
  }
  StatusOr<v1::SyncSecurityResponse> Sync(lb_instance* dst, const std::string& op, bool dry_run) {
    v1::SyncSecurityRequest req;
    req.set_op_id(op);
    *req.mutable_source() = PeerOf("primary");
    *req.mutable_data_set() = DataSet();
    req.set_dry_run(dry_run);
    (*req.mutable_user_map())["alice"] = "alice_dr";
    return Call<v1::SyncSecurityResponse>(dst, LB_OP_SYNC_SECURITY, req);
  }
};

TEST_F(HiveSecurityRigTest, RolesGrantsAndPrivilegesFollowThePrimary) {
  Populate();
  lb_instance* p = Instance("primary", MapTo("primary"));
  lb_instance* s = Instance("secondary", MapTo("secondary"));
  ASSERT_TRUE(p && s);
  Backup(p, "primary", s, "rp1", "");
  const std::string role = db_ + "_readers";
  thrift::Role r;
  r.__set_roleName(role);
  ASSERT_TRUE(p_->CreateRole(r).ok());
  ASSERT_TRUE(GrantRole(*p_, thrift::GrantRevokeType::GRANT, role, "alice").ok());
  ASSERT_TRUE(GrantRole(*p_, thrift::GrantRevokeType::GRANT, role, "bob").ok());
  const auto select = Privilege(db_, "orders", role, thrift::PrincipalType::ROLE, "SELECT");
  const auto bobs = Privilege(db_, "plain", "bob", thrift::PrincipalType::USER, "INSERT");
  Status granted = Grant(*p_, thrift::GrantRevokeType::GRANT, select);
  ASSERT_TRUE(granted.ok()) << granted.ToString();
  ASSERT_TRUE(Grant(*p_, thrift::GrantRevokeType::GRANT, bobs).ok());
  const std::vector<std::string> want_orders = {"2 " + role + " SELECT"};
  ASSERT_EQ(Privileges(*p_, db_, "orders"), want_orders);
  ASSERT_TRUE(Privileges(*s_, db_, "orders").empty());

  auto dry = Sync(s, "sync-dry", true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  std::string lines;
  for (const auto& c : dry->changes()) lines += "\n  " + c;
  EXPECT_EQ(dry->changes_size(), 5) << lines;  // create, 2 role grants, 2 privileges
  EXPECT_TRUE(Members(*s_, role).empty()) << "a dry run created the role";
  EXPECT_TRUE(Privileges(*s_, db_, "orders").empty()) << "a dry run granted";

  auto done = Sync(s, "sync-1", false);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->changes_size(), 5);
  EXPECT_EQ(done->items_compared(), 4u);  // the database, orders, plain, orders_view
  EXPECT_EQ(Privileges(*s_, db_, "orders"), want_orders);
  EXPECT_EQ(Privileges(*s_, db_, "plain"), std::vector<std::string>{"1 bob INSERT"});
  EXPECT_EQ(Members(*s_, role), (std::vector<std::string>{"1 alice_dr", "1 bob"}));
  auto repeated = Sync(s, "sync-1", false);
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->changes_size(), done->changes_size()) << "a repeated op id answered anew";
  auto again = Sync(s, "sync-2", false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes_size(), 0) << again->changes(0);

  // Revoked on the primary: revoked on the secondary by the next sync.
  ASSERT_TRUE(Grant(*p_, thrift::GrantRevokeType::REVOKE, select).ok());
  ASSERT_TRUE(GrantRole(*p_, thrift::GrantRevokeType::REVOKE, role, "bob").ok());
  // The role still holds a privilege, so it is still in the data set's scope.
  ASSERT_TRUE(Grant(*p_, thrift::GrantRevokeType::GRANT,
                    Privilege(db_, "plain", role, thrift::PrincipalType::ROLE, "SELECT"))
                  .ok());
  auto revoked = Sync(s, "sync-3", false);
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_TRUE(Privileges(*s_, db_, "orders").empty());
  EXPECT_EQ(Privileges(*s_, db_, "plain"),
            (std::vector<std::string>{"1 bob INSERT", "2 " + role + " SELECT"}));
  EXPECT_EQ(Members(*s_, role), std::vector<std::string>{"1 alice_dr"});
  auto settled = Sync(s, "sync-4", false);
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(settled->changes_size(), 0);
}

// A fenced data set's privileges are not changed; its dry run still reports.
TEST_F(HiveSecurityRigTest, FencedTargetRefusesTheSync) {
  Populate();
  lb_instance* p = Instance("primary", MapTo("primary"));
  lb_instance* s = Instance("secondary", MapTo("secondary"));
  ASSERT_TRUE(p && s);
  Backup(p, "primary", s, "rp1", "");
  ASSERT_TRUE(Grant(*p_, thrift::GrantRevokeType::GRANT,
                    Privilege(db_, "orders", "carol", thrift::PrincipalType::USER, "SELECT"))
                  .ok());
  v1::FenceRequest fence;
  fence.set_op_id("fence-1");
  *fence.mutable_data_set() = DataSet();
  fence.set_epoch(2);
  fence.set_reason("failover");
  ASSERT_TRUE(Call<v1::FenceResponse>(s, LB_OP_FENCE, fence).ok());
  auto dry = Sync(s, "sync-dry", true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->changes_size(), 1);
  auto refused = Sync(s, "sync-1", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_TRUE(Privileges(*s_, db_, "orders").empty());
}

}  // namespace
}  // namespace lifeboat::hive
