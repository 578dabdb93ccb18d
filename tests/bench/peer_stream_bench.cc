// The peer stream on the real agent path (docs/benchmarks.md, "Peer stream"): two
// AgentServices over loopback with mutual TLS (the test PKI) and the real localfs plugin;
// cluster a holds a cut of one file of --mib MiB (default 256) in a directory on tmpfs
// (/dev/shm when it exists, so the disk is not what is measured). In the same run, 3 rounds,
// order alternating, medians:
//   tcp        a plain loopback TCP copy of the same number of bytes (1 MiB buffers; asio::write
//              hands the kernel 64 KiB per send)
//   read x1    agent.v1.Read of the whole file through one connection, as a peer agent calls
//              it (RemoteAgent::Read: plugin pread -> emit_chunk -> TLS channel -> sink)
//   read x2    two reads of half the file each at once, on two connections (what the agent's
//              peer pool does with two files of a transfer at once)
//   transfer   b's localfs transfer of the file through the stream (peer_access: stream):
//              the above plus SHA-256 of every byte and a write to tmpfs, digest check, rename
// Counters: MiB/s of each, `ratio_x1` / `ratio_x2` = read rate / TCP rate (issue 4's target
// >= 0.8 with TLS on), CPU seconds per GiB of each.
// Full run: peer_stream_bench. Smoke (ctest, label bench): --mib=8. For a profiler:
// --only=tcp|x1|x2|transfer runs just that case (3 rounds; the other counters stay 0).
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/net/server.h>
#include <lifeboat/v1/plugin.pb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "tcp_copy.h"
#include "test_certs.h"

