// Partitions, functions, column statistics and constraints.
#include <thrift/TApplicationException.h>

#include "ThriftHiveMetastore.h"
#include "client_util.h"
#include "metastore_client.h"
#include "validate.h"

namespace lifeboat::hive {

namespace {

// "db.table/dt=1/country=de" from partition values (the names are the caller's business; this
// is only for messages).
std::string PartitionSubject(std::string_view db, std::string_view table,
                             const std::vector<std::string>& values) {
  std::string out = Subject(db, table);
  for (const auto& v : values) out += "/" + v;
  return out;
}

}  // namespace

// ---- Partitions ----

StatusOr<std::vector<std::string>> MetastoreClient::GetPartitionNames(std::string_view db,
                                                                      std::string_view table,
                                                                      int16_t max) {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_partition_names", Subject(db, table), [&](auto& c) {
    c.get_partition_names(names, std::string(db), std::string(table), max);
  }));
  return names;
}

StatusOr<std::vector<thrift::Partition>> MetastoreClient::GetPartitions(std::string_view db,
                                                                        std::string_view table,
                                                                        int16_t max) {
  std::vector<thrift::Partition> parts;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_partitions", Subject(db, table), [&](auto& c) {
    c.get_partitions(parts, std::string(db), std::string(table), max);
  }));
  return parts;
}

StatusOr<std::vector<thrift::Partition>> MetastoreClient::GetPartitionsByNames(
    std::string_view db, std::string_view table, const std::vector<std::string>& names) {
  thrift::GetPartitionsByNamesRequest req;
  req.db_name = std::string(db);
  req.tbl_name = std::string(table);
  req.__set_names(names);
  thrift::GetPartitionsByNamesResult result;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_partitions_by_names_req", Subject(db, table),
                                  [&](auto& c) { c.get_partitions_by_names_req(result, req); }));
  return std::move(result.partitions);
}

StatusOr<std::vector<thrift::Partition>> MetastoreClient::AddPartitions(
    std::string_view db, std::string_view table, const std::vector<thrift::Partition>& parts,
    bool if_not_exists, const thrift::EnvironmentContext* env) {
  for (const auto& p : parts) LIFEBOAT_RETURN_IF_ERROR(CheckPartitionForWrite(p));
  thrift::AddPartitionsRequest req;
  req.dbName = std::string(db);
  req.tblName = std::string(table);
  req.parts = parts;
  req.ifNotExists = if_not_exists;
  req.__set_needResult(true);
  req.__set_catName(options_.catalog);
  if (env != nullptr) req.__set_environmentContext(*env);
  thrift::AddPartitionsResult result;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("add_partitions_req", Subject(db, table),
                                  [&](auto& c) { c.add_partitions_req(result, req); }));
  return std::move(result.partitions);
}

Status MetastoreClient::AlterPartitions(std::string_view db, std::string_view table,
                                        const std::vector<thrift::Partition>& parts,
                                        const thrift::EnvironmentContext* env) {
  for (const auto& p : parts) LIFEBOAT_RETURN_IF_ERROR(CheckPartitionForWrite(p));
  thrift::AlterPartitionsRequest req;
  req.__set_catName(options_.catalog);
  req.dbName = std::string(db);
  req.tableName = std::string(table);
  req.partitions = parts;
  if (env != nullptr) req.__set_environmentContext(*env);
  thrift::AlterPartitionsResponse response;
  return Invoke("alter_partitions_req", Subject(db, table),
                [&](auto& c) { c.alter_partitions_req(response, req); });
}

Status MetastoreClient::DropPartition(std::string_view db, std::string_view table,
                                      const std::vector<std::string>& values, bool delete_data,
                                      const thrift::EnvironmentContext* env) {
  const thrift::EnvironmentContext context = env != nullptr ? *env : thrift::EnvironmentContext();
  bool dropped = false;
  LIFEBOAT_RETURN_IF_ERROR(Invoke(
      "drop_partition_with_environment_context", PartitionSubject(db, table, values), [&](auto& c) {
        dropped = c.drop_partition_with_environment_context(std::string(db), std::string(table),
                                                            values, delete_data, context);
      }));
  if (!dropped) {
    return NotFoundError("hive metastore " + endpoint_ +
                         ": drop_partition_with_environment_context(" +
                         PartitionSubject(db, table, values) + "): the metastore dropped nothing");
  }
  return OkStatus();
}

// ---- Functions ----

StatusOr<std::vector<std::string>> MetastoreClient::GetFunctions(std::string_view db,
                                                                 std::string_view pattern) {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_functions", std::string(db), [&](auto& c) {
    c.get_functions(names, std::string(db), std::string(pattern));
  }));
  return names;
}

