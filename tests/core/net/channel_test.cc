// The channel end to end over loopback with mutual TLS: calls, concurrency, progress, bulk
// streams with flow control, deadlines, cancellation, idempotent operations, heartbeats and
// reconnection.
#include <lifeboat/core/net/client.h>
#include <lifeboat/core/net/server.h>

#include "net_test_util.h"
#include "test_certs.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <thread>
#include <vector>

namespace lifeboat::core::net {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

StatusOr<std::string> NotRun() { return Status(Code::kUnknown, "not run"); }

class ChannelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = std::move(pki).value().release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  ServerOptions ServerOpts() {
    ServerOptions o;
    o.tls = pki_->ServerTls();
    o.node_name = "agent-test";
    return o;
  }
  ClientOptions ClientOpts(uint16_t port) {
    ClientOptions o;
    o.port = port;
    o.tls = pki_->ClientTls();
    o.node_name = "control-test";
    o.reconnect_backoff_min = 10ms;
    o.reconnect_backoff_max = 200ms;
    return o;
  }
  std::unique_ptr<Server> StartServer(ServerOptions o, const std::function<void(Server&)>& setup) {
    auto server = std::make_unique<Server>(std::move(o));
    setup(*server);
    StatusOr<uint16_t> port = server->Start();
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    return server;
  }
  static Handler Echo() {
    return
        [](CallContext&, const std::string& req) -> StatusOr<std::string> { return "echo:" + req; };
  }

  static testing::TestPki* pki_;
};
testing::TestPki* ChannelTest::pki_ = nullptr;

TEST_F(ChannelTest, RoundTripWithPeerIdentities) {
  PeerInfo seen;
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(s.Register("test.Echo",
                           [&](CallContext& ctx, const std::string& req) -> StatusOr<std::string> {
                             seen = ctx.peer();
                             EXPECT_EQ(ctx.method(), "test.Echo");
                             EXPECT_NE(ctx.deadline(),
                                       std::chrono::steady_clock::time_point::max());
                             return "echo:" + req;
                           })
                    .ok());
  });
  ClientOptions co = ClientOpts(server->port());
  co.heartbeat_interval = 20ms;
  Client client(co);
  EXPECT_FALSE(client.Connected());  // lazily connected
  StatusOr<std::string> answer = client.Call("test.Echo", "hi");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(*answer, "echo:hi");
  EXPECT_TRUE(client.Connected());
  EXPECT_EQ(seen.common_name, "lifeboat-test-client");
  EXPECT_EQ(seen.node_name, "control-test");
  EXPECT_EQ(seen.protocol_major, kProtocolMajor);
  std::optional<PeerInfo> peer = client.Peer();
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->node_name, "agent-test");
  EXPECT_EQ(peer->common_name, "lifeboat-test-server");
  EXPECT_TRUE(Eventually([&] { return client.LastRoundTrip().has_value(); }));
  // An empty request and an empty answer are fine too.
  ASSERT_TRUE(client.Call("test.Echo", "").ok());
}

TEST_F(ChannelTest, HandlerStatusReachesTheCaller) {
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Fail", [](CallContext&, const std::string&) -> StatusOr<std::string> {
           return NotFoundError("no such snapshot", "hdfs:/warehouse");
         }).ok());
    ASSERT_TRUE(
        s.Register("test.Throw", [](CallContext&, const std::string&) -> StatusOr<std::string> {
           throw std::runtime_error("boom");
         }).ok());
    ASSERT_TRUE(
        s.RegisterStream("test.Stream", [](CallContext&, const std::string&, StreamWriter&) {
           return OkStatus();
         }).ok());
    EXPECT_EQ(s.Register("test.Fail", Echo()).code(), Code::kAlreadyExists);
  });
  EXPECT_EQ(server->Register("test.Late", Echo()).code(), Code::kFailedPrecondition);
  Client client(ClientOpts(server->port()));
  StatusOr<std::string> r = client.Call("test.Fail", "");
  EXPECT_EQ(r.status(), NotFoundError("no such snapshot", "hdfs:/warehouse"));
  r = client.Call("test.Throw", "");
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("boom"), std::string::npos);
  r = client.Call("test.Nope", "");
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_NE(r.status().message().find("test.Fail"), std::string::npos) << r.status().ToString();
  r = client.Call("test.Stream", "");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Fetch"), std::string::npos);
  Status f = client.Fetch("test.Fail", "", [](std::string_view) { return OkStatus(); });
  EXPECT_EQ(f.code(), Code::kInvalidArgument);
}

