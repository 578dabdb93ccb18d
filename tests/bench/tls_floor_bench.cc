// The floor under any bulk stream over TLS on this machine (docs/benchmarks.md, "The peer
// stream ... ceiling"): what OpenSSL alone costs, with no channel, no plugin and no file.
// In one process, as the benchmarks' two agents are, 3 rounds, order alternating, medians:
//   tcp        a plain loopback TCP copy of --mib MiB, 1 MiB write(2)s and read(2)s (the
//              copies in channel_bench and peer_stream_bench go through asio::write, which
//              sends 64 KiB at a time, and are slower: docs/benchmarks.md)
//   tls        the same bytes through TLS 1.3 with AES-128-GCM and client certificates (the
//              test PKI), OpenSSL on blocking sockets: SSL_write of 1 MiB from memory, SSL_read
//              into 1 MiB that is dropped; each 16 KiB record its own write(2)
//   tls_gather the same with records gathered 256 KiB at a time before each write(2), as the
//              channel's transport does
//   cipher     AES-128-GCM encryption and decryption of the same bytes in 16 KiB records in
//              memory (EVP, one thread): the cipher's part of the cost
// Counters: MiB/s and CPU seconds per GiB of each; ratio_tls, ratio_gather = rate / TCP rate.
// Nothing here can be made faster by the channel: with both ends on the same cores, a stream
// through TLS costs at least tcp + cipher CPU per byte, plus OpenSSL's own copies.
// Full run: tls_floor_bench. Smoke (ctest, label bench): --mib=8.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "test_certs.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace net = lifeboat::core::net;

uint64_t g_mib = 1024;
constexpr size_t kPiece = 1 << 20;

using lifeboat::bench::CpuSeconds;
using lifeboat::bench::Median;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "tls_floor_bench: " << what << "\n";
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

using lifeboat::bench::Piece;

// Both ends' contexts as the channel makes them where it matters for bulk data: TLS 1.3,
// AES-128-GCM, read-ahead with a 128 KiB buffer, client certificates required.
SSL_CTX* MakeContext(const net::TlsOptions& tls, bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) Die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 128 << 10);
  if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    Die("cannot load the test PKI");
  }
  SSL_CTX_set_verify(
      ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, nullptr);
  return ctx;
}

struct Pki {
  Pki() {
    auto made = net::testing::MakeTestPki();
    if (!made.ok()) Die(made.status().ToString());
    pki = std::move(made).value();
    server = MakeContext(pki->ServerTls(), true);
    client = MakeContext(pki->ClientTls(), false);
  }
  ~Pki() {
    SSL_CTX_free(server);
    SSL_CTX_free(client);
  }
  std::unique_ptr<net::testing::TestPki> pki;
  SSL_CTX* server = nullptr;
  SSL_CTX* client = nullptr;
};

enum class Mode { kTcp, kTls, kTlsGather };

// Seconds to move `bytes` from a writer thread to this thread over loopback; -1 on failure.
double Copy(Pki& pki, Mode mode, uint64_t bytes) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("cannot listen on loopback");
  }
  const std::string& piece = Piece();
  const auto start = Clock::now();
  bool sent = false;
  std::thread writer([&] {
    const int s = ::accept(listener, nullptr, nullptr);
    uint64_t left = bytes;
    if (mode == Mode::kTcp) {
      while (left > 0) {
        const ssize_t n = ::write(s, piece.data(), std::min<uint64_t>(left, piece.size()));
        if (n <= 0) break;
        left -= static_cast<uint64_t>(n);
      }
      ::close(s);
      sent = left == 0;
      return;
    }
    SSL* ssl = SSL_new(pki.server);
    BIO* sock = BIO_new_socket(s, BIO_CLOSE);
    BIO* wbio = sock;
    if (mode == Mode::kTlsGather) {
      wbio = BIO_new(BIO_f_buffer());
      BIO_set_write_buffer_size(wbio, 256 << 10);
      BIO_push(wbio, sock);
      BIO_up_ref(sock);  // SSL_set_bio takes one reference for each of rbio and wbio's chain
    }
    SSL_set_bio(ssl, sock, wbio);
    if (SSL_accept(ssl) == 1) {
      while (left > 0) {
        size_t n = 0;
        if (SSL_write_ex(ssl, piece.data(), std::min<uint64_t>(left, piece.size()), &n) != 1) break;
        left -= n;
      }
      sent = left == 0 && BIO_flush(wbio) == 1;
    }
    SSL_free(ssl);
  });
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("connect failed");
  std::vector<char> buf(kPiece);
  uint64_t got = 0;
  if (mode == Mode::kTcp) {
    for (;;) {
      const ssize_t n = ::read(s, buf.data(), buf.size());
      if (n <= 0) break;
      got += static_cast<uint64_t>(n);
    }
    ::close(s);
  } else {
    SSL* ssl = SSL_new(pki.client);
    SSL_set_fd(ssl, s);
    if (SSL_connect(ssl) == 1) {
      while (got < bytes) {
        size_t n = 0;
        if (SSL_read_ex(ssl, buf.data(), buf.size(), &n) != 1) break;
        got += n;
      }
    }
    SSL_free(ssl);
    ::close(s);
  }
  writer.join();
  ::close(listener);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return sent && got == bytes ? seconds : -1;
}

