// What the engine tells operators about jobs, with the real localfs plugin: the bandwidth each
// transfer call is handed, the events and messages of cancelled, failed and switched jobs,
// the bytes a failover moves, and a restore's changes per data set.
#include <gtest/gtest.h>
#include <lifeboat/core/engine.h>
#include <lifeboat/v1/plugin.pb.h>
#include <unistd.h>

#include <lifeboat_test/remove_tree.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;
namespace pb = ::lifeboat::v1;

void Write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// Wraps a real local agent and records the bandwidth of every transfer call (a fake: it only
// looks at the requests).
class TransferRecordingAgentFake : public Agent {
 public:
  TransferRecordingAgentFake(std::unique_ptr<Agent> real, std::mutex& mu,
                             std::vector<uint64_t>& bandwidths)
      : real_(std::move(real)), mu_(mu), bandwidths_(bandwidths) {}
  const std::string& cluster() const override { return real_->cluster(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    if (op == LB_OP_TRANSFER) {
      pb::TransferRequest req;
      if (req.ParseFromString(request)) {
        std::lock_guard<std::mutex> lock(mu_);
        bandwidths_.push_back(req.bandwidth_bytes_per_second());
      }
    }
    return real_->Call(component, op, request, response, opts);
  }
  StatusOr<pb::PluginConfig> PeerConfig(const std::string& c) override {
    return real_->PeerConfig(c);
  }
  StatusOr<pb::PluginDescriptor> Describe(const std::string& c) override {
    return real_->Describe(c);
  }
  StatusOr<int64_t> ClockNow() override { return real_->ClockNow(); }
  Status Read(const std::string& component, const std::string& request, const ByteSink& sink,
              const CallOptions& opts) override {
    return real_->Read(component, request, sink, opts);
  }

 private:
  std::unique_ptr<Agent> real_;
  std::mutex& mu_;
  std::vector<uint64_t>& bandwidths_;
};

class EngineOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-engine-ops-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    for (int i = 0; i < 8; ++i) {
      Write(base_ / "primary" / "data" / ("f" + std::to_string(i) + ".bin"),
            Random(200000 + i, static_cast<uint32_t>(i)));
    }
    fs::create_directories(base_ / "secondary");
  }
  void TearDown() override {
    engine_.reset();
    lifeboat::test::RemoveTestTree(base_);
  }

  void Open() {
    engine_.reset();
    EngineOptions o;
    o.state_dir = base_ / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    o.make_agent = [this](const v1::Cluster& c,
                          const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
      auto real = std::make_unique<LocalAgent>(host, c);
      if (c.name() != "dr") return std::unique_ptr<Agent>(std::move(real));
      return std::unique_ptr<Agent>(
          std::make_unique<TransferRecordingAgentFake>(std::move(real), mu_, bandwidths_));
    };
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }

  static v1::Cluster Cluster(const std::string& name, const fs::path& root) {
    v1::Cluster c;
    c.set_name(name);
    auto* comp = c.add_components();
    comp->set_component("localfs");
    comp->set_config_json("{\"root\": \"" + root.string() + "\", \"chunk_bytes\": 65536}");
    return c;
  }

  void Apply(uint64_t bandwidth, uint32_t parallelism) {
    v1::Service svc;
    svc.set_name("svc");
    svc.set_primary_cluster("primary");
    svc.set_secondary_cluster("dr");
    auto* d = svc.add_data_sets();
    d->set_component("localfs");
    d->set_selector("/data");
    v1::Policy p;
    p.set_name("svc-hourly");
    p.set_service("svc");
    p.mutable_schedule()->set_interval_seconds(3600);
    p.set_consistency(v1::CRASH);
    p.set_parallelism(parallelism);
    p.set_bandwidth_bytes_per_second(bandwidth);
    p.set_verification(v1::VERIFY_SIZE);
    std::vector<YamlDocument> docs(4);
    docs[0].value = Cluster("primary", base_ / "primary");
    docs[1].value = Cluster("dr", base_ / "secondary");
    docs[2].value = svc;
    docs[3].value = p;
    for (auto& doc : docs) doc.file = "test.yaml";
    auto applied = engine_->Apply(docs, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  }

  std::string Backup() {
    auto id = engine_->StartBackup("svc-hourly", "manual", "test");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    Status s = engine_->RunJob(*id);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto job = engine_->GetJob(*id);
    return job.ok() ? job->restore_point_id() : "";
  }

  std::vector<v1::Event> EventsOf(const std::string& job_id) {
    std::vector<v1::Event> out;
    auto events = engine_->Events();
    EXPECT_TRUE(events.ok());
    if (!events.ok()) return out;
    for (const auto& e : *events) {
      if (e.job_id() == job_id) out.push_back(e);
    }
    return out;
  }

  fs::path base_;
  std::unique_ptr<Engine> engine_;
  std::mutex mu_;
  std::vector<uint64_t> bandwidths_;
};

// The policy's bandwidth is the job's: each transfer call may use all of it (one big file
// alone gets the whole rate); the workers share it through the job's bucket, not by
// dividing it among themselves.
TEST_F(EngineOpsTest, EachTransferCallIsHandedTheJobsWholeBandwidth) {
  Open();
  Apply(/*bandwidth=*/40'000'000, /*parallelism=*/4);
  ASSERT_FALSE(Backup().empty());
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_FALSE(bandwidths_.empty());
  for (uint64_t b : bandwidths_) EXPECT_EQ(b, 40'000'000u) << "a transfer call got a slice";
}

