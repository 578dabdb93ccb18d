// The hdfs configuration (schema "lifeboat.hdfs.v1.Config", a JSON object):
//   namenodes        required; one or more NameNode HTTP addresses, "host:port" or
//                    "http(s)://host:port" (several: an HA pair, the active one is found and
//                    followed when it changes)
//   user             required; the HDFS user the plugin acts as (simple authentication)
//   spnego           default false; true is refused for now (Kerberos/SPNEGO: not yet)
//   bandwidth_bytes_per_second  default 0 (unlimited); caps transfers of this instance
//   block_size       "preserve" (default: copies keep the source's block size, so HDFS
//                    checksums compare) or "target-default"
//   replication      "preserve" (default), "target-default", or a number 1..512
//   allow_snapshot   default true: a cut may make the data set's directory snapshottable
//                    itself (needs the superuser); false: an administrator must
//   snapshot_prefix  default "lifeboat-": snapshots are named prefix + restore point id
//   parallelism      1..64, default 4: files moved at once inside one transfer
//   timeout_seconds  1..3600, default 60: limit of one metadata request
//   incremental_listing  "full" (default): an incremental's plan also lists the whole new
//                    snapshot and compares every file with the base (catches a change of
//                    times alone, which no snapshot diff shows); "diff": it lists only what
//                    the snapshot diff names, the rest is the base point's record (NameNode
//                    calls follow the change; a change of times alone stays out of the point)
// Unknown keys are refused.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_CONFIG_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_CONFIG_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lifeboat::hdfs {

inline constexpr char kPluginName[] = "hdfs";
inline constexpr char kPluginVersion[] = "0.1.0";
inline constexpr char kComponent[] = "hdfs";
inline constexpr char kConfigType[] = "lifeboat.hdfs.v1.Config";

struct Config {
  std::string cluster;                 // PluginConfig.cluster
  std::vector<std::string> namenodes;  // normalized: "http://host:port", no trailing '/'
  std::string user;
  uint64_t bandwidth_bytes_per_second = 0;
  bool preserve_block_size = true;
  // 0 = preserve the source's, -1 = the target's default, else this factor.
  int32_t replication = 0;
  bool allow_snapshot = true;
  std::string snapshot_prefix = "lifeboat-";
  int parallelism = 4;
  int64_t timeout_seconds = 60;
  // Whether an incremental's plan lists the whole new snapshot (README "plan_transfer").
  bool incremental_full_listing = false;
};

// Parses and checks `config` without side effects (no request is made). INVALID_ARGUMENT
// naming the field when one is missing, of the wrong type, out of range or unknown, and
// when spnego is true (not supported yet).
StatusOr<Config> ParseConfig(const v1::PluginConfig& config);

// The HDFS snapshot name for a restore point: prefix + id, with every character HDFS does
// not allow in a path component ('/', ':') or that is not printable ASCII written as _XX.
std::string SnapshotName(const Config& config, const std::string& restore_point_id);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_CONFIG_H_
