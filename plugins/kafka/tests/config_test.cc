// Configuration and selector parsing of the kafka plugin (no broker needed).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config.h"

namespace lifeboat::kafka {
namespace {

v1::PluginConfig Cfg(const std::string& json) {
  v1::PluginConfig c;
  c.set_plugin("kafka");
  c.set_cluster("primary");
  c.set_config_json(json);
  return c;
}

TEST(KafkaConfig, DefaultsAndFields) {
  auto c = ParseConfig(Cfg(R"({"bootstrap_servers": "127.0.0.1:9092,b2:9093"})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cluster, "primary");
  EXPECT_EQ(c->state_topic, "__lifeboat_state");
  EXPECT_EQ(c->security_protocol, "plaintext");
  EXPECT_TRUE(c->create_topics);
  EXPECT_FALSE(c->add_partitions);
  EXPECT_EQ(c->batch_records, 20000);
  EXPECT_EQ(c->ClientProperties().at("bootstrap.servers"), "127.0.0.1:9092,b2:9093");
  EXPECT_EQ(c->ClientProperties().count("sasl.password"), 0u);

  auto d = ParseConfig(Cfg(R"({"bootstrap_servers": "k:1", "replica_topic_prefix": "primary.",
                               "on_fewer_partitions": "add", "batch_bytes": 1048576})"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->replica_topic_prefix, "primary.");
  EXPECT_TRUE(d->add_partitions);
  EXPECT_EQ(d->batch_bytes, 1048576);
}

TEST(KafkaConfig, RefusesWhatIsWrongAndSaysWhich) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({})", "bootstrap_servers"},
      {R"({"bootstrap_servers": "nohostport"})", "bootstrap_servers"},
      {R"({"bootstrap_servers": "h:x1"})", "bootstrap_servers"},
      {R"({"bootstrap_servers": "h:1", "security_protocol": "tls"})", "security_protocol"},
      {R"({"bootstrap_servers": "h:1", "security_protocol": "sasl_plaintext"})", "sasl_username"},
      {R"({"bootstrap_servers": "h:1", "security_protocol": "sasl_plaintext",
           "sasl_username": "u"})",
       "sasl_password_file"},
      {R"({"bootstrap_servers": "h:1", "sasl_username": "u"})", "sasl_username"},
      {R"({"bootstrap_servers": "h:1", "on_fewer_partitions": "grow"})", "on_fewer_partitions"},
      {R"({"bootstrap_servers": "h:1", "batch_records": 0})", "batch_records"},
      {R"({"bootstrap_servers": "h:1", "replica_topic_prefix": "a/b"})", "replica_topic_prefix"},
      {R"({"bootstrap_servers": "h:1", "unknown_key": 1})", "unknown_key"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(Cfg(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.json;
    EXPECT_NE(r.status().ToString().find(c.field), std::string::npos)
        << c.json << " -> " << r.status().ToString();
  }
}

TEST(KafkaConfig, SaslPasswordIsReferencedNotInline) {
  auto dir = std::filesystem::temp_directory_path() / ("kafka_cfg_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "pw") << "s3cret\n";
  auto c = ParseConfig(Cfg(R"({"bootstrap_servers": "h:1", "security_protocol": "sasl_plaintext",
                               "sasl_username": "alice", "sasl_password_file": ")" +
                           (dir / "pw").string() + R"("})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->sasl_password, "s3cret");
  EXPECT_EQ(c->ClientProperties().at("sasl.username"), "alice");
  ::setenv("LIFEBOAT_KAFKA_TEST_PW", "from-env", 1);
  auto e = ParseConfig(Cfg(R"({"bootstrap_servers": "h:1", "security_protocol": "sasl_plaintext",
                               "sasl_username": "alice",
                               "sasl_password_env": "LIFEBOAT_KAFKA_TEST_PW"})"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->sasl_password, "from-env");
  auto missing =
      ParseConfig(Cfg(R"({"bootstrap_servers": "h:1", "security_protocol": "sasl_plaintext",
                               "sasl_username": "alice", "sasl_password_file": "/nonexistent/pw"})"));
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

TEST(KafkaSelector, ParsesNamesGlobsAndGroups) {
  auto s = ParseSelector("orders, payments-*;groups=billing,audit-?");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ToString(), "orders,payments-*;groups=billing,audit-?");
  EXPECT_TRUE(s->MatchesTopic("orders"));
  EXPECT_TRUE(s->MatchesTopic("payments-eu"));
  EXPECT_TRUE(s->MatchesTopic("payments-"));
  EXPECT_FALSE(s->MatchesTopic("order"));
  EXPECT_FALSE(s->MatchesTopic("xpayments-eu"));
  EXPECT_TRUE(s->MatchesGroup("billing"));
  EXPECT_TRUE(s->MatchesGroup("audit-1"));
  EXPECT_FALSE(s->MatchesGroup("audit-12"));
  auto star = ParseSelector("*");
  ASSERT_TRUE(star.ok());
  EXPECT_TRUE(star->MatchesTopic("anything"));
  EXPECT_FALSE(star->MatchesTopic("__consumer_offsets")) << "globs never take internal topics";
  auto internal = ParseSelector("__consumer_offsets");
  ASSERT_TRUE(internal.ok());
  EXPECT_TRUE(internal->MatchesTopic("__consumer_offsets")) << "an exact name does";
}

TEST(KafkaSelector, RefusesBadSelectors) {
  for (const char* bad : {"", "a,,b", "a,", "a;b", "a;groups=", "a b", "a/b", "a;groups=x,"}) {
    auto s = ParseSelector(bad);
    EXPECT_FALSE(s.ok()) << "'" << bad << "' was accepted";
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << bad;
  }
  v1::DataSet ds;
  ds.set_component("hdfs");
  ds.set_selector("orders");
  EXPECT_EQ(DataSetSelector(ds).status().code(), Code::kInvalidArgument);
}

TEST(KafkaSelector, GlobMatch) {
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_TRUE(GlobMatch("a*", "a"));
  EXPECT_FALSE(GlobMatch("a*b", "ab-"));
  EXPECT_TRUE(GlobMatch("?b", "ab"));
  EXPECT_FALSE(GlobMatch("?b", "b"));
  EXPECT_TRUE(GlobMatch("**", ""));
}

}  // namespace
}  // namespace lifeboat::kafka
