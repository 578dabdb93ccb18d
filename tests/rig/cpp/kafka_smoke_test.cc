// The Kafka rigs end to end with Debian's librdkafka (label rig): admin topic creation,
// produce and consume with keys, headers and timestamps, the four compression codecs, a
// consumer group's commit, transactions (committed and aborted), offsets for a time, SASL/PLAIN
// users and a topic ACL under the StandardAuthorizer, and a broker restart through the
// launcher's control file. Each case runs against the 4.x rig (system "kafka") and the 3.9 rig
// ("kafka39"); tests/rig/README.md records what librdkafka 2.0.2 does with each.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kafka_rig_client.h"
#include "rig_endpoints.h"

namespace {

using lifeboat::testing::rig::CreateTopic;
using lifeboat::testing::rig::KafkaPtr;
using lifeboat::testing::rig::NewKafkaClient;
using lifeboat::testing::rig::UniqueName;
using lifeboat::testing::rig::Watermarks;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Record {
  int64_t offset = -1;
  std::string key;
  std::string value;
  int64_t timestamp = -1;
  std::map<std::string, std::string> headers;
};

// The common settings of every client: the bootstrap servers, short timeouts so that a
// failure shows within the test's time, librdkafka's log at warning level.
std::map<std::string, std::string> Base(const std::string& bootstrap) {
  return {{"bootstrap.servers", bootstrap},
          {"socket.timeout.ms", "10000"},
          {"log_level", "4"},
          {"topic.metadata.refresh.interval.ms", "5000"}};
}

std::map<std::string, std::string> With(std::map<std::string, std::string> conf,
                                        const std::map<std::string, std::string>& more) {
  for (const auto& [k, v] : more) {
    conf[k] = v;
  }
  return conf;
}

// Produces one record and waits for its delivery; returns the delivery report's error (or
// the error of producev or flush).
rd_kafka_resp_err_t ProduceOne(rd_kafka_t* p, const std::string& topic, int32_t partition,
                               const std::string& key, const std::string& value,
                               int64_t timestamp = 0,
                               const std::map<std::string, std::string>& headers = {}) {
  lifeboat::testing::rig::DeliveryReport report;
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [k, v] : headers) {
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&report),
      RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);  // owned by the message only when producev succeeds
    return err;
  }
  rd_kafka_resp_err_t flush = rd_kafka_flush(p, 30000);
  if (flush != RD_KAFKA_RESP_ERR_NO_ERROR) return flush;
  rd_kafka_poll(p, 0);
  if (report.first_error.load() != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return static_cast<rd_kafka_resp_err_t>(report.first_error.load());
  }
  return report.delivered.load() == 1 ? RD_KAFKA_RESP_ERR_NO_ERROR : RD_KAFKA_RESP_ERR__FAIL;
}

// Reads partition `partition` of `topic` from `from` until `count` records arrived or
// `timeout` passed (then returns what it has). `conf` adds consumer settings.
std::vector<Record> Consume(const std::string& bootstrap, const std::string& topic,
                            int32_t partition, int64_t from, size_t count,
                            const std::map<std::string, std::string>& conf = {},
                            milliseconds timeout = seconds(30)) {
  std::vector<Record> out;
  auto c = NewKafkaClient(RD_KAFKA_CONSUMER,
                          With(With(Base(bootstrap), {{"group.id", UniqueName("smoke-reader")},
                                                      {"enable.auto.commit", "false"}}),
                               conf));
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    return out;
  }
  rd_kafka_topic_partition_list_t* tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, topic.c_str(), partition)->offset = from;
  EXPECT_EQ(rd_kafka_assign(c->get(), tp), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(tp);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c->get(), 200);
    if (m == nullptr) {
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Record r;
      r.offset = m->offset;
      if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_timestamp_type_t tstype;
      r.timestamp = rd_kafka_message_timestamp(m, &tstype);
      rd_kafka_headers_t* h = nullptr;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          r.headers[name] = std::string(static_cast<const char*>(val), size);
        }
      }
      out.push_back(std::move(r));
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ADD_FAILURE() << "consume " << topic << ": " << rd_kafka_message_errstr(m);
    }
    rd_kafka_message_destroy(m);
  }
  return out;
}

