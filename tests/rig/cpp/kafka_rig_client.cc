#include "kafka_rig_client.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace lifeboat::testing::rig {
namespace {

// Maps a librdkafka error to a Status code by its retry meaning.
Status FromKafka(rd_kafka_resp_err_t err, const std::string& what) {
  std::string msg = what + ": " + rd_kafka_err2name(err) + " (" + rd_kafka_err2str(err) + ")";
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return OkStatus();
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return AlreadyExistsError(msg);
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      return UnavailableError(msg);
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
      return PermissionDeniedError(msg);
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return NotFoundError(msg);
    default:
      return InternalError(msg);
  }
}

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* state = static_cast<DeliveryReport*>(m->_private);
  if (state == nullptr) {
    return;
  }
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    int none = RD_KAFKA_RESP_ERR_NO_ERROR;
    state->first_error.compare_exchange_strong(none, m->err);
  } else {
    state->delivered.fetch_add(1);
  }
}

}  // namespace

void KafkaDeleter::operator()(rd_kafka_t* rk) const {
  if (rk == nullptr) {
    return;
  }
  if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER) {
    rd_kafka_consumer_close(rk);
  }
  rd_kafka_destroy(rk);
}

StatusOr<KafkaPtr> NewKafkaClient(rd_kafka_type_t type,
                                  const std::map<std::string, std::string>& conf) {
  char errstr[512];
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  for (const auto& [k, v] : conf) {
    if (rd_kafka_conf_set(c, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(c);
      return InvalidArgumentError(std::string("librdkafka refused ") + k + "=" + v + ": " + errstr);
    }
  }
  if (type == RD_KAFKA_PRODUCER) {
    rd_kafka_conf_set_dr_msg_cb(c, &OnDelivery);
  }
  rd_kafka_t* rk = rd_kafka_new(type, c, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(c);  // rd_kafka_new takes the conf only on success
    return InternalError(std::string("rd_kafka_new failed: ") + errstr);
  }
  return KafkaPtr(rk);
}

Status CreateTopic(rd_kafka_t* rk, const std::string& topic, int partitions,
                   const std::map<std::string, std::string>& configs,
                   std::chrono::milliseconds timeout) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, errstr, sizeof errstr);
  if (nt == nullptr) {
    return InvalidArgumentError(std::string("NewTopic ") + topic + ": " + errstr);
  }
  for (const auto& [k, v] : configs) {
    rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), errstr,
                                            sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), errstr,
                                              sizeof errstr);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 5000);
  Status st;
  if (ev == nullptr) {
    st = UnavailableError("CreateTopics " + topic + ": no answer within " +
                          std::to_string(timeout.count()) + " ms");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = FromKafka(rd_kafka_event_error(ev), "CreateTopics " + topic);
  } else {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    if (n != 1) {
      st = InternalError("CreateTopics " + topic + ": " + std::to_string(n) + " results");
    } else if (rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* s = rd_kafka_topic_result_error_string(results[0]);
      st = FromKafka(rd_kafka_topic_result_error(results[0]),
                     "CreateTopics " + topic + (s != nullptr ? std::string(" ") + s : ""));
    }
  }
  if (ev != nullptr) {
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  return st;
}

StatusOr<std::pair<int64_t, int64_t>> Watermarks(rd_kafka_t* rk, const std::string& topic,
                                                 int32_t partition,
                                                 std::chrono::milliseconds timeout) {
  int64_t low = -1;
  int64_t high = -1;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, topic.c_str(), partition, &low, &high, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(err, "watermarks of " + topic + "/" + std::to_string(partition));
  }
  return std::make_pair(low, high);
}

StatusOr<int64_t> RecordsInTopic(rd_kafka_t* rk, const std::string& topic, int partitions,
                                 std::chrono::milliseconds timeout) {
  int64_t sum = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    auto w = Watermarks(rk, topic, p, timeout);
    if (!w.ok()) {
      return w.status();
    }
    sum += w.value().second - w.value().first;
  }
  return sum;
}

std::string GeneratedValue(int64_t i, size_t value_bytes) {
  std::string v = std::to_string(i) + ":";
  v.reserve(value_bytes);
  // Filler that varies with i, so that compression does not make the data trivial.
  uint64_t x = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull + 1;
  while (v.size() < value_bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v.push_back(static_cast<char>('a' + x % 26));
  }
  v.resize(value_bytes);
  return v;
}

Status ProduceRecords(rd_kafka_t* producer, const std::string& topic, int64_t count,
                      size_t value_bytes, std::chrono::milliseconds flush_timeout) {
  DeliveryReport state;
  for (int64_t i = 0; i < count; ++i) {
    std::string key = "k" + std::to_string(i);
    std::string value = GeneratedValue(i, value_bytes);
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
          RD_KAFKA_V_OPAQUE(&state), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer, 100);  // let deliveries drain the local queue
        continue;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return FromKafka(err, "produce to " + topic + " (record " + std::to_string(i) + ")");
      }
      break;
    }
    if (state.first_error.load() != RD_KAFKA_RESP_ERR_NO_ERROR) {
      break;
    }
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_resp_err_t err = rd_kafka_flush(producer, static_cast<int>(flush_timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(err, "flush to " + topic);
  }
  rd_kafka_poll(producer, 0);
  if (state.first_error.load() != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(static_cast<rd_kafka_resp_err_t>(state.first_error.load()),
                     "delivery to " + topic);
  }
  if (state.delivered.load() != count) {
    return InternalError("delivery to " + topic + ": " + std::to_string(state.delivered.load()) +
                         " of " + std::to_string(count) + " records confirmed");
  }
  return OkStatus();
}

std::string UniqueName(const std::string& prefix) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(ns);
}

}  // namespace lifeboat::testing::rig
