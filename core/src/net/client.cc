#include <lifeboat/core/net/client.h>

#include "tls.h"
#include "transport.h"

#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace lifeboat::core::net {

using internal::CloseKind;
using internal::Transport;
namespace asio = internal::asio;
using internal::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// How often a waiting call looks at its cancel flag.
constexpr milliseconds kCancelPoll{10};

int64_t Ms(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status FromResponse(const v1::Response& r) {
  if (!IsKnownCode(r.code())) {
    return Status(Code::kUnknown,
                  "the server answered with status code " + std::to_string(r.code()) +
                      " outside the canonical set: " + r.message(),
                  r.subject());
  }
  return Status(static_cast<Code>(r.code()), r.message(), r.subject());
}

}  // namespace

// One call waiting for its answer: filled on the connection's strand, drained by the caller.
struct PendingCall {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::string payload;
  std::optional<v1::Progress> progress;
  // Streams.
  bool stream = false;
  uint64_t window = 0;
  uint64_t buffered = 0;
  // A chunk received: bytes [offset, offset + size) of `buffer`, which is either the
  // transport's (a large chunk left where TLS decrypted it: given back with ReturnReadBuffer)
  // or one of `spare` (a small chunk, copied).
  struct Chunk {
    std::string buffer;
    size_t offset = 0;
    size_t size = 0;
    bool transport_buffer = false;
    std::string_view bytes() const { return std::string_view(buffer).substr(offset, size); }
  };
  std::deque<Chunk> chunks;
  std::vector<std::string> spare;  // consumed chunk buffers, refilled by the next small chunks
  bool last_seen = false;

  void Fail(const Status& why) {
    {
      std::lock_guard lock(mu);
      if (done) return;
      done = true;
      status = why;
    }
    cv.notify_all();
  }
};

class ClientConnection;

class Client::Impl {
 public:
  explicit Impl(ClientOptions options) : opts(std::move(options)), reconnect_timer(io) {
    if (opts.program_version.empty()) opts.program_version = LIFEBOAT_NET_PROGRAM_VERSION;
    backoff = opts.reconnect_backoff_min;
    config_error = Validate();
    if (config_error.ok() && opts.tls.enabled) {
      auto ctx = internal::MakeTlsContext(opts.tls, /*server=*/false);
      if (ctx.ok()) {
        tls = std::move(ctx).value();
      } else {
        config_error = ctx.status();
      }
    }
    if (!opts.tls.enabled) {
      spdlog::warn(
          "channel client {}: TLS is disabled: plain TCP to {}:{}, no encryption, no "
          "authentication (embedded and test use only)",
          opts.node_name, opts.host, opts.port);
    }
    work.emplace(io.get_executor());
    for (int i = 0; i < std::max(1, opts.io_threads); ++i) {
      threads.emplace_back([this] { io.run(); });
    }
  }

  ~Impl() { Shutdown(); }

  Status Validate() const {
    if (opts.port == 0) return InvalidArgumentError("the server's port is required", "port");
    if (opts.host.empty()) return InvalidArgumentError("the server's host is required", "host");
    if (opts.max_frame_bytes < (64u << 10) || opts.max_frame_bytes > kMaxFrameBytesLimit) {
      return InvalidArgumentError(
          "must be between 65536 and " + std::to_string(kMaxFrameBytesLimit) + " bytes",
          "max_frame_bytes");
    }
    if (opts.heartbeat_interval.count() <= 0 || opts.missed_heartbeats < 1) {
      return InvalidArgumentError(
          "heartbeat_interval must be positive and missed_heartbeats at least 1",
          "heartbeat_interval");
    }
    if (opts.reconnect_backoff_min.count() <= 0 ||
        opts.reconnect_backoff_max < opts.reconnect_backoff_min) {
      return InvalidArgumentError("need 0 < reconnect_backoff_min <= reconnect_backoff_max",
                                  "reconnect_backoff_min");
    }
    return OkStatus();
  }

  std::string Target() const { return opts.host + ":" + std::to_string(opts.port); }

