#include "reader.h"

#include <algorithm>

#include "model.h"

namespace lifeboat::hive {
namespace {

// Partitions read by name in batches of this many (one answer stays far below the client's
// answer limit even with large parameters).
constexpr size_t kPartitionBatch = 500;

std::vector<std::string> ColumnNames(const thrift::Table& t) {
  std::vector<std::string> cols;
  for (const auto& c : t.sd.cols) cols.push_back(c.name);
  return cols;
}

// Whether the metastore says `params` has column statistics: it marks every column it holds
// statistics for in COLUMN_STATS_ACCURATE ({"COLUMN_STATS":{"id":"true"}}) when they are
// written (StatsSetupConst.setColumnStatsState), so objects without the mark are not asked.
bool MayHaveColumnStats(const std::map<std::string, std::string>& params) {
  auto it = params.find("COLUMN_STATS_ACCURATE");
  return it != params.end() && it->second.find("COLUMN_STATS") != std::string::npos;
}

// Appends `parts` of table `t` to `out` as entries, with the column statistics of those the
// metastore marks as having any (one call for all of them).
Status AddEntries(MetastoreClient& c, const thrift::Table& t, std::vector<thrift::Partition> parts,
                  std::vector<store::PartitionEntry>& out) {
  const std::vector<std::string> cols = ColumnNames(t);
  std::vector<std::string> with_stats;
  const size_t first = out.size();
  for (auto& p : parts) {
    store::PartitionEntry e;
    e.name = PartitionName(t.partitionKeys, p.values);
    if (MayHaveColumnStats(p.parameters)) with_stats.push_back(e.name);
    e.partition = std::move(p);
    out.push_back(std::move(e));
  }
  if (with_stats.empty() || cols.empty()) return OkStatus();
  StatusOr<std::map<std::string, std::vector<thrift::ColumnStatisticsObj>>> stats =
      c.GetPartitionColumnStatistics(t.dbName, t.tableName, with_stats, cols);
  if (!stats.ok() && stats.status().code() != Code::kNotFound) return stats.status();
  if (!stats.ok()) return OkStatus();
  for (size_t k = first; k < out.size(); ++k) {
    auto it = stats->find(out[k].name);
    if (it == stats->end()) continue;
    out[k].statistics = std::move(it->second);
    std::sort(out[k].statistics.begin(), out[k].statistics.end(),
              [](const auto& a, const auto& b) { return a.colName < b.colName; });
  }
  return OkStatus();
}

}  // namespace

ClientPool::Lease::~Lease() {
  if (pool_ != nullptr && client_ != nullptr) pool_->Return(std::move(client_));
}

StatusOr<ClientPool::Lease> ClientPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto client, MetastoreClient::Connect(options_));
  return Lease(this, std::move(client));
}

void ClientPool::Return(std::unique_ptr<MetastoreClient> client) {
  std::lock_guard<std::mutex> lock(mu_);
  if (static_cast<int>(idle_.size()) < size_) idle_.push_back(std::move(client));
}

StatusOr<std::optional<store::DatabaseObject>> ReadDatabase(MetastoreClient& c,
                                                            const std::string& db) {
  StatusOr<thrift::Database> got = c.GetDatabase(db);
  if (!got.ok()) {
    if (got.status().code() == Code::kNotFound) return std::optional<store::DatabaseObject>();
    return got.status();
  }
  store::DatabaseObject o;
  o.database = std::move(*got);
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> names, c.GetFunctions(db, "*"));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    StatusOr<thrift::Function> f = c.GetFunction(db, name);
    if (!f.ok() && f.status().code() == Code::kNotFound) continue;  // dropped meanwhile
    if (!f.ok()) return f.status();
    o.functions.push_back(std::move(*f));
  }
  return std::optional<store::DatabaseObject>(std::move(o));
}

StatusOr<std::vector<thrift::ColumnStatisticsObj>> ReadTableStatistics(MetastoreClient& c,
                                                                       const thrift::Table& t) {
  std::vector<thrift::ColumnStatisticsObj> stats;
  if (!MayHaveColumnStats(t.parameters) || t.sd.cols.empty()) return stats;
  LIFEBOAT_ASSIGN_OR_RETURN(stats,
                            c.GetTableColumnStatistics(t.dbName, t.tableName, ColumnNames(t)));
  std::sort(stats.begin(), stats.end(),
            [](const auto& a, const auto& b) { return a.colName < b.colName; });
  return stats;
}

StatusOr<std::optional<TableState>> ReadTable(MetastoreClient& c, const std::string& db,
                                              const std::string& table, bool with_partitions) {
  StatusOr<thrift::Table> got = c.GetTable(db, table);
  if (!got.ok()) {
    if (got.status().code() == Code::kNotFound) return std::optional<TableState>();
    return got.status();
  }
  TableState state;
  state.header.table = std::move(*got);
  const thrift::Table& t = state.header.table;
  if (!IsView(t)) {
    StatusOr<TableConstraints> cons = c.GetTableConstraints(db, table);
    if (!cons.ok() && cons.status().code() == Code::kNotFound) return std::optional<TableState>();
    if (!cons.ok()) return cons.status();
    state.header.constraints = std::move(*cons);
    LIFEBOAT_ASSIGN_OR_RETURN(state.header.statistics, ReadTableStatistics(c, t));
  }
  if (with_partitions && !t.partitionKeys.empty()) {
    // One get_partitions answers a table of up to kPartitionBatch partitions whole (most
    // tables); a larger one is read by name, in batches, as before. Both answers are the
    // metastore's conversion of the same rows (hive_client_rig_test checks they encode alike).
    StatusOr<std::vector<thrift::Partition>> all =
        c.GetPartitions(db, table, static_cast<int16_t>(kPartitionBatch + 1));
    if (!all.ok()) {
      if (all.status().code() == Code::kNotFound) return std::optional<TableState>();
      return all.status();
    }
    if (all->size() <= kPartitionBatch) {
      LIFEBOAT_RETURN_IF_ERROR(AddEntries(c, t, std::move(*all), state.partitions));
      std::sort(state.partitions.begin(), state.partitions.end(),
                [](const auto& a, const auto& b) { return a.name < b.name; });
    } else {
      StatusOr<std::vector<std::string>> names = c.GetPartitionNames(db, table);
      if (!names.ok()) return names.status();
      LIFEBOAT_ASSIGN_OR_RETURN(state.partitions, ReadPartitions(c, t, *names));
    }
  }
  return std::optional<TableState>(std::move(state));
}

StatusOr<std::vector<store::PartitionEntry>> ReadPartitions(MetastoreClient& c,
                                                            const thrift::Table& t,
                                                            const std::vector<std::string>& names) {
  std::vector<store::PartitionEntry> out;
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (size_t i = 0; i < sorted.size(); i += kPartitionBatch) {
    std::vector<std::string> batch(
        sorted.begin() + static_cast<long>(i),
        sorted.begin() + static_cast<long>(std::min(sorted.size(), i + kPartitionBatch)));
    StatusOr<std::vector<thrift::Partition>> parts =
        c.GetPartitionsByNames(t.dbName, t.tableName, batch);
    if (!parts.ok()) {
      if (parts.status().code() == Code::kNotFound) break;  // the table went meanwhile
      return parts.status();
    }
    LIFEBOAT_RETURN_IF_ERROR(AddEntries(c, t, std::move(*parts), out));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace lifeboat::hive
