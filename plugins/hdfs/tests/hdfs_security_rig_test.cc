// fence, unfence and sync_security of the hdfs plugin against the HDFS rig (label rig): the
// plugin acts as the rig's superuser, applications as ordinary users with simple
// authentication (user.name=alice), whom HDFS's permission checks apply to. Each test works
// under a directory of its own and removes it at the end. The tests without a fixture need
// no rig (ACL spec and index names).
#include <gtest/gtest.h>
#include <lifeboat/abi.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "hdfs_plugin.h"
#include "rig_endpoints.h"
#include "security.h"
#include "webhdfs.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::hdfs {
namespace {

TEST(HdfsSecurity, FullAclSpecAddsBaseEntriesAndMask) {
  EXPECT_TRUE(FullAclSpec(0755, {}).empty());
  EXPECT_EQ(FullAclSpec(0750, {"user:bob:rw-", "group::r-x"}),
            (std::vector<std::string>{"user::rwx", "user:bob:rw-", "group::r-x", "mask::r-x",
                                      "other::---"}));
  // Only a default ACL: the group bits are the group's, there is no access mask.
  EXPECT_EQ(FullAclSpec(0755, {"default:user::rwx", "default:group::r-x", "default:other::---"}),
            (std::vector<std::string>{"user::rwx", "group::r-x", "other::r-x", "default:user::rwx",
                                      "default:group::r-x", "default:other::---"}));
}

TEST(HdfsSecurity, TranslateAclMapsNamesAndRefusesCollisions) {
  google::protobuf::Map<std::string, std::string> users;
  google::protobuf::Map<std::string, std::string> groups;
  users["bob"] = "robert";
  groups["staff"] = "staff2";
  StatusOr<std::vector<std::string>> t =
      TranslateAcl({"user:bob:rw-", "group:staff:r--", "default:user:bob:r-x", "group::r-x"}, users,
                   groups, "a");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, (std::vector<std::string>{"default:user:robert:r-x", "group::r-x",
                                          "group:staff2:r--", "user:robert:rw-"}));
  users["carol"] = "robert";
  StatusOr<std::vector<std::string>> both =
      TranslateAcl({"user:bob:rw-", "user:carol:r--"}, users, groups, "dir/file");
  EXPECT_EQ(both.status().code(), Code::kFailedPrecondition) << both.status().ToString();
  EXPECT_NE(both.status().message().find("dir/file"), std::string::npos);
  EXPECT_NE(both.status().message().find("user_map"), std::string::npos);
}

TEST(HdfsSecurity, FenceIndexNamesRoundTrip) {
  for (const std::string p : {"/a", "/data/sales 2026/ünï", "/x%y/z"}) {
    std::string name = FenceIndexName(p);
    EXPECT_EQ(name.find('/'), std::string::npos) << name;
    EXPECT_EQ(PathFromFenceIndexName(name), p);
  }
  EXPECT_EQ(PathFromFenceIndexName("%2Fa%2"), std::nullopt);
  EXPECT_EQ(PathFromFenceIndexName("relative"), std::nullopt);
}

class HdfsSecurityRigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(endpoints, "hdfs");
    endpoints_ = endpoints;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    base_ = std::string("/lifeboat-sec-test/") + info->name() + "-" + std::to_string(::getpid());
    ds_ = base_ + "/ds";
    primary_ = std::make_unique<WebHdfsClient>(Options("primary", SuperUser()));
    secondary_ = std::make_unique<WebHdfsClient>(Options("secondary", SuperUser()));
    alice_ = std::make_unique<WebHdfsClient>(Options("primary", "alice"));
    bob_ = std::make_unique<WebHdfsClient>(Options("primary", "bob"));
    ASSERT_TRUE(primary_->Mkdirs(ds_, 0755).ok());
    ASSERT_TRUE(primary_->SetOwner(ds_, "alice", "staff").ok());
  }

  void TearDown() override {
    for (WebHdfsClient* c : {primary_.get(), secondary_.get()}) {
      if (c == nullptr) continue;
      (void)c->RemoveXAttr(ds_, kFenceMarkerAttr);
      (void)c->Delete(FenceIndexPath(ds_), false);
      (void)c->Delete(base_, /*recursive=*/true);
    }
    for (lb_instance* i : instances_) api_->destroy(i);
  }

  std::string SuperUser() const { return endpoints_["clusters"]["primary"].value("user", ""); }
  WebHdfsClient::Options Options(const std::string& cluster, const std::string& user) const {
    WebHdfsClient::Options o;
    o.namenodes = {"http://" + endpoints_["clusters"][cluster].value("namenode_http", "")};
    o.user = user;
    return o;
  }
  v1::PluginConfig Config(const std::string& cluster) const {
    nlohmann::json cfg = {{"namenodes", {Options(cluster, "").namenodes[0]}},
                          {"user", SuperUser()}};
    v1::PluginConfig config;
    config.set_plugin("hdfs");
    config.set_cluster(cluster);
    config.set_config_json(cfg.dump());
    return config;
  }

  // A fresh plugin instance on `cluster` through the C table, as the host makes it.
  lb_instance* Instance(const std::string& cluster) {
    if (api_ == nullptr) api_ = lifeboat_plugin_init(host_.table());
    StatusOr<lb_instance*> made = host_.Create(api_, Config(cluster));
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return nullptr;
    instances_.push_back(*made);
    return *made;
  }

  v1::DataSet DataSet() const {
    v1::DataSet d;
    d.set_component("hdfs");
    d.set_selector(ds_);
    return d;
  }

  StatusOr<v1::FenceResponse> Fence(lb_instance* i, uint64_t epoch, const std::string& op,
                                    bool unfence = false) {
    v1::FenceRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = DataSet();
    req.set_epoch(epoch);
    req.set_reason("test " + op);
    return host_.Call<v1::FenceResponse>(api_, i, unfence ? LB_OP_UNFENCE : LB_OP_FENCE, req);
  }
  StatusOr<v1::FenceResponse> Unfence(lb_instance* i, uint64_t epoch, const std::string& op) {
    return Fence(i, epoch, op, /*unfence=*/true);
  }
  const v1::FencedDataSet* Listed(lb_instance* i, v1::ProbeResponse& probe) {
    StatusOr<v1::ProbeResponse> p =
        host_.Call<v1::ProbeResponse>(api_, i, LB_OP_PROBE, v1::ProbeRequest());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return nullptr;
    probe = *p;
    for (const v1::FencedDataSet& f : probe.fenced()) {
      if (f.data_set().selector() == ds_) return &f;
    }
    return nullptr;
  }

  static void Put(WebHdfsClient& c, const std::string& path, const std::string& data,
                  uint32_t mode) {
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    o.permission = mode;
    Status s = c.Create(path, data, o);
    ASSERT_TRUE(s.ok()) << s.ToString();
    // The permission given to CREATE passes through the umask: set it exactly.
    ASSERT_TRUE(c.SetPermission(path, mode).ok());
  }

  // Owner, group, permission and ACL of every item under `root` (root included), by path.
  static std::map<std::string, std::string> Security(WebHdfsClient& c, const std::string& root) {
    std::map<std::string, std::string> out;
    std::vector<std::string> todo = {""};
    while (!todo.empty()) {
      std::string rel = todo.back();
      todo.pop_back();
      const std::string path = rel.empty() ? root : root + "/" + rel;
      StatusOr<FileStatus> st = c.GetFileStatus(path);
      EXPECT_TRUE(st.ok()) << st.status().ToString();
      if (!st.ok()) return out;
      StatusOr<std::vector<std::string>> acl = c.GetAclEntries(path);
      EXPECT_TRUE(acl.ok()) << acl.status().ToString();
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st->permission);
      std::string text = st->owner + ":" + st->group + " " + mode;
      if (acl.ok()) {
        for (const std::string& e : *acl) text += " " + e;
      }
      out[rel.empty() ? "." : rel] = text;
      if (!st->is_dir) continue;
      StatusOr<std::vector<FileStatus>> items = c.ListStatus(path);
      EXPECT_TRUE(items.ok()) << items.status().ToString();
      if (!items.ok()) return out;
      for (const FileStatus& i : *items)
        todo.push_back(rel.empty() ? i.path_suffix : rel + "/" + i.path_suffix);
    }
    return out;
  }

  // Alice's tree: files and directories of several modes, a read-only file, a sticky
  // directory, a directory with an access and a default ACL naming bob, a file with an ACL.
  void PopulateAsAlice() {
    WebHdfsClient& a = *alice_;
    Put(a, ds_ + "/file.txt", "hello", 0644);
    Put(a, ds_ + "/ro.txt", "read only", 0444);
    ASSERT_TRUE(a.Mkdirs(ds_ + "/sub/deeper", 0755).ok());
    Put(a, ds_ + "/sub/deeper/inner.txt", "inner", 0640);
    ASSERT_TRUE(a.Mkdirs(ds_ + "/tmp").ok());
    ASSERT_TRUE(a.SetPermission(ds_ + "/tmp", 01777).ok());
    ASSERT_TRUE(a.Mkdirs(ds_ + "/shared").ok());
    ASSERT_TRUE(
        a.SetAcl(ds_ + "/shared", {"user::rwx", "user:bob:rwx", "group::r-x", "mask::rwx",
                                   "other::r-x", "default:user::rwx", "default:user:bob:rwx",
                                   "default:group::r-x", "default:mask::rwx", "default:other::---"})
            .ok());
    Put(a, ds_ + "/acl.txt", "acl", 0640);
    ASSERT_TRUE(a.SetAcl(ds_ + "/acl.txt",
                         {"user::rw-", "user:bob:rw-", "group::r--", "mask::rw-", "other::---"})
                    .ok());
  }

  // Every kind of write an application does, each on fresh names (`n` tells rounds apart).
  // Returns the failures by kind; an empty map when everything went through.
  std::map<std::string, Status> WritesAsAlice(int n) {
    std::map<std::string, Status> failed;
    const std::string k = std::to_string(n);
    auto check = [&](const std::string& kind, Status s) {
      if (!s.ok()) failed.emplace(kind, s);
    };
    WebHdfsClient::CreateOptions o;
    check("create", alice_->Create(ds_ + "/new-" + k, "new", o));
    check("create in subdirectory", alice_->Create(ds_ + "/sub/deeper/new-" + k, "new", o));
    check("append", alice_->Append(ds_ + "/file.txt", "+" + k));
    check("delete", alice_->Delete(ds_ + "/victim-" + k, false).status());
    check("rename", alice_->Rename(ds_ + "/sub/mover-" + k, ds_ + "/sub/moved-" + k));
    check("mkdir", alice_->Mkdirs(ds_ + "/sub/dir-" + k));
    check("write through an ACL entry (bob)", bob_->Create(ds_ + "/shared/bob-" + k, "b", o));
    check("append through an ACL entry (bob)", bob_->Append(ds_ + "/acl.txt", "b"));
    return failed;
  }
  // Items the next WritesAsAlice(n) deletes and renames, made by the superuser (so that they
  // can be made while fenced too).
  void PrepareVictims(int n) {
    const std::string k = std::to_string(n);
    Put(*primary_, ds_ + "/victim-" + k, "v", 0644);
    Put(*primary_, ds_ + "/sub/mover-" + k, "m", 0644);
    ASSERT_TRUE(primary_->SetOwner(ds_ + "/victim-" + k, "alice", "staff").ok());
    ASSERT_TRUE(primary_->SetOwner(ds_ + "/sub/mover-" + k, "alice", "staff").ok());
  }

  nlohmann::json endpoints_;
  std::string base_;
  std::string ds_;
  std::unique_ptr<WebHdfsClient> primary_;
  std::unique_ptr<WebHdfsClient> secondary_;
  std::unique_ptr<WebHdfsClient> alice_;
  std::unique_ptr<WebHdfsClient> bob_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  std::vector<lb_instance*> instances_;
};

