// The kafka plugin against the Kafka rig (label rig): two real single-node KRaft clusters,
// "primary" and "secondary", started by tools/scripts/rig.sh (system "kafka", 4.x; set
// LIFEBOAT_KAFKA_RIG_SYSTEM=kafka39 for the 3.9.x pair). Each test uses topics and groups of
// its own. Without the rig the tests skip, unless LIFEBOAT_RIG_REQUIRED=1.
#include <gtest/gtest.h>
#include <lifeboat/testing/fake_host.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "kafka_plugin.h"
#include "offsets.h"
#include "rdk.h"
#include "rig_endpoints.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::kafka {
namespace {

using json = nlohmann::json;

std::string RigSystem() {
  const char* s = std::getenv("LIFEBOAT_KAFKA_RIG_SYSTEM");
  return s != nullptr && *s != '\0' ? s : "kafka";
}

// The tests' record timestamps: an hour ago, fixed for the process. Not a constant in the
// past: the brokers delete a segment whose newest timestamp is older than the topic's
// retention.ms (default 7 days) at their retention check (30 s after start, then every 5 min),
// and records stamped 2023 vanished mid-test from whichever test ran at that moment.
int64_t TimestampBase() {
  static const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() -
                              3600 * 1000;
  return base;
}

// Records the tests write: keys, values (some null), headers, explicit timestamps.
std::vector<Record> MakeRecords(int n, int first, size_t value_bytes = 100) {
  std::vector<Record> out;
  for (int i = first; i < first + n; ++i) {
    Record r;
    r.key = "k" + std::to_string(i % 97);
    if (i % 50 == 7) {
      r.value = std::nullopt;  // a tombstone
    } else {
      std::string v(value_bytes, 'a');
      for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<char>('a' + (i * 31 + j) % 26);
      r.value = v;
    }
    r.headers.emplace_back("seq", std::to_string(i));
    if (i % 3 == 0) r.headers.emplace_back("null-header", std::nullopt);
    r.timestamp_ms = TimestampBase() + i;
    out.push_back(std::move(r));
  }
  return out;
}

// What must survive a copy, offsets left out.
std::string Describe(const Record& r) {
  std::string s =
      (r.key ? "k=" + *r.key : "k=null") + " ts=" + std::to_string(r.timestamp_ms) +
      (r.value ? " v=" + std::to_string(r.value->size()) + ":" + r.value->substr(0, 8) : " v=null");
  for (const auto& [n, v] : r.headers) s += " h:" + n + "=" + (v ? *v : "null");
  return s;
}

class KafkaRigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(eps, RigSystem());
    endpoints_ = eps;
    static int counter = 0;
    prefix_ = "t" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-";
    api_ = lifeboat_plugin_init(host_.table());
    src_ = MakeClient("primary");
    dst_ = MakeClient("secondary");
  }

  void TearDown() override {
    for (lb_instance* i : instances_) api_->destroy(i);
  }

  std::string Bootstrap(const std::string& cluster) const {
    return endpoints_["clusters"][cluster]["bootstrap_servers"];
  }

  json ConfigJson(const std::string& cluster, const json& extra = json::object()) const {
    json cfg = {{"bootstrap_servers", Bootstrap(cluster)}, {"timeout_seconds", 20}};
    cfg.update(extra);
    return cfg;
  }
  v1::PluginConfig PluginConfig(const std::string& cluster,
                                const json& extra = json::object()) const {
    v1::PluginConfig c;
    c.set_plugin("kafka");
    c.set_cluster(cluster);
    c.set_config_json(ConfigJson(cluster, extra).dump());
    return c;
  }
  Config ParsedConfig(const std::string& cluster, const json& extra = json::object()) const {
    auto c = ParseConfig(PluginConfig(cluster, extra));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }
  std::unique_ptr<Client> MakeClient(const std::string& cluster) {
    auto c = Client::Connect(ParsedConfig(cluster));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  lb_instance* Instance(const std::string& cluster, const json& extra = json::object()) {
    StatusOr<lb_instance*> made = host_.Create(api_, PluginConfig(cluster, extra));
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return nullptr;
    instances_.push_back(*made);
    return *made;
  }

  template <typename Resp, typename Req>
  StatusOr<Resp> Call(lb_instance* instance, lb_op op, const Req& req) {
    return host_.Call<Resp>(api_, instance, op, req);
  }

  v1::DataSet DataSet(const std::string& selector) const {
    v1::DataSet ds;
    ds.set_component("kafka");
    ds.set_selector(selector);
    return ds;
  }

  void CreateTopic(Client& c, const std::string& topic, int partitions,
                   const std::map<std::string, std::string>& configs = {}) {
    Status s = c.CreateTopic(topic, partitions, configs);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Writes `records` to topic/partition, in transactions of `per_txn` records; the
  // transactions listed in `abort` (by index) are aborted instead of committed.
  void Produce(const std::string& cluster, const std::string& topic, int32_t partition,
               const std::vector<Record>& records, size_t per_txn = 100000,
               std::set<size_t> abort = {}) {
    auto w = TxnWriter::Open(ParsedConfig(cluster), "test-" + prefix_ + topic);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (size_t i = 0, txn = 0; i < records.size(); i += per_txn, ++txn) {
      ASSERT_TRUE((*w)->Begin().ok());
      for (size_t j = i; j < std::min(records.size(), i + per_txn); ++j) {
        ASSERT_TRUE((*w)->Produce(topic, partition, records[j]).ok());
      }
      ASSERT_TRUE((*w)->Flush().ok());
      if (abort.count(txn)) {
        (*w)->Abort();
      } else {
        Status s = (*w)->Commit();
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
    }
    // ReadAll reads up to the last stable offset, which lags the last commit until the
    // broker has written its markers.
    Status s = (cluster == "primary" ? *src_ : *dst_).WaitStable(topic, partition, 20000);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Every committed record of topic/partition from `from` on.
  std::vector<Record> ReadAll(const std::string& cluster, const std::string& topic,
                              int32_t partition, int64_t from = 0) {
    Client& c = cluster == "primary" ? *src_ : *dst_;
    auto wm = c.Watermarks(topic, partition, true);
    EXPECT_TRUE(wm.ok()) << wm.status().ToString();
    std::vector<Record> out;
    if (!wm.ok()) return out;
    auto r = Reader::Open(ParsedConfig(cluster), topic, partition, std::max(from, wm->first),
                          wm->second);
    EXPECT_TRUE(r.ok());
    bool done = false;
    while (r.ok() && !done) {
      auto d = (*r)->Next(out, 100000, 1 << 30);
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      if (!d.ok()) break;
      done = *d;
    }
    return out;
  }

  static std::vector<std::string> Describe(const std::vector<Record>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(kafka::Describe(r));
    return out;
  }

  // A whole backup of `selector`: cut, plan, transfer every task, verify, commit.
  struct Backup {
    v1::SnapshotRef snap;
    v1::PlanTransferResponse plan;
    v1::CommitResponse commit;
  };
  Backup RunBackup(lb_instance* src, lb_instance* dst, const std::string& selector,
                   const std::string& rp, const std::string& base,
                   const json& source_extra = json::object()) {
    Backup b;
    auto t0 = std::chrono::steady_clock::now();
    auto lap = [&](const char* what) {
      std::cout << what << " "
                << std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t0)
                       .count()
                << " ms\n";
    };
    v1::CutRequest cut;
    cut.set_op_id("cut-" + rp);
    *cut.mutable_data_set() = DataSet(selector);
    cut.set_restore_point_id(rp);
    auto c = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return b;
    b.snap = c->snapshot();
    lap("cut");
    v1::PlanTransferRequest plan;
    plan.set_op_id("plan-" + rp);
    *plan.mutable_source()->mutable_config() = PluginConfig("primary", source_extra);
    *plan.mutable_snapshot() = b.snap;
    plan.set_base_restore_point_id(base);
    auto p = Call<v1::PlanTransferResponse>(dst, LB_OP_PLAN_TRANSFER, plan);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return b;
    b.plan = *p;
    lap("plan");
    for (const auto& task : p->tasks()) {
      auto t = Transfer(dst, b.snap, task);
      EXPECT_TRUE(t.ok()) << task.task_id() << ": " << t.status().ToString();
    }
    lap("transfer");
    auto v = Verify(dst, b.snap);
    lap("verify");
    EXPECT_TRUE(v.ok() && v->ok()) << (v.ok() ? v->DebugString() : v.status().ToString());
    v1::CommitRequest commit;
    commit.set_op_id("commit-" + rp);
    *commit.mutable_snapshot() = b.snap;
    commit.set_base_restore_point_id(base);
    auto cm = Call<v1::CommitResponse>(dst, LB_OP_COMMIT, commit);
    EXPECT_TRUE(cm.ok()) << cm.status().ToString();
    if (cm.ok()) b.commit = *cm;
    return b;
  }

  StatusOr<v1::TransferResponse> Transfer(lb_instance* dst, const v1::SnapshotRef& snap,
                                          const v1::TransferTask& task, uint64_t bandwidth = 0) {
    v1::TransferRequest req;
    req.set_op_id("transfer-" + snap.restore_point_id() + "-" + task.task_id());
    *req.mutable_source()->mutable_config() = PluginConfig("primary");
    *req.mutable_snapshot() = snap;
    *req.mutable_task() = task;
    req.set_bandwidth_bytes_per_second(bandwidth);
    return Call<v1::TransferResponse>(dst, LB_OP_TRANSFER, req);
  }

  StatusOr<v1::VerifyResponse> Verify(lb_instance* dst, const v1::SnapshotRef& snap) {
    v1::VerifyRequest req;
    req.set_op_id("verify-" + snap.restore_point_id());
    *req.mutable_snapshot() = snap;
    req.set_level(v1::VERIFY_DIGEST);
    return Call<v1::VerifyResponse>(dst, LB_OP_VERIFY, req);
  }

  json endpoints_;
  std::string prefix_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  std::vector<lb_instance*> instances_;
  std::unique_ptr<Client> src_;
  std::unique_ptr<Client> dst_;
};

TEST_F(KafkaRigTest, BackupCopiesEveryRecordAndIncrementalOnlyTheNewOnes) {
  const std::string topic = prefix_ + "orders";
  CreateTopic(*src_, topic, 3, {{"retention.ms", "86400000"}});
  for (int p = 0; p < 3; ++p) Produce("primary", topic, p, MakeRecords(400, p * 1000));
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary");
  Backup b1 = RunBackup(src, dst, topic, "rp1", "");
  ASSERT_EQ(b1.plan.tasks_size(), 3);
  EXPECT_EQ(b1.plan.items_to_copy(), 1200u);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(Describe(ReadAll("secondary", topic, p)), Describe(ReadAll("primary", topic, p)))
        << "partition " << p;
  }
  // The replica took the partition count and the source's retention.
  auto n = dst_->PartitionCount(topic);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  auto cfg = dst_->TopicConfigs(topic);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ((*cfg)["retention.ms"], "86400000");

  // Only partition 1 gets new records: the next plan has one task of just those.
  Produce("primary", topic, 1, MakeRecords(50, 5000));
  Backup b2 = RunBackup(src, dst, topic, "rp2", "rp1");
  EXPECT_TRUE(b2.plan.incremental()) << b2.plan.full_reason();
  ASSERT_EQ(b2.plan.tasks_size(), 1);
  EXPECT_EQ(b2.plan.tasks(0).task_id(), topic + "/1");
  EXPECT_EQ(b2.plan.items_to_copy(), 50u);
  EXPECT_EQ(Describe(ReadAll("secondary", topic, 1)), Describe(ReadAll("primary", topic, 1)));

  // A repeated transfer moves nothing.
  auto again = Transfer(dst, b2.snap, b2.plan.tasks(0));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->bytes_copied(), 0u);
  EXPECT_EQ(ReadAll("secondary", topic, 1).size(), 450u);
}

