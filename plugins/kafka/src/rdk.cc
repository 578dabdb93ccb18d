#include "rdk.h"

#include <chrono>
#include <cstring>
#include <thread>
#include <tuple>

namespace lifeboat::kafka {
namespace {

using Clock = std::chrono::steady_clock;

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using Options = std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

Options AdminOptions(rd_kafka_t* rk, int timeout_ms) {
  Options o(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY));
  char err[256];
  (void)rd_kafka_AdminOptions_set_request_timeout(o.get(), timeout_ms, err, sizeof err);
  return o;
}

// Waits for the answer of one admin call on `q`; `what` names it in errors.
StatusOr<Event> WaitEvent(rd_kafka_queue_t* q, int timeout_ms, const std::string& what) {
  Event ev(rd_kafka_queue_poll(q, timeout_ms + 2000));
  if (!ev)
    return UnavailableError(what + ": no answer within " + std::to_string(timeout_ms) + " ms");
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(rd_kafka_event_error(ev.get()),
                       what + ": " + rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}

Status FromTopicResults(const rd_kafka_topic_result_t** results, size_t n, const std::string& what,
                        bool exists_ok) {
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (exists_ok && err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const char* s = rd_kafka_topic_result_error_string(results[i]);
    return ErrorStatus(err, what + " " + rd_kafka_topic_result_name(results[i]) + ": " +
                                (s != nullptr ? s : rd_kafka_err2str(err)));
  }
  return OkStatus();
}

void NoLog(const rd_kafka_t*, int, const char*, const char*) {}

StatusOr<KafkaHandle> MakeHandleWith(const Config& config, rd_kafka_type_t type,
                                     const std::map<std::string, std::string>& extra,
                                     void (*dr_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*),
                                     void* opaque) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  std::map<std::string, std::string> props = config.ClientProperties();
  props["socket.timeout.ms"] = std::to_string(config.timeout_seconds * 1000);
  props["client.id"] = "lifeboat-" + config.cluster;
  for (const auto& [k, v] : extra) props[k] = v;
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // Never echo the value: it may be the password.
      return InvalidArgumentError("librdkafka refused the property " + k + ": " + err, k);
    }
  }
  // librdkafka logs connection attempts to stderr on its own; the plugin reports what matters
  // through its statuses instead (a broker restart would otherwise fill the agent's log).
  rd_kafka_conf_set_log_cb(conf, &NoLog);
  if (dr_cb != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  if (opaque != nullptr) rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgumentError(std::string("librdkafka could not make a client: ") + err);
  }
  return KafkaHandle(rk);
}

// Fetches the metadata of `topic` into the producer's cache. Without it, the first record for
// a topic the producer has not seen waits for librdkafka's 1 s topic scan before it is even
// partitioned (measured: every first flush and every first commit of a new producer took
// ~1 s against the rig). Best effort: on failure the produce path still gets there by itself.
void WarmTopic(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (t == nullptr) return;
  const struct rd_kafka_metadata* md = nullptr;
  if (rd_kafka_metadata(rk, 0, t, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
}

std::optional<std::string> Bytes(const void* p, size_t n) {
  if (p == nullptr) return std::nullopt;
  return std::string(static_cast<const char*>(p), n);
}

}  // namespace

uint64_t Record::Bytes() const {
  uint64_t n = (key ? key->size() : 0) + (value ? value->size() : 0);
  for (const auto& [name, v] : headers) n += name.size() + (v ? v->size() : 0);
  return n;
}

bool Acl::operator<(const Acl& o) const {
  return std::tie(topic, prefixed, principal, host, operation, allow) <
         std::tie(o.topic, o.prefixed, o.principal, o.host, o.operation, o.allow);
}
bool Acl::operator==(const Acl& o) const { return !(*this < o) && !(o < *this); }
std::string Acl::ToString() const {
  return std::string(allow ? "ALLOW " : "DENY ") + principal + " " + operation + " on topic " +
         (prefixed ? "prefix " : "") + topic + " from " + host;
}

void KafkaHandleDeleter::operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }

