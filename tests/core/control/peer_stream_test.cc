// The peer stream (ABI 1.1) end to end in one process: two AgentServices over loopback with
// mutual TLS (the test PKI) and the real localfs plugin with `peer_access: stream`, so that
// cluster b reads cluster a's snapshot through agent.v1.Read although both roots are on this
// host. Covers: a transfer and a restore through the stream (digests checked, resume after a
// cancel), a security sync from the cut's manifest, an item outside the snapshot refused, a reader
// that goes away or cancels mid-stream, a truncated source file, an unreachable peer (UNAVAILABLE
// naming it), and the embedded mode (the engine's in-process peer_read).
#include <acl/libacl.h>
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/engine.h>
#include <lifeboat/core/net/server.h>
#include <lifeboat/core/policy_yaml.h>
#include <lifeboat/v1/plugin.pb.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
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

// 3 MiB that are not all the same byte, so that an offset mistake shows in the digest.
std::string Patterned(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return s;
}

v1::Cluster Cluster(const std::string& name, const fs::path& root, const std::string& access) {
  v1::Cluster c;
  c.set_name(name);
  auto* comp = c.add_components();
  comp->set_component("localfs");
  comp->set_config_json("{\"root\": \"" + root.string() +
                        "\", \"chunk_bytes\": 65536, \"peer_access\": \"" + access + "\"}");
  return c;
}

pb::DataSet Sales() {
  pb::DataSet ds;
  ds.set_component("localfs");
  ds.set_selector("/sales");
  return ds;
}

class PeerStreamTest : public testing::AgentFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(AgentFixture::SetUp());
    WriteFile(base_ / "a" / "sales" / "orders.csv", "id,amount\n1,10\n");
    WriteFile(base_ / "a" / "sales" / "big.bin", Patterned(3 << 20));
    WriteFile(base_ / "a" / "sales" / "sub" / "empty.txt", "");
    fs::create_directories(base_ / "b");
  }

  uint16_t StartAgent(const v1::Cluster& cluster, bool may_connect = true) {
    AgentServiceOptions options;
    // Agents call each other with a client certificate of the same CA. One that may not
    // connect presents an expired certificate: every agent refuses it at the handshake.
    options.peer_tls = may_connect ? pki_->ClientTls() : pki_->ClientTlsWith(pki_->expired_client);
    options.peer_connect_timeout = 2000ms;
    options.push_wait = 3000ms;
    return AgentFixture::StartAgent(cluster, std::move(options));
  }

  // Both agents up, a's data set cut as rp1; the Peer that names a's agent.
  void StartBoth() {
    port_a_ = StartAgent(A());
    port_b_ = StartAgent(B());
    a_ = Remote(A(), port_a_);
    b_ = Remote(B(), port_b_);
    ASSERT_TRUE(a_ && b_);
    pb::CutRequest cut;
    cut.set_op_id("cut-rp1-0");
    *cut.mutable_data_set() = Sales();
    cut.set_restore_point_id("rp1");
    auto made = a_->Invoke<LB_OP_CUT>("localfs", cut);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    snapshot_ = made->snapshot();
    auto config = a_->PeerConfig("localfs");
    ASSERT_TRUE(config.ok());
    *peer_.mutable_config() = *config;
    route_.agent_address = "127.0.0.1:" + std::to_string(port_a_);
    peer_.set_component("localfs");
  }

  // The options the engine gives a call that reads from a: the route to a's agent, by
  // cluster (the Peer in the request names a's configuration only).
  CallOptions Routed(CallOptions opts = {}) const {
    opts.routes["a"] = route_;
    return opts;
  }

  StatusOr<pb::PlanTransferResponse> Plan() {
    pb::PlanTransferRequest req;
    req.set_op_id("plan-rp1-0");
    *req.mutable_source() = peer_;
    *req.mutable_snapshot() = snapshot_;
    return b_->Invoke<LB_OP_PLAN_TRANSFER>("localfs", req, Routed());
  }

  StatusOr<pb::TransferResponse> Transfer(const pb::TransferTask& task, uint64_t bandwidth = 0,
                                          const std::atomic<bool>* cancel = nullptr,
                                          std::atomic<int>* reports = nullptr) {
    pb::TransferRequest req;
    req.set_op_id("transfer-rp1-0-" + task.task_id());
    *req.mutable_source() = peer_;
    *req.mutable_snapshot() = snapshot_;
    *req.mutable_task() = task;
    req.set_bandwidth_bytes_per_second(bandwidth);
    CallOptions opts;
    opts.cancel = cancel;
    opts.on_progress = [reports](const pb::Progress& p) {
      if (reports != nullptr && p.bytes_done() > 0) ++*reports;
    };
    return b_->Invoke<LB_OP_TRANSFER>("localfs", req, Routed(opts));
  }

  // b plans rp1, transfers every task through the stream and commits it.
  void TransferAndCommit() {
    auto plan = Plan();
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    for (const auto& t : plan->tasks()) ASSERT_TRUE(Transfer(t).ok()) << t.task_id();
    pb::CommitRequest commit;
    commit.set_op_id("commit-rp1-0");
    *commit.mutable_snapshot() = snapshot_;
    ASSERT_TRUE(b_->Invoke<LB_OP_COMMIT>("localfs", commit).ok());
  }

  // Reads an item of rp1 from a's agent as a peer agent would (agent.v1.Read).
  Status ReadFromA(const std::string& item, const ByteSink& sink, uint64_t offset = 0,
                   uint64_t length = 0, const std::atomic<bool>* cancel = nullptr) {
    pb::ReadRequest req;
    *req.mutable_snapshot() = snapshot_;
    req.set_item(item);
    req.set_offset(offset);
    req.set_length(length);
    CallOptions opts;
    opts.cancel = cancel;
    return a_->Read("localfs", req.SerializeAsString(), sink, opts);
  }

  v1::Cluster A() const { return Cluster("a", base_ / "a", "path"); }
  v1::Cluster B() const { return Cluster("b", base_ / "b", "stream"); }

  uint16_t port_a_ = 0, port_b_ = 0;
  std::unique_ptr<RemoteAgent> a_, b_;
  pb::SnapshotRef snapshot_;
  pb::Peer peer_;
  PeerRoute route_;  // how b's agent reaches a's
};