  StatusOr<std::shared_ptr<ClientConnection>> AwaitConnection(Clock::time_point deadline,
                                                              const CallOptions& call);
  void StartConnectLocked();
  void OnConnected(const std::shared_ptr<ClientConnection>& conn);
  void OnConnectionDown(const ClientConnection* conn, const Status& why);
  void ScheduleReconnectLocked();
  void Shutdown();

  StatusOr<std::string> Invoke(const std::string& method, const std::string& request,
                               const CallOptions& options, const ChunkHandler* on_chunk);

  ClientOptions opts;
  Status config_error;
  std::unique_ptr<asio::ssl::context> tls;  // owns the SSL_CTX
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  asio::steady_timer reconnect_timer;  // touched on the io threads only

  std::mutex mu;
  std::condition_variable cv;
  enum class State { kIdle, kConnecting, kReady, kBackoff, kClosed } state = State::kIdle;
  std::shared_ptr<ClientConnection> conn;  // connecting or ready
  Status last_error;
  Clock::time_point next_attempt;
  milliseconds backoff;
  std::mt19937_64 rng{std::random_device{}()};

  std::atomic<uint64_t> next_call_id{1};
  std::atomic<int64_t> rtt_us{-1};
};

// One connection attempt and, once it said hello, the established connection.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(Client::Impl& client, std::shared_ptr<Transport> transport)
      : client_(client), t_(std::move(transport)), timer_(t_->strand()), resolver_(t_->strand()) {}

  Transport& transport() { return *t_; }

  // Any thread.
  PeerInfo peer() const {
    std::lock_guard lock(mu_);
    return peer_;
  }

  // On the strand: resolve, connect, TLS handshake, hello.
  void Connect() {
    const auto& o = client_.opts;
    timer_.expires_after(o.connect_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnConnectTimeout();
    });
    resolver_.async_resolve(
        o.host, std::to_string(o.port),
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    const tcp::resolver::results_type& results) {
          self->OnResolved(ec, results);
        });
  }

  // Registers a call; false when the connection is already down (`*why` says why).
  bool Register(uint64_t call_id, std::shared_ptr<PendingCall> call, Status* why) {
    std::lock_guard lock(mu_);
    if (down_) {
      *why = down_reason_;
      return false;
    }
    calls_.emplace(call_id, std::move(call));
    return true;
  }

  // The caller gave up on `call_id`: forget it and tell the server to stop.
  void Abandon(uint64_t call_id) {
    {
      std::lock_guard lock(mu_);
      if (calls_.erase(call_id) == 0) return;  // already answered or failed
    }
    v1::Envelope envelope;
    envelope.set_call_id(call_id);
    envelope.mutable_cancel();
    (void)t_->Send(envelope);
  }

  void GrantWindow(uint64_t call_id, uint64_t bytes) {
    v1::Envelope envelope;
    envelope.set_call_id(call_id);
    envelope.mutable_window_update()->set_bytes(bytes);
    (void)t_->Send(envelope);
  }

  // Any thread: goodbye to the server, and no more connecting.
  void Close(const Status& why) {
    asio::dispatch(t_->strand(), [self = shared_from_this(), why] {
      self->timer_.cancel();
      self->resolver_.cancel();
      self->MarkDown(why);
      self->t_->Close(why, /*goodbye=*/self->reading_);
    });
  }

 private:
  std::string Target() const { return client_.Target(); }

  void Fail(const Status& why) {
    // Closing reports through OnClosed once reading started; before that, report here.
    if (!reading_) {
      timer_.cancel();
      MarkDown(why);
      client_.OnConnectionDown(this, why);
    }
    t_->Close(why, false, CloseKind::kIoError);
  }

  void OnConnectTimeout() {
    if (ready_ || down_now()) return;
    resolver_.cancel();
    Fail(UnavailableError("connecting to " + Target() + " took longer than " +
                          std::to_string(client_.opts.connect_timeout.count()) +
                          " ms (connect_timeout): no answer, or a slow TLS handshake or hello"));
  }

  bool down_now() const {
    std::lock_guard lock(mu_);
    return down_;
  }

  void OnResolved(const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
    if (down_now()) return;
    if (ec) {
      Fail(UnavailableError("cannot resolve " + client_.opts.host + ": " + ec.message()));
      return;
    }
    asio::async_connect(
        t_->socket(), results,
        [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint& ep) {
          self->OnTcpConnected(ec, ep);
        });
  }

  void OnTcpConnected(const boost::system::error_code& ec, const tcp::endpoint& ep) {
    if (down_now()) return;
    if (ec) {
      Fail(UnavailableError("cannot connect to " + Target() + ": " + ec.message()));
      return;
    }
    boost::system::error_code ignored;
    t_->socket().set_option(tcp::no_delay(true), ignored);
    t_->set_remote(Target());
    if (!t_->tls()) {
      StartHello();
      return;
    }
    const auto& o = client_.opts;
    if (Status prepared = t_->PrepareTls(/*server=*/false); !prepared.ok()) {
      Fail(prepared);
      return;
    }
    SSL* ssl = t_->ssl();
    const std::string& name =
        o.tls.expected_server_name.empty() ? o.host : o.tls.expected_server_name;
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (!o.tls.expected_server_name.empty()) {
      // OpenSSL checks the name (subjectAltName DNS or IP, else CN) during verification.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (not_ip) {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      }
    }
    t_->Handshake([self = shared_from_this()](const Status& done) {
      if (self->down_now()) return;
      if (!done.ok()) {
        self->Fail(done);
        return;
      }
      self->StartHello();
    });
  }

  void StartHello() {
    reading_ = true;
    server_cn_ = internal::PeerCommonName(t_->ssl());
    t_->StartReading([self = shared_from_this()](
                         v1::Envelope&& envelope) { self->OnFrame(std::move(envelope)); },
                     [self = shared_from_this()](const Status& why, CloseKind kind) {
                       self->OnClosed(why, kind);
                     },
                     [self = shared_from_this()](const FrameDecoder::DataView& data,
                                                 FrameDecoder::Detached* owned) {
                       if (self->ready_) {
                         self->OnData(data, owned);
                       } else {
                         self->ProtocolError("sent data before answering our hello");
                       }
                     });
    v1::Envelope hello;
    v1::Hello* h = hello.mutable_hello();
    h->set_protocol_major(kProtocolMajor);
    h->set_protocol_minor(kProtocolMinor);
    h->set_node_name(client_.opts.node_name);
    h->set_program_version(client_.opts.program_version);
    (void)t_->Send(hello);
  }

  void OnHelloReply(const v1::Envelope& envelope) {
    if (envelope.body_case() == v1::Envelope::kGoodbye) {
      const auto& g = envelope.goodbye();
      Code code = IsKnownCode(g.code()) ? static_cast<Code>(g.code()) : Code::kUnavailable;
      t_->Close(
          Status(code, "the server at " + Target() + " closed the connection: " + g.message()),
          false, CloseKind::kPeerClosed);
      return;
    }
    if (envelope.body_case() != v1::Envelope::kHelloReply) {
      t_->Close(FailedPreconditionError("the server at " + Target() +
                                        " answered our hello with "
                                        "a " +
                                        std::string(BodyName(envelope)) +
                                        " frame; is it a Lifeboat channel server?"),
                true, CloseKind::kProtocolError);
      return;
    }
    const v1::HelloReply& r = envelope.hello_reply();
    if (!r.accepted()) {
      Code code = IsKnownCode(r.code()) && r.code() != 0 ? static_cast<Code>(r.code())
                                                         : Code::kFailedPrecondition;
      t_->Close(Status(code, "server " + r.node_name() + " (" + Target() +
                                 ") refused the connection: " + r.message()),
                false, CloseKind::kPeerClosed);
      return;
    }
    if (r.protocol_major() != kProtocolMajor) {
      t_->Close(
          FailedPreconditionError(
              "peer " + r.node_name() + " (lifeboat " + r.program_version() + ", " + Target() +
              ") speaks channel protocol " + std::to_string(r.protocol_major()) + "." +
              std::to_string(r.protocol_minor()) + "; this build (" + client_.opts.node_name +
              ", lifeboat " + client_.opts.program_version + ") speaks " +
              std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor) +
              "; upgrade the older side so that both speak the same major version"),
          true, CloseKind::kProtocolError);
      return;
    }
    {
      std::lock_guard lock(mu_);
      peer_.node_name = r.node_name();
      peer_.program_version = r.program_version();
      peer_.protocol_major = r.protocol_major();
      peer_.protocol_minor = r.protocol_minor();
      peer_.common_name = server_cn_;
      peer_.address = Target();
    }
    ready_ = true;
    timer_.cancel();
    client_.OnConnected(shared_from_this());
    ArmHeartbeat();
  }

  void ArmHeartbeat() {
    timer_.expires_after(client_.opts.heartbeat_interval);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnHeartbeat();
    });
  }

  void OnHeartbeat() {
    if (!t_->open()) return;
    const auto& o = client_.opts;
    const auto silent = Clock::now() - last_rx_;
    if (silent >= o.heartbeat_interval * o.missed_heartbeats) {
      t_->Close(UnavailableError("no answer from server " + peer().node_name + " (" + Target() +
                                 ") for " + std::to_string(Ms(silent)) + " ms (" +
                                 std::to_string(o.missed_heartbeats) +
                                 " missed heartbeats); the connection is considered dead"),
                true, CloseKind::kIoError);
      return;
    }
    v1::Envelope ping;
    ping.mutable_ping()->set_nonce(++ping_nonce_);
    ping.mutable_ping()->set_sent_unix_nanos(UnixNanos());
    ping_sent_ = Clock::now();
    (void)t_->Send(ping);
    ArmHeartbeat();
  }

  std::shared_ptr<PendingCall> Find(uint64_t call_id, bool erase) {
    std::lock_guard lock(mu_);
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return nullptr;
    std::shared_ptr<PendingCall> call = it->second;
    if (erase) calls_.erase(it);
    return call;
  }

  void ProtocolError(const std::string& what) {
    t_->Close(InvalidArgumentError("server " + peer().node_name + " (" + Target() + ") " + what),
              true, CloseKind::kProtocolError);
  }

  void OnFrame(v1::Envelope&& envelope) {
    last_rx_ = Clock::now();
    if (!ready_) {
      OnHelloReply(envelope);
      return;
    }
    switch (envelope.body_case()) {
      case v1::Envelope::kResponse: {
        std::shared_ptr<PendingCall> call = Find(envelope.call_id(), /*erase=*/true);
        if (!call) return;  // the caller gave up on it
        {
          std::lock_guard lock(call->mu);
          if (!call->done) {
            call->done = true;
            call->status = FromResponse(envelope.response());
            call->payload = std::move(*envelope.mutable_response()->mutable_payload());
          }
        }
        call->cv.notify_all();
        return;
      }
      case v1::Envelope::kProgress: {
        std::shared_ptr<PendingCall> call = Find(envelope.call_id(), false);
        if (!call) return;
        {
          std::lock_guard lock(call->mu);
          call->progress = std::move(*envelope.mutable_progress());
        }
        call->cv.notify_all();
        return;
      }
      case v1::Envelope::kData: {
        // Data chunks normally arrive through OnData; this is a data frame in another
        // (legal, non-canonical) encoding.
        FrameDecoder::DataView view;
        view.call_id = envelope.call_id();
        view.chunk = envelope.data().chunk();
        view.last = envelope.data().last();
        OnData(view, nullptr);
        return;
      }
      case v1::Envelope::kPong: {
        if (envelope.pong().nonce() == ping_nonce_) {
          client_.rtt_us.store(
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - ping_sent_)
                  .count());
        }
        return;
      }
      case v1::Envelope::kPing: {
        v1::Envelope pong;
        pong.mutable_pong()->set_nonce(envelope.ping().nonce());
        pong.mutable_pong()->set_sent_unix_nanos(envelope.ping().sent_unix_nanos());
        (void)t_->Send(pong);
        return;
      }
      case v1::Envelope::kGoodbye:
        t_->Close(UnavailableError("server " + peer().node_name + " (" + Target() +
                                   ") closed the connection: " + envelope.goodbye().message()),
                  false, CloseKind::kPeerClosed);
        return;
      default:
        ProtocolError("sent an unexpected " + std::string(BodyName(envelope)) + " frame");
        return;
    }
  }

  void OnData(const FrameDecoder::DataView& data, FrameDecoder::Detached* owned) {
    last_rx_ = Clock::now();
    std::shared_ptr<PendingCall> call = Find(data.call_id, false);
    if (!call) return;  // the caller gave up on it
    bool overflow = false;
    {
      std::lock_guard lock(call->mu);
      if (!call->stream) {
        overflow = true;
      } else {
        call->buffered += data.chunk.size();
        // The server may not send more than the window we granted.
        overflow = call->buffered > call->window;
        if (!overflow && !data.chunk.empty()) {
          PendingCall::Chunk chunk;
          if (owned != nullptr) {
            chunk.buffer = std::move(owned->buffer);
            chunk.offset = owned->offset;
            chunk.transport_buffer = true;
          } else {
            if (!call->spare.empty()) {
              chunk.buffer = std::move(call->spare.back());
              call->spare.pop_back();
            }
            chunk.buffer.assign(data.chunk);
          }
          chunk.size = data.chunk.size();
          call->chunks.push_back(std::move(chunk));
        }
        if (data.last) call->last_seen = true;
      }
    }
    if (overflow) {
      ProtocolError(
          "sent stream data beyond the flow-control window, or for a call that is not a "
          "stream");
      return;
    }
    call->cv.notify_all();
  }

  void MarkDown(const Status& why) {
    std::lock_guard lock(mu_);
    down_ = true;
    down_reason_ = why;
  }

  void OnClosed(const Status& why, CloseKind kind) {
    timer_.cancel();
    std::map<uint64_t, std::shared_ptr<PendingCall>> calls;
    {
      std::lock_guard lock(mu_);
      down_ = true;
      down_reason_ = why;
      calls.swap(calls_);
    }
    // The client's state first: a caller whose call fails here sees Connected() false.
    client_.OnConnectionDown(this, why);
    if (ready_) {
      Status lost = Status(Code::kUnavailable,
                           "the connection to " + Target() + " was lost (" + why.ToString() +
                               "); the call may or may not have run: retry it, with the same "
                               "op_id");
      if (why.code() == Code::kCancelled) lost = why;  // the client is closing
      for (auto& [id, call] : calls) call->Fail(lost);
      if (kind != CloseKind::kLocal) {
        spdlog::warn("channel client {}: {}", client_.opts.node_name, why.ToString());
      }
    }
  }

  Client::Impl& client_;
  std::shared_ptr<Transport> t_;
  asio::steady_timer timer_;  // connect timeout, then heartbeats
  tcp::resolver resolver_;
  bool reading_ = false;   // strand
  bool ready_ = false;     // strand
  std::string server_cn_;  // strand
  Clock::time_point last_rx_ = Clock::now();
  uint64_t ping_nonce_ = 0;
  Clock::time_point ping_sent_;

  mutable std::mutex mu_;
  PeerInfo peer_;
  bool down_ = false;
  Status down_reason_;
  std::map<uint64_t, std::shared_ptr<PendingCall>> calls_;
};