Status ErrorStatus(rd_kafka_resp_err_t err, const std::string& what) {
  std::string msg = what;
  if (msg.find(rd_kafka_err2str(err)) == std::string::npos) {
    msg += std::string(" (") + rd_kafka_err2name(err) + ": " + rd_kafka_err2str(err) + ")";
  }
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR__RESOLVE:
      return UnavailableError(msg + "; the cluster may be restarting: retry");
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return PermissionDeniedError(msg + "; give the plugin's user the ACLs its README lists");
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
      return NotFoundError(msg);
    case RD_KAFKA_RESP_ERR_SECURITY_DISABLED:
      return UnimplementedError(msg + "; the brokers have no authorizer (authorizer.class.name)");
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
      return FailedPreconditionError(msg);
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return DataLossError(msg);
    default:
      return InternalError(msg);
  }
}

StatusOr<KafkaHandle> MakeHandle(const Config& config, rd_kafka_type_t type,
                                 const std::map<std::string, std::string>& extra) {
  return MakeHandleWith(config, type, extra, nullptr, nullptr);
}

// --- Client ------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Client>> Client::Connect(const Config& config) {
  // A consumer handle: it answers metadata and admin calls like any handle, and its
  // isolation.level makes watermark queries return the last stable offset.
  LIFEBOAT_ASSIGN_OR_RETURN(KafkaHandle rk, MakeHandle(config, RD_KAFKA_CONSUMER,
                                                       {{"isolation.level", "read_committed"},
                                                        {"enable.auto.commit", "false"},
                                                        {"group.id", "lifeboat-admin"}}));
  return std::unique_ptr<Client>(new Client(config, std::move(rk)));
}

StatusOr<std::string> Client::ClusterId() {
  char* id = rd_kafka_clusterid(rk_.get(), TimeoutMs());
  if (id == nullptr) {
    return UnavailableError("kafka cluster '" + config_.cluster + "' at " +
                            config_.bootstrap_servers + " did not answer within " +
                            std::to_string(config_.timeout_seconds) + " s");
  }
  std::string out = id;
  rd_kafka_mem_free(rk_.get(), id);
  return out;
}

StatusOr<std::vector<TopicInfo>> Client::ListTopics(int* brokers) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 1, nullptr, &md, TimeoutMs());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, "listing the topics of kafka cluster '" + config_.cluster + "' at " +
                                config_.bootstrap_servers);
  }
  std::vector<TopicInfo> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    out.push_back({md->topics[i].topic, md->topics[i].partition_cnt});
  }
  if (brokers != nullptr) *brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  return out;
}

StatusOr<int32_t> Client::PartitionCount(const std::string& topic) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, ListTopics());
  for (const auto& t : topics) {
    if (t.name == topic) return t.partitions;
  }
  return NotFoundError("no topic '" + topic + "' on kafka cluster '" + config_.cluster + "'",
                       topic);
}

StatusOr<rd_kafka_t*> Client::Uncommitted() {
  std::lock_guard<std::mutex> lock(uncommitted_mu_);
  if (!uncommitted_) {
    // read_uncommitted: librdkafka's default isolation (read_committed, also on a producer
    // handle) answers the last stable offset to a watermark query.
    LIFEBOAT_ASSIGN_OR_RETURN(uncommitted_, MakeHandle(config_, RD_KAFKA_CONSUMER,
                                                       {{"isolation.level", "read_uncommitted"},
                                                        {"enable.auto.commit", "false"},
                                                        {"group.id", "lifeboat-watermarks"}}));
  }
  return uncommitted_.get();
}

StatusOr<std::pair<int64_t, int64_t>> Client::Watermarks(const std::string& topic,
                                                         int32_t partition, bool committed) {
  rd_kafka_t* rk = rk_.get();
  if (!committed) {
    LIFEBOAT_ASSIGN_OR_RETURN(rk, Uncommitted());
  }
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, TimeoutMs());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, "offsets of " + topic + "/" + std::to_string(partition) +
                                " on kafka cluster '" + config_.cluster + "'");
  }
  return std::make_pair(low, high);
}

