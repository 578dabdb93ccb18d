#include <lifeboat/core/net/server.h>

#include "tls.h"
#include "transport.h"
#include "worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace lifeboat::core::net {

using internal::CloseKind;
using internal::Transport;
namespace asio = internal::asio;
using internal::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Answers with these codes are not remembered for an op_id: the retry should run again.
bool Rememberable(Code code) {
  switch (code) {
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kResourceExhausted:
    case Code::kCancelled:
      return false;
    default:
      return true;
  }
}

v1::Response ToResponse(const Status& status) {
  v1::Response r;
  r.set_code(static_cast<int32_t>(status.code()));
  r.set_message(status.message());
  r.set_subject(status.subject());
  return r;
}

std::string Endpoint(const tcp::endpoint& ep) {
  const std::string address = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

constexpr uint64_t kMinStreamWindow = 64 << 10;
constexpr uint64_t kMaxStreamWindow = 1ull << 30;
constexpr size_t kMaxChunkBytes = 1 << 20;

}  // namespace

class ServerConnection;

// One call in progress on the server: its context for the handler, its writer for streams.
class ServerCall final : public CallContext,
                         public StreamWriter,
                         public std::enable_shared_from_this<ServerCall> {
 public:
  ServerCall(uint64_t call_id, const v1::Request& request, std::shared_ptr<const PeerInfo> peer,
             std::weak_ptr<ServerConnection> conn, uint32_t max_frame_bytes)
      : call_id_(call_id),
        method_(request.method()),
        op_id_(request.op_id()),
        stream_(request.stream()),
        peer_(std::move(peer)),
        conn_(std::move(conn)) {
    deadline_ = request.deadline_ms() == 0
                    ? Clock::time_point::max()
                    : Clock::now() + std::chrono::milliseconds(request.deadline_ms());
    if (stream_) {
      credit_ = std::clamp<uint64_t>(request.stream_window(), kMinStreamWindow, kMaxStreamWindow);
      // A chunk never exceeds a quarter of the window, so the caller's grants (sent after each
      // quarter consumed) always make room for the next one.
      max_chunk_ = std::min<size_t>({kMaxChunkBytes, credit_ / 4, max_frame_bytes - 64});
    }
  }

  // CallContext
  const std::string& method() const override { return method_; }
  const std::string& op_id() const override { return op_id_; }
  Clock::time_point deadline() const override { return deadline_; }
  bool cancelled() const override { return cancelled_.load(std::memory_order_acquire); }
  void ReportProgress(const v1::Progress& progress) override;
  const PeerInfo& peer() const override { return *peer_; }

  // StreamWriter
  Status Write(std::string_view chunk) override;
  size_t max_chunk_bytes() const override { return max_chunk_; }
  uint64_t bytes_written() const override { return written_; }

  uint64_t call_id() const { return call_id_; }
  bool stream() const { return stream_; }
  std::string payload;

  void Cancel(bool connection_lost) {
    {
      std::lock_guard lock(mu_);
      if (connection_lost) lost_ = true;
      cancelled_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }
  void Grant(uint64_t bytes) {
    {
      std::lock_guard lock(mu_);
      credit_ = std::min(credit_ + bytes, kMaxStreamWindow);
    }
    cv_.notify_all();
  }
  // Takes the newest unsent progress report (on the connection's strand).
  std::optional<v1::Progress> TakeProgress() {
    std::lock_guard lock(progress_mu_);
    progress_scheduled_ = false;
    return std::exchange(pending_progress_, std::nullopt);
  }

 private:
  const uint64_t call_id_;
  const std::string method_;
  const std::string op_id_;
  const bool stream_;
  Clock::time_point deadline_;
  std::shared_ptr<const PeerInfo> peer_;
  std::weak_ptr<ServerConnection> conn_;
  std::atomic<bool> cancelled_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool lost_ = false;
  uint64_t credit_ = 0;
  size_t max_chunk_ = kMaxChunkBytes;
  uint64_t written_ = 0;

  std::mutex progress_mu_;
  std::optional<v1::Progress> pending_progress_;
  bool progress_scheduled_ = false;
};

class Server::Impl {
 public:
  explicit Impl(ServerOptions options) : opts(std::move(options)) {
    if (opts.program_version.empty()) opts.program_version = LIFEBOAT_NET_PROGRAM_VERSION;
  }

  // A request with an op_id waiting for the first request of that operation to finish.
  struct Waiter {
    std::weak_ptr<ServerConnection> conn;
    uint64_t call_id;
  };
  struct OpEntry {
    bool done = false;
    v1::Response response;
    std::vector<Waiter> waiters;
  };
  struct MethodOps {
    std::unordered_map<std::string, OpEntry> entries;
    std::deque<std::string> done_order;  // oldest first, for eviction
  };

  // What to do with an op_id'ed request: run it, or it was answered / queued as a waiter.
  enum class OpDecision { kRun, kAnswered, kWaiting };
  OpDecision ClaimOp(const std::string& method, const std::string& op_id,
                     const std::shared_ptr<ServerConnection>& conn, uint64_t call_id,
                     v1::Response* answer);
  // Records the answer of an operation; returns the requests that waited for it.
  std::vector<Waiter> CompleteOp(const std::string& method, const std::string& op_id,
                                 const v1::Response& response);

  void RunCall(const std::shared_ptr<ServerCall>& call,
               const std::shared_ptr<ServerConnection>& conn);
  void Accept();
  void Forget(ServerConnection* conn);
  void NoteConnectionError(const std::string& error) {
    std::lock_guard lock(stats_mu);
    stats.last_connection_error = error;
  }
  void Count(uint64_t ServerStats::*field, int64_t delta = 1) {
    std::lock_guard lock(stats_mu);
    stats.*field += delta;
  }

  ServerOptions opts;
  std::map<std::string, Handler> unary;
  std::map<std::string, StreamHandler> streams;
  std::unique_ptr<asio::ssl::context> tls;  // owns the SSL_CTX

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> io_threads;
  std::unique_ptr<internal::WorkerPool> workers;
  std::atomic<uint16_t> port{0};

  std::mutex state_mu;
  enum class State { kNew, kRunning, kStopped } state = State::kNew;
  std::atomic<bool> stopping{false};

  std::mutex conns_mu;
  std::condition_variable conns_cv;
  std::map<ServerConnection*, std::shared_ptr<ServerConnection>> conns;

  mutable std::mutex stats_mu;
  ServerStats stats;

  std::mutex ops_mu;
  std::map<std::string, MethodOps> ops;
};

// One accepted connection: TLS handshake, hello, then requests.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(Server::Impl& server, std::shared_ptr<Transport> transport)
      : server_(server), t_(std::move(transport)), timer_(t_->strand()) {}

  Transport& transport() { return *t_; }

  // On the strand.
  void Start() {
    last_rx_ = Clock::now();
    timer_.expires_after(server_.opts.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnTimer();
    });
    if (!t_->tls()) {
      // Without TLS the frame decoder itself recognises a TLS client (frame.h).
      StartReading();
      return;
    }
    // Peek at the first byte: a TLS handshake record starts with 0x16. Anything else is a
    // client without TLS, which deserves a readable answer rather than a TLS alert.
    t_->socket().async_receive(asio::buffer(&first_byte_, 1), tcp::socket::message_peek,
                               [self = shared_from_this()](const boost::system::error_code& ec,
                                                           size_t n) { self->OnPeek(ec, n); });
  }

  // Any thread: tells the peer goodbye and closes.
  void Close(const Status& why) { t_->Close(why, /*goodbye=*/true); }

  // Any thread: sends the end of call `call_id` if it is still open.
  void Finish(uint64_t call_id, v1::Response response) {
    asio::dispatch(t_->strand(),
                   [self = shared_from_this(), call_id, response = std::move(response)]() mutable {
                     self->FinishOnStrand(call_id, std::move(response));
                   });
  }

  // Any thread: flushes the newest progress of `call` to the caller.
  void FlushProgress(std::shared_ptr<ServerCall> call) {
    asio::post(t_->strand(), [self = shared_from_this(), call = std::move(call)] {
      std::optional<v1::Progress> p = call->TakeProgress();
      if (!p || !self->calls_.contains(call->call_id())) return;
      v1::Envelope envelope;
      envelope.set_call_id(call->call_id());
      *envelope.mutable_progress() = std::move(*p);
      (void)self->t_->Send(envelope);
    });
  }

 private:
  void StartReading() {
    reading_ = true;
    t_->StartReading([self = shared_from_this()](
                         v1::Envelope&& envelope) { self->OnFrame(std::move(envelope)); },
                     [self = shared_from_this()](const Status& why, CloseKind kind) {
                       self->OnClosed(why, kind);
                     });
  }

  void OnPeek(const boost::system::error_code& ec, size_t n) {
    if (ec || n == 0) {
      FailHandshake(UnavailableError("connection from " + t_->remote() +
                                     " closed before the TLS handshake: " + ec.message()));
      return;
    }
    if (first_byte_ != 0x16) {
      RefusePlainClient();
      return;
    }
    if (Status prepared = t_->PrepareTls(/*server=*/true); !prepared.ok()) {
      FailHandshake(prepared);
      return;
    }
    t_->Handshake([self = shared_from_this()](const Status& done) { self->OnHandshake(done); });
  }

  void RefusePlainClient() {
    Status why = FailedPreconditionError(
        "node " + server_.opts.node_name + " requires TLS with a client certificate, and client " +
        t_->remote() +
        " connected without TLS; enable TLS on the client (tls.enabled, with ca_file, "
        "cert_file and key_file)");
    FailHandshake(why, /*close=*/false);
    // Written in clear text, so that a plain client can decode it.
    v1::Envelope envelope;
    envelope.mutable_goodbye()->set_code(static_cast<int32_t>(why.code()));
    envelope.mutable_goodbye()->set_message(why.ToString());
    auto frame = std::make_shared<std::string>();
    if (!AppendFrame(envelope, kDefaultMaxFrameBytes, frame.get()).ok()) return;
    asio::async_write(t_->socket(), asio::buffer(*frame),
                      [self = shared_from_this(), frame](const boost::system::error_code&, size_t) {
                        self->t_->Close(UnavailableError("refused"), false);
                      });
  }

  void OnHandshake(const Status& done) {
    if (!done.ok()) {
      FailHandshake(done.WithContext("client " + t_->remote()));
      return;
    }
    common_name_ = internal::PeerCommonName(t_->ssl());
    StartReading();
  }

  // Before hello: the connection never became usable.
  // With close = false the caller closes the transport itself (after a last write).
  void FailHandshake(const Status& why, bool close = true) {
    if (handshake_failed_) return;
    handshake_failed_ = true;
    spdlog::warn("channel {}: {}", server_.opts.node_name, why.ToString());
    server_.Count(&ServerStats::handshake_failures);
    server_.NoteConnectionError(why.ToString());
    timer_.cancel();
    if (close) t_->Close(why, false);
    if (!reading_) server_.Forget(this);
  }

  void OnTimer() {
    if (!t_->open()) return;
    if (!hello_done_) {
      FailHandshake(DeadlineExceededStatus(
          "client " + t_->remote() + " did not complete the TLS handshake and hello within " +
          std::to_string(server_.opts.handshake_timeout.count()) + " ms (handshake_timeout)"));
      return;
    }
    const auto silent = Clock::now() - last_rx_;
    if (silent >= server_.opts.heartbeat_timeout) {
      server_.Count(&ServerStats::heartbeat_timeouts);
      Status why = UnavailableError(
          "no frame from " + peer_->node_name + " (" + t_->remote() + ") for " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()) +
          " ms (heartbeat_timeout " + std::to_string(server_.opts.heartbeat_timeout.count()) +
          " ms); closing its connection as dead");
      spdlog::warn("channel {}: {}", server_.opts.node_name, why.ToString());
      server_.NoteConnectionError(why.ToString());
      t_->Close(why, true);
      return;
    }
    ArmHeartbeatCheck();
  }

  void ArmHeartbeatCheck() {
    auto period = std::max<std::chrono::milliseconds>(server_.opts.heartbeat_timeout / 4,
                                                      std::chrono::milliseconds(5));
    timer_.expires_after(period);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnTimer();
    });
  }

  static Status DeadlineExceededStatus(std::string message) {
    return Status(Code::kDeadlineExceeded, std::move(message));
  }

  void OnFrame(v1::Envelope&& envelope) {
    last_rx_ = Clock::now();
    if (!hello_done_) {
      OnHello(envelope);
      return;
    }
    switch (envelope.body_case()) {
      case v1::Envelope::kRequest:
        OnRequest(envelope.call_id(), envelope.request());
        return;
      case v1::Envelope::kCancel:
        if (auto it = calls_.find(envelope.call_id()); it != calls_.end()) {
          it->second->Cancel(false);
          calls_.erase(it);
        }
        return;
      case v1::Envelope::kWindowUpdate:
        if (auto it = calls_.find(envelope.call_id()); it != calls_.end()) {
          it->second->Grant(envelope.window_update().bytes());
        }
        return;
      case v1::Envelope::kPing: {
        v1::Envelope pong;
        pong.mutable_pong()->set_nonce(envelope.ping().nonce());
        pong.mutable_pong()->set_sent_unix_nanos(envelope.ping().sent_unix_nanos());
        (void)t_->Send(pong);
        return;
      }
      case v1::Envelope::kPong:
        return;
      case v1::Envelope::kGoodbye:
        t_->Close(UnavailableError("client " + peer_->node_name +
                                   " said goodbye: " + envelope.goodbye().message()),
                  false, CloseKind::kPeerClosed);
        return;
      default:
        ProtocolError(InvalidArgumentError("unexpected " + std::string(BodyName(envelope)) +
                                           " frame from client " + peer_->node_name + " (" +
                                           t_->remote() +
                                           "); a client sends requests, "
                                           "cancels, window updates and pings"));
        return;
    }
  }

  void ProtocolError(const Status& why) { t_->Close(why, true, CloseKind::kProtocolError); }

  void OnHello(const v1::Envelope& envelope) {
    const auto& opts = server_.opts;
    const std::string self_desc =
        "this build (" + opts.node_name + ", lifeboat " + opts.program_version + ")";
    v1::Envelope reply;
    v1::HelloReply* r = reply.mutable_hello_reply();
    r->set_protocol_major(kProtocolMajor);
    r->set_protocol_minor(kProtocolMinor);
    r->set_node_name(opts.node_name);
    r->set_program_version(opts.program_version);
    Status refusal;
    if (envelope.body_case() != v1::Envelope::kHello) {
      refusal =
          FailedPreconditionError("the first frame of a connection must be a hello, but client " +
                                  t_->remote() + " sent a " + std::string(BodyName(envelope)) +
                                  " frame; is it a Lifeboat channel client of protocol " +
                                  std::to_string(kProtocolMajor) + ".x?");
    } else if (envelope.hello().protocol_major() != kProtocolMajor) {
      const v1::Hello& h = envelope.hello();
      refusal = FailedPreconditionError(
          "peer " + h.node_name() + " (lifeboat " + h.program_version() + ", " + t_->remote() +
          ") speaks channel protocol " + std::to_string(h.protocol_major()) + "." +
          std::to_string(h.protocol_minor()) + "; " + self_desc + " speaks " +
          std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor) +
          "; upgrade the older side so that both speak the same major version");
    }
    if (!refusal.ok()) {
      r->set_accepted(false);
      r->set_code(static_cast<int32_t>(refusal.code()));
      r->set_message(refusal.message());
      (void)t_->Send(reply);
      FailHandshake(refusal);
      return;
    }
    auto peer = std::make_shared<PeerInfo>();
    peer->node_name = envelope.hello().node_name();
    peer->program_version = envelope.hello().program_version();
    peer->protocol_major = envelope.hello().protocol_major();
    peer->protocol_minor = envelope.hello().protocol_minor();
    peer->common_name = common_name_;
    peer->address = t_->remote();
    peer_ = std::move(peer);
    r->set_accepted(true);
    (void)t_->Send(reply);
    hello_done_ = true;
    timer_.cancel();
    ArmHeartbeatCheck();
  }

  void SendResponse(uint64_t call_id, const v1::Response& response) {
    v1::Envelope envelope;
    envelope.set_call_id(call_id);
    *envelope.mutable_response() = response;
    Status sent = t_->Send(envelope);
    if (!sent.ok()) {
      // The answer does not fit in a frame: the caller gets why instead of nothing.
      envelope.mutable_response()->Clear();
      envelope.mutable_response()->set_code(static_cast<int32_t>(Code::kResourceExhausted));
      envelope.mutable_response()->set_message(
          "the answer does not fit in one frame: " + sent.message() +
          "; return large results through a stream method (Fetch)");
      (void)t_->Send(envelope);
    }
  }

  void FinishOnStrand(uint64_t call_id, v1::Response response) {
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return;  // cancelled, or the connection closed
    calls_.erase(it);
    SendResponse(call_id, response);
  }

  void RespondNow(uint64_t call_id, const Status& status) {
    SendResponse(call_id, ToResponse(status));
  }

  void OnRequest(uint64_t call_id, const v1::Request& request) {
    if (call_id == 0 || calls_.contains(call_id)) {
      ProtocolError(InvalidArgumentError("client " + peer_->node_name +
                                         " sent a request with call id " + std::to_string(call_id) +
                                         (call_id == 0 ? " (0 is reserved)" : ", already in use")));
      return;
    }
    const std::string& method = request.method();
    const bool is_unary = server_.unary.contains(method);
    const bool is_stream = server_.streams.contains(method);
    if (!is_unary && !is_stream) {
      std::string known;
      for (const auto& [name, h] : server_.unary) known += (known.empty() ? "" : ", ") + name;
      for (const auto& [name, h] : server_.streams) known += (known.empty() ? "" : ", ") + name;
      RespondNow(call_id,
                 UnimplementedError("node " + server_.opts.node_name + " has no method \"" +
                                    method + "\" (it has: " + known + ")"));
      return;
    }
    if (request.stream() && !is_stream) {
      RespondNow(call_id, InvalidArgumentError("method " + method +
                                               " answers with one response; use Client::Call"));
      return;
    }
    if (!request.stream() && is_stream) {
      RespondNow(call_id,
                 InvalidArgumentError("method " + method + " is a bulk stream; use Client::Fetch"));
      return;
    }
    auto call = std::make_shared<ServerCall>(call_id, request, peer_, weak_from_this(),
                                             t_->max_frame_bytes());
    call->payload = request.payload();
    calls_.emplace(call_id, call);
    if (!request.stream() && !request.op_id().empty()) {
      v1::Response answer;
      switch (server_.ClaimOp(method, request.op_id(), shared_from_this(), call_id, &answer)) {
        case Server::Impl::OpDecision::kAnswered:
          FinishOnStrand(call_id, std::move(answer));
          return;
        case Server::Impl::OpDecision::kWaiting:
          return;
        case Server::Impl::OpDecision::kRun:
        default:
          break;
      }
    }
    auto self = shared_from_this();
    if (!server_.workers->Submit([&server = server_, call, self] { server.RunCall(call, self); })) {
      calls_.erase(call_id);
      RespondNow(call_id, UnavailableError("node " + server_.opts.node_name + " is stopping"));
    }
  }

  void OnClosed(const Status& why, CloseKind kind) {
    // Plain calls and streams stop with their connection; operations (op_id) run on so that
    // the caller's retry collects their answer.
    for (auto& [id, call] : calls_) {
      if (call->op_id().empty() || call->stream()) call->Cancel(/*connection_lost=*/true);
    }
    calls_.clear();
    timer_.cancel();
    if (kind == CloseKind::kProtocolError || kind == CloseKind::kIoError) {
      if (hello_done_) {
        if (kind == CloseKind::kProtocolError) server_.Count(&ServerStats::protocol_errors);
        spdlog::warn("channel {}: connection of {} closed: {}", server_.opts.node_name,
                     peer_ ? peer_->node_name : t_->remote(), why.ToString());
        server_.NoteConnectionError(why.ToString());
      } else {
        FailHandshake(why);
      }
    }
    server_.Forget(this);
  }

  Server::Impl& server_;
  std::shared_ptr<Transport> t_;
  asio::steady_timer timer_;
  Clock::time_point last_rx_;
  unsigned char first_byte_ = 0;
  bool reading_ = false;
  bool hello_done_ = false;
  bool handshake_failed_ = false;
  std::string common_name_;
  std::shared_ptr<const PeerInfo> peer_;
  std::map<uint64_t, std::shared_ptr<ServerCall>> calls_;  // strand only
};