TEST_F(PeerStreamTest, ATransferAndARestoreGoAgentToAgentThroughTheStream) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_GT(plan->tasks_size(), 0);
  const uint64_t served_before = servers_[0]->stats().calls_started;
  bool cancelled_once = false;
  for (const auto& t : plan->tasks()) {
    if (t.bytes() >= (3u << 20)) {
      // Slowed down and cancelled once it reported progress: the part stays, and the next
      // run resumes it from its length (a read from that offset), digest and all.
      std::atomic<bool> cancel{false};
      std::atomic<int> reports{0};
      std::thread canceller([&] {
        for (int i = 0; i < 3000 && reports.load() == 0; ++i) std::this_thread::sleep_for(5ms);
        cancel = true;
      });
      auto r = Transfer(t, 512 << 10, &cancel, &reports);
      canceller.join();
      EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
      cancelled_once = true;
    }
    auto r = Transfer(t);
    ASSERT_TRUE(r.ok()) << t.task_id() << ": " << r.status().ToString();
  }
  EXPECT_TRUE(cancelled_once);
  EXPECT_GT(servers_[0]->stats().calls_started, served_before + 2)
      << "a's agent served the reads (agent.v1.Read)";

  pb::VerifyRequest verify;
  verify.set_op_id("verify-rp1-0");
  *verify.mutable_snapshot() = snapshot_;
  verify.set_level(pb::VERIFY_DIGEST);
  auto verified = b_->Invoke<LB_OP_VERIFY>("localfs", verify);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->ok());
  pb::CommitRequest commit;
  commit.set_op_id("commit-rp1-0");
  *commit.mutable_snapshot() = snapshot_;
  ASSERT_TRUE(b_->Invoke<LB_OP_COMMIT>("localfs", commit).ok());

  // Back to a from b's point, through the stream the other way (a reads b's point).
  fs::remove_all(base_ / "a" / "sales");
  WriteFile(base_ / "a" / "sales" / "extra.txt", "not in the point\n");
  auto config_b = b_->PeerConfig("localfs");
  ASSERT_TRUE(config_b.ok());
  pb::RestoreRequest restore;
  restore.set_op_id("restore-1");
  *restore.mutable_data_set() = Sales();
  restore.set_restore_point_id("rp1");
  *restore.mutable_source()->mutable_config() = *config_b;
  restore.set_overwrite(true);  // extra.txt is to go, as agreed
  CallOptions to_b;
  to_b.routes["b"] = PeerRoute{"127.0.0.1:" + std::to_string(port_b_), "", ""};
  // a's own config reads peers by path; the restore must still work: b's root is here.
  auto restored = a_->Invoke<LB_OP_RESTORE>("localfs", restore, to_b);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(ReadFile(base_ / "a" / "sales" / "orders.csv"), "id,amount\n1,10\n");
  EXPECT_EQ(ReadFile(base_ / "a" / "sales" / "big.bin"), Patterned(3 << 20));
  EXPECT_FALSE(fs::exists(base_ / "a" / "sales" / "extra.txt"));

  // And b restores its own point into a new place on b, unaffected.
  pb::RestoreRequest local;
  local.set_op_id("restore-2");
  *local.mutable_data_set() = Sales();
  local.set_restore_point_id("rp1");
  local.set_destination("/copy");
  ASSERT_TRUE(b_->Invoke<LB_OP_RESTORE>("localfs", local).ok());
  // Below the destination, at the data set's own selector.
  EXPECT_EQ(ReadFile(base_ / "b" / "copy" / "sales" / "big.bin"), Patterned(3 << 20));
}