// Seconds to encrypt and then decrypt `bytes` in 16 KiB records with AES-128-GCM (EVP).
double Cipher(uint64_t bytes) {
  constexpr size_t kRecord = 16 << 10;
  const std::string& piece = Piece();
  std::vector<unsigned char> out(kRecord + 16), back(kRecord);
  unsigned char key[16] = {1}, iv[12] = {2}, tag[16];
  EVP_CIPHER* aes = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  if (aes == nullptr || EVP_EncryptInit_ex(enc, aes, nullptr, key, iv) != 1 ||
      EVP_DecryptInit_ex(dec, aes, nullptr, key, iv) != 1) {
    Die("cannot set up AES-128-GCM");
  }
  const auto start = Clock::now();
  bool ok = true;
  for (uint64_t done = 0; done < bytes && ok; done += kRecord) {
    const auto* in = reinterpret_cast<const unsigned char*>(piece.data()) + done % kPiece;
    int n = 0, m = 0;
    ok = EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv) == 1 &&
         EVP_EncryptUpdate(enc, out.data(), &n, in, kRecord) == 1 &&
         EVP_EncryptFinal_ex(enc, out.data() + n, &m) == 1 &&
         EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 &&
         EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv) == 1 &&
         EVP_DecryptUpdate(dec, back.data(), &n, out.data(), kRecord) == 1 &&
         EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
         EVP_DecryptFinal_ex(dec, back.data() + n, &m) == 1;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX_free(dec);
  EVP_CIPHER_free(aes);
  if (!ok || std::memcmp(back.data(), piece.data() + (bytes - kRecord) % kPiece, kRecord) != 0) {
    return -1;
  }
  return seconds;
}

void BM_TlsFloor(benchmark::State& state) {
  Pki pki;
  const uint64_t bytes = g_mib << 20;
  const double mib = static_cast<double>(g_mib);
  std::vector<double> rate[4], cpu[4];
  auto timed = [&](int i, auto&& run) {
    const double c0 = CpuSeconds();
    const double s = run();
    const double c = CpuSeconds() - c0;
    if (s <= 0) return false;
    rate[i].push_back(mib / s);
    cpu[i].push_back(c * 1024 / mib);
    return true;
  };
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      std::vector<int> order = {0, 1, 2, 3};
      if (round % 2 == 1) std::reverse(order.begin(), order.end());
      for (int i : order) {
        const bool ok = i == 3 ? timed(i, [&] { return Cipher(bytes); })
                               : timed(i, [&] { return Copy(pki, static_cast<Mode>(i), bytes); });
        if (!ok) {
          state.SkipWithError("a copy failed");
          return;
        }
      }
    }
  }
  const char* names[] = {"tcp", "tls", "gather", "cipher"};
  for (int i = 0; i < 4; ++i) {
    state.counters[std::string(names[i]) + "_MiB_s"] = Median(rate[i]);
    state.counters[std::string(names[i]) + "_cpu_s_GiB"] = Median(cpu[i]);
  }
  state.counters["ratio_tls"] = Median(rate[1]) / Median(rate[0]);
  state.counters["ratio_gather"] = Median(rate[2]) / Median(rate[0]);
}
BENCHMARK(BM_TlsFloor)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return lifeboat::bench::RunBenchmarks(
      argc, argv, {{"--mib=", [](std::string_view v) {
                      g_mib =
                          std::max<uint64_t>(2, std::strtoull(std::string(v).c_str(), nullptr, 10));
                      return true;
                    }}});
}