void ServerCall::ReportProgress(const v1::Progress& progress) {
  std::shared_ptr<ServerConnection> conn = conn_.lock();
  if (!conn) return;
  {
    std::lock_guard lock(progress_mu_);
    pending_progress_ = progress;
    if (progress_scheduled_) return;
    progress_scheduled_ = true;
  }
  // The call is kept alive by the posted flush; it only reads the pending report.
  conn->FlushProgress(shared_from_this());
}

Status ServerCall::Write(std::string_view chunk) {
  while (!chunk.empty()) {
    const size_t n = std::min(chunk.size(), max_chunk_);
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return credit_ >= n || cancelled(); });
      if (lost_) {
        return UnavailableError("the connection to the caller of stream " + method_ + " was lost");
      }
      if (cancelled()) {
        return CancelledError("the caller cancelled stream " + method_ +
                              ", or the server is stopping");
      }
      credit_ -= n;
    }
    std::shared_ptr<ServerConnection> conn = conn_.lock();
    if (!conn) {
      return UnavailableError("the connection to the caller of stream " + method_ + " was lost");
    }
    std::string frame = conn->transport().TakeBuffer();
    LIFEBOAT_RETURN_IF_ERROR(AppendDataFrame(call_id_, chunk.substr(0, n), false,
                                             conn->transport().max_frame_bytes(), &frame));
    conn->transport().SendFrame(std::move(frame));
    written_ += n;
    chunk.remove_prefix(n);
  }
  return OkStatus();
}