TEST_F(PeerStreamTest, ARestoreOfAPeersPointReadsItThroughTheStream) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  // b commits rp1 (through the stream), then c — a third cluster whose config forces the
  // stream — restores from b's point: the "point" and "point/<path>" items.
  ASSERT_NO_FATAL_FAILURE(TransferAndCommit());
  fs::create_directories(base_ / "c");
  const v1::Cluster c_cluster = Cluster("c", base_ / "c", "stream");
  auto c = Remote(c_cluster, StartAgent(c_cluster));
  ASSERT_NE(c, nullptr);
  pb::RestoreRequest restore;
  restore.set_op_id("restore-c");
  *restore.mutable_data_set() = Sales();
  restore.set_restore_point_id("rp1");
  *restore.mutable_source()->mutable_config() = *b_->PeerConfig("localfs");
  // As an engine from before CallRequest.routes named the peer: its route inside the Peer.
  // c's agent still follows it.
  restore.mutable_source()->set_agent_address("127.0.0.1:" + std::to_string(port_b_));
  auto restored = c->Invoke<LB_OP_RESTORE>("localfs", restore);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(ReadFile(base_ / "c" / "sales" / "big.bin"), Patterned(3 << 20));
  EXPECT_EQ(restored->bytes_written(), (3u << 20) + 15u);
  // A point b does not hold: NOT_FOUND from b, through the stream.
  restore.set_op_id("restore-c-2");
  restore.set_restore_point_id("rp9");
  EXPECT_EQ(c->Invoke<LB_OP_RESTORE>("localfs", restore).status().code(), Code::kNotFound);
}

// The ACL of `type` on `path` in libacl's short form with numeric ids.
std::string AclText(const fs::path& path, acl_type_t type) {
  acl_t acl = ::acl_get_file(path.c_str(), type);
  if (acl == nullptr) return "error";
  char* text = ::acl_to_any_text(acl, nullptr, ',', TEXT_ABBREVIATE | TEXT_NUMERIC_IDS);
  std::string out = text == nullptr ? "error" : text;
  ::acl_free(text);
  ::acl_free(acl);
  return out;
}

