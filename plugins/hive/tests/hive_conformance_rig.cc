// The hive rig for the SDK's conformance suite: the primary and the secondary metastore of the
// Hive rig (tools/scripts/rig.sh, system "hive"). Without the rig the tests skip, unless
// LIFEBOAT_RIG_REQUIRED=1.
//
// How the suite's file-shaped words map to the metastore (docs/plugin-guide.md, conformance):
// - the data set is one database per test (c_<pid>_<salt>_<n>), on both metastores;
// - an item of the ContentMap is the database ("(database)"), a table ("orders") or a
//   partition ("orders/dt=2024-01-01/country=de"), described by the bytes of its struct after
//   the rig's normalization (database names blanked so that a restore under a new name
//   compares; what the metastore sets itself — create times, ids, transient_lastDdlTime — left
//   out as the plugin's canonical form leaves it out);
// - the counted items of a ChangeSet are the plugin's objects (a table without its partitions,
//   a run of partitions): a created table is one object, an altered table one; bytes are the
//   objects' encoded sizes, read through the plugin's own reader right after the change;
// - ApplyChanges creates a table, alters one, and drops one. No rename: a renamed table is a
//   new object in Hive (its name is inside every struct of it), i.e. a create and a drop;
// - the large item is table "big", unpartitioned, with a table parameter of large_bytes
//   characters (the metastore keeps parameter values as CLOBs);
// - a restore destination is a database prefix ("r0_": database r0_<db>); PlantForeignItem
//   puts an application's table into that database; CorruptTarget flips one character of that
//   parameter: in the staged object file (staged) or in the target metastore (committed).
// The fence (readonly=true on the database) is not enforced by the metastore's Thrift API, so
// this rig has no ApplicationWriteOnTarget (README.md, "Fencing").
#include <gtest/gtest.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/testing/conformance.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "config.h"
#include "hive_test_util.h"
#include "metastore_client.h"
#include "model.h"
#include "reader.h"
#include "rig_endpoints.h"

namespace lifeboat::hive {
namespace {

using json = nlohmann::json;
using hive::testing::Capture;
using hive::testing::MakePartition;
using hive::testing::MakeTable;
using lifeboat::testing::BadConfig;
using lifeboat::testing::ChangeSet;
using lifeboat::testing::ContentMap;

constexpr char kBlobParam[] = "conformance.blob";

class HiveConformanceRig : public lifeboat::testing::ConformanceRig {
 public:
  void SetUp() override {
    StatusOr<json> endpoints = lifeboat::testing::rig::LoadEndpoints("hive");
    if (!endpoints.ok()) {
      if (endpoints.status().code() == Code::kNotFound && !lifeboat::testing::rig::RigRequired()) {
        GTEST_SKIP() << endpoints.status().message();
      }
      FAIL() << endpoints.status().ToString();
    }
    endpoints_ = *endpoints;
    static int counter = 0;
    static const unsigned salt = std::random_device{}() % 100000;
    db_ = "c_" + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" +
          std::to_string(++counter);
    state_ = std::filesystem::temp_directory_path() / ("lifeboat-hive-conformance-" + db_);
    std::filesystem::remove_all(state_);
    src_ = Connect("primary");
    ASSERT_TRUE(src_);
    dst_ = Connect("secondary");
    ASSERT_TRUE(dst_);
  }