TEST_F(ChannelTest, ManyConcurrentCallsShareOneConnection) {
  auto server = StartServer(ServerOpts(),
                            [&](Server& s) { ASSERT_TRUE(s.Register("test.Echo", Echo()).ok()); });
  Client client(ClientOpts(server->port()));
  constexpr int kThreads = 8;
  constexpr int kCalls = 150;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        std::string req = std::to_string(t) + "/" + std::to_string(i) + std::string(i, 'x');
        StatusOr<std::string> r = client.Call("test.Echo", req);
        if (r.ok() && *r == "echo:" + req) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kCalls);
  EXPECT_EQ(server->stats().connections_accepted, 1u);
  EXPECT_EQ(server->stats().calls_started, static_cast<uint64_t>(kThreads * kCalls));
}

TEST_F(ChannelTest, ProgressIsStreamedToTheCallingThread) {
  std::atomic<uint64_t> seen{0};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Long", [&](CallContext& ctx, const std::string&) -> StatusOr<std::string> {
           for (uint64_t i = 1; i <= 5; ++i) {
             v1::Progress p;
             p.set_phase("copy");
             p.set_items_done(i);
             p.set_items_total(5);
             ctx.ReportProgress(p);
             // Each report reaches the caller before the next is made.
             if (!Eventually([&] { return seen.load() >= i; })) {
               return InternalError("progress " + std::to_string(i) + " never arrived");
             }
           }
           return std::string("done");
         }).ok());
  });
  Client client(ClientOpts(server->port()));
  std::vector<uint64_t> reports;
  const auto caller = std::this_thread::get_id();
  bool on_caller_thread = true;
  CallOptions opts;
  opts.on_progress = [&](const v1::Progress& p) {
    on_caller_thread = on_caller_thread && std::this_thread::get_id() == caller;
    EXPECT_EQ(p.phase(), "copy");
    reports.push_back(p.items_done());
    seen = p.items_done();
  };
  StatusOr<std::string> r = client.Call("test.Long", "", opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(reports, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(on_caller_thread);
}

// Deterministic bytes: a xorshift stream, so both ends can check without storing 64 MiB.
void Fill(uint64_t* state, char* out, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    std::memcpy(out + i, &x, std::min<size_t>(8, n - i));
  }
}

struct Sha256 {
  Sha256() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  void Update(std::string_view d) { EVP_DigestUpdate(ctx, d.data(), d.size()); }
  std::string Final() {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    return std::string(reinterpret_cast<char*>(md), n);
  }
  EVP_MD_CTX* ctx;
};

TEST_F(ChannelTest, BulkFetchOf64MiBWithDigestAndBoundedMemory) {
  constexpr uint64_t kTotal = 64ull << 20;
  constexpr uint32_t kWindow = 1u << 20;
  constexpr size_t kPiece = 3 * 100003;
  constexpr int64_t kAheadLimit = kWindow + kPiece;
  std::atomic<uint64_t> produced{0};
  std::string server_digest;
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(s.RegisterStream(
                     "test.Blob",
                     [&](CallContext& ctx, const std::string& req, StreamWriter& out) -> Status {
                       EXPECT_LE(out.max_chunk_bytes(), kWindow / 4);
                       uint64_t state = 0x9E3779B97F4A7C15ull;
                       Sha256 sha;
                       // Pieces of an odd size: the writer re-chunks them.
                       std::string piece(kPiece, '\0');
                       uint64_t left = kTotal;
                       while (left > 0) {
                         const size_t n = std::min<uint64_t>(left, piece.size());
                         Fill(&state, piece.data(), n);
                         sha.Update(std::string_view(piece.data(), n));
                         // Write may send part of the piece before it returns: count it all
                         // as sent from the moment Write starts (an upper bound).
                         produced = out.bytes_written() + n;
                         LIFEBOAT_RETURN_IF_ERROR(out.Write(std::string_view(piece.data(), n)));
                         left -= n;
                       }
                       server_digest = sha.Final();
                       return OkStatus();
                     })
                    .ok());
  });
  ClientOptions co = ClientOpts(server->port());
  co.stream_window_bytes = kWindow;
  Client client(co);
  Sha256 sha;
  uint64_t consumed = 0;
  uint64_t chunks = 0;
  int64_t worst_ahead = 0;
  CallOptions opts;
  opts.deadline = 120s;
  Status s = client.Fetch(
      "test.Blob", "",
      [&](std::string_view chunk) {
        // The producer may be ahead of us by at most the window we granted (plus the piece
        // it is writing, which `produced` counts as sent in advance).
        const int64_t ahead =
            static_cast<int64_t>(produced.load()) - static_cast<int64_t>(consumed);
        worst_ahead = std::max(worst_ahead, ahead);
        EXPECT_LE(ahead, kAheadLimit);
        sha.Update(chunk);
        consumed += chunk.size();
        // A slow consumer now and then, so that an unbounded producer would run far ahead.
        if (++chunks % 16 == 0) std::this_thread::sleep_for(1ms);
        return OkStatus();
      },
      opts);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(consumed, kTotal);
  EXPECT_EQ(sha.Final(), server_digest);
  EXPECT_LE(worst_ahead, kAheadLimit);
  EXPECT_GT(worst_ahead, 0);  // the producer did run ahead, so the bound was tested
}