// Runs one librdkafka transactional call; returns its error text ("" when it succeeded).
std::string TxnError(rd_kafka_error_t* e) {
  if (e == nullptr) return "";
  std::string s = std::string(rd_kafka_error_name(e)) + ": " + rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return s;
}

class KafkaRigSmoke : public ::testing::TestWithParam<std::string> {
 protected:
  // Reads the endpoints of the system under test; the test skips or fails as the rig
  // macro says when there is none.
  void Load() {
    LIFEBOAT_RIG_ENDPOINTS(ep, GetParam());
    endpoints_ = ep;
    primary_ = ep["clusters"]["primary"].value("bootstrap_servers", "");
    secondary_ = ep["clusters"]["secondary"].value("bootstrap_servers", "");
    ASSERT_EQ(primary_.rfind("127.0.0.1:", 0), 0u) << ep;
    ASSERT_EQ(secondary_.rfind("127.0.0.1:", 0), 0u) << ep;
    ASSERT_NE(primary_, secondary_);
  }

  KafkaPtr Producer(const std::string& bootstrap, std::map<std::string, std::string> more = {}) {
    auto p = NewKafkaClient(RD_KAFKA_PRODUCER, With(Base(bootstrap), more));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p.value()) : KafkaPtr();
  }

  // A new topic on `bootstrap` with `partitions` partitions.
  std::string NewTopic(const std::string& bootstrap, int partitions,
                       const std::map<std::string, std::string>& configs = {}) {
    std::string topic = UniqueName("smoke");
    KafkaPtr admin = Producer(bootstrap);
    if (!admin) return topic;
    lifeboat::Status st = CreateTopic(admin.get(), topic, partitions, configs);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return topic;
  }

  nlohmann::json endpoints_;
  std::string primary_;
  std::string secondary_;
};

