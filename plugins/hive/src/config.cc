#include "config.h"

#include <lifeboat/sdk/config.h>

#include "model.h"

namespace lifeboat::hive {
namespace {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgumentError(std::string(kConfigType) + ": field '" + field + "' " + what, field);
}

// "host:port" or "thrift://host:port" -> host, port.
Status ParseMetastore(std::string text, MetastoreOptions& out) {
  const std::string original = text;
  if (text.rfind("thrift://", 0) == 0) text = text.substr(9);
  while (!text.empty() && text.back() == '/') text.pop_back();
  size_t colon = text.rfind(':');
  if (text.empty() || colon == std::string::npos || colon == 0 || colon + 1 == text.size() ||
      text.find('/') != std::string::npos) {
    return Bad("metastore", "is '" + original +
                                "', which is not a metastore address: give host:port of "
                                "hive.metastore.uris (e.g. thrift://hms1.example.com:9083)");
  }
  int port = 0;
  for (size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || port > 65535) {
      return Bad("metastore", "is '" + original + "', whose port is not a number from 1 to 65535");
    }
    port = port * 10 + (text[i] - '0');
  }
  if (port < 1 || port > 65535) {
    return Bad("metastore", "is '" + original + "', whose port is not a number from 1 to 65535");
  }
  out.host = text.substr(0, colon);
  out.port = port;
  return OkStatus();
}

bool IsUri(const std::string& s) {
  return s.find("://") != std::string::npos || s.rfind("file:", 0) == 0;
}

}  // namespace

StatusOr<Config> ParseConfig(const v1::PluginConfig& plugin_config) {
  LIFEBOAT_ASSIGN_OR_RETURN(sdk::ConfigReader reader,
                            sdk::ConfigReader::Parse(plugin_config.config_json(), kConfigType));
  Config config;
  config.cluster = plugin_config.cluster();
  LIFEBOAT_ASSIGN_OR_RETURN(std::string metastore, reader.RequiredString("metastore"));
  LIFEBOAT_ASSIGN_OR_RETURN(config.state_dir, reader.RequiredString("state_dir"));
  LIFEBOAT_ASSIGN_OR_RETURN(config.metastore.catalog, reader.String("catalog", "hive"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string fs_uri, reader.String("fs_uri", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(auto location_map, reader.StringMap("location_map"));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t parallelism, reader.Int("parallelism", 4, 1, 32));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t timeout, reader.Int("timeout_seconds", 120, 1, 3600));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t rounds, reader.Int("max_rounds", 20, 1, 100));
  LIFEBOAT_RETURN_IF_ERROR(reader.Finish());

  LIFEBOAT_RETURN_IF_ERROR(ParseMetastore(metastore, config.metastore));
  if (config.state_dir.empty() || config.state_dir[0] != '/') {
    return Bad("state_dir",
               "must be an absolute path of a local directory (the agent keeps the "
               "cuts and points of this cluster there), found '" +
                   config.state_dir + "'");
  }
  if (config.metastore.catalog.empty()) return Bad("catalog", "must not be empty");
  if (!fs_uri.empty()) {
    if (FileSystemOf(fs_uri).empty() && fs_uri.rfind("file:", 0) != 0) {
      return Bad("fs_uri", "is '" + fs_uri +
                               "', which is not a file system URI: give scheme and authority as "
                               "table locations name them (e.g. hdfs://nameservice1)");
    }
    config.fs_uri = NormalizeLocation(fs_uri);
  }
  for (const auto& [from, to] : location_map) {
    if (!IsUri(from) || !IsUri(to)) {
      return Bad("location_map", "maps '" + from + "' to '" + to +
                                     "'; both sides must be location prefixes with a scheme "
                                     "(hdfs://nn1:8020/warehouse -> hdfs://nn2:8020/warehouse)");
    }
    config.location_map[NormalizeLocation(from)] = NormalizeLocation(to);
  }
  config.parallelism = static_cast<int>(parallelism);
  config.max_rounds = static_cast<int>(rounds);
  config.metastore.call_timeout = std::chrono::milliseconds(timeout * 1000);
  return config;
}

}  // namespace lifeboat::hive
