#include "events.h"

#include <algorithm>
#include <cctype>

#include "model.h"
#include "notification_events.h"

namespace lifeboat::hive {
namespace {

constexpr int32_t kPage = 1000;
constexpr size_t kLinesKept = 20;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The partition name of `keys` (key -> value, as messages list them) in the table's key order;
// "" when the table or a key is unknown.
std::string NameFromKeys(const std::optional<thrift::Table>& table,
                         const std::map<std::string, std::string>& keys) {
  if (!table || table->partitionKeys.empty()) return "";
  std::vector<std::string> values;
  for (const auto& k : table->partitionKeys) {
    auto it = keys.find(k.name);
    if (it == keys.end()) it = keys.find(Lower(k.name));
    if (it == keys.end()) return "";
    values.push_back(it->second);
  }
  return PartitionName(table->partitionKeys, values);
}

void Note(Touched& out, const NotificationRecord& r) {
  ++out.events;
  if (out.lines.size() < kLinesKept) {
    out.lines.push_back(std::to_string(r.event_id) + " " + r.event_type + " " + r.db_name +
                        (r.table_name.empty() ? "" : "." + r.table_name));
  }
}

bool SameCols(const thrift::Table& a, const thrift::Table& b) {
  return a.sd.cols == b.sd.cols && a.partitionKeys == b.partitionKeys;
}

}  // namespace

void Touched::Merge(const Touched& other) {
  database = database || other.database;
  tables.insert(other.tables.begin(), other.tables.end());
  full_tables.insert(other.full_tables.begin(), other.full_tables.end());
  for (const auto& [t, names] : other.partitions) partitions[t].insert(names.begin(), names.end());
  events += other.events;
  for (const auto& l : other.lines) {
    if (lines.size() < kLinesKept) lines.push_back(l);
  }
}

std::string LogGap::Describe() const {
  std::string ids = first_missing == last_missing ? "event " + std::to_string(first_missing)
                                                  : "events " + std::to_string(first_missing) +
                                                        " to " + std::to_string(last_missing);
  return ids +
         " of the metastore's notification log are missing (removed by its event "
         "cleaner, metastore.event.db.listener.timetolive)";
}

Status ReadEvents(MetastoreClient& c, int64_t from, int64_t to,
                  const std::function<Status(const thrift::NotificationEvent&)>& each, LogGap* gap,
                  int64_t* read) {
  int64_t next = from + 1;  // the id expected next
  int64_t last = from;
  while (next <= to) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<thrift::NotificationEvent> page,
                              c.GetNextNotifications(last, kPage));
    if (page.empty()) break;
    for (const auto& e : page) {
      if (e.eventId > to) {
        next = to + 1;
        break;
      }
      if (e.eventId != next) {
        LogGap g{next, e.eventId - 1};
        if (gap != nullptr) *gap = g;
        return FailedPreconditionError(g.Describe());
      }
      if (read != nullptr) ++*read;
      LIFEBOAT_RETURN_IF_ERROR(each(e));
      last = e.eventId;
      ++next;
    }
    if (page.back().eventId >= to) break;
  }
  if (next <= to) {
    LogGap g{next, to};
    if (gap != nullptr) *gap = g;
    return FailedPreconditionError(g.Describe());
  }
  return OkStatus();
}

StatusOr<Touched> TouchedBetween(MetastoreClient& c, const Selector& sel, int64_t from, int64_t to,
                                 LogGap* gap, int64_t* read) {
  Touched out;
  if (to <= from) return out;
  LIFEBOAT_RETURN_IF_ERROR(ReadEvents(
      c, from, to, [&](const thrift::NotificationEvent& e) { return Classify(e, sel, out); }, gap,
      read));
  return out;
}