TEST_F(HdfsSecurityRigTest, FenceRefusesEveryWriteOfOrdinaryUsersAndUnfenceRestores) {
  PopulateAsAlice();
  PrepareVictims(1);
  std::map<std::string, Status> before = WritesAsAlice(1);
  for (const auto& [kind, s] : before)
    ADD_FAILURE() << "before the fence, " << kind << ": " << s.ToString();
  const std::map<std::string, std::string> security = Security(*primary_, ds_);

  lb_instance* nn = Instance("primary");
  ASSERT_NE(nn, nullptr);
  StatusOr<v1::FenceResponse> fenced = Fence(nn, 5, "fence-1");
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  EXPECT_TRUE(fenced->fenced());
  EXPECT_EQ(fenced->epoch(), 5u);
  EXPECT_GT(fenced->items_changed(), 5u);

  PrepareVictims(2);
  std::map<std::string, Status> during = WritesAsAlice(2);
  for (const char* kind :
       {"create", "create in subdirectory", "append", "delete", "rename", "mkdir",
        "write through an ACL entry (bob)", "append through an ACL entry (bob)"}) {
    auto it = during.find(kind);
    if (it == during.end()) {
      ADD_FAILURE() << kind << " went through the fence";
      continue;
    }
    EXPECT_EQ(it->second.code(), Code::kPermissionDenied) << kind << ": " << it->second.ToString();
    // A clear error: the user and the path HDFS refused.
    const std::string m = it->second.message();
    EXPECT_TRUE(m.find("alice") != std::string::npos || m.find("bob") != std::string::npos) << m;
    EXPECT_NE(m.find(ds_), std::string::npos) << m;
  }
  EXPECT_EQ(primary_->GetFileStatus(ds_ + "/new-2").status().code(), Code::kNotFound);
  // What the superuser made for this round goes again, so that the trees compare below.
  ASSERT_TRUE(primary_->Delete(ds_ + "/victim-2", false).ok());
  ASSERT_TRUE(primary_->Delete(ds_ + "/sub/mover-2", false).ok());
  // The documented limit: the superuser is not held back.
  EXPECT_TRUE(primary_->Create(ds_ + "/by-superuser", "x", WebHdfsClient::CreateOptions()).ok());
  ASSERT_TRUE(primary_->Delete(ds_ + "/by-superuser", false).ok());

  v1::ProbeResponse probe;
  const v1::FencedDataSet* listed = Listed(nn, probe);
  ASSERT_NE(listed, nullptr) << "probe does not list the fenced data set: " << probe.detail();
  EXPECT_EQ(listed->epoch(), 5u);
  EXPECT_EQ(listed->reason(), "test fence-1");
  EXPECT_EQ(listed->mechanism(), "write_bits");
  EXPECT_GT(listed->fenced_unix_nanos(), 0);

  // Idempotent: the same op id answers the same; another at the same epoch changes nothing.
  StatusOr<v1::FenceResponse> repeated = Fence(nn, 5, "fence-1");
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_EQ(repeated->items_changed(), fenced->items_changed());
  EXPECT_EQ(repeated->detail(), fenced->detail());
  StatusOr<v1::FenceResponse> again = Fence(nn, 5, "fence-2");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->epoch(), 5u);
  EXPECT_EQ(again->items_changed(), 0u) << again->detail();
  // Epoch order: a lower one does not replace the recorded one, a higher one does.
  StatusOr<v1::FenceResponse> lower = Fence(nn, 3, "fence-3");
  ASSERT_TRUE(lower.ok()) << lower.status().ToString();
  EXPECT_EQ(lower->epoch(), 5u);
  StatusOr<v1::FenceResponse> higher = Fence(nn, 7, "fence-4");
  ASSERT_TRUE(higher.ok()) << higher.status().ToString();
  EXPECT_EQ(higher->epoch(), 7u);
  StatusOr<v1::FenceResponse> stale = Unfence(nn, 6, "unfence-stale");
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition) << stale.status().ToString();
  EXPECT_NE(stale.status().message().find("epoch 7"), std::string::npos);
  EXPECT_EQ(alice_->Mkdirs(ds_ + "/still-fenced").code(), Code::kPermissionDenied);
  // An op id is bound to its operation.
  EXPECT_EQ(Unfence(nn, 7, "fence-1").status().code(), Code::kInvalidArgument);

  StatusOr<v1::FenceResponse> lifted = Unfence(nn, 7, "unfence-1");
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_FALSE(lifted->fenced());
  EXPECT_EQ(lifted->epoch(), 0u) << "no fence is in force after an unfence";
  EXPECT_EQ(Security(*primary_, ds_), security) << "unfence did not restore modes and ACLs";
  EXPECT_EQ(primary_->GetXAttr(ds_ + "/file.txt", kFenceModeAttr).status().code(), Code::kNotFound);
  EXPECT_EQ(Listed(nn, probe), nullptr) << "probe still lists the data set";

  PrepareVictims(3);
  std::map<std::string, Status> after = WritesAsAlice(3);
  for (const auto& [kind, s] : after)
    ADD_FAILURE() << "after the unfence, " << kind << ": " << s.ToString();

  StatusOr<v1::FenceResponse> repeat_unfence = Unfence(nn, 7, "unfence-1");
  ASSERT_TRUE(repeat_unfence.ok()) << repeat_unfence.status().ToString();
  EXPECT_EQ(repeat_unfence->detail(), lifted->detail());
  StatusOr<v1::FenceResponse> not_fenced = Unfence(nn, 1, "unfence-2");
  ASSERT_TRUE(not_fenced.ok()) << not_fenced.status().ToString();
  EXPECT_FALSE(not_fenced->fenced());
  EXPECT_NE(not_fenced->detail().find("was not fenced"), std::string::npos);
}

