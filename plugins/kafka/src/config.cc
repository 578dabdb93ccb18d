#include "config.h"

#include <lifeboat/sdk/config.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lifeboat::kafka {
namespace {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgumentError(std::string(kConfigType) + ": field '" + field + "' " + what, field);
}

// Kafka's legal topic characters (Topic.java: [a-zA-Z0-9._-]) plus the glob characters.
bool LegalNameChar(char c, bool group) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == '.' || c == '_' || c == '-' || c == '*' || c == '?') return true;
  // Group ids may hold more than topic names; ',' and ';' stay separators.
  return group && c != ',' && c != ';' && c > ' ' && c != 0x7f;
}

StatusOr<std::vector<std::string>> SplitNames(const std::string& text, const std::string& what,
                                              bool group) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    size_t e = item.find_last_not_of(' ');
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty()) {
      return InvalidArgumentError("kafka selector '" + text + "' has an empty " + what +
                                  " name; give comma-separated names or globs, e.g. "
                                  "orders,payments-*;groups=billing");
    }
    for (char c : item) {
      if (!LegalNameChar(c, group)) {
        return InvalidArgumentError("kafka selector: " + what + " '" + item +
                                    "' has the character '" + std::string(1, c) +
                                    "', which Kafka does not allow in a " + what + " name");
      }
    }
    if (!group && item.size() > 249) {
      return InvalidArgumentError("kafka selector: topic '" + item +
                                  "' is longer than Kafka's 249 characters");
    }
    out.push_back(item);
  }
  if (text.empty() || text.back() == ',') {
    return InvalidArgumentError("kafka selector: the " + what + " list '" + text +
                                "' is empty or ends with ','");
  }
  return out;
}

