#include "config.h"

#include <lifeboat/sdk/config.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace lifeboat::localfs {

StatusOr<Config> ParsePeerConfig(const v1::PluginConfig& plugin_config) {
  LIFEBOAT_ASSIGN_OR_RETURN(sdk::ConfigReader reader,
                            sdk::ConfigReader::Parse(plugin_config.config_json(), kConfigType));
  Config config;
  config.cluster = plugin_config.cluster();
  LIFEBOAT_ASSIGN_OR_RETURN(config.root, reader.RequiredString("root"));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t parallelism, reader.Int("parallelism", 4, 1, 64));
  config.parallelism = static_cast<int>(parallelism);
  LIFEBOAT_ASSIGN_OR_RETURN(config.chunk_bytes,
                            reader.Int("chunk_bytes", 1 << 20, 4096, int64_t{1} << 30));
  // Not LIFEBOAT_ASSIGN_OR_RETURN: GCC 12 warns (-Wmaybe-uninitialized, a false positive) on the
  // string it moves into.
  StatusOr<std::string> peer_access = reader.String("peer_access", "auto");
  if (!peer_access.ok()) return peer_access.status();
  const std::string& access = *peer_access;
  if (access == "auto") {
    config.peer_access = PeerAccess::kAuto;
  } else if (access == "path") {
    config.peer_access = PeerAccess::kPath;
  } else if (access == "stream") {
    config.peer_access = PeerAccess::kStream;
  } else {
    return InvalidArgumentError(std::string(kConfigType) +
                                    ": field 'peer_access' must be \"auto\", \"path\" or "
                                    "\"stream\", found '" +
                                    access + "'",
                                "peer_access");
  }
  LIFEBOAT_RETURN_IF_ERROR(reader.Finish());

  std::string& root = config.root;
  if (root.empty() || root.front() != '/') {
    return InvalidArgumentError(std::string(kConfigType) + ": field 'root' must be an absolute " +
                                    "path, found '" + root +
                                    "'; give the full path of the directory that stands for "
                                    "the cluster",
                                "root");
  }
  if (root.find('\0') != std::string::npos) {
    return InvalidArgumentError(std::string(kConfigType) + ": field 'root' contains a NUL byte",
                                "root");
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return config;
}

StatusOr<Config> ParseConfig(const v1::PluginConfig& plugin_config) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config config, ParsePeerConfig(plugin_config));
  const std::string& root = config.root;
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    return InvalidArgumentError(std::string(kConfigType) + ": field 'root' names '" + root +
                                    "', which cannot be used: " + std::strerror(errno) +
                                    "; create the directory or fix the path",
                                "root");
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgumentError(
        std::string(kConfigType) + ": field 'root' names '" + root + "', which is not a directory",
        "root");
  }
  return config;
}

}  // namespace lifeboat::localfs
