// The accepting end of the agent channel (see channel.h): serves registered methods to
// clients over TLS (or plain TCP when TlsOptions::enabled is false — see the warning there).
//
//   ServerOptions options;
//   options.port = 7443;
//   options.tls.ca_file = "/etc/lifeboat/ca.pem";  // and cert_file, key_file
//   options.node_name = "agent@primary-1";
//   Server server(options);
//   Status s = server.Register("agent.Cut", [](CallContext& ctx, const std::string& req)
//                                               -> StatusOr<std::string> { ... });
//   StatusOr<uint16_t> port = server.Start();
//
// Threads: network I/O runs on `io_threads` threads of the server's own; handlers run on a
// pool of `worker_threads`, so a slow handler delays neither heartbeats nor other calls'
// frames. More simultaneous calls than workers wait in a queue.
//
// Idempotency: a Request with a non-empty op_id is an operation. The server remembers the
// answers of completed operations, per method (the newest `remembered_ops_per_method`), and
// answers a repeated Request with the same method and op_id from memory, without running the
// handler again — also when it comes on another connection after a reconnect. A repeat that
// arrives while the first still runs waits for its answer. Answers with retryable codes
// (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) and CANCELLED are not remembered, so a
// retry runs the handler again. A repeat's payload is not compared: one op_id, one request. The
// memory is in-process: a restarted server has forgotten (services that need more keep operation
// results in their state store). Stream methods are never remembered.
//
// Cancellation: CallContext::cancelled() turns true when the caller sends Cancel (it gave up
// or passed its deadline), when the server stops, and when the connection is lost — except
// for operations (non-empty op_id), which run on after a lost connection so that the caller's
// retry with the same op_id collects their answer.
//
// Thread-safety: Register/RegisterStream before Start(); Start, Stop, port and stats may be
// called from any thread. Handlers are called concurrently from worker threads.
#ifndef LIFEBOAT_CORE_NET_SERVER_H_
#define LIFEBOAT_CORE_NET_SERVER_H_

#include <lifeboat/core/net/channel.h>
#include <lifeboat/core/net/frame.h>
#include <lifeboat/core/v1/rpc.pb.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::core::net {

struct ServerOptions {
  std::string host = "127.0.0.1";  // IP address to bind ("0.0.0.0" / "::": every interface)
  uint16_t port = 0;               // 0: any free port (Start() returns it)
  TlsOptions tls;
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::string node_name = "lifeboat";
  std::string program_version;  // empty: this build's version
  // A connection from which nothing (not even a Ping) arrived for this long is dead: it is
  // closed and its calls are cancelled. Keep it a few client heartbeat intervals long.
  std::chrono::milliseconds heartbeat_timeout{15000};
  // TLS handshake and hello must be done within this time after accepting.
  std::chrono::milliseconds handshake_timeout{10000};
  int io_threads = 1;
  int worker_threads = 4;
  size_t remembered_ops_per_method = 10000;
  // false: only OK answers are remembered; a failed operation runs again when repeated. For
  // services whose failures an operator may cure between two tries (a missing directory
  // created, a fence lifted), where an answer from memory would repeat a stale refusal.
  bool remember_failures = true;
};

// What a handler knows about its call, and how it reports back while running.
// Thread-safety: usable from the handler's thread and any thread it hands the call to, for as
// long as the handler runs; not after it returned.
class CallContext {
 public:
  virtual ~CallContext() = default;
  virtual const std::string& method() const = 0;
  // Empty when the call is not an idempotent operation.
  virtual const std::string& op_id() const = 0;
  // When the caller stops waiting (steady clock); time_point::max() without a deadline.
  // The server does not abort a handler at its deadline; long handlers should check it.
  virtual std::chrono::steady_clock::time_point deadline() const = 0;
  // True once the call should stop (see the top of this file). Handlers of long operations
  // check it at safe points and return CANCELLED.
  virtual bool cancelled() const = 0;
  // Sends progress to the caller (its on_progress). Cheap: when reports come faster than the
  // connection takes them, only the newest is sent.
  virtual void ReportProgress(const v1::Progress& progress) = 0;
  // The caller, as authenticated by its certificate (common_name) and as it named itself.
  virtual const PeerInfo& peer() const = 0;
};

// Where a stream handler writes its chunks. Flow control: Write blocks while the caller holds
// its whole window of unconsumed data, so memory stays bounded on both ends however fast the
// handler produces.
// Thread-safety: one thread at a time (the handler's).
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends `chunk` (split into frames of at most max_chunk_bytes()). Blocks while the caller's
  // window is full. CANCELLED when the caller cancelled or the server is stopping,
  // UNAVAILABLE when the connection is gone; the handler should then return.
  virtual Status Write(std::string_view chunk) = 0;
  // The size of the frames Write sends.
  virtual size_t max_chunk_bytes() const = 0;
  // Bytes accepted by Write so far.
  virtual uint64_t bytes_written() const = 0;
};

// A method. On OK the returned bytes are the answer's payload; a non-OK status reaches the
// caller with its code, message and subject. An exception escaping a handler becomes INTERNAL.
using Handler = std::function<StatusOr<std::string>(CallContext& ctx, const std::string& request)>;
// A bulk stream method (called with Client::Fetch): writes chunks, then returns. OK ends the
// stream as complete; anything else fails the caller's Fetch with that status.
using StreamHandler =
    std::function<Status(CallContext& ctx, const std::string& request, StreamWriter& out)>;

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  uint64_t handshake_failures = 0;  // TCP accepted, TLS or hello failed or refused
  uint64_t protocol_errors = 0;     // connections closed for bad frames after hello
  uint64_t heartbeat_timeouts = 0;
  uint64_t calls_started = 0;       // handler runs
  uint64_t calls_deduplicated = 0;  // requests answered from (or waiting on) an operation
  std::string last_connection_error;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  // Stops the server (see Stop()).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Adds a method. ALREADY_EXISTS when the name is taken (by either kind); INVALID_ARGUMENT
  // for an empty name or handler; FAILED_PRECONDITION once started.
  Status Register(std::string method, Handler handler);
  Status RegisterStream(std::string method, StreamHandler handler);

  // Loads the TLS material, binds, listens and starts the threads. Returns the bound port.
  // INVALID_ARGUMENT for bad options or unreadable/mismatched TLS files (naming the file),
  // UNAVAILABLE when the address cannot be bound, FAILED_PRECONDITION when already started.
  StatusOr<uint16_t> Start();

  // Stops accepting, cancels every running call, tells connected clients goodbye
  // (UNAVAILABLE, "server stopping") and closes their connections, waits for running
  // handlers to return, and joins the threads. Calls still queued for a worker are dropped.
  // Idempotent. A stopped server cannot be started again; make a new one.
  void Stop();

  // The bound port; 0 before Start().
  uint16_t port() const;
  ServerStats stats() const;
  // Registered method names, sorted.
  std::vector<std::string> methods() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::core::net

#endif  // LIFEBOAT_CORE_NET_SERVER_H_
