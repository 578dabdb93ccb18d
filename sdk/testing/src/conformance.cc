// The conformance suite (see conformance.h for what it checks and why).
#include <lifeboat/testing/conformance.h>

#include <gtest/gtest.h>
#include <lifeboat/abi.h>
#include <lifeboat/core/plugin_host.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace lifeboat::testing {
namespace {

std::map<std::string, RigFactory>& Rigs() {
  static auto* rigs = new std::map<std::string, RigFactory>();
  return *rigs;
}

std::vector<std::string> RigNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Rigs()) names.push_back(name);
  return names;
}

std::vector<std::filesystem::path> PluginDirs() {
  std::vector<std::filesystem::path> dirs;
  const char* env = std::getenv("LIFEBOAT_PLUGIN_DIR");
  if (env == nullptr) return dirs;
  std::stringstream in(env);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (!dir.empty()) dirs.emplace_back(dir);
  }
  return dirs;
}

// Differences between two content maps, for a readable failure.
std::string Diff(const ContentMap& want, const ContentMap& got) {
  std::string out;
  for (const auto& [path, what] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      out += "  missing " + path + " (want " + what + ")\n";
    } else if (it->second != what) {
      out += "  differs " + path + ": want " + what + ", got " + it->second + "\n";
    }
  }
  for (const auto& [path, what] : got) {
    if (want.count(path) == 0) out += "  extra " + path + " (" + what + ")\n";
  }
  return out;
}

constexpr uint64_t kLargeBytes = kLargeItemBytes;

// Every failure of a check names the rule it enforces (conformance.h, kRules).
std::string RuleOf(std::string name) {
  name = name.substr(0, name.find('/'));  // "RoundTrip/localfs" -> "RoundTrip"
  for (const Rule& r : kRules) {
    if (name == r.name) return std::string("rule ") + r.name + ": " + r.text;
  }
  ADD_FAILURE() << "the suite checks " << name
                << ", which conformance.h's kRules does not state: every rule is written there";
  return "rule " + name;
}
#define LIFEBOAT_RULE() \
  SCOPED_TRACE(RuleOf(::testing::UnitTest::GetInstance()->current_test_info()->name()))

