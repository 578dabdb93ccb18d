// A small command for shell tests against the HBase rig (plugins/hbase/tests/*_e2e_test.sh):
//   hbase_rig_tool create THRIFT TABLE FAMILY          a table (its namespace made if missing)
//   hbase_rig_tool put THRIFT TABLE FROM TO VALUE      rows r<FROM>..r<TO-1>, FAMILY:q = VALUE
//   hbase_rig_tool dump THRIFT TABLE                   every cell, one line each, sorted
//                                                      ("absent" when there is no such table)
//   hbase_rig_tool clean THRIFT MASTER USER PREFIX     drops the namespaces starting with
//                                                      PREFIX (tables first) and the snapshots
//                                                      whose name contains it
// Exit 0 on success, 1 with the error on stderr otherwise. Test code only.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "master_client.h"
#include "thrift2_client.h"

namespace {

using lifeboat::Status;
using namespace lifeboat::hbase;

int Fail(const Status& s) {
  std::fprintf(stderr, "hbase_rig_tool: %s\n", s.ToString().c_str());
  return 1;
}

std::string Digest(const std::string& data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string FamilyOf(Thrift2Client& c, const std::string& table) {
  auto d = c.GetTableDescriptor(table);
  return d.ok() && !d->columns.empty() ? d->columns[0].name : "cf";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: hbase_rig_tool create THRIFT TABLE FAMILY | put THRIFT TABLE FROM TO "
                 "VALUE | dump THRIFT TABLE | clean THRIFT MASTER USER PREFIX\n");
    return 2;
  }
  const std::string cmd = argv[1];
  Thrift2Client thrift(argv[2], Thrift2Client::Options());
  const std::string table = argv[3];
  if (cmd == "create" && argc == 5) {
    const size_t colon = table.find(':');
    if (colon != std::string::npos) {
      Status ns = thrift.CreateNamespace(table.substr(0, colon));
      if (!ns.ok() && ns.code() != lifeboat::Code::kAlreadyExists) return Fail(ns);
    }
    t2::TTableDescriptor d;
    d.__set_tableName(ToTTableName(table));
    t2::TColumnFamilyDescriptor cf;
    cf.__set_name(argv[4]);
    d.__set_columns({cf});
    Status s = thrift.CreateTable(d);
    return s.ok() ? 0 : Fail(s);
  }
  if (cmd == "put" && argc == 7) {
    const std::string family = FamilyOf(thrift, table);
    std::vector<t2::TPut> puts;
    for (int i = std::atoi(argv[4]); i < std::atoi(argv[5]); ++i) {
      char row[16];
      std::snprintf(row, sizeof row, "r%06d", i);
      t2::TPut p;
      p.__set_row(row);
      p.__set_columnValues({Cell(family, "q", argv[6])});
      puts.push_back(p);
    }
    Status s = thrift.Put(table, puts);
    return s.ok() ? 0 : Fail(s);
  }
  if (cmd == "dump" && argc == 4) {
    auto exists = thrift.TableExists(table);
    if (!exists.ok()) return Fail(exists.status());
    if (!*exists) {
      std::printf("absent\n");
      return 0;
    }
    std::map<std::string, std::string> lines;
    t2::TScan scan;
    scan.__set_maxVersions(10);
    Status s = thrift.Scan(table, scan, 200, [&](const std::vector<t2::TResult>& rows) {
      for (const auto& r : rows) {
        for (const auto& cv : r.columnValues) {
          lines[r.row + " " + cv.family + ":" + cv.qualifier + " " + std::to_string(cv.timestamp)] =
              Digest(cv.value);
        }
      }
      return lifeboat::OkStatus();
    });
    if (!s.ok()) return Fail(s);
    for (const auto& [k, v] : lines) std::printf("%s %s\n", k.c_str(), v.c_str());
    return 0;
  }
  if (cmd == "clean" && argc == 6) {
    MasterClient::Options mo;
    mo.rpc.user = argv[4];
    MasterClient master(argv[3], mo);
    const std::string prefix = argv[5];
    auto namespaces = thrift.ListNamespaces();
    if (!namespaces.ok()) return Fail(namespaces.status());
    for (const auto& ns : *namespaces) {
      if (ns.rfind(prefix, 0) != 0) continue;
      auto tables = thrift.TableNamesInNamespace(ns);
      for (const auto& t : tables.ok() ? *tables : std::vector<std::string>{}) {
        auto enabled = thrift.IsTableEnabled(t);
        if (enabled.ok() && *enabled) (void)thrift.DisableTable(t);
        (void)thrift.DeleteTable(t);
      }
      (void)thrift.DeleteNamespace(ns);
    }
    auto snaps = master.ListSnapshots();
    for (const auto& s : snaps.ok() ? *snaps : std::vector<SnapshotSummary>{}) {
      if (s.name.find(prefix) != std::string::npos) (void)master.DeleteSnapshot(s.name);
    }
    return 0;
  }
  std::fprintf(stderr, "hbase_rig_tool: unknown command or wrong arguments: %s\n", cmd.c_str());
  return 2;
}
