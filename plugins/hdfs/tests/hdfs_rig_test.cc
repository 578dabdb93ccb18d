// The WebHDFS client and the hdfs plugin's operations against the HDFS rig: two real
// MiniDFSClusters started by tools/scripts/rig.sh (label rig). Each test works under a
// directory of its own and removes it (snapshots first) at the end.
#include <gtest/gtest.h>
#include <lifeboat/abi.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "hdfs_plugin.h"
#include "record_lines.h"
#include "rig_endpoints.h"
#include "webhdfs.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::hdfs {
namespace {

class HdfsRigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(endpoints, "hdfs");
    endpoints_ = endpoints;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    base_ = std::string("/lifeboat-test/") + info->name() + "-" + std::to_string(::getpid());
    primary_ = std::make_unique<WebHdfsClient>(Options("primary", SuperUser()));
    ASSERT_TRUE(primary_->Mkdirs(base_).ok());
  }

  void TearDown() override {
    if (primary_) Remove(*primary_, base_);
    for (lb_instance* i : instances_) api_->destroy(i);
  }

  std::string SuperUser() const { return endpoints_["clusters"]["primary"].value("user", ""); }
  std::string NameNode(const std::string& cluster) const {
    return "http://" + endpoints_["clusters"][cluster].value("namenode_http", std::string());
  }
  WebHdfsClient::Options Options(const std::string& cluster, const std::string& user) const {
    WebHdfsClient::Options o;
    o.namenodes = {NameNode(cluster)};
    o.user = user;
    return o;
  }

  // Deletes `path` with every snapshot under it (a snapshottable directory with snapshots
  // cannot be deleted).
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

  // A plugin instance on `cluster` through the C table, as the host makes it.
  lb_instance* Instance(const std::string& cluster, const std::string& extra_json = "",
                        const std::string& user = "") {
    if (api_ == nullptr) api_ = lifeboat_plugin_init(host_.table());
    nlohmann::json cfg = {{"namenodes", {NameNode(cluster)}},
                          {"user", user.empty() ? SuperUser() : user}};
    if (!extra_json.empty()) cfg.update(nlohmann::json::parse(extra_json));
    v1::PluginConfig config;
    config.set_plugin("hdfs");
    config.set_cluster(cluster);
    config.set_config_json(cfg.dump());
    StatusOr<lb_instance*> made = host_.Create(api_, config);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return nullptr;
    instances_.push_back(*made);
    return *made;
  }

  template <typename Resp, typename Req>
  StatusOr<Resp> Call(lb_instance* instance, lb_op op, const Req& req) {
    return host_.Call<Resp>(api_, instance, op, req);
  }

  v1::DataSet DataSet(const std::string& path) const {
    v1::DataSet ds;
    ds.set_component("hdfs");
    ds.set_selector(path);
    return ds;
  }

  StatusOr<v1::CutResponse> Cut(lb_instance* instance, const std::string& path,
                                const std::string& rp, const std::string& op_id) {
    v1::CutRequest req;
    req.set_op_id(op_id);
    *req.mutable_data_set() = DataSet(path);
    req.set_restore_point_id(rp);
    return Call<v1::CutResponse>(instance, LB_OP_CUT, req);
  }

  void Write(const std::string& path, const std::string& content) {
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    Status s = primary_->Create(path, content, o);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  nlohmann::json endpoints_;
  std::string base_;
  std::unique_ptr<WebHdfsClient> primary_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  std::vector<lb_instance*> instances_;
};

