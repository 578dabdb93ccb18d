#include "references.h"

#include <string>

namespace lifeboat::hive {

namespace {

void Add(const std::string& location, const LocationRewriter& rw, const std::string& referrer,
         v1::VerifyResponse& resp) {
  if (location.empty()) return;
  std::string here = rw.Rewrite(location);
  if (here.rfind("hdfs://", 0) != 0) return;
  v1::Reference* ref = resp.add_references();
  ref->set_component(kReferencedComponent);
  ref->set_location(std::move(here));
  ref->set_referrer(referrer);
}

}  // namespace

void AddReferences(const PointState& state, const LocationRewriter& rw, v1::VerifyResponse& resp) {
  for (const auto& [name, table] : state.tables) {
    const thrift::Table& t = table.header.table;
    if (IsView(t)) continue;
    const std::string what = "table " + t.dbName + "." + t.tableName;
    Add(t.sd.location, rw, what, resp);
    for (const store::PartitionEntry& p : table.partitions) {
      Add(p.partition.sd.location, rw, what + ", partition " + p.name, resp);
    }
  }
}

}  // namespace lifeboat::hive