// The live data set's owners, modes and ACLs are no item of the stream, so a target that
// reads its source through the stream could not sync them (UNIMPLEMENTED). It now takes them
// from the cut's manifest, with the ids named as the source's host names them.
TEST_F(PeerStreamTest, SecuritySyncsFromTheCutsManifestThroughTheStream) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing owners needs root";
  const fs::path a_orders = base_ / "a" / "sales" / "orders.csv";
  ASSERT_EQ(::lchown(a_orders.c_str(), 2, 2), 0);  // bin:bin
  ASSERT_EQ(::chmod(a_orders.c_str(), 0640), 0);
  acl_t acl = ::acl_from_text("u::rwx,u:daemon:r-x,g::r-x,m::r-x,o::---");
  ASSERT_NE(acl, nullptr);
  ASSERT_EQ(::acl_set_file((base_ / "a" / "sales" / "sub").c_str(), ACL_TYPE_ACCESS, acl), 0);
  ::acl_free(acl);
  ASSERT_NO_FATAL_FAILURE(StartBoth());  // the cut records them
  ASSERT_NO_FATAL_FAILURE(TransferAndCommit());
  pb::RestoreRequest restore;  // b's live copy
  restore.set_op_id("restore-live");
  *restore.mutable_data_set() = Sales();
  restore.set_restore_point_id("rp1");
  ASSERT_TRUE(b_->Invoke<LB_OP_RESTORE>("localfs", restore).ok());
  // b's copy drifts.
  const fs::path b_orders = base_ / "b" / "sales" / "orders.csv";
  const fs::path b_sub = base_ / "b" / "sales" / "sub";
  ASSERT_EQ(::lchown(b_orders.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(b_orders.c_str(), 0666), 0);
  ASSERT_EQ(::acl_delete_def_file(b_sub.c_str()), 0);
  acl = ::acl_from_text("u::rwx,g::r-x,o::r-x");
  ASSERT_EQ(::acl_set_file(b_sub.c_str(), ACL_TYPE_ACCESS, acl), 0);
  ::acl_free(acl);

  pb::SyncSecurityRequest sync;
  sync.set_op_id("security-1");
  *sync.mutable_source() = peer_;
  *sync.mutable_data_set() = Sales();
  (*sync.mutable_user_map())["bin"] = "daemon";  // b knows "bin" as "daemon"
  // Without a cut to read, the stream has nothing to offer: a clear refusal.
  auto refused = b_->Invoke<LB_OP_SYNC_SECURITY>("localfs", sync, Routed());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("snapshot"), std::string::npos);

  *sync.mutable_snapshot() = snapshot_;
  auto synced = b_->Invoke<LB_OP_SYNC_SECURITY>("localfs", sync, Routed());
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  struct stat st {};
  ASSERT_EQ(::lstat(b_orders.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1u) << "bin on a is daemon on b";
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(AclText(b_sub, ACL_TYPE_ACCESS), "u::rwx,u:1:r-x,g::r-x,m::r-x,o::---");
  std::string changes;
  for (const auto& c : synced->changes()) changes += c + "\n";
  EXPECT_NE(changes.find("update orders.csv: owner root -> daemon"), std::string::npos) << changes;
}

TEST_F(PeerStreamTest, ServesOnlyItemsOfTheSnapshot) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  std::string got;
  auto collect = [&](std::string_view chunk) {
    got.append(chunk);
    return OkStatus();
  };
  ASSERT_TRUE(ReadFromA("tree/orders.csv", collect).ok());
  EXPECT_EQ(got, "id,amount\n1,10\n");
  got.clear();
  ASSERT_TRUE(ReadFromA("tree/big.bin", collect, 1000, 5000).ok());
  EXPECT_EQ(got, Patterned(3 << 20).substr(1000, 5000));
  got.clear();
  ASSERT_TRUE(ReadFromA("cut", collect).ok());
  pb::CutResponse cut;
  ASSERT_TRUE(cut.ParseFromString(got));
  EXPECT_EQ(cut.snapshot().cut_op_id(), snapshot_.cut_op_id());

  // Live data, other paths, escapes, directories and unknown item kinds are refused.
  WriteFile(base_ / "a" / "sales" / "later.txt", "written after the cut\n");
  for (const std::string item : {"tree/later.txt", "tree/../../../../etc/passwd", "tree/sub",
                                 "tree//orders.csv", "../cut.pb", "live/orders.csv", ""}) {
    Status s = ReadFromA(item, collect);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << item << ": " << s.ToString();
  }
  // A snapshot a does not hold, and an offset past the end.
  pb::SnapshotRef saved = snapshot_;
  snapshot_.set_restore_point_id("rp-none");
  EXPECT_EQ(ReadFromA("tree/orders.csv", collect).code(), Code::kNotFound);
  EXPECT_EQ(ReadFromA("cut", collect).code(), Code::kNotFound);
  snapshot_ = saved;
  EXPECT_EQ(ReadFromA("tree/orders.csv", collect, 1000).code(), Code::kOutOfRange);
  // A cut of the same point made by another operation: ABORTED, cut again.
  snapshot_.set_cut_op_id("some-other-cut");
  EXPECT_EQ(ReadFromA("tree/orders.csv", collect).code(), Code::kAborted);
  snapshot_ = saved;
  // Plugin operation read is a stream: agent.v1.Call refuses it.
  pb::ReadRequest rr;
  *rr.mutable_snapshot() = snapshot_;
  rr.set_item("cut");
  std::string out;
  EXPECT_EQ(a_->Call("localfs", LB_OP_READ, rr.SerializeAsString(), &out, {}).code(),
            Code::kInvalidArgument);
}

