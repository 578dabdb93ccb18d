// The metastore's notification log as the plugin uses it: which objects of a data set the
// events between two ids touched, and whether every one of those events is still there.
//
// Ids are given by the metastore inside the DDL's transaction, one after the other and in
// commit order (docs/rigs.md), so the events (A, B] are exactly what changed between reading
// id A and reading id B. A hole in them means the metastore's event cleaner removed some: what
// changed then is unknown, and the caller says so and falls back to a full read (never
// silently skips them).
//
// Thread-safety: free functions without shared state; a Touched is one thread's.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_EVENTS_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_EVENTS_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "metastore_client.h"
#include "selector.h"

namespace lifeboat::hive {

// What a run of events changed of one data set.
struct Touched {
  bool database = false;                                    // the database or its functions
  std::set<std::string> tables;                             // table, constraints, table stats
  std::set<std::string> full_tables;                        // ... and every partition
  std::map<std::string, std::set<std::string>> partitions;  // table -> partition names
  int64_t events = 0;                                       // events about the data set
  std::vector<std::string> lines;                           // "id TYPE db.table", first 20

  bool empty() const {
    return !database && tables.empty() && full_tables.empty() && partitions.empty();
  }
  void Merge(const Touched& other);
};

// The error of a hole in the log: FAILED_PRECONDITION naming the missing ids (ranges).
struct LogGap {
  int64_t first_missing = 0;
  int64_t last_missing = 0;
  std::string Describe() const;
};

// Reads the events (from, to] and hands each to `each` in id order. A hole — an id in
// (from, to] the log no longer has — stops the read with FAILED_PRECONDITION naming the
// missing ids and sets *gap (when given). `read` counts the events read.
Status ReadEvents(MetastoreClient& c, int64_t from, int64_t to,
                  const std::function<Status(const thrift::NotificationEvent&)>& each,
                  LogGap* gap = nullptr, int64_t* read = nullptr);

// What the events (from, to] changed of the data set `sel`, decoding only the events that can
// be about it. A hole: FAILED_PRECONDITION as ReadEvents.
StatusOr<Touched> TouchedBetween(MetastoreClient& c, const Selector& sel, int64_t from, int64_t to,
                                 LogGap* gap = nullptr, int64_t* read = nullptr);

// What one event changed of `sel` (added to `out`); events of other objects add nothing.
Status Classify(const thrift::NotificationEvent& event, const Selector& sel, Touched& out);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_EVENTS_H_