TEST_F(HdfsRigTest, ClientWritesReadsRenamesAndDeletes) {
  WebHdfsClient& c = *primary_;
  std::string binary;
  for (int i = 0; i < 70000; ++i) binary += static_cast<char>(i * 7 % 256);
  const std::string odd = base_ + "/dir with space/ünïcödé file.bin";
  ASSERT_TRUE(c.Mkdirs(base_ + "/dir with space", 0750).ok());
  WebHdfsClient::CreateOptions small_blocks;
  small_blocks.block_size = 16384;  // several blocks (the rig allows blocks from 1 KiB)
  small_blocks.permission = 0640;
  ASSERT_TRUE(c.Create(odd, binary, small_blocks).ok());
  Write(base_ + "/empty", "");

  StatusOr<std::string> back = c.ReadAll(odd);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, binary);
  StatusOr<std::string> empty = c.ReadAll(base_ + "/empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, "");

  StatusOr<FileStatus> st = c.GetFileStatus(odd);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->length, binary.size());
  EXPECT_EQ(st->block_size, 16384u);
  EXPECT_EQ(st->permission, 0640u);
  EXPECT_EQ(st->owner, SuperUser());
  StatusOr<FileStatus> dir = c.GetFileStatus(base_ + "/dir with space");
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->is_dir);
  EXPECT_EQ(dir->permission, 0750u);

  // Creating over an existing file without overwrite is refused.
  Status again = c.Create(odd, "x", WebHdfsClient::CreateOptions());
  EXPECT_EQ(again.code(), Code::kAlreadyExists) << again.ToString();

  ASSERT_TRUE(c.Rename(odd, base_ + "/renamed").ok());
  EXPECT_EQ(c.GetFileStatus(odd).status().code(), Code::kNotFound);
  EXPECT_EQ(c.Rename(odd, base_ + "/elsewhere").code(), Code::kFailedPrecondition);
  StatusOr<bool> deleted = c.Delete(base_ + "/renamed", false);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  deleted = c.Delete(base_ + "/renamed", false);
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
}

TEST_F(HdfsRigTest, ListingPagesThroughBatches) {
  // The rig lists at most 64 entries per LISTSTATUS_BATCH answer (dfs.ls.limit).
  std::set<std::string> want;
  for (int i = 0; i < 150; ++i) {
    std::string name = "f" + std::to_string(1000 + i);
    Write(base_ + "/many/" + name, "");
    want.insert(name);
  }
  StatusOr<std::vector<FileStatus>> items = primary_->ListStatus(base_ + "/many");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  std::vector<std::string> got;
  for (const FileStatus& st : *items) got.push_back(st.path_suffix);
  EXPECT_EQ(got, std::vector<std::string>(want.begin(), want.end()));
}

// The state directory's records (.plan, .verified) are lines written and read as streams
// (record_lines.h); one cut short, or with another count than its end line says, is refused
// as unreadable; one written before the lines (a single document) is read whole.
TEST_F(HdfsRigTest, RecordFilesAreLinesReadBackWholeOrRefusedWhenCutShort) {
  const std::string file = base_ + "/r.plan";
  constexpr int kEntries = 5000;
  int n = 0;
  Status written = WriteRecordLines(*primary_, file, {{"kind", "test"}}, [&](std::string* line) {
    if (n == kEntries) return false;
    *line = nlohmann::json({{"i", n}, {"p", "dir/file " + std::to_string(n)}}).dump();
    ++n;
    return true;
  });
  ASSERT_TRUE(written.ok()) << written.ToString();
  StatusOr<std::string> body = primary_->ReadAll(file);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(std::count(body->begin(), body->end(), '\n'), kEntries + 2);

  auto read = [&](std::string* kind, std::vector<int>* seen, bool* legacy) {
    return ReadRecordLines(
        *primary_, file,
        [&](const nlohmann::json& h, bool old) {
          *kind = h.value("kind", "");
          *legacy = old;
          return OkStatus();
        },
        [&](const nlohmann::json& e) {
          seen->push_back(e.value("i", -1));
          return OkStatus();
        });
  };
  std::string kind;
  std::vector<int> seen;
  bool legacy = true;
  Status r = read(&kind, &seen, &legacy);
  ASSERT_TRUE(r.ok()) << r.ToString();
  EXPECT_EQ(kind, "test");
  EXPECT_FALSE(legacy);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) ASSERT_EQ(seen[i], i);

  WebHdfsClient::CreateOptions o;
  o.overwrite = true;
  // Cut short: the end line never written (a writer that died), or half a line.
  const std::string header = body->substr(0, body->find('\n') + 1);
  for (const std::string& cut : {header + "{\"i\":0}\n{\"i\":1}\n", header + "{\"i\":0}\n{\"i",
                                 header + "{\"i\":0}\n{\"end\":2}\n"}) {
    ASSERT_TRUE(primary_->Create(file, cut, o).ok());
    seen.clear();
    r = read(&kind, &seen, &legacy);
    EXPECT_EQ(r.code(), Code::kNotFound) << cut << ": " << r.ToString();
    EXPECT_NE(r.message().find("cut short"), std::string::npos) << r.message();
  }
  // A record of the earlier format: one document on one line.
  ASSERT_TRUE(primary_->Create(file, R"({"kind":"old","files":{}})", o).ok());
  seen.clear();
  r = read(&kind, &seen, &legacy);
  ASSERT_TRUE(r.ok()) << r.ToString();
  EXPECT_TRUE(legacy);
  EXPECT_EQ(kind, "old");
  EXPECT_TRUE(seen.empty());
  ASSERT_TRUE(primary_->Delete(file, false).ok());
  EXPECT_EQ(read(&kind, &seen, &legacy).code(), Code::kNotFound);
}