Server::Impl::OpDecision Server::Impl::ClaimOp(const std::string& method, const std::string& op_id,
                                               const std::shared_ptr<ServerConnection>& conn,
                                               uint64_t call_id, v1::Response* answer) {
  std::lock_guard lock(ops_mu);
  MethodOps& m = ops[method];
  auto it = m.entries.find(op_id);
  if (it == m.entries.end()) {
    m.entries.emplace(op_id, OpEntry{});
    return OpDecision::kRun;
  }
  Count(&ServerStats::calls_deduplicated);
  if (it->second.done) {
    *answer = it->second.response;
    return OpDecision::kAnswered;
  }
  it->second.waiters.push_back(Waiter{conn, call_id});
  return OpDecision::kWaiting;
}

std::vector<Server::Impl::Waiter> Server::Impl::CompleteOp(const std::string& method,
                                                           const std::string& op_id,
                                                           const v1::Response& response) {
  std::lock_guard lock(ops_mu);
  MethodOps& m = ops[method];
  auto it = m.entries.find(op_id);
  if (it == m.entries.end()) return {};
  std::vector<Waiter> waiters = std::move(it->second.waiters);
  const Code code = static_cast<Code>(response.code());
  if (!Rememberable(code) || (code != Code::kOk && !opts.remember_failures)) {
    m.entries.erase(it);
    return waiters;
  }
  it->second.done = true;
  it->second.response = response;
  m.done_order.push_back(op_id);
  while (m.done_order.size() > opts.remembered_ops_per_method) {
    m.entries.erase(m.done_order.front());
    m.done_order.pop_front();
  }
  return waiters;
}