TEST_F(HdfsSecurityRigTest, FenceIsKeptOnTheClusterForAReturningPrimary) {
  PopulateAsAlice();
  lb_instance* first = Instance("primary");
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(Fence(first, 9, "fence-old").ok());
  // A new instance (the agent restarted, the old primary came back) finds the fence.
  lb_instance* returned = Instance("primary");
  ASSERT_NE(returned, nullptr);
  v1::ProbeResponse probe;
  const v1::FencedDataSet* listed = Listed(returned, probe);
  ASSERT_NE(listed, nullptr) << probe.detail();
  EXPECT_EQ(listed->epoch(), 9u);
  StatusOr<std::optional<FenceMarker>> marker = ReadFenceMarker(*primary_, ds_);
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(marker->has_value());
  EXPECT_EQ((*marker)->epoch, 9u);
  EXPECT_TRUE((*marker)->complete);
  EXPECT_EQ((*marker)->op_id, "fence-old");
  // The plugin's own writes into the data set (a restore) are refused, at it and below it,
  // and so is a restore over a directory that holds it.
  Status into = CheckNotFenced(*primary_, ds_, "restore into " + ds_);
  EXPECT_EQ(into.code(), Code::kFailedPrecondition) << into.ToString();
  EXPECT_NE(into.message().find("epoch 9"), std::string::npos) << into.ToString();
  EXPECT_EQ(CheckNotFenced(*primary_, ds_ + "/sub/deeper", "restore").code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(CheckNotFenced(*primary_, base_, "restore").code(), Code::kFailedPrecondition);
  EXPECT_TRUE(CheckNotFenced(*primary_, base_ + "/elsewhere", "restore").ok());
  // The other cluster knows nothing of it.
  EXPECT_TRUE(CheckNotFenced(*secondary_, ds_, "restore").ok());
  EXPECT_EQ(Unfence(returned, 8, "unfence-stale").status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(Unfence(returned, 10, "unfence").ok());
  EXPECT_TRUE(CheckNotFenced(*primary_, ds_, "restore").ok());
}

TEST_F(HdfsSecurityRigTest, InterruptedFenceIsFinishedAndUndone) {
  PopulateAsAlice();
  const std::map<std::string, std::string> security = Security(*primary_, ds_);
  // What a fence that stopped part way leaves: the index entry, the marker (incomplete), one
  // item with its original recorded and its write bits taken, the rest untouched.
  ASSERT_TRUE(primary_->Mkdirs(FenceIndexPath(ds_)).ok());
  ASSERT_TRUE(primary_
                  ->SetXAttr(ds_, kFenceMarkerAttr,
                             R"({"epoch":4,"reason":"","fenced_unix_nanos":1,"op_id":"crashed",)"
                             R"("complete":false})")
                  .ok());
  ASSERT_TRUE(primary_->SetXAttr(ds_ + "/file.txt", kFenceModeAttr, "0644").ok());
  ASSERT_TRUE(primary_->SetPermission(ds_ + "/file.txt", 0444).ok());

  lb_instance* nn = Instance("primary");
  ASSERT_NE(nn, nullptr);
  v1::ProbeResponse probe;
  const v1::FencedDataSet* listed = Listed(nn, probe);
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->mechanism(), "write_bits (incomplete)");
  EXPECT_EQ(alice_->Mkdirs(ds_ + "/sub/x").code(), Code::kOk) << "the test's premise";
  StatusOr<v1::FenceResponse> finished = Fence(nn, 4, "fence-again");
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  EXPECT_EQ(finished->epoch(), 4u);
  EXPECT_EQ(alice_->Mkdirs(ds_ + "/sub/y").code(), Code::kPermissionDenied);
  listed = Listed(nn, probe);
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->mechanism(), "write_bits");
  ASSERT_TRUE(primary_->Delete(ds_ + "/sub/x", false).ok());
  // The original recorded by the interrupted fence is the one restored.
  ASSERT_TRUE(Unfence(nn, 4, "unfence").ok());
  EXPECT_EQ(Security(*primary_, ds_), security);
}

TEST_F(HdfsSecurityRigTest, PermissionSetWhileFencedIsKeptByUnfence) {
  PopulateAsAlice();
  lb_instance* nn = Instance("primary");
  ASSERT_NE(nn, nullptr);
  ASSERT_TRUE(Fence(nn, 2, "fence").ok());
  // An administrator decides during the fence that the file is private.
  ASSERT_TRUE(primary_->SetPermission(ds_ + "/file.txt", 0600).ok());
  StatusOr<v1::FenceResponse> lifted = Unfence(nn, 2, "unfence");
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_NE(lifted->detail().find("keep it"), std::string::npos) << lifted->detail();
  StatusOr<FileStatus> st = primary_->GetFileStatus(ds_ + "/file.txt");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->permission, 0600u);
  StatusOr<FileStatus> other = primary_->GetFileStatus(ds_ + "/sub/deeper/inner.txt");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->permission, 0640u);
}

TEST_F(HdfsSecurityRigTest, FenceOfAMissingDirectoryIsNotFound) {
  lb_instance* nn = Instance("primary");
  ASSERT_NE(nn, nullptr);
  v1::FenceRequest req;
  req.set_op_id("f");
  req.mutable_data_set()->set_component("hdfs");
  req.mutable_data_set()->set_selector(base_ + "/nothing");
  req.set_epoch(1);
  StatusOr<v1::FenceResponse> r = host_.Call<v1::FenceResponse>(api_, nn, LB_OP_FENCE, req);
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  req.set_op_id("");
  EXPECT_EQ(host_.Call<v1::FenceResponse>(api_, nn, LB_OP_FENCE, req).status().code(),
            Code::kInvalidArgument);
}

// Backups into a fenced target (docs/decisions.md D12; README "Fencing and the data path"):
// after a failover the old primary is fenced and is the target of the backups from the new
// primary, and a failback replicates into it while it is still fenced (then fences the
// current primary, replicates again, and only then unfences and applies). So the data path
// writes a fenced data set as the superuser, keeping it fenced: every item it writes loses
// its write bits and records the source's permission as the fence's original; the fence's
// own permission changes are not changes of the target; an application's are. (Before:
// plan_transfer refused any backup into a fenced data set, and a failback could not run.)
class HdfsFencedTargetRigTest : public HdfsSecurityRigTest {
 protected:
  void SetUp() override {
    HdfsSecurityRigTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    target_alice_ = std::make_unique<WebHdfsClient>(Options("secondary", "alice"));
    target_bob_ = std::make_unique<WebHdfsClient>(Options("secondary", "bob"));
  }
  void TearDown() override {
    for (WebHdfsClient* c : {primary_.get(), secondary_.get()}) {
      if (c == nullptr) continue;
      StatusOr<std::vector<SnapshotInfo>> snaps = c->GetSnapshotList(ds_);
      if (snaps.ok()) {
        for (const SnapshotInfo& s : *snaps) (void)c->DeleteSnapshot(ds_, s.name);
      }
      (void)c->Delete("/.lifeboat/state" + ds_, /*recursive=*/true);
    }
    HdfsSecurityRigTest::TearDown();
  }