TEST_F(HdfsRigTest, PermissionDeniedNamesPathAndUser) {
  ASSERT_TRUE(primary_->Mkdirs(base_ + "/private", 0700).ok());
  WebHdfsClient alice(Options("primary", "alice"));
  StatusOr<std::vector<FileStatus>> items = alice.ListStatus(base_ + "/private");
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), Code::kPermissionDenied) << items.status().ToString();
  EXPECT_NE(items.status().message().find(base_ + "/private"), std::string::npos)
      << items.status().ToString();
  EXPECT_NE(items.status().message().find("alice"), std::string::npos) << items.status().ToString();
}

TEST_F(HdfsRigTest, FailsOverToTheNameNodeThatAnswers) {
  WebHdfsClient::Options o = Options("primary", SuperUser());
  // Port 1 on loopback refuses connections: a NameNode that is down.
  o.namenodes.insert(o.namenodes.begin(), "http://127.0.0.1:1");
  WebHdfsClient c(o);
  EXPECT_EQ(c.CurrentNameNode(), "http://127.0.0.1:1");
  StatusOr<FileStatus> root = c.GetFileStatus("/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(c.CurrentNameNode(), NameNode("primary"));

  std::vector<NameNodeState> states = c.ProbeNameNodes();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_FALSE(states[0].reachable);
  EXPECT_FALSE(states[0].error.empty());
  EXPECT_TRUE(states[1].reachable) << states[1].error;
  EXPECT_EQ(states[1].state, "active");
  EXPECT_EQ(states[1].version, endpoints_.value("version", ""));
  EXPECT_FALSE(states[1].safe_mode);

  WebHdfsClient none(WebHdfsClient::Options{{"http://127.0.0.1:1"}, "u", 2, 5});
  EXPECT_EQ(none.GetFileStatus("/").status().code(), Code::kUnavailable);
}

TEST_F(HdfsRigTest, SnapshotsAndExtendedAttributes) {
  WebHdfsClient& c = *primary_;
  const std::string dir = base_ + "/snap";
  Write(dir + "/a", "one");
  EXPECT_EQ(c.CreateSnapshot(dir, "s1").status().code(), Code::kFailedPrecondition)
      << "a directory that is not snapshottable refuses snapshots";
  ASSERT_TRUE(c.AllowSnapshot(dir).ok());
  StatusOr<std::string> s1 = c.CreateSnapshot(dir, "s1");
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_EQ(*s1, dir + "/.snapshot/s1");
  EXPECT_EQ(c.CreateSnapshot(dir, "s1").status().code(), Code::kFailedPrecondition);
  Write(dir + "/a", "two");
  StatusOr<std::string> old = c.ReadAll(dir + "/.snapshot/s1/a");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(*old, "one");
  StatusOr<std::vector<SnapshotInfo>> list = c.GetSnapshotList(dir);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "s1");
  EXPECT_EQ((*list)[0].full_path, dir + "/.snapshot/s1");
  EXPECT_GT((*list)[0].modification_ms, 0);

  ASSERT_TRUE(c.SetXAttr(dir, "user.lifeboat.test", "1 2 op").ok());
  StatusOr<std::string> x = c.GetXAttr(dir, "user.lifeboat.test");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(*x, "1 2 op");
  ASSERT_TRUE(c.SetXAttr(dir, "user.lifeboat.test", "3 4 op2").ok());
  EXPECT_EQ(*c.GetXAttr(dir, "user.lifeboat.test"), "3 4 op2");
  ASSERT_TRUE(c.RemoveXAttr(dir, "user.lifeboat.test").ok());
  EXPECT_EQ(c.GetXAttr(dir, "user.lifeboat.test").status().code(), Code::kNotFound);

  StatusOr<bool> deleted = c.DeleteSnapshot(dir, "s1");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_TRUE(*deleted);
  deleted = c.DeleteSnapshot(dir, "s1");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_FALSE(*deleted);
}

