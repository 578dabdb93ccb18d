// RemoteAgent against AgentService over loopback with mutual TLS (the test PKI) and the real
// localfs plugin: every Agent method, a backup driven through the channel (progress, cancel,
// op ids), errors that arrive intact, refusals (wrong cluster, wrong certificate name, a
// caller the agent does not allow), the engine running a job through remote agents, and an
// agent process killed with SIGKILL (UNAVAILABLE at once) and started again (works again).
//
// main() doubles as that agent process: `control_agent_test --agent-child ...`.
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/engine.h>
#include <lifeboat/core/net/server.h>
#include <lifeboat/core/policy_yaml.h>
#include <lifeboat/v1/plugin.pb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "agent_fixture.h"
#include "test_certs.h"

namespace lifeboat::core::control {
namespace {

namespace fs = std::filesystem;
namespace pb = ::lifeboat::v1;
using namespace std::chrono_literals;
using testing::ReadFile;
using testing::WriteFile;

std::string g_self;  // this binary, for the agent child process

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Eventually(const std::function<bool()>& condition, std::chrono::seconds limit = 30s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

v1::Cluster LocalfsCluster(const std::string& name, const fs::path& root) {
  v1::Cluster c;
  c.set_name(name);
  auto* comp = c.add_components();
  comp->set_component("localfs");
  comp->set_config_json("{\"root\": \"" + root.string() + "\", \"chunk_bytes\": 65536}");
  return c;
}

class AgentTest : public testing::AgentFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(AgentFixture::SetUp());
    WriteFile(base_ / "a" / "sales" / "orders.csv", "id,amount\n1,10\n");
    WriteFile(base_ / "a" / "sales" / "big.bin", std::string(4 << 20, 'x'));
    WriteFile(base_ / "a" / "meta" / "schema.json", "{}\n");
    fs::create_directories(base_ / "b");
  }

  v1::Cluster A() const { return LocalfsCluster("a", base_ / "a"); }
  v1::Cluster B() const { return LocalfsCluster("b", base_ / "b"); }
};

pb::DataSet Sales() {
  pb::DataSet ds;
  ds.set_component("localfs");
  ds.set_selector("/sales");
  return ds;
}

// The serving agent encrypted every peer connection on its one I/O thread, so the second
// connection of a peer's pool (AgentServiceOptions::peer_connections) bought no second core
// on the sending side, where the cipher runs.
TEST(AgentServerOptionsTest, EncryptsEachPeerConnectionOfAPoolOnAThreadOfItsOwn) {
  EXPECT_GE(AgentServerOptions().io_threads, AgentServiceOptions().peer_connections);
}

TEST_F(AgentTest, InfoPeerConfigDescribeClockAndProbe) {
  auto remote = Remote(A(), StartAgent(A()));
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->cluster(), "a");

  auto info = remote->Info();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->cluster, "a");
  EXPECT_FALSE(info->agent_version.empty());
  EXPECT_EQ(info->abi_major, static_cast<uint32_t>(LIFEBOAT_ABI_MAJOR));
  ASSERT_EQ(info->components.size(), 1u);
  EXPECT_EQ(info->components[0].component, "localfs");
  EXPECT_EQ(info->components[0].plugin, "localfs");
  EXPECT_FALSE(info->components[0].plugin_version.empty());
  EXPECT_EQ(info->components[0].error, "");
  EXPECT_TRUE(remote->Connected());

  LocalAgent local(*host_, A());
  auto peer = remote->PeerConfig("localfs");
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  EXPECT_EQ(peer->SerializeAsString(), local.PeerConfig("localfs")->SerializeAsString());
  EXPECT_EQ(peer->cluster(), "a");
  EXPECT_NE(peer->config_json().find((base_ / "a").string()), std::string::npos);

  auto d = remote->Describe("localfs");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->name(), "localfs");
  EXPECT_EQ(d->version(), info->components[0].plugin_version);

  // The agent's clock is read between our two readings (one host, one clock).
  const int64_t before = WallNanos();
  auto now = remote->ClockNow();
  const int64_t after = WallNanos();
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_GE(*now, before);
  EXPECT_LE(*now, after);

  auto probe = remote->Invoke<LB_OP_PROBE>("localfs", pb::ProbeRequest{});
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->health(), pb::HEALTHY);
  pb::ResolveRequest resolve;
  resolve.set_selector("/*");
  auto resolved = remote->Invoke<LB_OP_RESOLVE>("localfs", resolve);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  ASSERT_EQ(resolved->data_sets_size(), 2);
  EXPECT_EQ(resolved->data_sets(0).selector(), "/meta");
  EXPECT_EQ(resolved->data_sets(1).selector(), "/sales");
}