void Server::Impl::RunCall(const std::shared_ptr<ServerCall>& call,
                           const std::shared_ptr<ServerConnection>& conn) {
  Count(&ServerStats::calls_started);
  const std::string& method = call->method();
  v1::Response response;
  if (call->cancelled()) {
    response = ToResponse(CancelledError("call of " + method + " cancelled before it started"));
  } else if (call->stream()) {
    Status status;
    try {
      status = streams.at(method)(*call, call->payload, *call);
    } catch (const std::exception& e) {
      status = InternalError("stream handler of " + method + " threw: " + e.what());
    } catch (...) {
      status = InternalError("stream handler of " + method + " threw a non-standard exception");
    }
    if (status.ok()) {
      // The last chunk marks the stream complete; the Response then ends the call.
      std::string frame;
      if (AppendDataFrame(call->call_id(), {}, true, opts.max_frame_bytes, &frame).ok()) {
        conn->transport().SendFrame(std::move(frame));
      }
    }
    response = ToResponse(status);
  } else {
    try {
      StatusOr<std::string> answer = unary.at(method)(*call, call->payload);
      if (answer.ok()) {
        response.set_code(static_cast<int32_t>(Code::kOk));
        response.set_payload(std::move(answer).value());
      } else {
        response = ToResponse(answer.status());
      }
    } catch (const std::exception& e) {
      response = ToResponse(InternalError("handler of " + method + " threw: " + e.what()));
    } catch (...) {
      response =
          ToResponse(InternalError("handler of " + method + " threw a non-standard exception"));
    }
  }
  if (!call->stream() && !call->op_id().empty()) {
    for (Waiter& w : CompleteOp(method, call->op_id(), response)) {
      if (std::shared_ptr<ServerConnection> c = w.conn.lock()) c->Finish(w.call_id, response);
    }
  }
  conn->Finish(call->call_id(), std::move(response));
}