class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    rig_ = Rigs().at(GetParam())();
    rig_->SetUp();
    // A rig whose clusters are absent (e.g. a real cluster that was not started) skips.
    if (IsSkipped()) return;
    auto dirs = PluginDirs();
    ASSERT_FALSE(dirs.empty()) << "set LIFEBOAT_PLUGIN_DIR to the directory holding the "
                                  "plugin library and its .plugin.json manifest";
    host_ = std::make_unique<core::PluginHost>(dirs);
    bool found = false;
    for (const auto& report : host_->LoadAll()) {
      if (report.name != rig_->PluginName()) continue;
      found = true;
      ASSERT_TRUE(report.status.ok())
          << "plugin " << report.name << " was refused: " << report.status.ToString();
    }
    ASSERT_TRUE(found) << "no manifest for plugin '" << rig_->PluginName() << "' in "
                       << std::getenv("LIFEBOAT_PLUGIN_DIR");
    auto src = host_->Instantiate(rig_->SourceConfig());
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    src_ = std::move(src).value();
    auto dst = host_->Instantiate(rig_->TargetConfig());
    ASSERT_TRUE(dst.ok()) << dst.status().ToString();
    dst_ = std::move(dst).value();
  }

  void TearDown() override {
    src_.reset();
    dst_.reset();
    host_.reset();
    if (rig_) rig_->TearDown();
  }

  v1::Peer SourcePeer() const {
    v1::Peer peer;
    *peer.mutable_config() = rig_->SourceConfig();
    return peer;
  }

  // `opts` with a route to the peers, as an agent gives every call: a plugin that reads its
  // source only through the peer stream (Call::ReadPeer) is served by the other instance's
  // Read, in-process, as in the embedded mode.
  core::CallOptions Routed(core::CallOptions opts = {}) {
    opts.peer_read = [this](const v1::PeerReadRequest& request, const core::ByteSink& sink,
                            const std::atomic<bool>* cancel) -> Status {
      const std::string& cluster = request.peer().config().cluster();
      core::PluginInstance* peer = cluster == rig_->SourceConfig().cluster()   ? src_.get()
                                   : cluster == rig_->TargetConfig().cluster() ? dst_.get()
                                                                               : nullptr;
      if (peer == nullptr) {
        return UnavailableError("the conformance rig knows no cluster '" + cluster + "'");
      }
      core::CallOptions read_opts;
      read_opts.cancel = cancel;
      read_opts.on_chunk = sink;
      return peer->Read(request.read(), read_opts).status();
    };
    return opts;
  }

  v1::CutResponse Cut(const std::string& rp, const std::string& op) {
    v1::CutRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = rig_->DataSet();
    req.set_restore_point_id(rp);
    auto resp = src_->Cut(req);
    EXPECT_TRUE(resp.ok()) << "cut " << rp << ": " << resp.status().ToString();
    return resp.ok() ? *resp : v1::CutResponse();
  }

  v1::PlanTransferResponse Plan(const v1::SnapshotRef& snap, const std::string& base,
                                const std::string& op) {
    v1::PlanTransferRequest req;
    req.set_op_id(op);
    *req.mutable_source() = SourcePeer();
    *req.mutable_snapshot() = snap;
    req.set_base_restore_point_id(base);
    auto resp = dst_->PlanTransfer(req, Routed());
    EXPECT_TRUE(resp.ok()) << "plan " << snap.restore_point_id() << ": "
                           << resp.status().ToString();
    if (resp.ok()) ExpectTasksAddUp(*resp);
    return resp.ok() ? *resp : v1::PlanTransferResponse();
  }

  // The engine's progress adds up the tasks' bytes and items (never their kinds): they must
  // add up to the plan's totals (rule RoundTrip).
  static void ExpectTasksAddUp(const v1::PlanTransferResponse& plan) {
    uint64_t bytes = 0, items = 0;
    for (const auto& t : plan.tasks()) {
      bytes += t.bytes();
      items += t.items();
    }
    EXPECT_EQ(bytes, plan.bytes_to_copy())
        << "the tasks' bytes do not add up to the plan's bytes_to_copy (the engine counts "
           "progress from TransferTask.bytes, whatever the task's kind)";
    EXPECT_EQ(items, plan.items_to_copy())
        << "the tasks' items do not add up to the plan's items_to_copy (TransferTask.items)";
  }

  StatusOr<v1::TransferResponse> Transfer(const v1::SnapshotRef& snap, const v1::TransferTask& task,
                                          const core::CallOptions& opts = {}) {
    v1::TransferRequest req;
    req.set_op_id("transfer-" + snap.restore_point_id() + "-" + task.task_id());
    *req.mutable_source() = SourcePeer();
    *req.mutable_snapshot() = snap;
    *req.mutable_task() = task;
    return dst_->Transfer(req, Routed(opts));
  }

  // Runs every task of `plan` in order; returns the bytes the calls reported copying.
  uint64_t TransferAll(const v1::SnapshotRef& snap, const v1::PlanTransferResponse& plan) {
    uint64_t copied = 0;
    for (const auto& task : plan.tasks()) {
      auto resp = Transfer(snap, task);
      EXPECT_TRUE(resp.ok()) << "task " << task.task_id() << ": " << resp.status().ToString();
      if (resp.ok()) copied += resp->bytes_copied();
    }
    return copied;
  }

  v1::VerifyResponse Verify(const v1::SnapshotRef& snap, const std::string& op) {
    v1::VerifyRequest req;
    req.set_op_id(op);
    *req.mutable_snapshot() = snap;
    req.set_level(v1::VERIFY_DIGEST);
    auto resp = dst_->Verify(req, Routed());
    EXPECT_TRUE(resp.ok()) << "verify: " << resp.status().ToString();
    return resp.ok() ? *resp : v1::VerifyResponse();
  }

  v1::CommitResponse Commit(const v1::SnapshotRef& snap, const std::string& base,
                            const std::string& op) {
    v1::CommitRequest req;
    req.set_op_id(op);
    *req.mutable_snapshot() = snap;
    req.set_base_restore_point_id(base);
    auto resp = dst_->Commit(req, Routed());
    EXPECT_TRUE(resp.ok()) << "commit: " << resp.status().ToString();
    return resp.ok() ? *resp : v1::CommitResponse();
  }

  StatusOr<v1::RestoreResponse> Restore(const std::string& rp, const std::string& destination,
                                        const std::string& op) {
    v1::RestoreRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = rig_->DataSet();
    req.set_restore_point_id(rp);
    req.set_destination(destination);
    return dst_->Restore(req, Routed());
  }

  // Restores `rp` to a fresh destination and checks it equals `want`.
  void ExpectRestores(const std::string& rp, const ContentMap& want) {
    std::string dest = rig_->RestoreDestination(next_destination_++);
    auto resp = Restore(rp, dest, "restore-" + rp + "-" + dest);
    ASSERT_TRUE(resp.ok()) << "restore " << rp << ": " << resp.status().ToString();
    ContentMap got = rig_->CaptureRestored(dest);
    EXPECT_EQ(want, got) << "restore of " << rp << " differs from the source at its cut:\n"
                         << Diff(want, got);
  }

  // One whole backup: cut, plan, transfer, verify, commit. Returns the snapshot.
  v1::SnapshotRef Backup(const std::string& rp, const std::string& base) {
    v1::CutResponse cut = Cut(rp, "cut-" + rp);
    v1::PlanTransferResponse plan = Plan(cut.snapshot(), base, "plan-" + rp);
    TransferAll(cut.snapshot(), plan);
    v1::VerifyResponse verified = Verify(cut.snapshot(), "verify-" + rp);
    EXPECT_TRUE(verified.ok()) << "verify found " << verified.mismatches_size() << " mismatches";
    Commit(cut.snapshot(), base, "commit-" + rp);
    return cut.snapshot();
  }

  std::unique_ptr<ConformanceRig> rig_;
  std::unique_ptr<core::PluginHost> host_;
  std::unique_ptr<core::PluginInstance> src_;
  std::unique_ptr<core::PluginInstance> dst_;
  int next_destination_ = 0;
};