TEST_F(AgentTest, ErrorsArriveWithTheirCodeMessageAndSubject) {
  auto remote = Remote(A(), StartAgent(A()));
  ASSERT_NE(remote, nullptr);
  LocalAgent local(*host_, A());
  struct Case {
    std::string component;
    std::string selector;
    Code code;
  };
  for (const Case& c : {Case{"localfs", "/no/such/dir", Code::kNotFound},
                        Case{"localfs", "relative/path", Code::kInvalidArgument},
                        Case{"localfs", "/.lifeboat", Code::kInvalidArgument},
                        Case{"hdfs", "/x", Code::kNotFound}}) {
    pb::ResolveRequest req;
    req.set_selector(c.selector);
    auto want = local.Invoke<LB_OP_RESOLVE>(c.component, req);
    auto got = remote->Invoke<LB_OP_RESOLVE>(c.component, req);
    ASSERT_FALSE(got.ok()) << c.selector;
    EXPECT_EQ(got.status().code(), c.code) << got.status().ToString();
    // Exactly what the plugin (or the in-process agent) said: code, message and subject.
    EXPECT_EQ(got.status(), want.status())
        << "remote: " << got.status().ToString() << "\nlocal:  " << want.status().ToString();
  }
  EXPECT_EQ(remote->Describe("hdfs").status(), local.Describe("hdfs").status());
  EXPECT_EQ(remote->PeerConfig("hdfs").status(), local.PeerConfig("hdfs").status());
  // An operation this build does not know: UNIMPLEMENTED, never retried by the engine.
  std::string out;
  Status unknown = remote->Call("localfs", static_cast<lb_op>(99), "", &out, {});
  EXPECT_EQ(unknown.code(), Code::kUnimplemented) << unknown.ToString();
  EXPECT_NE(unknown.message().find("99"), std::string::npos) << unknown.ToString();
}

