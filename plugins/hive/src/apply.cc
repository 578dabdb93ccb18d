#include "apply.h"

#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>

#include <algorithm>

#include "hive_plugin.h"

namespace lifeboat::hive {
namespace {

constexpr size_t kWriteBatch = 200;
constexpr size_t kNamesInLine = 3;

std::string Names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamesInLine; ++i) {
    out += (i == 0 ? "" : ", ") + names[i];
  }
  if (names.size() > kNamesInLine) out += ", ...";
  return out;
}

std::string Plural(size_t n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

thrift::Table TableForWrite(thrift::Table t, const std::string& catalog) {
  t.__isset.id = false;
  t.__isset.writeId = false;
  t.__isset.txnId = false;
  t.__isset.colStats = false;
  t.colStats = thrift::ColumnStatistics();
  t.__isset.privileges = false;
  t.privileges = thrift::PrincipalPrivilegeSet();
  t.__isset.accessType = false;
  t.__isset.requiredReadCapabilities = false;
  t.__isset.requiredWriteCapabilities = false;
  t.__isset.fileMetadata = false;
  t.__isset.dictionary = false;
  t.__isset.isStatsCompliant = false;
  t.__set_catName(catalog);
  return t;
}

thrift::Partition PartitionForWrite(thrift::Partition p, const std::string& catalog) {
  p.__isset.writeId = false;
  p.__isset.colStats = false;
  p.colStats = thrift::ColumnStatistics();
  p.__isset.privileges = false;
  p.privileges = thrift::PrincipalPrivilegeSet();
  p.__isset.fileMetadata = false;
  p.__isset.isStatsCompliant = false;
  p.__set_catName(catalog);
  return p;
}

// Constraints of one kind grouped by name (a constraint over several columns has one row per
// column), in canonical form.
template <typename T, typename NameOf>
std::map<std::string, std::vector<T>> ByName(const std::vector<T>& rows, NameOf name) {
  std::map<std::string, std::vector<T>> out;
  for (const T& r : rows) out[name(r)].push_back(r);
  return out;
}

// Names to drop and rows to add so that `live` becomes `want` for one kind of constraint.
template <typename T, typename NameOf>
void DiffConstraints(const std::vector<T>& live, const std::vector<T>& want, NameOf name,
                     std::vector<std::string>& drop, std::vector<T>& add) {
  auto l = ByName(live, name);
  auto w = ByName(want, name);
  for (const auto& [n, rows] : l) {
    auto it = w.find(n);
    if (it == w.end() || it->second != rows) drop.push_back(n);
  }
  for (const auto& [n, rows] : w) {
    auto it = l.find(n);
    if (it == l.end() || it->second != rows) add.insert(add.end(), rows.begin(), rows.end());
  }
}

// The constraints of a table as canonical, without or with only its foreign keys.
thrift::SQLAllTableConstraints CanonicalConstraints(const store::TableObject& o, bool fks) {
  store::TableObject c = CanonicalTable(o, LocationRewriter());
  if (fks) {
    thrift::SQLAllTableConstraints only;
    only.__set_foreignKeys(c.constraints.foreignKeys);
    return only;
  }
  c.constraints.foreignKeys.clear();
  return c.constraints;
}

bool SameStats(std::vector<thrift::ColumnStatisticsObj> a,
               std::vector<thrift::ColumnStatisticsObj> b) {
  auto by = [](const auto& x, const auto& y) { return x.colName < y.colName; };
  std::sort(a.begin(), a.end(), by);
  std::sort(b.begin(), b.end(), by);
  return a == b;
}

}  // namespace

struct Applier::TableOutcome {
  std::vector<Change> changes;
  uint64_t bytes = 0;
};

// ---- State ---------------------------------------------------------------------------------

