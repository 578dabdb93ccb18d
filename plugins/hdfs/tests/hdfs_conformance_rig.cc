// The hdfs rig for the SDK's conformance suite: the primary and the secondary MiniDFSCluster
// of the HDFS rig (tools/scripts/rig.sh). Each test gets its own data set directory,
// /conformance/<pid>-<n>, removed (snapshots first) afterwards. Without the rig the tests
// skip, unless LIFEBOAT_RIG_REQUIRED=1 (tools/scripts/test.sh), where they fail.
#include <gtest/gtest.h>
#include <lifeboat/testing/conformance.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "rig_endpoints.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {
namespace {

using testing::BadConfig;
using testing::ChangeSet;
using testing::ContentMap;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

// FNV-1a: enough to tell contents apart in a test.
std::string Digest(const std::string& data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

class HdfsConformanceRig : public testing::ConformanceRig {
 public:
  void SetUp() override {
    StatusOr<nlohmann::json> endpoints = lifeboat::testing::rig::LoadEndpoints("hdfs");
    if (!endpoints.ok()) {
      if (endpoints.status().code() == Code::kNotFound && !lifeboat::testing::rig::RigRequired()) {
        GTEST_SKIP() << endpoints.status().message();
      }
      FAIL() << endpoints.status().ToString();
    }
    endpoints_ = *endpoints;
    static int counter = 0;
    const std::string id = std::to_string(::getpid()) + "-" + std::to_string(++counter);
    data_set_ = "/conformance/" + id;
    restore_base_ = "/conformance-restore/" + id;
    source_ = std::make_unique<WebHdfsClient>(ClientOptions("primary"));
    target_ = std::make_unique<WebHdfsClient>(ClientOptions("secondary"));
    Status made = source_->Mkdirs(data_set_);
    ASSERT_TRUE(made.ok()) << made.ToString();
  }

  void TearDown() override {
    if (source_) Remove(*source_, data_set_);
    if (target_) {
      Remove(*target_, data_set_);
      Remove(*target_, restore_base_);
    }
  }

  std::string PluginName() const override { return "hdfs"; }
  v1::PluginConfig SourceConfig() const override { return Config("primary"); }
  v1::PluginConfig TargetConfig() const override { return Config("secondary"); }

  std::vector<BadConfig> BadConfigs() const override {
    const std::string user = User();
    return {
        {"no namenodes", R"({"user": ")" + user + R"("})", "namenodes"},
        {"namenode without port", R"({"namenodes": ["nn1"], "user": ")" + user + R"("})",
         "namenodes"},
        {"spnego", R"({"namenodes": ["nn1:9870"], "user": ")" + user + R"(", "spnego": true})",
         "not yet"},
        {"replication 0",
         R"({"namenodes": ["nn1:9870"], "user": ")" + user + R"(", "replication": "0"})",
         "replication"},
    };
  }

  v1::DataSet DataSet() const override {
    v1::DataSet ds;
    ds.set_component("hdfs");
    ds.set_selector(data_set_);
    return ds;
  }

  void Populate(uint64_t large_bytes) override {
    Write("a/b/c/deep.txt", "deep");
    Write("a/small.txt", "small");
    Write("empty-file", "");
    Write("name with space.txt", "spaced");
    Write("ünïcödé.txt", "unicode");
    ASSERT_TRUE(source_->Mkdirs(data_set_ + "/empty-dir").ok());
    // Blocks of 1 MiB: the large file spans several (the rig allows small block sizes).
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    o.block_size = 1 << 20;
    Status s = source_->Create(data_set_ + "/large.bin", RandomBytes(large_bytes, 7), o);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Repeatable (the Expire check calls it after each point): call n creates
  // a/created-n.txt, rewrites a/small.txt, deletes "name with space.txt" (then the file the
  // previous call created) and renames a/b/c/deep.txt to a/moved.txt (then onwards).
  ChangeSet ApplyChanges() override {
    const int n = ++changes_;
    ChangeSet cs;
    Write("a/created-" + std::to_string(n) + ".txt", "created");
    cs.changed_bytes += 7;
    cs.changed_items += 1;
    const std::string modified = "small, modified " + std::to_string(n);
    Write("a/small.txt", modified);
    cs.changed_bytes += modified.size();
    cs.changed_items += 1;
    const std::string gone =
        n == 1 ? "name with space.txt" : "a/created-" + std::to_string(n - 1) + ".txt";
    EXPECT_TRUE(source_->Delete(data_set_ + "/" + gone, false).ok());
    const std::string from = n == 1   ? "a/b/c/deep.txt"
                             : n == 2 ? "a/moved.txt"
                                      : "a/moved-" + std::to_string(n - 1) + ".txt";
    const std::string to = n == 1 ? "a/moved.txt" : "a/moved-" + std::to_string(n) + ".txt";
    EXPECT_TRUE(source_->Rename(data_set_ + "/" + from, data_set_ + "/" + to).ok());
    return cs;
  }

  ContentMap CaptureSource() const override { return Capture(*source_, data_set_); }
  std::string RestoreDestination(int n) const override {
    return restore_base_ + "/" + std::to_string(n);
  }
  // The data set lands below the destination, at its own path.
  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(*target_, destination + data_set_);
  }

  std::string PlantForeignItem(const std::string& destination) override {
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    Status s = target_->Mkdirs(destination + data_set_);
    if (s.ok()) s = target_->Create(destination + data_set_ + "/foreign.txt", "not Lifeboat's", o);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? "foreign.txt" : "";
  }
  bool ForeignItemIntact(const std::string& destination) const override {
    auto body = target_->ReadAll(destination + data_set_ + "/foreign.txt");
    return body.ok() && *body == "not Lifeboat's";
  }
  std::string BadRestoreDestination() const override { return "/restore:bad"; }

  // Staged (before commit): the live file on the target is rewritten in place through HDFS
  // with one byte flipped (TRUNCATE to 0 keeps the inode and its attributes, APPEND, then
  // SETTIMES back), so size, times and the transfer's records stay. Committed: a snapshot's
  // content cannot be changed through HDFS, so the byte is flipped in the block file on the
  // secondary DataNode's disk (bit rot), found with GET_BLOCK_LOCATIONS.
  std::string CorruptTarget(const std::string& restore_point_id, bool staged) override {
    const std::string rel = "a/small.txt";
    const std::string live = data_set_ + "/" + rel;
    if (staged) {
      StatusOr<FileStatus> st = target_->GetFileStatus(live);
      StatusOr<std::string> data = target_->ReadAll(live);
      EXPECT_TRUE(st.ok() && data.ok() && !data->empty()) << "nothing to corrupt at " << live;
      if (!st.ok() || !data.ok() || data->empty()) return rel;
      std::string flipped = *data;
      flipped[0] = static_cast<char>(flipped[0] ^ 0x01);
      StatusOr<bool> cut = target_->Truncate(live, 0);
      EXPECT_TRUE(cut.ok() && *cut) << cut.status().ToString();
      Status appended = target_->Append(live, flipped);
      EXPECT_TRUE(appended.ok()) << appended.ToString();
      Status timed = target_->SetTimes(live, st->modification_ms, st->access_ms);
      EXPECT_TRUE(timed.ok()) << timed.ToString();
      return rel;
    }
    const std::string snap = data_set_ + "/.snapshot/lifeboat-" + restore_point_id + "/" + rel;
    StatusOr<nlohmann::json> blocks = target_->RawCall("GET", snap, "GET_BLOCK_LOCATIONS", "");
    EXPECT_TRUE(blocks.ok()) << blocks.status().ToString();
    if (!blocks.ok()) return rel;
    const nlohmann::json& located = (*blocks)["LocatedBlocks"]["locatedBlocks"];
    EXPECT_TRUE(located.is_array() && !located.empty()) << blocks->dump();
    if (!located.is_array() || located.empty()) return rel;
    const std::string block =
        "blk_" + std::to_string(located[0]["block"].value("blockId", int64_t{0}));
    const std::string base = endpoints_["clusters"]["secondary"].value("base_dir", "");
    bool flipped = false;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(base, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() != block) continue;
      std::fstream f(it->path(), std::ios::in | std::ios::out | std::ios::binary);
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x01);
      f.seekp(0);
      f.write(&c, 1);
      flipped = f.good();
    }
    EXPECT_TRUE(flipped) << "no block file " << block << " under " << base;
    return rel;
  }