TEST_F(AgentTest, ABackupThroughTheChannelWithProgressCancelAndOperationIds) {
  const uint16_t port_a = StartAgent(A());
  const uint16_t port_b = StartAgent(B());
  auto a = Remote(A(), port_a);
  auto b = Remote(B(), port_b);
  ASSERT_TRUE(a && b);

  pb::CutRequest cut;
  cut.set_op_id("cut-rp1-0");
  *cut.mutable_data_set() = Sales();
  cut.set_restore_point_id("rp1");
  auto cut1 = a->Invoke<LB_OP_CUT>("localfs", cut);
  ASSERT_TRUE(cut1.ok()) << cut1.status().ToString();
  // The same operation again is answered from the channel's memory, the same answer.
  const uint64_t dedup = servers_[0]->stats().calls_deduplicated;
  auto cut2 = a->Invoke<LB_OP_CUT>("localfs", cut);
  ASSERT_TRUE(cut2.ok());
  EXPECT_EQ(cut2->SerializeAsString(), cut1->SerializeAsString());
  EXPECT_EQ(servers_[0]->stats().calls_deduplicated, dedup + 1);

  // A refusal is not remembered: once its cause is gone, the same operation succeeds.
  pb::CutRequest meta_cut = cut;
  meta_cut.set_op_id("cut-rp1-1");
  meta_cut.mutable_data_set()->set_selector("/later");
  EXPECT_EQ(a->Invoke<LB_OP_CUT>("localfs", meta_cut).status().code(), Code::kNotFound);
  WriteFile(base_ / "a" / "later" / "x.txt", "x\n");
  auto later = a->Invoke<LB_OP_CUT>("localfs", meta_cut);
  EXPECT_TRUE(later.ok()) << later.status().ToString();

  auto source = a->PeerConfig("localfs");
  ASSERT_TRUE(source.ok());
  pb::PlanTransferRequest plan_req;
  plan_req.set_op_id("plan-rp1-0");
  *plan_req.mutable_source()->mutable_config() = *source;
  *plan_req.mutable_snapshot() = cut1->snapshot();
  auto plan = b->Invoke<LB_OP_PLAN_TRANSFER>("localfs", plan_req);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_GT(plan->tasks_size(), 0);

  auto transfer = [&](const pb::TransferTask& task, uint64_t bandwidth,
                      const std::atomic<bool>* cancel, std::atomic<int>* reports) {
    pb::TransferRequest req;
    req.set_op_id("transfer-rp1-0-" + task.task_id());
    *req.mutable_source()->mutable_config() = *source;
    *req.mutable_snapshot() = cut1->snapshot();
    *req.mutable_task() = task;
    req.set_bandwidth_bytes_per_second(bandwidth);
    CallOptions opts;
    opts.cancel = cancel;
    opts.on_progress = [reports](const pb::Progress& p) {
      if (p.bytes_done() > 0) ++*reports;
    };
    return b->Invoke<LB_OP_TRANSFER>("localfs", req, opts);
  };
  // Tasks in the plan's order. The copy of the big file, slowed down, is first cancelled once
  // it reported progress: the cancel reaches the plugin on the agent, and CANCELLED comes
  // back. Then it runs again at full speed (CANCELLED is not remembered for its op_id).
  uint64_t copied = 0;
  bool cancelled_once = false;
  for (const auto& t : plan->tasks()) {
    if (t.bytes() >= (4u << 20)) {
      std::atomic<bool> cancel{false};
      std::atomic<int> reports{0};
      std::thread canceller([&] {
        Eventually([&] { return reports.load() > 0; });
        cancel = true;
      });
      auto cancelled = transfer(t, 256 << 10, &cancel, &reports);
      canceller.join();
      EXPECT_GT(reports.load(), 0) << "progress of the plugin reached the caller";
      EXPECT_EQ(cancelled.status().code(), Code::kCancelled) << cancelled.status().ToString();
      cancelled_once = true;
    }
    std::atomic<int> n{0};
    auto r = transfer(t, 0, nullptr, &n);
    ASSERT_TRUE(r.ok()) << t.task_id() << ": " << r.status().ToString();
    copied += r->bytes_copied() + r->bytes_skipped();
  }
  EXPECT_TRUE(cancelled_once) << "the plan has no task with the 4 MiB file";
  EXPECT_GT(copied, 0u);
  pb::VerifyRequest verify;
  verify.set_op_id("verify-rp1-0");
  *verify.mutable_snapshot() = cut1->snapshot();
  verify.set_level(pb::VERIFY_DIGEST);
  auto verified = b->Invoke<LB_OP_VERIFY>("localfs", verify);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->ok());
  pb::CommitRequest commit;
  commit.set_op_id("commit-rp1-0");
  *commit.mutable_snapshot() = cut1->snapshot();
  auto committed = b->Invoke<LB_OP_COMMIT>("localfs", commit);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();

  // Restored on b from its own point: the files are a's.
  pb::RestoreRequest restore;
  restore.set_op_id("restore-1");
  *restore.mutable_data_set() = Sales();
  restore.set_restore_point_id("rp1");
  auto restored = b->Invoke<LB_OP_RESTORE>("localfs", restore);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(ReadFile(base_ / "b" / "sales" / "orders.csv"), "id,amount\n1,10\n");
  EXPECT_EQ(fs::file_size(base_ / "b" / "sales" / "big.bin"), 4u << 20);
}