TEST_F(HdfsRigTest, DataPathRangesAppendTimesOwnerChecksum) {
  WebHdfsClient& c = *primary_;
  std::string content;
  for (int i = 0; i < 5000; ++i) content += static_cast<char>('a' + i % 26);
  WebHdfsClient::CreateOptions o;
  o.block_size = 4096;
  ASSERT_TRUE(c.Create(base_ + "/f", content.substr(0, 3000), o).ok());
  ASSERT_TRUE(c.Append(base_ + "/f", content.substr(3000)).ok());
  StatusOr<std::string> all = c.ReadAll(base_ + "/f");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, content);
  // A range across the block boundary, and one past the end.
  StatusOr<std::string> range = c.Read(base_ + "/f", 4000, 200);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(*range, content.substr(4000, 200));
  StatusOr<std::string> tail = c.Read(base_ + "/f", 4900, 1000);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(*tail, content.substr(4900));

  ASSERT_TRUE(c.SetTimes(base_ + "/f", 1700000000123, -1).ok());
  ASSERT_TRUE(c.SetOwner(base_ + "/f", "alice", "analysts").ok());
  StatusOr<FileStatus> st = c.GetFileStatus(base_ + "/f");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->modification_ms, 1700000000123);
  EXPECT_EQ(st->owner, "alice");
  EXPECT_EQ(st->group, "analysts");
  WebHdfsClient alice(Options("primary", "alice"));
  EXPECT_EQ(alice.SetOwner(base_ + "/f", "bob", "").code(), Code::kPermissionDenied)
      << "only the superuser gives files away";

  // The HDFS checksum matches for equal content and block size, not across block sizes.
  ASSERT_TRUE(c.Create(base_ + "/same", content, o).ok());
  WebHdfsClient::CreateOptions other = o;
  other.block_size = 2048;
  ASSERT_TRUE(c.Create(base_ + "/other-blocks", content, other).ok());
  StatusOr<WebHdfsClient::FileChecksum> a = c.GetFileChecksum(base_ + "/f");
  StatusOr<WebHdfsClient::FileChecksum> b = c.GetFileChecksum(base_ + "/same");
  StatusOr<WebHdfsClient::FileChecksum> d = c.GetFileChecksum(base_ + "/other-blocks");
  ASSERT_TRUE(a.ok() && b.ok() && d.ok()) << a.status().ToString() << d.status().ToString();
  EXPECT_NE(a->algorithm.find("CRC32C"), std::string::npos) << a->algorithm;
  EXPECT_FALSE(a->bytes.empty());
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_NE(a->bytes, d->bytes);
}

TEST_F(HdfsRigTest, SnapshotDiffListsChangesAcrossPages) {
  WebHdfsClient& c = *primary_;
  const std::string d = base_ + "/diff";
  Write(d + "/keep.txt", "keep");
  Write(d + "/gone.txt", "gone");
  Write(d + "/sub/b.txt", "b");
  Write(d + "/over.txt", "v1");
  ASSERT_TRUE(c.AllowSnapshot(d).ok());
  ASSERT_TRUE(c.CreateSnapshot(d, "s1").ok());
  // More changes than one answer holds (the rig pages every 16 entries).
  for (int i = 0; i < 40; ++i) Write(d + "/new-" + std::to_string(100 + i), "n");
  ASSERT_TRUE(c.Delete(d + "/gone.txt", false).ok());
  ASSERT_TRUE(c.Rename(d + "/sub", d + "/sub2").ok());
  ASSERT_TRUE(c.Append(d + "/sub2/b.txt", "more").ok());
  Write(d + "/over.txt", "v2");  // overwrite: a delete and a create of the same path
  ASSERT_TRUE(c.CreateSnapshot(d, "s2").ok());

  StatusOr<std::vector<SnapshotDiffEntry>> diff = c.GetSnapshotDiff(d, "s1", "s2");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  std::multiset<std::string> got;
  for (const SnapshotDiffEntry& e : *diff) {
    const char* type = e.type == SnapshotDiffEntry::kCreate   ? "C "
                       : e.type == SnapshotDiffEntry::kDelete ? "D "
                       : e.type == SnapshotDiffEntry::kRename ? "R "
                                                              : "M ";
    got.insert(type + e.source + (e.target.empty() ? "" : " -> " + e.target));
  }
  std::multiset<std::string> want = {"M ", "D gone.txt", "R sub -> sub2", "D over.txt",
                                     "C over.txt",
                                     // the modify of the renamed file names its old path
                                     "M sub/b.txt"};
  for (int i = 0; i < 40; ++i) want.insert("C new-" + std::to_string(100 + i));
  EXPECT_EQ(got.size(), want.size());
  for (const std::string& w : want) EXPECT_EQ(got.count(w), want.count(w)) << "want '" << w << "'";
  for (const std::string& g : got) EXPECT_EQ(want.count(g), got.count(g)) << "got '" << g << "'";

  // Against the live directory ("" = now): nothing changed since s2.
  StatusOr<std::vector<SnapshotDiffEntry>> none = c.GetSnapshotDiff(d, "s2", "");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(c.GetSnapshotDiff(d, "s1", "no-such").ok());
}