void Client::Impl::StartConnectLocked() {
  state = State::kConnecting;
  auto transport =
      std::make_shared<Transport>(io, tls ? tls->native_handle() : nullptr, opts.max_frame_bytes);
  conn = std::make_shared<ClientConnection>(*this, transport);
  asio::dispatch(transport->strand(), [c = conn] { c->Connect(); });
}

void Client::Impl::OnConnected(const std::shared_ptr<ClientConnection>& c) {
  {
    std::lock_guard lock(mu);
    if (conn != c || state != State::kConnecting) return;
    state = State::kReady;
    backoff = opts.reconnect_backoff_min;
    last_error = OkStatus();
  }
  cv.notify_all();
}

void Client::Impl::OnConnectionDown(const ClientConnection* c, const Status& why) {
  {
    std::lock_guard lock(mu);
    if (conn.get() != c) return;
    conn.reset();
    if (state == State::kClosed) return;
    const bool was_ready = state == State::kReady;
    state = State::kBackoff;
    last_error = why;
    // After losing a working connection, try again soon; after failed attempts, slow down.
    if (was_ready) backoff = opts.reconnect_backoff_min;
    ScheduleReconnectLocked();
  }
  cv.notify_all();
}

void Client::Impl::ScheduleReconnectLocked() {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const auto delay = milliseconds(std::max<int64_t>(
      1, static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter(rng))));
  backoff = std::min(backoff * 2, opts.reconnect_backoff_max);
  next_attempt = Clock::now() + delay;
  asio::post(io, [this, delay] {
    reconnect_timer.expires_after(delay);
    reconnect_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      std::lock_guard lock(mu);
      if (state == State::kBackoff && Clock::now() >= next_attempt - milliseconds(1)) {
        StartConnectLocked();
      }
    });
  });
}