TEST_F(EngineOpsTest, ACancelledBackupRecordsAWarningThatSaysWhatBecameOfIt) {
  Open();
  Apply(/*bandwidth=*/2'000'000, /*parallelism=*/1);
  auto id = engine_->StartBackup("svc-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  std::atomic<bool> cancel{false};
  Status s = engine_->RunJob(*id, &cancel, [&](const JobProgress& p) {
    if (p.phase == v1::PHASE_TRANSFER && p.bytes_done > 0) cancel = true;
  });
  ASSERT_EQ(s.code(), Code::kCancelled) << s.ToString();
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_CANCELLED);
  // The plugin's "run the task again to resume" is not what happens to a cancelled job.
  EXPECT_EQ(job->error().find("run the task again"), std::string::npos) << job->error();
  EXPECT_NE(job->error().find("not resumed"), std::string::npos) << job->error();
  EXPECT_NE(job->error().find("lifeboat run svc-hourly"), std::string::npos) << job->error();
  EXPECT_NE(job->error().find("removed from both clusters"), std::string::npos) << job->error();

  auto events = EventsOf(*id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), "job_cancelled");
  EXPECT_EQ(events[0].severity(), "warning");
  EXPECT_EQ(events[0].service(), "svc");
  EXPECT_EQ(events[0].message(), job->error());
}

TEST_F(EngineOpsTest, AFailedRestoreRecordsACriticalEvent) {
  Open();
  Apply(0, 1);
  const std::string point = Backup();
  ASSERT_FALSE(point.empty());
  // A file where the restore must make a directory: the plugin refuses.
  Write(base_ / "secondary" / "blocked", "not a directory\n");
  v1::RestoreSpec spec;
  spec.set_restore_point_id(point);
  spec.set_destination("/blocked");
  auto id = engine_->StartRestore("svc", spec, "test");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Status s = engine_->RunJob(*id);
  ASSERT_FALSE(s.ok());
  auto events = EventsOf(*id);
  ASSERT_EQ(events.size(), 1u) << "a failed restore recorded no event";
  EXPECT_EQ(events[0].severity(), s.code() == Code::kFailedPrecondition ? "warning" : "critical");
  EXPECT_EQ(events[0].kind(),
            s.code() == Code::kFailedPrecondition ? "job_parked" : "restore_failed");
  EXPECT_NE(events[0].message().find(*id), std::string::npos) << events[0].message();
}

TEST_F(EngineOpsTest, APlannedFailoverIsANoticeAndCountsTheBytesItApplied) {
  Open();
  Apply(0, 1);
  ASSERT_FALSE(Backup().empty());
  v1::SwitchSpec spec;
  spec.add_services("svc");
  spec.set_reason("drill");
  auto id = engine_->StartFailover(spec, "test");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Status s = engine_->RunJob(*id);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto events = EventsOf(*id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), "failover");
  EXPECT_EQ(events[0].severity(), "notice") << "a planned failover is not critical";
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  // The apply step restored the point into the secondary's live data set: 8 files.
  EXPECT_GE(job->bytes_done(), 8u * 200000u);
}

// Issue 11 finding 16: /metrics reported 0 bytes for failover and failback jobs. A failback's
// bytes are what its replication moved from the active side (the file written there after
// the failover) and what its apply wrote; the child backups it runs keep their own bytes.
TEST_F(EngineOpsTest, AFailbackCountsTheBytesItMoved) {
  Open();
  Apply(0, 1);
  ASSERT_FALSE(Backup().empty());
  v1::SwitchSpec over;
  over.add_services("svc");
  auto failover = engine_->StartFailover(over, "test");
  ASSERT_TRUE(failover.ok()) << failover.status().ToString();
  ASSERT_TRUE(engine_->RunJob(*failover).ok());
  // Written on dr while it is the primary: the failback must bring it back.
  const std::string late = Random(300000, 99);
  Write(base_ / "secondary" / "data" / "late.bin", late);
  v1::SwitchSpec back;
  back.add_services("svc");
  auto failback = engine_->StartFailback(back, "test");
  ASSERT_TRUE(failback.ok()) << failback.status().ToString();
  Status s = engine_->RunJob(*failback);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto job = engine_->GetJob(*failback);
  ASSERT_TRUE(job.ok());
  EXPECT_GE(job->bytes_done(), late.size())
      << "a failback that moved late.bin reports " << job->bytes_done() << " bytes";
  std::ifstream in(base_ / "primary" / "data" / "late.bin", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), late);
}

TEST_F(EngineOpsTest, ARestoreCountsItsChangesPerDataSetAndADryRunSaysTheBytes) {
  Open();
  Apply(0, 1);
  const std::string point = Backup();
  ASSERT_FALSE(point.empty());
  v1::RestoreSpec spec;
  spec.set_restore_point_id(point);
  spec.set_destination("/copy");
  spec.set_dry_run(true);
  auto dry = engine_->StartRestore("svc", spec, "test");
  ASSERT_TRUE(dry.ok());
  ASSERT_TRUE(engine_->RunJob(*dry).ok());
  auto job = engine_->GetJob(*dry);
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->changes_size(), 1);
  EXPECT_EQ(job->changes(0).data_set(), "localfs:/data");
  EXPECT_GE(job->changes(0).creates(), 8u);
  EXPECT_EQ(job->changes(0).deletes(), 0u);
  EXPECT_GE(job->changes(0).bytes(), 8u * 200000u)
      << "the dry run does not say what it would write";
  EXPECT_EQ(job->bytes_done(), 0u) << "a dry run moved nothing";
  EXPECT_FALSE(fs::exists(base_ / "secondary" / "copy"));
}

}  // namespace
}  // namespace lifeboat::core