StatusOr<PointState> LoadState(const SetStore& store, const v1::MemberManifest& manifest,
                               const std::set<std::string>* only) {
  PointState state;
  for (const auto& e : manifest.entries()) {
    LIFEBOAT_ASSIGN_OR_RETURN(ObjectPath p, ParsePath(e.path()));
    if (p.kind != ObjectKind::kDatabase && only != nullptr && only->count(p.table) == 0) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, store.ReadEntry(e));
    switch (p.kind) {
      case ObjectKind::kDatabase: {
        LIFEBOAT_ASSIGN_OR_RETURN(state.database, Decode<store::DatabaseObject>(bytes, e.path()));
        break;
      }
      case ObjectKind::kTable: {
        LIFEBOAT_ASSIGN_OR_RETURN(state.tables[p.table].header,
                                  Decode<store::TableObject>(bytes, e.path()));
        break;
      }
      case ObjectKind::kPartitions:
      default: {
        LIFEBOAT_ASSIGN_OR_RETURN(store::PartitionChunk chunk,
                                  Decode<store::PartitionChunk>(bytes, e.path()));
        auto& parts = state.tables[p.table].partitions;
        for (auto& pe : chunk.partitions) parts.push_back(std::move(pe));
        break;
      }
    }
  }
  for (auto& [name, t] : state.tables) {
    std::sort(t.partitions.begin(), t.partitions.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  return state;
}

StatusOr<ManifestDiff> DiffManifests(const v1::MemberManifest& from, const v1::MemberManifest& to) {
  std::map<std::string, std::string> a, b;
  for (const auto& e : from.entries()) a[e.path()] = e.digest();
  for (const auto& e : to.entries()) b[e.path()] = e.digest();
  ManifestDiff diff;
  std::set<std::string> tables_in_to;
  for (const auto& [path, digest] : b) {
    LIFEBOAT_ASSIGN_OR_RETURN(ObjectPath p, ParsePath(path));
    if (p.kind == ObjectKind::kTable) tables_in_to.insert(p.table);
    auto it = a.find(path);
    if (it != a.end() && it->second == digest) continue;
    if (p.kind == ObjectKind::kDatabase) {
      diff.database = true;
    } else {
      diff.tables.insert(p.table);
    }
  }
  for (const auto& [path, digest] : a) {
    if (b.count(path)) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(ObjectPath p, ParsePath(path));
    if (p.kind == ObjectKind::kDatabase) continue;
    (tables_in_to.count(p.table) ? diff.tables : diff.dropped).insert(p.table);
  }
  return diff;
}

// ---- Applier -------------------------------------------------------------------------------

Applier::Applier(HivePlugin& plugin, sdk::Call& call, ApplyOptions options)
    : plugin_(plugin), call_(call), options_(std::move(options)) {}

std::string Applier::Db() const {
  return options_.target_db.empty() ? options_.selector.db : options_.target_db;
}

std::string Applier::TableName(const std::string& point_name) const {
  if (!options_.target_table.empty() && point_name == options_.selector.table) {
    return options_.target_table;
  }
  return point_name;
}

thrift::EnvironmentContext Applier::Env() const {
  thrift::EnvironmentContext env;
  env.__set_properties({{kWriterProperty, options_.writer}});
  return env;
}

void Applier::Add(std::vector<Change>& out, std::string path, std::string kind, std::string what) {
  out.push_back(Change{std::move(path), std::move(kind), std::move(what)});
}

store::DatabaseObject Applier::Localize(const store::DatabaseObject& in) const {
  store::DatabaseObject o = in;
  const std::string& catalog = plugin_.config().metastore.catalog;
  o.database.__set_name(Db());
  o.database.__set_catalogName(catalog);
  RewriteLocations(options_.rewriter, o.database);
  if (!options_.target_db.empty() && options_.target_db != options_.selector.db) {
    // A database restored under a new name gets its own directory, not the original's.
    o.database.__isset.locationUri = false;
    o.database.locationUri.clear();
    o.database.__isset.managedLocationUri = false;
    o.database.managedLocationUri.clear();
  }
  for (auto& f : o.functions) {
    f.__set_dbName(Db());
    f.__set_catName(catalog);
    for (auto& r : f.resourceUris) r.__set_uri(options_.rewriter.Rewrite(r.uri));
  }
  return o;
}

TableState Applier::Localize(const TableState& in) const {
  TableState t = in;
  const std::string& catalog = plugin_.config().metastore.catalog;
  const std::string src_db = options_.selector.db;
  const std::string name = TableName(in.header.table.tableName);
  thrift::Table& table = t.header.table;
  table.__set_dbName(Db());
  table.__set_tableName(name);
  table.__set_catName(catalog);
  if (table.__isset.sd) RewriteLocations(options_.rewriter, table.sd);
  auto rename_db = [&](std::string& db) {
    if (db == src_db) db = Db();
  };
  auto rename_table = [&](const std::string& db, std::string& tn) {
    if (db == Db()) tn = TableName(tn);
  };
  auto& c = t.header.constraints;
  for (auto& x : c.primaryKeys) {
    rename_db(x.table_db);
    rename_table(x.table_db, x.table_name);
    x.__set_catName(catalog);
  }
  for (auto& x : c.foreignKeys) {
    rename_db(x.fktable_db);
    rename_table(x.fktable_db, x.fktable_name);
    rename_db(x.pktable_db);
    rename_table(x.pktable_db, x.pktable_name);
    x.__set_catName(catalog);
  }
  auto plain = [&](auto& list) {
    for (auto& x : list) {
      rename_db(x.table_db);
      rename_table(x.table_db, x.table_name);
      x.__set_catName(catalog);
    }
  };
  plain(c.uniqueConstraints);
  plain(c.notNullConstraints);
  plain(c.defaultConstraints);
  plain(c.checkConstraints);
  for (auto& p : t.partitions) {
    p.partition.__set_dbName(Db());
    p.partition.__set_tableName(name);
    p.partition.__set_catName(catalog);
    if (p.partition.__isset.sd) RewriteLocations(options_.rewriter, p.partition.sd);
  }
  return t;
}

Status Applier::RunTableRetrying(MetastoreClient& c, const std::string& name,
                                 const TableState& desired, TableOutcome& outcome) {
  // A metastore on a database rolls back a transaction that deadlocked with another and
  // answers a MetaException (Derby on the rig did, for two tables' alter_partitions at once:
  // "Exception rolling back to savepoint"). Making a table equal compares before it writes,
  // so the table is simply compared and written again; a real error fails the same way each
  // time and is returned after the last attempt.
  Status s;
  for (int attempt = 1; attempt <= kTableAttempts; ++attempt) {
    outcome = TableOutcome();
    s = RunTable(c, name, desired, outcome.changes, outcome.bytes);
    if (s.ok() || !writing() || call_.Cancelled() ||
        (s.code() != Code::kInternal && s.code() != Code::kUnavailable &&
         s.code() != Code::kAborted)) {
      return s;
    }
    if (attempt < kTableAttempts) {
      plugin_.host().Warn("hive: table " + Db() + "." + TableName(name) + " failed (attempt " +
                          std::to_string(attempt) + " of " + std::to_string(kTableAttempts) +
                          "), comparing and writing it again: " + s.message());
    }
  }
  return s;
}

Status Applier::Run(const PointState& desired, bool all_tables,
                    const std::set<std::string>& drops) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, plugin_.pool().Acquire());
  MetastoreClient& c = *lease;
  if (desired.database) LIFEBOAT_RETURN_IF_ERROR(RunDatabase(c, *desired.database));
  if (!writing()) {
    // Nothing can be compared below a database that is not there.
    auto live = c.GetDatabase(Db());
    if (!live.ok() && live.status().code() == Code::kNotFound) {
      for (const auto& [name, t] : desired.tables) {
        Add(changes_, Db() + "/" + TableName(name), "missing",
            "create table " + Db() + "." + TableName(name) +
                (t.partitions.empty() ? "" : " with " + Plural(t.partitions.size(), "partition")));
      }
      return OkStatus();
    }
  }

  std::vector<const std::pair<const std::string, TableState>*> items;
  for (const auto& entry : desired.tables) items.push_back(&entry);
  std::vector<TableOutcome> outcomes(items.size());
  sdk::ProgressReporter progress(call_, "apply", 0, items.size());
  LIFEBOAT_RETURN_IF_ERROR(
      sdk::ParallelFor(items.size(), plugin_.pool().size(), [&](size_t i) -> Status {
        if (call_.Cancelled())
          return CancelledError("hive:" + options_.selector.text() + ": cancelled between tables");
        LIFEBOAT_ASSIGN_OR_RETURN(auto conn, plugin_.pool().Acquire());
        Status s = RunTableRetrying(*conn, items[i]->first, items[i]->second, outcomes[i]);
        progress.Add(outcomes[i].bytes, 1, items[i]->first);
        return s.ok() ? s : s.WithContext("table " + Db() + "." + TableName(items[i]->first));
      }));
  for (auto& o : outcomes) {
    changes_.insert(changes_.end(), o.changes.begin(), o.changes.end());
    bytes_written_ += o.bytes;
  }
  LIFEBOAT_RETURN_IF_ERROR(RunForeignKeys(c, desired));
  if (desired.database && options_.selector.whole_db()) {
    LIFEBOAT_RETURN_IF_ERROR(RunFunctions(c, *desired.database));
  }
  std::set<std::string> to_drop;
  if (all_tables) {
    auto live = c.GetAllTables(Db());
    if (!live.ok() && live.status().code() != Code::kNotFound) return live.status();
    if (live.ok()) {
      std::set<std::string> keep;
      for (const auto& [name, t] : desired.tables) keep.insert(TableName(name));
      for (const auto& t : *live) {
        if (!keep.count(t)) to_drop.insert(t);
      }
    }
  } else {
    for (const auto& t : drops) {
      if (!options_.selector.Holds(options_.selector.db, t)) continue;
      auto live = c.GetTable(Db(), TableName(t));
      if (live.ok()) to_drop.insert(TableName(t));
    }
  }
  for (const auto& t : to_drop) LIFEBOAT_RETURN_IF_ERROR(DropTable(c, t));
  return OkStatus();
}