StatusOr<std::shared_ptr<ClientConnection>> Client::Impl::AwaitConnection(
    Clock::time_point deadline, const CallOptions& call) {
  if (!config_error.ok()) {
    return config_error.WithContext("channel client for " + Target() + " is misconfigured");
  }
  std::unique_lock lock(mu);
  for (;;) {
    switch (state) {
      case State::kClosed:
        return CancelledError("the channel client for " + Target() + " is closing");
      case State::kReady:
        return conn;
      case State::kIdle:
        StartConnectLocked();
        break;
      case State::kBackoff:
        if (!call.wait_for_ready) {
          // Certificates and protocol versions do not fix themselves: keep their codes.
          const Code code = last_error.code() == Code::kUnauthenticated ||
                                    last_error.code() == Code::kFailedPrecondition
                                ? last_error.code()
                                : Code::kUnavailable;
          return Status(
              code,
              "no connection to " + Target() + ": " + last_error.message() + " (next attempt in " +
                  std::to_string(std::max<int64_t>(0, Ms(next_attempt - Clock::now()))) + " ms)");
        }
        break;
      case State::kConnecting:
      default:
        break;
    }
    if (state == State::kIdle || state == State::kReady) continue;
    if (call.cancel != nullptr && call.cancel->load()) {
      return CancelledError("call cancelled by the caller while connecting to " + Target());
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return Status(Code::kDeadlineExceeded,
                    "no connection to " + Target() + " within the call's deadline" +
                        (last_error.ok() ? std::string() : ": " + last_error.message()));
    }
    auto until = deadline;
    if (call.cancel != nullptr) until = std::min(until, now + kCancelPoll);
    cv.wait_until(lock, until);
  }
}