TEST_F(HdfsRigTest, PluginProbesBothClusters) {
  for (const std::string cluster : {"primary", "secondary"}) {
    lb_instance* inst = Instance(cluster);
    ASSERT_NE(inst, nullptr);
    StatusOr<v1::ProbeResponse> probe =
        Call<v1::ProbeResponse>(inst, LB_OP_PROBE, v1::ProbeRequest());
    ASSERT_TRUE(probe.ok()) << probe.status().ToString();
    EXPECT_EQ(probe->health(), v1::HEALTHY) << probe->detail();
    EXPECT_EQ(probe->component_version(), endpoints_.value("version", ""));
    EXPECT_NE(probe->detail().find("active"), std::string::npos) << probe->detail();
  }
  // One of two NameNodes down: still served, but DEGRADED.
  nlohmann::json both = {{"namenodes", {NameNode("primary"), "127.0.0.1:1"}}};
  lb_instance* ha = Instance("primary", both.dump());
  ASSERT_NE(ha, nullptr);
  StatusOr<v1::ProbeResponse> probe = Call<v1::ProbeResponse>(ha, LB_OP_PROBE, v1::ProbeRequest());
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->health(), v1::DEGRADED) << probe->detail();
  EXPECT_NE(probe->detail().find("unreachable"), std::string::npos) << probe->detail();
  // None up: UNREACHABLE.
  lb_instance* dead = Instance("primary", R"({"namenodes": ["127.0.0.1:1"]})");
  ASSERT_NE(dead, nullptr);
  probe = Call<v1::ProbeResponse>(dead, LB_OP_PROBE, v1::ProbeRequest());
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->health(), v1::UNREACHABLE) << probe->detail();
}

TEST_F(HdfsRigTest, PluginResolvesDirectoriesOnly) {
  Write(base_ + "/sales/part-0", "x");
  lb_instance* inst = Instance("primary");
  ASSERT_NE(inst, nullptr);
  v1::ResolveRequest req;
  req.set_selector(base_ + "/sales/");
  StatusOr<v1::ResolveResponse> resolved = Call<v1::ResolveResponse>(inst, LB_OP_RESOLVE, req);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  ASSERT_EQ(resolved->data_sets_size(), 1);
  EXPECT_EQ(resolved->data_sets(0).component(), "hdfs");
  EXPECT_EQ(resolved->data_sets(0).selector(), base_ + "/sales");
  req.set_selector(base_ + "/nothing");
  EXPECT_EQ(Call<v1::ResolveResponse>(inst, LB_OP_RESOLVE, req).status().code(), Code::kNotFound);
  req.set_selector(base_ + "/sales/part-0");
  EXPECT_EQ(Call<v1::ResolveResponse>(inst, LB_OP_RESOLVE, req).status().code(),
            Code::kInvalidArgument);
}