  // Cut on the source, plan, every task, verify at both levels (before the commit, as the
  // engine does, and at the cheap level after it), commit.
  StatusOr<v1::PlanTransferResponse> Backup(lb_instance* source, lb_instance* target,
                                            const std::string& rp, const std::string& base) {
    v1::CutRequest cut;
    cut.set_op_id("cut-" + rp);
    *cut.mutable_data_set() = DataSet();
    cut.set_restore_point_id(rp);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::CutResponse cutted,
                              host_.Call<v1::CutResponse>(api_, source, LB_OP_CUT, cut));
    cut_manifest_ = cutted.manifest();
    v1::PlanTransferRequest plan;
    plan.set_op_id("plan-" + rp);
    *plan.mutable_source()->mutable_config() = Config("primary");
    *plan.mutable_snapshot() = cutted.snapshot();
    plan.set_base_restore_point_id(base);
    LIFEBOAT_ASSIGN_OR_RETURN(
        v1::PlanTransferResponse planned,
        host_.Call<v1::PlanTransferResponse>(api_, target, LB_OP_PLAN_TRANSFER, plan));
    for (const v1::TransferTask& task : planned.tasks()) {
      v1::TransferRequest t;
      t.set_op_id("transfer-" + rp + "-" + task.task_id());
      *t.mutable_source()->mutable_config() = Config("primary");
      *t.mutable_snapshot() = cutted.snapshot();
      *t.mutable_task() = task;
      LIFEBOAT_RETURN_IF_ERROR(
          host_.Call<v1::TransferResponse>(api_, target, LB_OP_TRANSFER, t).status());
    }
    auto verify = [&](v1::VerifyLevel level, const std::string& when) -> Status {
      v1::VerifyRequest v;
      v.set_op_id("verify-" + rp + "-" + when + "-" + std::to_string(level));
      *v.mutable_snapshot() = cutted.snapshot();
      v.set_level(level);
      LIFEBOAT_ASSIGN_OR_RETURN(v1::VerifyResponse r,
                                host_.Call<v1::VerifyResponse>(api_, target, LB_OP_VERIFY, v));
      for (const v1::Mismatch& m : r.mismatches()) {
        ADD_FAILURE() << rp << ": verify " << when << " at level " << level << ": " << m.path()
                      << " " << m.what() << " expected '" << m.expected() << "' found '"
                      << m.found() << "'";
      }
      return OkStatus();
    };
    LIFEBOAT_RETURN_IF_ERROR(verify(v1::VERIFY_SIZE, "staged"));
    LIFEBOAT_RETURN_IF_ERROR(verify(v1::VERIFY_DIGEST, "staged"));
    v1::CommitRequest commit;
    commit.set_op_id("commit-" + rp);
    *commit.mutable_snapshot() = cutted.snapshot();
    commit.set_base_restore_point_id(base);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::CommitResponse committed,
                              host_.Call<v1::CommitResponse>(api_, target, LB_OP_COMMIT, commit));
    commit_manifest_ = committed.manifest();
    LIFEBOAT_RETURN_IF_ERROR(verify(v1::VERIFY_SIZE, "committed"));
    return planned;
  }

  // The target's live tree is fenced like the source's point `rp`: no item has a write bit,
  // an item whose source permission has one records it in user.lifeboat.fence.mode (what
  // unfence puts back), the others record nothing; owners are the source's.
  void ExpectFencedCopyOf(const std::string& rp) {
    const std::string point = ds_ + "/.snapshot/lifeboat-" + rp;
    std::map<std::string, std::string> want;
    std::map<std::string, std::string> got;
    std::vector<std::string> todo = {""};
    while (!todo.empty()) {
      const std::string rel = todo.back();
      todo.pop_back();
      StatusOr<FileStatus> src = primary_->GetFileStatus(rel.empty() ? point : point + "/" + rel);
      const std::string live = rel.empty() ? ds_ : ds_ + "/" + rel;
      StatusOr<FileStatus> dst = secondary_->GetFileStatus(live);
      ASSERT_TRUE(src.ok()) << rel << ": " << src.status().ToString();
      ASSERT_TRUE(dst.ok()) << rel << ": " << dst.status().ToString();
      char text[64];
      std::snprintf(text, sizeof text, "%04o", src->permission & ~0222u);
      std::string w = src->owner + ":" + src->group + " " + text + " fence.mode=";
      if (src->permission & 0222) {
        std::snprintf(text, sizeof text, "%04o", src->permission);
        w += text;
      }
      want[rel] = w;
      StatusOr<std::string> mode = secondary_->GetXAttr(live, kFenceModeAttr);
      std::snprintf(text, sizeof text, "%04o", dst->permission);
      got[rel] = dst->owner + ":" + dst->group + " " + text +
                 " fence.mode=" + (mode.ok() ? *mode : std::string());
      if (!src->is_dir) continue;
      StatusOr<std::vector<FileStatus>> items =
          primary_->ListStatus(point + (rel.empty() ? "" : "/" + rel));
      ASSERT_TRUE(items.ok()) << items.status().ToString();
      for (const FileStatus& i : *items)
        todo.push_back(rel.empty() ? i.path_suffix : rel + "/" + i.path_suffix);
    }
    EXPECT_EQ(got, want) << "the target is not fenced like point " << rp;
  }

  // Every kind of application write on the target, as alice (owner) and bob (named ACL
  // entries); the failures by kind.
  std::map<std::string, Status> TargetWrites(int n) {
    std::map<std::string, Status> failed;
    const std::string k = std::to_string(n);
    auto check = [&](const std::string& kind, Status s) {
      if (!s.ok()) failed.emplace(kind, s);
    };
    WebHdfsClient::CreateOptions o;
    check("create", target_alice_->Create(ds_ + "/app-" + k, "new", o));
    check("create in subdirectory", target_alice_->Create(ds_ + "/sub/deeper/app-" + k, "new", o));
    check("append", target_alice_->Append(ds_ + "/file.txt", "+" + k));
    check("delete", target_alice_->Delete(ds_ + "/keep.txt", false).status());
    check("rename", target_alice_->Rename(ds_ + "/sub/deeper/inner.txt", ds_ + "/sub/app-" + k));
    check("mkdir", target_alice_->Mkdirs(ds_ + "/sub/app-dir-" + k));
    check("write through an ACL entry (bob)",
          target_bob_->Create(ds_ + "/shared/bob-" + k, "b", o));
    check("append through an ACL entry (bob)", target_bob_->Append(ds_ + "/acl.txt", "b"));
    return failed;
  }

  // Path -> content of every file under `root`.
  static std::map<std::string, std::string> Contents(WebHdfsClient& c, const std::string& root) {
    std::map<std::string, std::string> out;
    std::vector<std::string> todo = {""};
    while (!todo.empty()) {
      const std::string rel = todo.back();
      todo.pop_back();
      StatusOr<std::vector<FileStatus>> items = c.ListStatus(rel.empty() ? root : root + "/" + rel);
      EXPECT_TRUE(items.ok()) << items.status().ToString();
      if (!items.ok()) return out;
      for (const FileStatus& i : *items) {
        const std::string p = rel.empty() ? i.path_suffix : rel + "/" + i.path_suffix;
        if (i.is_dir) {
          todo.push_back(p);
          continue;
        }
        StatusOr<std::string> data = c.ReadAll(root + "/" + p);
        out[p] = data.ok() ? *data : "<unreadable: " + data.status().ToString() + ">";
      }
    }
    return out;
  }

  // The mode a manifest gives `rel` (-1 when absent).
  static int64_t ModeIn(const v1::MemberManifest& m, const std::string& rel) {
    for (const v1::Entry& e : m.entries()) {
      if (e.path() == rel) return e.mode();
    }
    return -1;
  }
  // The tree task's JSON of a plan (renames, deletes, dirs, metas), {} without one.
  static nlohmann::json TreeTask(const v1::PlanTransferResponse& plan) {
    for (const v1::TransferTask& t : plan.tasks()) {
      if (t.kind() == "tree") return nlohmann::json::parse(t.opaque());
    }
    return nlohmann::json::object();
  }

  std::unique_ptr<WebHdfsClient> target_alice_;
  std::unique_ptr<WebHdfsClient> target_bob_;
  v1::MemberManifest cut_manifest_;
  v1::MemberManifest commit_manifest_;
};

