// The agent channel (lifeboat_net) over loopback, mutual TLS on:
//   BM_SmallCall      round trip of a 64-byte instruction and its 64-byte answer; with 1, 4
//                     and 16 caller threads multiplexed on one connection (rate = items/s).
//   BM_BulkStream     a Fetch of --bulk_mib MiB (default 256) through the channel over TLS,
//                     against a plain loopback TCP copy of the same bytes (one writer thread,
//                     one reader, 1 MiB buffers; asio::write hands the kernel 64 KiB per
//                     send) in the same run: 3 rounds, order
//                     alternating, medians. Counter `ratio` = TLS channel rate / TCP rate
//                     (target >= 0.8). `plain_channel_MiB_s` is the channel without TLS, to
//                     tell the protocol's cost from the cipher's.
// Full run: channel_bench. Smoke (ctest, label bench): --bulk_mib=16 --benchmark_min_time=0.01.
#include <lifeboat/core/net/client.h>
#include <lifeboat/core/net/server.h>

#include "bench_util.h"
#include "tcp_copy.h"
#include "test_certs.h"

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

namespace {

namespace net = lifeboat::core::net;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

uint64_t g_bulk_mib = 256;
constexpr size_t kPiece = 1 << 20;

using lifeboat::bench::Piece;  // the bytes every bulk run moves, sent over and over

// A server (TLS or plain) with bench.Echo and the stream bench.Blob, and a client of it.
struct Channel {
  explicit Channel(const net::testing::TestPki* pki) {
    net::ServerOptions so;
    so.node_name = "bench-agent";
    if (pki != nullptr) {
      so.tls = pki->ServerTls();
    } else {
      so.tls.enabled = false;
    }
    server = std::make_unique<net::Server>(so);
    (void)server->Register(
        "bench.Echo",
        [](net::CallContext&, const std::string& req) -> lifeboat::StatusOr<std::string> {
          return req;
        });
    (void)server->RegisterStream(
        "bench.Blob",
        [](net::CallContext&, const std::string& req, net::StreamWriter& out) -> lifeboat::Status {
          uint64_t left = std::strtoull(req.c_str(), nullptr, 10);
          while (left > 0) {
            const size_t n = std::min<uint64_t>(left, kPiece);
            LIFEBOAT_RETURN_IF_ERROR(out.Write(std::string_view(Piece()).substr(0, n)));
            left -= n;
          }
          return lifeboat::OkStatus();
        });
    auto port = server->Start();
    if (!port.ok()) {
      std::cerr << "channel_bench: " << port.status().ToString() << "\n";
      std::exit(1);
    }
    net::ClientOptions co;
    co.port = *port;
    co.node_name = "bench-control";
    if (pki != nullptr) {
      co.tls = pki->ClientTls();
    } else {
      co.tls.enabled = false;
    }
    client = std::make_unique<net::Client>(co);
  }
  std::unique_ptr<net::Server> server;
  std::unique_ptr<net::Client> client;
};

struct Fixture {
  Fixture() {
    auto made = net::testing::MakeTestPki();
    if (!made.ok()) {
      std::cerr << "channel_bench: " << made.status().ToString() << "\n";
      std::exit(1);
    }
    pki = std::move(made).value();
    tls = std::make_unique<Channel>(pki.get());
    plain = std::make_unique<Channel>(nullptr);
  }
  std::unique_ptr<net::testing::TestPki> pki;
  std::unique_ptr<Channel> tls;
  std::unique_ptr<Channel> plain;
};

// Never destroyed (its servers' threads would outlive it at exit); main removes its
// certificates' directory, which the fixture's TestPki would have removed.
Fixture* g_fixture = nullptr;

Fixture& F() {
  static Fixture* f = g_fixture = new Fixture();
  return *f;
}

void BM_SmallCall(benchmark::State& state) {
  net::Client& client = *F().tls->client;
  const std::string request(64, 'i');
  for (auto _ : state) {
    auto r = client.Call("bench.Echo", request);
    if (!r.ok() || r->size() != request.size()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SmallCall)->UseRealTime();
BENCHMARK(BM_SmallCall)->Threads(4)->UseRealTime();
BENCHMARK(BM_SmallCall)->Threads(16)->UseRealTime();

using lifeboat::bench::PlainTcpCopy;  // the peer: a plain loopback TCP copy

// Seconds to Fetch `bytes` through the channel.
double ChannelFetch(net::Client& client, uint64_t bytes) {
  uint64_t got = 0;
  net::CallOptions opts;
  opts.deadline = std::chrono::minutes(10);
  const auto start = Clock::now();
  lifeboat::Status s = client.Fetch(
      "bench.Blob", std::to_string(bytes),
      [&](std::string_view chunk) {
        got += chunk.size();
        return lifeboat::OkStatus();
      },
      opts);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!s.ok()) std::cerr << "channel_bench: " << s.ToString() << "\n";
  return s.ok() && got == bytes ? seconds : -1;
}

// Runs `copy` and returns {seconds of wall time, CPU seconds}.
template <typename F>
std::pair<double, double> Timed(F&& copy) {
  const double cpu = lifeboat::bench::CpuSeconds();
  const double wall = copy();
  return {wall, lifeboat::bench::CpuSeconds() - cpu};
}

using lifeboat::bench::Median;

void BM_BulkStream(benchmark::State& state) {
  const uint64_t bytes = g_bulk_mib << 20;
  const double mib = static_cast<double>(g_bulk_mib);
  // Warm up both connections (handshakes, buffers) outside the measurement.
  if (ChannelFetch(*F().tls->client, 1 << 20) < 0 ||
      ChannelFetch(*F().plain->client, 1 << 20) < 0) {
    state.SkipWithError("warm-up fetch failed");
    return;
  }
  std::vector<double> tcp, tls, plain, tcp_cpu, tls_cpu, plain_cpu;
  auto run_tcp = [&] { return Timed([&] { return PlainTcpCopy(bytes); }); };
  auto run_tls = [&] { return Timed([&] { return ChannelFetch(*F().tls->client, bytes); }); };
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      std::pair<double, double> t_tcp, t_tls;
      if (round % 2 == 0) {
        t_tcp = run_tcp();
        t_tls = run_tls();
      } else {
        t_tls = run_tls();
        t_tcp = run_tcp();
      }
      const auto t_plain = Timed([&] { return ChannelFetch(*F().plain->client, bytes); });
      if (t_tcp.first <= 0 || t_tls.first <= 0 || t_plain.first <= 0) {
        state.SkipWithError("a bulk copy failed");
        return;
      }
      tcp.push_back(mib / t_tcp.first);
      tls.push_back(mib / t_tls.first);
      plain.push_back(mib / t_plain.first);
      // CPU seconds per GiB moved: how much work each way costs, whatever else runs.
      tcp_cpu.push_back(t_tcp.second * 1024 / mib);
      tls_cpu.push_back(t_tls.second * 1024 / mib);
      plain_cpu.push_back(t_plain.second * 1024 / mib);
    }
  }
  const double tcp_rate = Median(tcp);
  const double tls_rate = Median(tls);
  state.counters["MiB"] = mib;
  state.counters["tcp_MiB_s"] = tcp_rate;
  state.counters["tls_channel_MiB_s"] = tls_rate;
  state.counters["plain_channel_MiB_s"] = Median(plain);
  state.counters["ratio"] = tls_rate / tcp_rate;
  state.counters["tcp_cpu_s_GiB"] = Median(tcp_cpu);
  state.counters["tls_cpu_s_GiB"] = Median(tls_cpu);
  state.counters["plain_cpu_s_GiB"] = Median(plain_cpu);
}
BENCHMARK(BM_BulkStream)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  const int rc = lifeboat::bench::RunBenchmarks(
      argc, argv, {{"--bulk_mib=", [](std::string_view v) {
                      g_bulk_mib =
                          std::max<uint64_t>(1, std::strtoull(std::string(v).c_str(), nullptr, 10));
                      return true;
                    }}});
  if (g_fixture != nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(g_fixture->pki->dir(), ignored);
  }
  return rc;
}