Status Client::WaitStable(const std::string& topic, int32_t partition, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto end, Watermarks(topic, partition, false));
    LIFEBOAT_ASSIGN_OR_RETURN(auto stable, Watermarks(topic, partition, true));
    if (stable.second >= end.second) return OkStatus();
    if (std::chrono::steady_clock::now() >= deadline) {
      return UnavailableError(topic + "/" + std::to_string(partition) + " on kafka cluster '" +
                              config_.cluster + "' is not stable after " +
                              std::to_string(timeout_ms) + " ms: last stable offset " +
                              std::to_string(stable.second) + ", high watermark " +
                              std::to_string(end.second) + " (a transaction is still open)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

StatusOr<std::map<TopicPartition, int64_t>> Client::OffsetsForTime(
    const std::vector<TopicPartition>& partitions, int64_t timestamp_ms) {
  std::map<TopicPartition, int64_t> out;
  if (partitions.empty()) return out;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [t, p] : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p)->offset = timestamp_ms;
  }
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_.get(), list.get(), TimeoutMs());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, "offsets for a time on kafka cluster '" + config_.cluster + "'");
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(e.err, std::string("offset for a time of ") + e.topic + "/" +
                                    std::to_string(e.partition));
    }
    out[{e.topic, e.partition}] = e.offset < 0 ? -1 : e.offset;
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> Client::TopicConfigs(const std::string& topic) {
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_DescribeConfigs(rk_.get(), &res, 1, AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  rd_kafka_ConfigResource_destroy(res);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "configs of topic " + topic));
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConfigResource_error(rs[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(rd_kafka_ConfigResource_error(rs[i]),
                         "configs of topic " + topic + ": " +
                             std::string(rd_kafka_ConfigResource_error_string(rs[i])
                                             ? rd_kafka_ConfigResource_error_string(rs[i])
                                             : ""));
    }
    size_t m = 0;
    const rd_kafka_ConfigEntry_t** es = rd_kafka_ConfigResource_configs(rs[i], &m);
    for (size_t j = 0; j < m; ++j) {
      if (rd_kafka_ConfigEntry_source(es[j]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
        continue;
      const char* v = rd_kafka_ConfigEntry_value(es[j]);
      out[rd_kafka_ConfigEntry_name(es[j])] = v != nullptr ? v : "";
    }
  }
  return out;
}

Status Client::CreateTopic(const std::string& topic, int32_t partitions,
                           const std::map<std::string, std::string>& configs) {
  char err[256];
  // Replication factor -1: the broker's default.replication.factor (CreateTopics v4+).
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof err);
  if (nt == nullptr) return InvalidArgumentError("topic " + topic + ": " + err);
  for (const auto& [k, v] : configs) {
    (void)rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  }
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreateTopics(rk_.get(), &nt, 1, AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  rd_kafka_NewTopic_destroy(nt);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "creating topic " + topic));
  size_t n = 0;
  const rd_kafka_topic_result_t** rs =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  return FromTopicResults(rs, n, "creating topic", /*exists_ok=*/true);
}

Status Client::AddPartitions(const std::string& topic, int32_t total) {
  char err[256];
  rd_kafka_NewPartitions_t* np =
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(total), err, sizeof err);
  if (np == nullptr) return InvalidArgumentError("partitions of " + topic + ": " + err);
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreatePartitions(rk_.get(), &np, 1, AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  rd_kafka_NewPartitions_destroy(np);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev,
                            WaitEvent(q.get(), TimeoutMs(), "adding partitions to " + topic));
  size_t n = 0;
  const rd_kafka_topic_result_t** rs =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  return FromTopicResults(rs, n, "adding partitions to", false);
}

Status Client::SetTopicConfigs(const std::string& topic,
                               const std::map<std::string, std::string>& configs) {
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  for (const auto& [k, v] : configs)
    (void)rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_AlterConfigs(rk_.get(), &res, 1, AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  rd_kafka_ConfigResource_destroy(res);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev,
                            WaitEvent(q.get(), TimeoutMs(), "setting configs of topic " + topic));
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs =
      rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConfigResource_error(rs[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(rd_kafka_ConfigResource_error(rs[i]),
                         "setting configs of topic " + topic + ": " +
                             std::string(rd_kafka_ConfigResource_error_string(rs[i])
                                             ? rd_kafka_ConfigResource_error_string(rs[i])
                                             : ""));
    }
  }
  return OkStatus();
}

