// A fixture for engine tests: the real engine with the real localfs plugin (through the real
// host) over two directories standing for two clusters, "primary" and "dr", and a service
// "sales" of two data sets (/warehouse/sales and /meta) with one policy "sales-hourly".
// Tests may wrap the agents the engine makes (make_agent_, then OpenEngine()).
#ifndef LIFEBOAT_TESTS_CORE_ENGINE_ENGINE_FIXTURE_H_
#define LIFEBOAT_TESTS_CORE_ENGINE_ENGINE_FIXTURE_H_

#include <gtest/gtest.h>
#include <lifeboat/core/agent_wrapper.h>
#include <lifeboat/core/engine.h>
#include <unistd.h>

#include <lifeboat_test/remove_tree.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace lifeboat::core::testing {

namespace fs = std::filesystem;

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

inline void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fake agent around the real one: the next `failures` calls of each op in `ops` fail
// UNAVAILABLE, as over a network that drops for a moment; `down` makes every call fail.
class FlakyAgentFake : public AgentWrapper {
 public:
  FlakyAgentFake(std::unique_ptr<Agent> real, const std::atomic<bool>& down)
      : AgentWrapper(std::move(real)), down_(down) {}

  // Arms `failures` failures for each op of `ops`.
  void FailNext(std::set<lb_op> ops, int failures) {
    std::lock_guard<std::mutex> lock(mu_);
    for (lb_op op : ops) pending_[op] = failures;
  }
  int Failed(lb_op op) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = failed_.find(op);
    return it == failed_.end() ? 0 : it->second;
  }

  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    if (down_) return UnavailableError("agent of " + cluster() + " does not answer");
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(op);
      if (it != pending_.end() && it->second > 0) {
        --it->second;
        ++failed_[op];
        return UnavailableError("connection to the agent of " + cluster() + " reset");
      }
    }
    return AgentWrapper::Call(component, op, request, response, opts);
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& c) override {
    if (down_) return UnavailableError("agent of " + cluster() + " does not answer");
    return AgentWrapper::Describe(c);
  }
  StatusOr<int64_t> ClockNow() override {
    if (down_) return UnavailableError("agent of " + cluster() + " does not answer");
    return AgentWrapper::ClockNow();
  }

 private:
  const std::atomic<bool>& down_;
  mutable std::mutex mu_;
  std::map<lb_op, int> pending_;
  std::map<lb_op, int> failed_;
};

class EngineFixture : public ::testing::Test {
 protected:
  using AgentMaker =
      std::function<StatusOr<std::unique_ptr<Agent>>(const v1::Cluster&, const PluginHost&)>;

  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-engine-fixture-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "primary");
    fs::create_directories(base_ / "secondary");
    WriteFile(Sales() / "orders.csv", "id,amount\n1,10\n");
    WriteFile(Sales() / "part" / "big.bin", RandomBytes(1 << 20, 1));
    WriteFile(Meta() / "schema.json", "{\"v\": 1}\n");
    ASSERT_TRUE(OpenEngine().ok());
  }
  void TearDown() override {
    engine_.reset();
    lifeboat::test::RemoveTestTree(base_);
  }

  Status OpenEngine() {
    engine_.reset();
    EngineOptions o;
    o.state_dir = base_ / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    o.make_agent = make_agent_;
    auto e = Engine::Open(o);
    if (!e.ok()) return e.status();
    engine_ = std::move(e).value();
    return OkStatus();
  }

  fs::path Primary() const { return base_ / "primary"; }
  fs::path Secondary() const { return base_ / "secondary"; }
  fs::path Sales() const { return Primary() / "warehouse" / "sales"; }
  fs::path Meta() const { return Primary() / "meta"; }

  static v1::Cluster Cluster(const std::string& name, const fs::path& root) {
    v1::Cluster c;
    c.set_name(name);
    auto* comp = c.add_components();
    comp->set_component("localfs");
    comp->set_config_json("{\"root\": \"" + root.string() + "\", \"chunk_bytes\": 65536}");
    return c;
  }

  std::vector<YamlDocument> Config() const {
    v1::Service svc;
    svc.set_name("sales");
    svc.set_primary_cluster("primary");
    svc.set_secondary_cluster("dr");
    auto* d1 = svc.add_data_sets();
    d1->set_component("localfs");
    d1->set_selector("/warehouse/sales");
    auto* d2 = svc.add_data_sets();
    d2->set_component("localfs");
    d2->set_selector("/meta");
    v1::Policy p;
    p.set_name("sales-hourly");
    p.set_service("sales");
    p.mutable_schedule()->set_interval_seconds(3600);
    p.set_consistency(v1::CRASH);
    p.set_parallelism(2);
    p.set_verification(v1::VERIFY_DIGEST);
    std::vector<YamlDocument> docs(4);
    docs[0].value = Cluster("primary", Primary());
    docs[1].value = Cluster("dr", Secondary());
    docs[2].value = svc;
    docs[3].value = p;
    for (auto& d : docs) d.file = "test.yaml";
    return docs;
  }

  void ApplyConfig() {
    auto applied = engine_->Apply(Config(), "test");
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  }

  // A backup of "sales-hourly" run to its end; the point's id ("" and a test failure if not).
  std::string Backup() {
    auto id = engine_->StartBackup("sales-hourly", "manual", "test");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    Status s = engine_->RunJob(*id);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto job = engine_->GetJob(*id);
    EXPECT_TRUE(job.ok());
    return job.ok() && s.ok() ? job->restore_point_id() : "";
  }

  // Records and runs a restore of "sales"; returns the job's final status and the job.
  Status RunRestore(const v1::RestoreSpec& spec, v1::Job* job = nullptr) {
    auto id = engine_->StartRestore("sales", spec, "test");
    if (!id.ok()) return id.status();
    Status s = engine_->RunJob(*id);
    if (job != nullptr) {
      auto j = engine_->GetJob(*id);
      if (j.ok()) *job = *j;
    }
    return s;
  }

  // Records and runs a switch; returns its final status and the job.
  Status RunSwitch(bool failback, const v1::SwitchSpec& spec, v1::Job* job = nullptr) {
    auto id =
        failback ? engine_->StartFailback(spec, "test") : engine_->StartFailover(spec, "test");
    if (!id.ok()) return id.status();
    Status s = engine_->RunJob(*id);
    if (job != nullptr) {
      auto j = engine_->GetJob(*id);
      if (j.ok()) *job = *j;
    }
    return s;
  }

  static std::string Log(const v1::Job& job) {
    std::string out;
    for (const auto& line : job.log()) out += line + "\n";
    return out;
  }

  fs::path base_;
  std::unique_ptr<Engine> engine_;
  AgentMaker make_agent_;
};

}  // namespace lifeboat::core::testing

#endif  // LIFEBOAT_TESTS_CORE_ENGINE_ENGINE_FIXTURE_H_