TEST_F(PeerStreamTest, AReaderThatGoesAwayOrCancelsStopsTheStream) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  // The sink refuses after the first chunk (the reader is gone): that status comes back, and
  // the agent serves the next read as usual.
  int chunks = 0;
  Status gone = ReadFromA("tree/big.bin", [&](std::string_view) -> Status {
    ++chunks;
    return Status(Code::kAborted, "reader gone");
  });
  EXPECT_EQ(gone.code(), Code::kAborted) << gone.ToString();
  EXPECT_EQ(chunks, 1);
  // Cancelled mid-stream by the caller's flag.
  std::atomic<bool> cancel{false};
  uint64_t got = 0;
  Status cancelled = ReadFromA(
      "tree/big.bin",
      [&](std::string_view chunk) {
        got += chunk.size();
        cancel = true;
        return OkStatus();
      },
      0, 0, &cancel);
  EXPECT_EQ(cancelled.code(), Code::kCancelled) << cancelled.ToString();
  EXPECT_LT(got, 3u << 20);
  std::string whole;
  ASSERT_TRUE(ReadFromA("tree/big.bin", [&](std::string_view c) {
                whole.append(c);
                return OkStatus();
              }).ok());
  EXPECT_EQ(whole, Patterned(3 << 20));
}

TEST_F(PeerStreamTest, ATruncatedSourceFileFailsTheTransferWithoutAFalseCopy) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // The snapshot's copy shrinks after the cut (a hard link of the live file, truncated): the
  // stream ends early, and the transfer says the source changed — nothing lands under the
  // file's name.
  fs::resize_file(base_ / "a" / "sales" / "big.bin", 1 << 20);
  bool seen = false;
  for (const auto& t : plan->tasks()) {
    auto r = Transfer(t);
    if (t.bytes() >= (3u << 20)) {
      seen = true;
      EXPECT_EQ(r.status().code(), Code::kAborted) << r.status().ToString();
      EXPECT_NE(r.status().message().find("changed on the source"), std::string::npos)
          << r.status().ToString();
    }
  }
  EXPECT_TRUE(seen);
  bool landed = false;
  for (const auto& e : fs::recursive_directory_iterator(base_ / "b")) {
    if (e.path().filename() == "big.bin") landed = true;
  }
  EXPECT_FALSE(landed);
}

TEST_F(PeerStreamTest, AnUnreachablePeerIsUnavailableNamingIt) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  // A port nobody listens on: bind one, note it, close it.
  net::ServerOptions so;
  so.tls.enabled = false;
  uint16_t dead = 0;
  {
    net::Server s(so);
    auto p = s.Start();
    ASSERT_TRUE(p.ok());
    dead = *p;
  }
  route_.agent_address = "127.0.0.1:" + std::to_string(dead);
  auto plan = Plan();
  ASSERT_EQ(plan.status().code(), Code::kUnavailable) << plan.status().ToString();
  const std::string m = plan.status().message();
  EXPECT_NE(m.find("cluster a"), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(dead)), std::string::npos) << m;
  // No address at all: UNAVAILABLE saying what to configure.
  route_.agent_address.clear();
  plan = Plan();
  EXPECT_EQ(plan.status().code(), Code::kUnavailable) << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("agent: {address"), std::string::npos);
}

TEST_F(PeerStreamTest, TheEmbeddedModeReadsThePeerInProcess) {
  // No agents: the engine's peer_read runs a's plugin in this process. b forces the stream.
  EngineOptions o;
  o.state_dir = base_ / "state";
  o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
  o.first_backoff_millis = 1;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::string yaml =
      "kind: Cluster\nname: a\ncomponents: [{component: localfs, config: {root: \"" +
      (base_ / "a").string() +
      "\"}}]\n---\nkind: Cluster\nname: b\ncomponents: [{component: localfs, config: {root: \"" +
      (base_ / "b").string() +
      "\", peer_access: stream}}]\n---\nkind: Service\nname: sales\nprimary: a\nsecondary: b\n"
      "data_sets: [localfs:/sales]\n---\nkind: Policy\nname: sales-daily\nservice: sales\n"
      "schedule: {cron: \"0 3 * * *\"}\nrpo: 1d\nretention: {keep: 3}\n";
  auto docs = ParseYaml(yaml, "embedded.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_TRUE((*engine)->Apply(*docs, "test").ok());
  auto id = (*engine)->StartBackup("sales-daily", "manual", "test");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Status run = (*engine)->RunJob(*id);
  ASSERT_TRUE(run.ok()) << run.ToString();
  auto job = (*engine)->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->bytes_done(), (3u << 20) + 15u);
  // The point's files are a's.
  const fs::path points = base_ / "b" / ".lifeboat" / "points" / "%2Fsales";
  EXPECT_EQ(ReadFile(points / job->restore_point_id() / "tree" / "big.bin"), Patterned(3 << 20));
}

