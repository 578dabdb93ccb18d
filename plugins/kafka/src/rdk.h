// Thin C++ wrappers over Debian's librdkafka 2.0.2 (C API): handles that clean up after
// themselves, and the few calls the plugin makes, each turned into a Status with a message
// that names the cluster and what to do.
//
// Thread-safety: a Client may be used from several threads at once (librdkafka handles are
// thread-safe); a Reader and a TxnWriter belong to one thread at a time.
#ifndef LIFEBOAT_PLUGINS_KAFKA_SRC_RDK_H_
#define LIFEBOAT_PLUGINS_KAFKA_SRC_RDK_H_

#include <librdkafka/rdkafka.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace lifeboat::kafka {

// One record as read from a partition.
struct Record {
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  bool log_append_time = false;
  std::optional<std::string> key;    // nullopt = null key (not the empty key)
  std::optional<std::string> value;  // nullopt = null value (a tombstone)
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;

  // Bytes of key, value, header names and header values: what "bytes" counts everywhere.
  uint64_t Bytes() const;
};

using TopicPartition = std::pair<std::string, int32_t>;

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
};

struct GroupInfo {
  std::string state;  // "Empty", "Stable", "Dead", ... ("" when not known)
  int members = 0;
};

// An ACL binding on a topic (literal or prefixed pattern).
struct Acl {
  std::string topic;
  bool prefixed = false;
  std::string principal;  // "User:alice"
  std::string host = "*";
  std::string operation;  // "WRITE", "READ", "ALL", ... (librdkafka's names)
  bool allow = true;
  bool operator<(const Acl& o) const;
  bool operator==(const Acl& o) const;
  std::string ToString() const;
};

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* rk) const;
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

// librdkafka's error as a Status: retryable errors (transport, leader moves, timeouts) as
// UNAVAILABLE, authorization as PERMISSION_DENIED, unknown topic as NOT_FOUND, others
// INTERNAL. `what` says what was being done.
Status ErrorStatus(rd_kafka_resp_err_t err, const std::string& what);

// Metadata and admin calls against one cluster.
class Client {
 public:
  // Makes the handle (no request yet). INVALID_ARGUMENT when librdkafka refuses a property.
  static StatusOr<std::unique_ptr<Client>> Connect(const Config& config);

  const Config& config() const { return config_; }
  rd_kafka_t* handle() const { return rk_.get(); }

  // The cluster id (from metadata). UNAVAILABLE when no broker answers.
  StatusOr<std::string> ClusterId();
  // Every topic and its partition count (internal topics included). `brokers` gets the
  // broker count when not null.
  StatusOr<std::vector<TopicInfo>> ListTopics(int* brokers = nullptr);
  // Partition count of `topic`; NOT_FOUND when it does not exist.
  StatusOr<int32_t> PartitionCount(const std::string& topic);
  // [low, high) of a partition. With `committed`, high is the last stable offset (records
  // of open transactions excluded; it lags a just-committed transaction until the broker has
  // written its markers); without, high is the high watermark (every record appended).
  StatusOr<std::pair<int64_t, int64_t>> Watermarks(const std::string& topic, int32_t partition,
                                                   bool committed);
  // Waits until the partition's last stable offset reaches its high watermark, i.e. until
  // every transaction on it is decided and its markers are written (commit_transaction
  // returns before that). DEADLINE_EXCEEDED after `timeout_ms`, naming the two offsets.
  Status WaitStable(const std::string& topic, int32_t partition, int timeout_ms);
  // The earliest offset whose timestamp is >= `timestamp_ms` per partition, -1 when none.
  StatusOr<std::map<TopicPartition, int64_t>> OffsetsForTime(
      const std::vector<TopicPartition>& partitions, int64_t timestamp_ms);

  // The topic's configs that are not defaults (dynamic or static broker overrides excluded:
  // only the topic's own), name -> value.
  StatusOr<std::map<std::string, std::string>> TopicConfigs(const std::string& topic);
  Status CreateTopic(const std::string& topic, int32_t partitions,
                     const std::map<std::string, std::string>& configs);
  Status AddPartitions(const std::string& topic, int32_t total);
  // Sets the given configs (AlterConfigs replaces the topic's whole override set, so the
  // caller passes every override it wants kept).
  Status SetTopicConfigs(const std::string& topic,
                         const std::map<std::string, std::string>& configs);
  Status DeleteTopic(const std::string& topic);