StatusOr<thrift::Function> MetastoreClient::GetFunction(std::string_view db,
                                                        std::string_view name) {
  thrift::Function f;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_function", Subject(db, name), [&](auto& c) {
    c.get_function(f, std::string(db), std::string(name));
  }));
  return f;
}

StatusOr<std::vector<thrift::Function>> MetastoreClient::GetAllFunctions() {
  thrift::GetAllFunctionsResponse response;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("get_all_functions", "", [&](auto& c) { c.get_all_functions(response); }));
  return std::move(response.functions);
}

Status MetastoreClient::CreateFunction(const thrift::Function& function) {
  LIFEBOAT_RETURN_IF_ERROR(CheckFunctionForWrite(function));
  return Invoke("create_function", Subject(function.dbName, function.functionName),
                [&](auto& c) { c.create_function(function); });
}

Status MetastoreClient::AlterFunction(std::string_view db, std::string_view name,
                                      const thrift::Function& function) {
  LIFEBOAT_RETURN_IF_ERROR(CheckFunctionForWrite(function));
  return Invoke("alter_function", Subject(db, name),
                [&](auto& c) { c.alter_function(std::string(db), std::string(name), function); });
}

Status MetastoreClient::DropFunction(std::string_view db, std::string_view name) {
  return Invoke("drop_function", Subject(db, name),
                [&](auto& c) { c.drop_function(std::string(db), std::string(name)); });
}

// ---- Column statistics ----

StatusOr<std::vector<thrift::ColumnStatisticsObj>> MetastoreClient::GetTableColumnStatistics(
    std::string_view db, std::string_view table, const std::vector<std::string>& columns) {
  thrift::TableStatsRequest req;
  req.dbName = std::string(db);
  req.tblName = std::string(table);
  req.colNames = columns;
  req.__set_catName(options_.catalog);
  req.__set_engine(kStatsEngine);
  thrift::TableStatsResult result;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_table_statistics_req", Subject(db, table),
                                  [&](auto& c) { c.get_table_statistics_req(result, req); }));
  return std::move(result.tableStats);
}

StatusOr<std::map<std::string, std::vector<thrift::ColumnStatisticsObj>>>
MetastoreClient::GetPartitionColumnStatistics(std::string_view db, std::string_view table,
                                              const std::vector<std::string>& partitions,
                                              const std::vector<std::string>& columns) {
  thrift::PartitionsStatsRequest req;
  req.dbName = std::string(db);
  req.tblName = std::string(table);
  req.colNames = columns;
  req.partNames = partitions;
  req.__set_catName(options_.catalog);
  req.__set_engine(kStatsEngine);
  thrift::PartitionsStatsResult result;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_partitions_statistics_req", Subject(db, table),
                                  [&](auto& c) { c.get_partitions_statistics_req(result, req); }));
  return std::move(result.partStats);
}

Status MetastoreClient::UpdateColumnStatistics(const thrift::ColumnStatistics& stats) {
  LIFEBOAT_RETURN_IF_ERROR(CheckColumnStatisticsForWrite(stats));
  thrift::SetPartitionsStatsRequest req;
  req.colStats = {stats};
  if (!req.colStats[0].__isset.engine) req.colStats[0].__set_engine(kStatsEngine);
  req.__set_engine(req.colStats[0].engine);
  thrift::SetPartitionsStatsResponse response;
  const auto& d = stats.statsDesc;
  std::string subject = Subject(d.dbName, d.tableName);
  if (!d.isTblLevel) subject += "/" + d.partName;
  LIFEBOAT_RETURN_IF_ERROR(Invoke(d.isTblLevel ? "update_table_column_statistics_req"
                                               : "update_partition_column_statistics_req",
                                  subject, [&](auto& c) {
                                    if (d.isTblLevel) {
                                      c.update_table_column_statistics_req(response, req);
                                    } else {
                                      c.update_partition_column_statistics_req(response, req);
                                    }
                                  }));
  if (!response.result) {
    return InternalError("hive metastore " + endpoint_ + ": updating the column statistics of " +
                         subject + ": the metastore answered false");
  }
  return OkStatus();
}

Status MetastoreClient::DeleteTableColumnStatistics(std::string_view db, std::string_view table,
                                                    std::string_view column) {
  return Invoke("delete_table_column_statistics", Subject(db, table) + "." + std::string(column),
                [&](auto& c) {
                  c.delete_table_column_statistics(std::string(db), std::string(table),
                                                   std::string(column), kStatsEngine);
                });
}