StatusOr<std::string> Client::Impl::Invoke(const std::string& method, const std::string& request,
                                           const CallOptions& options,
                                           const ChunkHandler* on_chunk) {
  const auto start = Clock::now();
  const milliseconds budget =
      options.deadline.count() > 0 ? options.deadline : opts.default_deadline;
  const auto deadline = start + budget;
  LIFEBOAT_ASSIGN_OR_RETURN(std::shared_ptr<ClientConnection> c,
                            AwaitConnection(deadline, options));

  const uint64_t call_id = next_call_id.fetch_add(1);
  auto call = std::make_shared<PendingCall>();
  v1::Envelope envelope;
  envelope.set_call_id(call_id);
  v1::Request* r = envelope.mutable_request();
  r->set_method(method);
  r->set_op_id(options.op_id);
  r->set_deadline_ms(static_cast<uint64_t>(std::max<int64_t>(1, Ms(deadline - Clock::now()))));
  r->set_payload(request);
  if (on_chunk != nullptr) {
    call->stream = true;
    call->window = std::max<uint64_t>(opts.stream_window_bytes, 64 << 10);
    r->set_stream(true);
    r->set_stream_window(call->window);
  }
  std::string frame;
  Status encoded = AppendFrame(envelope, opts.max_frame_bytes, &frame);
  if (!encoded.ok()) return encoded.WithContext("request of method " + method);
  Status down;
  if (!c->Register(call_id, call, &down)) {
    return UnavailableError("the connection to " + Target() + " was lost before the call of " +
                            method + " was sent (" + down.ToString() + "); retry it");
  }
  c->transport().SendFrame(std::move(frame));

  const std::string op = options.op_id.empty() ? "" : " (op_id " + options.op_id + ")";
  uint64_t consumed = 0;
  auto cancelled = [&] {
    c->Abandon(call_id);
    return CancelledError("call of " + method + op + " to " + Target() +
                          " cancelled by the caller; the server was told to stop");
  };
  std::unique_lock lock(call->mu);
  for (;;) {
    if (call->progress.has_value()) {
      v1::Progress p = std::move(*call->progress);
      call->progress.reset();
      if (options.on_progress) {
        lock.unlock();
        options.on_progress(p);
        lock.lock();
      }
      continue;
    }
    if (!call->chunks.empty()) {
      // A cancel stops the delivery too, not only the wait: chunks the server sent before it
      // heard of the cancel are dropped (a sink that set the flag got all of them, and the
      // call answered OK, when they were already buffered).
      if (options.cancel != nullptr && options.cancel->load()) {
        lock.unlock();
        return cancelled();
      }
      PendingCall::Chunk chunk = std::move(call->chunks.front());
      call->chunks.pop_front();
      call->buffered -= chunk.size;
      lock.unlock();
      Status delivered = (*on_chunk)(chunk.bytes());
      consumed += chunk.size;
      if (chunk.transport_buffer) {
        c->transport().ReturnReadBuffer(std::move(chunk.buffer));
      } else {
        lock.lock();
        if (call->spare.size() < 2) {
          chunk.buffer.clear();
          call->spare.push_back(std::move(chunk.buffer));
        }
        lock.unlock();
      }
      if (!delivered.ok()) {
        c->Abandon(call_id);
        return delivered;
      }
      // Grant credit in quarters of the window: few WindowUpdates, and the server never
      // waits for more than a quarter to drain.
      if (consumed >= call->window / 4) {
        c->GrantWindow(call_id, consumed);
        consumed = 0;
      }
      lock.lock();
      continue;
    }
    if (call->done) break;
    if (options.cancel != nullptr && options.cancel->load()) {
      lock.unlock();
      return cancelled();
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      lock.unlock();
      c->Abandon(call_id);
      return Status(Code::kDeadlineExceeded, "call of " + method + op + " to " + Target() +
                                                 " did not finish within its deadline of " +
                                                 std::to_string(budget.count()) +
                                                 " ms; the server was told to stop");
    }
    auto until = deadline;
    if (options.cancel != nullptr) until = std::min(until, now + kCancelPoll);
    call->cv.wait_until(lock, until);
  }
  if (!call->status.ok()) return call->status;
  if (call->stream && !call->last_seen) {
    return DataLossError("stream " + method + " from " + Target() +
                         " ended without its last chunk");
  }
  return std::move(call->payload);
}