// `total` bytes from `seed` in pieces whose sizes cycle through large (handed over in TLS's
// buffer), threshold-sized and small (copied) chunks, each given to `emit` in order.
Status MixedPieces(uint64_t seed, uint64_t total,
                   const std::function<Status(const std::string&)>& emit) {
  const size_t sizes[] = {1 << 20, 64 << 10, (64 << 10) - 1, 100, 700001};
  std::string piece;
  for (size_t i = 0; total > 0; ++i) {
    piece.resize(std::min<uint64_t>(total, sizes[i % 5]));
    Fill(&seed, piece.data(), piece.size());
    LIFEBOAT_RETURN_IF_ERROR(emit(piece));
    total -= piece.size();
  }
  return OkStatus();
}

// Large chunks reach the caller in the buffers TLS decrypted them into (no copy), and small
// ones copied; two streams interleaved on one connection, with calls between their frames,
// must each get exactly their bytes while buffers are handed over and recycled.
TEST_F(ChannelTest, InterleavedStreamsOfLargeAndSmallChunksKeepTheirBytes) {
  constexpr uint64_t kTotal = 24ull << 20;
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(s.Register("test.Echo", Echo()).ok());
    ASSERT_TRUE(s.RegisterStream(
                     "test.Blob",
                     [&](CallContext&, const std::string& req, StreamWriter& out) -> Status {
                       // The request names the seed; piece sizes cycle through large
                       // (handed over), threshold-sized and small (copied) chunks.
                       return MixedPieces(std::stoull(req), kTotal, [&](const std::string& piece) {
                         return out.Write(piece);
                       });
                     })
                    .ok());
  });
  ClientOptions co = ClientOpts(server->port());
  co.stream_window_bytes = 4u << 20;
  Client client(co);
  auto expected = [](uint64_t seed) {
    // The same bytes, produced the same way: the digest of kTotal bytes in the same pieces.
    Sha256 sha;
    Status made = MixedPieces(seed, kTotal, [&](const std::string& piece) {
      sha.Update(piece);
      return OkStatus();
    });
    EXPECT_TRUE(made.ok());
    return sha.Final();
  };
  std::atomic<int> echoes{0};
  std::atomic<bool> streaming{true};
  std::thread caller([&] {
    while (streaming) {
      auto r = client.Call("test.Echo", "x");
      if (r.ok() && *r == "echo:x") ++echoes;
    }
  });
  std::vector<std::string> digests(2);
  std::vector<Status> results(2);
  std::vector<std::thread> fetchers;
  for (int i = 0; i < 2; ++i) {
    fetchers.emplace_back([&, i] {
      Sha256 sha;
      CallOptions opts;
      opts.deadline = 120s;
      results[i] = client.Fetch(
          "test.Blob", std::to_string(1000 + i),
          [&](std::string_view chunk) {
            sha.Update(chunk);
            return OkStatus();
          },
          opts);
      digests[i] = sha.Final();
    });
  }
  for (auto& t : fetchers) t.join();
  streaming = false;
  caller.join();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].ToString();
    EXPECT_EQ(digests[i], expected(1000 + i)) << "stream " << i;
  }
  EXPECT_GT(echoes.load(), 0);
}

