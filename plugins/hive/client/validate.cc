#include "validate.h"

#include <string>
#include <string_view>

namespace lifeboat::hive {

namespace {

Status NotSet(std::string_view field) {
  return InvalidArgumentError(std::string(field) +
                              " is not set: set it with __set_<field>() (a field assigned "
                              "without its __isset flag is not sent to the metastore)");
}

Status Empty(std::string_view field) {
  return InvalidArgumentError(std::string(field) + " is empty: give a value or leave it unset");
}

// A field the write needs: set and not empty.
Status Required(bool isset, const std::string& value, std::string_view field) {
  if (!isset) return NotSet(field);
  if (value.empty()) return Empty(field);
  return OkStatus();
}

// A location: unset (the metastore picks one) or not empty.
Status Location(bool isset, const std::string& value, std::string_view field) {
  if (isset && value.empty()) {
    return InvalidArgumentError(std::string(field) +
                                " is set but empty: the metastore refuses an empty location; "
                                "leave it unset to get the default one");
  }
  return OkStatus();
}

}  // namespace

Status CheckDatabaseForWrite(const thrift::Database& db) {
  LIFEBOAT_RETURN_IF_ERROR(Required(db.__isset.name, db.name, "Database.name"));
  LIFEBOAT_RETURN_IF_ERROR(
      Location(db.__isset.locationUri, db.locationUri, "Database.locationUri"));
  return Location(db.__isset.managedLocationUri, db.managedLocationUri,
                  "Database.managedLocationUri");
}

Status CheckTableForWrite(const thrift::Table& table) {
  LIFEBOAT_RETURN_IF_ERROR(Required(table.__isset.dbName, table.dbName, "Table.dbName"));
  LIFEBOAT_RETURN_IF_ERROR(Required(table.__isset.tableName, table.tableName, "Table.tableName"));
  if (!table.__isset.sd) return NotSet("Table.sd");
  return Location(table.sd.__isset.location, table.sd.location, "Table.sd.location");
}

Status CheckPartitionForWrite(const thrift::Partition& partition) {
  if (!partition.__isset.values) return NotSet("Partition.values");
  if (partition.values.empty()) return Empty("Partition.values");
  LIFEBOAT_RETURN_IF_ERROR(
      Required(partition.__isset.dbName, partition.dbName, "Partition.dbName"));
  LIFEBOAT_RETURN_IF_ERROR(
      Required(partition.__isset.tableName, partition.tableName, "Partition.tableName"));
  if (!partition.__isset.sd) return NotSet("Partition.sd");
  return Location(partition.sd.__isset.location, partition.sd.location, "Partition.sd.location");
}

Status CheckFunctionForWrite(const thrift::Function& function) {
  LIFEBOAT_RETURN_IF_ERROR(
      Required(function.__isset.functionName, function.functionName, "Function.functionName"));
  LIFEBOAT_RETURN_IF_ERROR(Required(function.__isset.dbName, function.dbName, "Function.dbName"));
  return Required(function.__isset.className, function.className, "Function.className");
}

Status CheckColumnStatisticsForWrite(const thrift::ColumnStatistics& stats) {
  // Required fields are always sent; only emptiness can be wrong.
  if (stats.statsDesc.dbName.empty()) return Empty("ColumnStatistics.statsDesc.dbName");
  if (stats.statsDesc.tableName.empty()) return Empty("ColumnStatistics.statsDesc.tableName");
  if (!stats.statsDesc.isTblLevel) {
    LIFEBOAT_RETURN_IF_ERROR(Required(stats.statsDesc.__isset.partName, stats.statsDesc.partName,
                                      "ColumnStatistics.statsDesc.partName"));
  }
  for (const auto& obj : stats.statsObj) {
    const auto& d = obj.statsData.__isset;
    const bool any = d.booleanStats || d.longStats || d.doubleStats || d.stringStats ||
                     d.binaryStats || d.decimalStats || d.dateStats || d.timestampStats;
    if (!any) {
      return InvalidArgumentError("ColumnStatisticsObj.statsData of column " + obj.colName +
                                  " has no kind of statistics set (one __set_<kind>Stats())");
    }
  }
  return OkStatus();
}

}  // namespace lifeboat::hive
