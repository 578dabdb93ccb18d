#include "config.h"

#include <lifeboat/sdk/config.h>

#include <cstdio>

namespace lifeboat::hdfs {
namespace {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgumentError(std::string(kConfigType) + ": field '" + field + "' " + what, field);
}

// "host:port" or "http(s)://host:port[/]" -> "http(s)://host:port".
StatusOr<std::string> NormalizeNameNode(std::string nn) {
  std::string scheme = "http://";
  for (const char* s : {"http://", "https://"}) {
    if (nn.rfind(s, 0) == 0) {
      scheme = s;
      nn = nn.substr(std::string(s).size());
    }
  }
  while (!nn.empty() && nn.back() == '/') nn.pop_back();
  size_t colon = nn.rfind(':');
  if (nn.empty() || nn.find('/') != std::string::npos || colon == std::string::npos || colon == 0 ||
      colon + 1 == nn.size()) {
    return Bad("namenodes", "has '" + nn +
                                "', which is not a NameNode HTTP address: give host:port of "
                                "dfs.namenode.http-address (e.g. nn1.example.com:9870)");
  }
  for (size_t i = colon + 1; i < nn.size(); ++i) {
    if (nn[i] < '0' || nn[i] > '9') {
      return Bad("namenodes", "has '" + nn + "', whose port is not a number");
    }
  }
  return scheme + nn;
}

}  // namespace

StatusOr<Config> ParseConfig(const v1::PluginConfig& plugin_config) {
  LIFEBOAT_ASSIGN_OR_RETURN(sdk::ConfigReader reader,
                            sdk::ConfigReader::Parse(plugin_config.config_json(), kConfigType));
  Config config;
  config.cluster = plugin_config.cluster();
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> namenodes, reader.StringList("namenodes"));
  LIFEBOAT_ASSIGN_OR_RETURN(config.user, reader.RequiredString("user"));
  LIFEBOAT_ASSIGN_OR_RETURN(bool spnego, reader.Bool("spnego", false));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t bandwidth,
                            reader.Int("bandwidth_bytes_per_second", 0, 0, int64_t{1} << 40));
  config.bandwidth_bytes_per_second = static_cast<uint64_t>(bandwidth);
  LIFEBOAT_ASSIGN_OR_RETURN(std::string block_size, reader.String("block_size", "preserve"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string replication, reader.String("replication", "preserve"));
  LIFEBOAT_ASSIGN_OR_RETURN(config.allow_snapshot, reader.Bool("allow_snapshot", true));
  LIFEBOAT_ASSIGN_OR_RETURN(config.snapshot_prefix, reader.String("snapshot_prefix", "lifeboat-"));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t parallelism, reader.Int("parallelism", 4, 1, 64));
  config.parallelism = static_cast<int>(parallelism);
  LIFEBOAT_ASSIGN_OR_RETURN(config.timeout_seconds, reader.Int("timeout_seconds", 60, 1, 3600));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string listing, reader.String("incremental_listing", "full"));
  LIFEBOAT_RETURN_IF_ERROR(reader.Finish());
  if (listing != "diff" && listing != "full") {
    return Bad("incremental_listing",
               "is '" + listing +
                   "': give \"diff\" (an incremental lists what the snapshot diff names) or "
                   "\"full\" (it lists the whole new snapshot, to catch times changed alone)");
  }
  config.incremental_full_listing = listing == "full";

  if (spnego) {
    return Bad("spnego", "is true, but Kerberos/SPNEGO is not supported yet by the hdfs plugin " +
                             std::string(kPluginVersion) +
                             ": not yet. Use a cluster (or an HttpFS gateway) with simple "
                             "authentication for now, and set spnego to false");
  }
  if (namenodes.empty()) {
    return Bad("namenodes", "is required: give the HTTP address (host:port) of each NameNode");
  }
  for (std::string& nn : namenodes) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string normalized, NormalizeNameNode(nn));
    config.namenodes.push_back(std::move(normalized));
  }
  if (config.user.empty() || config.user.find_first_of(" \t/:") != std::string::npos) {
    return Bad("user",
               "must be an HDFS user name without spaces, '/' or ':', found '" + config.user + "'");
  }
  if (block_size == "preserve") {
    config.preserve_block_size = true;
  } else if (block_size == "target-default") {
    config.preserve_block_size = false;
  } else {
    return Bad("block_size",
               "must be \"preserve\" or \"target-default\", found \"" + block_size + "\"");
  }
  if (replication == "preserve") {
    config.replication = 0;
  } else if (replication == "target-default") {
    config.replication = -1;
  } else {
    int value = 0;
    bool digits = !replication.empty() && replication.size() <= 3 &&
                  replication.find_first_not_of("0123456789") == std::string::npos;
    if (digits) value = std::stoi(replication);
    if (!digits || value < 1 || value > 512) {
      return Bad("replication",
                 "must be \"preserve\", \"target-default\" or a number 1..512, "
                 "found \"" +
                     replication + "\"");
    }
    config.replication = value;
  }
  for (char c : config.snapshot_prefix) {
    if (c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' ||
        static_cast<unsigned char>(c) >= 0x7f) {
      return Bad("snapshot_prefix",
                 "may hold only printable ASCII without '/', ':' and spaces, "
                 "found \"" +
                     config.snapshot_prefix + "\"");
    }
  }
  return config;
}

std::string SnapshotName(const Config& config, const std::string& restore_point_id) {
  std::string name = config.snapshot_prefix;
  for (unsigned char c : restore_point_id) {
    if (c == '/' || c == ':' || c == '_' || c <= ' ' || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "_%02X", c);
      name += buf;
    } else {
      name += static_cast<char>(c);
    }
  }
  return name;
}

}  // namespace lifeboat::hdfs
