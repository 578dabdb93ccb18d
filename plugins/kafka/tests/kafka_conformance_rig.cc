// The kafka rig for the SDK's conformance suite: the primary and the secondary cluster of the
// Kafka rig (tools/scripts/rig.sh, system "kafka"; LIFEBOAT_KAFKA_RIG_SYSTEM=kafka39 for the
// 3.9.x pair). Without the rig the tests skip, unless LIFEBOAT_RIG_REQUIRED=1.
//
// How the suite's file-shaped words map to Kafka (docs/plugin-guide.md, conformance):
// - an item of the ContentMap is a partition, "topic/partition", described by its record
//   count and an order-sensitive digest of its committed records (key, value, headers,
//   timestamp); an empty partition stands for the empty file;
// - the counted items of a ChangeSet are records (what the plugin's plan counts), bytes are
//   Record::Bytes() (key, value, header names and values);
// - ApplyChanges creates a topic, appends to a partition (Kafka's only "modify"), and deletes a
//   topic; Kafka has no rename, so none is done;
// - a restore destination is a topic prefix; CorruptTarget flips one byte of a record's value
//   in the replica's segment file on the secondary's disk (records are otherwise immutable).
// Each test gets fresh topics (prefix c<pid>-<n>-) and its own state topic on both clusters.
#include <gtest/gtest.h>
#include <lifeboat/testing/conformance.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "config.h"
#include "offsets.h"
#include "rdk.h"
#include "rig_endpoints.h"

namespace lifeboat::kafka {
namespace {

using json = nlohmann::json;
using testing::BadConfig;
using testing::ChangeSet;
using testing::ContentMap;

std::string RigSystem() {
  const char* s = std::getenv("LIFEBOAT_KAFKA_RIG_SYSTEM");
  return s != nullptr && *s != '\0' ? s : "kafka";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class KafkaConformanceRig : public testing::ConformanceRig {
 public:
  void SetUp() override {
    StatusOr<json> endpoints = lifeboat::testing::rig::LoadEndpoints(RigSystem());
    if (!endpoints.ok()) {
      if (endpoints.status().code() == Code::kNotFound && !lifeboat::testing::rig::RigRequired()) {
        GTEST_SKIP() << endpoints.status().message();
      }
      FAIL() << endpoints.status().ToString();
    }
    endpoints_ = *endpoints;
    static int counter = 0;
    prefix_ = "c" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-";
    auto src = Client::Connect(Parsed("primary"));
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    src_ = std::move(src).value();
    auto dst = Client::Connect(Parsed("secondary"));
    ASSERT_TRUE(dst.ok()) << dst.status().ToString();
    dst_ = std::move(dst).value();
  }

  void TearDown() override {
    if (src_ && !acls_.empty()) (void)src_->DeleteAcls(acls_);
    // Topics of the test, on both clusters (replicas and restores included).
    for (Client* c : {src_.get(), dst_.get()}) {
      if (c == nullptr) continue;
      auto topics = c->ListTopics();
      if (!topics.ok()) continue;
      for (const auto& t : *topics) {
        if (t.name.find(prefix_) != std::string::npos) (void)c->DeleteTopic(t.name);
      }
    }
  }

  std::string PluginName() const override { return "kafka"; }
  v1::PluginConfig SourceConfig() const override { return PluginConfig("primary"); }
  v1::PluginConfig TargetConfig() const override { return PluginConfig("secondary"); }

  std::vector<BadConfig> BadConfigs() const override {
    const std::string bs = Bootstrap("primary");
    return {
        {"no bootstrap servers", R"({"timeout_seconds": 5})", "bootstrap_servers"},
        {"batch too small", R"({"bootstrap_servers": ")" + bs + R"(", "batch_bytes": 1})",
         "batch_bytes"},
        {"inline password",
         R"({"bootstrap_servers": ")" + bs +
             R"(", "security_protocol": "sasl_plaintext", "sasl_username": "a", "sasl_password": "x"})",
         "sasl_password"},
    };
  }

  v1::DataSet DataSet() const override {
    v1::DataSet ds;
    ds.set_component("kafka");
    ds.set_selector(prefix_ + "*");
    return ds;
  }

  void Populate(uint64_t large_bytes) override {
    // "big": one partition of more than large_bytes in 10 KiB records (several 1 MiB transfer
    // batches; every fifth value null) and one empty partition; "small": three partitions of a
    // few records; "gone": deleted by the first ApplyChanges.
    CreateTopic("big", 2);
    CreateTopic("small", 3);
    CreateTopic("gone", 1);
    Produce("big", 0, Records(static_cast<int>(large_bytes / 7000) + 1, 10240, "big"));
    for (int p = 0; p < 3; ++p) {
      Produce("small", p, Records(5 + p, 100, "small" + std::to_string(p)));
    }
    Produce("gone", 0, Records(2, 50, "gone"));
  }