TEST_P(ConformanceTest, Descriptor) {
  LIFEBOAT_RULE();
  const v1::PluginDescriptor& d = src_->descriptor();
  EXPECT_EQ(d.name(), rig_->PluginName());
  EXPECT_TRUE(std::regex_match(d.name(), std::regex("[a-z][a-z0-9_]*")))
      << "name '" << d.name() << "' must be lower-case letters, digits and '_'";
  EXPECT_TRUE(std::regex_match(d.version(), std::regex(R"(\d+\.\d+\.\d+([-+].*)?)")))
      << "version '" << d.version() << "' must be semantic (MAJOR.MINOR.PATCH)";
  EXPECT_FALSE(d.component().empty());
  EXPECT_EQ(d.component(), rig_->DataSet().component());
  EXPECT_FALSE(d.config_type().empty());
  EXPECT_FALSE(d.sdk_version().empty());
  EXPECT_EQ(d.abi_major(), static_cast<uint32_t>(LIFEBOAT_ABI_MAJOR));
  EXPECT_LE(d.abi_minor(), static_cast<uint32_t>(LIFEBOAT_ABI_MINOR));
  std::set<int> seen;
  for (int cap : d.capabilities()) {
    EXPECT_NE(cap, v1::CAPABILITY_UNSPECIFIED);
    EXPECT_TRUE(v1::Capability_IsValid(cap)) << "unknown capability " << cap;
    EXPECT_TRUE(seen.insert(cap).second) << "capability " << cap << " listed twice";
  }
  for (auto* instance : {src_.get(), dst_.get()}) {
    auto probe = instance->Probe(v1::ProbeRequest());
    ASSERT_TRUE(probe.ok()) << probe.status().ToString();
    EXPECT_EQ(probe->health(), v1::HEALTHY) << probe->detail();
  }
}

TEST_P(ConformanceTest, BadConfigRefused) {
  LIFEBOAT_RULE();
  std::vector<BadConfig> bad = rig_->BadConfigs();
  ASSERT_FALSE(bad.empty()) << "a rig must list at least one bad configuration";
  nlohmann::json good = nlohmann::json::parse(rig_->SourceConfig().config_json());
  good["lifeboat_conformance_unknown_field"] = 1;
  bad.push_back({"unknown field", good.dump(), "lifeboat_conformance_unknown_field"});
  for (const BadConfig& b : bad) {
    v1::PluginConfig config = rig_->SourceConfig();
    config.set_config_json(b.config_json);
    Status valid = host_->Validate(config);
    EXPECT_EQ(valid.code(), Code::kInvalidArgument) << b.description << ": " << valid.ToString();
    EXPECT_NE(valid.ToString().find(b.expected_in_message), std::string::npos)
        << b.description << ": message '" << valid.ToString() << "' should mention '"
        << b.expected_in_message << "'";
    auto made = host_->Instantiate(config);
    EXPECT_FALSE(made.ok()) << b.description << ": an instance was created";
    EXPECT_EQ(made.status().code(), Code::kInvalidArgument) << made.status().ToString();
  }
}

TEST_P(ConformanceTest, RoundTrip) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  v1::ResolveRequest resolve;
  resolve.set_selector(rig_->DataSet().selector());
  auto resolved = src_->Resolve(resolve);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  bool listed = false;
  for (const auto& ds : resolved->data_sets()) {
    listed |= ds.selector() == rig_->DataSet().selector();
  }
  EXPECT_TRUE(listed) << "resolve did not return the data set itself";

  ContentMap at_cut = rig_->CaptureSource();
  ASSERT_FALSE(at_cut.empty());
  v1::SnapshotRef snap = Backup("rp1", "");
  EXPECT_EQ(snap.restore_point_id(), "rp1");
  EXPECT_LE(snap.cut_start_unix_nanos(), snap.cut_end_unix_nanos());
  EXPECT_GT(snap.cut_start_unix_nanos(), 0);
  ExpectRestores("rp1", at_cut);
}

