// What the control tests share: AgentServices over loopback with mutual TLS (the test PKI,
// made once per suite) and the real localfs plugin loaded through the real host, RemoteAgents
// that reach them, a temporary directory per test, and small file helpers.
//
// A test derives from AgentFixture, calls AgentFixture::SetUp() first in its own SetUp, and
// puts its clusters' roots under base_.
#ifndef LIFEBOAT_TESTS_CORE_CONTROL_AGENT_FIXTURE_H_
#define LIFEBOAT_TESTS_CORE_CONTROL_AGENT_FIXTURE_H_

#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/net/server.h>
#include <lifeboat/core/plugin_host.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <lifeboat_test/remove_tree.h>
#include "test_certs.h"

namespace lifeboat::core::control::testing {

inline void WriteFile(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class AgentFixture : public ::testing::Test {
 public:
  static const net::testing::TestPki* Pki() { return pki_; }

 protected:
  static void SetUpTestSuite() {
    auto pki = net::testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = std::move(pki).value().release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-control-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    host_ =
        std::make_unique<PluginHost>(std::vector<std::filesystem::path>{LIFEBOAT_TEST_PLUGIN_DIR});
    for (const auto& r : host_->LoadAll()) ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  }
  void TearDown() override {
    servers_.clear();
    services_.clear();
    lifeboat::test::RemoveTestTree(base_);
  }

  // Starts an agent for `cluster` on a loopback port of the system's choice; returns it.
  uint16_t StartAgent(const v1::Cluster& cluster, AgentServiceOptions options = {}) {
    auto service = std::make_unique<AgentService>(*host_, cluster, std::move(options));
    net::ServerOptions so = AgentServerOptions();
    so.tls = pki_->ServerTls();
    so.node_name = "agent@" + cluster.name();
    auto server = std::make_unique<net::Server>(so);
    EXPECT_TRUE(service->Register(*server).ok());
    auto port = server->Start();
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    services_.push_back(std::move(service));
    servers_.push_back(std::move(server));
    return port.ok() ? *port : 0;
  }

  static RemoteAgentOptions ClientOptions() {
    using namespace std::chrono_literals;
    RemoteAgentOptions o;
    o.tls = pki_->ClientTls();
    o.reconnect_backoff_min = 10ms;
    o.reconnect_backoff_max = 200ms;
    return o;
  }

  // A RemoteAgent for `cluster` whose agent listens on 127.0.0.1:`port`.
  static std::unique_ptr<RemoteAgent> Remote(v1::Cluster cluster, uint16_t port,
                                             RemoteAgentOptions o = ClientOptions()) {
    cluster.mutable_agent()->set_address("127.0.0.1:" + std::to_string(port));
    auto agent = RemoteAgent::Create(std::move(cluster), std::move(o));
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }

  static inline net::testing::TestPki* pki_ = nullptr;
  std::filesystem::path base_;
  std::unique_ptr<PluginHost> host_;
  std::vector<std::unique_ptr<AgentService>> services_;
  std::vector<std::unique_ptr<net::Server>> servers_;  // stopped (destroyed) before services_
};

}  // namespace lifeboat::core::control::testing

#endif  // LIFEBOAT_TESTS_CORE_CONTROL_AGENT_FIXTURE_H_
