// The endpoint lookup library against a real control service: an engine on a temp state dir
// with the localfs plugin, its API handler behind the real HTTP server on loopback.
#include <gtest/gtest.h>
#include <lifeboat/client/endpoints.h>
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/api/server.h>
#include <lifeboat/core/api/tokens.h>
#include <lifeboat/core/engine.h>
#include <unistd.h>

#include <lifeboat_test/remove_tree.h>
#include <filesystem>
#include <fstream>

namespace lifeboat {
namespace {

namespace fs = std::filesystem;
using core::api::ApiHandler;
using core::api::ApiServer;
using core::api::ApiServerOptions;
using core::api::Role;

class ControlService {
 public:
  explicit ControlService(const fs::path& dir) {
    core::EngineOptions o;
    o.state_dir = dir / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    auto e = core::Engine::Open(o);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    engine = std::move(e).value();
    handler = std::make_unique<ApiHandler>(*engine);
    server = std::make_unique<ApiServer>(*handler, ApiServerOptions{});
    auto p = server->Start();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    port = p.ok() ? *p : 0;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string Token(Role role) {
    auto t = handler->tokens().Create("app-" + std::to_string(++tokens), role, "test");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->token : "";
  }

  std::unique_ptr<core::Engine> engine;
  std::unique_ptr<ApiHandler> handler;
  std::unique_ptr<ApiServer> server;
  uint16_t port = 0;
  int tokens = 0;
};

class EndpointResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-endpoints-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "primary" / "data");
    fs::create_directories(base_ / "dr");
    std::ofstream(base_ / "primary" / "data" / "f") << "x";
    control_ = std::make_unique<ControlService>(base_ / "one");
    ASSERT_TRUE(Configure(*control_->engine).ok());
  }
  void TearDown() override {
    control_.reset();
    lifeboat::test::RemoveTestTree(base_);
  }

  Status Configure(core::Engine& engine) {
    namespace v1 = core::v1;
    std::vector<core::YamlDocument> docs(3);
    for (const char* name : {"primary", "dr"}) {
      v1::Cluster c;
      c.set_name(name);
      auto* comp = c.add_components();
      comp->set_component("localfs");
      comp->set_config_json("{\"root\": \"" + (base_ / name).string() + "\"}");
      docs[std::string(name) == "primary" ? 0 : 1].value = c;
    }
    v1::Service s;
    s.set_name("sales");
    s.set_primary_cluster("primary");
    s.set_secondary_cluster("dr");
    auto* ds = s.add_data_sets();
    ds->set_component("localfs");
    ds->set_selector("/data");
    for (const char* cluster : {"primary", "dr"}) {
      auto* e = s.add_endpoints();
      e->set_cluster(cluster);
      e->set_name("jdbc");
      e->set_address(std::string("jdbc:hive2://") + cluster + ":10000");
    }
    docs[2].value = s;
    for (auto& d : docs) d.file = "t.yaml";
    return engine.Apply(docs, "test").status();
  }

  client::EndpointResolverOptions Options(const std::string& token) {
    client::EndpointResolverOptions o;
    o.server_url = control_->Url();
    o.token = token;
    // Only Invalidate() refreshes, so the test decides when. Longer than any machine's uptime:
    // Invalidate used to set a zero fetch time, which steady_clock (counting from boot) still
    // took as fresh in a machine's first `ttl` — these tests failed on a machine up < 1 h.
    o.ttl = std::chrono::hours(24 * 365 * 100);
    return o;
  }

  fs::path base_;
  std::unique_ptr<ControlService> control_;
};

TEST_F(EndpointResolverTest, FollowsAFailoverToTheSecondary) {
  client::EndpointResolver resolver(Options(control_->Token(Role::kViewer)));
  auto first = resolver.Resolve("sales");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->active_cluster, "primary");
  EXPECT_EQ(first->epoch, 1u);
  EXPECT_FALSE(first->stale);
  auto address = resolver.Address("sales", "jdbc");
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(*address, "jdbc:hive2://primary:10000");

  // The service fails over.
  core::v1::SwitchSpec spec;
  spec.add_services("sales");
  spec.set_force(true);  // no committed point is needed to prove the lookup
  auto job = control_->engine->StartFailover(spec, "admin");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(control_->engine->RunJob(*job).ok());

  // Cached until the application says its connection failed.
  EXPECT_EQ(resolver.Resolve("sales")->active_cluster, "primary");
  resolver.Invalidate("sales");
  auto after = resolver.Resolve("sales");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->active_cluster, "dr");
  EXPECT_EQ(after->epoch, 2u);
  EXPECT_EQ(*resolver.Address("sales", "jdbc"), "jdbc:hive2://dr:10000");
  EXPECT_EQ(resolver.Address("sales", "api").status().code(), Code::kNotFound);
}

TEST_F(EndpointResolverTest, KeepsTheLastAnswerWhenTheControlServiceIsGone) {
  client::EndpointResolver resolver(Options(control_->Token(Role::kViewer)));
  ASSERT_TRUE(resolver.Resolve("sales").ok());
  control_->server->Stop();
  resolver.Invalidate("sales");
  auto stale = resolver.Resolve("sales");
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_TRUE(stale->stale);
  EXPECT_EQ(stale->active_cluster, "primary");
  // Nothing seen before: unavailable, said so.
  auto unknown = resolver.Resolve("hr");
  EXPECT_EQ(unknown.status().code(), Code::kUnavailable);
  EXPECT_NE(unknown.status().message().find("did not answer"), std::string::npos);
}

TEST_F(EndpointResolverTest, NeverGoesBackToAnOlderEpoch) {
  client::EndpointResolver resolver(Options(control_->Token(Role::kViewer)));
  core::v1::SwitchSpec spec;
  spec.add_services("sales");
  spec.set_force(true);
  auto job = control_->engine->StartFailover(spec, "admin");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(control_->engine->RunJob(*job).ok());
  auto seen = resolver.Resolve("sales");
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->epoch, 2u);
  ASSERT_EQ(seen->active_cluster, "dr");

  // The control service now answers with an older view of the roles (as a lagging replica
  // would): epoch 1, primary active. The resolver keeps the newer answer.
  auto roles = control_->engine->Roles("sales");
  ASSERT_TRUE(roles.ok());
  core::v1::ServiceRoles old = *roles;
  old.set_epoch(1);
  old.set_primary_cluster("primary");
  old.set_secondary_cluster("dr");
  core::StateStore::Batch batch;
  batch.PutRaw(core::Kind::kMeta, "roles/sales", old.SerializeAsString());
  ASSERT_TRUE(control_->engine->store().Write(batch, true).ok());
  ASSERT_EQ(control_->engine->Endpoints("sales")->active_cluster(), "primary");

  resolver.Invalidate("sales");
  auto kept = resolver.Resolve("sales");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->active_cluster, "dr");
  EXPECT_EQ(kept->epoch, 2u);
  EXPECT_TRUE(kept->stale);
}

TEST_F(EndpointResolverTest, BadTokensAndUnknownServicesAreClearErrors) {
  client::EndpointResolver no_token(Options(""));
  EXPECT_EQ(no_token.Resolve("sales").status().code(), Code::kUnauthenticated);
  client::EndpointResolver resolver(Options(control_->Token(Role::kViewer)));
  auto unknown = resolver.Resolve("nope");
  EXPECT_EQ(unknown.status().code(), Code::kNotFound);
  EXPECT_NE(unknown.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat
