// The localfs configuration (schema "lifeboat.localfs.v1.Config", a JSON object):
//   root         required; absolute path of an existing directory: the "cluster"
//   parallelism  1..64, default 4: files copied or hashed at once inside one call
//   chunk_bytes  4096..1073741824, default 1048576: unit of copy, progress, cancellation
//                checks and resume (1 MiB: progress a person can watch move, at a cost in
//                system calls too small to measure against the copy itself)
//   peer_access  "auto" (default), "path" or "stream": how this instance reads its peers
//                (peer.h) — by path when their root is a directory here (auto), always by
//                path (path), or always through the host's peer stream (stream)
// Unknown keys are refused.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_CONFIG_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_CONFIG_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <string>

namespace lifeboat::localfs {

inline constexpr char kPluginName[] = "localfs";
inline constexpr char kPluginVersion[] = "0.2.0";
inline constexpr char kComponent[] = "localfs";
inline constexpr char kConfigType[] = "lifeboat.localfs.v1.Config";

enum class PeerAccess { kAuto, kPath, kStream };

struct Config {
  std::string cluster;  // PluginConfig.cluster, recorded in snapshot references
  std::string root;     // absolute, without a trailing '/' (unless it is "/")
  int parallelism = 4;
  int64_t chunk_bytes = 1 << 20;
  PeerAccess peer_access = PeerAccess::kAuto;
};

// Parses and checks `config` without side effects. INVALID_ARGUMENT naming the field when a
// field is missing, of the wrong type, out of range or unknown, or when root is not an
// absolute path of an existing directory.
StatusOr<Config> ParseConfig(const v1::PluginConfig& config);

// As ParseConfig, for the configuration of a peer (another cluster's instance): the root need
// not exist on this host (it may be on another machine).
StatusOr<Config> ParsePeerConfig(const v1::PluginConfig& config);

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_CONFIG_H_