TEST_F(KafkaRigTest, CompactedTopicWithCommittedAndAbortedTransactions) {
  const std::string topic = prefix_ + "ledger";
  CreateTopic(*src_, topic, 1, {{"cleanup.policy", "compact"}, {"min.compaction.lag.ms", "0"}});
  // Five transactions of 40 records; the second and fourth are aborted.
  std::vector<Record> all = MakeRecords(200, 0);
  Produce("primary", topic, 0, all, 40, {1, 3});
  std::vector<Record> committed;
  for (size_t i = 0; i < all.size(); ++i) {
    if ((i / 40) % 2 == 0) committed.push_back(all[i]);
  }
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary");
  Backup b = RunBackup(src, dst, topic, "rp1", "");
  ASSERT_EQ(b.plan.tasks_size(), 1);
  // The brokers' cleaners may compact either side at any time: compare what compaction keeps,
  // the newest record of each key, and that nothing else (no aborted record) arrived.
  auto latest = [](const std::vector<Record>& rs) {
    std::map<std::string, std::string> m;
    for (const auto& r : rs) m[r.key.value_or("")] = kafka::Describe(r);
    return m;
  };
  auto target = ReadAll("secondary", topic, 0);
  EXPECT_EQ(latest(target), latest(committed))
      << "aborted records must not be copied, the newest committed one of each key must";
  std::set<std::string> committed_set;
  for (const auto& d : Describe(committed)) committed_set.insert(d);
  for (const auto& d : Describe(target))
    EXPECT_TRUE(committed_set.count(d)) << "not committed: " << d;
  EXPECT_LE(target.size(), committed.size());
  auto cfg = dst_->TopicConfigs(topic);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ((*cfg)["cleanup.policy"], "compact");
  EXPECT_EQ((*cfg)["min.compaction.lag.ms"], "0");
}