void Client::Impl::Shutdown() {
  std::shared_ptr<ClientConnection> c;
  {
    std::lock_guard lock(mu);
    if (state == State::kClosed && !work) return;
    state = State::kClosed;
    c = std::move(conn);
  }
  cv.notify_all();
  if (c) c->Close(CancelledError("the channel client " + opts.node_name + " is closing"));
  asio::post(io, [this] { reconnect_timer.cancel(); });
  work.reset();
  // The goodbye gets a moment to leave; then everything still pending is abandoned.
  for (int i = 0; i < 200 && !io.stopped(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  io.stop();
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
  threads.clear();
}

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() { impl_->Shutdown(); }

StatusOr<std::string> Client::Call(const std::string& method, const std::string& request,
                                   const CallOptions& options) {
  return impl_->Invoke(method, request, options, nullptr);
}

Status Client::Fetch(const std::string& method, const std::string& request,
                     const ChunkHandler& on_chunk, const CallOptions& options) {
  if (!on_chunk) return InvalidArgumentError("Fetch needs a chunk handler", method);
  return impl_->Invoke(method, request, options, &on_chunk).status();
}

bool Client::Connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state == Impl::State::kReady;
}

std::optional<std::chrono::microseconds> Client::LastRoundTrip() const {
  const int64_t us = impl_->rtt_us.load();
  if (us < 0) return std::nullopt;
  return std::chrono::microseconds(us);
}

std::optional<PeerInfo> Client::Peer() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->state != Impl::State::kReady || !impl_->conn) return std::nullopt;
  return impl_->conn->peer();
}

}  // namespace lifeboat::core::net