TEST_F(HdfsRigTest, CutIsASnapshotNamedAfterThePointAndReleaseDropsIt) {
  const std::string ds = base_ + "/sales";
  Write(ds + "/a.txt", "hello");
  Write(ds + "/sub/b.bin", std::string(3000, 'b'));
  Write(ds + "/sub/deeper/empty", "");
  ASSERT_TRUE(primary_->Mkdirs(ds + "/empty-dir").ok());
  lb_instance* inst = Instance("primary");
  ASSERT_NE(inst, nullptr);

  v1::PrepareRequest prep;
  prep.set_op_id("prep-1");
  *prep.mutable_data_set() = DataSet(ds);
  StatusOr<v1::PrepareResponse> prepared = Call<v1::PrepareResponse>(inst, LB_OP_PREPARE, prep);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_NE(prepared->detail().find("not snapshottable yet"), std::string::npos)
      << prepared->detail();

  StatusOr<v1::CutResponse> cut = Cut(inst, ds, "rp-1", "cut-1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  const v1::SnapshotRef& ref = cut->snapshot();
  EXPECT_EQ(ref.plugin(), "hdfs");
  EXPECT_EQ(ref.cluster(), "primary");
  EXPECT_EQ(ref.data_set().selector(), ds);
  EXPECT_EQ(ref.restore_point_id(), "rp-1");
  EXPECT_EQ(ref.snapshot_id(), "lifeboat-rp-1");
  EXPECT_EQ(ref.cut_op_id(), "cut-1");
  EXPECT_GT(ref.cut_start_unix_nanos(), 0);
  EXPECT_LE(ref.cut_start_unix_nanos(), ref.cut_end_unix_nanos());
  StatusOr<FileStatus> snap = primary_->GetFileStatus(ds + "/.snapshot/lifeboat-rp-1");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();

  std::vector<std::string> paths;
  for (const v1::Entry& e : cut->manifest().entries()) {
    paths.push_back(e.path() + (e.type() == v1::ENTRY_DIRECTORY ? "/" : "") + ":" +
                    std::to_string(e.size()));
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"a.txt:5", "empty-dir/:0", "sub/:0", "sub/b.bin:3000",
                                             "sub/deeper/:0", "sub/deeper/empty:0"}));
  EXPECT_EQ(cut->manifest().total_bytes(), 3005u);
  EXPECT_EQ(cut->manifest().snapshot().snapshot_id(), "lifeboat-rp-1");
  for (const v1::Entry& e : cut->manifest().entries()) {
    EXPECT_EQ(e.owner(), SuperUser()) << e.path();
    EXPECT_GT(e.mtime_unix_nanos(), 0) << e.path();
    EXPECT_NE(e.mode(), 0u) << e.path();
  }

  // Changes after the cut are not in it; the same cut again answers the same.
  Write(ds + "/later.txt", "later");
  StatusOr<v1::CutResponse> again = Cut(inst, ds, "rp-1", "cut-1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->SerializeAsString(), cut->SerializeAsString());

  // A new point is a new snapshot with the new file.
  StatusOr<v1::CutResponse> second = Cut(inst, ds, "rp-2", "cut-2");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->manifest().entries_size(), cut->manifest().entries_size() + 1);

  v1::ReleaseRequest rel;
  rel.set_op_id("release-1");
  *rel.mutable_snapshot() = ref;
  StatusOr<v1::ReleaseResponse> released = Call<v1::ReleaseResponse>(inst, LB_OP_RELEASE, rel);
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_TRUE(released->released());
  EXPECT_EQ(primary_->GetFileStatus(ds + "/.snapshot/lifeboat-rp-1").status().code(),
            Code::kNotFound);
  EXPECT_EQ(primary_->GetXAttr(ds, CutAttributeName("lifeboat-rp-1")).status().code(),
            Code::kNotFound);
  released = Call<v1::ReleaseResponse>(inst, LB_OP_RELEASE, rel);
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_TRUE(released->released());
  EXPECT_TRUE(primary_->GetFileStatus(ds + "/.snapshot/lifeboat-rp-2").ok())
      << "releasing one point leaves the others";
}