TEST_F(HdfsFencedTargetRigTest, BackupsIntoAFencedTargetKeepItFencedAndUnfenceGivesSourceModes) {
  // The source: alice's tree (modes, a read-only file, a sticky directory, ACLs naming bob)
  // and items to delete and rename later.
  PopulateAsAlice();
  Put(*alice_, ds_ + "/keep.txt", "kept", 0644);
  Put(*alice_, ds_ + "/gone.txt", "deleted later", 0644);
  Put(*alice_, ds_ + "/mover.txt", "renamed later", 0600);
  ASSERT_TRUE(alice_->Mkdirs(ds_ + "/olddir", 0750).ok());
  Put(*alice_, ds_ + "/olddir/x.txt", "in a renamed directory", 0640);
  lb_instance* source = Instance("primary");
  lb_instance* target = Instance("secondary");
  ASSERT_NE(source, nullptr);
  ASSERT_NE(target, nullptr);

  // rp1 before any fence: the point both clusters share.
  StatusOr<v1::PlanTransferResponse> rp1 = Backup(source, target, "rp1", "");
  ASSERT_TRUE(rp1.ok()) << rp1.status().ToString();

  // The target is demoted: fenced at epoch 7. Its fence changes the permission of every item.
  ASSERT_TRUE(Fence(target, 7, "fence-target").ok());

  // Every kind of change on the source, then an incremental into the fenced target: the
  // fence's own changes are not changes of the target since rp1.
  Put(*alice_, ds_ + "/created.txt", "created", 0600);
  ASSERT_TRUE(alice_->Append(ds_ + "/file.txt", " world").ok());
  Put(*alice_, ds_ + "/sub/deeper/inner.txt", "inner, rewritten", 0640);
  ASSERT_TRUE(alice_->Delete(ds_ + "/gone.txt", false).ok());
  ASSERT_TRUE(alice_->Rename(ds_ + "/mover.txt", ds_ + "/sub/moved.txt").ok());
  ASSERT_TRUE(alice_->Rename(ds_ + "/olddir", ds_ + "/newdir").ok());
  ASSERT_TRUE(alice_->SetPermission(ds_ + "/keep.txt", 0444).ok());  // writable -> read-only
  ASSERT_TRUE(alice_->SetPermission(ds_ + "/ro.txt", 0664).ok());    // read-only -> writable
  ASSERT_TRUE(alice_->Mkdirs(ds_ + "/newtree/a", 0750).ok());
  Put(*alice_, ds_ + "/newtree/a/b.txt", "a new subtree", 0664);
  StatusOr<v1::PlanTransferResponse> rp2 = Backup(source, target, "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  EXPECT_TRUE(rp2->incremental()) << rp2->full_reason();
  EXPECT_EQ(rp2->items_to_copy(), 4u) << "created, file (appended), inner (rewritten), b.txt";
  ExpectFencedCopyOf("rp2");
  // The committed point lists the source's modes (the originals), not the fence's.
  EXPECT_EQ(ModeIn(commit_manifest_, "file.txt"), 0644);
  EXPECT_EQ(ModeIn(commit_manifest_, "sub"), 0755);
  // Applications still cannot write it.
  std::map<std::string, Status> during = TargetWrites(1);
  for (const char* kind :
       {"create", "create in subdirectory", "append", "delete", "rename", "mkdir",
        "write through an ACL entry (bob)", "append through an ACL entry (bob)"}) {
    auto it = during.find(kind);
    if (it == during.end()) {
      ADD_FAILURE() << kind << " went through the fence after a backup into it";
      continue;
    }
    EXPECT_EQ(it->second.code(), Code::kPermissionDenied) << kind << ": " << it->second.ToString();
  }

  // A full comparison into the fenced target (the base is gone on the source): creates,
  // overwrites and deletes; what Lifeboat wrote under the fence in rp2 is not a change.
  ASSERT_TRUE(primary_->DeleteSnapshot(ds_, "lifeboat-rp2").ok());
  Put(*alice_, ds_ + "/created-2.txt", "created again", 0644);
  Put(*alice_, ds_ + "/created.txt", "overwritten", 0640);
  ASSERT_TRUE(alice_->Delete(ds_ + "/newdir", /*recursive=*/true).ok());
  StatusOr<v1::PlanTransferResponse> rp3 = Backup(source, target, "rp3", "rp2");
  ASSERT_TRUE(rp3.ok()) << rp3.status().ToString();
  EXPECT_FALSE(rp3->incremental());
  EXPECT_EQ(rp3->items_to_copy(), 2u) << "created-2.txt, created.txt";
  EXPECT_EQ(rp3->items_deleted(), 1u);
  EXPECT_EQ(TreeTask(*rp3).value("metas", nlohmann::json::array()).size(), 0u)
      << "the fenced modes are not differences: " << TreeTask(*rp3).dump();
  EXPECT_EQ(TreeTask(*rp3).value("dirs", nlohmann::json::array()).size(), 0u)
      << TreeTask(*rp3).dump();
  ExpectFencedCopyOf("rp3");

  // An application's change on the target still counts: alice, the owner, may chmod.
  StatusOr<FileStatus> fenced_mode = secondary_->GetFileStatus(ds_ + "/file.txt");
  ASSERT_TRUE(fenced_mode.ok());
  ASSERT_TRUE(target_alice_->SetPermission(ds_ + "/file.txt", 0666).ok());
  v1::CutRequest cut;
  cut.set_op_id("cut-rp4");
  *cut.mutable_data_set() = DataSet();
  cut.set_restore_point_id("rp4");
  StatusOr<v1::CutResponse> cut4 = host_.Call<v1::CutResponse>(api_, source, LB_OP_CUT, cut);
  ASSERT_TRUE(cut4.ok()) << cut4.status().ToString();
  v1::PlanTransferRequest plan;
  plan.set_op_id("plan-rp4-refused");
  *plan.mutable_source()->mutable_config() = Config("primary");
  *plan.mutable_snapshot() = cut4->snapshot();
  plan.set_base_restore_point_id("rp3");
  StatusOr<v1::PlanTransferResponse> refused =
      host_.Call<v1::PlanTransferResponse>(api_, target, LB_OP_PLAN_TRANSFER, plan);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("file.txt"), std::string::npos)
      << refused.status().ToString();
  ASSERT_TRUE(primary_->DeleteSnapshot(ds_, "lifeboat-rp4").ok());
  // Undone (the fenced mode again): no change left.
  ASSERT_TRUE(target_alice_->SetPermission(ds_ + "/file.txt", fenced_mode->permission).ok());

  // The failback's order: the current primary (the source) is fenced too, the last changes
  // replicate from it into the still fenced target; the source's listing then shows fenced
  // modes, and the copies must carry the originals.
  ASSERT_TRUE(Fence(source, 8, "fence-source").ok());
  StatusOr<v1::PlanTransferResponse> rp4 = Backup(source, target, "rp4", "rp3");
  ASSERT_TRUE(rp4.ok()) << rp4.status().ToString();
  EXPECT_TRUE(rp4->incremental()) << rp4->full_reason();
  EXPECT_EQ(rp4->bytes_to_copy(), 0u);
  // The fenced source's cut lists its originals too.
  EXPECT_EQ(ModeIn(cut_manifest_, "file.txt"), 0644);
  EXPECT_EQ(ModeIn(commit_manifest_, "file.txt"), 0644);

  // Restore into the fenced data set stays refused: the engine's apply runs after unfence.
  v1::RestoreRequest apply;
  apply.set_op_id("apply-while-fenced");
  *apply.mutable_data_set() = DataSet();
  apply.set_restore_point_id("rp4");
  StatusOr<v1::RestoreResponse> not_yet =
      host_.Call<v1::RestoreResponse>(api_, target, LB_OP_RESTORE, apply);
  EXPECT_EQ(not_yet.status().code(), Code::kFailedPrecondition) << not_yet.status().ToString();

  // Unfence (epoch 8), then apply the newest point, as the failback does: nothing to change,
  // and the permissions are exactly the source's.
  ASSERT_TRUE(Unfence(target, 8, "unfence-target").ok());
  apply.set_op_id("apply");
  StatusOr<v1::RestoreResponse> applied =
      host_.Call<v1::RestoreResponse>(api_, target, LB_OP_RESTORE, apply);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->changes_size(), 0) << ::testing::PrintToString(applied->changes());
  ASSERT_TRUE(Unfence(source, 8, "unfence-source").ok());
  EXPECT_EQ(Security(*secondary_, ds_), Security(*primary_, ds_));
  EXPECT_EQ(Contents(*secondary_, ds_), Contents(*primary_, ds_));
  for (const auto& [rel, text] : Security(*secondary_, ds_)) {
    const std::string p = rel == "." ? ds_ : ds_ + "/" + rel;
    EXPECT_EQ(secondary_->GetXAttr(p, kFenceModeAttr).status().code(), Code::kNotFound) << p;
  }
  // And applications write again.
  std::map<std::string, Status> after = TargetWrites(2);
  for (const auto& [kind, s] : after)
    ADD_FAILURE() << "after the unfence, " << kind << ": " << s.ToString();
}

