// A real engine on a temporary state directory with the localfs plugin, an ApiHandler over
// it, a token per role, and helpers to call routes and wait for jobs.
#ifndef LIFEBOAT_TESTS_CORE_API_API_FIXTURE_H_
#define LIFEBOAT_TESTS_CORE_API_API_FIXTURE_H_

#include <gtest/gtest.h>
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/api/tokens.h>
#include <lifeboat/core/engine.h>
#include <stdlib.h>

#include <lifeboat_test/remove_tree.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>

namespace lifeboat::core::api::testing {

namespace fs = std::filesystem;

inline void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-api-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    WriteFile(base_ / "primary" / "data" / "a.txt", "alpha\n");
    WriteFile(base_ / "primary" / "data" / "sub" / "b.bin", RandomBytes(200000, 7));
    fs::create_directories(base_ / "secondary");
    EngineOptions o;
    o.state_dir = base_ / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    handler_ = std::make_unique<ApiHandler>(*engine_);
    for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
      auto made = handler_->tokens().Create(std::string(RoleName(r)) + "-token", r, "test");
      ASSERT_TRUE(made.ok()) << made.status().ToString();
      token_[r] = made->token;
    }
  }

  void TearDown() override {
    handler_.reset();
    engine_.reset();
    lifeboat::test::RemoveTestTree(base_);
  }

  // Clusters a (primary) and b (secondary), service svc over /data, policy svc-daily.
  std::string ConfigYaml(const std::string& bandwidth = "") const {
    std::string y;
    y += "kind: Cluster\nname: a\ncomponents: [{component: localfs, config: {root: \"" +
         (base_ / "primary").string() + "\", chunk_bytes: 65536}}]\n---\n";
    y += "kind: Cluster\nname: b\ncomponents: [{component: localfs, config: {root: \"" +
         (base_ / "secondary").string() + "\", chunk_bytes: 65536}}]\n---\n";
    y += "kind: Service\nname: svc\nprimary: a\nsecondary: b\ndata_sets: [localfs:/data]\n---\n";
    y += "kind: Policy\nname: svc-daily\nservice: svc\nschedule: {cron: \"0 3 * * *\"}\nrpo: 1d\n"
         "retention: {keep: 10}\nparallelism: 1\n";
    if (!bandwidth.empty()) y += "bandwidth: " + bandwidth + "\n";
    return y;
  }

  // Calls the handler as the holder of `token` ("" sends no Authorization header).
  Response Call(const std::string& method, const std::string& target, const std::string& token = "",
                const std::string& body = "",
                std::map<std::string, std::string> headers = {}) const {
    Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.headers = std::move(headers);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return handler_->Handle(r);
  }
  Response As(Role role, const std::string& method, const std::string& target,
              const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    return Call(method, target, token_.at(role), body, std::move(headers));
  }

  static nlohmann::json Json(const Response& r) {
    return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  }
  static std::string ErrorCode(const Response& r) {
    auto j = Json(r);
    if (!j.is_object() || !j.contains("error")) return "";
    return j["error"].value("code", "");
  }
  static std::string ErrorMessage(const Response& r) {
    auto j = Json(r);
    if (!j.is_object() || !j.contains("error")) return "";
    return j["error"].value("message", "");
  }

  void ApplyConfig(const std::string& bandwidth = "") {
    Response r = As(Role::kOperator, "POST", "/v1/apply?source=test.yaml", ConfigYaml(bandwidth),
                    {{"content-type", "application/yaml"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Waits for the executor to finish the job, then returns GET /v1/jobs/{id}'s "job".
  nlohmann::json WaitJob(const std::string& id) {
    engine_->Wait(id);
    Response r = As(Role::kViewer, "GET", "/v1/jobs/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r)["job"];
  }

  // Runs a backup through the API and returns its restore point id.
  std::string Backup() {
    Response r = As(Role::kOperator, "POST", "/v1/policies/svc-daily/run");
    EXPECT_EQ(r.status, 202) << r.body;
    std::string id = Json(r).value("job_id", "");
    auto job = WaitJob(id);
    EXPECT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump();
    return job.value("restore_point_id", "");
  }

  fs::path base_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ApiHandler> handler_;
  std::map<Role, std::string> token_;
};

}  // namespace lifeboat::core::api::testing

#endif  // LIFEBOAT_TESTS_CORE_API_API_FIXTURE_H_