TEST_P(ConformanceTest, Idempotent) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  ContentMap at_cut = rig_->CaptureSource();
  v1::CutResponse cut1 = Cut("rp1", "cut-a");
  v1::CutResponse cut2 = Cut("rp1", "cut-a");
  EXPECT_EQ(cut1.snapshot().snapshot_id(), cut2.snapshot().snapshot_id());
  EXPECT_EQ(cut1.snapshot().cut_start_unix_nanos(), cut2.snapshot().cut_start_unix_nanos());
  EXPECT_EQ(cut1.snapshot().cut_end_unix_nanos(), cut2.snapshot().cut_end_unix_nanos());
  EXPECT_EQ(cut1.manifest().manifest_digest(), cut2.manifest().manifest_digest());
  const v1::SnapshotRef& snap = cut1.snapshot();

  v1::PlanTransferResponse plan1 = Plan(snap, "", "plan-a");
  v1::PlanTransferResponse plan2 = Plan(snap, "", "plan-a");
  ASSERT_EQ(plan1.tasks_size(), plan2.tasks_size());
  for (int i = 0; i < plan1.tasks_size(); ++i) {
    EXPECT_EQ(plan1.tasks(i).task_id(), plan2.tasks(i).task_id());
    EXPECT_EQ(plan1.tasks(i).bytes(), plan2.tasks(i).bytes());
  }
  uint64_t first = TransferAll(snap, plan1);
  EXPECT_GT(first, 0u);
  uint64_t again = TransferAll(snap, plan1);
  EXPECT_EQ(again, 0u) << "a repeated transfer moved data again";

  v1::VerifyResponse v1r = Verify(snap, "verify-a");
  v1::VerifyResponse v2r = Verify(snap, "verify-a");
  EXPECT_TRUE(v1r.ok());
  EXPECT_EQ(v1r.ok(), v2r.ok());

  v1::CommitResponse c1 = Commit(snap, "", "commit-a");
  v1::CommitResponse c2 = Commit(snap, "", "commit-a");
  EXPECT_EQ(c1.manifest().manifest_digest(), c2.manifest().manifest_digest());
  // Entries inline or only counted (a streamed manifest): the count agrees either way.
  auto items = [](const v1::MemberManifest& m) {
    return m.entry_count() != 0 ? m.entry_count() : static_cast<uint64_t>(m.entries_size());
  };
  EXPECT_EQ(items(c1.manifest()), items(c2.manifest()));

  std::string dest = rig_->RestoreDestination(0);
  auto r1 = Restore("rp1", dest, "restore-a");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  auto r2 = Restore("rp1", dest, "restore-a");
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->bytes_written(), 0u) << "a repeated restore wrote data again";
  EXPECT_EQ(at_cut, rig_->CaptureRestored(dest));

  v1::ReleaseRequest release;
  release.set_op_id("release-a");
  *release.mutable_snapshot() = snap;
  auto rel1 = src_->Release(release);
  auto rel2 = src_->Release(release);
  EXPECT_TRUE(rel1.ok()) << rel1.status().ToString();
  EXPECT_TRUE(rel2.ok()) << rel2.status().ToString();

  // A second point, so that expiring the first is allowed by any retention guard.
  rig_->ApplyChanges();
  Backup("rp2", "rp1");
  v1::ExpireRequest expire;
  expire.set_op_id("expire-a");
  *expire.mutable_data_set() = rig_->DataSet();
  expire.add_restore_point_ids("rp1");
  auto e1 = dst_->Expire(expire);
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  auto e2 = dst_->Expire(expire);
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  EXPECT_EQ(e1->removed_size(), 1);
  EXPECT_EQ(e2->removed_size(), 0);
  EXPECT_EQ(e2->already_absent_size(), 1);
}

TEST_P(ConformanceTest, ResumeAfterCancel) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  ContentMap at_cut = rig_->CaptureSource();
  v1::CutResponse cut = Cut("rp1", "cut-1");
  v1::PlanTransferResponse plan = Plan(cut.snapshot(), "", "plan-1");
  ASSERT_GT(plan.tasks_size(), 0);
  // The task with the most bytes holds the large item.
  int big = 0;
  for (int i = 0; i < plan.tasks_size(); ++i) {
    if (plan.tasks(i).bytes() > plan.tasks(big).bytes()) big = i;
  }
  const v1::TransferTask& task = plan.tasks(big);
  ASSERT_GE(task.bytes(), kLargeBytes);
  for (int i = 0; i < big; ++i) {
    ASSERT_TRUE(Transfer(cut.snapshot(), plan.tasks(i)).ok());
  }

  std::atomic<bool> cancel{false};
  uint64_t done_at_cancel = 0;
  core::CallOptions opts;
  opts.cancel = &cancel;
  opts.on_progress = [&](const v1::Progress& p) {
    if (p.bytes_done() > 0 && !cancel) {
      done_at_cancel = p.bytes_done();
      cancel = true;
    }
  };
  auto stopped = Transfer(cut.snapshot(), task, opts);
  ASSERT_FALSE(stopped.ok()) << "the transfer finished although it was cancelled after "
                             << done_at_cancel << " of " << task.bytes() << " bytes";
  EXPECT_EQ(stopped.status().code(), Code::kCancelled) << stopped.status().ToString();
  ASSERT_GT(done_at_cancel, 0u);
  ASSERT_LT(done_at_cancel, task.bytes());

  auto resumed = Transfer(cut.snapshot(), task);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_GT(resumed->bytes_copied(), 0u);
  EXPECT_LT(resumed->bytes_copied(), task.bytes())
      << "the resumed transfer copied everything again";
  for (int i = big + 1; i < plan.tasks_size(); ++i) {
    ASSERT_TRUE(Transfer(cut.snapshot(), plan.tasks(i)).ok());
  }
  v1::VerifyResponse verified = Verify(cut.snapshot(), "verify-1");
  EXPECT_TRUE(verified.ok());
  Commit(cut.snapshot(), "", "commit-1");
  ExpectRestores("rp1", at_cut);
}

