// The hbase plugin's names and configuration, without a cluster (label unit).
#include <gtest/gtest.h>

#include "hbase_plugin.h"
#include "layout.h"
#include "master_client.h"

namespace lifeboat::hbase {
namespace {

const char kGood[] = R"({"master": "m1:16000", "thrift2": "t1:9090", "namenodes": ["nn1:9870"],
                         "root": "/hbase", "user": "hbase"})";

TEST(HBaseConfig, DefaultsAndNormalization) {
  auto c = ParseConfig(kGood);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->namenodes, std::vector<std::string>{"http://nn1:9870"});
  EXPECT_EQ(c->state_dir, "/hbase/.lifeboat");
  EXPECT_EQ(c->parallel, 4);
}

TEST(HBaseConfig, BadFieldsAreNamed) {
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& k : {
           Case{R"({"thrift2": "t:1", "namenodes": ["n:1"], "root": "/h"})", "master"},
           Case{R"({"master": "m", "thrift2": "t:1", "namenodes": ["n:1"], "root": "/h"})",
                "master"},
           Case{R"({"master": "m:1", "thrift2": "t:1", "namenodes": [], "root": "/h"})",
                "namenodes"},
           Case{R"({"master": "m:1", "thrift2": "t:1", "namenodes": ["n:1"], "root": "h"})",
                "root"},
           Case{R"({"master": "m:1", "thrift2": "t:1", "namenodes": ["n:1"], "root": "/"})",
                "root"},
           Case{R"({"master": "m:1", "thrift2": "t:1", "namenodes": ["n:1"], "root": "/h/../x"})",
                "root"},
           Case{R"({"master": "m:1", "thrift2": "t:1", "namenodes": ["n:1"], "root": "/h",
                    "colour": 1})",
                "colour"},
       }) {
    auto c = ParseConfig(k.json);
    ASSERT_FALSE(c.ok()) << k.json;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_NE(c.status().ToString().find(k.field), std::string::npos) << c.status().ToString();
  }
}

TEST(HBaseDataSet, NamespacesAndTables) {
  auto ns = ParseDataSet("sales");
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->is_namespace());
  auto t = ParseDataSet("sales:orders-2026.v1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ns, "sales");
  EXPECT_EQ(t->table, "orders-2026.v1");
  for (const char* bad : {"", "sa les", "sales:", "sales:.hidden", "a/b", "hbase", "hbase:meta"}) {
    EXPECT_EQ(ParseDataSet(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(HBaseNames, SnapshotNamesAreLegalAndDistinct) {
  // Restore point ids with characters HBase refuses in a snapshot name, and two that clean
  // up to the same text.
  const std::string a = SnapshotName("2026-12-07T20:00:00Z/hourly", "sales:orders");
  const std::string b = SnapshotName("2026-12-07T20_00_00Z/hourly", "sales:orders");
  EXPECT_NE(a, b);
  EXPECT_TRUE(ValidateSnapshotRequest("sales:orders", a).ok()) << a;
  EXPECT_TRUE(ValidateSnapshotRequest("orders", SnapshotName("-x", "orders")).ok());
  EXPECT_EQ(PointKey("rp1"), PointKey("rp1"));
  EXPECT_LE(PointKey(std::string(300, 'x')).size(), 49u);
}

TEST(HBaseNames, ItemPathsRoundTrip) {
  const std::string archive = "archive/data/sales/orders/0123abcd/cf/f00d";
  EXPECT_EQ(ItemOfArchivePath(archive), "orders/0123abcd/cf/f00d");
  EXPECT_EQ(ArchivePathOfItem("sales", "orders/0123abcd/cf/f00d"), archive);
}

TEST(HBaseRecords, PointAndFenceRoundTrip) {
  PointRecord p{"rp1", "sales", {{"sales:orders", "snap", 10, 20}}};
  auto back = PointFromJson(PointToJson(p));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->tables.size(), 1u);
  EXPECT_EQ(back->tables[0].snapshot, "snap");
  EXPECT_EQ(back->tables[0].completed_ms, 20);
  EXPECT_EQ(PointFromJson("not json").status().code(), Code::kDataLoss);
  FenceMarker m{"sales", 7, "failover", 123, "true"};
  auto fm = FenceFromJson(FenceToJson(m));
  ASSERT_TRUE(fm.has_value());
  EXPECT_EQ(fm->epoch, 7u);
  EXPECT_EQ(fm->readonly_before, "true");
}

}  // namespace
}  // namespace lifeboat::hbase

namespace lifeboat::hbase {
namespace {

TEST(HBaseRestorePlace, DestinationsOfEveryShape) {
  PointRecord point{"rp1", "sales", {{"sales:orders", "s1", 0, 0}, {"sales:items", "s2", 0, 0}}};
  DataSetName ns{"sales", ""};
  auto itself = PlaceRestore(ns, point, "");
  ASSERT_TRUE(itself.ok());
  EXPECT_TRUE(itself->into_itself);
  EXPECT_EQ(itself->to.at("sales:orders"), "sales:orders");
  // A namespace, a path of another component and a topic prefix all name a namespace.
  for (const auto& [dest, want] : std::vector<std::pair<std::string, std::string>>{
           {"restored", "restored"}, {"/acc-restore-1/", "acc_restore_1"}, {"r2-", "r2"}}) {
    auto p = PlaceRestore(ns, point, dest);
    ASSERT_TRUE(p.ok()) << dest << ": " << p.status().ToString();
    EXPECT_FALSE(p->into_itself);
    EXPECT_EQ(p->ns, want);
    EXPECT_EQ(p->to.at("sales:items"), want + ":items");
  }
  // A table only for a table data set.
  DataSetName table{"sales", "orders"};
  PointRecord one{"rp1", "sales:orders", {{"sales:orders", "s1", 0, 0}}};
  auto t = PlaceRestore(table, one, "audit:orders_copy");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->to.at("sales:orders"), "audit:orders_copy");
  EXPECT_EQ(PlaceRestore(ns, point, "audit:x").status().code(), Code::kInvalidArgument);
  // "/" is the root of a path-shaped destination: the data set's own place, as for hdfs.
  auto root = PlaceRestore(ns, point, "/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->into_itself);
  for (const char* bad : {"no such/name!", "a b", "hbase", "x:bad name", "x:"}) {
    auto p = PlaceRestore(table, one, bad);
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace lifeboat::hbase