TEST_F(KafkaRigTest, ConsumerGroupTranslatedAndResumedWithoutSkipping) {
  const std::string topic = prefix_ + "events";
  const std::string group = prefix_ + "billing";
  CreateTopic(*src_, topic, 2);
  for (int p = 0; p < 2; ++p) Produce("primary", topic, p, MakeRecords(300, p * 1000));
  // The group has read 123 records of partition 0 and all of partition 1 on the primary.
  auto src_records0 = ReadAll("primary", topic, 0);
  ASSERT_EQ(src_records0.size(), 300u);
  const int64_t committed0 = src_records0[123].offset;
  auto wm1 = src_->Watermarks(topic, 1, true);
  ASSERT_TRUE(wm1.ok());
  ASSERT_TRUE(
      src_->AlterGroupOffsets(group, {{{topic, 0}, committed0}, {{topic, 1}, wm1->second}}).ok());

  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary");
  RunBackup(src, dst, topic + ";groups=" + prefix_ + "bill*", "rp1", "");
  auto translated = dst_->GroupOffsets(group);
  ASSERT_TRUE(translated.ok()) << translated.status().ToString();
  ASSERT_EQ(translated->count({topic, 0}), 1u) << "no offset for partition 0 on the target";
  // Resumed on the target, the group reads exactly what it had not read on the primary.
  auto resumed = ReadAll("secondary", topic, 0, translated->at({topic, 0}));
  std::vector<Record> unread(src_records0.begin() + 123, src_records0.end());
  ASSERT_GE(resumed.size(), unread.size()) << "records were skipped";
  EXPECT_EQ(Describe(std::vector<Record>(resumed.end() - static_cast<long>(unread.size()),
                                         resumed.end())),
            Describe(unread));
  EXPECT_EQ(resumed.size(), unread.size()) << "exact translation: nothing re-read either";
  auto tgt_wm1 = dst_->Watermarks(topic, 1, true);
  ASSERT_TRUE(tgt_wm1.ok());
  EXPECT_TRUE(ReadAll("secondary", topic, 1, translated->at({topic, 1})).empty())
      << "a group that had read everything has nothing to read on the target";
}