TEST_F(AgentTest, RefusesTheWrongClusterNameAndCaller) {
  const uint16_t port = StartAgent(A());
  // A cluster whose `agent:` points at another cluster's agent.
  auto wrong = Remote(B(), port);
  ASSERT_NE(wrong, nullptr);
  auto clock = wrong->ClockNow();
  EXPECT_EQ(clock.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(clock.status().message().find("serves cluster 'a', not 'b'"), std::string::npos)
      << clock.status().ToString();
  pb::ResolveRequest req;
  req.set_selector("/sales");
  EXPECT_EQ(wrong->Invoke<LB_OP_RESOLVE>("localfs", req).status().code(),
            Code::kFailedPrecondition);

  // The agent's certificate must carry the expected server name.
  v1::Cluster named = A();
  named.mutable_agent()->set_server_name("agent.elsewhere.example");
  auto pinned = Remote(named, port);
  ASSERT_NE(pinned, nullptr);
  auto refused = pinned->ClockNow();
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("hostname mismatch"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("cluster a"), std::string::npos)
      << refused.status().ToString();

  // An agent that takes calls only from "lifeboatd" refuses the test client's certificate.
  AgentServiceOptions only;
  only.allowed_client_names = {"lifeboatd"};
  auto stranger = Remote(A(), StartAgent(A(), only));
  auto denied = stranger->ClockNow();
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied) << denied.status().ToString();
  EXPECT_NE(denied.status().message().find("lifeboat-test-client"), std::string::npos);
}

