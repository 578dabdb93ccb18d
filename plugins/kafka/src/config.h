// The kafka configuration (schema "lifeboat.kafka.v1.Config", a JSON object) and the data set
// selector.
//
// Configuration of one instance (one cluster):
//   bootstrap_servers      required; "host:port[,host:port...]" of the cluster's brokers
//   security_protocol      "plaintext" (default), "sasl_plaintext", "ssl" or "sasl_ssl"
//   sasl_mechanism         "PLAIN" (default), "SCRAM-SHA-256" or "SCRAM-SHA-512"
//   sasl_username          user for SASL (required with a sasl_* protocol)
//   sasl_password_file     file holding the SASL password (one of _file/_env with SASL);
//   sasl_password_env      environment variable holding it. Secrets are referenced, never
//                          given inline, and never logged.
//   ssl_ca_location        CA bundle for ssl/sasl_ssl ("" = the system's)
//   state_topic            default "__lifeboat_state": compacted topic on this cluster that
//                          keeps the plugin's records (cuts on a source; progress, offset maps
//                          and fences on a target)
//   replica_topic_prefix   default "": on a target, a replica topic is named prefix + the
//                          source topic's name (e.g. "primary." as MirrorMaker 2 does)
//   create_topics          default true: a transfer creates a missing replica topic with the
//                          source's partition count and topic configs; false: it is an error
//   on_fewer_partitions    "error" (default) or "add": what plan_transfer does when a replica
//                          topic has fewer partitions than its source topic
//   sync_topic_configs     default false: plan_transfer also sets drifted configs of
//                          existing replica topics to the source's (drift is always reported)
//   batch_records          1..1000000, default 20000: records per transaction
//   batch_bytes            64 KiB..1 GiB, default 16 MiB: bytes per transaction
//   bandwidth_bytes_per_second  default 0 (unlimited): cap of this instance's transfers
//   timeout_seconds        1..3600, default 30: limit of one broker request
//   parallelism            1..64, default 4: partitions read at once by verify and plan
// Unknown keys are refused.
//
// Selector of a data set (DataSet.selector):  TOPICS[;groups=GROUPS]
//   TOPICS and GROUPS are comma-separated names or globs ('*' any run of characters, '?' one
//   character), e.g. "orders,payments-*;groups=billing,audit-*". Topics are matched at every
//   cut (a topic created later that matches a glob joins the data set); groups are the
//   consumer groups whose committed offsets are carried over to the target. Names starting
//   with "__" (Kafka's internal topics) never match a glob.
#ifndef LIFEBOAT_PLUGINS_KAFKA_SRC_CONFIG_H_
#define LIFEBOAT_PLUGINS_KAFKA_SRC_CONFIG_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lifeboat::kafka {

inline constexpr char kPluginName[] = "kafka";
inline constexpr char kPluginVersion[] = "0.1.0";
inline constexpr char kComponent[] = "kafka";
inline constexpr char kConfigType[] = "lifeboat.kafka.v1.Config";

struct Config {
  std::string cluster;  // PluginConfig.cluster
  std::string bootstrap_servers;
  std::string security_protocol = "plaintext";
  std::string sasl_mechanism = "PLAIN";
  std::string sasl_username;
  std::string sasl_password;  // read from the file or variable at parse time; never logged
  std::string ssl_ca_location;
  std::string state_topic = "__lifeboat_state";
  std::string replica_topic_prefix;
  bool create_topics = true;
  bool add_partitions = false;  // on_fewer_partitions == "add"
  bool sync_topic_configs = false;
  int64_t batch_records = 20000;
  int64_t batch_bytes = 16 << 20;
  uint64_t bandwidth_bytes_per_second = 0;
  int64_t timeout_seconds = 30;
  int parallelism = 4;

  // librdkafka properties for connecting and authenticating (bootstrap, security, SASL).
  std::map<std::string, std::string> ClientProperties() const;
};

// Parses and checks `config` without side effects (no connection is made; the password file
// or variable is read). INVALID_ARGUMENT naming the field when one is missing, of the wrong
// type, out of range or unknown.
StatusOr<Config> ParseConfig(const v1::PluginConfig& config);

// A parsed selector: topic and group names or globs.
struct Selector {
  std::vector<std::string> topics;
  std::vector<std::string> groups;

  bool MatchesTopic(const std::string& topic) const;
  bool MatchesGroup(const std::string& group) const;
  // The canonical text: "a,b;groups=c" (no groups part when there are none).
  std::string ToString() const;
};

// Parses a data set selector (syntax above). INVALID_ARGUMENT saying what is wrong.
StatusOr<Selector> ParseSelector(const std::string& text);

// The data set's selector, checked; INVALID_ARGUMENT when the component is not "kafka".
StatusOr<Selector> DataSetSelector(const v1::DataSet& data_set);

// Glob match: '*' any run (also empty), '?' one character; everything else literal.
bool GlobMatch(const std::string& pattern, const std::string& name);
bool IsGlob(const std::string& pattern);

}  // namespace lifeboat::kafka

#endif  // LIFEBOAT_PLUGINS_KAFKA_SRC_CONFIG_H_