TEST_F(ChannelTest, StreamFailuresReachTheCaller) {
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(s.RegisterStream("test.Broken",
                                 [](CallContext&, const std::string&, StreamWriter& out) -> Status {
                                   LIFEBOAT_RETURN_IF_ERROR(out.Write("partial"));
                                   return DataLossError("disk read failed at block 7");
                                 })
                    .ok());
    ASSERT_TRUE(
        s.RegisterStream("test.Endless",
                         [](CallContext& ctx, const std::string&, StreamWriter& out) -> Status {
                           std::string chunk(64 << 10, 'e');
                           for (;;) LIFEBOAT_RETURN_IF_ERROR(out.Write(chunk));
                         })
            .ok());
  });
  Client client(ClientOpts(server->port()));
  std::string got;
  Status s = client.Fetch("test.Broken", "", [&](std::string_view c) {
    got += c;
    return OkStatus();
  });
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_EQ(got, "partial");
  // The consumer stops the stream: Fetch returns its status, and the server's writer stops.
  int n = 0;
  s = client.Fetch("test.Endless", "", [&](std::string_view) {
    return ++n == 10 ? AbortedError("enough") : OkStatus();
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  // The connection is still good for other calls.
  EXPECT_EQ(client.Fetch("test.Broken", "", [](std::string_view) { return OkStatus(); }).code(),
            Code::kDataLoss);
}

TEST_F(ChannelTest, DeadlineFailsTheCallAndCancelsTheHandler) {
  std::atomic<bool> handler_saw_cancel{false};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Slow", [&](CallContext& ctx, const std::string&) -> StatusOr<std::string> {
           EXPECT_LT(ctx.deadline(), std::chrono::steady_clock::now() + 10s);
           handler_saw_cancel = Eventually([&] { return ctx.cancelled(); });
           return CancelledError("stopped");
         }).ok());
  });
  Client client(ClientOpts(server->port()));
  CallOptions opts;
  opts.deadline = 200ms;
  StatusOr<std::string> r = client.Call("test.Slow", "", opts);
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("200 ms"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(Eventually([&] { return handler_saw_cancel.load(); }));
}

TEST_F(ChannelTest, CancelFlagStopsTheCallAndTheHandler) {
  std::atomic<bool> started{false};
  std::atomic<bool> handler_saw_cancel{false};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Slow", [&](CallContext& ctx, const std::string&) -> StatusOr<std::string> {
           started = true;
           handler_saw_cancel = Eventually([&] { return ctx.cancelled(); });
           return CancelledError("stopped");
         }).ok());
  });
  Client client(ClientOpts(server->port()));
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    Eventually([&] { return started.load(); });
    cancel = true;
  });
  CallOptions opts;
  opts.cancel = &cancel;
  opts.deadline = 60s;
  StatusOr<std::string> r = client.Call("test.Slow", "", opts);
  canceller.join();
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
  EXPECT_TRUE(Eventually([&] { return handler_saw_cancel.load(); }));
}

TEST_F(ChannelTest, OperationIdsMakeCallsIdempotent) {
  std::atomic<int> runs{0};
  std::atomic<int> flaky_runs{0};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(s.Register("test.Cut",
                           [&](CallContext& ctx, const std::string& req) -> StatusOr<std::string> {
                             const int n = ++runs;
                             if (req == "fail") return NotFoundError("no data set " + ctx.op_id());
                             return "cut#" + std::to_string(n) + " for " + ctx.op_id();
                           })
                    .ok());
    ASSERT_TRUE(
        s.Register("test.Flaky", [&](CallContext&, const std::string&) -> StatusOr<std::string> {
           if (++flaky_runs == 1) return UnavailableError("disk busy");
           return std::string("ok");
         }).ok());
  });
  Client client(ClientOpts(server->port()));
  CallOptions op;
  op.op_id = "cut-rp1-0";
  StatusOr<std::string> first = client.Call("test.Cut", "x", op);
  StatusOr<std::string> again = client.Call("test.Cut", "x", op);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, "cut#1 for cut-rp1-0");
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(server->stats().calls_deduplicated, 1u);
  // Another operation runs; calls without an op_id always run.
  op.op_id = "cut-rp2-0";
  EXPECT_EQ(*client.Call("test.Cut", "x", op), "cut#2 for cut-rp2-0");
  EXPECT_EQ(*client.Call("test.Cut", "x"), "cut#3 for ");
  EXPECT_EQ(*client.Call("test.Cut", "x"), "cut#4 for ");
  // A definite failure is an answer too, remembered like a success.
  op.op_id = "cut-rp3-0";
  EXPECT_EQ(client.Call("test.Cut", "fail", op).status().code(), Code::kNotFound);
  EXPECT_EQ(client.Call("test.Cut", "fail", op).status().code(), Code::kNotFound);
  EXPECT_EQ(runs.load(), 5);
  // A retryable failure is not: the retry runs the handler again.
  op.op_id = "flaky-1";
  EXPECT_EQ(client.Call("test.Flaky", "", op).status().code(), Code::kUnavailable);
  EXPECT_EQ(*client.Call("test.Flaky", "", op), "ok");
  EXPECT_EQ(*client.Call("test.Flaky", "", op), "ok");
  EXPECT_EQ(flaky_runs.load(), 2);
}

