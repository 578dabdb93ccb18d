// What the client's rig tests share: connections to the rig's two metastores, names unique to
// one run (the rig outlives a test binary), sample objects with every field the metastore
// keeps, and comparison of whole structs.
//
// Thread-safety: test code, one thread.
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_TESTS_RIG_FIXTURE_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_TESTS_RIG_FIXTURE_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "metastore_client.h"
#include "rig_endpoints.h"

namespace lifeboat::hive::testing {

// A metastore of the rig as the endpoints file describes it.
struct Metastore {
  std::string name;  // "primary", "secondary"
  MetastoreOptions options;
  std::string message_format;
  std::string warehouse;           // file:// URI
  std::string external_warehouse;  // file:// URI
  std::string clean_events_request;
};

Metastore MetastoreFrom(const nlohmann::json& endpoints, const std::string& cluster);

// A name unique to this process and call: "<prefix>_<pid>_<n>" (metastores lower-case names).
std::string UniqueName(const std::string& prefix);

// Connects or fails the test (ASSERT in the caller: `auto c = MustConnect(m); ASSERT_TRUE(c)`).
std::unique_ptr<MetastoreClient> MustConnect(const Metastore& m);

// A database `name` with a description, parameters and an owner; location under `warehouse`.
thrift::Database SampleDatabase(const std::string& name, const std::string& warehouse);

// An external table partitioned by (dt string, country string) whose storage descriptor uses
// every field: columns with comments, formats, compression, buckets, sort columns, a SerDe
// with parameters and classes, skewed values with locations, stored-as-subdirectories.
thrift::Table SampleTable(const std::string& db, const std::string& name,
                          const std::string& location);

// A partition of SampleTable with its own storage descriptor and parameters.
thrift::Partition SamplePartition(const thrift::Table& table, const std::string& dt,
                                  const std::string& country, const std::string& location);

// A view over SampleTable.
thrift::Table SampleView(const std::string& db, const std::string& name,
                         const std::string& over_table);

// A function with two resources.
thrift::Function SampleFunction(const std::string& db, const std::string& name);

// Column statistics of every kind for SampleTable's columns (table level when `partition` is
// empty).
thrift::ColumnStatistics SampleStatistics(const std::string& db, const std::string& table,
                                          const std::string& partition);

template <typename T>
void Print(std::ostream& out, const T& v) {
  out << v;
}
template <typename T>
void Print(std::ostream& out, const std::vector<T>& v) {
  out << "[";
  for (const auto& item : v) {
    out << "\n    ";
    Print(out, item);
  }
  out << "]";
}

// Whole-struct equality after `normalize` ran on copies of both; prints both on failure.
template <typename T>
::testing::AssertionResult SameAfter(const T& a, const T& b,
                                     const std::function<void(T&)>& normalize = nullptr) {
  T x = a;
  T y = b;
  if (normalize) {
    normalize(x);
    normalize(y);
  }
  if (x == y) return ::testing::AssertionSuccess();
  std::ostringstream out;
  out << "\n  first:  ";
  Print(out, x);
  out << "\n  second: ";
  Print(out, y);
  return ::testing::AssertionFailure() << out.str();
}

// Writes the control file that makes the rig delete a metastore's events up to `up_to`, and
// waits until the launcher did. Empty on success; the reason otherwise.
std::string DeleteEventsUpTo(const Metastore& m, int64_t up_to);

}  // namespace lifeboat::hive::testing

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_TESTS_RIG_FIXTURE_H_