Status Applier::RunDatabase(MetastoreClient& c, const store::DatabaseObject& point) {
  store::DatabaseObject want = Localize(point);
  const std::string path = Db();
  auto live = c.GetDatabase(Db());
  if (!live.ok() && live.status().code() != Code::kNotFound) return live.status();
  if (!live.ok()) {
    Add(changes_, path, "missing", "create database " + Db());
    if (writing()) {
      thrift::Database db = want.database;
      db.__isset.createTime = false;
      db.__isset.privileges = false;
      LIFEBOAT_RETURN_IF_ERROR(c.CreateDatabase(db));
      bytes_written_ += Encode(want).size();
    }
    return OkStatus();
  }
  // A table's data set never changes the database it lives in.
  if (!options_.selector.whole_db()) return OkStatus();
  store::DatabaseObject have;
  have.database = *live;
  store::DatabaseObject want_db;
  want_db.database = want.database;
  if (!want.database.__isset.locationUri) {
    // Renamed: its location is the metastore's choice.
    want_db.database.__set_locationUri(live->locationUri);
    want_db.database.__set_managedLocationUri(live->managedLocationUri);
    want_db.database.__isset.managedLocationUri = live->__isset.managedLocationUri;
  }
  if (CanonicalDigest(have, LocationRewriter()) == CanonicalDigest(want_db, LocationRewriter())) {
    return OkStatus();
  }
  Add(changes_, path, "differs", "alter database " + Db());
  if (!writing()) return OkStatus();
  thrift::Database db = want_db.database;
  db.__isset.privileges = false;
  db.__set_createTime(live->createTime);
  // A fenced database stays fenced: its fence marks are kept, and what the point holds in
  // `readonly` becomes what the unfence gives back.
  const std::string fence_epoch = std::string(kLifeboatParamPrefix) + "fence.epoch";
  if (live->parameters.count(fence_epoch)) {
    std::string before;
    auto ro = db.parameters.find("readonly");
    if (ro != db.parameters.end()) before = ro->second;
    for (const auto& [k, v] : live->parameters) {
      if (k.rfind(kLifeboatParamPrefix, 0) == 0) db.parameters[k] = v;
    }
    db.parameters[std::string(kLifeboatParamPrefix) + "fence.readonly_before"] = before;
    db.parameters["readonly"] = "true";
    db.__isset.parameters = true;
  }
  LIFEBOAT_RETURN_IF_ERROR(c.AlterDatabase(Db(), db));
  bytes_written_ += Encode(want).size();
  return OkStatus();
}