TEST_F(AgentTest, TheEngineRunsABackupThroughRemoteAgents) {
  const uint16_t port_a = StartAgent(A());
  const uint16_t port_b = StartAgent(B());
  EngineOptions o;
  o.state_dir = base_ / "state";
  // lifeboatd loads no plugin: every cluster is remote.
  o.first_backoff_millis = 1;
  o.make_agent = MakeAgentFactory(ClientOptions());
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::string yaml =
      "kind: Cluster\nname: a\nagent: {address: \"127.0.0.1:" + std::to_string(port_a) +
      "\"}\ncomponents: [{component: localfs, config: {root: \"" + (base_ / "a").string() +
      "\"}}]\n---\nkind: Cluster\nname: b\nagent: {address: \"127.0.0.1:" + std::to_string(port_b) +
      "\"}\ncomponents: [{component: localfs, config: {root: \"" + (base_ / "b").string() +
      "\"}}]\n---\nkind: Service\nname: sales\nprimary: a\nsecondary: b\n"
      "data_sets: [localfs:/sales, localfs:/meta]\n---\nkind: Policy\nname: sales-daily\n"
      "service: sales\nschedule: {cron: \"0 3 * * *\"}\nrpo: 1d\nretention: {keep: 3}\n";
  auto docs = ParseYaml(yaml, "remote.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  auto applied = (*engine)->Apply(*docs, "test");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  // Applying checks data sets through the primary's agent.
  auto bad = ParseYaml(yaml +
                           "---\nkind: Service\nname: other\nprimary: a\nsecondary: b\n"
                           "data_sets: [localfs:/missing]\n",
                       "bad.yaml");
  ASSERT_TRUE(bad.ok());
  auto refused = (*engine)->Apply(*bad, "test");
  EXPECT_EQ(refused.status().code(), Code::kNotFound) << refused.status().ToString();

  auto id = (*engine)->StartBackup("sales-daily", "manual", "test");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Status run = (*engine)->RunJob(*id);
  ASSERT_TRUE(run.ok()) << run.ToString();
  auto job = (*engine)->GetJob(*id);
  ASSERT_TRUE(job.ok());
  auto point = (*engine)->GetRestorePoint("sales", job->restore_point_id());
  ASSERT_TRUE(point.ok());
  EXPECT_EQ(point->state(), v1::RP_COMMITTED);
  ASSERT_EQ(point->clocks_size(), 1) << "the cutting agent's clock was read over the channel";
  EXPECT_EQ(point->clocks(0).cluster(), "a");
  auto health = (*engine)->CheckClusters();
  ASSERT_TRUE(health.ok());
  for (const auto& h : *health) EXPECT_EQ(h.state(), v1::CLUSTER_HEALTHY) << h.cluster();

  // With a's agent gone the health check says so; the engine keeps answering.
  servers_[0]->Stop();
  health = (*engine)->CheckClusters();
  ASSERT_TRUE(health.ok());
  std::map<std::string, v1::ClusterHealthState> states;
  for (const auto& h : *health) states[h.cluster()] = h.state();
  EXPECT_EQ(states["a"], v1::CLUSTER_UNREACHABLE);
  EXPECT_EQ(states["b"], v1::CLUSTER_HEALTHY);
}

// ---- an agent in a process of its own ----------------------------------------------------

// The child: serves cluster "a" (root argv[3]) on 127.0.0.1:<argv[4]> until killed; writes
// the bound port to argv[5] once it listens. TLS files: argv[6..8] (ca, cert, key).
int AgentChild(char** argv) {
  PluginHost host({argv[2]});
  host.LoadAll();
  AgentService service(host, LocalfsCluster("a", argv[3]));
  net::ServerOptions so = AgentServerOptions();
  so.port = static_cast<uint16_t>(std::stoi(argv[4]));
  so.tls.ca_file = argv[6];
  so.tls.cert_file = argv[7];
  so.tls.key_file = argv[8];
  net::Server server(so);
  if (!service.Register(server).ok()) return 2;
  auto port = server.Start();
  if (!port.ok()) {
    std::fprintf(stderr, "agent child: %s\n", port.status().ToString().c_str());
    return 3;
  }
  const std::string tmp = std::string(argv[5]) + ".tmp";
  std::ofstream(tmp) << *port;
  std::rename(tmp.c_str(), argv[5]);
  for (;;) ::pause();
}

class AgentProcess {
 public:
  AgentProcess(const fs::path& root, const fs::path& port_file, uint16_t port)
      : port_file_(port_file) {
    fs::remove(port_file_);
    const std::string port_arg = std::to_string(port);
    pid_ = ::fork();
    if (pid_ == 0) {
      auto* pki = AgentTest::Pki();
      ::execl(g_self.c_str(), g_self.c_str(), "--agent-child", LIFEBOAT_TEST_PLUGIN_DIR,
              root.c_str(), port_arg.c_str(), port_file_.c_str(), pki->ca_file.c_str(),
              pki->server.cert_file.c_str(), pki->server.key_file.c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~AgentProcess() { Kill(); }
  // The port, once the child listens; 0 when it did not come up.
  uint16_t WaitForPort() {
    if (!Eventually([&] { return fs::exists(port_file_); })) return 0;
    return static_cast<uint16_t>(std::stoi(ReadFile(port_file_)));
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  fs::path port_file_;
  pid_t pid_ = -1;
};

TEST_F(AgentTest, AKilledAgentIsUnavailableAtOnceAndWorksAgainAfterARestart) {
  auto first = std::make_unique<AgentProcess>(base_ / "a", base_ / "port", 0);
  const uint16_t port = first->WaitForPort();
  ASSERT_NE(port, 0);
  RemoteAgentOptions o = ClientOptions();
  // Far longer than the test may take: a call that waited for it would fail the test.
  o.short_deadline = 120s;
  o.probe_deadline = 120s;
  auto remote = Remote(A(), port, o);
  ASSERT_NE(remote, nullptr);
  ASSERT_TRUE(remote->ClockNow().ok());
  ASSERT_TRUE(remote->Connected());

  first->Kill();
  // The kernel closes the dead process's connection: the calls fail UNAVAILABLE, not at their
  // deadline, naming the cluster.
  auto clock = remote->ClockNow();
  EXPECT_EQ(clock.status().code(), Code::kUnavailable) << clock.status().ToString();
  EXPECT_NE(clock.status().message().find("agent of cluster a"), std::string::npos)
      << clock.status().ToString();
  auto probe = remote->Invoke<LB_OP_PROBE>("localfs", pb::ProbeRequest{});
  EXPECT_EQ(probe.status().code(), Code::kUnavailable) << probe.status().ToString();
  EXPECT_FALSE(remote->Connected());

  // Started again on the same port: the client reconnects by itself.
  AgentProcess second(base_ / "a", base_ / "port", port);
  ASSERT_EQ(second.WaitForPort(), port);
  EXPECT_TRUE(Eventually([&] { return remote->ClockNow().ok(); }));
  probe = remote->Invoke<LB_OP_PROBE>("localfs", pb::ProbeRequest{});
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->health(), pb::HEALTHY);
}

}  // namespace
}  // namespace lifeboat::core::control

int main(int argc, char** argv) {
  std::error_code ec;
  lifeboat::core::control::g_self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) lifeboat::core::control::g_self = argv[0];
  if (argc == 9 && std::string(argv[1]) == "--agent-child") {
    return lifeboat::core::control::AgentChild(argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
