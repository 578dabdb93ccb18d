// What an HDFS snapshot diff does not show, against the HDFS rig (label rig; issue 11,
// finding 17; src/open_files.h): files open for write at a cut (without
// dfs.namenode.snapshot.capture.openfiles a snapshot does not freeze them, and their close
// records no diff), and a change of times alone. Writers here keep files open on purpose (an
// APPEND or CREATE whose body waits), across the cut and past the plan, and each point is
// checked: it holds what the cut saw and not what was written after, its record names the
// files open at the cut, and the next incremental catches up with what the diff left out. A
// point that went the other way (cut on the secondary) and a write its source took after
// its cut to a file open then: refused, naming the file, unless forced.
#include <gtest/gtest.h>
#include <lifeboat/abi.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "hdfs_plugin.h"
#include "open_files.h"
#include "rig_endpoints.h"
#include "webhdfs.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::hdfs {
namespace {

// Keeps a file open for write: CREATE (or APPEND) whose body is `first`, then nothing until
// Finish(), which sends `rest` and waits for the close.
class OpenWriter {
 public:
  OpenWriter(WebHdfsClient& client, std::string path, bool create, std::string first,
             std::string rest)
      : pending_(std::move(first)), rest_(std::move(rest)) {
    thread_ = std::thread([this, &client, path = std::move(path), create] {
      WebHdfsClient::Source source = [this](char* buffer, size_t max) -> size_t {
        std::unique_lock<std::mutex> lock(mu_);
        if (pending_.empty() && !released_) cv_.wait(lock, [this] { return released_; });
        if (pending_.empty() && released_ && !rest_.empty()) pending_.swap(rest_);
        size_t n = std::min(max, pending_.size());
        std::memcpy(buffer, pending_.data(), n);
        pending_.erase(0, n);
        return n;
      };
      WebHdfsClient::CreateOptions o;
      o.overwrite = true;
      result_ = create ? client.CreateStream(path, o, source) : client.AppendStream(path, source);
    });
  }
  ~OpenWriter() { (void)Finish(); }
  // Sends the rest and closes the file; its status.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  std::string rest_;
  bool released_ = false;
  Status result_;
  std::thread thread_;
};

// What happens between the steps of a Backup (writers closing their files), and whether
// the cut's record of open files reaches the plan (an older plugin's cut has none).
struct Steps {
  std::function<void()> after_cut;
  std::function<void()> after_plan;
  std::function<void()> after_transfer;
  bool older_cut = false;
};

class HdfsOpenFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(endpoints, "hdfs");
    endpoints_ = endpoints;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string("/lifeboat-open-files/") + info->name() + "-" + std::to_string(::getpid());
    for (const char* c : {"primary", "secondary"}) {
      WebHdfsClient::Options o;
      o.namenodes = {NameNode(c)};
      o.user = User();
      clients_[c] = std::make_unique<WebHdfsClient>(o);
    }
    ASSERT_TRUE(Client("primary").Mkdirs(dir_).ok());
    api_ = lifeboat_plugin_init(host_.table());
    for (const char* c : {"primary", "secondary"}) {
      StatusOr<lb_instance*> made = host_.Create(api_, Config(c));
      ASSERT_TRUE(made.ok()) << made.status().ToString();
      instances_[c] = *made;
    }
  }

  void TearDown() override {
    for (auto& [c, i] : instances_) api_->destroy(i);
    for (auto& [c, client] : clients_) {
      StatusOr<std::vector<SnapshotInfo>> snaps = client->GetSnapshotList(dir_);
      if (snaps.ok()) {
        for (const SnapshotInfo& s : *snaps) (void)client->DeleteSnapshot(dir_, s.name);
      }
      (void)client->Delete(dir_, /*recursive=*/true);
      (void)client->Delete("/.lifeboat/state" + dir_, /*recursive=*/true);
    }
  }

  std::string User() const { return endpoints_["clusters"]["primary"].value("user", ""); }
  std::string NameNode(const std::string& cluster) const {
    return "http://" + endpoints_["clusters"][cluster].value("namenode_http", std::string());
  }
  WebHdfsClient& Client(const std::string& cluster) { return *clients_.at(cluster); }
  static std::string Other(const std::string& cluster) {
    return cluster == "primary" ? "secondary" : "primary";
  }
  v1::PluginConfig Config(const std::string& cluster) const {
    v1::PluginConfig c;
    c.set_plugin("hdfs");
    c.set_cluster(cluster);
    nlohmann::json j = {{"namenodes", {NameNode(cluster)}}, {"user", User()}};
    if (!incremental_listing_.empty()) j["incremental_listing"] = incremental_listing_;
    c.set_config_json(j.dump());
    return c;
  }
  // Plans into `cluster` with the configuration's incremental_listing set to `listing`.
  void Reconfigure(const std::string& cluster, const std::string& listing) {
    incremental_listing_ = listing;
    api_->destroy(instances_.at(cluster));
    StatusOr<lb_instance*> made = host_.Create(api_, Config(cluster));
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    instances_[cluster] = *made;
  }
  template <typename Resp, typename Req>
  StatusOr<Resp> Call(const std::string& cluster, lb_op op, const Req& req) {
    return host_.Call<Resp>(api_, instances_.at(cluster), op, req);
  }

  void Write(const std::string& cluster, const std::string& rel, const std::string& content) {
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    Status s = Client(cluster).Create(dir_ + "/" + rel, content, o);
    ASSERT_TRUE(s.ok()) << rel << ": " << s.ToString();
  }
  std::string Read(const std::string& cluster, const std::string& path) {
    StatusOr<std::string> data = Client(cluster).ReadAll(path);
    return data.ok() ? *data : "<" + data.status().ToString() + ">";
  }
  int64_t Mtime(const std::string& cluster, const std::string& path) {
    StatusOr<FileStatus> st = Client(cluster).GetFileStatus(path);
    return st.ok() ? st->modification_ms : -1;
  }
  std::string Point(const std::string& rp) const { return dir_ + "/.snapshot/lifeboat-" + rp; }

  // Waits until fsck lists every one of `rels` as open for write on `cluster` (a writer's
  // open reaches the NameNode before its first byte).
  void WaitOpen(const std::string& cluster, const std::set<std::string>& rels) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      StatusOr<std::vector<OpenFile>> open = Client(cluster).ListOpenFiles(dir_);
      ASSERT_TRUE(open.ok()) << open.status().ToString();
      std::set<std::string> seen;
      for (const OpenFile& f : *open) seen.insert(f.path.substr(dir_.size() + 1));
      if (std::includes(seen.begin(), seen.end(), rels.begin(), rels.end())) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the writers never opened; open: " << ::testing::PrintToString(seen);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // A backup of the data set from `from` into the other cluster, as the engine runs it: cut,
  // plan, every task, verify (DIGEST: every byte read back), commit, with `steps` between.
  // Verify's mismatches come back as DATA_LOSS naming them; nothing is committed then.
  StatusOr<v1::PlanTransferResponse> Backup(const std::string& from, const std::string& rp,
                                            const std::string& base, bool force_full = false,
                                            const Steps& steps = {}) {
    const std::string into = Other(from);
    v1::CutRequest cut;
    cut.set_op_id("cut-" + rp);
    cut.mutable_data_set()->set_component("hdfs");
    cut.mutable_data_set()->set_selector(dir_);
    cut.set_restore_point_id(rp);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::CutResponse cr, Call<v1::CutResponse>(from, LB_OP_CUT, cut));
    cut_ = cr;
    if (steps.older_cut) cr.mutable_snapshot()->clear_opaque();
    if (steps.after_cut) steps.after_cut();
    v1::PlanTransferRequest pr;
    pr.set_op_id("plan-" + rp + (force_full ? "-forced" : ""));
    *pr.mutable_source()->mutable_config() = Config(from);
    *pr.mutable_snapshot() = cr.snapshot();
    pr.set_base_restore_point_id(base);
    pr.set_force_full(force_full);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::PlanTransferResponse plan,
                              Call<v1::PlanTransferResponse>(into, LB_OP_PLAN_TRANSFER, pr));
    if (steps.after_plan) steps.after_plan();
    for (const v1::TransferTask& task : plan.tasks()) {
      v1::TransferRequest tr;
      tr.set_op_id("transfer-" + rp + "-" + task.task_id());
      *tr.mutable_source()->mutable_config() = Config(from);
      *tr.mutable_snapshot() = cr.snapshot();
      *tr.mutable_task() = task;
      LIFEBOAT_RETURN_IF_ERROR(Call<v1::TransferResponse>(into, LB_OP_TRANSFER, tr).status());
    }
    if (steps.after_transfer) steps.after_transfer();
    v1::VerifyRequest vr;
    vr.set_op_id("verify-" + rp);
    *vr.mutable_snapshot() = cr.snapshot();
    vr.set_level(v1::VERIFY_DIGEST);
    // As the engine names it: files the target had already (after a failover) are compared
    // with the source's.
    *vr.mutable_source()->mutable_config() = Config(from);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::VerifyResponse verified,
                              Call<v1::VerifyResponse>(into, LB_OP_VERIFY, vr));
    if (!verified.ok()) {
      std::string list;
      for (const v1::Mismatch& m : verified.mismatches()) {
        list += "; " + m.path() + " " + m.what() + " expected '" + m.expected() + "' found '" +
                m.found() + "'";
      }
      return DataLossError("verify of " + rp + ": " + list.substr(2));
    }
    v1::CommitRequest cm;
    cm.set_op_id("commit-" + rp);
    *cm.mutable_snapshot() = cr.snapshot();
    cm.set_base_restore_point_id(base);
    LIFEBOAT_RETURN_IF_ERROR(Call<v1::CommitResponse>(into, LB_OP_COMMIT, cm).status());
    return plan;
  }

  // The files the point's record on `cluster` (its plan) names as open at the cut:
  // path -> "<length> <state>".
  std::map<std::string, std::string> HeldOpen(const std::string& cluster, const std::string& rp) {
    std::map<std::string, std::string> out;
    StatusOr<std::string> body = Client(cluster).ReadAll(StateFile(dir_, "lifeboat-" + rp));
    EXPECT_TRUE(body.ok()) << body.status().ToString();
    if (!body.ok()) return out;
    // The record's header is its first line (record_lines.h).
    nlohmann::json j = nlohmann::json::parse(body->substr(0, body->find('\n')), nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("cut")) << "no record of open files in the plan";
    if (!j.is_object() || !j.contains("cut")) return out;
    for (const OpenAtCut& o : DecodeCutRecord(j["cut"].dump()).open) {
      out[o.path] = std::to_string(o.length) + " " + o.state;
    }
    return out;
  }

  void OpenFilesAreHeldAtTheCutAndCaughtUp(const std::string& from);

  nlohmann::json endpoints_;
  std::string dir_;
  std::map<std::string, std::unique_ptr<WebHdfsClient>> clients_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  std::map<std::string, lb_instance*> instances_;
  std::string incremental_listing_;  // "" = the default
  v1::CutResponse cut_;              // of the last Backup
};