Status MetastoreClient::DeletePartitionColumnStatistics(std::string_view db, std::string_view table,
                                                        std::string_view partition,
                                                        std::string_view column) {
  return Invoke("delete_partition_column_statistics",
                Subject(db, table) + "/" + std::string(partition) + "." + std::string(column),
                [&](auto& c) {
                  c.delete_partition_column_statistics(std::string(db), std::string(table),
                                                       std::string(partition), std::string(column),
                                                       kStatsEngine);
                });
}

// ---- Constraints ----

StatusOr<TableConstraints> MetastoreClient::GetTableConstraints(std::string_view db,
                                                                std::string_view table) {
  thrift::AllTableConstraintsRequest req;
  req.dbName = std::string(db);
  req.tblName = std::string(table);
  req.catName = options_.catalog;
  thrift::AllTableConstraintsResponse response;
  Status st = Invoke("get_all_table_constraints", Subject(db, table),
                     [&](auto& c) { c.get_all_table_constraints(response, req); });
  if (st.ok()) {
    // Every kind as a (possibly empty) list, whatever the server left unset.
    TableConstraints& k = response.allTableConstraints;
    k.__isset.primaryKeys = k.__isset.foreignKeys = k.__isset.uniqueConstraints = true;
    k.__isset.notNullConstraints = k.__isset.defaultConstraints = true;
    k.__isset.checkConstraints = true;
    return std::move(k);
  }
  if (st.code() != Code::kUnimplemented) return st;
  // A metastore before Hive 4 has only the per-kind calls.
  TableConstraints k;
  LIFEBOAT_ASSIGN_OR_RETURN(auto pk, GetPrimaryKeys(db, table));
  k.__set_primaryKeys(std::move(pk));
  LIFEBOAT_ASSIGN_OR_RETURN(auto fk, GetForeignKeys(db, table));
  k.__set_foreignKeys(std::move(fk));
  LIFEBOAT_ASSIGN_OR_RETURN(auto uk, GetUniqueConstraints(db, table));
  k.__set_uniqueConstraints(std::move(uk));
  LIFEBOAT_ASSIGN_OR_RETURN(auto nn, GetNotNullConstraints(db, table));
  k.__set_notNullConstraints(std::move(nn));
  LIFEBOAT_ASSIGN_OR_RETURN(auto dc, GetDefaultConstraints(db, table));
  k.__set_defaultConstraints(std::move(dc));
  LIFEBOAT_ASSIGN_OR_RETURN(auto cc, GetCheckConstraints(db, table));
  k.__set_checkConstraints(std::move(cc));
  return k;
}

StatusOr<std::vector<thrift::SQLPrimaryKey>> MetastoreClient::GetPrimaryKeys(
    std::string_view db, std::string_view table) {
  thrift::PrimaryKeysRequest req;
  req.db_name = std::string(db);
  req.tbl_name = std::string(table);
  req.__set_catName(options_.catalog);
  thrift::PrimaryKeysResponse response;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_primary_keys", Subject(db, table),
                                  [&](auto& c) { c.get_primary_keys(response, req); }));
  return std::move(response.primaryKeys);
}

StatusOr<std::vector<thrift::SQLForeignKey>> MetastoreClient::GetForeignKeys(
    std::string_view db, std::string_view table) {
  // The referencing side given, the referenced side left unset (null): every foreign key of
  // `table`. An empty string there would match no parent table at all.
  thrift::ForeignKeysRequest req;
  req.__set_foreign_db_name(std::string(db));
  req.__set_foreign_tbl_name(std::string(table));
  req.__set_catName(options_.catalog);
  thrift::ForeignKeysResponse response;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_foreign_keys", Subject(db, table),
                                  [&](auto& c) { c.get_foreign_keys(response, req); }));
  return std::move(response.foreignKeys);
}

// The four newer kinds share one request shape.
template <typename Request>
static Request ConstraintRequest(const MetastoreOptions& o, std::string_view db,
                                 std::string_view table) {
  Request req;
  req.catName = o.catalog;
  req.db_name = std::string(db);
  req.tbl_name = std::string(table);
  return req;
}

StatusOr<std::vector<thrift::SQLUniqueConstraint>> MetastoreClient::GetUniqueConstraints(
    std::string_view db, std::string_view table) {
  auto req = ConstraintRequest<thrift::UniqueConstraintsRequest>(options_, db, table);
  thrift::UniqueConstraintsResponse response;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_unique_constraints", Subject(db, table),
                                  [&](auto& c) { c.get_unique_constraints(response, req); }));
  return std::move(response.uniqueConstraints);
}