class HdfsSyncSecurityRigTest : public HdfsSecurityRigTest {
 protected:
  // The same tree on both clusters (made by the superuser), security set per cluster later.
  void MakeTree(WebHdfsClient& c) {
    ASSERT_TRUE(c.Mkdirs(ds_ + "/d/e").ok());
    Put(c, ds_ + "/a.txt", "a", 0644);
    Put(c, ds_ + "/b.txt", "b", 0644);
    Put(c, ds_ + "/d/e/f.txt", "f", 0644);
  }

  StatusOr<v1::SyncSecurityResponse> Sync(lb_instance* target, const std::string& op, bool dry,
                                          bool maps = true) {
    v1::SyncSecurityRequest req;
    req.set_op_id(op);
    *req.mutable_source()->mutable_config() = Config("primary");
    *req.mutable_data_set() = DataSet();
    req.set_dry_run(dry);
    if (maps) {
      (*req.mutable_user_map())["alice"] = "alice2";
      (*req.mutable_user_map())["bob"] = "robert";
      (*req.mutable_group_map())["staff"] = "staff2";
    }
    return host_.Call<v1::SyncSecurityResponse>(api_, target, LB_OP_SYNC_SECURITY, req);
  }
};

TEST_F(HdfsSyncSecurityRigTest, OwnersPermissionsAndAclsFollowTheSourceThroughNameMaps) {
  WebHdfsClient& src = *primary_;
  WebHdfsClient& dst = *secondary_;
  MakeTree(src);
  ASSERT_TRUE(dst.Mkdirs(ds_).ok());
  MakeTree(dst);
  Put(src, ds_ + "/only-on-source.txt", "s", 0644);
  // Source: alice's data, bob in ACLs, a default ACL, a sticky directory.
  ASSERT_TRUE(src.SetOwner(ds_ + "/a.txt", "alice", "staff").ok());
  ASSERT_TRUE(src.SetAcl(ds_ + "/a.txt",
                         {"user::rw-", "user:bob:rw-", "group::r--", "mask::rw-", "other::---"})
                  .ok());
  ASSERT_TRUE(src.SetPermission(ds_ + "/d", 01750).ok());
  ASSERT_TRUE(
      src.SetAcl(ds_ + "/d/e", {"user::rwx", "group::r-x", "other::r-x", "default:user::rwx",
                                "default:group::r-x", "default:group:staff:rwx",
                                "default:mask::rwx", "default:other::---"})
          .ok());
  ASSERT_TRUE(src.SetOwner(ds_ + "/d/e/f.txt", "", "analysts").ok());
  // Target: an ACL the source does not have.
  ASSERT_TRUE(dst.SetAcl(ds_ + "/b.txt",
                         {"user::rw-", "user:mallory:rw-", "group::r--", "mask::rw-", "other::r--"})
                  .ok());
  const std::map<std::string, std::string> target_before = Security(dst, ds_);

  lb_instance* target = Instance("secondary");
  ASSERT_NE(target, nullptr);
  StatusOr<v1::SyncSecurityResponse> dry = Sync(target, "dry", true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  // ., a.txt, b.txt, d, d/e, d/e/f.txt all differ.
  EXPECT_EQ(dry->changes_size(), 6) << ::testing::PrintToString(dry->changes());
  EXPECT_EQ(dry->items_only_on_source(), 1u);
  EXPECT_EQ(dry->items_compared(), 6u);
  EXPECT_EQ(Security(dst, ds_), target_before) << "a dry run changed the target";

  StatusOr<v1::SyncSecurityResponse> done = Sync(target, "sync-1", false);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->changes_size(), 6);
  std::map<std::string, std::string> got = Security(dst, ds_);
  EXPECT_EQ(got["."], "alice2:staff2 0755");
  EXPECT_EQ(got["a.txt"], "alice2:staff2 0660 user:robert:rw- group::r--");
  // New items take their directory's group in HDFS: staff on the source, under alice's ds.
  EXPECT_EQ(got["b.txt"], SuperUser() + ":staff2 0644");
  EXPECT_EQ(got["d"], SuperUser() + ":staff2 1750");
  EXPECT_EQ(got["d/e"], SuperUser() +
                            ":staff2 0755 default:user::rwx default:group::r-x "
                            "default:group:staff2:rwx default:mask::rwx default:other::---");
  EXPECT_EQ(got["d/e/f.txt"], SuperUser() + ":analysts 0644");

  StatusOr<v1::SyncSecurityResponse> repeated = Sync(target, "sync-1", false);
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_EQ(repeated->changes_size(), done->changes_size());
  StatusOr<v1::SyncSecurityResponse> by_state = Sync(target, "sync-2", false);
  ASSERT_TRUE(by_state.ok()) << by_state.status().ToString();
  EXPECT_EQ(by_state->changes_size(), 0) << ::testing::PrintToString(by_state->changes());
}

