// The hive configuration (schema "lifeboat.hive.v1.Config", a JSON object):
//   metastore        required; the metastore's Thrift address, "host:port" or "thrift://host:port"
//   state_dir        required; a local directory of the agent that runs this instance, where it
//                    keeps the cuts (source side), the points (target side), the objects both
//                    are made of, and its journals (src/store.h)
//   catalog          default "hive"
//   fs_uri           this cluster's file system as table locations name it
//                    ("hdfs://nameservice1", "hdfs://nn:8020"); a point cut on a cluster with
//                    another fs_uri has its locations rewritten to this one on commit and
//                    restore. Default: the scheme and authority of the metastore's "default"
//                    database location, when that is an hdfs:// or viewfs:// URI.
//   location_map     {"<prefix on the other cluster>": "<prefix here>"}: explicit rewrites,
//                    tried before fs_uri (the longest matching prefix wins; compared in
//                    Hadoop's path form)
//   parallelism      1..32, default 4: metastore connections used at once to read or write
//   timeout_seconds  1..3600, default 120: limit of one metastore call
//   max_rounds       1..100, default 20: re-read rounds of a cut before it gives up on a data
//                    set that keeps changing (ABORTED: the engine cuts again)
// Unknown keys are refused. Kerberos/SASL is not supported yet (README.md).
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_CONFIG_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_CONFIG_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <string>

#include "metastore_client.h"

namespace lifeboat::hive {

inline constexpr char kPluginName[] = "hive";
inline constexpr char kPluginVersion[] = "0.1.0";
inline constexpr char kComponent[] = "hive";
inline constexpr char kConfigType[] = "lifeboat.hive.v1.Config";

struct Config {
  std::string cluster;  // PluginConfig.cluster
  MetastoreOptions metastore;
  std::string state_dir;
  std::string fs_uri;  // normalized (model.h NormalizeLocation); "" = derive
  std::map<std::string, std::string> location_map;  // normalized both sides
  int parallelism = 4;
  int max_rounds = 20;
};

// Parses and checks `config` without side effects (no connection is made). INVALID_ARGUMENT
// naming the field when one is missing, of the wrong type, out of range or unknown.
StatusOr<Config> ParseConfig(const v1::PluginConfig& config);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_CONFIG_H_