namespace {

namespace fs = std::filesystem;
namespace pb = ::lifeboat::v1;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace lifeboat;
using namespace lifeboat::core;
using namespace lifeboat::core::control;

uint64_t g_mib = 256;
std::string g_only;  // empty: every case
constexpr size_t kPiece = 1 << 20;

using lifeboat::bench::CpuSeconds;
using lifeboat::bench::Median;

using lifeboat::bench::PlainTcpCopy;

lifeboat::core::v1::Cluster LocalfsCluster(const std::string& name, const fs::path& root) {
  lifeboat::core::v1::Cluster c;
  c.set_name(name);
  auto* comp = c.add_components();
  comp->set_component("localfs");
  comp->set_config_json("{\"root\": \"" + root.string() +
                        "\", \"peer_access\": \"stream\", \"parallelism\": 2}");
  return c;
}

struct Fixture {
  Fixture() {
    auto made = net::testing::MakeTestPki();
    if (!made.ok()) Die(made.status());
    pki = std::move(made).value();
    const fs::path parent =
        fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (parent / "lifeboat-peer-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) Die(InternalError("mkdtemp failed"));
    base = tmpl;
    fs::create_directories(base / "a" / "data");
    fs::create_directories(base / "b");
    {
      std::ofstream out(base / "a" / "data" / "big.bin", std::ios::binary);
      std::string piece(kPiece, '\0');
      uint64_t x = 0x9E3779B97F4A7C15ull;
      for (uint64_t m = 0; m < g_mib; ++m) {
        for (size_t i = 0; i < kPiece; i += 8) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          std::memcpy(piece.data() + i, &x, 8);
        }
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      }
    }
    host = std::make_unique<PluginHost>(std::vector<fs::path>{LIFEBOAT_PLUGIN_DIR});
    for (const auto& r : host->LoadAll()) {
      if (!r.status.ok()) Die(r.status);
    }
    port_a = Start(LocalfsCluster("a", base / "a"));
    port_b = Start(LocalfsCluster("b", base / "b"));
    for (int i = 0; i < 2; ++i) a.push_back(Remote("a", port_a));
    b = Remote("b", port_b);
    pb::CutRequest cut;
    cut.set_op_id("cut-rp1");
    cut.mutable_data_set()->set_component("localfs");
    cut.mutable_data_set()->set_selector("/data");
    cut.set_restore_point_id("rp1");
    auto c = a[0]->Invoke<LB_OP_CUT>("localfs", cut);
    if (!c.ok()) Die(c.status());
    snapshot = c->snapshot();
    auto config = a[0]->PeerConfig("localfs");
    if (!config.ok()) Die(config.status());
    *peer.mutable_config() = *config;
    routed.routes["a"] = PeerRoute{"127.0.0.1:" + std::to_string(port_a), "", ""};
  }
  ~Fixture() {
    a.clear();
    b.reset();
    servers.clear();
    services.clear();
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  [[noreturn]] static void Die(const Status& s) {
    std::cerr << "peer_stream_bench: " << s.ToString() << "\n";
    std::exit(1);
  }
  uint16_t Start(const lifeboat::core::v1::Cluster& cluster) {
    AgentServiceOptions o;
    o.peer_tls = pki->ClientTls();
    auto service = std::make_unique<AgentService>(*host, cluster, o);
    net::ServerOptions so = AgentServerOptions();
    so.tls = pki->ServerTls();
    auto server = std::make_unique<net::Server>(so);
    if (Status s = service->Register(*server); !s.ok()) Die(s);
    auto port = server->Start();
    if (!port.ok()) Die(port.status());
    services.push_back(std::move(service));
    servers.push_back(std::move(server));
    return *port;
  }
  std::unique_ptr<RemoteAgent> Remote(const std::string& name, uint16_t port) {
    lifeboat::core::v1::Cluster c;
    c.set_name(name);
    c.mutable_agent()->set_address("127.0.0.1:" + std::to_string(port));
    RemoteAgentOptions o;
    o.tls = pki->ClientTls();
    auto r = RemoteAgent::Create(c, o);
    if (!r.ok()) Die(r.status());
    return std::move(r).value();
  }
  // Seconds to read [offset, offset+length) of the file through connection `i`.
  double Read(size_t i, uint64_t offset, uint64_t length) {
    pb::ReadRequest req;
    *req.mutable_snapshot() = snapshot;
    req.set_item("tree/big.bin");
    req.set_offset(offset);
    req.set_length(length);
    uint64_t got = 0;
    const auto start = Clock::now();
    Status s = a[i]->Read("localfs", req.SerializeAsString(),
                          [&](std::string_view chunk) {
                            got += chunk.size();
                            return OkStatus();
                          },
                          {});
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!s.ok()) std::cerr << "peer_stream_bench: " << s.ToString() << "\n";
    return s.ok() && got == length ? seconds : -1;
  }
  // Seconds for b to plan and transfer rp1 through the stream (a fresh staging each time).
  double Transfer(int round) {
    fs::remove_all(base / "b" / ".lifeboat");
    pb::PlanTransferRequest plan;
    plan.set_op_id("plan-" + std::to_string(round));
    *plan.mutable_source() = peer;
    *plan.mutable_snapshot() = snapshot;
    const auto start = Clock::now();
    auto p = b->Invoke<LB_OP_PLAN_TRANSFER>("localfs", plan, routed);
    if (!p.ok()) Die(p.status());
    for (const auto& t : p->tasks()) {
      pb::TransferRequest req;
      req.set_op_id("transfer-" + std::to_string(round) + "-" + t.task_id());
      *req.mutable_source() = peer;
      *req.mutable_snapshot() = snapshot;
      *req.mutable_task() = t;
      auto r = b->Invoke<LB_OP_TRANSFER>("localfs", req, routed);
      if (!r.ok()) Die(r.status());
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  std::unique_ptr<net::testing::TestPki> pki;
  fs::path base;
  std::unique_ptr<PluginHost> host;
  std::vector<std::unique_ptr<AgentService>> services;
  std::vector<std::unique_ptr<net::Server>> servers;
  uint16_t port_a = 0, port_b = 0;
  std::vector<std::unique_ptr<RemoteAgent>> a;
  std::unique_ptr<RemoteAgent> b;
  pb::SnapshotRef snapshot;
  pb::Peer peer;
  CallOptions routed;  // the route to a's agent, as the engine gives it
};

void BM_PeerStream(benchmark::State& state) {
  Fixture f;
  const uint64_t bytes = g_mib << 20;
  const double mib = static_cast<double>(g_mib);
  if (f.Read(0, 0, 1 << 20) < 0 || f.Read(1, 0, 1 << 20) < 0) {
    state.SkipWithError("warm-up read failed");
    return;
  }
  std::vector<double> tcp, x1, x2, tr, tcp_cpu, x1_cpu, x2_cpu, tr_cpu;
  auto timed = [](auto&& run, std::vector<double>& rate, std::vector<double>& cpu, double m) {
    const double c0 = CpuSeconds();
    const double s = run();
    const double c = CpuSeconds() - c0;
    if (s <= 0) return false;
    rate.push_back(m / s);
    cpu.push_back(c * 1024 / m);
    return true;
  };
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      auto run_tcp = [&] { return PlainTcpCopy(bytes); };
      auto run_x1 = [&] { return f.Read(0, 0, bytes); };
      auto run_x2 = [&] {
        const auto start = Clock::now();
        double r0 = 0, r1 = 0;
        std::thread other([&] { r1 = f.Read(1, bytes / 2, bytes - bytes / 2); });
        r0 = f.Read(0, 0, bytes / 2);
        other.join();
        if (r0 < 0 || r1 < 0) return -1.0;
        return std::chrono::duration<double>(Clock::now() - start).count();
      };
      bool ok = true;
      if (!g_only.empty()) {
        if (g_only == "tcp") ok = timed(run_tcp, tcp, tcp_cpu, mib);
        if (g_only == "x1") ok = timed(run_x1, x1, x1_cpu, mib);
        if (g_only == "x2") ok = timed(run_x2, x2, x2_cpu, mib);
        if (g_only == "transfer") ok = timed([&] { return f.Transfer(round); }, tr, tr_cpu, mib);
        if (!ok) {
          state.SkipWithError("a copy failed");
          return;
        }
        continue;
      }
      if (round % 2 == 0) {
        ok = timed(run_tcp, tcp, tcp_cpu, mib) && timed(run_x1, x1, x1_cpu, mib) &&
             timed(run_x2, x2, x2_cpu, mib);
      } else {
        ok = timed(run_x2, x2, x2_cpu, mib) && timed(run_x1, x1, x1_cpu, mib) &&
             timed(run_tcp, tcp, tcp_cpu, mib);
      }
      ok = ok && timed([&] { return f.Transfer(round); }, tr, tr_cpu, mib);
      if (!ok) {
        state.SkipWithError("a copy failed");
        return;
      }
    }
  }
  auto median = [](const std::vector<double>& v) { return v.empty() ? 0.0 : Median(v); };
  auto ratio = [&](const std::vector<double>& v) {
    return v.empty() || tcp.empty() ? 0.0 : Median(v) / Median(tcp);
  };
  state.counters["MiB"] = mib;
  state.counters["tcp_MiB_s"] = median(tcp);
  state.counters["read_x1_MiB_s"] = median(x1);
  state.counters["read_x2_MiB_s"] = median(x2);
  state.counters["transfer_MiB_s"] = median(tr);
  state.counters["ratio_x1"] = ratio(x1);
  state.counters["ratio_x2"] = ratio(x2);
  state.counters["tcp_cpu_s_GiB"] = median(tcp_cpu);
  state.counters["x1_cpu_s_GiB"] = median(x1_cpu);
  state.counters["x2_cpu_s_GiB"] = median(x2_cpu);
  state.counters["transfer_cpu_s_GiB"] = median(tr_cpu);
}
BENCHMARK(BM_PeerStream)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return lifeboat::bench::RunBenchmarks(
      argc, argv,
      {{"--mib=",
        [](std::string_view v) {
          g_mib = std::max<uint64_t>(2, std::strtoull(std::string(v).c_str(), nullptr, 10));
          return true;
        }},
       {"--only=", [](std::string_view v) {
          g_only = std::string(v);
          if (g_only == "tcp" || g_only == "x1" || g_only == "x2" || g_only == "transfer") {
            return true;
          }
          std::cerr << "peer_stream_bench: --only takes tcp, x1, x2 or transfer\n";
          return false;
        }}});
}
