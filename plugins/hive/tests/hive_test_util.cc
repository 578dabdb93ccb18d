#include "hive_test_util.h"

#include <gtest/gtest.h>
#include <lifeboat/sdk/digest.h>

#include "reader.h"

namespace lifeboat::hive::testing {
namespace {

std::string Describe(const std::string& bytes) {
  return "bytes=" + std::to_string(bytes.size()) + " sha256=" + sdk::Hex(sdk::Sha256Of(bytes));
}

thrift::FieldSchema Col(const std::string& name, const std::string& type) {
  thrift::FieldSchema f;
  f.__set_name(name);
  f.__set_type(type);
  f.__set_comment("column " + name);
  return f;
}

}  // namespace

thrift::Table MakeTable(const std::string& db, const std::string& name, const std::string& location,
                        bool partitioned) {
  thrift::StorageDescriptor sd;
  sd.__set_cols({Col("id", "bigint"), Col("name", "string"), Col("price", "double")});
  sd.__set_location(location);
  sd.__set_inputFormat("org.apache.hadoop.mapred.TextInputFormat");
  sd.__set_outputFormat("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat");
  thrift::SerDeInfo serde;
  serde.__set_name(name);
  serde.__set_serializationLib("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe");
  serde.__set_parameters({{"field.delim", ","}});
  sd.__set_serdeInfo(serde);
  sd.__set_bucketCols({});
  sd.__set_sortCols({});
  sd.__set_parameters({});
  thrift::Table t;
  t.__set_dbName(db);
  t.__set_tableName(name);
  t.__set_owner("lifeboat");
  t.__set_ownerType(thrift::PrincipalType::USER);
  t.__set_sd(sd);
  t.__set_partitionKeys(partitioned ? std::vector<thrift::FieldSchema>{Col("dt", "string")}
                                    : std::vector<thrift::FieldSchema>{});
  t.__set_parameters({{"EXTERNAL", "TRUE"}, {"comment", name}});
  t.__set_tableType("EXTERNAL_TABLE");
  return t;
}

thrift::Partition MakePartition(const thrift::Table& t, const std::string& dt) {
  thrift::Partition p;
  p.__set_values({dt});
  p.__set_dbName(t.dbName);
  p.__set_tableName(t.tableName);
  thrift::StorageDescriptor sd = t.sd;
  sd.__set_location(t.sd.location + "/dt=" + dt);
  p.__set_sd(sd);
  p.__set_parameters({{"source", "lifeboat-test"}});
  return p;
}

std::map<std::string, std::string> Capture(MetastoreClient& c, const std::string& db,
                                           const LocationRewriter& rw) {
  std::map<std::string, std::string> out;
  auto database = ReadDatabase(c, db);
  EXPECT_TRUE(database.ok()) << database.status().ToString();
  if (!database.ok() || !database->has_value()) return out;
  store::DatabaseObject d = CanonicalDatabase(**database, rw);
  d.database.name.clear();
  d.database.locationUri.clear();  // a restore under a new name gets the default location
  for (auto& f : d.functions) f.dbName.clear();
  out["(database)"] = Describe(Encode(d));
  auto tables = c.GetAllTables(db);
  EXPECT_TRUE(tables.ok()) << tables.status().ToString();
  if (!tables.ok()) return out;
  for (const std::string& name : *tables) {
    auto state = ReadTable(c, db, name, /*with_partitions=*/true);
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    if (!state.ok() || !state->has_value()) continue;
    store::TableObject t = CanonicalTable((*state)->header, rw);
    t.table.dbName.clear();
    out[name] = Describe(Encode(t));
    for (const auto& p : (*state)->partitions) {
      store::PartitionEntry e = CanonicalPartition(p, rw);
      e.partition.dbName.clear();
      out[name + "/" + e.name] = Describe(Encode(e));
    }
  }
  return out;
}

std::vector<std::string> Locations(MetastoreClient& c, const std::string& db) {
  std::vector<std::string> out;
  auto d = c.GetDatabase(db);
  if (d.ok()) out.push_back(d->locationUri);
  auto tables = c.GetAllTables(db);
  if (!tables.ok()) return out;
  for (const std::string& name : *tables) {
    auto t = c.GetTable(db, name);
    if (!t.ok()) continue;
    if (!t->sd.location.empty()) out.push_back(t->sd.location);
    auto parts = c.GetPartitions(db, name);
    if (!parts.ok()) continue;
    for (const auto& p : *parts) out.push_back(p.sd.location);
  }
  return out;
}

}  // namespace lifeboat::hive::testing