TEST_F(KafkaRigTest, TopicWithMorePartitionsThanTheTarget) {
  const std::string topic = prefix_ + "wide";
  CreateTopic(*src_, topic, 3);
  CreateTopic(*dst_, topic, 1);
  for (int p = 0; p < 3; ++p) Produce("primary", topic, p, MakeRecords(10, p * 100));
  lb_instance* src = Instance("primary");
  lb_instance* strict = Instance("secondary");
  v1::CutRequest cut;
  cut.set_op_id("cut-1");
  *cut.mutable_data_set() = DataSet(topic);
  cut.set_restore_point_id("rp1");
  auto c = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  v1::PlanTransferRequest plan;
  plan.set_op_id("plan-1");
  *plan.mutable_source()->mutable_config() = PluginConfig("primary");
  *plan.mutable_snapshot() = c->snapshot();
  auto refused = Call<v1::PlanTransferResponse>(strict, LB_OP_PLAN_TRANSFER, plan);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("has 1 partitions"), std::string::npos)
      << refused.status().message();
  lb_instance* adding = Instance("secondary", {{"on_fewer_partitions", "add"}});
  auto planned = Call<v1::PlanTransferResponse>(adding, LB_OP_PLAN_TRANSFER, plan);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  auto n = dst_->PartitionCount(topic);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  for (const auto& task : planned->tasks()) ASSERT_TRUE(Transfer(adding, c->snapshot(), task).ok());
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(Describe(ReadAll("secondary", topic, p)), Describe(ReadAll("primary", topic, p)));
  }
}