Status Client::DeleteTopic(const std::string& topic) {
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DeleteTopics(rk_.get(), &dt, 1, AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  rd_kafka_DeleteTopic_destroy(dt);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "deleting topic " + topic));
  size_t n = 0;
  const rd_kafka_topic_result_t** rs =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  return FromTopicResults(rs, n, "deleting topic", false);
}

StatusOr<std::vector<std::string>> Client::ListGroups() {
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_ListConsumerGroups(rk_.get(), AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "listing consumer groups"));
  const rd_kafka_ListConsumerGroups_result_t* res =
      rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t** gs = rd_kafka_ListConsumerGroups_result_valid(res, &n);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(rd_kafka_ConsumerGroupListing_group_id(gs[i]));
  size_t ne = 0;
  const rd_kafka_error_t** errs = rd_kafka_ListConsumerGroups_result_errors(res, &ne);
  if (ne > 0 && n == 0) {
    return ErrorStatus(rd_kafka_error_code(errs[0]),
                       std::string("listing consumer groups: ") + rd_kafka_error_string(errs[0]));
  }
  return out;
}

StatusOr<std::map<TopicPartition, int64_t>> Client::GroupOffsets(const std::string& group) {
  rd_kafka_ListConsumerGroupOffsets_t* req =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_ListConsumerGroupOffsets(rk_.get(), &req, 1, AdminOptions(rk_.get(), TimeoutMs()).get(),
                                    q.get());
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev,
                            WaitEvent(q.get(), TimeoutMs(), "offsets of consumer group " + group));
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  std::map<TopicPartition, int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(gs[i])) {
      return ErrorStatus(rd_kafka_error_code(e),
                         "offsets of consumer group " + group + ": " + rd_kafka_error_string(e));
    }
    const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(gs[i]);
    for (int j = 0; l != nullptr && j < l->cnt; ++j) {
      if (l->elems[j].offset >= 0)
        out[{l->elems[j].topic, l->elems[j].partition}] = l->elems[j].offset;
    }
  }
  return out;
}

StatusOr<GroupInfo> Client::DescribeGroup(const std::string& group) {
  const char* names[] = {group.c_str()};
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DescribeConsumerGroups(rk_.get(), names, 1, AdminOptions(rk_.get(), TimeoutMs()).get(),
                                  q.get());
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "describing group " + group));
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** gs = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  GroupInfo info;
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(gs[i])) {
      return ErrorStatus(rd_kafka_error_code(e),
                         "describing group " + group + ": " + rd_kafka_error_string(e));
    }
    info.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(gs[i]));
    info.members = static_cast<int>(rd_kafka_ConsumerGroupDescription_member_count(gs[i]));
  }
  return info;
}

Status Client::AlterGroupOffsets(const std::string& group,
                                 const std::map<TopicPartition, int64_t>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, off] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off;
  }
  rd_kafka_AlterConsumerGroupOffsets_t* req =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_AlterConsumerGroupOffsets(rk_.get(), &req, 1, AdminOptions(rk_.get(), TimeoutMs()).get(),
                                     q.get());
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev,
                            WaitEvent(q.get(), TimeoutMs(), "setting offsets of group " + group));
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(gs[i])) {
      return ErrorStatus(rd_kafka_error_code(e),
                         "setting offsets of group " + group + ": " + rd_kafka_error_string(e));
    }
    const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(gs[i]);
    for (int j = 0; l != nullptr && j < l->cnt; ++j) {
      if (l->elems[j].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return ErrorStatus(l->elems[j].err, "setting the offset of group " + group + " on " +
                                                l->elems[j].topic + "/" +
                                                std::to_string(l->elems[j].partition));
      }
    }
  }
  return OkStatus();
}