void Server::Impl::Accept() {
  auto transport =
      std::make_shared<Transport>(io, tls ? tls->native_handle() : nullptr, opts.max_frame_bytes);
  acceptor->async_accept(
      transport->socket(), [this, transport](const boost::system::error_code& ec) {
        if (stopping.load()) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          spdlog::warn("channel {}: accept failed: {}", opts.node_name, ec.message());
        } else {
          boost::system::error_code ignored;
          transport->socket().set_option(tcp::no_delay(true), ignored);
          auto remote = transport->socket().remote_endpoint(ignored);
          transport->set_remote(ignored ? std::string("unknown peer") : Endpoint(remote));
          auto conn = std::make_shared<ServerConnection>(*this, transport);
          {
            std::lock_guard lock(conns_mu);
            conns.emplace(conn.get(), conn);
          }
          Count(&ServerStats::connections_accepted);
          Count(&ServerStats::connections_open);
          asio::dispatch(transport->strand(), [conn] { conn->Start(); });
        }
        Accept();
      });
}

void Server::Impl::Forget(ServerConnection* conn) {
  bool removed = false;
  {
    std::lock_guard lock(conns_mu);
    removed = conns.erase(conn) > 0;
  }
  if (removed) {
    Count(&ServerStats::connections_open, -1);
    conns_cv.notify_all();
  }
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { Stop(); }

Status Server::Register(std::string method, Handler handler) {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->state != Impl::State::kNew) {
    return FailedPreconditionError("methods are registered before Start()", method);
  }
  if (method.empty() || !handler) {
    return InvalidArgumentError("a method needs a name and a handler", method);
  }
  if (impl_->unary.contains(method) || impl_->streams.contains(method)) {
    return AlreadyExistsError("method is already registered on this server", method);
  }
  impl_->unary.emplace(std::move(method), std::move(handler));
  return OkStatus();
}

