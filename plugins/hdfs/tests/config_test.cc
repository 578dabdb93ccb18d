// The hdfs configuration: defaults, normalization, and every refusal naming its field.
#include "config.h"

#include <gtest/gtest.h>

namespace lifeboat::hdfs {
namespace {

StatusOr<Config> Parse(const std::string& json) {
  v1::PluginConfig c;
  c.set_plugin("hdfs");
  c.set_cluster("prod");
  c.set_config_json(json);
  return ParseConfig(c);
}

void ExpectRefused(const std::string& json, const std::string& in_message) {
  StatusOr<Config> c = Parse(json);
  ASSERT_FALSE(c.ok()) << json;
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << c.status().ToString();
  EXPECT_NE(c.status().ToString().find(in_message), std::string::npos)
      << "'" << c.status().ToString() << "' should mention '" << in_message << "'";
}

TEST(HdfsConfig, MinimalTakesDefaults) {
  StatusOr<Config> c = Parse(R"({"namenodes": ["nn1:9870"], "user": "lifeboat"})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cluster, "prod");
  ASSERT_EQ(c->namenodes.size(), 1u);
  EXPECT_EQ(c->namenodes[0], "http://nn1:9870");
  EXPECT_EQ(c->user, "lifeboat");
  EXPECT_EQ(c->bandwidth_bytes_per_second, 0u);
  EXPECT_TRUE(c->preserve_block_size);
  EXPECT_EQ(c->replication, 0);
  EXPECT_TRUE(c->allow_snapshot);
  EXPECT_EQ(c->snapshot_prefix, "lifeboat-");
  EXPECT_EQ(c->parallelism, 4);
  EXPECT_EQ(c->timeout_seconds, 60);
  EXPECT_TRUE(c->incremental_full_listing);  // a point holds what the snapshot holds
}

TEST(HdfsConfig, EverySettingAndHaPair) {
  StatusOr<Config> c = Parse(R"({
    "namenodes": ["http://nn1.example.com:9870/", "https://nn2.example.com:9871"],
    "user": "svc", "spnego": false, "bandwidth_bytes_per_second": 1048576,
    "block_size": "target-default", "replication": "3", "allow_snapshot": false,
    "snapshot_prefix": "lb.", "parallelism": 8, "timeout_seconds": 5,
    "incremental_listing": "diff"})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->namenodes.size(), 2u);
  EXPECT_EQ(c->namenodes[0], "http://nn1.example.com:9870");
  EXPECT_EQ(c->namenodes[1], "https://nn2.example.com:9871");
  EXPECT_EQ(c->bandwidth_bytes_per_second, 1048576u);
  EXPECT_FALSE(c->preserve_block_size);
  EXPECT_EQ(c->replication, 3);
  EXPECT_FALSE(c->allow_snapshot);
  EXPECT_EQ(c->snapshot_prefix, "lb.");
  EXPECT_EQ(c->parallelism, 8);
  EXPECT_EQ(c->timeout_seconds, 5);
  EXPECT_FALSE(c->incremental_full_listing);
  StatusOr<Config> d =
      Parse(R"({"namenodes": ["a:1"], "user": "u", "replication": "target-default"})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->replication, -1);
}

TEST(HdfsConfig, SpnegoSaysNotYet) {
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "spnego": true})", "not yet");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "spnego": true})", "spnego");
}

TEST(HdfsConfig, RefusalsNameTheField) {
  ExpectRefused(R"({"user": "u"})", "namenodes");
  ExpectRefused(R"({"namenodes": [], "user": "u"})", "namenodes");
  ExpectRefused(R"({"namenodes": "nn:9870", "user": "u"})", "namenodes");
  ExpectRefused(R"({"namenodes": ["nn"], "user": "u"})", "namenodes");
  ExpectRefused(R"({"namenodes": ["nn:port"], "user": "u"})", "port");
  ExpectRefused(R"({"namenodes": ["http://nn:9870/webhdfs/v1"], "user": "u"})", "namenodes");
  ExpectRefused(R"({"namenodes": ["nn:9870"]})", "user");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "a b"})", "user");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "block_size": "big"})", "block_size");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "replication": "0"})", "replication");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "replication": "x"})", "replication");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "parallelism": 0})", "parallelism");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "snapshot_prefix": "a/b"})",
                "snapshot_prefix");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "bandwith": 5})", "bandwith");
  ExpectRefused(R"({"namenodes": ["nn:9870"], "user": "u", "incremental_listing": "some"})",
                "incremental_listing");
}

TEST(HdfsConfig, SnapshotNamesAreValidPathComponents) {
  Config c;
  EXPECT_EQ(SnapshotName(c, "rp-20261125T120000Z"), "lifeboat-rp-20261125T120000Z");
  EXPECT_EQ(SnapshotName(c, "a/b:c_d e"), "lifeboat-a_2Fb_3Ac_5Fd_20e");
  // Escaping keeps distinct ids distinct.
  EXPECT_NE(SnapshotName(c, "a_2F"), SnapshotName(c, "a/"));
}

}  // namespace
}  // namespace lifeboat::hdfs