StatusOr<std::vector<Acl>> Client::DescribeTopicAcls() {
  char err[256];
  rd_kafka_AclBindingFilter_t* f = rd_kafka_AclBindingFilter_new(
      RD_KAFKA_RESOURCE_TOPIC, nullptr, RD_KAFKA_RESOURCE_PATTERN_ANY, nullptr, nullptr,
      RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err);
  if (f == nullptr) return InternalError(std::string("ACL filter: ") + err);
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DescribeAcls(rk_.get(), f, AdminOptions(rk_.get(), TimeoutMs()).get(), q.get());
  rd_kafka_AclBinding_destroy(f);
  LIFEBOAT_ASSIGN_OR_RETURN(
      Event ev,
      WaitEvent(q.get(), TimeoutMs(), "listing topic ACLs of cluster '" + config_.cluster + "'"));
  size_t n = 0;
  const rd_kafka_AclBinding_t** bs =
      rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev.get()), &n);
  std::vector<Acl> out;
  for (size_t i = 0; i < n; ++i) {
    Acl a;
    a.topic = rd_kafka_AclBinding_name(bs[i]);
    a.prefixed =
        rd_kafka_AclBinding_resource_pattern_type(bs[i]) == RD_KAFKA_RESOURCE_PATTERN_PREFIXED;
    a.principal = rd_kafka_AclBinding_principal(bs[i]);
    a.host = rd_kafka_AclBinding_host(bs[i]);
    a.operation = rd_kafka_AclOperation_name(rd_kafka_AclBinding_operation(bs[i]));
    a.allow = rd_kafka_AclBinding_permission_type(bs[i]) == RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
    out.push_back(a);
  }
  return out;
}

namespace {

StatusOr<rd_kafka_AclOperation_t> ParseOperation(const std::string& name) {
  for (int op = RD_KAFKA_ACL_OPERATION_ANY; op < RD_KAFKA_ACL_OPERATION__CNT; ++op) {
    if (name == rd_kafka_AclOperation_name(static_cast<rd_kafka_AclOperation_t>(op))) {
      return static_cast<rd_kafka_AclOperation_t>(op);
    }
  }
  return InvalidArgumentError("unknown ACL operation '" + name + "'");
}

}  // namespace

Status Client::CreateAcls(const std::vector<Acl>& acls) {
  if (acls.empty()) return OkStatus();
  std::vector<rd_kafka_AclBinding_t*> bs;
  char err[256];
  for (const Acl& a : acls) {
    LIFEBOAT_ASSIGN_OR_RETURN(rd_kafka_AclOperation_t op, ParseOperation(a.operation));
    rd_kafka_AclBinding_t* b = rd_kafka_AclBinding_new(
        RD_KAFKA_RESOURCE_TOPIC, a.topic.c_str(),
        a.prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED : RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        a.principal.c_str(), a.host.c_str(), op,
        a.allow ? RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW : RD_KAFKA_ACL_PERMISSION_TYPE_DENY, err,
        sizeof err);
    if (b == nullptr) {
      rd_kafka_AclBinding_destroy_array(bs.data(), bs.size());
      return InvalidArgumentError("ACL " + a.ToString() + ": " + err);
    }
    bs.push_back(b);
  }
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreateAcls(rk_.get(), bs.data(), bs.size(), AdminOptions(rk_.get(), TimeoutMs()).get(),
                      q.get());
  rd_kafka_AclBinding_destroy_array(bs.data(), bs.size());
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "creating ACLs"));
  size_t n = 0;
  const rd_kafka_acl_result_t** rs =
      rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_acl_result_error(rs[i])) {
      return ErrorStatus(rd_kafka_error_code(e),
                         std::string("creating ACLs: ") + rd_kafka_error_string(e));
    }
  }
  return OkStatus();
}

Status Client::DeleteAcls(const std::vector<Acl>& acls) {
  if (acls.empty()) return OkStatus();
  std::vector<rd_kafka_AclBindingFilter_t*> fs;
  char err[256];
  for (const Acl& a : acls) {
    LIFEBOAT_ASSIGN_OR_RETURN(rd_kafka_AclOperation_t op, ParseOperation(a.operation));
    rd_kafka_AclBindingFilter_t* f = rd_kafka_AclBindingFilter_new(
        RD_KAFKA_RESOURCE_TOPIC, a.topic.c_str(),
        a.prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED : RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        a.principal.c_str(), a.host.c_str(), op,
        a.allow ? RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW : RD_KAFKA_ACL_PERMISSION_TYPE_DENY, err,
        sizeof err);
    if (f == nullptr) {
      rd_kafka_AclBinding_destroy_array(fs.data(), fs.size());
      return InvalidArgumentError("ACL filter " + a.ToString() + ": " + err);
    }
    fs.push_back(f);
  }
  Queue q(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DeleteAcls(rk_.get(), fs.data(), fs.size(), AdminOptions(rk_.get(), TimeoutMs()).get(),
                      q.get());
  rd_kafka_AclBinding_destroy_array(fs.data(), fs.size());
  LIFEBOAT_ASSIGN_OR_RETURN(Event ev, WaitEvent(q.get(), TimeoutMs(), "deleting ACLs"));
  size_t n = 0;
  const rd_kafka_DeleteAcls_result_response_t** rs =
      rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_DeleteAcls_result_response_error(rs[i])) {
      return ErrorStatus(rd_kafka_error_code(e),
                         std::string("deleting ACLs: ") + rd_kafka_error_string(e));
    }
  }
  return OkStatus();
}

