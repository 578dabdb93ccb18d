// The hbase rig for the SDK's conformance suite: the primary and the secondary HBase cluster
// of the HBase rig (tools/scripts/rig.sh start hbase). Each test gets its own namespace,
// conf<pid>_<n>, and its own plugin state directory; both go afterwards, on both clusters,
// with every snapshot named after the namespace. Without the rig the tests skip, unless
// LIFEBOAT_RIG_REQUIRED=1 (tools/scripts/test.sh), where they fail.
//
// What an "item" is here: the ContentMap holds every cell ("<table>/<row>/<family>:<qualifier>
// @<timestamp>" -> length and digest of the value) and every table with its families; the
// items a plan counts and verify names are HFiles ("<table>/<region>/<family>/<hfile>"), so
// ApplyChanges() flushes (a FLUSH snapshot, deleted again) and counts the HFiles that
// appeared. HBase has no rename: ApplyChanges() creates a table, writes a row into another and
// drops a third.
#include <gtest/gtest.h>
#include <lifeboat/testing/conformance.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "layout.h"
#include "master_client.h"
#include "rig_endpoints.h"
#include "thrift2_client.h"
#include "webhdfs.h"

namespace lifeboat::hbase {
namespace {

using testing::BadConfig;
using testing::ChangeSet;
using testing::ContentMap;

std::string Digest(const std::string& data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

struct Cluster {
  std::unique_ptr<MasterClient> master;
  std::unique_ptr<Thrift2Client> thrift;
  std::unique_ptr<hdfs::WebHdfsClient> fs;
  std::string root;
};

class HBaseConformanceRig : public testing::ConformanceRig {
 public:
  void SetUp() override {
    StatusOr<nlohmann::json> endpoints = lifeboat::testing::rig::LoadEndpoints("hbase");
    if (!endpoints.ok()) {
      if (endpoints.status().code() == Code::kNotFound && !lifeboat::testing::rig::RigRequired()) {
        GTEST_SKIP() << endpoints.status().message();
      }
      FAIL() << endpoints.status().ToString();
    }
    endpoints_ = *endpoints;
    static int counter = 0;
    ns_ = "conf" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    source_ = Connect("primary");
    target_ = Connect("secondary");
    Status made = source_.thrift->CreateNamespace(ns_);
    ASSERT_TRUE(made.ok()) << made.ToString();
  }

  void TearDown() override {
    for (Cluster* c : {&source_, &target_}) {
      if (c->thrift) Clean(*c);
    }
  }

  std::string PluginName() const override { return "hbase"; }
  v1::PluginConfig SourceConfig() const override { return Config("primary"); }
  v1::PluginConfig TargetConfig() const override { return Config("secondary"); }

  std::vector<BadConfig> BadConfigs() const override {
    nlohmann::json good = nlohmann::json::parse(Config("primary").config_json());
    std::vector<BadConfig> bad;
    auto with = [&](const std::string& key, const nlohmann::json& value) {
      nlohmann::json j = good;
      if (value.is_null()) {
        j.erase(key);
      } else {
        j[key] = value;
      }
      return j.dump();
    };
    bad.push_back({"no master", with("master", nullptr), "master"});
    bad.push_back({"master without port", with("master", "hmaster1"), "master"});
    bad.push_back({"relative root", with("root", "hbase"), "root"});
    bad.push_back({"no namenodes", with("namenodes", nlohmann::json::array()), "namenodes"});
    bad.push_back({"parallel 0", with("parallel", 0), "parallel"});
    return bad;
  }

  v1::DataSet DataSet() const override {
    v1::DataSet ds;
    ds.set_component("hbase");
    ds.set_selector(ns_);
    return ds;
  }

  void Populate(uint64_t large_bytes) override {
    // "big": one HFile larger than large_bytes (256 KiB values) — the item a transfer stops
    // half-way through.
    MakeTable(source_, "big", {"cf"}, {});
    const std::string value(256 << 10, 'v');
    std::vector<t2::TPut> puts;
    for (uint64_t done = 0, i = 0; done < large_bytes + (512 << 10); done += value.size(), ++i) {
      char row[16];
      std::snprintf(row, sizeof row, "r%04llu", static_cast<unsigned long long>(i));
      std::string v = value;
      v[0] = static_cast<char>('a' + i % 26);
      puts.push_back(Put(row, "cf", "q", v));
    }
    ASSERT_TRUE(source_.thrift->Put(Table("big"), puts).ok());
    // "small": two regions, two families, a few cells (one empty value).
    MakeTable(source_, "small", {"a", "b"}, {"m"});
    ASSERT_TRUE(source_.thrift
                    ->Put(Table("small"), {Put("apple", "a", "x", "1"), Put("apple", "b", "y", "2"),
                                           Put("kiwi", "a", "x", ""), Put("pear", "a", "x", "3"),
                                           Put("zebra", "b", "z", "4")})
                    .ok());
    // "empty": a table with no rows (no HFile at all).
    MakeTable(source_, "empty", {"cf"}, {});
  }

  ChangeSet ApplyChanges() override {
    ++changes_;
    Flush(source_);
    std::map<std::string, uint64_t> before = HFiles(source_);
    const std::string fresh = "fresh" + std::to_string(changes_);
    MakeTable(source_, fresh, {"cf"}, {});
    EXPECT_TRUE(
        source_.thrift
            ->Put(Table(fresh), {Put("one", "cf", "q", "new"), Put("two", "cf", "q", "new")})
            .ok());
    EXPECT_TRUE(source_.thrift
                    ->Put(Table("small"), {Put("zz" + std::to_string(changes_), "a", "x", "more")})
                    .ok());
    DropTable(source_,
              changes_ == 1 ? Table("empty") : Table("fresh" + std::to_string(changes_ - 1)));
    Flush(source_);
    ChangeSet change;
    for (const auto& [path, size] : HFiles(source_)) {
      if (before.count(path)) continue;
      ++change.changed_items;
      change.changed_bytes += size;
    }
    return change;
  }

  ContentMap CaptureSource() const override { return Capture(source_, ns_); }
  std::string RestoreDestination(int n) const override { return ns_ + "_r" + std::to_string(n); }
  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(target_, destination.empty() ? ns_ : destination);
  }

  std::string CorruptTarget(const std::string& restore_point_id, bool staged) override {
    const std::string dir = staged ? StateDir("secondary") + "/staging/" +
                                         PointKey(restore_point_id) + "/archive/data/" + ns_
                                   : target_.root + "/archive/data/" + ns_;
    std::map<std::string, uint64_t> files;
    ListFiles(*target_.fs, dir, "", files);
    std::string biggest;
    for (const auto& [path, size] : files) {
      if (biggest.empty() || size > files[biggest]) biggest = path;
    }
    EXPECT_FALSE(biggest.empty()) << "no HFile under " << dir;
    if (biggest.empty()) return "";
    const std::string path = dir + "/" + biggest;
    StatusOr<hdfs::FileStatus> st = target_.fs->GetFileStatus(path);
    StatusOr<std::string> data = target_.fs->ReadAll(path);
    EXPECT_TRUE(st.ok() && data.ok());
    if (!st.ok() || !data.ok()) return "";
    std::string bytes = *data;
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
    hdfs::WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    o.block_size = st->block_size;
    Status written = target_.fs->Create(path, bytes, o);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return biggest;
  }

  Status ApplicationWriteOnTarget() override {
    return target_.thrift->Put(Table("small"), {Put("app-write", "a", "x", "app")});
  }

  std::string PlantForeignItem(const std::string& destination) override {
    Status ns = target_.thrift->CreateNamespace(destination);
    if (!ns.ok() && ns.code() != Code::kAlreadyExists) return "";
    t2::TTableDescriptor d = Descriptor(destination + ":small", {"a"});
    if (!target_.thrift->CreateTable(d).ok()) return "";
    if (!target_.thrift->Put(destination + ":small", {Put("foreign", "a", "x", "mine")}).ok()) {
      return "";
    }
    return "table " + destination + ":small with row 'foreign'";
  }
  bool ForeignItemIntact(const std::string& destination) const override {
    t2::TGet get;
    get.__set_row("foreign");
    StatusOr<t2::TResult> r = target_.thrift->Get(destination + ":small", get);
    return r.ok() && r->columnValues.size() == 1 && r->columnValues[0].value == "mine";
  }
  std::string BadRestoreDestination() const override { return "no such/name!"; }

 private:
  std::string Table(const std::string& q) const { return ns_ + ":" + q; }

  std::string StateDir(const std::string& cluster) const {
    return endpoints_["clusters"][cluster].value("root_path", "") + "/.lifeboat-" + ns_;
  }

  v1::PluginConfig Config(const std::string& cluster) const {
    const auto& e = endpoints_["clusters"][cluster];
    nlohmann::json cfg = {{"master", e.value("master_rpc", "")},
                          {"thrift2", e.value("thrift2", "")},
                          {"namenodes", {e.value("namenode_http", "")}},
                          {"root", e.value("root_path", "")},
                          {"user", e.value("user", "")},
                          {"state_dir", StateDir(cluster)}};
    v1::PluginConfig c;
    c.set_plugin("hbase");
    c.set_cluster(cluster);
    c.set_config_json(cfg.dump());
    return c;
  }

  Cluster Connect(const std::string& cluster) const {
    const auto& e = endpoints_["clusters"][cluster];
    Cluster c;
    MasterClient::Options mo;
    mo.rpc.user = e.value("user", "");
    c.master = std::make_unique<MasterClient>(e.value("master_rpc", ""), mo);
    c.thrift = std::make_unique<Thrift2Client>(e.value("thrift2", ""), Thrift2Client::Options());
    hdfs::WebHdfsClient::Options fo;
    fo.namenodes = {"http://" + e.value("namenode_http", "")};
    fo.user = e.value("user", "");
    c.fs = std::make_unique<hdfs::WebHdfsClient>(fo);
    c.root = e.value("root_path", "");
    return c;
  }

  static t2::TPut Put(const std::string& row, const std::string& family,
                      const std::string& qualifier, const std::string& value) {
    t2::TPut p;
    p.__set_row(row);
    p.__set_columnValues({Cell(family, qualifier, value)});
    return p;
  }

  static t2::TTableDescriptor Descriptor(const std::string& table,
                                         const std::vector<std::string>& families) {
    t2::TTableDescriptor d;
    d.__set_tableName(ToTTableName(table));
    std::vector<t2::TColumnFamilyDescriptor> cfs;
    for (const std::string& f : families) {
      t2::TColumnFamilyDescriptor cf;
      cf.__set_name(f);
      cfs.push_back(cf);
    }
    d.__set_columns(cfs);
    // No compaction between the rig's counting and the cut: the HFiles it counts are the
    // ones the cut sees.
    d.__set_attributes({{"COMPACTION_ENABLED", "false"}});
    return d;
  }

  void MakeTable(Cluster& c, const std::string& q, const std::vector<std::string>& families,
                 const std::vector<std::string>& splits) {
    Status s = c.thrift->CreateTable(Descriptor(Table(q), families), splits);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static void DropTable(Cluster& c, const std::string& table) {
    StatusOr<bool> enabled = c.thrift->IsTableEnabled(table);
    if (enabled.ok() && *enabled) {
      EXPECT_TRUE(c.thrift->DisableTable(table).ok());
    }
    Status s = c.thrift->DeleteTable(table);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  // Every memstore of the namespace flushed: a FLUSH snapshot per table, deleted again.
  void Flush(Cluster& c) {
    StatusOr<std::vector<std::string>> tables = c.thrift->TableNamesInNamespace(ns_);
    ASSERT_TRUE(tables.ok()) << tables.status().ToString();
    for (const auto& t : *tables) {
      const std::string name = "rigflush-" + ns_ + "-" + QualifierOf(t);
      StatusOr<TakenSnapshot> taken = c.master->TakeSnapshot(t, name);
      ASSERT_TRUE(taken.ok()) << taken.status().ToString();
      EXPECT_TRUE(c.master->DeleteSnapshot(name).ok());
    }
  }

  // Files below `dir` (recursively), path relative to it -> length.
  static void ListFiles(hdfs::WebHdfsClient& fs, const std::string& dir, const std::string& rel,
                        std::map<std::string, uint64_t>& out) {
    StatusOr<std::vector<hdfs::FileStatus>> items =
        fs.ListStatus(rel.empty() ? dir : dir + "/" + rel);
    if (!items.ok()) return;
    for (const auto& st : *items) {
      const std::string path = rel.empty() ? st.path_suffix : rel + "/" + st.path_suffix;
      if (st.is_dir) {
        ListFiles(fs, dir, path, out);
      } else {
        out[path] = st.length;
      }
    }
  }

  // The HFiles of the namespace's live tables: data/<ns>/<table>/<region>/<family>/<file>.
  std::map<std::string, uint64_t> HFiles(Cluster& c) const {
    std::map<std::string, uint64_t> all, out;
    ListFiles(*c.fs, c.root + "/data/" + ns_, "", all);
    for (const auto& [path, size] : all) {
      std::vector<std::string> parts;
      for (size_t at = 0;;) {
        const size_t slash = path.find('/', at);
        parts.push_back(path.substr(at, slash - at));
        if (slash == std::string::npos) break;
        at = slash + 1;
      }
      if (parts.size() != 4 || parts[1].front() == '.' || parts[2].front() == '.' ||
          parts[2] == "recovered.edits") {
        continue;
      }
      out[path] = size;
    }
    return out;
  }

  static ContentMap Capture(const Cluster& c, const std::string& ns) {
    ContentMap out;
    StatusOr<std::vector<t2::TTableDescriptor>> tables = c.thrift->TableDescriptorsInNamespace(ns);
    if (!tables.ok()) return out;
    for (const auto& d : *tables) {
      const std::string table = FromTTableName(d.tableName);
      const std::string q = QualifierOf(table);
      std::set<std::string> families;
      for (const auto& cf : d.columns) families.insert(cf.name);
      std::string fams;
      for (const auto& f : families) fams += (fams.empty() ? "" : ",") + f;
      out[q + "/"] = "table " + fams;
      t2::TScan scan;
      scan.__set_maxVersions(10);
      Status s = c.thrift->Scan(table, scan, 16, [&](const std::vector<t2::TResult>& rows) {
        for (const auto& r : rows) {
          for (const auto& cv : r.columnValues) {
            out[q + "/" + r.row + "/" + cv.family + ":" + cv.qualifier + "@" +
                std::to_string(cv.timestamp)] =
                std::to_string(cv.value.size()) + " " + Digest(cv.value);
          }
        }
        return OkStatus();
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return out;
  }

  // Drops every table and namespace of this test, its snapshots and the plugin's state.
  void Clean(Cluster& c) {
    StatusOr<std::vector<std::string>> namespaces = c.thrift->ListNamespaces();
    if (namespaces.ok()) {
      for (const auto& ns : *namespaces) {
        if (ns != ns_ && ns.rfind(ns_ + "_", 0) != 0) continue;
        StatusOr<std::vector<std::string>> tables = c.thrift->TableNamesInNamespace(ns);
        if (tables.ok()) {
          for (const auto& t : *tables) DropTable(c, t);
        }
        (void)c.thrift->DeleteNamespace(ns);
      }
    }
    StatusOr<std::vector<SnapshotSummary>> snaps = c.master->ListSnapshots();
    if (snaps.ok()) {
      for (const auto& s : *snaps) {
        if (s.name.find("-" + ns_ + "-") != std::string::npos) {
          (void)c.master->DeleteSnapshot(s.name);
        }
      }
    }
    (void)c.fs->Delete(c.root + "/.lifeboat-" + ns_, true);
  }

  nlohmann::json endpoints_;
  std::string ns_;
  int changes_ = 0;
  Cluster source_;
  Cluster target_;
};

LIFEBOAT_CONFORMANCE_RIG("hbase", HBaseConformanceRig);

}  // namespace
}  // namespace lifeboat::hbase
