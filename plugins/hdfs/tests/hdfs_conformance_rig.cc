// The hdfs rig for the SDK's conformance suite: the primary and the secondary MiniDFSCluster
// of the HDFS rig (tools/scripts/rig.sh). Each test gets its own data set directory,
// /conformance/<pid>-<n>, removed (snapshots first) afterwards. Without the rig the tests
// skip, unless LIFEBOAT_RIG_REQUIRED=1 (tools/scripts/test.sh), where they fail.
#include <gtest/gtest.h>
#include <lifeboat/testing/conformance.h>
#include <unistd.h>

#include <cstdio>
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

  ChangeSet ApplyChanges() override {
    ChangeSet cs;
    Write("a/created.txt", "created");
    cs.changed_bytes += 7;
    cs.changed_items += 1;
    Write("a/small.txt", "small, modified");
    cs.changed_bytes += 15;
    cs.changed_items += 1;
    EXPECT_TRUE(source_->Delete(data_set_ + "/name with space.txt", false).ok());
    EXPECT_TRUE(source_->Rename(data_set_ + "/a/b/c/deep.txt", data_set_ + "/a/moved.txt").ok());
    return cs;
  }

  ContentMap CaptureSource() const override { return Capture(*source_, data_set_); }
  std::string RestoreDestination(int n) const override {
    return restore_base_ + "/" + std::to_string(n);
  }
  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(*target_, destination);
  }

  std::string CorruptTarget(const std::string& restore_point_id, bool staged) override {
    ADD_FAILURE() << "not yet: the hdfs plugin has no staged or committed points on the target "
                     "(transfer and commit are not done)";
    return "";
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
};

LIFEBOAT_CONFORMANCE_RIG("hdfs", HdfsConformanceRig);

}  // namespace
}  // namespace lifeboat::hdfs