Status Applier::RunTable(MetastoreClient& c, const std::string& point_name, const TableState& point,
                         std::vector<Change>& out, uint64_t& bytes) {
  const TableState want = Localize(point);
  const std::string name = want.header.table.tableName;
  const std::string full = Db() + "." + name;
  const std::string path = Db() + "/" + name;
  const std::string& catalog = plugin_.config().metastore.catalog;
  const thrift::EnvironmentContext env = Env();
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<TableState> live,
                            ReadTable(c, Db(), name, /*with_partitions=*/true));
  bool rewritten = false;  // created or altered: its statistics are written again
  if (!live) {
    Add(out, path, "missing",
        "create table " + full +
            (want.partitions.empty() ? ""
                                     : " with " + Plural(want.partitions.size(), "partition")));
    if (writing()) {
      thrift::SQLAllTableConstraints own = CanonicalConstraints(want.header, /*fks=*/false);
      LIFEBOAT_RETURN_IF_ERROR(
          c.CreateTable(TableForWrite(want.header.table, catalog), &own, &env));
      bytes += Encode(want.header).size();
    }
    rewritten = true;
    live.emplace();
    live->header.table = want.header.table;
    live->header.constraints = CanonicalConstraints(want.header, /*fks=*/false);
  } else {
    store::TableObject a = CanonicalTable(live->header, LocationRewriter());
    store::TableObject b = CanonicalTable(want.header, LocationRewriter());
    if (Encode(a.table) != Encode(b.table)) {
      Add(out, path, "differs", "alter table " + full);
      if (writing()) {
        thrift::Table t = TableForWrite(want.header.table, catalog);
        // Lifeboat's own marks (a fence) stay on the table.
        for (const auto& [k, v] : live->header.table.parameters) {
          if (k.rfind(kLifeboatParamPrefix, 0) == 0) t.parameters[k] = v;
        }
        t.__isset.parameters = true;
        LIFEBOAT_RETURN_IF_ERROR(c.AlterTable(Db(), name, t, &env));
        bytes += Encode(want.header).size();
      }
      rewritten = true;
    }
    // Own constraints (foreign keys wait until every table exists).
    thrift::SQLAllTableConstraints have = CanonicalConstraints(live->header, false);
    thrift::SQLAllTableConstraints need = CanonicalConstraints(want.header, false);
    std::vector<std::string> drop;
    thrift::SQLAllTableConstraints add;
    DiffConstraints(
        have.primaryKeys, need.primaryKeys, [](const auto& x) { return x.pk_name; }, drop,
        add.primaryKeys);
    DiffConstraints(
        have.uniqueConstraints, need.uniqueConstraints, [](const auto& x) { return x.uk_name; },
        drop, add.uniqueConstraints);
    DiffConstraints(
        have.notNullConstraints, need.notNullConstraints, [](const auto& x) { return x.nn_name; },
        drop, add.notNullConstraints);
    DiffConstraints(
        have.defaultConstraints, need.defaultConstraints, [](const auto& x) { return x.dc_name; },
        drop, add.defaultConstraints);
    DiffConstraints(
        have.checkConstraints, need.checkConstraints, [](const auto& x) { return x.dc_name; }, drop,
        add.checkConstraints);
    const size_t added = add.primaryKeys.size() + add.uniqueConstraints.size() +
                         add.notNullConstraints.size() + add.defaultConstraints.size() +
                         add.checkConstraints.size();
    if (!drop.empty() || added > 0) {
      Add(out, path, "differs",
          "constraints of " + full + ": drop " + std::to_string(drop.size()) + ", add " +
              std::to_string(added) + " row(s)");
      if (writing()) {
        for (const auto& n : drop) LIFEBOAT_RETURN_IF_ERROR(c.DropConstraint(Db(), name, n));
        add.__isset.primaryKeys = !add.primaryKeys.empty();
        add.__isset.uniqueConstraints = !add.uniqueConstraints.empty();
        add.__isset.notNullConstraints = !add.notNullConstraints.empty();
        add.__isset.defaultConstraints = !add.defaultConstraints.empty();
        add.__isset.checkConstraints = !add.checkConstraints.empty();
        if (added > 0) LIFEBOAT_RETURN_IF_ERROR(c.AddConstraints(add));
      }
    }
  }

  // Table statistics.
  if (!SameStats(live->header.statistics, want.header.statistics) ||
      (rewritten && !want.header.statistics.empty())) {
    if (!SameStats(live->header.statistics, want.header.statistics)) {
      Add(out, path, "differs", "column statistics of " + full);
    }
    if (writing()) {
      if (!want.header.statistics.empty()) {
        thrift::ColumnStatistics stats;
        stats.statsDesc.isTblLevel = true;
        stats.statsDesc.dbName = Db();
        stats.statsDesc.tableName = name;
        stats.statsDesc.__set_catName(catalog);
        stats.statsObj = want.header.statistics;
        LIFEBOAT_RETURN_IF_ERROR(c.UpdateColumnStatistics(stats));
      }
      std::set<std::string> keep;
      for (const auto& s : want.header.statistics) keep.insert(s.colName);
      for (const auto& s : live->header.statistics) {
        if (keep.count(s.colName)) continue;
        Status d = c.DeleteTableColumnStatistics(Db(), name, s.colName);
        if (!d.ok() && d.code() != Code::kNotFound) return d;
      }
    }
  }

  // Partitions.
  std::map<std::string, const store::PartitionEntry*> have;
  for (const auto& p : live->partitions) have[p.name] = &p;
  std::vector<const store::PartitionEntry*> add, alter;
  std::set<std::string> wanted;
  for (const auto& p : want.partitions) {
    wanted.insert(p.name);
    auto it = have.find(p.name);
    if (it == have.end()) {
      add.push_back(&p);
      if (!writing()) Add(out, path + "/" + p.name, "missing", "add partition " + p.name);
    } else if (Encode(CanonicalPartition(*it->second, LocationRewriter())) !=
               Encode(CanonicalPartition(p, LocationRewriter()))) {
      alter.push_back(&p);
      if (!writing()) Add(out, path + "/" + p.name, "differs", "alter partition " + p.name);
    }
  }
  std::vector<const store::PartitionEntry*> drop;
  for (const auto& p : live->partitions) {
    if (!wanted.count(p.name)) {
      drop.push_back(&p);
      if (!writing()) Add(out, path + "/" + p.name, "extra", "drop partition " + p.name);
    }
  }
  auto names = [](const std::vector<const store::PartitionEntry*>& v) {
    std::vector<std::string> n;
    for (const auto* p : v) n.push_back(p->name);
    return Names(n);
  };
  if (writing()) {
    if (!add.empty()) {
      Add(out, path, "missing",
          "add " + Plural(add.size(), "partition") + " to " + full + ": " + names(add));
    }
    if (!alter.empty()) {
      Add(out, path, "differs",
          "alter " + Plural(alter.size(), "partition") + " of " + full + ": " + names(alter));
    }
    if (!drop.empty()) {
      Add(out, path, "extra",
          "drop " + Plural(drop.size(), "partition") + " of " + full + ": " + names(drop));
    }
    // add_partitions answers the partitions as it stored them; those whose canonical form is
    // not the point's (the metastore added parameters, moved a location) are altered with the
    // point's below, the others need no second write.
    std::vector<const store::PartitionEntry*> rewrite = alter;
    for (size_t i = 0; i < add.size(); i += kWriteBatch) {
      std::vector<thrift::Partition> batch;
      for (size_t k = i; k < add.size() && k < i + kWriteBatch; ++k) {
        batch.push_back(PartitionForWrite(add[k]->partition, catalog));
        bytes += Encode(*add[k]).size();
      }
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<thrift::Partition> stored,
                                c.AddPartitions(Db(), name, batch, /*if_not_exists=*/true, &env));
      std::map<std::string, thrift::Partition*> by_name;
      for (auto& p : stored) by_name[PartitionName(want.header.table.partitionKeys, p.values)] = &p;
      for (size_t k = i; k < add.size() && k < i + kWriteBatch; ++k) {
        auto it = by_name.find(add[k]->name);
        if (it != by_name.end()) {
          store::PartitionEntry got;
          got.name = add[k]->name;
          got.partition = std::move(*it->second);
          store::PartitionEntry point_only = *add[k];
          point_only.statistics.clear();  // written apart, below
          if (Encode(CanonicalPartition(std::move(got), LocationRewriter())) ==
              Encode(CanonicalPartition(std::move(point_only), LocationRewriter()))) {
            continue;
          }
        }
        rewrite.push_back(add[k]);  // not answered (added meanwhile) or stored otherwise
      }
    }
    for (size_t i = 0; i < rewrite.size(); i += kWriteBatch) {
      std::vector<thrift::Partition> batch;
      for (size_t k = i; k < rewrite.size() && k < i + kWriteBatch; ++k) {
        batch.push_back(PartitionForWrite(rewrite[k]->partition, catalog));
        bytes += Encode(*rewrite[k]).size();
      }
      LIFEBOAT_RETURN_IF_ERROR(c.AlterPartitions(Db(), name, batch, &env));
    }
    for (const auto* p : drop) {
      Status d = c.DropPartition(Db(), name, p->partition.values, /*delete_data=*/false, &env);
      if (!d.ok() && d.code() != Code::kNotFound) return d;
    }
  }

  // Partition statistics.
  std::set<std::string> rewritten_parts;
  for (const auto* p : add) rewritten_parts.insert(p->name);
  for (const auto* p : alter) rewritten_parts.insert(p->name);
  for (const auto& p : want.partitions) {
    auto it = have.find(p.name);
    const std::vector<thrift::ColumnStatisticsObj> none;
    const auto& live_stats = it == have.end() ? none : it->second->statistics;
    const bool differ = !SameStats(live_stats, p.statistics);
    if (!differ && !(rewritten_parts.count(p.name) && !p.statistics.empty())) continue;
    if (differ && it != have.end() && !writing()) {
      Add(out, path + "/" + p.name, "differs", "column statistics of partition " + p.name);
    }
    if (!writing()) continue;
    if (!p.statistics.empty()) {
      thrift::ColumnStatistics stats;
      stats.statsDesc.isTblLevel = false;
      stats.statsDesc.dbName = Db();
      stats.statsDesc.tableName = name;
      stats.statsDesc.__set_partName(p.name);
      stats.statsDesc.__set_catName(catalog);
      stats.statsObj = p.statistics;
      LIFEBOAT_RETURN_IF_ERROR(c.UpdateColumnStatistics(stats));
    }
    std::set<std::string> keep;
    for (const auto& s : p.statistics) keep.insert(s.colName);
    for (const auto& s : live_stats) {
      if (keep.count(s.colName)) continue;
      Status d = c.DeletePartitionColumnStatistics(Db(), name, p.name, s.colName);
      if (!d.ok() && d.code() != Code::kNotFound) return d;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_fks_[name] = live->header.constraints.foreignKeys;
  }
  return OkStatus();
}