  StatusOr<std::vector<std::string>> ListGroups();
  // Committed offsets of `group`; partitions without a committed offset are left out.
  StatusOr<std::map<TopicPartition, int64_t>> GroupOffsets(const std::string& group);
  StatusOr<GroupInfo> DescribeGroup(const std::string& group);
  // Needs the group to be empty (no members): FAILED_PRECONDITION otherwise.
  Status AlterGroupOffsets(const std::string& group,
                           const std::map<TopicPartition, int64_t>& offsets);

  // ACLs on topics. UNIMPLEMENTED (with the reason) when the cluster has no authorizer.
  StatusOr<std::vector<Acl>> DescribeTopicAcls();
  Status CreateAcls(const std::vector<Acl>& acls);
  Status DeleteAcls(const std::vector<Acl>& acls);

 private:
  Client(Config config, KafkaHandle rk) : config_(std::move(config)), rk_(std::move(rk)) {}
  int TimeoutMs() const { return static_cast<int>(config_.timeout_seconds * 1000); }
  // The read_uncommitted handle for high watermarks, made on first use.
  StatusOr<rd_kafka_t*> Uncommitted();

  Config config_;
  KafkaHandle rk_;  // read_committed: watermark queries answer the last stable offset
  std::mutex uncommitted_mu_;
  KafkaHandle uncommitted_;  // guarded by uncommitted_mu_ until set
};

// Makes a librdkafka handle of `type` with the connection properties of `config` plus
// `extra`. INVALID_ARGUMENT naming the property librdkafka refused.
StatusOr<KafkaHandle> MakeHandle(const Config& config, rd_kafka_type_t type,
                                 const std::map<std::string, std::string>& extra);

// Reads one partition from an offset, committed records only (read_committed: records of
// aborted transactions and control records are skipped), up to an end offset.
class Reader {
 public:
  static StatusOr<std::unique_ptr<Reader>> Open(const Config& config, const std::string& topic,
                                                int32_t partition, int64_t start, int64_t end);
  ~Reader();

  // Appends records with offset < end to `out`, until `max_records` or `max_bytes` are there
  // or the range is done. Returns true when the range is done (every record below `end` was
  // returned). UNAVAILABLE when nothing arrives within the timeout; DATA_LOSS when the start
  // offset is gone (deleted by retention).
  StatusOr<bool> Next(std::vector<Record>& out, int64_t max_records, uint64_t max_bytes);

 private:
  Reader() = default;
  Config config_;
  KafkaHandle rk_;
  std::string topic_;
  int32_t partition_ = 0;
  int64_t end_ = 0;
  bool done_ = false;
};

// A transactional producer on the target (transactional.id fixed per source partition, so
// that a restarted transfer fences the previous one and aborts its open transaction).
class TxnWriter {
 public:
  static StatusOr<std::unique_ptr<TxnWriter>> Open(const Config& config,
                                                   const std::string& transactional_id);
  ~TxnWriter();

  Status Begin();
  // Queues a record for `topic`/`partition`; its offset is known after Flush().
  Status Produce(const std::string& topic, int32_t partition, const Record& record);
  // Waits until every queued record is written; returns their offsets in Produce order.
  StatusOr<std::vector<int64_t>> Flush();
  Status Commit();
  // Best effort; used when a batch fails or is cancelled.
  void Abort();

  struct Pending;  // delivery reports of the open batch (filled by librdkafka's callback)

 private:
  TxnWriter() = default;
  Status TxnError(rd_kafka_error_t* error, const std::string& what);
  Config config_;
  std::set<std::string> warmed_;  // topics whose metadata this producer fetched already
  // Before rk_: destroying the handle may still deliver reports into it.
  std::unique_ptr<Pending> pending_;
  KafkaHandle rk_;
};

// Reads every committed record of partition 0 of `topic` (a small compacted topic), newest
// value per key. NOT_FOUND when the topic does not exist.
StatusOr<std::map<std::string, std::string>> ReadTable(Client& client, const std::string& topic);

// Writes key=value (nullopt: a tombstone) to partition 0 of `topic`, idempotently, and waits
// for the write.
Status WriteTable(Client& client, const std::string& topic, const std::string& key,
                  const std::optional<std::string>& value);

// Creates the state topic (one partition, compacted) if it is missing.
Status EnsureStateTopic(Client& client, const std::string& topic);

}  // namespace lifeboat::kafka

#endif  // LIFEBOAT_PLUGINS_KAFKA_SRC_RDK_H_