// --- Reader ------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Reader>> Reader::Open(const Config& config, const std::string& topic,
                                               int32_t partition, int64_t start, int64_t end) {
  std::unique_ptr<Reader> r(new Reader());
  r->config_ = config;
  r->topic_ = topic;
  r->partition_ = partition;
  r->end_ = end;
  if (start >= end) {
    r->done_ = true;
    return r;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(r->rk_, MakeHandle(config, RD_KAFKA_CONSUMER,
                                               {{"group.id", "lifeboat-reader"},
                                                {"enable.auto.commit", "false"},
                                                {"enable.auto.offset.store", "false"},
                                                {"isolation.level", "read_committed"},
                                                {"enable.partition.eof", "true"},
                                                {"auto.offset.reset", "error"},
                                                {"fetch.max.bytes", "67108864"},
                                                {"max.partition.fetch.bytes", "16777216"},
                                                {"fetch.wait.max.ms", "100"},
                                                {"queued.max.messages.kbytes", "131072"}}));
  rd_kafka_poll_set_consumer(r->rk_.get());
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = start;
  rd_kafka_resp_err_t err = rd_kafka_assign(r->rk_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, "reading " + topic + "/" + std::to_string(partition));
  }
  return r;
}

// No group, so nothing to leave: destroying the handle is enough.
Reader::~Reader() = default;

StatusOr<bool> Reader::Next(std::vector<Record>& out, int64_t max_records, uint64_t max_bytes) {
  if (done_) return true;
  const std::string where =
      topic_ + "/" + std::to_string(partition_) + " on kafka cluster '" + config_.cluster + "'";
  int64_t got = 0;
  uint64_t bytes = 0;
  auto idle_since = Clock::now();
  const auto idle_limit = std::chrono::seconds(std::max<int64_t>(config_.timeout_seconds, 30));
  while (got < max_records && bytes < max_bytes) {
    Message m(rd_kafka_consumer_poll(rk_.get(), got > 0 ? 10 : 200));
    if (!m) {
      if (got > 0) return false;  // hand over what there is
      if (Clock::now() - idle_since > idle_limit) {
        return UnavailableError(
            "no records from " + where + " below offset " + std::to_string(end_) + " for " +
            std::to_string(idle_limit.count()) + " s; is its leader up? (retry)");
      }
      continue;
    }
    idle_since = Clock::now();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->offset >= end_) {
        done_ = true;
        return true;
      }
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        return DataLossError("records of " + where +
                             " were deleted (retention) before they could be read: " +
                             rd_kafka_message_errstr(m.get()));
      }
      Status s = ErrorStatus(m->err, "reading " + where + ": " + rd_kafka_message_errstr(m.get()));
      if (s.code() == Code::kUnavailable || m->err == RD_KAFKA_RESP_ERR__TRANSPORT) continue;
      return s;
    }
    if (m->offset >= end_) {
      done_ = true;
      return true;
    }
    Record r;
    r.offset = m->offset;
    rd_kafka_timestamp_type_t tstype;
    r.timestamp_ms = rd_kafka_message_timestamp(m.get(), &tstype);
    r.log_append_time = tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
    r.key = Bytes(m->key, m->key_len);
    r.value = Bytes(m->payload, m->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        r.headers.emplace_back(name, Bytes(val, size));
      }
    }
    bytes += r.Bytes();
    ++got;
    out.push_back(std::move(r));
    if (m->offset + 1 >= end_) {
      done_ = true;
      return true;
    }
  }
  return false;
}