TEST_P(KafkaRigSmoke, AdminCreatesTopicsOnBothClusters) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  for (const std::string& bootstrap : {primary_, secondary_}) {
    SCOPED_TRACE(bootstrap);
    KafkaPtr admin = Producer(bootstrap);
    ASSERT_TRUE(admin);
    std::string topic = UniqueName("smoke-admin");
    ASSERT_TRUE(CreateTopic(admin.get(), topic, 3, {{"cleanup.policy", "compact"}}).ok());
    lifeboat::Status again = CreateTopic(admin.get(), topic, 3);
    EXPECT_EQ(again.code(), lifeboat::Code::kAlreadyExists) << again.ToString();
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* t = rd_kafka_topic_new(admin.get(), topic.c_str(), nullptr);
    ASSERT_EQ(rd_kafka_metadata(admin.get(), 0, t, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(md->topic_cnt, 1);
    EXPECT_EQ(md->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(md->topics[0].partition_cnt, 3);
    EXPECT_EQ(md->broker_cnt, 1);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
  }
  // The clusters are distinct: the topic made on the primary is unknown to the secondary.
  std::string only = NewTopic(primary_, 1);
  KafkaPtr sec = Producer(secondary_);
  auto w = Watermarks(sec.get(), only, 0);
  EXPECT_FALSE(w.ok()) << "topic " << only << " exists on the secondary";
}

TEST_P(KafkaRigSmoke, ProduceConsumeKeepsKeyValueHeadersAndTimestamp) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  std::string topic = NewTopic(primary_, 2);
  KafkaPtr p = Producer(primary_, {{"enable.idempotence", "true"}});
  ASSERT_TRUE(p);
  // An explicit CreateTime, kept by the broker: an hour ago, well inside the retention (a
  // fixed time in the past, older than retention.ms, lets the broker's retention check delete
  // the records under the test).
  const int64_t ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     3600 * 1000;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(ProduceOne(p.get(), topic, 1, "key" + std::to_string(i), "value" + std::to_string(i),
                         ts + i, {{"h1", "x" + std::to_string(i)}, {"h2", ""}}),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  auto w = Watermarks(p.get(), topic, 1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w.value(), std::make_pair(int64_t{0}, int64_t{5}));
  std::vector<Record> got = Consume(primary_, topic, 1, RD_KAFKA_OFFSET_BEGINNING, 5);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].offset, i);
    EXPECT_EQ(got[i].key, "key" + std::to_string(i));
    EXPECT_EQ(got[i].value, "value" + std::to_string(i));
    EXPECT_EQ(got[i].timestamp, ts + i);
    EXPECT_EQ(got[i].headers["h1"], "x" + std::to_string(i));
    EXPECT_EQ(got[i].headers.count("h2"), 1u);
  }
  // offsets_for_times: the first offset whose timestamp is at or after ts + 3.
  rd_kafka_topic_partition_list_t* q = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(q, topic.c_str(), 1)->offset = ts + 3;
  ASSERT_EQ(rd_kafka_offsets_for_times(p.get(), q, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(q->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(q->elems[0].offset, 3);
  rd_kafka_topic_partition_list_destroy(q);
}

TEST_P(KafkaRigSmoke, EveryCompressionCodecRoundTrips) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  for (const std::string codec : {"gzip", "snappy", "lz4", "zstd"}) {
    SCOPED_TRACE(codec);
    std::string topic = NewTopic(primary_, 1);
    KafkaPtr p = Producer(primary_, {{"compression.codec", codec}, {"linger.ms", "20"}});
    ASSERT_TRUE(p);
    ASSERT_TRUE(lifeboat::testing::rig::ProduceRecords(p.get(), topic, 300, 1000).ok());
    std::vector<Record> got = Consume(primary_, topic, 0, RD_KAFKA_OFFSET_BEGINNING, 300);
    ASSERT_EQ(got.size(), 300u);
    // One partition: the records arrive in the order produced.
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].value, lifeboat::testing::rig::GeneratedValue(static_cast<int64_t>(i), 1000))
          << "record " << i;
    }
  }
}

TEST_P(KafkaRigSmoke, ConsumerGroupCommitsAndReadsBackOffsets) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  std::string topic = NewTopic(primary_, 1);
  KafkaPtr p = Producer(primary_);
  ASSERT_TRUE(lifeboat::testing::rig::ProduceRecords(p.get(), topic, 10, 20).ok());
  std::string group = UniqueName("smoke-group");
  {
    auto c = NewKafkaClient(RD_KAFKA_CONSUMER,
                            With(Base(primary_), {{"group.id", group},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "earliest"}}));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    rd_kafka_poll_set_consumer(c->get());
    rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
    ASSERT_EQ(rd_kafka_subscribe(c->get(), sub), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(sub);
    int seen = 0;
    auto deadline = std::chrono::steady_clock::now() + seconds(40);
    while (seen < 7 && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c->get(), 200);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++seen;
      rd_kafka_message_destroy(m);
    }
    ASSERT_EQ(seen, 7) << "the group's consumer got no records (join or fetch failed)";
    rd_kafka_topic_partition_list_t* commit = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(commit, topic.c_str(), 0)->offset = 7;
    ASSERT_EQ(rd_kafka_commit(c->get(), commit, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(commit);
  }
  // Read back by a second member of the same group (after the first left).
  auto c2 =
      NewKafkaClient(RD_KAFKA_CONSUMER,
                     With(Base(primary_), {{"group.id", group}, {"enable.auto.commit", "false"}}));
  ASSERT_TRUE(c2.ok());
  rd_kafka_topic_partition_list_t* q = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(q, topic.c_str(), 0);
  ASSERT_EQ(rd_kafka_committed(c2->get(), q, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(q->elems[0].offset, 7);
  rd_kafka_topic_partition_list_destroy(q);

  // The same through the Admin API (what an offset translator uses).
  char errstr[256];
  rd_kafka_queue_t* queue = rd_kafka_queue_new(p.get());
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0);
  rd_kafka_ListConsumerGroupOffsets_t* req =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), parts);
  rd_kafka_AdminOptions_t* opts =
      rd_kafka_AdminOptions_new(p.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
  rd_kafka_AdminOptions_set_request_timeout(opts, 10000, errstr, sizeof errstr);
  rd_kafka_ListConsumerGroupOffsets(p.get(), &req, 1, opts, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 15000);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_event_error_string(ev);
  const rd_kafka_ListConsumerGroupOffsets_result_t* res =
      rd_kafka_event_ListConsumerGroupOffsets_result(ev);
  size_t n = 0;
  const rd_kafka_group_result_t** groups =
      res != nullptr ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n) : nullptr;
  ASSERT_EQ(n, 1u);
  const rd_kafka_topic_partition_list_t* offs = rd_kafka_group_result_partitions(groups[0]);
  ASSERT_NE(offs, nullptr);
  ASSERT_EQ(offs->cnt, 1);
  EXPECT_EQ(offs->elems[0].offset, 7);
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_destroy(queue);
}

