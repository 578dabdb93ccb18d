// The hive plugin's pieces that need no metastore (label unit): selectors, restore
// destinations, location rewriting, partition runs, configuration.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "config.h"
#include "hive_plugin.h"
#include "model.h"
#include "selector.h"

namespace lifeboat::hive {
namespace {

TEST(HiveSelector, ParsesDatabasesTablesAndPatterns) {
  auto db = ParseSelector("Sales");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(db->db, "sales");
  EXPECT_TRUE(db->whole_db());
  EXPECT_FALSE(db->is_pattern());
  auto table = ParseConcreteSelector("sales.orders");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->text(), "sales.orders");
  EXPECT_TRUE(table->Holds("sales", "orders"));
  EXPECT_FALSE(table->Holds("sales", "customers"));
  auto pattern = ParseSelector("sales_*.*");
  ASSERT_TRUE(pattern.ok());
  EXPECT_TRUE(pattern->is_pattern());
  EXPECT_EQ(ParseConcreteSelector("sales_*").status().code(), Code::kInvalidArgument);
  for (const char* bad : {"", ".", "a.b.c", "sa les", "a/b", "sales."}) {
    EXPECT_EQ(ParseSelector(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(GlobMatch("sales_*", "sales_eu"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("sales_*", "sale"));
}

TEST(HiveRestoreDestination, IsADatabasePrefix) {
  EXPECT_EQ(*DatabasePrefix("restored_"), "restored_");
  EXPECT_EQ(*DatabasePrefix("Restored-"), "restored_");
  // The path shape given to every member of a point.
  EXPECT_EQ(*DatabasePrefix("/acc/restore"), "acc_restore_");
  EXPECT_EQ(*DatabasePrefix("/acc.restore/"), "acc_restore_");
  for (const char* bad : {"", "/", "bad prefix!", "a$b"}) {
    auto p = DatabasePrefix(bad);
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(DatabasePrefix("bad prefix!").status().message().find("' '"), std::string::npos)
      << DatabasePrefix("bad prefix!").status().message();
}

TEST(HiveLocations, NormalizeAndRewriteOnPathBoundaries) {
  EXPECT_EQ(NormalizeLocation("HDFS://NN:8020//warehouse/x/"), "hdfs://nn:8020/warehouse/x");
  EXPECT_EQ(NormalizeLocation("file:///tmp/x"), "file:/tmp/x");
  EXPECT_EQ(FileSystemOf("hdfs://nn:8020/warehouse/x"), "hdfs://nn:8020");
  EXPECT_EQ(FileSystemOf("file:/tmp/x"), "");

  LocationRewriter rw;
  rw.Add("hdfs://prim", "hdfs://sec");
  rw.Add("hdfs://prim/warehouse/special", "hdfs://sec/elsewhere");
  EXPECT_EQ(rw.Rewrite("hdfs://prim/warehouse/sales"), "hdfs://sec/warehouse/sales");
  // The longest prefix wins.
  EXPECT_EQ(rw.Rewrite("hdfs://prim/warehouse/special/t"), "hdfs://sec/elsewhere/t");
  // Only on '/' boundaries: hdfs://primary is another file system.
  EXPECT_EQ(rw.Rewrite("hdfs://primary/warehouse"), "hdfs://primary/warehouse");
  EXPECT_EQ(rw.Inverse().Rewrite("hdfs://sec/warehouse/sales"), "hdfs://prim/warehouse/sales");
  EXPECT_EQ(LocationRewriter().Describe(), "none");
}

store::PartitionEntry Entry(const std::string& name) {
  store::PartitionEntry e;
  e.name = name;
  return e;
}

TEST(HivePartitionRuns, AddingAPartitionChangesOneRun) {
  std::vector<store::PartitionEntry> before;
  for (int i = 0; i < 2000; ++i) before.push_back(Entry("dt=" + std::to_string(100000 + i)));
  std::vector<store::PartitionEntry> after = before;
  after.insert(after.begin() + 1000, Entry("dt=1009995x"));
  std::sort(after.begin(), after.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  auto a = ChunkPartitions("db", "t", before);
  auto b = ChunkPartitions("db", "t", after);
  ASSERT_GT(a.size(), 3u) << "2,000 partitions make several runs";
  std::set<std::string> runs_a, runs_b;
  for (const auto& c : a) runs_a.insert(Encode(c));
  for (const auto& c : b) runs_b.insert(Encode(c));
  size_t changed = 0;
  for (const auto& r : runs_b) changed += runs_a.count(r) == 0;
  EXPECT_LE(changed, 2u) << "one new partition changed " << changed << " runs of " << b.size();
  for (const auto& c : b) EXPECT_LE(c.partitions.size(), kChunkMaxPartitions);
}

TEST(HiveConfig, RefusesWhatIsWrongNamingTheField) {
  auto config = [](const std::string& json) {
    v1::PluginConfig c;
    c.set_plugin("hive");
    c.set_cluster("primary");
    c.set_config_json(json);
    return ParseConfig(c);
  };
  auto good = config(R"({"metastore": "thrift://h:9083", "state_dir": "/tmp/x"})");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->metastore.host, "h");
  EXPECT_EQ(good->metastore.port, 9083);
  struct Bad {
    std::string json, field;
  };
  for (const Bad& b : std::vector<Bad>{
           {R"({"state_dir": "/tmp/x"})", "metastore"},
           {R"({"metastore": "h:9083"})", "state_dir"},
           {R"({"metastore": "h:9083", "state_dir": "/x", "parallelism": 99})", "parallelism"},
           {R"({"metastore": "h:9083", "state_dir": "/x", "colour": 1})", "colour"},
           {R"({"metastore": "h:9083", "state_dir": "/x", "location_map": [1]})",
            "location_map"}}) {
    auto parsed = config(b.json);
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << b.json;
    EXPECT_NE(parsed.status().message().find(b.field), std::string::npos)
        << b.json << ": " << parsed.status().message();
  }
}

}  // namespace
}  // namespace lifeboat::hive
