// hive_rig_tool: what the hive CLI e2e test (hive_cli_e2e_test.sh) does to the rig's
// metastores, from a shell. Reads the endpoints file named by LIFEBOAT_RIG_HIVE.
//
//   hive_rig_tool populate CLUSTER DB             a database: orders (3 partitions, statistics),
//                                                 plain, a view and a function
//   hive_rig_tool populate-at CLUSTER DB ROOT     the same with the database's directory under
//                                                 ROOT (e.g. the HDFS rig's hdfs://host:port/w)
//   hive_rig_tool create-table CLUSTER DB TABLE   a table partitioned by dt, one partition
//   hive_rig_tool alter CLUSTER DB TABLE COMMENT  sets the table's comment parameter
//   hive_rig_tool capture CLUSTER DB [FROM]       the database item by item (hive_test_util.h),
//                                                 one "item<TAB>description" line each; with
//                                                 FROM, locations under CLUSTER's warehouse
//                                                 are read as under FROM's (to compare a copy
//                                                 with FROM's capture)
//   hive_rig_tool locations CLUSTER DB            every location of the database, one a line
//   hive_rig_tool drop CLUSTER DB                 drops every database whose name holds DB
// Exit 0 on success, 1 with the reason on stderr otherwise.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "hive_test_util.h"
#include "rig_endpoints.h"
#include "rig_fixture.h"

namespace lifeboat::hive::testing {
namespace {

int Fail(const std::string& why) {
  std::cerr << "hive_rig_tool: " << why << "\n";
  return 1;
}

int Check(const Status& s, const std::string& what) {
  return s.ok() ? 0 : Fail(what + ": " + s.ToString());
}

int Run(const std::vector<std::string>& args) {
  if (args.size() < 3) return Fail("usage: hive_rig_tool COMMAND CLUSTER DB ...");
  auto endpoints = lifeboat::testing::rig::LoadEndpoints("hive");
  if (!endpoints.ok()) return Fail(endpoints.status().ToString());
  const std::string& cmd = args[0];
  const Metastore m = MetastoreFrom(*endpoints, args[1]);
  const std::string& db = args[2];
  auto connected = MetastoreClient::Connect(m.options);
  if (!connected.ok()) return Fail(connected.status().ToString());
  MetastoreClient& c = **connected;
  // populate-at puts the database under another root (an hdfs:// URI of the HDFS rig).
  const bool at = cmd == "populate-at" && args.size() == 4;
  const std::string root = at ? args[3] : m.external_warehouse;
  const std::string base = root + "/" + db;
  if (cmd == "populate" || at) {
    if (int rc = Check(c.CreateDatabase(SampleDatabase(db, root)), "database")) {
      return rc;
    }
    thrift::Table orders = SampleTable(db, "orders", base + "/orders");
    if (int rc = Check(c.CreateTable(orders), "orders")) return rc;
    std::vector<thrift::Partition> parts;
    for (const char* dt : {"2024-01-01", "2024-01-02", "2024-01-03"}) {
      parts.push_back(SamplePartition(orders, dt, "de", base + "/orders/dt=" + dt + "/country=de"));
    }
    auto added = c.AddPartitions(db, "orders", parts, false);
    if (!added.ok()) return Fail("partitions: " + added.status().ToString());
    if (int rc = Check(c.UpdateColumnStatistics(SampleStatistics(db, "orders", "")), "stats")) {
      return rc;
    }
    if (int rc = Check(c.CreateTable(MakeTable(db, "plain", base + "/plain", false)), "plain")) {
      return rc;
    }
    if (int rc = Check(c.CreateTable(SampleView(db, "orders_view", "orders")), "view")) return rc;
    return Check(c.CreateFunction(SampleFunction(db, "upper_udf")), "function");
  }
  if (cmd == "create-table" && args.size() == 4) {
    thrift::Table t = MakeTable(db, args[3], base + "/" + args[3], true);
    if (int rc = Check(c.CreateTable(t), args[3])) return rc;
    auto added = c.AddPartitions(db, args[3], {MakePartition(t, "2025-01-01")}, false);
    return added.ok() ? 0 : Fail("partition: " + added.status().ToString());
  }
  if (cmd == "alter" && args.size() == 5) {
    auto t = c.GetTable(db, args[3]);
    if (!t.ok()) return Fail(t.status().ToString());
    t->parameters["comment"] = args[4];
    return Check(c.AlterTable(db, args[3], *t), "alter");
  }
  if (cmd == "capture" && (args.size() == 3 || args.size() == 4)) {
    LocationRewriter rw;
    if (args.size() == 4) {
      rw.Add(m.external_warehouse, MetastoreFrom(*endpoints, args[3]).external_warehouse);
    }
    for (const auto& [item, what] : Capture(c, db, rw)) std::cout << item << "\t" << what << "\n";
    return 0;
  }
  if (cmd == "locations") {
    for (const auto& l : Locations(c, db)) std::cout << l << "\n";
    return 0;
  }
  if (cmd == "drop") {
    auto dbs = c.GetAllDatabases();
    if (!dbs.ok()) return Fail(dbs.status().ToString());
    for (const auto& d : *dbs) {
      if (d.find(db) != std::string::npos) (void)c.DropDatabase(d, false, true);
    }
    return 0;
  }
  return Fail("unknown command or arguments: " + cmd);
}

}  // namespace
}  // namespace lifeboat::hive::testing

int main(int argc, char** argv) {
  return lifeboat::hive::testing::Run(std::vector<std::string>(argv + 1, argv + argc));
}
