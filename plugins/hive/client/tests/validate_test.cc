// The checks a write makes before it sends an object (validate.h).
#include <gtest/gtest.h>

#include "validate.h"

namespace lifeboat::hive {
namespace {

thrift::Table GoodTable() {
  thrift::Table t;
  t.__set_dbName("sales");
  t.__set_tableName("orders");
  t.__set_sd(thrift::StorageDescriptor());
  return t;
}

TEST(Validate, DatabaseNeedsANameAndRefusesEmptyLocations) {
  thrift::Database db;
  db.name = "assigned_without_isset";
  Status unset = CheckDatabaseForWrite(db);
  EXPECT_EQ(unset.code(), Code::kInvalidArgument);
  EXPECT_NE(unset.message().find("Database.name is not set"), std::string::npos) << unset.message();
  db.__set_name("sales");
  EXPECT_TRUE(CheckDatabaseForWrite(db).ok());
  db.__set_locationUri("");
  Status empty = CheckDatabaseForWrite(db);
  EXPECT_EQ(empty.code(), Code::kInvalidArgument);
  EXPECT_NE(empty.message().find("leave it unset"), std::string::npos) << empty.message();
  db.__set_locationUri("hdfs://nn:8020/warehouse/sales.db");
  EXPECT_TRUE(CheckDatabaseForWrite(db).ok());
}

TEST(Validate, TableNeedsNamesAndAStorageDescriptor) {
  EXPECT_TRUE(CheckTableForWrite(GoodTable()).ok());
  thrift::Table t = GoodTable();
  t.__isset.sd = false;
  EXPECT_NE(CheckTableForWrite(t).message().find("Table.sd is not set"), std::string::npos);
  t = GoodTable();
  t.__set_tableName("");
  EXPECT_NE(CheckTableForWrite(t).message().find("Table.tableName is empty"), std::string::npos);
  t = GoodTable();
  t.sd.__set_location("");
  EXPECT_EQ(CheckTableForWrite(t).code(), Code::kInvalidArgument);
}

TEST(Validate, PartitionFunctionAndStatistics) {
  thrift::Partition p;
  EXPECT_NE(CheckPartitionForWrite(p).message().find("Partition.values is not set"),
            std::string::npos);
  p.__set_values({"2024-01-01"});
  p.__set_dbName("sales");
  p.__set_tableName("orders");
  p.__set_sd(thrift::StorageDescriptor());
  EXPECT_TRUE(CheckPartitionForWrite(p).ok());

  thrift::Function f;
  f.__set_functionName("f");
  f.__set_dbName("sales");
  EXPECT_NE(CheckFunctionForWrite(f).message().find("Function.className"), std::string::npos);

  thrift::ColumnStatistics cs;
  cs.statsDesc.dbName = "sales";
  cs.statsDesc.tableName = "orders";
  cs.statsDesc.isTblLevel = false;
  EXPECT_NE(CheckColumnStatisticsForWrite(cs).message().find("partName"), std::string::npos);
  cs.statsDesc.isTblLevel = true;
  cs.statsObj.emplace_back();
  cs.statsObj.back().colName = "id";
  EXPECT_NE(CheckColumnStatisticsForWrite(cs).message().find("column id"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::hive
