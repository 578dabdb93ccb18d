// What the hive plugin's rig tests share: plain tables and partitions to create, and a
// comparable description of a database's content.
//
// Thread-safety: test code, one thread.
#ifndef LIFEBOAT_PLUGINS_HIVE_TESTS_HIVE_TEST_UTIL_H_
#define LIFEBOAT_PLUGINS_HIVE_TESTS_HIVE_TEST_UTIL_H_

#include <map>
#include <string>

#include "metastore_client.h"
#include "model.h"

namespace lifeboat::hive::testing {

// A plain external table (partitioned by dt when `partitioned`).
thrift::Table MakeTable(const std::string& db, const std::string& name, const std::string& location,
                        bool partitioned);
// Partition dt=`dt` of `t`, at <table location>/dt=<dt>.
thrift::Partition MakePartition(const thrift::Table& t, const std::string& dt);

// The database `db` of `c`, item by item ("(database)", "<table>", "<table>/<partition>"),
// each as "bytes=N sha256=H" of its struct in the plugin's canonical form, with every
// location rewritten by `rw` and database names blanked (so that a copy under another name or
// on another file system compares). Empty when the database does not exist.
std::map<std::string, std::string> Capture(MetastoreClient& c, const std::string& db,
                                           const LocationRewriter& rw = LocationRewriter());

// Every location (database, tables, partitions) of database `db`.
std::vector<std::string> Locations(MetastoreClient& c, const std::string& db);

}  // namespace lifeboat::hive::testing

#endif  // LIFEBOAT_PLUGINS_HIVE_TESTS_HIVE_TEST_UTIL_H_