TEST_P(ConformanceTest, CancelHonoured) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  std::atomic<bool> cancel{true};
  core::CallOptions opts;
  opts.cancel = &cancel;
  v1::CutRequest req;
  req.set_op_id("cut-cancelled");
  *req.mutable_data_set() = rig_->DataSet();
  req.set_restore_point_id("rp1");
  auto cut_cancelled = src_->Cut(req, opts);
  EXPECT_EQ(cut_cancelled.status().code(), Code::kCancelled) << cut_cancelled.status().ToString();

  v1::CutResponse cut = Cut("rp1", "cut-1");
  v1::PlanTransferResponse plan = Plan(cut.snapshot(), "", "plan-1");
  int copied_tasks = 0;
  for (const auto& task : plan.tasks()) {
    if (task.bytes() == 0) continue;
    ++copied_tasks;
    auto resp = Transfer(cut.snapshot(), task, opts);
    EXPECT_EQ(resp.status().code(), Code::kCancelled)
        << "task " << task.task_id() << ": " << resp.status().ToString();
  }
  EXPECT_GT(copied_tasks, 0);
}

TEST_P(ConformanceTest, VerifyCatchesFlipStaged) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  v1::CutResponse cut = Cut("rp1", "cut-1");
  v1::PlanTransferResponse plan = Plan(cut.snapshot(), "", "plan-1");
  TransferAll(cut.snapshot(), plan);
  ASSERT_TRUE(Verify(cut.snapshot(), "verify-clean").ok());
  std::string flipped = rig_->CorruptTarget("rp1", /*staged=*/true);
  v1::VerifyResponse verified = Verify(cut.snapshot(), "verify-flipped");
  EXPECT_FALSE(verified.ok()) << "verify missed a flipped byte in " << flipped;
  bool named = false;
  for (const auto& m : verified.mismatches()) named |= m.path() == flipped;
  EXPECT_TRUE(named) << "verify did not name " << flipped;
}

TEST_P(ConformanceTest, VerifyCatchesFlipCommitted) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  v1::SnapshotRef snap = Backup("rp1", "");
  std::string flipped = rig_->CorruptTarget("rp1", /*staged=*/false);
  v1::VerifyResponse verified = Verify(snap, "verify-flipped");
  EXPECT_FALSE(verified.ok()) << "verify missed a flipped byte in " << flipped;
  bool named = false;
  for (const auto& m : verified.mismatches()) named |= m.path() == flipped;
  EXPECT_TRUE(named) << "verify did not name " << flipped;
}

TEST_P(ConformanceTest, Incremental) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  ContentMap first = rig_->CaptureSource();
  Backup("rp1", "");
  ChangeSet change = rig_->ApplyChanges();
  ContentMap second = rig_->CaptureSource();
  ASSERT_NE(first, second);

  v1::CutResponse cut = Cut("rp2", "cut-2");
  v1::PlanTransferResponse plan = Plan(cut.snapshot(), "rp1", "plan-2");
  EXPECT_TRUE(plan.incremental()) << "not incremental: " << plan.full_reason();
  EXPECT_EQ(plan.bytes_to_copy(), change.changed_bytes);
  EXPECT_EQ(plan.items_to_copy(), change.changed_items);
  uint64_t copied = TransferAll(cut.snapshot(), plan);
  EXPECT_EQ(copied, change.changed_bytes) << "an incremental moved more than the change";
  EXPECT_TRUE(Verify(cut.snapshot(), "verify-2").ok());
  Commit(cut.snapshot(), "rp1", "commit-2");
  ExpectRestores("rp2", second);
  ExpectRestores("rp1", first);
}

TEST_P(ConformanceTest, Expire) {
  LIFEBOAT_RULE();
  rig_->Populate(kLargeBytes);
  std::vector<ContentMap> captures;
  std::string base;
  for (const std::string rp : {"rp1", "rp2", "rp3"}) {
    captures.push_back(rig_->CaptureSource());
    Backup(rp, base);
    base = rp;
    rig_->ApplyChanges();
  }
  v1::ExpireRequest expire;
  expire.set_op_id("expire-1");
  *expire.mutable_data_set() = rig_->DataSet();
  expire.add_restore_point_ids("rp1");
  auto resp = dst_->Expire(expire);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(resp->removed_size(), 1);
  EXPECT_EQ(resp->removed(0), "rp1");
  auto gone = Restore("rp1", rig_->RestoreDestination(90), "restore-gone");
  EXPECT_EQ(gone.status().code(), Code::kNotFound) << gone.status().ToString();
  ExpectRestores("rp2", captures[1]);
  ExpectRestores("rp3", captures[2]);
}

TEST_P(ConformanceTest, RestoreAsksBeforeReplacing) {
  LIFEBOAT_RULE();
  rig_->Populate(1024);
  Backup("rp1", "");
  const std::string dest = rig_->RestoreDestination(70);
  const std::string planted = rig_->PlantForeignItem(dest);
  if (planted.empty()) GTEST_SKIP() << "the rig cannot plant a foreign item (PlantForeignItem)";
  v1::RestoreRequest req;
  req.set_op_id("restore-asks-dry");
  *req.mutable_data_set() = rig_->DataSet();
  req.set_restore_point_id("rp1");
  req.set_destination(dest);
  req.set_dry_run(true);
  auto dry = dst_->Restore(req, Routed());
  EXPECT_EQ(dry.status().code(), Code::kFailedPrecondition)
      << "a dry run into a place holding " << planted << ": " << dry.status().ToString();
  req.set_op_id("restore-asks");
  req.set_dry_run(false);
  auto refused = dst_->Restore(req, Routed());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition)
      << "a restore into a place holding " << planted << ": " << refused.status().ToString();
  EXPECT_TRUE(rig_->ForeignItemIntact(dest)) << "refused, yet " << planted << " was changed";

  req.set_op_id("restore-asks-agreed");
  req.set_overwrite(true);
  auto agreed = dst_->Restore(req, Routed());
  ASSERT_TRUE(agreed.ok()) << "with overwrite: " << agreed.status().ToString();
  // A repeat of the same restore (a resume) needs no consent for what it wrote itself.
  req.set_overwrite(false);
  auto repeated = dst_->Restore(req, Routed());
  EXPECT_TRUE(repeated.ok()) << "a repeat of the same op id: " << repeated.status().ToString();
}

TEST_P(ConformanceTest, BadDestinationRefusedInDryRun) {
  LIFEBOAT_RULE();
  const std::string bad = rig_->BadRestoreDestination();
  if (bad.empty()) GTEST_SKIP() << "the rig names no bad destination (BadRestoreDestination)";
  rig_->Populate(1024);
  Backup("rp1", "");
  v1::RestoreRequest req;
  req.set_op_id("restore-bad-dry");
  *req.mutable_data_set() = rig_->DataSet();
  req.set_restore_point_id("rp1");
  req.set_destination(bad);
  req.set_dry_run(true);
  auto dry = dst_->Restore(req, Routed());
  EXPECT_EQ(dry.status().code(), Code::kInvalidArgument)
      << "a dry run to destination '" << bad << "': " << dry.status().ToString();
  req.set_dry_run(false);
  req.set_op_id("restore-bad");
  auto real = dst_->Restore(req, Routed());
  EXPECT_EQ(real.status().code(), Code::kInvalidArgument)
      << "a restore to destination '" << bad << "': " << real.status().ToString();
}

TEST_P(ConformanceTest, WritesAfterThePointAreListed) {
  LIFEBOAT_RULE();
  rig_->Populate(1024);
  Backup("rp1", "");
  // Asked of the source, the cluster rp1 was cut from, reading rp1 from its holder (the
  // target): what a failback asks of the old primary before it replaces its data sets.
  auto compare = [&](const std::string& op) {
    v1::RestoreRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = rig_->DataSet();
    req.set_restore_point_id("rp1");
    req.set_dry_run(true);
    req.set_compare_only(true);
    *req.mutable_source()->mutable_config() = rig_->TargetConfig();
    return src_->Restore(req, Routed());
  };
  auto same = compare("compare-1");
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  std::string listed;
  for (const auto& c : same->changes()) listed += "\n  " + c;
  EXPECT_EQ(same->changes_size(), 0) << "nothing changed since the cut, yet:" << listed;

  rig_->ApplyChanges();
  auto changed = compare("compare-2");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_GT(changed->changes_size(), 0)
      << "the source changed after the point, and the comparison lists nothing";
  // A comparison changes nothing.
  ContentMap after = rig_->CaptureSource();
  auto again = compare("compare-3");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes_size(), changed->changes_size());
  EXPECT_EQ(rig_->CaptureSource(), after);
}

bool Declares(const v1::PluginDescriptor& d, v1::Capability cap) {
  for (int c : d.capabilities()) {
    if (c == cap) return true;
  }
  return false;
}

