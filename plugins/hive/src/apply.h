// Making a metastore hold a point's state (commit, restore), or saying how it differs (verify,
// a dry run): the same comparison either way.
//
// The comparison is by canonical form (model.h) after the point's locations were rewritten to
// the target cluster and its names to the destination's. What differs is written in this
// order, which is what the metastore's references need (a partition needs its table, a
// foreign key the table it points at):
//   1. the database: created when missing; its description, owner, parameters and location
//      altered when they differ (a whole-database data set only)
//   2. per table, tables side by side: created (with its own constraints but its foreign
//      keys) or altered; its constraints added and dropped; partitions added (and altered
//      with the point's only when add_partitions stored them otherwise than the point holds
//      them, in canonical form: the metastore sets createTime itself, as for tables),
//      altered or dropped where they differ; column statistics written where they differ
//   3. foreign keys, once every table exists
//   4. functions: created, altered, dropped
//   5. tables the point lacks: dropped (a whole-database data set only)
// Nothing is ever dropped with its data: drops keep the files (deleteData false).
//
// Thread-safety: an Applier is used by one call; it runs tables in parallel on the plugin's
// connection pool.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_APPLY_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_APPLY_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model.h"
#include "reader.h"
#include "selector.h"
#include "store.h"

namespace lifeboat::hive {

class HivePlugin;

// A point's state, decoded.
struct PointState {
  std::optional<store::DatabaseObject> database;
  std::map<std::string, TableState> tables;  // by table name
};

// Decodes the objects of `manifest` from `store`: the database, and the tables in `only` (all
// when null). DATA_LOSS when an object is missing or damaged.
StatusOr<PointState> LoadState(const SetStore& store, const v1::MemberManifest& manifest,
                               const std::set<std::string>* only = nullptr);

// The tables whose objects differ between two manifests (added, changed or gone), and
// whether the database object differs.
struct ManifestDiff {
  bool database = false;
  std::set<std::string> tables;   // present in `to` and new or changed
  std::set<std::string> dropped;  // present in `from` only
};
StatusOr<ManifestDiff> DiffManifests(const v1::MemberManifest& from, const v1::MemberManifest& to);

struct ApplyOptions {
  Selector selector;          // the data set (as the point names it)
  LocationRewriter rewriter;  // the point's locations -> this cluster's
  std::string target_db;      // the database the state lands in ("" = its own)
  std::string target_table;   // a table data set renamed ("" = its own name)
  enum class Mode { kApply, kDryRun, kCompare } mode = Mode::kApply;
  std::string writer;  // environment context value of kWriterProperty ("commit rp-...")
};

// One difference, or one change made: `path` in object form ("sales", "sales/orders",
// "sales/orders/dt=1"), `what` a line for operators ("create table sales.orders").
struct Change {
  std::string path;
  std::string kind;  // "missing", "extra", "differs"
  std::string what;
};

class Applier {
 public:
  Applier(HivePlugin& plugin, sdk::Call& call, ApplyOptions options);

  // Compares (and in kApply mode writes) the database, the tables of `desired` and, when
  // `all_tables`, drops the tables of the database that `desired` lacks (a whole-database data
  // set); otherwise drops only `drops` when they are present.
  Status Run(const PointState& desired, bool all_tables, const std::set<std::string>& drops);

  const std::vector<Change>& changes() const { return changes_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  struct TableOutcome;
  std::string Db() const;
  std::string TableName(const std::string& point_name) const;
  Status RunDatabase(MetastoreClient& c, const store::DatabaseObject& desired);
  Status RunTable(MetastoreClient& c, const std::string& name, const TableState& desired,
                  std::vector<Change>& out, uint64_t& bytes);
  // RunTable, again (up to kTableAttempts in all) after a failure the metastore may not
  // repeat (INTERNAL, UNAVAILABLE, ABORTED: a deadlock rolled back); the outcome of the last.
  static constexpr int kTableAttempts = 3;
  Status RunTableRetrying(MetastoreClient& c, const std::string& name, const TableState& desired,
                          TableOutcome& outcome);
  Status RunForeignKeys(MetastoreClient& c, const PointState& desired);
  Status RunFunctions(MetastoreClient& c, const store::DatabaseObject& desired);
  Status DropTable(MetastoreClient& c, const std::string& name);
  // The point's object for this cluster: locations rewritten, names renamed.
  TableState Localize(const TableState& t) const;
  store::DatabaseObject Localize(const store::DatabaseObject& db) const;
  bool writing() const { return options_.mode == ApplyOptions::Mode::kApply; }
  thrift::EnvironmentContext Env() const;
  void Add(std::vector<Change>& out, std::string path, std::string kind, std::string what);

  HivePlugin& plugin_;
  sdk::Call& call_;
  ApplyOptions options_;
  std::mutex mu_;
  std::vector<Change> changes_;
  uint64_t bytes_written_ = 0;
  // Foreign keys of each table as the target held them (RunTable), for RunForeignKeys.
  std::map<std::string, std::vector<thrift::SQLForeignKey>> live_fks_;
};

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_APPLY_H_