Status Classify(const thrift::NotificationEvent& event, const Selector& sel, Touched& out) {
  const std::string db = Lower(event.dbName);
  const std::string type = event.eventType;
  // A table renamed out of (or into) the data set is logged under its new name, so every
  // ALTER_TABLE is looked at; other events name their object.
  if (type != "ALTER_TABLE") {
    if (db != sel.db) return OkStatus();
    if (!sel.whole_db() && !event.tableName.empty() && Lower(event.tableName) != sel.table &&
        type != "ADD_FOREIGNKEY") {
      return OkStatus();
    }
    if (!sel.whole_db() && event.tableName.empty()) return OkStatus();  // database-level
  }
  StatusOr<NotificationRecord> decoded = DecodeEvent(event);
  if (!decoded.ok()) {
    return decoded.status().WithContext("notification event " + std::to_string(event.eventId) +
                                        " (" + type + ")");
  }
  const NotificationRecord& r = *decoded;
  const std::string table = Lower(r.table_name);
  auto holds = [&](const std::string& d, const std::string& t) {
    return sel.Holds(Lower(d), Lower(t));
  };
  if (type == "ALTER_TABLE") {
    bool any = false;
    const bool cols_changed =
        r.table && r.table_before && (!SameCols(*r.table, *r.table_before) || r.truncate);
    for (const auto* t : {&r.table_before, &r.table}) {
      if (!t->has_value()) continue;
      if (!holds((*t)->dbName, (*t)->tableName)) continue;
      any = true;
      const std::string name = Lower((*t)->tableName);
      // A column change may have been cascaded to the partitions (the event does not say).
      (cols_changed ? out.full_tables : out.tables).insert(name);
    }
    if (!r.table && !r.table_before && holds(r.db_name, r.table_name)) {
      any = true;
      out.full_tables.insert(table);
    }
    if (any) Note(out, r);
    return OkStatus();
  }
  Note(out, r);
  if (type == "CREATE_DATABASE" || type == "ALTER_DATABASE" || type == "DROP_DATABASE" ||
      type == "CREATE_FUNCTION" || type == "DROP_FUNCTION" || type == "ALTER_FUNCTION") {
    if (sel.whole_db()) out.database = true;
    return OkStatus();
  }
  if (type == "CREATE_TABLE" || type == "DROP_TABLE") {
    out.full_tables.insert(table);
    return OkStatus();
  }
  if (type == "ADD_PARTITION" || type == "ALTER_PARTITION" || type == "DROP_PARTITION") {
    std::set<std::string>& names = out.partitions[table];
    const auto& keys = r.table ? r.table->partitionKeys : std::vector<thrift::FieldSchema>();
    for (const auto* list : {&r.partitions, &r.partitions_before}) {
      for (const auto& p : *list) {
        if (!keys.empty()) names.insert(PartitionName(keys, p.values));
      }
    }
    for (const auto& k : r.partition_keys) {
      std::string name = NameFromKeys(r.table, k);
      if (name.empty()) {
        out.full_tables.insert(table);  // cannot name it: read them all
      } else {
        names.insert(name);
      }
    }
    if (names.empty()) out.partitions.erase(table);
    if (!r.truncate) return OkStatus();
    out.full_tables.insert(table);
    return OkStatus();
  }
  if (type == "UPDATE_PART_COL_STAT_EVENT" || type == "DELETE_PART_COL_STAT_EVENT") {
    std::string name = r.partition_name;
    if (name.empty() && r.table && !r.partition_values.empty()) {
      name = PartitionName(r.table->partitionKeys, r.partition_values);
    }
    if (name.empty()) {
      out.full_tables.insert(table);
    } else {
      out.partitions[table].insert(name);
    }
    return OkStatus();
  }
  if (type == "INSERT") {
    if (!r.partitions.empty() && r.table) {
      for (const auto& p : r.partitions) {
        out.partitions[table].insert(PartitionName(r.table->partitionKeys, p.values));
      }
    } else {
      out.tables.insert(table);
    }
    return OkStatus();
  }
  if (type == "ADD_FOREIGNKEY") {
    // Filed under the referenced table; the keys belong to the referencing ones.
    if (holds(r.db_name, r.table_name)) out.tables.insert(table);
    for (const auto& fk : r.constraints.foreignKeys) {
      if (holds(fk.fktable_db, fk.fktable_name)) out.tables.insert(Lower(fk.fktable_name));
    }
    return OkStatus();
  }
  if (table.empty()) {
    // Transactions, compaction and others at database level: nothing of ours to read.
    return OkStatus();
  }
  // Table statistics, constraints, and whatever else names a table: read the table again; a
  // kind this build does not know: read it whole.
  const bool known = type == "UPDATE_TBL_COL_STAT_EVENT" || type == "DELETE_TBL_COL_STAT_EVENT" ||
                     type.rfind("ADD_", 0) == 0 || type == "DROP_CONSTRAINT";
  (known ? out.tables : out.full_tables).insert(table);
  return OkStatus();
}

}  // namespace lifeboat::hive