StatusOr<std::vector<thrift::SQLNotNullConstraint>> MetastoreClient::GetNotNullConstraints(
    std::string_view db, std::string_view table) {
  auto req = ConstraintRequest<thrift::NotNullConstraintsRequest>(options_, db, table);
  thrift::NotNullConstraintsResponse response;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_not_null_constraints", Subject(db, table),
                                  [&](auto& c) { c.get_not_null_constraints(response, req); }));
  return std::move(response.notNullConstraints);
}

StatusOr<std::vector<thrift::SQLDefaultConstraint>> MetastoreClient::GetDefaultConstraints(
    std::string_view db, std::string_view table) {
  auto req = ConstraintRequest<thrift::DefaultConstraintsRequest>(options_, db, table);
  thrift::DefaultConstraintsResponse response;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_default_constraints", Subject(db, table),
                                  [&](auto& c) { c.get_default_constraints(response, req); }));
  return std::move(response.defaultConstraints);
}

StatusOr<std::vector<thrift::SQLCheckConstraint>> MetastoreClient::GetCheckConstraints(
    std::string_view db, std::string_view table) {
  auto req = ConstraintRequest<thrift::CheckConstraintsRequest>(options_, db, table);
  thrift::CheckConstraintsResponse response;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_check_constraints", Subject(db, table),
                                  [&](auto& c) { c.get_check_constraints(response, req); }));
  return std::move(response.checkConstraints);
}

Status MetastoreClient::AddConstraints(const TableConstraints& k) {
  if (!k.primaryKeys.empty()) {
    thrift::AddPrimaryKeyRequest req;
    req.primaryKeyCols = k.primaryKeys;
    const auto& c0 = k.primaryKeys[0];
    LIFEBOAT_RETURN_IF_ERROR(Invoke("add_primary_key", Subject(c0.table_db, c0.table_name),
                                    [&](auto& c) { c.add_primary_key(req); }));
  }
  if (!k.foreignKeys.empty()) {
    thrift::AddForeignKeyRequest req;
    req.foreignKeyCols = k.foreignKeys;
    const auto& c0 = k.foreignKeys[0];
    LIFEBOAT_RETURN_IF_ERROR(Invoke("add_foreign_key", Subject(c0.fktable_db, c0.fktable_name),
                                    [&](auto& c) { c.add_foreign_key(req); }));
  }
  if (!k.uniqueConstraints.empty()) {
    thrift::AddUniqueConstraintRequest req;
    req.uniqueConstraintCols = k.uniqueConstraints;
    const auto& c0 = k.uniqueConstraints[0];
    LIFEBOAT_RETURN_IF_ERROR(Invoke("add_unique_constraint", Subject(c0.table_db, c0.table_name),
                                    [&](auto& c) { c.add_unique_constraint(req); }));
  }
  if (!k.notNullConstraints.empty()) {
    thrift::AddNotNullConstraintRequest req;
    req.notNullConstraintCols = k.notNullConstraints;
    const auto& c0 = k.notNullConstraints[0];
    LIFEBOAT_RETURN_IF_ERROR(Invoke("add_not_null_constraint", Subject(c0.table_db, c0.table_name),
                                    [&](auto& c) { c.add_not_null_constraint(req); }));
  }
  if (!k.defaultConstraints.empty()) {
    thrift::AddDefaultConstraintRequest req;
    req.defaultConstraintCols = k.defaultConstraints;
    const auto& c0 = k.defaultConstraints[0];
    LIFEBOAT_RETURN_IF_ERROR(Invoke("add_default_constraint", Subject(c0.table_db, c0.table_name),
                                    [&](auto& c) { c.add_default_constraint(req); }));
  }
  if (!k.checkConstraints.empty()) {
    thrift::AddCheckConstraintRequest req;
    req.checkConstraintCols = k.checkConstraints;
    const auto& c0 = k.checkConstraints[0];
    LIFEBOAT_RETURN_IF_ERROR(Invoke("add_check_constraint", Subject(c0.table_db, c0.table_name),
                                    [&](auto& c) { c.add_check_constraint(req); }));
  }
  return OkStatus();
}

Status MetastoreClient::DropConstraint(std::string_view db, std::string_view table,
                                       std::string_view name) {
  thrift::DropConstraintRequest req;
  req.dbname = std::string(db);
  req.tablename = std::string(table);
  req.constraintname = std::string(name);
  req.__set_catName(options_.catalog);
  return Invoke("drop_constraint", Subject(db, table) + "." + std::string(name),
                [&](auto& c) { c.drop_constraint(req); });
}

}  // namespace lifeboat::hive
