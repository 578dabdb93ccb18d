// Fencing a hive data set: the strongest write stop the metastore itself offers, and the
// marker with the role epoch.
//
// A database data set is fenced by its parameters: readonly=true — Hive's own read-only switch,
// which HiveServer2 enforces for every statement when its pre-execution hooks include
// org.apache.hadoop.hive.ql.hooks.EnforceReadOnlyDatabaseHook (Hive's own replication failover
// relies on the same switch) — and Lifeboat's marker parameters lifeboat.fence.epoch, .reason,
// .time, .op and .readonly_before (what readonly was before, put back by the unfence). One
// alter_database call sets them all, so a fence is whole or not at all.
//
// What it does NOT stop (measured on the rig, README.md "Fencing"): the metastore's Thrift API
// checks no such property, so a client that writes the metastore directly (Spark, Trino,
// Impala's catalog, a Thrift program) still creates, alters and drops. A table data set gets
// the marker parameters on the table only: Hive has no read-only switch per table.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_FENCE_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_FENCE_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metastore_client.h"
#include "selector.h"

namespace lifeboat::hive {

class HivePlugin;

struct FenceMark {
  std::string selector;
  uint64_t epoch = 0;
  std::string reason;
  int64_t fenced_unix_nanos = 0;
  std::string mechanism;  // "readonly" (database), "marker" (table)
  std::string op_id;
};

// The fence of `sel` on the metastore `c` serves, nullopt when not fenced (or the object is
// gone).
StatusOr<std::optional<FenceMark>> FenceOf(MetastoreClient& c, const Selector& sel);

// The fenced data sets among those this instance has state for; problems (an object that
// cannot be read) are appended to `problems`.
std::vector<FenceMark> ListFences(HivePlugin& plugin, MetastoreClient& c,
                                  std::vector<std::string>* problems);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_FENCE_H_
