// What a backup costs the engine, counted rather than timed (issue 13): the phase times it
// records, and work that must not grow with the number of stored points. The real localfs
// plugin through the real host; the agent is wrapped to count the plugin calls.
#include <gtest/gtest.h>
#include <lifeboat/core/engine.h>
#include <unistd.h>

#include <lifeboat_test/remove_tree.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

// Counts the plugin operations that pass through it, by op, then hands them to the real agent.
class CountingAgent : public Agent {
 public:
  CountingAgent(std::unique_ptr<Agent> inner, std::map<lb_op, int>* counts, std::mutex* mu)
      : inner_(std::move(inner)), counts_(counts), mu_(mu) {}
  const std::string& cluster() const override { return inner_->cluster(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    {
      std::lock_guard<std::mutex> lock(*mu_);
      ++(*counts_)[op];
    }
    return inner_->Call(component, op, request, response, opts);
  }
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& component) override {
    return inner_->PeerConfig(component);
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& component) override {
    return inner_->Describe(component);
  }
  StatusOr<int64_t> ClockNow() override { return inner_->ClockNow(); }
  Status Read(const std::string& component, const std::string& request, const ByteSink& sink,
              const CallOptions& opts) override {
    return inner_->Read(component, request, sink, opts);
  }

 private:
  std::unique_ptr<Agent> inner_;
  std::map<lb_op, int>* counts_;
  std::mutex* mu_;
};

class BackupCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-backup-cost-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "secondary");
    for (int i = 0; i < 20; ++i) {
      Write(Data() / ("d" + std::to_string(i % 4)) / ("f" + std::to_string(i)), std::to_string(i));
    }
    EngineOptions o;
    o.state_dir = base_ / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    o.make_agent = [this](const v1::Cluster& c,
                          const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
      return std::unique_ptr<Agent>(std::make_unique<CountingAgent>(
          std::make_unique<LocalAgent>(host, c), &counts_, &counts_mu_));
    };
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    ASSERT_TRUE(engine_->Apply(Config(/*keep=*/0), "test").ok());
  }
  void TearDown() override {
    engine_.reset();
    lifeboat::test::RemoveTestTree(base_);
  }

  fs::path Data() const { return base_ / "primary" / "data"; }

  std::vector<YamlDocument> Config(uint32_t keep) const {
    auto cluster = [](const std::string& name, const fs::path& root) {
      v1::Cluster c;
      c.set_name(name);
      auto* comp = c.add_components();
      comp->set_component("localfs");
      comp->set_config_json("{\"root\": \"" + root.string() + "\"}");
      return c;
    };
    v1::Service svc;
    svc.set_name("svc");
    svc.set_primary_cluster("primary");
    svc.set_secondary_cluster("dr");
    auto* ds = svc.add_data_sets();
    ds->set_component("localfs");
    ds->set_selector("/data");
    v1::Policy p;
    p.set_name("pol");
    p.set_service("svc");
    p.mutable_schedule()->set_interval_seconds(3600);
    p.mutable_retention()->set_keep_count(keep);
    p.set_consistency(v1::CRASH);
    p.set_verification(v1::VERIFY_DIGEST);
    std::vector<YamlDocument> docs(4);
    docs[0].value = cluster("primary", base_ / "primary");
    docs[1].value = cluster("dr", base_ / "secondary");
    docs[2].value = svc;
    docs[3].value = p;
    for (auto& d : docs) d.file = "test.yaml";
    return docs;
  }

  v1::Job Backup() {
    auto id = engine_->StartBackup("pol", "manual", "test");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return {};
    Status s = engine_->RunJob(*id);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto job = engine_->GetJob(*id);
    EXPECT_TRUE(job.ok());
    return job.ok() ? *job : v1::Job{};
  }

  // Plugin calls of `op` since the last Reset().
  int Count(lb_op op) {
    std::lock_guard<std::mutex> lock(counts_mu_);
    return counts_[op];
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(counts_mu_);
    counts_.clear();
  }

  fs::path base_;
  std::unique_ptr<Engine> engine_;
  std::mutex counts_mu_;
  std::map<lb_op, int> counts_;
};

TEST_F(BackupCostTest, TheJobRecordsTheTimeOfEveryPhaseAndStep) {
  v1::Job job = Backup();
  ASSERT_EQ(job.state(), v1::JOB_SUCCEEDED);
  std::vector<v1::Phase> phases;
  std::map<v1::Phase, const v1::PhaseTime*> whole;
  std::map<std::string, const v1::PhaseTime*> steps;
  for (const v1::PhaseTime& t : job.phase_times()) {
    EXPECT_GT(t.started_unix_nanos(), 0);
    EXPECT_LE(t.started_unix_nanos(), t.finished_unix_nanos());
    EXPECT_GE(t.started_unix_nanos(), job.started_unix_nanos());
    EXPECT_LE(t.finished_unix_nanos(), job.finished_unix_nanos());
    if (t.step().empty()) {
      phases.push_back(t.phase());
      whole[t.phase()] = &t;
    } else {
      steps[v1::Phase_Name(t.phase()) + "." + t.step()] = &t;
    }
  }
  EXPECT_EQ(phases, (std::vector<v1::Phase>{v1::PHASE_PLAN, v1::PHASE_PREPARE, v1::PHASE_CUT,
                                            v1::PHASE_TRANSFER, v1::PHASE_VERIFY, v1::PHASE_COMMIT,
                                            v1::PHASE_EXPIRE}));
  // One phase starts where the previous one ended (nothing but the phase's save between).
  for (size_t k = 1; k < phases.size(); ++k) {
    EXPECT_LE(whole[phases[k - 1]]->finished_unix_nanos(), whole[phases[k]]->started_unix_nanos());
  }
  // Steps lie inside their phase; no security sync without the policy asking for it.
  ASSERT_EQ(steps.size(), 2u);
  for (const auto& [name, step] : steps) {
    ASSERT_TRUE(name == "PHASE_TRANSFER.plan" || name == "PHASE_EXPIRE.release") << name;
    const v1::PhaseTime* phase = whole[step->phase()];
    EXPECT_GE(step->started_unix_nanos(), phase->started_unix_nanos()) << name;
    EXPECT_LE(step->finished_unix_nanos(), phase->finished_unix_nanos()) << name;
  }
}

}  // namespace
}  // namespace lifeboat::core
