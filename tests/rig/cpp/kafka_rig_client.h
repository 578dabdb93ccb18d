// Small librdkafka helpers for tests and benchmarks against the Kafka rigs (tests/rig/kafka,
// tests/rig/kafka39): handles that free themselves, an admin call to create a topic, a bulk
// producer (the benchmark's data generator) and watermark queries. Test code only; the Kafka
// plugin has its own client.
//
// Thread-safety: free functions without shared state; a handle is used as librdkafka allows
// (rd_kafka_t is thread-safe, its configuration objects are not).
#ifndef LIFEBOAT_TESTS_RIG_KAFKA_RIG_CLIENT_H_
#define LIFEBOAT_TESTS_RIG_KAFKA_RIG_CLIENT_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <lifeboat/status.h>

namespace lifeboat::testing::rig {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const;
};
// A producer or consumer; destroying it closes a consumer first (leaves its group).
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// What the delivery reports of the records produced with RD_KAFKA_V_OPAQUE(&report) said
// (producers made by NewKafkaClient pass each report to the record's opaque).
struct DeliveryReport {
  std::atomic<int64_t> delivered{0};
  std::atomic<int> first_error{RD_KAFKA_RESP_ERR_NO_ERROR};
};

// A new client of `type` with the settings `conf` (librdkafka property names).
// INVALID_ARGUMENT names the property librdkafka refused; INTERNAL when rd_kafka_new fails.
StatusOr<KafkaPtr> NewKafkaClient(rd_kafka_type_t type,
                                  const std::map<std::string, std::string>& conf);

// Creates `topic` with `partitions` partitions, replication factor 1 and the topic settings
// `configs`, through the Admin API (CreateTopics). ALREADY_EXISTS when it exists; the
// broker's error otherwise (UNAVAILABLE on a timeout).
Status CreateTopic(rd_kafka_t* rk, const std::string& topic, int partitions,
                   const std::map<std::string, std::string>& configs = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The low and high watermark (log start offset, end offset) of one partition, asked of the
// broker. The broker's error when it cannot answer within `timeout`.
StatusOr<std::pair<int64_t, int64_t>> Watermarks(
    rd_kafka_t* rk, const std::string& topic, int32_t partition,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The sum over `partitions` partitions of (end offset − log start offset).
StatusOr<int64_t> RecordsInTopic(rd_kafka_t* rk, const std::string& topic, int partitions,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The data generator: produces `count` records of `value_bytes` bytes each to `topic` (the
// partitioner spreads them by key "k<i>"), then flushes. Record i's value is deterministic
// (i in decimal, then filler), so a reader can check it. Fails with the first delivery error.
Status ProduceRecords(rd_kafka_t* producer, const std::string& topic, int64_t count,
                      size_t value_bytes,
                      std::chrono::milliseconds flush_timeout = std::chrono::minutes(5));

// The value ProduceRecords gives record `i`.
std::string GeneratedValue(int64_t i, size_t value_bytes);

// A name unlikely to exist on a rig that outlives one test run: prefix-<pid>-<nanoseconds>.
std::string UniqueName(const std::string& prefix);

}  // namespace lifeboat::testing::rig

#endif  // LIFEBOAT_TESTS_RIG_KAFKA_RIG_CLIENT_H_