TEST_F(KafkaRigTest, AlignedCutTakesTheOffsetOfTimeTAndCrashTheLastStableOffset) {
  const std::string topic = prefix_ + "timed";
  CreateTopic(*src_, topic, 1);
  Produce("primary", topic, 0, MakeRecords(100, 0));  // timestamps TimestampBase() + i
  lb_instance* src = Instance("primary");
  v1::CutRequest cut;
  cut.set_op_id("cut-t");
  *cut.mutable_data_set() = DataSet(topic);
  cut.set_restore_point_id("rp-t");
  cut.set_cut_unix_nanos((TimestampBase() + 40) * 1000000);
  cut.set_consistency("ALIGNED");
  auto c = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  json opaque = json::parse(c->snapshot().opaque());
  ASSERT_EQ(opaque["partitions"].size(), 1u);
  // Records 0..39 are before T: the cut is the offset of record 40.
  auto records = ReadAll("primary", topic, 0);
  EXPECT_EQ(opaque["partitions"][0]["cut"].get<int64_t>(), records[40].offset);
  // A repeated cut answers the same; T = 0 cuts at the end.
  auto again = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->snapshot().opaque(), c->snapshot().opaque());
  cut.set_restore_point_id("rp-end");
  cut.set_cut_unix_nanos(0);
  auto end = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(json::parse(end->snapshot().opaque())["partitions"][0]["cut"].get<int64_t>(),
            records.back().offset + 2)
      << "the end: after the last record and its commit marker";
  // Crash mode (and quiesced) cut at the end, the last stable offset, whatever T says: there
  // T is only when the cut was asked for. An engine that gives no mode gets T as given.
  for (const char* mode : {"CRASH", "QUIESCED"}) {
    cut.set_restore_point_id(std::string("rp-") + mode);
    cut.set_cut_unix_nanos((TimestampBase() + 40) * 1000000);
    cut.set_consistency(mode);
    auto crash = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
    ASSERT_TRUE(crash.ok()) << crash.status().ToString();
    EXPECT_EQ(json::parse(crash->snapshot().opaque())["partitions"][0]["cut"].get<int64_t>(),
              records.back().offset + 2)
        << mode << " mode cuts at the last stable offset, not at T";
  }
  cut.set_restore_point_id("rp-unsaid");
  cut.set_consistency("");
  auto unsaid = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(unsaid.ok()) << unsaid.status().ToString();
  EXPECT_EQ(json::parse(unsaid->snapshot().opaque())["partitions"][0]["cut"].get<int64_t>(),
            records[40].offset);
  // The typed mode (what this engine sends, with the text for older plugins) decides; the
  // text is read only when no mode is given.
  cut.set_restore_point_id("rp-typed-crash");
  cut.set_consistency("ALIGNED");
  cut.set_mode(v1::CONSISTENCY_CRASH);
  auto typed_crash = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(typed_crash.ok()) << typed_crash.status().ToString();
  EXPECT_EQ(json::parse(typed_crash->snapshot().opaque())["partitions"][0]["cut"].get<int64_t>(),
            records.back().offset + 2)
      << "mode CONSISTENCY_CRASH cuts at the last stable offset";
  cut.set_restore_point_id("rp-typed-aligned");
  cut.set_consistency("");
  cut.set_mode(v1::CONSISTENCY_ALIGNED);
  auto typed_aligned = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(typed_aligned.ok()) << typed_aligned.status().ToString();
  EXPECT_EQ(json::parse(typed_aligned->snapshot().opaque())["partitions"][0]["cut"].get<int64_t>(),
            records[40].offset)
      << "mode CONSISTENCY_ALIGNED cuts at T";
}

