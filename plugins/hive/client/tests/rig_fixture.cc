#include "rig_fixture.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace lifeboat::hive::testing {

Metastore MetastoreFrom(const nlohmann::json& endpoints, const std::string& cluster) {
  const nlohmann::json& c = endpoints.at("clusters").at(cluster);
  Metastore m;
  m.name = cluster;
  const std::string thrift = c.at("thrift").get<std::string>();
  m.options.host = thrift.substr(0, thrift.rfind(':'));
  m.options.port = std::stoi(thrift.substr(thrift.rfind(':') + 1));
  m.message_format = c.at("message_format").get<std::string>();
  m.warehouse = c.at("warehouse").get<std::string>();
  m.external_warehouse = c.at("external_warehouse").get<std::string>();
  m.clean_events_request = c.at("clean_events_request").get<std::string>();
  return m;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}() % 100000;
  return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(salt) + "_" +
         std::to_string(counter++);
}

std::unique_ptr<MetastoreClient> MustConnect(const Metastore& m) {
  auto c = MetastoreClient::Connect(m.options);
  EXPECT_TRUE(c.ok()) << m.name << ": " << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

thrift::Database SampleDatabase(const std::string& name, const std::string& warehouse) {
  thrift::Database db;
  db.__set_name(name);
  db.__set_description("Lifeboat's client test database");
  db.__set_locationUri(warehouse + "/" + name + ".db");
  db.__set_parameters({{"owner.team", "dr"}, {"lifeboat.test", "1"}});
  db.__set_ownerName("lifeboat");
  db.__set_ownerType(thrift::PrincipalType::USER);
  return db;
}

namespace {

thrift::FieldSchema Col(const std::string& name, const std::string& type,
                        const std::string& comment) {
  thrift::FieldSchema f;
  f.__set_name(name);
  f.__set_type(type);
  f.__set_comment(comment);
  return f;
}

}  // namespace

thrift::Table SampleTable(const std::string& db, const std::string& name,
                          const std::string& location) {
  thrift::StorageDescriptor sd;
  sd.__set_cols({Col("id", "bigint", "order id"), Col("price", "double", "unit price"),
                 Col("name", "string", "customer"), Col("active", "boolean", ""),
                 Col("payload", "binary", "raw"), Col("amount", "decimal(10,2)", "total"),
                 Col("day", "date", "order day"), Col("ts", "timestamp", "when")});
  if (!location.empty()) sd.__set_location(location);
  sd.__set_inputFormat("org.apache.hadoop.mapred.TextInputFormat");
  sd.__set_outputFormat("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat");
  sd.compressed = true;
  sd.numBuckets = 4;
  thrift::SerDeInfo serde;
  serde.__set_name("orders_serde");
  serde.__set_serializationLib("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe");
  serde.__set_parameters({{"field.delim", ","}, {"serialization.format", ","}});
  serde.__set_description("comma separated");
  serde.__set_serializerClass("org.example.OrdersSerializer");
  serde.__set_deserializerClass("org.example.OrdersDeserializer");
  serde.__set_serdeType(thrift::SerdeType::HIVE);
  sd.__set_serdeInfo(serde);
  sd.__set_bucketCols({"id"});
  thrift::Order order;
  order.__set_col("id");
  order.order = 1;
  sd.__set_sortCols({order});
  sd.__set_parameters({{"sd.key", "sd value"}});
  thrift::SkewedInfo skew;
  skew.__set_skewedColNames({"name"});
  skew.__set_skewedColValues({{"alice"}, {"bob"}});
  if (!location.empty()) {
    skew.__set_skewedColValueLocationMaps({{{"alice"}, location + "/name=alice"}});
  }
  sd.__set_skewedInfo(skew);
  sd.__set_storedAsSubDirectories(true);

  thrift::Table t;
  t.__set_dbName(db);
  t.__set_tableName(name);
  t.__set_owner("lifeboat");
  t.__set_ownerType(thrift::PrincipalType::USER);
  t.retention = 7;
  t.__set_sd(sd);
  t.__set_partitionKeys({Col("dt", "string", "day"), Col("country", "string", "iso code")});
  t.__set_parameters({{"EXTERNAL", "TRUE"}, {"comment", "orders"}, {"lifeboat.test", "1"}});
  t.__set_tableType("EXTERNAL_TABLE");
  return t;
}

thrift::Partition SamplePartition(const thrift::Table& table, const std::string& dt,
                                  const std::string& country, const std::string& location) {
  thrift::Partition p;
  p.__set_values({dt, country});
  p.__set_dbName(table.dbName);
  p.__set_tableName(table.tableName);
  thrift::StorageDescriptor sd = table.sd;
  sd.__set_location(location);
  sd.__set_inputFormat("org.apache.hadoop.hive.ql.io.orc.OrcInputFormat");
  sd.__set_parameters({{"partition.sd", dt}});
  sd.skewedInfo.__isset.skewedColValueLocationMaps = false;
  sd.skewedInfo.skewedColValueLocationMaps.clear();
  p.__set_sd(sd);
  p.__set_parameters({{"source", "lifeboat"}, {"dt", dt}});
  return p;
}

thrift::Table SampleView(const std::string& db, const std::string& name,
                         const std::string& over_table) {
  thrift::StorageDescriptor sd;
  sd.__set_cols({Col("id", "bigint", ""), Col("price", "double", "")});
  sd.__set_serdeInfo(thrift::SerDeInfo());
  sd.serdeInfo.__set_parameters({});
  sd.__set_bucketCols({});
  sd.__set_sortCols({});
  sd.__set_parameters({});
  thrift::Table v;
  v.__set_dbName(db);
  v.__set_tableName(name);
  v.__set_owner("lifeboat");
  v.__set_sd(sd);
  v.__set_partitionKeys({});
  v.__set_parameters({{"comment", "a view"}});
  v.__set_viewOriginalText("select id, price from " + over_table);
  v.__set_viewExpandedText("select `" + over_table + "`.`id`, `" + over_table + "`.`price` from `" +
                           db + "`.`" + over_table + "`");
  v.__set_tableType("VIRTUAL_VIEW");
  return v;
}

thrift::Function SampleFunction(const std::string& db, const std::string& name) {
  thrift::Function f;
  f.__set_functionName(name);
  f.__set_dbName(db);
  f.__set_className("org.example.udf.Upper");
  f.__set_ownerName("lifeboat");
  f.ownerType = thrift::PrincipalType::USER;
  f.createTime = 1700000000;
  f.functionType = thrift::FunctionType::JAVA;
  thrift::ResourceUri jar;
  jar.resourceType = thrift::ResourceType::JAR;
  jar.__set_uri("file:///opt/udfs/upper.jar");
  thrift::ResourceUri file;
  file.resourceType = thrift::ResourceType::FILE;
  file.__set_uri("file:///opt/udfs/upper.conf");
  f.__set_resourceUris({jar, file});
  return f;
}

thrift::ColumnStatistics SampleStatistics(const std::string& db, const std::string& table,
                                          const std::string& partition) {
  thrift::ColumnStatistics cs;
  cs.statsDesc.isTblLevel = partition.empty();
  cs.statsDesc.dbName = db;
  cs.statsDesc.tableName = table;
  if (!partition.empty()) cs.statsDesc.__set_partName(partition);
  cs.statsDesc.__set_lastAnalyzed(1700000000);
  cs.statsDesc.__set_catName("hive");
  cs.__set_engine("hive");
  auto add = [&](const std::string& col, const std::string& type,
                 const std::function<void(thrift::ColumnStatisticsData&)>& set) {
    thrift::ColumnStatisticsObj o;
    o.colName = col;
    o.colType = type;
    set(o.statsData);
    cs.statsObj.push_back(o);
  };
  add("id", "bigint", [](auto& d) {
    thrift::LongColumnStatsData s;
    s.__set_lowValue(1);
    s.__set_highValue(1000);
    s.numNulls = 0;
    s.numDVs = 1000;
    d.__set_longStats(s);
  });
  add("price", "double", [](auto& d) {
    thrift::DoubleColumnStatsData s;
    s.__set_lowValue(0.5);
    s.__set_highValue(99.5);
    s.numNulls = 2;
    s.numDVs = 50;
    d.__set_doubleStats(s);
  });
  add("name", "string", [](auto& d) {
    thrift::StringColumnStatsData s;
    s.maxColLen = 20;
    s.avgColLen = 7.5;
    s.numNulls = 3;
    s.numDVs = 40;
    d.__set_stringStats(s);
  });
  add("active", "boolean", [](auto& d) {
    thrift::BooleanColumnStatsData s;
    s.numTrues = 10;
    s.numFalses = 5;
    s.numNulls = 1;
    d.__set_booleanStats(s);
  });
  add("payload", "binary", [](auto& d) {
    thrift::BinaryColumnStatsData s;
    s.maxColLen = 100;
    s.avgColLen = 50.25;
    s.numNulls = 0;
    d.__set_binaryStats(s);
  });
  add("amount", "decimal(10,2)", [](auto& d) {
    thrift::DecimalColumnStatsData s;
    thrift::Decimal low;
    low.scale = 2;
    low.unscaled = std::string("\x01\x00", 2);  // 2.56
    thrift::Decimal high;
    high.scale = 2;
    high.unscaled = std::string("\x27\x10", 2);  // 100.00
    s.__set_lowValue(low);
    s.__set_highValue(high);
    s.numNulls = 4;
    s.numDVs = 60;
    d.__set_decimalStats(s);
  });
  add("day", "date", [](auto& d) {
    thrift::DateColumnStatsData s;
    thrift::Date low;
    low.daysSinceEpoch = 19000;
    thrift::Date high;
    high.daysSinceEpoch = 19500;
    s.__set_lowValue(low);
    s.__set_highValue(high);
    s.numNulls = 0;
    s.numDVs = 200;
    d.__set_dateStats(s);
  });
  add("ts", "timestamp", [](auto& d) {
    thrift::TimestampColumnStatsData s;
    thrift::Timestamp low;
    low.secondsSinceEpoch = 1700000000;
    thrift::Timestamp high;
    high.secondsSinceEpoch = 1700086400;
    s.__set_lowValue(low);
    s.__set_highValue(high);
    s.numNulls = 0;
    s.numDVs = 300;
    d.__set_timestampStats(s);
  });
  return cs;
}

std::string DeleteEventsUpTo(const Metastore& m, int64_t up_to) {
  namespace fs = std::filesystem;
  const fs::path req = m.clean_events_request;
  const fs::path failed = req.string() + ".failed";
  const fs::path tmp = req.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << up_to << "\n";
  }
  fs::rename(tmp, req);
  // The launcher polls every 100 ms; a minute is far beyond a loaded machine's delay.
  for (int i = 0; i < 600; ++i) {
    if (fs::exists(failed)) {
      std::ifstream in(failed);
      std::string why((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return "the rig could not delete the events: " + why;
    }
    if (!fs::exists(req)) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "the rig did not serve " + req.string() + " within 60 s";
}

}  // namespace lifeboat::hive::testing