bool MatchAny(const std::vector<std::string>& patterns, const std::string& name) {
  for (const auto& p : patterns) {
    if (IsGlob(p)) {
      // Internal topics ("__consumer_offsets", our state topic) only by their exact name.
      if (name.rfind("__", 0) == 0) continue;
      if (GlobMatch(p, name)) return true;
    } else if (p == name) {
      return true;
    }
  }
  return false;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

bool IsGlob(const std::string& pattern) { return pattern.find_first_of("*?") != std::string::npos; }

bool GlobMatch(const std::string& pattern, const std::string& name) {
  // Iterative matcher with one backtrack point for the last '*': linear in practice.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Selector::MatchesTopic(const std::string& topic) const { return MatchAny(topics, topic); }
bool Selector::MatchesGroup(const std::string& group) const { return MatchAny(groups, group); }

std::string Selector::ToString() const {
  std::string out = Join(topics);
  if (!groups.empty()) out += ";groups=" + Join(groups);
  return out;
}

StatusOr<Selector> ParseSelector(const std::string& text) {
  Selector sel;
  std::string topics = text;
  size_t semi = text.find(';');
  if (semi != std::string::npos) {
    topics = text.substr(0, semi);
    std::string rest = text.substr(semi + 1);
    const std::string key = "groups=";
    if (rest.rfind(key, 0) != 0) {
      return InvalidArgumentError("kafka selector '" + text +
                                  "': after ';' only 'groups=NAMES' may follow, e.g. "
                                  "orders;groups=billing,audit-*");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(sel.groups, SplitNames(rest.substr(key.size()), "group", true));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(sel.topics, SplitNames(topics, "topic", false));
  return sel;
}

StatusOr<Selector> DataSetSelector(const v1::DataSet& data_set) {
  if (data_set.component() != kComponent) {
    return InvalidArgumentError(
        "data set component is '" + data_set.component() + "', this plugin serves 'kafka'",
        data_set.selector());
  }
  return ParseSelector(data_set.selector());
}

std::map<std::string, std::string> Config::ClientProperties() const {
  std::map<std::string, std::string> p;
  p["bootstrap.servers"] = bootstrap_servers;
  p["security.protocol"] = security_protocol;
  if (security_protocol.rfind("sasl_", 0) == 0) {
    p["sasl.mechanisms"] = sasl_mechanism;
    p["sasl.username"] = sasl_username;
    p["sasl.password"] = sasl_password;
  }
  if (!ssl_ca_location.empty()) p["ssl.ca.location"] = ssl_ca_location;
  return p;
}

StatusOr<Config> ParseConfig(const v1::PluginConfig& plugin_config) {
  LIFEBOAT_ASSIGN_OR_RETURN(sdk::ConfigReader reader,
                            sdk::ConfigReader::Parse(plugin_config.config_json(), kConfigType));
  Config c;
  c.cluster = plugin_config.cluster();
  LIFEBOAT_ASSIGN_OR_RETURN(c.bootstrap_servers, reader.RequiredString("bootstrap_servers"));
  {
    std::stringstream in(c.bootstrap_servers);
    std::string hp;
    int n = 0;
    while (std::getline(in, hp, ',')) {
      size_t colon = hp.rfind(':');
      bool ok = colon != std::string::npos && colon > 0 && colon + 1 < hp.size();
      for (size_t i = ok ? colon + 1 : 0; ok && i < hp.size(); ++i)
        ok = hp[i] >= '0' && hp[i] <= '9';
      if (!ok) {
        return Bad("bootstrap_servers",
                   "has '" + hp + "', which is not host:port of a broker (e.g. kafka1:9092)");
      }
      ++n;
    }
    if (n == 0) return Bad("bootstrap_servers", "is empty; give host:port[,host:port...]");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(c.security_protocol, reader.String("security_protocol", "plaintext"));
  if (c.security_protocol != "plaintext" && c.security_protocol != "sasl_plaintext" &&
      c.security_protocol != "ssl" && c.security_protocol != "sasl_ssl") {
    return Bad("security_protocol",
               "is '" + c.security_protocol + "'; use plaintext, sasl_plaintext, ssl or sasl_ssl");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(c.sasl_mechanism, reader.String("sasl_mechanism", "PLAIN"));
  if (c.sasl_mechanism != "PLAIN" && c.sasl_mechanism != "SCRAM-SHA-256" &&
      c.sasl_mechanism != "SCRAM-SHA-512") {
    return Bad("sasl_mechanism",
               "is '" + c.sasl_mechanism + "'; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(c.sasl_username, reader.String("sasl_username", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string pw_file, reader.String("sasl_password_file", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string pw_env, reader.String("sasl_password_env", ""));
  const bool sasl = c.security_protocol.rfind("sasl_", 0) == 0;
  if (sasl) {
    if (c.sasl_username.empty()) {
      return Bad("sasl_username", "is required with security_protocol " + c.security_protocol);
    }
    if (pw_file.empty() == pw_env.empty()) {
      return Bad("sasl_password_file",
                 "or sasl_password_env: give exactly one (the password is referenced, never "
                 "written into the configuration)");
    }
    if (!pw_file.empty()) {
      std::ifstream in(pw_file);
      if (!in) return Bad("sasl_password_file", "names '" + pw_file + "', which cannot be read");
      std::getline(in, c.sasl_password);
    } else {
      const char* v = std::getenv(pw_env.c_str());
      if (v == nullptr) return Bad("sasl_password_env", "names '" + pw_env + "', which is unset");
      c.sasl_password = v;
    }
  } else if (!c.sasl_username.empty() || !pw_file.empty() || !pw_env.empty()) {
    return Bad("sasl_username", "is set but security_protocol " + c.security_protocol +
                                    " does not use SASL; use sasl_plaintext or sasl_ssl");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(c.ssl_ca_location, reader.String("ssl_ca_location", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(c.state_topic, reader.String("state_topic", "__lifeboat_state"));
  if (c.state_topic.empty()) return Bad("state_topic", "is empty");
  LIFEBOAT_ASSIGN_OR_RETURN(c.replica_topic_prefix, reader.String("replica_topic_prefix", ""));
  for (char ch : c.state_topic + c.replica_topic_prefix) {
    if (!LegalNameChar(ch, false) || ch == '*' || ch == '?') {
      return Bad(
          c.state_topic.find(ch) != std::string::npos ? "state_topic" : "replica_topic_prefix",
          "has '" + std::string(1, ch) + "', which Kafka does not allow in a topic name");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(c.create_topics, reader.Bool("create_topics", true));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string fewer, reader.String("on_fewer_partitions", "error"));
  if (fewer != "error" && fewer != "add") {
    return Bad("on_fewer_partitions", "is '" + fewer + "'; use error or add");
  }
  c.add_partitions = fewer == "add";
  LIFEBOAT_ASSIGN_OR_RETURN(c.sync_topic_configs, reader.Bool("sync_topic_configs", false));
  LIFEBOAT_ASSIGN_OR_RETURN(c.batch_records, reader.Int("batch_records", 20000, 1, 1000000));
  LIFEBOAT_ASSIGN_OR_RETURN(c.batch_bytes,
                            reader.Int("batch_bytes", 16 << 20, 64 << 10, int64_t{1} << 30));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t bw,
                            reader.Int("bandwidth_bytes_per_second", 0, 0, int64_t{1} << 40));
  c.bandwidth_bytes_per_second = static_cast<uint64_t>(bw);
  LIFEBOAT_ASSIGN_OR_RETURN(c.timeout_seconds, reader.Int("timeout_seconds", 30, 1, 3600));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t par, reader.Int("parallelism", 4, 1, 64));
  c.parallelism = static_cast<int>(par);
  LIFEBOAT_RETURN_IF_ERROR(reader.Finish());
  return c;
}

}  // namespace lifeboat::kafka