Status Server::RegisterStream(std::string method, StreamHandler handler) {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->state != Impl::State::kNew) {
    return FailedPreconditionError("methods are registered before Start()", method);
  }
  if (method.empty() || !handler) {
    return InvalidArgumentError("a stream method needs a name and a handler", method);
  }
  if (impl_->unary.contains(method) || impl_->streams.contains(method)) {
    return AlreadyExistsError("method is already registered on this server", method);
  }
  impl_->streams.emplace(std::move(method), std::move(handler));
  return OkStatus();
}

StatusOr<uint16_t> Server::Start() {
  Impl& d = *impl_;
  std::lock_guard lock(d.state_mu);
  if (d.state != Impl::State::kNew) {
    return FailedPreconditionError("server " + d.opts.node_name +
                                   " was already started; make a new Server to start again");
  }
  const ServerOptions& o = d.opts;
  if (o.max_frame_bytes < (64u << 10) || o.max_frame_bytes > kMaxFrameBytesLimit) {
    return InvalidArgumentError(
        "must be between 65536 and " + std::to_string(kMaxFrameBytesLimit) + " bytes",
        "max_frame_bytes");
  }
  if (o.io_threads < 1 || o.worker_threads < 1) {
    return InvalidArgumentError("io_threads and worker_threads must be at least 1",
                                "worker_threads");
  }
  if (o.heartbeat_timeout.count() <= 0 || o.handshake_timeout.count() <= 0) {
    return InvalidArgumentError("heartbeat_timeout and handshake_timeout must be positive",
                                "heartbeat_timeout");
  }
  if (o.tls.enabled) {
    LIFEBOAT_ASSIGN_OR_RETURN(d.tls, internal::MakeTlsContext(o.tls, /*server=*/true));
  } else {
    spdlog::warn(
        "channel {}: TLS is disabled: plain TCP, no encryption, no client authentication "
        "(embedded and test use only)",
        o.node_name);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(o.host, ec);
  if (ec) {
    return InvalidArgumentError("\"" + o.host + "\" is not an IP address: " + ec.message(), "host");
  }
  auto acceptor = std::make_unique<tcp::acceptor>(d.io);
  const tcp::endpoint endpoint(address, o.port);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("cannot listen on " + Endpoint(endpoint) + ": " + ec.message() +
                            "; is another process using the port?");
  }
  d.port = acceptor->local_endpoint().port();
  d.acceptor = std::move(acceptor);
  d.workers = std::make_unique<internal::WorkerPool>(o.worker_threads);
  d.work.emplace(d.io.get_executor());
  d.Accept();
  for (int i = 0; i < o.io_threads; ++i) d.io_threads.emplace_back([&d] { d.io.run(); });
  d.state = Impl::State::kRunning;
  return d.port.load();
}