TEST_F(PeerStreamTest, PushModeServesTheReadersReadsOverAConnectionTheSourceOpens) {
  // b cannot open connections to anyone (its peer certificate is refused); a can reach b.
  port_a_ = StartAgent(A());
  port_b_ = StartAgent(B(), /*may_connect=*/false);
  EngineOptions o;
  o.state_dir = base_ / "state";
  o.first_backoff_millis = 1;
  o.max_attempts = 2;
  RemoteAgentOptions ro;
  ro.tls = pki_->ClientTls();
  ro.reconnect_backoff_min = 10ms;
  ro.reconnect_backoff_max = 200ms;
  o.make_agent = MakeAgentFactory(ro);
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto yaml = [&](const std::string& mode) {
    return "kind: Cluster\nname: a\nagent: {address: \"127.0.0.1:" + std::to_string(port_a_) +
           "\"}\ncomponents: [{component: localfs, config: {root: \"" + (base_ / "a").string() +
           "\"}}]\n---\nkind: Cluster\nname: b\nagent: {address: \"127.0.0.1:" +
           std::to_string(port_b_) + "\"}\ncomponents: [{component: localfs, config: {root: \"" +
           (base_ / "b").string() +
           "\", peer_access: stream}}]\n---\nkind: Service\nname: sales\nprimary: a\n"
           "secondary: b\ndata_sets: [localfs:/sales]\n---\nkind: Policy\nname: sales-daily\n"
           "service: sales\nschedule: {cron: \"0 3 * * *\"}\nrpo: 1d\nretention: {keep: 3}\n"
           "transfer: " +
           mode + "\n";
  };
  // Pull: b would have to connect to a, and cannot.
  auto docs = ParseYaml(yaml("pull"), "pull.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_TRUE((*engine)->Apply(*docs, "test").ok());
  auto id = (*engine)->StartBackup("sales-daily", "manual", "test");
  ASSERT_TRUE(id.ok());
  Status pulled = (*engine)->RunJob(*id);
  EXPECT_FALSE(pulled.ok()) << "b reached a although its certificate is refused";
  // Push: a's agent connects to b's and serves b's reads over it.
  docs = ParseYaml(yaml("push"), "push.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_TRUE((*engine)->Apply(*docs, "test").ok());
  id = (*engine)->StartBackup("sales-daily", "manual", "test");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Status pushed = (*engine)->RunJob(*id);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  auto job = (*engine)->GetJob(*id);
  ASSERT_TRUE(job.ok());
  const fs::path points = base_ / "b" / ".lifeboat" / "points" / "%2Fsales";
  EXPECT_EQ(ReadFile(points / job->restore_point_id() / "tree" / "big.bin"), Patterned(3 << 20));
  bool said = false;
  for (const auto& line : job->log()) {
    if (line.find("push mode") != std::string::npos) said = true;
  }
  EXPECT_TRUE(said) << "the job log says the data was pushed";
}

TEST_F(PeerStreamTest, APushReadNobodyServesIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  // A Peer in push mode whose session nobody started: b's read waits push_wait, then fails.
  route_.push_session = "never-started";
  auto plan = Plan();
  EXPECT_EQ(plan.status().code(), Code::kUnavailable) << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("fetched no read"), std::string::npos);
  // Started by hand (as lifeboatd would): the same plan now succeeds.
  route_.push_session = "s1";
  ASSERT_TRUE(a_->StartPush("s1", "b", "127.0.0.1:" + std::to_string(port_b_), "").ok());
  plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& t : plan->tasks()) {
    auto r = Transfer(t);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_TRUE(a_->StopPush("s1").ok());
  EXPECT_TRUE(a_->StopPush("s1").ok()) << "stopping twice is fine";
}

}  // namespace
}  // namespace lifeboat::core::control