  // --- Fencing and security sync (src/security.h) -------------------------------------
  // An application of the secondary writes as the ordinary user "lifeboat-app" (simple
  // authentication): a new file in the data set's directory. Before the first write the
  // administrator lets that user write there (mode 0777 on the target's directory).
  Status ApplicationWriteOnTarget() override {
    if (!app_) {
      LIFEBOAT_RETURN_IF_ERROR(target_->SetPermission(data_set_, 0777));
      WebHdfsClient::Options o = ClientOptions("secondary");
      o.user = "lifeboat-app";
      app_ = std::make_unique<WebHdfsClient>(o);
    }
    return app_->Create(data_set_ + "/app-write-" + std::to_string(++app_writes_), "app",
                        WebHdfsClient::CreateOptions());
  }
  // a/small.txt on the source: another owner and group, mode 0640 and an ACL entry.
  std::string ChangeSourceSecurity() override {
    const std::string path = data_set_ + "/a/small.txt";
    EXPECT_TRUE(source_->SetOwner(path, "alice", "staff").ok());
    EXPECT_TRUE(
        source_
            ->SetAcl(path, {"user::rw-", "user:bob:rw-", "group::r--", "mask::rw-", "other::---"})
            .ok());
    return "a/small.txt";
  }
  std::string CaptureSecurity(bool target, const std::string& path) const override {
    WebHdfsClient& c = target ? *target_ : *source_;
    StatusOr<FileStatus> st = c.GetFileStatus(data_set_ + "/" + path);
    StatusOr<std::vector<std::string>> acl = c.GetAclEntries(data_set_ + "/" + path);
    if (!st.ok() || !acl.ok()) return "unreadable";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st->permission);
    std::string out = st->owner + ":" + st->group + " " + mode;
    for (const std::string& e : *acl) out += " " + e;
    return out;
  }

 private:
  std::string User() const { return endpoints_["clusters"]["primary"].value("user", "root"); }

  WebHdfsClient::Options ClientOptions(const std::string& cluster) const {
    WebHdfsClient::Options o;
    o.namenodes = {"http://" + endpoints_["clusters"][cluster].value("namenode_http", "")};
    o.user = endpoints_["clusters"][cluster].value("user", "");
    return o;
  }

  v1::PluginConfig Config(const std::string& cluster) const {
    nlohmann::json cfg = {
        {"namenodes", {endpoints_["clusters"][cluster].value("namenode_http", "")}},
        {"user", endpoints_["clusters"][cluster].value("user", "")}};
    v1::PluginConfig c;
    c.set_plugin("hdfs");
    c.set_cluster(cluster);
    c.set_config_json(cfg.dump());
    return c;
  }

  void Write(const std::string& rel, const std::string& content) {
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    Status s = source_->Create(data_set_ + "/" + rel, content, o);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static void CaptureInto(WebHdfsClient& c, const std::string& root, const std::string& rel,
                          ContentMap& out) {
    StatusOr<std::vector<FileStatus>> items = c.ListStatus(rel.empty() ? root : root + "/" + rel);
    ASSERT_TRUE(items.ok()) << items.status().ToString();
    for (const FileStatus& st : *items) {
      std::string path = rel.empty() ? st.path_suffix : rel + "/" + st.path_suffix;
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.permission);
      if (st.is_dir) {
        out[path] = std::string("dir ") + mode;
        CaptureInto(c, root, path, out);
      } else {
        StatusOr<std::string> data = c.ReadAll(root + "/" + path);
        ASSERT_TRUE(data.ok()) << data.status().ToString();
        out[path] = "file " + std::to_string(st.length) + " " + mode + " " + Digest(*data);
      }
    }
  }

  static ContentMap Capture(WebHdfsClient& c, const std::string& root) {
    ContentMap out;
    CaptureInto(c, root, "", out);
    return out;
  }

  static void Remove(WebHdfsClient& c, const std::string& path) {
    StatusOr<std::vector<FileStatus>> items = c.ListStatus(path);
    if (items.ok()) {
      for (const FileStatus& st : *items) {
        if (st.is_dir) Remove(c, path + "/" + st.path_suffix);
      }
    }
    StatusOr<FileStatus> st = c.GetFileStatus(path);
    if (st.ok() && st->snapshot_enabled) {
      StatusOr<std::vector<SnapshotInfo>> snaps = c.GetSnapshotList(path);
      if (snaps.ok()) {
        for (const SnapshotInfo& s : *snaps) (void)c.DeleteSnapshot(path, s.name);
      }
    }
    (void)c.Delete(path, /*recursive=*/true);
  }

  nlohmann::json endpoints_;
  std::string data_set_;
  std::string restore_base_;
  std::unique_ptr<WebHdfsClient> source_;
  std::unique_ptr<WebHdfsClient> target_;
  std::unique_ptr<WebHdfsClient> app_;  // "lifeboat-app" on the secondary
  int app_writes_ = 0;
  int changes_ = 0;
};

LIFEBOAT_CONFORMANCE_RIG("hdfs", HdfsConformanceRig);

}  // namespace
}  // namespace lifeboat::hdfs