TEST_F(ChannelTest, OperationMemoryIsBoundedPerMethod) {
  std::atomic<int> runs{0};
  ServerOptions so = ServerOpts();
  so.remembered_ops_per_method = 3;
  auto server = StartServer(so, [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Op", [&](CallContext&, const std::string&) -> StatusOr<std::string> {
           return std::to_string(++runs);
         }).ok());
  });
  Client client(ClientOpts(server->port()));
  CallOptions op;
  for (int i = 0; i < 4; ++i) {
    op.op_id = "op" + std::to_string(i);
    ASSERT_TRUE(client.Call("test.Op", "", op).ok());
  }
  op.op_id = "op3";  // remembered
  EXPECT_EQ(*client.Call("test.Op", "", op), "4");
  op.op_id = "op0";  // forgotten: the oldest of four with room for three
  EXPECT_EQ(*client.Call("test.Op", "", op), "5");
}

TEST_F(ChannelTest, FailuresAreForgottenWhenTheServerSaysSo) {
  std::atomic<int> runs{0};
  ServerOptions so = ServerOpts();
  so.remember_failures = false;
  auto server = StartServer(so, [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Restore", [&](CallContext&, const std::string&) -> StatusOr<std::string> {
           if (++runs == 1) return FailedPreconditionError("the data set is fenced");
           return std::to_string(runs.load());
         }).ok());
  });
  Client client(ClientOpts(server->port()));
  CallOptions op;
  op.op_id = "restore-1";
  EXPECT_EQ(client.Call("test.Restore", "", op).status().code(), Code::kFailedPrecondition);
  // The refusal was not remembered: the repeat runs (and succeeds); the success is remembered.
  EXPECT_EQ(*client.Call("test.Restore", "", op), "2");
  EXPECT_EQ(*client.Call("test.Restore", "", op), "2");
  EXPECT_EQ(runs.load(), 2);
}

TEST_F(ChannelTest, DuplicateWhileRunningWaitsForTheFirst) {
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Op", [&](CallContext&, const std::string&) -> StatusOr<std::string> {
           ++runs;
           Eventually([&] { return release.load(); });
           return std::string("the answer");
         }).ok());
  });
  // Two clients: the second stands for the first one reconnected.
  Client a(ClientOpts(server->port()));
  Client b(ClientOpts(server->port()));
  CallOptions op;
  op.op_id = "op-42";
  StatusOr<std::string> ra = NotRun();
  StatusOr<std::string> rb = NotRun();
  std::thread ta([&] { ra = a.Call("test.Op", "", op); });
  ASSERT_TRUE(Eventually([&] { return runs.load() == 1; }));
  std::thread tb([&] { rb = b.Call("test.Op", "", op); });
  ASSERT_TRUE(Eventually([&] { return server->stats().calls_deduplicated == 1; }));
  release = true;
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(*ra, "the answer");
  EXPECT_EQ(*rb, "the answer");
  EXPECT_EQ(runs.load(), 1);
}