TEST_F(HdfsSyncSecurityRigTest, RefusedOnAFencedTargetAndForCollidingNames) {
  MakeTree(*primary_);
  ASSERT_TRUE(secondary_->Mkdirs(ds_).ok());
  MakeTree(*secondary_);
  ASSERT_TRUE(primary_
                  ->SetAcl(ds_ + "/a.txt", {"user::rw-", "user:bob:rw-", "user:carol:r--",
                                            "group::r--", "mask::rw-", "other::---"})
                  .ok());
  lb_instance* target = Instance("secondary");
  ASSERT_NE(target, nullptr);
  // bob and carol both become robert: HDFS would refuse the ACL; nothing is changed.
  v1::SyncSecurityRequest req;
  req.set_op_id("collide");
  *req.mutable_source()->mutable_config() = Config("primary");
  *req.mutable_data_set() = DataSet();
  (*req.mutable_user_map())["bob"] = "robert";
  (*req.mutable_user_map())["carol"] = "robert";
  const std::map<std::string, std::string> before = Security(*secondary_, ds_);
  StatusOr<v1::SyncSecurityResponse> collided =
      host_.Call<v1::SyncSecurityResponse>(api_, target, LB_OP_SYNC_SECURITY, req);
  EXPECT_EQ(collided.status().code(), Code::kFailedPrecondition) << collided.status().ToString();
  EXPECT_EQ(Security(*secondary_, ds_), before);

  v1::FenceRequest fence;
  fence.set_op_id("fence");
  *fence.mutable_data_set() = DataSet();
  fence.set_epoch(3);
  ASSERT_TRUE(host_.Call<v1::FenceResponse>(api_, target, LB_OP_FENCE, fence).ok());
  StatusOr<v1::SyncSecurityResponse> refused = Sync(target, "sync-fenced", false, false);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("fenced at epoch 3"), std::string::npos);
  // A dry run only reads: it still answers.
  EXPECT_TRUE(Sync(target, "sync-dry", true, false).ok());
  fence.set_op_id("unfence");
  ASSERT_TRUE(host_.Call<v1::FenceResponse>(api_, target, LB_OP_UNFENCE, fence).ok());
}

}  // namespace
}  // namespace lifeboat::hdfs