TEST_F(HdfsRigTest, CommitMakesTheSameSnapshotOnTheTargetAndExpireRemovesIt) {
  const std::string ds = base_ + "/sales";
  Write(ds + "/a.txt", "hello");
  lb_instance* source = Instance("primary");
  lb_instance* target = Instance("secondary");
  ASSERT_NE(source, nullptr);
  ASSERT_NE(target, nullptr);
  StatusOr<v1::CutResponse> cut = Cut(source, ds, "rp-1", "cut-1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();

  v1::CommitRequest commit;
  commit.set_op_id("commit-1");
  *commit.mutable_snapshot() = cut->snapshot();
  StatusOr<v1::CommitResponse> nothing = Call<v1::CommitResponse>(target, LB_OP_COMMIT, commit);
  EXPECT_EQ(nothing.status().code(), Code::kFailedPrecondition) << nothing.status().ToString();
  EXPECT_NE(nothing.status().message().find("transfer the point first"), std::string::npos);

  // What a transfer would have left on the target (transfer itself is not done yet).
  WebHdfsClient secondary(Options("secondary", SuperUser()));
  ASSERT_TRUE(secondary.Mkdirs(base_).ok());
  ASSERT_TRUE(secondary.Create(ds + "/a.txt", "hello", WebHdfsClient::CreateOptions()).ok());
  StatusOr<v1::CommitResponse> committed = Call<v1::CommitResponse>(target, LB_OP_COMMIT, commit);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_TRUE(secondary.GetFileStatus(ds + "/.snapshot/lifeboat-rp-1").ok());
  ASSERT_EQ(committed->manifest().entries_size(), 1);
  EXPECT_EQ(committed->manifest().entries(0).path(), "a.txt");
  EXPECT_EQ(committed->manifest().snapshot().restore_point_id(), "rp-1");
  EXPECT_GT(committed->manifest().committed_unix_nanos(), 0);
  // Changes after the commit stay out of the point; a repeated commit answers the same.
  ASSERT_TRUE(secondary.Create(ds + "/b.txt", "later", WebHdfsClient::CreateOptions()).ok());
  StatusOr<v1::CommitResponse> again = Call<v1::CommitResponse>(target, LB_OP_COMMIT, commit);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->SerializeAsString(), committed->SerializeAsString());

  // A second point, then expire the first and one that never existed.
  StatusOr<v1::CutResponse> cut2 = Cut(source, ds, "rp-2", "cut-2");
  ASSERT_TRUE(cut2.ok()) << cut2.status().ToString();
  *commit.mutable_snapshot() = cut2->snapshot();
  commit.set_op_id("commit-2");
  ASSERT_TRUE(Call<v1::CommitResponse>(target, LB_OP_COMMIT, commit).ok());
  v1::ExpireRequest expire;
  expire.set_op_id("expire-1");
  *expire.mutable_data_set() = DataSet(ds);
  expire.add_restore_point_ids("rp-1");
  expire.add_restore_point_ids("rp-never");
  StatusOr<v1::ExpireResponse> expired = Call<v1::ExpireResponse>(target, LB_OP_EXPIRE, expire);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  ASSERT_EQ(expired->removed_size(), 1);
  EXPECT_EQ(expired->removed(0), "rp-1");
  ASSERT_EQ(expired->already_absent_size(), 1);
  EXPECT_EQ(expired->already_absent(0), "rp-never");
  EXPECT_EQ(secondary.GetFileStatus(ds + "/.snapshot/lifeboat-rp-1").status().code(),
            Code::kNotFound);
  EXPECT_TRUE(secondary.GetFileStatus(ds + "/.snapshot/lifeboat-rp-2").ok());
  EXPECT_TRUE(primary_->GetFileStatus(ds + "/.snapshot/lifeboat-rp-1").ok())
      << "expire on the target leaves the source alone";
  expired = Call<v1::ExpireResponse>(target, LB_OP_EXPIRE, expire);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(expired->removed_size(), 0);
  EXPECT_EQ(expired->already_absent_size(), 2);
  Remove(secondary, base_);
}

TEST_F(HdfsRigTest, CutSaysWhenAnAdministratorMustAllowSnapshots) {
  const std::string ds = base_ + "/guarded";
  Write(ds + "/a", "a");
  // An ordinary user may not run ALLOWSNAPSHOT.
  lb_instance* alice = Instance("primary", "", "alice");
  ASSERT_NE(alice, nullptr);
  StatusOr<v1::CutResponse> cut = Cut(alice, ds, "rp-1", "cut-1");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), Code::kFailedPrecondition) << cut.status().ToString();
  EXPECT_NE(cut.status().message().find("hdfs dfsadmin -allowSnapshot " + ds), std::string::npos)
      << cut.status().ToString();
  EXPECT_NE(cut.status().message().find("alice"), std::string::npos) << cut.status().ToString();

  // allow_snapshot: false leaves it to the administrator even for the superuser.
  lb_instance* strict = Instance("primary", R"({"allow_snapshot": false})");
  ASSERT_NE(strict, nullptr);
  cut = Cut(strict, ds, "rp-1", "cut-1");
  EXPECT_EQ(cut.status().code(), Code::kFailedPrecondition) << cut.status().ToString();
  StatusOr<FileStatus> st = primary_->GetFileStatus(ds);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->snapshot_enabled) << "a refused cut changes nothing";
}

}  // namespace
}  // namespace lifeboat::hdfs