  void TearDown() override {
    for (MetastoreClient* c : {src_.get(), dst_.get()}) {
      if (c == nullptr) continue;
      auto dbs = c->GetAllDatabases();
      if (!dbs.ok()) continue;
      for (const auto& d : *dbs) {
        if (d.find(db_) != std::string::npos) (void)c->DropDatabase(d, /*delete_data=*/false, true);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(state_, ec);
  }

  std::string PluginName() const override { return "hive"; }
  v1::PluginConfig SourceConfig() const override { return PluginConfig("primary"); }
  v1::PluginConfig TargetConfig() const override { return PluginConfig("secondary"); }

  std::vector<BadConfig> BadConfigs() const override {
    const std::string ms = Thrift("primary");
    const std::string dir = (state_ / "bad").string();
    return {
        {"no metastore", R"({"state_dir": ")" + dir + R"("})", "metastore"},
        {"no state dir", R"({"metastore": ")" + ms + R"("})", "state_dir"},
        {"parallelism out of range",
         R"({"metastore": ")" + ms + R"(", "state_dir": ")" + dir + R"(", "parallelism": 0})",
         "parallelism"},
    };
  }

  v1::DataSet DataSet() const override {
    v1::DataSet ds;
    ds.set_component("hive");
    ds.set_selector(db_);
    return ds;
  }

  void Populate(uint64_t large_bytes) override {
    thrift::Database db;
    db.__set_name(db_);
    db.__set_description("conformance database");
    db.__set_locationUri(Warehouse("primary") + "/" + db_ + ".db");
    db.__set_parameters({{"team", "dr"}});
    db.__set_ownerName("lifeboat");
    db.__set_ownerType(thrift::PrincipalType::USER);
    ASSERT_TRUE(src_->CreateDatabase(db).ok());
    // "big": the large item; "orders": partitioned, with partitions; "plain": no partitions;
    // "gone": dropped by the first ApplyChanges.
    thrift::Table big = MakeTable(db_, "big", Location("big"), false);
    std::string blob;
    blob.reserve(large_bytes + 1024);
    for (uint64_t i = 0; blob.size() < large_bytes + 1024; ++i) {
      blob += "blob-" + std::to_string(i) + ";";
    }
    big.parameters[kBlobParam] = blob;
    Create(big);
    thrift::Table orders = MakeTable(db_, "orders", Location("orders"), true);
    Create(orders);
    std::vector<thrift::Partition> parts;
    for (int d = 1; d <= 5; ++d)
      parts.push_back(MakePartition(orders, "2024-01-0" + std::to_string(d)));
    auto added = src_->AddPartitions(db_, "orders", parts, false);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    Create(MakeTable(db_, "plain", Location("plain"), false));
    Create(MakeTable(db_, "gone", Location("gone"), false));
  }

  ChangeSet ApplyChanges() override {
    ++changes_;
    ChangeSet c;
    // Create: a new table (one object).
    const std::string created = "change" + std::to_string(changes_);
    Create(MakeTable(db_, created, Location(created), false));
    // Modify: a parameter of "plain" (its table object; its data and partitions stay).
    auto plain = src_->GetTable(db_, "plain");
    EXPECT_TRUE(plain.ok()) << plain.status().ToString();
    if (plain.ok()) {
      plain->parameters["comment"] = "changed " + std::to_string(changes_);
      Status s = src_->AlterTable(db_, "plain", *plain);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    for (const std::string& t : {created, std::string("plain")}) {
      auto state = ReadTable(*src_, db_, t, /*with_partitions=*/false);
      EXPECT_TRUE(state.ok() && state->has_value()) << t;
      if (!state.ok() || !state->has_value()) continue;
      c.changed_bytes += Encode((*state)->header).size();
      c.changed_items += 1;
    }
    // Delete: "gone" the first time, then the table the previous change created.
    const std::string victim = changes_ == 1 ? "gone" : "change" + std::to_string(changes_ - 1);
    Status s = src_->DropTable(db_, victim, /*delete_data=*/false);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return c;
  }

  ContentMap CaptureSource() const override { return Capture(*src_, db_); }

  // A database prefix: the restore lands in database r<n>_<db>.
  std::string RestoreDestination(int n) const override { return "r" + std::to_string(n) + "_"; }

  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(*dst_, destination + db_);
  }

  // A table of an application in the database the restore would write.
  std::string PlantForeignItem(const std::string& destination) override {
    const std::string db = destination + db_;
    if (!dst_->GetDatabase(db).ok()) {
      thrift::Database d;
      d.__set_name(db);
      d.__set_locationUri(Warehouse("secondary") + "/" + db + ".db");
      d.__set_ownerName("app");
      d.__set_ownerType(thrift::PrincipalType::USER);
      Status s = dst_->CreateDatabase(d);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    Status s = dst_->CreateTable(
        MakeTable(db, "foreign", Warehouse("secondary") + "/" + db + "/foreign", false));
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? "table " + db + ".foreign" : "";
  }
  bool ForeignItemIntact(const std::string& destination) const override {
    auto t = dst_->GetTable(destination + db_, "foreign");
    return t.ok() && t->parameters["comment"] == "foreign";
  }
  std::string BadRestoreDestination() const override { return "bad prefix!"; }

  // SyncSecurity: a SELECT privilege of a user on table "plain" granted on the source; the
  // security of an item is its privileges, sorted.
  std::string ChangeSourceSecurity() override {
    thrift::HiveObjectPrivilege p;
    p.__set_hiveObject(PlainRef());
    p.__set_principalName("conformance_reader");
    p.principalType = thrift::PrincipalType::USER;
    thrift::PrivilegeGrantInfo info;
    info.__set_privilege("SELECT");
    info.__set_grantor("conformance_admin");
    info.grantorType = thrift::PrincipalType::USER;
    p.__set_grantInfo(info);
    thrift::PrivilegeBag bag;
    bag.__set_privileges({p});
    Status s = src_->GrantRevokePrivileges(thrift::GrantRevokeType::GRANT, bag);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? db_ + "/plain" : "";
  }
  std::string CaptureSecurity(bool target, const std::string& path) const override {
    EXPECT_EQ(path, db_ + "/plain");
    auto got = (target ? dst_ : src_)->ListObjectPrivileges(PlainRef());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) return "(unreadable)";
    std::vector<std::string> lines;
    for (const auto& p : *got) {
      lines.push_back(std::to_string(p.principalType) + " " + p.principalName + " " +
                      p.grantInfo.privilege + (p.grantInfo.grantOption ? " +grant" : ""));
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }

  std::string CorruptTarget(const std::string& restore_point_id, bool staged) override {
    const std::string item = db_ + "/big";
    if (!staged) {
      auto t = dst_->GetTable(db_, "big");
      EXPECT_TRUE(t.ok()) << t.status().ToString();
      if (!t.ok()) return "";
      std::string& blob = t->parameters[kBlobParam];
      blob[blob.size() / 2] = blob[blob.size() / 2] == 'x' ? 'y' : 'x';
      Status s = dst_->AlterTable(db_, "big", *t);
      EXPECT_TRUE(s.ok()) << s.ToString();
      return item;
    }
    // The largest object of the target's store is the big table's.
    const std::filesystem::path objects = state_ / "secondary" / "secondary" / db_ / "objects";
    std::filesystem::path largest;
    uintmax_t size = 0;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(objects, ec)) {
      if (f.is_regular_file() && f.file_size() > size) {
        size = f.file_size();
        largest = f.path();
      }
    }
    EXPECT_FALSE(largest.empty()) << "no object under " << objects;
    if (largest.empty()) return "";
    std::fstream io(largest, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(size / 2));
    char ch = 0;
    io.get(ch);
    io.seekp(static_cast<std::streamoff>(size / 2));
    io.put(static_cast<char>(ch ^ 0x01));
    io.flush();
    return item;
  }

 private:
  std::string Thrift(const std::string& cluster) const {
    return endpoints_["clusters"][cluster]["thrift"].get<std::string>();
  }
  thrift::HiveObjectRef PlainRef() const {
    thrift::HiveObjectRef r;
    r.objectType = thrift::HiveObjectType::TABLE;
    r.__set_dbName(db_);
    r.__set_objectName("plain");
    return r;
  }
  std::string Warehouse(const std::string& cluster) const {
    return endpoints_["clusters"][cluster]["external_warehouse"].get<std::string>();
  }
  std::string Location(const std::string& table) const {
    return Warehouse("primary") + "/" + db_ + "/" + table;
  }
  v1::PluginConfig PluginConfig(const std::string& cluster) const {
    json cfg = {{"metastore", Thrift(cluster)},
                {"state_dir", (state_ / cluster).string()},
                {"timeout_seconds", 60}};
    v1::PluginConfig c;
    c.set_plugin("hive");
    c.set_cluster(cluster);
    c.set_config_json(cfg.dump());
    return c;
  }
  std::unique_ptr<MetastoreClient> Connect(const std::string& cluster) const {
    auto c = ParseConfig(PluginConfig(cluster));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return nullptr;
    auto client = MetastoreClient::Connect(c->metastore);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }
  void Create(const thrift::Table& t) {
    Status s = src_->CreateTable(t);
    ASSERT_TRUE(s.ok()) << t.tableName << ": " << s.ToString();
  }

  json endpoints_;
  std::string db_;
  std::filesystem::path state_;
  int changes_ = 0;
  std::unique_ptr<MetastoreClient> src_;
  std::unique_ptr<MetastoreClient> dst_;
};

LIFEBOAT_CONFORMANCE_RIG("hive", HiveConformanceRig);

}  // namespace
}  // namespace lifeboat::hive