void Server::Stop() {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.state_mu);
    if (d.state != Impl::State::kRunning) {
      d.state = Impl::State::kStopped;
      return;
    }
    d.state = Impl::State::kStopped;
  }
  d.stopping = true;
  asio::post(d.io, [&d] {
    boost::system::error_code ignored;
    d.acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<ServerConnection>> open;
  {
    std::lock_guard lock(d.conns_mu);
    for (auto& [ptr, conn] : d.conns) open.push_back(conn);
  }
  for (auto& conn : open) {
    conn->Close(UnavailableError("node " + d.opts.node_name + " is stopping"));
  }
  open.clear();
  // Handlers see cancelled() and return; streams blocked on credit wake up.
  d.workers->Shutdown();
  {
    std::unique_lock lock(d.conns_mu);
    d.conns_cv.wait_for(lock, std::chrono::seconds(2), [&d] { return d.conns.empty(); });
  }
  d.work.reset();
  d.io.stop();
  for (std::thread& t : d.io_threads) t.join();
  d.io_threads.clear();
  std::lock_guard lock(d.conns_mu);
  d.conns.clear();
}

uint16_t Server::port() const { return impl_->port.load(); }

ServerStats Server::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

std::vector<std::string> Server::methods() const {
  std::vector<std::string> out;
  for (const auto& [name, h] : impl_->unary) out.push_back(name);
  for (const auto& [name, h] : impl_->streams) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace lifeboat::core::net