TEST_F(ChannelTest, LostConnectionFailsUnavailableAndTheRetryCollectsTheAnswer) {
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  std::atomic<bool> cancelled_seen{false};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Op", [&](CallContext& ctx, const std::string&) -> StatusOr<std::string> {
           ++runs;
           Eventually([&] { return release.load(); });
           cancelled_seen = ctx.cancelled();
           return std::string("done once");
         }).ok());
  });
  testing::Proxy proxy(server->port());
  Client client(ClientOpts(proxy.port()));
  CallOptions op;
  op.op_id = "transfer-rp7-3";
  op.deadline = 30s;
  StatusOr<std::string> first = NotRun();
  std::thread t([&] { first = client.Call("test.Op", "", op); });
  ASSERT_TRUE(Eventually([&] { return runs.load() == 1; }));
  proxy.Cut();
  t.join();
  EXPECT_EQ(first.status().code(), Code::kUnavailable) << first.status().ToString();
  EXPECT_NE(first.status().message().find("same op_id"), std::string::npos);
  release = true;
  // The retry reconnects and gets the operation's answer without running it again.
  op.wait_for_ready = true;
  StatusOr<std::string> retry = client.Call("test.Op", "", op);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(*retry, "done once");
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(cancelled_seen.load());  // an operation outlives its connection
  EXPECT_GE(server->stats().connections_accepted, 2u);
}

TEST_F(ChannelTest, HeartbeatsDetectADeadPeerOnBothSides) {
  ServerOptions so = ServerOpts();
  so.heartbeat_timeout = 300ms;
  auto server =
      StartServer(so, [&](Server& s) { ASSERT_TRUE(s.Register("test.Echo", Echo()).ok()); });
  testing::Proxy proxy(server->port());
  ClientOptions co = ClientOpts(proxy.port());
  co.heartbeat_interval = 50ms;
  co.missed_heartbeats = 3;
  co.reconnect_backoff_min = 5s;  // no reconnect during the test
  co.reconnect_backoff_max = 5s;
  Client client(co);
  ASSERT_TRUE(client.Call("test.Echo", "a").ok());
  proxy.Freeze();  // the network goes silent; no connection is closed
  CallOptions opts;
  opts.deadline = 60s;
  StatusOr<std::string> r = client.Call("test.Echo", "b", opts);
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("missed heartbeats"), std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(client.Connected());
  // The server, hearing nothing, closes its end too.
  EXPECT_TRUE(Eventually([&] { return server->stats().heartbeat_timeouts == 1; }));
  EXPECT_TRUE(Eventually([&] { return server->stats().connections_open == 0; }));
  EXPECT_NE(server->stats().last_connection_error.find("heartbeat_timeout"), std::string::npos);
}

TEST_F(ChannelTest, ClientReconnectsAfterServerRestart) {
  auto server = StartServer(ServerOpts(),
                            [&](Server& s) { ASSERT_TRUE(s.Register("test.Echo", Echo()).ok()); });
  const uint16_t port = server->port();
  Client client(ClientOpts(port));
  ASSERT_TRUE(client.Call("test.Echo", "before").ok());
  server->Stop();
  server.reset();
  ASSERT_TRUE(Eventually([&] { return !client.Connected(); }));
  // While nobody listens, a call fails fast and says why.
  StatusOr<std::string> down = client.Call("test.Echo", "during");
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();

  ServerOptions so = ServerOpts();
  so.port = port;
  auto again =
      StartServer(so, [&](Server& s) { ASSERT_TRUE(s.Register("test.Echo", Echo()).ok()); });
  ASSERT_EQ(again->port(), port);
  CallOptions opts;
  opts.wait_for_ready = true;
  opts.deadline = 20s;
  StatusOr<std::string> after = client.Call("test.Echo", "after", opts);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, "echo:after");
  EXPECT_TRUE(client.Connected());
  EXPECT_TRUE(Eventually([&] { return again->stats().connections_accepted >= 1; }));
}

TEST_F(ChannelTest, StoppingServerFailsCallsInFlightWithUnavailable) {
  std::atomic<bool> started{false};
  auto server = StartServer(ServerOpts(), [&](Server& s) {
    ASSERT_TRUE(
        s.Register("test.Wait", [&](CallContext& ctx, const std::string&) -> StatusOr<std::string> {
           started = true;
           Eventually([&] { return ctx.cancelled(); });
           return CancelledError("server stopping");
         }).ok());
  });
  ClientOptions co = ClientOpts(server->port());
  co.reconnect_backoff_min = 5s;
  co.reconnect_backoff_max = 5s;
  Client client(co);
  StatusOr<std::string> r = NotRun();
  std::thread t([&] { r = client.Call("test.Wait", ""); });
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  server->Stop();
  t.join();
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stopping"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace lifeboat::core::net