Status Applier::RunForeignKeys(MetastoreClient& c, const PointState& desired) {
  for (const auto& [point_name, t] : desired.tables) {
    TableState want = Localize(t);
    const std::string name = want.header.table.tableName;
    std::vector<thrift::SQLForeignKey> have;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = live_fks_.find(name);
      if (it != live_fks_.end()) have = it->second;
    }
    store::TableObject live_obj;
    live_obj.constraints.__set_foreignKeys(have);
    std::vector<thrift::SQLForeignKey> live_c =
        CanonicalConstraints(live_obj, /*fks=*/true).foreignKeys;
    std::vector<thrift::SQLForeignKey> need = CanonicalConstraints(want.header, true).foreignKeys;
    std::vector<std::string> drop;
    std::vector<thrift::SQLForeignKey> add;
    DiffConstraints(
        live_c, need, [](const auto& x) { return x.fk_name; }, drop, add);
    if (drop.empty() && add.empty()) continue;
    Add(changes_, Db() + "/" + name, "differs",
        "foreign keys of " + Db() + "." + name + ": drop " + std::to_string(drop.size()) +
            ", add " + std::to_string(add.size()) + " row(s)");
    if (!writing()) continue;
    for (const auto& n : drop) LIFEBOAT_RETURN_IF_ERROR(c.DropConstraint(Db(), name, n));
    if (!add.empty()) {
      thrift::SQLAllTableConstraints k;
      k.__set_foreignKeys(add);
      LIFEBOAT_RETURN_IF_ERROR(c.AddConstraints(k));
    }
  }
  return OkStatus();
}