// The fenced entry of `probe` for `data_set`, or nullptr.
const v1::FencedDataSet* FencedEntry(const v1::ProbeResponse& probe, const v1::DataSet& data_set) {
  for (const auto& f : probe.fenced()) {
    if (f.data_set().component() == data_set.component() &&
        f.data_set().selector() == data_set.selector()) {
      return &f;
    }
  }
  return nullptr;
}

TEST_P(ConformanceTest, FenceUnfence) {
  LIFEBOAT_RULE();
  if (!Declares(src_->descriptor(), v1::CAP_FENCING)) {
    GTEST_SKIP() << "the descriptor does not declare CAP_FENCING";
  }
  // The target gets a live copy of the data set, as after a failover.
  rig_->Populate(1024);
  Backup("rp1", "");
  auto live = Restore("rp1", "", "restore-live");
  ASSERT_TRUE(live.ok()) << "restore into the data set itself: " << live.status().ToString();
  const bool can_write = rig_->ApplicationWriteOnTarget().code() != Code::kUnimplemented;
  if (can_write) {
    Status before = rig_->ApplicationWriteOnTarget();
    ASSERT_TRUE(before.ok()) << "an application cannot write the unfenced data set: "
                             << before.ToString();
  }

  auto fence = [&](uint64_t epoch, const std::string& op) {
    v1::FenceRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = rig_->DataSet();
    req.set_epoch(epoch);
    req.set_reason("conformance " + op);
    return dst_->Fence(req);
  };
  auto unfence = [&](uint64_t epoch, const std::string& op) {
    v1::FenceRequest req;
    req.set_op_id(op);
    *req.mutable_data_set() = rig_->DataSet();
    req.set_epoch(epoch);
    return dst_->Unfence(req);
  };
  // A request without an op id or an epoch is refused before anything changes.
  EXPECT_EQ(fence(5, "").status().code(), Code::kInvalidArgument)
      << "a fence without an op id (FenceRequest.op_id)";
  EXPECT_EQ(fence(0, "fence-0").status().code(), Code::kInvalidArgument)
      << "a fence without an epoch (FenceRequest.epoch is 0; role epochs start at 1)";
  EXPECT_EQ(unfence(0, "unfence-0").status().code(), Code::kInvalidArgument)
      << "an unfence without an epoch (FenceRequest.epoch is 0)";
  auto fenced = fence(5, "fence-1");
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  EXPECT_TRUE(fenced->fenced());
  EXPECT_EQ(fenced->epoch(), 5u);
  if (can_write) {
    EXPECT_FALSE(rig_->ApplicationWriteOnTarget().ok())
        << "an application could still write the fenced data set";
  }
  auto probe = dst_->Probe(v1::ProbeRequest());
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  const v1::FencedDataSet* entry = FencedEntry(*probe, rig_->DataSet());
  ASSERT_NE(entry, nullptr) << "probe does not list the fenced data set";
  EXPECT_EQ(entry->epoch(), 5u);

  auto repeated = fence(5, "fence-1");
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_EQ(repeated->epoch(), 5u);
  auto higher = fence(7, "fence-2");
  ASSERT_TRUE(higher.ok()) << higher.status().ToString();
  EXPECT_EQ(higher->epoch(), 7u);
  auto lower = fence(6, "fence-3");
  ASSERT_TRUE(lower.ok()) << lower.status().ToString();
  EXPECT_EQ(lower->epoch(), 7u) << "a lower epoch replaced the recorded one";

  auto refused = Restore("rp1", "", "restore-fenced");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition)
      << "a restore into the fenced data set: " << refused.status().ToString();
  // Its dry run says what the real run will: refused (with consent given, so that only the
  // fence can refuse it).
  v1::RestoreRequest dry;
  dry.set_op_id("restore-fenced-dry");
  *dry.mutable_data_set() = rig_->DataSet();
  dry.set_restore_point_id("rp1");
  dry.set_dry_run(true);
  dry.set_overwrite(true);
  auto dry_refused = dst_->Restore(dry, Routed());
  EXPECT_EQ(dry_refused.status().code(), Code::kFailedPrecondition)
      << "a dry run of a restore into the fenced data set: " << dry_refused.status().ToString();
  auto stale = unfence(6, "unfence-stale");
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition)
      << "an unfence with a stale epoch: " << stale.status().ToString();
  probe = dst_->Probe(v1::ProbeRequest());
  ASSERT_TRUE(probe.ok());
  EXPECT_NE(FencedEntry(*probe, rig_->DataSet()), nullptr) << "a stale unfence lifted the fence";

  auto lifted = unfence(7, "unfence-1");
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_FALSE(lifted->fenced());
  EXPECT_EQ(lifted->epoch(), 0u)
      << "an unfence answers epoch 0: no fence is in force after it (FenceResponse.epoch)";
  probe = dst_->Probe(v1::ProbeRequest());
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(FencedEntry(*probe, rig_->DataSet()), nullptr) << "probe still lists the data set";
  if (can_write) {
    Status after = rig_->ApplicationWriteOnTarget();
    EXPECT_TRUE(after.ok()) << "the unfenced data set still refuses writes: " << after.ToString();
  }
  auto again = unfence(7, "unfence-1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->fenced());
  auto by_state = unfence(7, "unfence-2");
  ASSERT_TRUE(by_state.ok()) << "unfencing an unfenced data set: " << by_state.status().ToString();
  // The application wrote the data set meanwhile: the restore replaces that, as agreed.
  v1::RestoreRequest after;
  after.set_op_id("restore-after");
  *after.mutable_data_set() = rig_->DataSet();
  after.set_restore_point_id("rp1");
  after.set_overwrite(true);
  auto restored = dst_->Restore(after, Routed());
  EXPECT_TRUE(restored.ok()) << "restore after the unfence: " << restored.status().ToString();
}