TEST_F(KafkaRigTest, TransferKilledMidTransactionResumesWithoutDuplicatesOrGaps) {
  const std::string topic = prefix_ + "big";
  CreateTopic(*src_, topic, 1);
  std::vector<Record> records = MakeRecords(60000, 0);
  Produce("primary", topic, 0, records, 20000);
  const json small_batches = {{"batch_records", 2000}};
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary", small_batches);
  v1::CutRequest cut;
  cut.set_op_id("cut-k");
  *cut.mutable_data_set() = DataSet(topic);
  cut.set_restore_point_id("rpk");
  auto c = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(c.ok());
  v1::PlanTransferRequest plan;
  plan.set_op_id("plan-k");
  *plan.mutable_source()->mutable_config() = PluginConfig("primary");
  *plan.mutable_snapshot() = c->snapshot();
  auto p = Call<v1::PlanTransferResponse>(dst, LB_OP_PLAN_TRANSFER, plan);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->tasks_size(), 1);

  // A child process runs the transfer and is SIGKILLed once some batches are committed.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // librdkafka's threads do not survive fork(): the child makes its own instance.
    lb_instance* fresh = Instance("secondary", small_batches);
    auto r = Transfer(fresh, c->snapshot(), p->tasks(0));
    ::_exit(r.ok() ? 0 : 3);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t copied_before_kill = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto wm = dst_->Watermarks(topic, 0, false);
    if (wm.ok() && wm->second > 10000) {
      copied_before_kill = static_cast<size_t>(wm->second);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_GT(copied_before_kill, 0u) << "the child copied nothing within a minute";
  ASSERT_TRUE(WIFSIGNALED(status)) << "the transfer finished before it was killed";
  const size_t committed_at_kill = ReadAll("secondary", topic, 0).size();
  EXPECT_LT(committed_at_kill, records.size());

  auto resumed = Transfer(dst, c->snapshot(), p->tasks(0));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_LT(resumed->items_done(), records.size()) << "the resumed transfer started over";
  EXPECT_EQ(resumed->items_done() + committed_at_kill, records.size());
  auto target = ReadAll("secondary", topic, 0);
  ASSERT_EQ(target.size(), records.size()) << "duplicates or gaps";
  EXPECT_EQ(Describe(target), Describe(records));
  auto v = Verify(dst, c->snapshot());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok());
}

TEST_F(KafkaRigTest, BrokerRestartedMidTransfer) {
  const std::string topic = prefix_ + "restart";
  CreateTopic(*src_, topic, 1);
  std::vector<Record> records = MakeRecords(20000, 0);
  Produce("primary", topic, 0, records, 20000);
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary", {{"batch_records", 1000}});
  v1::CutRequest cut;
  cut.set_op_id("cut-r");
  *cut.mutable_data_set() = DataSet(topic);
  cut.set_restore_point_id("rpr");
  auto c = Call<v1::CutResponse>(src, LB_OP_CUT, cut);
  ASSERT_TRUE(c.ok());
  v1::PlanTransferRequest plan;
  plan.set_op_id("plan-r");
  *plan.mutable_source()->mutable_config() = PluginConfig("primary");
  *plan.mutable_snapshot() = c->snapshot();
  auto p = Call<v1::PlanTransferResponse>(dst, LB_OP_PLAN_TRANSFER, plan);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->tasks_size(), 1);
  // The target's broker goes down for 2 s while the throttled transfer runs (about 5 s).
  const std::string request = endpoints_["clusters"]["secondary"]["restart_request"];
  std::thread restarter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    std::ofstream(request) << "2000";
  });
  int attempts = 0;
  StatusOr<v1::TransferResponse> r = UnavailableError("not run");
  while (attempts < 5) {
    ++attempts;
    r = Transfer(dst, c->snapshot(), p->tasks(0), 500000);
    if (r.ok() || (r.status().code() != Code::kUnavailable && r.status().code() != Code::kAborted))
      break;
  }
  restarter.join();
  for (int i = 0; i < 300 && std::filesystem::exists(request); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(r.ok()) << "after " << attempts << " attempts: " << r.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(request + ".failed"));
  auto target = ReadAll("secondary", topic, 0);
  ASSERT_EQ(target.size(), records.size()) << "duplicates or gaps after the restart";
  EXPECT_EQ(Describe(target), Describe(records));
  std::cout << "transfer attempts across the restart: " << attempts << "\n";
}