// Two appends and a create open at the cut of a point taken on `from`: two close before the
// plan lists the snapshot (which then shows them closed, with what was written after the
// cut, unless the NameNode captures open files), one after its copy, before verify.
void HdfsOpenFilesTest::OpenFilesAreHeldAtTheCutAndCaughtUp(const std::string& from) {
  const std::string into = Other(from);
  const bool capture = endpoints_["clusters"][from].value("snapshot_capture_openfiles", false);
  Write(from, "a.log", "a1\n");
  Write(from, "b.log", "b1\n");
  Write(from, "steady.txt", "closed long before");
  OpenWriter a(Client(from), dir_ + "/a.log", /*create=*/false, "a2\n", "a3\n");
  OpenWriter b(Client(from), dir_ + "/b.log", /*create=*/false, "b2\n", "b3\n");
  OpenWriter c(Client(from), dir_ + "/c.new", /*create=*/true, "c1\n", "c2\n");
  ASSERT_NO_FATAL_FAILURE(WaitOpen(from, {"a.log", "b.log", "c.new"}));
  Steps steps;
  steps.after_cut = [&] {
    EXPECT_TRUE(a.Finish().ok());
    EXPECT_TRUE(c.Finish().ok());
  };
  steps.after_transfer = [&] { EXPECT_TRUE(b.Finish().ok()); };
  StatusOr<v1::PlanTransferResponse> rp1 = Backup(from, "rp1", "", false, steps);
  ASSERT_TRUE(rp1.ok()) << rp1.status().ToString();
  // The point holds what the NameNode knew at the cut: the appends' earlier content, an empty
  // new file; none of the bytes the writers sent.
  EXPECT_EQ(Read(into, Point("rp1") + "/a.log"), "a1\n");
  EXPECT_EQ(Read(into, Point("rp1") + "/b.log"), "b1\n");
  EXPECT_EQ(Read(into, Point("rp1") + "/c.new"), "");
  EXPECT_EQ(Read(into, Point("rp1") + "/steady.txt"), "closed long before");
  // ... and says so: in the cut's answer and in the point's record on the target, with
  // whether the source's NameNode captures open files.
  const std::map<std::string, std::string> want = {
      {"a.log", "3 open"}, {"b.log", "3 open"}, {"c.new", "0 open"}};
  EXPECT_EQ(HeldOpen(into, "rp1"), want);
  std::map<std::string, uint64_t> manifest;
  for (const v1::Entry& e : cut_.manifest().entries()) manifest[e.path()] = e.size();
  EXPECT_EQ(manifest["a.log"], 3u);
  EXPECT_EQ(manifest["c.new"], 0u);
  EXPECT_EQ(DecodeCutRecord(cut_.snapshot().opaque()).capture_openfiles,
            capture ? "true" : "false");

  StatusOr<v1::PlanTransferResponse> rp2 = Backup(from, "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  EXPECT_TRUE(rp2->incremental());
  // Without capture, HDFS's diff between the two snapshots does not list the files that
  // closed after the first (with it, the grown ones are MODIFY): the next point copies them
  // all the same.
  StatusOr<std::vector<SnapshotDiffEntry>> diff =
      Client(from).GetSnapshotDiff(dir_, "lifeboat-rp1", "lifeboat-rp2");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  std::set<std::string> listed;
  for (const SnapshotDiffEntry& e : *diff) {
    listed.insert(e.source.rfind("./", 0) == 0 ? e.source.substr(2) : e.source);
  }
  EXPECT_EQ(listed.count("a.log") + listed.count("b.log"), capture ? 2u : 0u)
      << ::testing::PrintToString(listed);
  for (const char* rel : {"a.log", "b.log", "c.new"}) {
    EXPECT_EQ(Read(into, Point("rp2") + "/" + rel), Read(from, dir_ + "/" + rel)) << rel;
    EXPECT_EQ(Mtime(into, Point("rp2") + "/" + rel), Mtime(from, dir_ + "/" + rel)) << rel;
  }
  EXPECT_EQ(Read(into, Point("rp2") + "/a.log"), "a1\na2\na3\n");
  EXPECT_EQ(rp2->items_to_copy(), 3u) << "a.log, b.log and c.new; steady.txt did not change";
  EXPECT_TRUE(HeldOpen(into, "rp2").empty());
}

// The primary keeps HDFS's default: snapshots do not freeze open files.
TEST_F(HdfsOpenFilesTest, FilesOpenAtTheCutAreHeldAtTheCutAndCaughtUpByTheNextPoint) {
  OpenFilesAreHeldAtTheCutAndCaughtUp("primary");
}

// The rig's secondary runs with dfs.namenode.snapshot.capture.openfiles: the same points.
TEST_F(HdfsOpenFilesTest, TheSameWhereTheNameNodeCapturesOpenFiles) {
  if (!endpoints_["clusters"]["secondary"].value("snapshot_capture_openfiles", false)) {
    GTEST_SKIP() << "the rig's secondary does not capture open files (an older launcher)";
  }
  OpenFilesAreHeldAtTheCutAndCaughtUp("secondary");
}

// By default (`incremental_listing: "full"`) the plan lists the whole new snapshot and
// compares every file with the base point: a change of times alone reaches the target.
TEST_F(HdfsOpenFilesTest, ATimeChangedAloneReachesTheTargetWithFullListings) {
  Write("primary", "touched.txt", "same bytes");
  Write("primary", "other.txt", "untouched");
  ASSERT_TRUE(Backup("primary", "rp1", "").ok());
  // A change of times alone is no change to an HDFS snapshot diff.
  ASSERT_TRUE(Client("primary").SetTimes(dir_ + "/touched.txt", 1234567890000, -1).ok());
  StatusOr<v1::PlanTransferResponse> rp2 = Backup("primary", "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  EXPECT_TRUE(rp2->incremental());
  EXPECT_EQ(Mtime("secondary", Point("rp2") + "/touched.txt"), 1234567890000);
  EXPECT_EQ(Read("secondary", Point("rp2") + "/touched.txt"), "same bytes");
}

// With `incremental_listing: "diff"` (issue 13) an incremental's plan asks only about what
// the snapshot diff names: a change of times alone, which no diff shows, stays out of the
// point. The point holds the base's time and the same bytes, and verifies clean (it holds
// what its record says). This is why "diff" is not the default.
TEST_F(HdfsOpenFilesTest, ATimeChangedAloneStaysOutOfAnIncrementalListedFromTheDiff) {
  ASSERT_NO_FATAL_FAILURE(Reconfigure("secondary", "diff"));
  Write("primary", "touched.txt", "same bytes");
  ASSERT_TRUE(Backup("primary", "rp1", "").ok());
  const int64_t before = Mtime("primary", dir_ + "/touched.txt");
  ASSERT_TRUE(Client("primary").SetTimes(dir_ + "/touched.txt", 1234567890000, -1).ok());
  StatusOr<v1::PlanTransferResponse> rp2 = Backup("primary", "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  EXPECT_TRUE(rp2->incremental());
  EXPECT_EQ(rp2->items_to_copy(), 0u);
  EXPECT_EQ(Mtime("secondary", Point("rp2") + "/touched.txt"), before);
  EXPECT_EQ(Read("secondary", Point("rp2") + "/touched.txt"), "same bytes");
}

// A cut that could not tell which files were open (fsck refused, or an older plugin's cut:
// no record reaches the plan). A file closed before the plan shows a time after the snapshot:
// held as closed, and recorded so. One still open when the plan lists it grows before its
// copy: its HDFS checksum cannot compare, which is no data loss (its SHA-256 and verify's
// read-back vouch for the copy). The next point catches up with both.
TEST_F(HdfsOpenFilesTest, WithoutTheCutsRecordNothingIsReportedLostAndTheNextPointCatchesUp) {
  Write("primary", "a.log", "a1\n");
  OpenWriter a(Client("primary"), dir_ + "/a.log", /*create=*/false, "a2\n", "a3\n");
  OpenWriter c(Client("primary"), dir_ + "/c.new", /*create=*/true, "c1\n", "c2\n");
  ASSERT_NO_FATAL_FAILURE(WaitOpen("primary", {"a.log", "c.new"}));
  Steps steps;
  steps.older_cut = true;
  steps.after_cut = [&] { EXPECT_TRUE(c.Finish().ok()); };
  steps.after_plan = [&] { EXPECT_TRUE(a.Finish().ok()); };
  StatusOr<v1::PlanTransferResponse> rp1 = Backup("primary", "rp1", "", false, steps);
  ASSERT_TRUE(rp1.ok()) << rp1.status().ToString();
  EXPECT_EQ(Read("secondary", Point("rp1") + "/a.log"), "a1\n");
  EXPECT_EQ(Read("secondary", Point("rp1") + "/c.new"), "c1\nc2\n");
  const std::map<std::string, std::string> want = {{"c.new", "6 closed-after-cut"}};
  EXPECT_EQ(HeldOpen("secondary", "rp1"), want);

  StatusOr<v1::PlanTransferResponse> rp2 = Backup("primary", "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  EXPECT_EQ(Read("secondary", Point("rp2") + "/a.log"), "a1\na2\na3\n");
  EXPECT_EQ(Mtime("secondary", Point("rp2") + "/a.log"), Mtime("primary", dir_ + "/a.log"));
}

// After a failover the secondary serves; a point cut there went the other way, and its
// writer's file was open at that cut. What the secondary's writer wrote after the cut is in
// no point: the next backup into the secondary must not overwrite it unasked.
TEST_F(HdfsOpenFilesTest, AWriteAfterTheCutOfAPointThatWentTheOtherWayIsRefusedUnlessForced) {
  Write("primary", "grows.log", "g1\n");
  ASSERT_TRUE(Backup("primary", "rp1", "").ok());
  OpenWriter g(Client("secondary"), dir_ + "/grows.log", /*create=*/false, "g2\n", "g3\n");
  ASSERT_NO_FATAL_FAILURE(WaitOpen("secondary", {"grows.log"}));
  StatusOr<v1::PlanTransferResponse> rp2 = Backup("secondary", "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  EXPECT_EQ(Read("primary", Point("rp2") + "/grows.log"), "g1\n");
  ASSERT_TRUE(g.Finish().ok());  // the secondary's writer closes: g1 g2 g3 there

  StatusOr<v1::PlanTransferResponse> refused = Backup("primary", "rp3", "rp2");
  ASSERT_FALSE(refused.ok()) << "the secondary's write after rp2's cut would be overwritten";
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("grows.log"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("--force-full"), std::string::npos)
      << refused.status().message();

  StatusOr<v1::PlanTransferResponse> forced = Backup("primary", "rp3", "rp2", true);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ(Read("secondary", Point("rp3") + "/grows.log"), "g1\n");
}

// The same, but the file open at the cut was closed without a byte more: only its time moved,
// which no snapshot diff shows. Nothing is lost: the next backup gives it the point's time.
TEST_F(HdfsOpenFilesTest, AFileClosedAfterTheCutOfAPointThatWentTheOtherWayGetsItsTimeBack) {
  Write("primary", "closes.log", "c1\n");
  ASSERT_TRUE(Backup("primary", "rp1", "").ok());
  OpenWriter c(Client("secondary"), dir_ + "/closes.log", /*create=*/false, "", "");
  ASSERT_NO_FATAL_FAILURE(WaitOpen("secondary", {"closes.log"}));
  StatusOr<v1::PlanTransferResponse> rp2 = Backup("secondary", "rp2", "rp1");
  ASSERT_TRUE(rp2.ok()) << rp2.status().ToString();
  ASSERT_TRUE(c.Finish().ok());
  // Closing moved the file's time on the secondary (to the close's).
  ASSERT_NE(Mtime("secondary", dir_ + "/closes.log"),
            Mtime("primary", Point("rp2") + "/closes.log"));

  StatusOr<v1::PlanTransferResponse> rp3 = Backup("primary", "rp3", "rp2");
  ASSERT_TRUE(rp3.ok()) << rp3.status().ToString();
  EXPECT_EQ(Mtime("secondary", Point("rp3") + "/closes.log"),
            Mtime("primary", Point("rp2") + "/closes.log"));
  EXPECT_EQ(Read("secondary", Point("rp3") + "/closes.log"), "c1\n");
}

}  // namespace
}  // namespace lifeboat::hdfs
