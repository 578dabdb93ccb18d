// Helpers of the channel tests: a raw frame peer (to send what a real client or server never
// would), a TCP proxy that can black-hole or cut connections (a dead or lost network), and
// bounded waiting for conditions that another thread makes true.
#ifndef LIFEBOAT_TESTS_CORE_NET_NET_TEST_UTIL_H_
#define LIFEBOAT_TESTS_CORE_NET_NET_TEST_UTIL_H_

#include <lifeboat/core/net/frame.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace lifeboat::core::net::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Polls `condition` until it holds or `limit` passes; true when it held. For waiting on other
// threads' progress, never for asserting how long something took.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

inline std::string BigEndian32(uint32_t n) {
  std::string h(4, '\0');
  h[0] = static_cast<char>(n >> 24);
  h[1] = static_cast<char>(n >> 16);
  h[2] = static_cast<char>(n >> 8);
  h[3] = static_cast<char>(n);
  return h;
}

// A blocking plain-TCP connection speaking raw frames. Reads give up after 10 s so that a
// broken server fails the test instead of hanging it.
class RawPeer {
 public:
  explicit RawPeer(tcp::socket socket) : socket_(std::move(socket)) { SetTimeout(); }
  static std::unique_ptr<RawPeer> Connect(uint16_t port) {
    tcp::socket s(io());
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return std::make_unique<RawPeer>(std::move(s));
  }

  void SendBytes(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void Send(const v1::Envelope& e) { SendBytes(*EncodeFrame(e)); }
  void ShutdownWrite() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  // The next frame; nullopt at end of stream (or on a read error / timeout).
  std::optional<v1::Envelope> Read() {
    for (;;) {
      auto next = decoder_.Next();
      if (!next.ok()) return std::nullopt;
      if (next->has_value()) return std::move(**next);
      char buf[4096];
      boost::system::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec || n == 0) return std::nullopt;
      decoder_.Feed(std::string_view(buf, n));
    }
  }

  // True when the peer closed the connection (after any frames still in flight).
  bool ReadsToEnd() {
    while (Read().has_value()) {
    }
    return true;
  }

  // Sends a hello of the given major and returns the reply.
  std::optional<v1::Envelope> Hello(uint32_t major = 1, const std::string& node = "raw-peer") {
    v1::Envelope e;
    e.mutable_hello()->set_protocol_major(major);
    e.mutable_hello()->set_protocol_minor(0);
    e.mutable_hello()->set_node_name(node);
    e.mutable_hello()->set_program_version("test");
    Send(e);
    return Read();
  }

 private:
  static asio::io_context& io() {
    static asio::io_context* ctx = new asio::io_context();
    return *ctx;
  }
  void SetTimeout() {
    timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  tcp::socket socket_;
  FrameDecoder decoder_;
};

// A loopback TCP proxy in front of `upstream_port`. Freeze() makes it a black hole (bytes in
// either direction are read and dropped, connections stay open: a dead peer or network);
// Cut() closes every connection it carries (a lost connection); Thaw() forwards again.
class Proxy {
 public:
  explicit Proxy(uint16_t upstream_port)
      : upstream_port_(upstream_port),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Proxy() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      CloseAll();
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void Freeze() { frozen_ = true; }
  void Thaw() { frozen_ = false; }
  void Cut() {
    std::atomic<bool> done{false};
    asio::post(io_, [this, &done] {
      CloseAll();
      done = true;
    });
    Eventually([&] { return done.load(); });
  }

 private:
  struct Pair {
    explicit Pair(asio::io_context& io) : down(io), up(io) {}
    tcp::socket down;
    tcp::socket up;
    char down_buf[65536];
    char up_buf[65536];
  };

  void Accept() {
    auto pair = std::make_shared<Pair>(io_);
    acceptor_.async_accept(pair->down, [this, pair](const boost::system::error_code& ec) {
      if (ec) return;
      boost::system::error_code connect_ec;
      pair->up.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream_port_),
                       connect_ec);
      if (!connect_ec) {
        pairs_.push_back(pair);
        Pump(pair, pair->down, pair->up, pair->down_buf);
        Pump(pair, pair->up, pair->down, pair->up_buf);
      }
      Accept();
    });
  }

  void Pump(std::shared_ptr<Pair> pair, tcp::socket& from, tcp::socket& to, char* buf) {
    from.async_read_some(
        asio::buffer(buf, 65536),
        [this, pair, &from, &to, buf](const boost::system::error_code& ec, size_t n) {
          if (ec) {
            // A black hole does not pass the close on either.
            boost::system::error_code ignored;
            if (!frozen_) to.shutdown(tcp::socket::shutdown_send, ignored);
            return;
          }
          if (frozen_) {
            Pump(pair, from, to, buf);
            return;
          }
          asio::async_write(
              to, asio::buffer(buf, n),
              [this, pair, &from, &to, buf](const boost::system::error_code& ec2, size_t) {
                if (!ec2) Pump(pair, from, to, buf);
              });
        });
  }

  void CloseAll() {
    for (auto& p : pairs_) {
      boost::system::error_code ignored;
      p->down.close(ignored);
      p->up.close(ignored);
    }
    pairs_.clear();
  }

  uint16_t upstream_port_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      io_.get_executor()};
  tcp::acceptor acceptor_;
  std::list<std::shared_ptr<Pair>> pairs_;
  std::atomic<bool> frozen_{false};
  std::thread thread_;
};

}  // namespace lifeboat::core::net::testing

#endif  // LIFEBOAT_TESTS_CORE_NET_NET_TEST_UTIL_H_