TEST_F(KafkaRigTest, RestoreFromThePeerCopiesThePointBackExactlyOnce) {
  const std::string topic = prefix_ + "failback";
  CreateTopic(*src_, topic, 2);
  for (int p = 0; p < 2; ++p) Produce("primary", topic, p, MakeRecords(150, p * 1000));
  std::vector<std::vector<std::string>> at_point;
  for (int p = 0; p < 2; ++p) at_point.push_back(Describe(ReadAll("primary", topic, p)));
  lb_instance* src = Instance("primary");
  lb_instance* dst = Instance("secondary");
  RunBackup(src, dst, topic, "rp1", "");
  // Records written after the point are not part of it.
  Produce("primary", topic, 0, MakeRecords(10, 5000));

  v1::RestoreRequest req;
  req.set_op_id("restore-peer-1");
  *req.mutable_data_set() = DataSet(topic);
  req.set_restore_point_id("rp1");
  *req.mutable_source()->mutable_config() = PluginConfig("secondary");
  // Into the live topic, which took records after the point: refused (Kafka cannot remove
  // them), naming the partition.
  auto refused = Call<v1::RestoreResponse>(src, LB_OP_RESTORE, req);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("cannot be restored in place"), std::string::npos)
      << refused.status().message();
  // (10 records and the transaction's commit marker after the cut)
  EXPECT_NE(refused.status().message().find(topic + "/0: 11 record offset(s) after the point"),
            std::string::npos)
      << refused.status().message();
  // Under a prefix: the point as the secondary holds it.
  req.set_destination("fb-");
  auto prefixed = Call<v1::RestoreResponse>(src, LB_OP_RESTORE, req);
  ASSERT_TRUE(prefixed.ok()) << prefixed.status().ToString();
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(Describe(ReadAll("primary", "fb-" + topic, p)), at_point[p]) << "partition " << p;
  }
  // The old primary lost the topic: restored in place, exactly once (a repeat writes nothing).
  ASSERT_TRUE(src_->DeleteTopic(topic).ok());
  for (int i = 0; i < 100 && src_->PartitionCount(topic).ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  req.set_destination("");
  auto in_place = Call<v1::RestoreResponse>(src, LB_OP_RESTORE, req);
  ASSERT_TRUE(in_place.ok()) << in_place.status().ToString();
  EXPECT_GT(in_place->bytes_written(), 0u);
  auto again = Call<v1::RestoreResponse>(src, LB_OP_RESTORE, req);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->bytes_written(), 0u) << "a repeated restore wrote records again";
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(Describe(ReadAll("primary", topic, p)), at_point[p]) << "partition " << p;
  }
  // A point the peer does not hold.
  req.set_restore_point_id("rp-none");
  auto missing = Call<v1::RestoreResponse>(src, LB_OP_RESTORE, req);
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
}

// The state table is read right after a transaction wrote it, as verify and commit do after
// the last transfer: commit_transaction returns before the broker has written the commit
// markers, so the last stable offset may still be below the new record for a moment. The
// read must wait for it, not stop at that last stable offset.
TEST_F(KafkaRigTest, StateTableSeesATransactionJustCommitted) {
  const std::string table = prefix_ + "table";
  ASSERT_TRUE(EnsureStateTopic(*dst_, table).ok());
  auto w = TxnWriter::Open(ParsedConfig("secondary"), "test-" + table);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  int stale = 0;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE((*w)->Begin().ok());
    Record r;
    r.key = "progress";
    r.value = std::to_string(i);
    r.timestamp_ms = 0;
    ASSERT_TRUE((*w)->Produce(table, 0, r).ok());
    Status s = (*w)->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto read = ReadTable(*dst_, table);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    if ((*read)["progress"] != std::to_string(i)) ++stale;
  }
  EXPECT_EQ(stale, 0) << "reads right after a commit missed the committed record";
}