// --- TxnWriter ---------------------------------------------------------------------------

struct TxnWriter::Pending {
  std::vector<int64_t> offsets;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string first_error_text;
  size_t delivered = 0;
};

namespace {

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* v = static_cast<TxnWriter::Pending*>(opaque);
  size_t index = reinterpret_cast<size_t>(m->_private);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (v->first_error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      v->first_error = m->err;
      v->first_error_text = rd_kafka_err2str(m->err);
    }
  } else if (index < v->offsets.size()) {
    v->offsets[index] = m->offset;
  }
  ++v->delivered;
}

}  // namespace

StatusOr<std::unique_ptr<TxnWriter>> TxnWriter::Open(const Config& config,
                                                     const std::string& transactional_id) {
  std::unique_ptr<TxnWriter> w(new TxnWriter());
  w->config_ = config;
  w->pending_ = std::make_unique<Pending>();
  LIFEBOAT_ASSIGN_OR_RETURN(w->rk_, MakeHandleWith(config, RD_KAFKA_PRODUCER,
                                                   {{"transactional.id", transactional_id},
                                                    {"enable.idempotence", "true"},
                                                    {"transaction.timeout.ms", "60000"},
                                                    {"linger.ms", "5"},
                                                    {"batch.size", "1048576"},
                                                    {"message.max.bytes", "33554432"},
                                                    {"queue.buffering.max.messages", "2000000"},
                                                    {"queue.buffering.max.kbytes", "2097151"},
                                                    {"compression.type", "none"}},
                                                   &OnDelivery, w->pending_.get()));
  Error e(
      rd_kafka_init_transactions(w->rk_.get(), static_cast<int>(config.timeout_seconds * 1000)));
  if (e) return w->TxnError(e.get(), "starting the transactional producer " + transactional_id);
  return w;
}

TxnWriter::~TxnWriter() = default;

Status TxnWriter::TxnError(rd_kafka_error_t* error, const std::string& what) {
  std::string msg =
      what + " on kafka cluster '" + config_.cluster + "': " + rd_kafka_error_string(error);
  if (rd_kafka_error_is_fatal(error)) {
    return AbortedError(msg +
                        " (fatal: another transfer of the same partition took over, or "
                        "the producer was fenced; the transfer restarts from its last "
                        "committed batch)");
  }
  if (rd_kafka_error_is_retriable(error)) return UnavailableError(msg + " (retry)");
  if (rd_kafka_error_txn_requires_abort(error))
    return AbortedError(msg + " (the batch was aborted)");
  return ErrorStatus(rd_kafka_error_code(error), msg);
}

Status TxnWriter::Begin() {
  pending_->offsets.clear();
  pending_->delivered = 0;
  pending_->first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  Error e(rd_kafka_begin_transaction(rk_.get()));
  if (e) return TxnError(e.get(), "beginning a transaction");
  return OkStatus();
}

Status TxnWriter::Produce(const std::string& topic, int32_t partition, const Record& record) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!record.headers.empty()) {
    hdrs = rd_kafka_headers_new(record.headers.size());
    for (const auto& [name, v] : record.headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()),
                          v ? v->data() : nullptr, v ? static_cast<ssize_t>(v->size()) : 0);
    }
  }
  if (warmed_.insert(topic).second) {
    WarmTopic(rk_.get(), topic, static_cast<int>(config_.timeout_seconds * 1000));
  }
  size_t index = pending_->offsets.size();
  pending_->offsets.push_back(-1);
  while (true) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY((record.key ? record.key->data() : nullptr),
                       (record.key ? record.key->size() : 0)),
        RD_KAFKA_V_VALUE((record.value ? const_cast<char*>(record.value->data()) : nullptr),
                         (record.value ? record.value->size() : 0)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms < 0 ? 0 : record.timestamp_ms),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(index)),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_.get(), 50);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
      return ErrorStatus(err, "writing to " + topic + "/" + std::to_string(partition) +
                                  " on kafka cluster '" + config_.cluster + "'");
    }
    return OkStatus();
  }
}