  ChangeSet ApplyChanges() override {
    ++changes_;
    ChangeSet c;
    const std::string tag = "change" + std::to_string(changes_);
    // Create: a new topic of one partition.
    std::vector<Record> created = Records(4, 200, tag + "-new");
    CreateTopic(tag, 1);
    Produce(tag, 0, created);
    // Modify: append to small/1 (Kafka cannot change a record in place).
    std::vector<Record> appended = Records(3, 300, tag + "-append");
    Produce("small", 1, appended);
    for (const auto& r : created) c.changed_bytes += r.Bytes();
    for (const auto& r : appended) c.changed_bytes += r.Bytes();
    c.changed_items = created.size() + appended.size();
    // Delete: "gone" the first time, then the topic the previous change created.
    const std::string victim =
        prefix_ + (changes_ == 1 ? std::string("gone") : "change" + std::to_string(changes_ - 1));
    Status s = src_->DeleteTopic(victim);
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 100 && src_->PartitionCount(victim).ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return c;
  }

  ContentMap CaptureSource() const override { return Capture(*src_, prefix_, ""); }

  std::string RestoreDestination(int n) const override { return "r" + std::to_string(n) + "-"; }

  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(*dst_, destination + prefix_, destination);
  }

  // A record of another writer in the topic a restore under `destination` writes for
  // "small" (a topic prefix: <destination><topic>).
  std::string PlantForeignItem(const std::string& destination) override {
    const std::string topic = destination + prefix_ + "small";
    Status s = dst_->CreateTopic(topic, 3, {});
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return "";
    auto w = TxnWriter::Open(Parsed("secondary"), "conformance-foreign-" + topic);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return "";
    EXPECT_TRUE((*w)->Begin().ok());
    EXPECT_TRUE((*w)->Produce(topic, 0, Records(1, 20, "foreign")[0]).ok());
    EXPECT_TRUE((*w)->Flush().ok());
    EXPECT_TRUE((*w)->Commit().ok());
    EXPECT_TRUE(dst_->WaitStable(topic, 0, 20000).ok());
    auto wm = dst_->Watermarks(topic, 0, false);
    planted_end_ = wm.ok() ? wm->second : -1;
    return "a record in " + topic + "/0";
  }
  bool ForeignItemIntact(const std::string& destination) const override {
    auto wm = dst_->Watermarks(destination + prefix_ + "small", 0, false);
    return wm.ok() && planted_end_ >= 0 && wm->second == planted_end_;
  }
  std::string BadRestoreDestination() const override { return "bad topic!"; }

  std::string CorruptTarget(const std::string& restore_point_id, bool staged) override {
    // A 10 KiB record of big/0 in the replica's segment file: one byte of its value flipped
    // (same size; the broker serves the file as it is on disk).
    const std::string topic = prefix_ + "big";
    const std::filesystem::path dir =
        std::filesystem::path(
            endpoints_["clusters"]["secondary"]["log_dirs"][0].get<std::string>()) /
        (topic + "-0");
    const std::string marker = "big#17#";
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      if (f.path().extension() != ".log") continue;
      std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(io)), std::istreambuf_iterator<char>());
      size_t at = data.find(marker);
      if (at == std::string::npos) continue;
      const size_t flip = at + marker.size() + 100;
      io.seekp(static_cast<std::streamoff>(flip));
      io.put(static_cast<char>(data[flip] ^ 0x01));
      io.flush();
      return topic + "/0";
    }
    ADD_FAILURE() << "no record big#17# in the replica's segments under " << dir;
    return "";
  }

  // An ordinary SASL user (not a super user) writing to the replica of small on the target.
  Status ApplicationWriteOnTarget() override {
    if (endpoints_.value("authorizer", "").empty()) {
      return UnimplementedError("the rig has no authorizer");
    }
    ::setenv("LIFEBOAT_KAFKA_CONFORMANCE_ALICE",
             endpoints_["sasl_users"]["alice"].get<std::string>().c_str(), 1);
    json alice = {
        {"bootstrap_servers", endpoints_["clusters"]["secondary"]["sasl_plain_bootstrap_servers"]},
        {"security_protocol", "sasl_plaintext"},
        {"sasl_username", "alice"},
        {"sasl_password_env", "LIFEBOAT_KAFKA_CONFORMANCE_ALICE"},
        {"timeout_seconds", 10}};
    v1::PluginConfig pc;
    pc.set_plugin("kafka");
    pc.set_cluster("secondary");
    pc.set_config_json(alice.dump());
    LIFEBOAT_ASSIGN_OR_RETURN(Config c, ParseConfig(pc));
    LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Connect(c));
    // ACL changes reach the authorizer's cache asynchronously: a few tries until the
    // answer is the same twice.
    Status last = WriteTable(*client, prefix_ + "small", "app", std::string("write"));
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Status again = WriteTable(*client, prefix_ + "small", "app", std::string("write"));
      if (again.ok() == last.ok()) return again;
      last = again;
    }
    return last;
  }

  std::string ChangeSourceSecurity() override {
    if (endpoints_.value("authorizer", "").empty()) return "";
    Acl a;
    a.topic = prefix_ + "small";
    a.principal = "User:bob";
    a.operation = "READ";
    a.allow = true;
    Status s = src_->CreateAcls({a});
    EXPECT_TRUE(s.ok()) << s.ToString();
    acls_.push_back(a);
    // Visible to a describe once the controller applied it.
    for (int i = 0; i < 50 && CaptureSecurity(false, a.topic + "/0").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return a.topic + "/0";
  }

  std::string CaptureSecurity(bool target, const std::string& path) const override {
    const std::string topic = path.substr(0, path.rfind('/'));
    auto acls = (target ? dst_ : src_)->DescribeTopicAcls();
    if (!acls.ok()) return "error: " + acls.status().ToString();
    std::string out;
    for (const auto& a : *acls) {
      if (!a.prefixed && a.topic == topic) out += a.ToString() + "\n";
    }
    return out;
  }

 private:
  int64_t planted_end_ = -1;  // the high watermark PlantForeignItem left
  std::string Bootstrap(const std::string& cluster) const {
    return endpoints_["clusters"][cluster]["bootstrap_servers"];
  }
  v1::PluginConfig PluginConfig(const std::string& cluster) const {
    json cfg = {{"bootstrap_servers", Bootstrap(cluster)},
                {"timeout_seconds", 20},
                {"state_topic", prefix_ + "state"},
                {"batch_bytes", 1 << 20}};
    v1::PluginConfig c;
    c.set_plugin("kafka");
    c.set_cluster(cluster);
    c.set_config_json(cfg.dump());
    return c;
  }
  Config Parsed(const std::string& cluster) const {
    auto c = ParseConfig(PluginConfig(cluster));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }

  // n records of `value_bytes`, each value starting "<tag>#<i>#", recent timestamps.
  static std::vector<Record> Records(int n, size_t value_bytes, const std::string& tag) {
    std::vector<Record> out;
    const int64_t t0 = NowMs() - 60000;
    for (int i = 0; i < n; ++i) {
      Record r;
      r.key = i % 4 == 3 ? std::nullopt : std::optional<std::string>("k" + std::to_string(i));
      std::string v = tag + "#" + std::to_string(i) + "#";
      while (v.size() < value_bytes) v += static_cast<char>('a' + (v.size() * 7 + i) % 26);
      r.value = i % 5 == 4 ? std::nullopt : std::optional<std::string>(v);
      r.headers.emplace_back("i", std::to_string(i));
      r.timestamp_ms = t0 + i;
      out.push_back(std::move(r));
    }
    return out;
  }

  void CreateTopic(const std::string& name, int partitions) {
    Status s = src_->CreateTopic(prefix_ + name, partitions, {});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Produce(const std::string& name, int32_t partition, const std::vector<Record>& records) {
    auto w = TxnWriter::Open(Parsed("primary"), "conformance-" + prefix_ + name);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Begin().ok());
    for (const auto& r : records) ASSERT_TRUE((*w)->Produce(prefix_ + name, partition, r).ok());
    ASSERT_TRUE((*w)->Flush().ok());
    Status s = (*w)->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
    // CaptureSource reads up to the last stable offset, which lags the commit until the
    // broker has written the markers: a capture right after Populate saw "gone" empty while
    // the cut, a moment later, held its records (RoundTrip failed once in CI that way).
    s = src_->WaitStable(prefix_ + name, partition, 20000);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Partitions of the topics named `match`*, keyed by name minus `strip`, as
  // "records=N digest=D".
  ContentMap Capture(Client& c, const std::string& match, const std::string& strip) const {
    ContentMap out;
    auto topics = c.ListTopics();
    EXPECT_TRUE(topics.ok()) << topics.status().ToString();
    if (!topics.ok()) return out;
    for (const auto& t : *topics) {
      if (t.name.rfind(match, 0) != 0 || t.name == prefix_ + "state") continue;
      for (int32_t p = 0; p < t.partitions; ++p) {
        auto wm = c.Watermarks(t.name, p, true);
        EXPECT_TRUE(wm.ok()) << wm.status().ToString();
        if (!wm.ok()) continue;
        RecordDigest digest;
        int64_t n = 0;
        if (wm->second > wm->first) {
          auto r = Reader::Open(c.config(), t.name, p, wm->first, wm->second);
          EXPECT_TRUE(r.ok()) << r.status().ToString();
          bool done = !r.ok();
          while (!done) {
            std::vector<Record> batch;
            auto d = (*r)->Next(batch, 100000, 1 << 30);
            EXPECT_TRUE(d.ok()) << d.status().ToString();
            if (!d.ok()) break;
            done = *d;
            for (const auto& rec : batch) digest.Add(rec);
            n += static_cast<int64_t>(batch.size());
          }
        }
        out[t.name.substr(strip.size()) + "/" + std::to_string(p)] =
            "records=" + std::to_string(n) + " digest=" + digest.Hex();
      }
    }
    return out;
  }

  json endpoints_;
  std::string prefix_;
  int changes_ = 0;
  std::vector<Acl> acls_;  // made on the source, removed by TearDown
  std::unique_ptr<Client> src_;
  std::unique_ptr<Client> dst_;
};

LIFEBOAT_CONFORMANCE_RIG("kafka", KafkaConformanceRig);

}  // namespace
}  // namespace lifeboat::kafka