// Watermarks(committed = false) ignored its flag and answered the last stable offset, so
// the plugin's "is there anything in this partition" checks and WaitStable could not see
// records of an open transaction.
TEST_F(KafkaRigTest, WatermarksTellTheHighWatermarkFromTheLastStableOffset) {
  const std::string topic = prefix_ + "open";
  CreateTopic(*src_, topic, 1);
  Produce("primary", topic, 0, MakeRecords(3, 0));
  auto before = src_->Watermarks(topic, 0, false);  // 3 records and the commit marker
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  auto w = TxnWriter::Open(ParsedConfig("primary"), "test-" + topic + "-open");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Begin().ok());
  for (const auto& r : MakeRecords(5, 100)) ASSERT_TRUE((*w)->Produce(topic, 0, r).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  auto stable = src_->Watermarks(topic, 0, true);
  auto end = src_->Watermarks(topic, 0, false);
  ASSERT_TRUE(stable.ok()) << stable.status().ToString();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(stable->second, before->second) << "the open transaction's records are not stable";
  EXPECT_EQ(end->second, before->second + 5)
      << "the high watermark counts the open transaction's records";
  Status waited = src_->WaitStable(topic, 0, 500);
  EXPECT_EQ(waited.code(), Code::kUnavailable) << waited.ToString();
  ASSERT_TRUE((*w)->Commit().ok());
  waited = src_->WaitStable(topic, 0, 20000);
  EXPECT_TRUE(waited.ok()) << waited.ToString();
  EXPECT_EQ(ReadAll("primary", topic, 0).size(), 8u);  // records, markers not counted
}

TEST_F(KafkaRigTest, FenceRefusesOrdinaryProducersAndUnfenceLifts) {
  if (endpoints_.value("authorizer", "").empty()) GTEST_SKIP() << "the rig has no authorizer";
  const std::string topic = prefix_ + "fenced";
  CreateTopic(*dst_, topic, 1);
  json alice = {
      {"bootstrap_servers", endpoints_["clusters"]["secondary"]["sasl_plain_bootstrap_servers"]},
      {"security_protocol", "sasl_plaintext"},
      {"sasl_username", "alice"},
      {"sasl_password_env", "LIFEBOAT_KAFKA_TEST_ALICE"},
      {"timeout_seconds", 10}};
  ::setenv("LIFEBOAT_KAFKA_TEST_ALICE",
           endpoints_["sasl_users"]["alice"].get<std::string>().c_str(), 1);
  v1::PluginConfig ac;
  ac.set_plugin("kafka");
  ac.set_cluster("secondary");
  ac.set_config_json(alice.dump());
  auto alice_config = ParseConfig(ac);
  ASSERT_TRUE(alice_config.ok()) << alice_config.status().ToString();
  auto client = Client::Connect(*alice_config);
  ASSERT_TRUE(client.ok());
  auto write = [&](int i) {
    return WriteTable(**client, topic, "k" + std::to_string(i), std::string("v"));
  };
  ASSERT_TRUE(write(1).ok()) << write(1).ToString();
  lb_instance* dst = Instance("secondary");
  v1::FenceRequest fence;
  fence.set_op_id("fence-1");
  *fence.mutable_data_set() = DataSet(topic);
  fence.set_epoch(3);
  fence.set_reason("failover drill");
  auto f = Call<v1::FenceResponse>(dst, LB_OP_FENCE, fence);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->fenced());
  Status refused = write(2);
  EXPECT_EQ(refused.code(), Code::kPermissionDenied) << refused.ToString();
  auto probe = Call<v1::ProbeResponse>(dst, LB_OP_PROBE, v1::ProbeRequest());
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->fenced_size(), 1);
  EXPECT_EQ(probe->fenced(0).epoch(), 3u);
  // An op id is one call: the unfences carry their own.
  fence.set_op_id("unfence-stale");
  fence.set_epoch(2);
  auto stale = Call<v1::FenceResponse>(dst, LB_OP_UNFENCE, fence);
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition);
  fence.set_op_id("unfence-1");
  fence.set_epoch(3);
  auto lifted = Call<v1::FenceResponse>(dst, LB_OP_UNFENCE, fence);
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_FALSE(lifted->fenced());
  // ACL changes reach the authorizer's cache asynchronously.
  Status after = write(3);
  for (int i = 0; i < 50 && !after.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = write(3);
  }
  EXPECT_TRUE(after.ok()) << after.ToString();
}

}  // namespace
}  // namespace lifeboat::kafka