StatusOr<std::vector<int64_t>> TxnWriter::Flush() {
  const auto deadline =
      Clock::now() + std::chrono::seconds(std::max<int64_t>(config_.timeout_seconds, 60));
  while (pending_->delivered < pending_->offsets.size()) {
    rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), 1000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (Clock::now() > deadline) {
      return UnavailableError("writing to kafka cluster '" + config_.cluster + "': " +
                              std::to_string(pending_->offsets.size() - pending_->delivered) +
                              " records not acknowledged in time (retry)");
    }
  }
  if (pending_->first_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(pending_->first_error, "writing to kafka cluster '" + config_.cluster +
                                                  "': " + pending_->first_error_text);
  }
  return pending_->offsets;
}

Status TxnWriter::Commit() {
  Error e(rd_kafka_commit_transaction(rk_.get(), static_cast<int>(config_.timeout_seconds * 1000)));
  if (e) {
    Status s = TxnError(e.get(), "committing a transaction");
    if (rd_kafka_error_txn_requires_abort(e.get())) Abort();
    return s;
  }
  return OkStatus();
}

void TxnWriter::Abort() {
  Error e(rd_kafka_abort_transaction(rk_.get(), static_cast<int>(config_.timeout_seconds * 1000)));
}

// --- the state table ---------------------------------------------------------------------

StatusOr<std::map<std::string, std::string>> ReadTable(Client& client, const std::string& topic) {
  // The end: the high watermark including open transactions, so that a record committed
  // behind another writer's open transaction is not missed (the read waits for it). Not the
  // last stable offset, which lags a just-committed transaction until the broker has written
  // its markers (commit_transaction returns before that), so verify and commit right after a
  // transfer would read a stale progress record.
  LIFEBOAT_ASSIGN_OR_RETURN(auto wm, client.Watermarks(topic, 0, false));
  const int64_t low = wm.first, high = wm.second;
  std::map<std::string, std::string> table;
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r,
                            Reader::Open(client.config(), topic, 0, low, high));
  while (true) {
    std::vector<Record> batch;
    LIFEBOAT_ASSIGN_OR_RETURN(bool done, r->Next(batch, 10000, 64 << 20));
    for (auto& rec : batch) {
      if (!rec.key) continue;
      if (rec.value) {
        table[*rec.key] = *rec.value;
      } else {
        table.erase(*rec.key);
      }
    }
    if (done) break;
  }
  return table;
}

namespace {

struct WriteResult {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool done = false;
};

void OnTableDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* r = static_cast<WriteResult*>(opaque);
  r->err = m->err;
  r->done = true;
}

}  // namespace

Status WriteTable(Client& client, const std::string& topic, const std::string& key,
                  const std::optional<std::string>& value) {
  WriteResult result;
  LIFEBOAT_ASSIGN_OR_RETURN(KafkaHandle rk,
                            MakeHandleWith(client.config(), RD_KAFKA_PRODUCER,
                                           {{"enable.idempotence", "true"}, {"linger.ms", "0"}},
                                           &OnTableDelivery, &result));
  WarmTopic(rk.get(), topic, static_cast<int>(client.config().timeout_seconds * 1000));
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                        RD_KAFKA_V_KEY(key.data(), key.size()),
                        RD_KAFKA_V_VALUE((value ? const_cast<char*>(value->data()) : nullptr),
                                         (value ? value->size() : 0)),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, "writing the state topic " + topic);
  }
  rd_kafka_flush(rk.get(), static_cast<int>(client.config().timeout_seconds * 1000));
  if (!result.done) {
    return UnavailableError("writing the state topic " + topic + " of kafka cluster '" +
                            client.config().cluster + "': no acknowledgement (retry)");
  }
  if (result.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(result.err, "writing the state topic " + topic);
  }
  return OkStatus();
}

Status EnsureStateTopic(Client& client, const std::string& topic) {
  StatusOr<int32_t> n = client.PartitionCount(topic);
  if (n.ok()) return OkStatus();
  if (n.status().code() != Code::kNotFound) return n.status();
  // Compacted: only the newest record per key matters. Small segments, so that the cleaner
  // can compact progress records soon and reading the table stays quick.
  return client.CreateTopic(topic, 1,
                            {{"cleanup.policy", "compact"},
                             {"segment.ms", "600000"},
                             {"min.cleanable.dirty.ratio", "0.1"}});
}

}  // namespace lifeboat::kafka