Status Applier::RunFunctions(MetastoreClient& c, const store::DatabaseObject& point) {
  store::DatabaseObject want = Localize(point);
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<store::DatabaseObject> live, ReadDatabase(c, Db()));
  std::map<std::string, thrift::Function> have;
  if (live) {
    for (auto& f : CanonicalDatabase(*live, LocationRewriter()).functions) {
      have[f.functionName] = f;
    }
  }
  std::set<std::string> wanted;
  for (const auto& f : CanonicalDatabase(want, LocationRewriter()).functions) {
    wanted.insert(f.functionName);
    auto it = have.find(f.functionName);
    const std::string path = Db();
    if (it == have.end()) {
      Add(changes_, path, "missing", "create function " + Db() + "." + f.functionName);
      if (writing()) LIFEBOAT_RETURN_IF_ERROR(c.CreateFunction(f));
    } else if (!(it->second == f)) {
      Add(changes_, path, "differs", "alter function " + Db() + "." + f.functionName);
      if (writing()) LIFEBOAT_RETURN_IF_ERROR(c.AlterFunction(Db(), f.functionName, f));
    }
  }
  for (const auto& [n, f] : have) {
    if (wanted.count(n)) continue;
    Add(changes_, Db(), "extra", "drop function " + Db() + "." + n);
    if (writing()) LIFEBOAT_RETURN_IF_ERROR(c.DropFunction(Db(), n));
  }
  return OkStatus();
}

Status Applier::DropTable(MetastoreClient& c, const std::string& name) {
  Add(changes_, Db() + "/" + name, "extra",
      "drop table " + Db() + "." + name + " (its files are kept)");
  if (!writing()) return OkStatus();
  thrift::EnvironmentContext env = Env();
  Status s = c.DropTable(Db(), name, /*delete_data=*/false, &env);
  return s.code() == Code::kNotFound ? OkStatus() : s;
}

}  // namespace lifeboat::hive