TEST_P(KafkaRigSmoke, TransactionsCommitAndAbort) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  std::string topic = NewTopic(primary_, 1);
  KafkaPtr p = Producer(primary_, {{"transactional.id", UniqueName("smoke-txn")},
                                   {"transaction.timeout.ms", "30000"}});
  ASSERT_TRUE(p);
  ASSERT_EQ(TxnError(rd_kafka_init_transactions(p.get(), 30000)), "");
  auto batch = [&](const std::string& tag, bool commit) {
    ASSERT_EQ(TxnError(rd_kafka_begin_transaction(p.get())), "");
    for (int i = 0; i < 3; ++i) {
      std::string v = tag + std::to_string(i);
      ASSERT_EQ(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    if (commit) {
      ASSERT_EQ(TxnError(rd_kafka_commit_transaction(p.get(), 30000)), "");
    } else {
      // abort_transaction purges records not yet sent: flush first, so that the aborted
      // records are on the log (as a source's aborted transactions are).
      ASSERT_EQ(rd_kafka_flush(p.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
      ASSERT_EQ(TxnError(rd_kafka_abort_transaction(p.get(), 30000)), "");
    }
  };
  batch("a", true);
  if (HasFatalFailure()) return;
  batch("b", false);
  if (HasFatalFailure()) return;
  batch("c", true);
  if (HasFatalFailure()) return;
  // 9 records and 3 control records (one commit or abort marker per transaction). The
  // markers are written after commit_transaction returns, and librdkafka's watermark query
  // answers the last stable offset (isolation.level defaults to read_committed): it reaches
  // 12 a moment later.
  int64_t end = -1;
  for (int i = 0; i < 100 && end != 12; ++i) {
    auto w = Watermarks(p.get(), topic, 0);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    end = w.value().second;
    if (end != 12) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(end, 12);
  std::vector<Record> committed = Consume(primary_, topic, 0, RD_KAFKA_OFFSET_BEGINNING, 6,
                                          {{"isolation.level", "read_committed"}}, seconds(15));
  std::vector<std::string> values;
  for (const Record& r : committed) values.push_back(r.value);
  EXPECT_EQ(values, (std::vector<std::string>{"a0", "a1", "a2", "c0", "c1", "c2"}));
  std::vector<Record> all = Consume(primary_, topic, 0, RD_KAFKA_OFFSET_BEGINNING, 9,
                                    {{"isolation.level", "read_uncommitted"}}, seconds(15));
  EXPECT_EQ(all.size(), 9u);
}

// What a plugin's cut, offset translation and topic sync call beyond produce and consume:
// DescribeConfigs, AlterConsumerGroupOffsets on an empty group, DescribeConsumerGroups,
// DeleteRecords, send_offsets_to_transaction, DescribeAcls.
TEST_P(KafkaRigSmoke, AdminCallsForConfigsGroupsRecordsAndAcls) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  // Not compacted: DeleteRecords and keyless records need the delete policy.
  std::string topic =
      NewTopic(primary_, 1, {{"max.message.bytes", "2000000"}, {"retention.ms", "86400000"}});
  KafkaPtr p = Producer(primary_);
  ASSERT_TRUE(lifeboat::testing::rig::ProduceRecords(p.get(), topic, 10, 20).ok());
  char errstr[256];
  rd_kafka_queue_t* q = rd_kafka_queue_new(p.get());
  auto wait = [&](rd_kafka_event_type_t type) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
    EXPECT_NE(ev, nullptr) << "no admin answer within 20 s";
    if (ev != nullptr) {
      EXPECT_EQ(rd_kafka_event_type(ev), type);
      EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
          << rd_kafka_event_error_string(ev);
    }
    return ev;
  };

  // DescribeConfigs of the topic: the settings given at creation.
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_DescribeConfigs(p.get(), &res, 1, nullptr, q);
  rd_kafka_event_t* ev = wait(RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
  ASSERT_NE(ev, nullptr);
  size_t nres = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
  ASSERT_EQ(nres, 1u);
  std::map<std::string, std::string> configs;
  size_t nconf = 0;
  const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(described[0], &nconf);
  for (size_t i = 0; i < nconf; ++i) {
    const char* v = rd_kafka_ConfigEntry_value(entries[i]);
    configs[rd_kafka_ConfigEntry_name(entries[i])] = v != nullptr ? v : "";
  }
  EXPECT_EQ(configs["max.message.bytes"], "2000000");
  EXPECT_EQ(configs["retention.ms"], "86400000");
  EXPECT_EQ(configs["cleanup.policy"], "delete");
  rd_kafka_event_destroy(ev);
  rd_kafka_ConfigResource_destroy(res);

  // AlterConsumerGroupOffsets on a group without members, then DescribeConsumerGroups.
  std::string group = UniqueName("smoke-alter");
  rd_kafka_topic_partition_list_t* offs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offs, topic.c_str(), 0)->offset = 4;
  rd_kafka_AlterConsumerGroupOffsets_t* alter =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), offs);
  rd_kafka_AlterConsumerGroupOffsets(p.get(), &alter, 1, nullptr, q);
  ev = wait(RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT);
  ASSERT_NE(ev, nullptr);
  size_t ng = 0;
  const rd_kafka_group_result_t** gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &ng);
  ASSERT_EQ(ng, 1u);
  EXPECT_EQ(rd_kafka_group_result_error(gr[0]), nullptr);
  const rd_kafka_topic_partition_list_t* set = rd_kafka_group_result_partitions(gr[0]);
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->cnt, 1);
  EXPECT_EQ(set->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_event_destroy(ev);
  rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
  rd_kafka_topic_partition_list_destroy(offs);
  auto reader = NewKafkaClient(RD_KAFKA_CONSUMER, With(Base(primary_), {{"group.id", group}}));
  ASSERT_TRUE(reader.ok());
  rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(committed, topic.c_str(), 0);
  ASSERT_EQ(rd_kafka_committed(reader->get(), committed, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(committed->elems[0].offset, 4);
  rd_kafka_topic_partition_list_destroy(committed);
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(p.get(), groups, 1, nullptr, q);
  ev = wait(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT);
  ASSERT_NE(ev, nullptr);
  const rd_kafka_ConsumerGroupDescription_t** descs = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev), &ng);
  ASSERT_EQ(ng, 1u);
  EXPECT_EQ(rd_kafka_ConsumerGroupDescription_error(descs[0]), nullptr);
  EXPECT_EQ(rd_kafka_ConsumerGroupDescription_state(descs[0]), RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY);
  rd_kafka_event_destroy(ev);

  // DeleteRecords before offset 3: the log start offset moves.
  rd_kafka_topic_partition_list_t* before = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(before, topic.c_str(), 0)->offset = 3;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(before);
  rd_kafka_DeleteRecords(p.get(), &del, 1, nullptr, q);
  ev = wait(RD_KAFKA_EVENT_DELETERECORDS_RESULT);
  ASSERT_NE(ev, nullptr);
  const rd_kafka_topic_partition_list_t* low =
      rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  ASSERT_NE(low, nullptr);
  ASSERT_EQ(low->cnt, 1);
  EXPECT_EQ(low->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(low->elems[0].offset, 3);
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_topic_partition_list_destroy(before);
  auto w = Watermarks(p.get(), topic, 0);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.value(), std::make_pair(int64_t{3}, int64_t{10}));

  // send_offsets_to_transaction: a group's offset committed with a transaction.
  KafkaPtr tx = Producer(primary_, {{"transactional.id", UniqueName("smoke-sendoffsets")}});
  ASSERT_TRUE(tx);
  ASSERT_EQ(TxnError(rd_kafka_init_transactions(tx.get(), 30000)), "");
  ASSERT_EQ(TxnError(rd_kafka_begin_transaction(tx.get())), "");
  std::string v = "in txn";
  ASSERT_EQ(rd_kafka_producev(tx.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  std::string txgroup = UniqueName("smoke-txgroup");
  rd_kafka_consumer_group_metadata_t* cgmd = rd_kafka_consumer_group_metadata_new(txgroup.c_str());
  rd_kafka_topic_partition_list_t* txoffs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(txoffs, topic.c_str(), 0)->offset = 6;
  EXPECT_EQ(TxnError(rd_kafka_send_offsets_to_transaction(tx.get(), txoffs, cgmd, 30000)), "");
  rd_kafka_topic_partition_list_destroy(txoffs);
  rd_kafka_consumer_group_metadata_destroy(cgmd);
  ASSERT_EQ(TxnError(rd_kafka_commit_transaction(tx.get(), 30000)), "");
  auto txreader = NewKafkaClient(RD_KAFKA_CONSUMER, With(Base(primary_), {{"group.id", txgroup}}));
  ASSERT_TRUE(txreader.ok());
  rd_kafka_topic_partition_list_t* got = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(got, topic.c_str(), 0);
  ASSERT_EQ(rd_kafka_committed(txreader->get(), got, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(got->elems[0].offset, 6);
  rd_kafka_topic_partition_list_destroy(got);

  // DescribeAcls with a filter that matches everything answers without error.
  rd_kafka_AclBindingFilter_t* any = rd_kafka_AclBindingFilter_new(
      RD_KAFKA_RESOURCE_ANY, nullptr, RD_KAFKA_RESOURCE_PATTERN_ANY, nullptr, nullptr,
      RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, errstr, sizeof errstr);
  ASSERT_NE(any, nullptr) << errstr;
  rd_kafka_DescribeAcls(p.get(), any, nullptr, q);
  ev = wait(RD_KAFKA_EVENT_DESCRIBEACLS_RESULT);
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AclBinding_destroy(any);
  rd_kafka_queue_destroy(q);
}

// SASL/PLAIN users on the second listener, and a DENY ACL that the StandardAuthorizer
// enforces for an ordinary user but not for the super user.
TEST_P(KafkaRigSmoke, SaslUsersAndTopicAcl) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  if (endpoints_.value("authorizer", "").empty()) GTEST_SKIP() << "rig without authorizer";
  const std::string sasl =
      endpoints_["clusters"]["primary"].value("sasl_plain_bootstrap_servers", "");
  const nlohmann::json& users = endpoints_["sasl_users"];
  auto as = [&](const std::string& user) {
    return Producer(sasl, {{"security.protocol", "SASL_PLAINTEXT"},
                           {"sasl.mechanisms", "PLAIN"},
                           {"sasl.username", user},
                           {"sasl.password", users.value(user, "")},
                           {"message.timeout.ms", "10000"}});
  };
  std::string topic = NewTopic(primary_, 1);
  KafkaPtr alice = as("alice");
  ASSERT_TRUE(alice);
  ASSERT_EQ(ProduceOne(alice.get(), topic, 0, "", "from alice"), RD_KAFKA_RESP_ERR_NO_ERROR);

  // DENY WRITE on the topic for User:alice.
  char errstr[256];
  KafkaPtr admin = Producer(primary_);
  rd_kafka_AclBinding_t* acl = rd_kafka_AclBinding_new(
      RD_KAFKA_RESOURCE_TOPIC, topic.c_str(), RD_KAFKA_RESOURCE_PATTERN_LITERAL, "User:alice", "*",
      RD_KAFKA_ACL_OPERATION_WRITE, RD_KAFKA_ACL_PERMISSION_TYPE_DENY, errstr, sizeof errstr);
  ASSERT_NE(acl, nullptr) << errstr;
  rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
  rd_kafka_CreateAcls(admin.get(), &acl, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
  ASSERT_NE(ev, nullptr);
  ASSERT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_event_error_string(ev);
  size_t n = 0;
  const rd_kafka_acl_result_t** results =
      rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_acl_result_error(results[0]), nullptr);
  rd_kafka_event_destroy(ev);
  rd_kafka_AclBinding_destroy(acl);
  rd_kafka_queue_destroy(q);

  // ACLs reach the authorizer through the metadata log: allow a moment.
  rd_kafka_resp_err_t denied = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < 20 && denied == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    KafkaPtr a2 = as("alice");
    denied = ProduceOne(a2.get(), topic, 0, "", "denied?");
    if (denied == RD_KAFKA_RESP_ERR_NO_ERROR) std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(denied, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
      << rd_kafka_err2name(denied) << ": alice's write after the DENY ACL";
  KafkaPtr boss = as("lifeboat");
  EXPECT_EQ(ProduceOne(boss.get(), topic, 0, "", "from lifeboat"), RD_KAFKA_RESP_ERR_NO_ERROR);
  KafkaPtr wrong = Producer(sasl, {{"security.protocol", "SASL_PLAINTEXT"},
                                   {"sasl.mechanisms", "PLAIN"},
                                   {"sasl.username", "alice"},
                                   {"sasl.password", "wrong"},
                                   {"message.timeout.ms", "5000"}});
  EXPECT_NE(ProduceOne(wrong.get(), topic, 0, "", "bad password"), RD_KAFKA_RESP_ERR_NO_ERROR);
}

INSTANTIATE_TEST_SUITE_P(Systems, KafkaRigSmoke, ::testing::Values("kafka", "kafka39"));

// A broker restart through the launcher's control file: the primary goes away and comes
// back on the same port with its data; a producer that was connected carries on.
class KafkaRigRestart : public KafkaRigSmoke {};

TEST_P(KafkaRigRestart, PrimaryRestartsOnTheSamePortWithItsData) {
  Load();
  if (HasFatalFailure() || IsSkipped()) return;
  std::string topic = NewTopic(primary_, 1);
  KafkaPtr p =
      Producer(primary_, {{"enable.idempotence", "true"}, {"message.timeout.ms", "60000"}});
  ASSERT_TRUE(lifeboat::testing::rig::ProduceRecords(p.get(), topic, 100, 50).ok());
  const std::string request = endpoints_["clusters"]["primary"].value("restart_request", "");
  ASSERT_FALSE(request.empty());
  { std::ofstream(request + ".tmp") << "300\n"; }
  std::filesystem::rename(request + ".tmp", request);
  auto deadline = std::chrono::steady_clock::now() + seconds(90);
  while (std::filesystem::exists(request) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_FALSE(std::filesystem::exists(request)) << "the launcher did not serve the restart";
  ASSERT_FALSE(std::filesystem::exists(request + ".failed"));
  ASSERT_TRUE(lifeboat::testing::rig::ProduceRecords(p.get(), topic, 100, 50).ok());
  auto w = Watermarks(p.get(), topic, 0);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w.value().second, 200);
}

INSTANTIATE_TEST_SUITE_P(Systems, KafkaRigRestart, ::testing::Values("kafka", "kafka39"));

}  // namespace