TEST_P(ConformanceTest, SyncSecurity) {
  LIFEBOAT_RULE();
  if (!Declares(src_->descriptor(), v1::CAP_SECURITY_SYNC)) {
    GTEST_SKIP() << "the descriptor does not declare CAP_SECURITY_SYNC";
  }
  rig_->Populate(1024);
  Backup("rp1", "");
  auto live = Restore("rp1", "", "restore-live");
  ASSERT_TRUE(live.ok()) << "restore into the data set itself: " << live.status().ToString();
  const std::string path = rig_->ChangeSourceSecurity();
  if (path.empty()) GTEST_SKIP() << "the rig cannot change security on the source";
  const std::string want = rig_->CaptureSecurity(false, path);
  const std::string before = rig_->CaptureSecurity(true, path);
  ASSERT_NE(before, want) << "the change on the source did not make the clusters differ";

  auto sync = [&](const std::string& op, bool dry_run) {
    v1::SyncSecurityRequest req;
    req.set_op_id(op);
    *req.mutable_source() = SourcePeer();
    *req.mutable_data_set() = rig_->DataSet();
    req.set_dry_run(dry_run);
    return dst_->SyncSecurity(req, Routed());
  };
  auto dry = sync("sync-dry", true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_GT(dry->changes_size(), 0) << "a dry run reported no change";
  EXPECT_EQ(rig_->CaptureSecurity(true, path), before) << "a dry run changed the target";

  auto done = sync("sync-1", false);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_GT(done->changes_size(), 0);
  EXPECT_EQ(rig_->CaptureSecurity(true, path), want);
  auto repeated = sync("sync-1", false);
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_EQ(repeated->changes_size(), done->changes_size())
      << "a repeated op id got another answer";
  auto by_state = sync("sync-2", false);
  ASSERT_TRUE(by_state.ok()) << by_state.status().ToString();
  EXPECT_EQ(by_state->changes_size(), 0) << "a second sync found more to change";
}

// ABI 1.1: a plugin that serves peer reads (CAP_PEER_READ) must serve only what belongs to
// a snapshot it holds. Item names are the plugin's own, so the suite checks the refusals every
// plugin owes: no item name, escapes, absolute paths, and a snapshot it never cut. A refused
// read emits nothing.
TEST_P(ConformanceTest, PeerReadServesOnlyItsSnapshots) {
  LIFEBOAT_RULE();
  if (!Declares(src_->descriptor(), v1::CAP_PEER_READ)) {
    GTEST_SKIP() << "the descriptor does not declare CAP_PEER_READ";
  }
  rig_->Populate(1024);
  v1::CutResponse cut = Cut("rp1", "cut-rp1");
  v1::SnapshotRef never = cut.snapshot();
  never.set_restore_point_id("never-cut");
  struct Case {
    v1::SnapshotRef snapshot;
    std::string item;
  };
  const std::vector<Case> cases = {{cut.snapshot(), ""},
                                   {cut.snapshot(), "../../../../../../etc/passwd"},
                                   {cut.snapshot(), "/etc/passwd"},
                                   {cut.snapshot(), "tree/../../../../../../etc/passwd"},
                                   {never, "cut"}};
  for (const auto& c : cases) {
    v1::ReadRequest req;
    *req.mutable_snapshot() = c.snapshot;
    req.set_item(c.item);
    uint64_t emitted = 0;
    core::CallOptions opts;
    opts.on_chunk = [&](std::string_view chunk) {
      emitted += chunk.size();
      return OkStatus();
    };
    auto r = src_->Read(req, opts);
    EXPECT_FALSE(r.ok()) << "read of '" << c.item << "' of " << c.snapshot.restore_point_id()
                         << " was served";
    EXPECT_EQ(emitted, 0u) << "a refused read emitted bytes: '" << c.item << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Plugins, ConformanceTest, ::testing::ValuesIn(RigNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConformanceTest);

}  // namespace

bool RegisterRig(const std::string& name, RigFactory factory) {
  return Rigs().emplace(name, std::move(factory)).second;
}

}  // namespace lifeboat::testing
