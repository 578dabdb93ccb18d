// The connecting end of the agent channel (see channel.h): calls methods of one Server.
//
//   ClientOptions options;
//   options.host = "agent-1.example";
//   options.port = 7443;
//   options.tls.ca_file = "/etc/lifeboat/ca.pem";  // and cert_file, key_file; optionally
//                                                   // expected_server_name
//   options.node_name = "lifeboatd@ctl-1";
//   Client client(options);
//   CallOptions call;
//   call.deadline = 30s;
//   call.op_id = "cut-rp42-0";
//   StatusOr<std::string> answer = client.Call("agent.Cut", request_bytes, call);
//
// Connection: made lazily by the first call, kept open (heartbeats every heartbeat_interval
// measure the round trip and detect a dead peer after missed_heartbeats silent intervals),
// and re-made in the background after a failure, with exponential backoff between
// reconnect_backoff_min and reconnect_backoff_max (±20% jitter) until the client is
// destroyed. Every call of one client shares its one connection (multiplexed by call id).
//
// Failures of a call, and what the caller does about them:
//   UNAVAILABLE        no connection (the last connect error is in the message), or the
//                      connection was lost while the call ran: it may or may not have run —
//                      retry with the same op_id, and the server answers a completed
//                      operation from memory instead of running it twice.
//   DEADLINE_EXCEEDED  the deadline passed (connecting included); Cancel was sent.
//   CANCELLED          the caller's cancel flag was set; Cancel was sent.
//   UNAUTHENTICATED    TLS refused a certificate (either side's); the message says why.
//   FAILED_PRECONDITION the server refused our hello (protocol version), with its reason.
//   RESOURCE_EXHAUSTED the request is larger than the frame limit.
//   anything else      the handler's own status.
//
// Thread-safety: all methods may be called from any number of threads at once.
#ifndef LIFEBOAT_CORE_NET_CLIENT_H_
#define LIFEBOAT_CORE_NET_CLIENT_H_

#include <lifeboat/core/net/channel.h>
#include <lifeboat/core/net/frame.h>
#include <lifeboat/core/v1/rpc.pb.h>
#include <lifeboat/status.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat::core::net {

struct ClientOptions {
  std::string host = "127.0.0.1";  // server host name or address
  uint16_t port = 0;
  TlsOptions tls;
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::string node_name = "lifeboat";
  std::string program_version;  // empty: this build's version
  // Deadline of a call whose CallOptions::deadline is zero.
  std::chrono::milliseconds default_deadline{30000};
  // TCP connect + TLS handshake + hello, at most.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds heartbeat_interval{2000};
  // The connection is declared dead after this many heartbeat intervals without any frame
  // from the server.
  int missed_heartbeats = 3;
  std::chrono::milliseconds reconnect_backoff_min{100};
  std::chrono::milliseconds reconnect_backoff_max{10000};
  // Flow-control window of a Fetch: the most bytes of received, not yet consumed chunks it
  // holds (and so, roughly, the memory a stream costs on each end).
  uint32_t stream_window_bytes = 8u << 20;
  int io_threads = 1;
};

struct CallOptions {
  // How long the call may take from now, connecting included. Zero: default_deadline.
  std::chrono::milliseconds deadline{0};
  // Operation id: makes the call idempotent (see server.h). Empty: not an operation.
  std::string op_id;
  // Called on the calling thread with the newest progress of the call (reports that arrive
  // faster than the callback returns are coalesced to the newest).
  std::function<void(const v1::Progress&)> on_progress;
  // When set and it turns true, the call ends with CANCELLED and the server is told to stop
  // (noticed within ~10 ms). Must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
  // false (default): fail fast with UNAVAILABLE while the client waits to reconnect.
  // true: wait for the connection until the deadline.
  bool wait_for_ready = false;
};

// Receives the chunks of a Fetch in order, on the calling thread. A non-OK return stops the
// stream (the server is told to stop) and becomes Fetch's result. The view is valid only
// during the call.
using ChunkHandler = std::function<Status(std::string_view chunk)>;

class Client {
 public:
  explicit Client(ClientOptions options);
  // Closes the connection (goodbye to the server), fails calls still waiting with CANCELLED,
  // and joins the client's threads. Calls must not be started during destruction.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Calls `method` with the serialized request; returns the serialized answer. Blocks until
  // the answer, the deadline, or cancellation. Failures: see the top of this file.
  StatusOr<std::string> Call(const std::string& method, const std::string& request,
                             const CallOptions& options = {});

  // Calls the stream method `method` and hands its chunks to `on_chunk` as they arrive, with
  // flow control (at most stream_window_bytes buffered). OK when the server completed the
  // stream (every chunk delivered); otherwise the first failure: the server's status, the
  // callback's status, or the failures of Call. The deadline covers the whole stream.
  Status Fetch(const std::string& method, const std::string& request, const ChunkHandler& on_chunk,
               const CallOptions& options = {});

  // True while a connection is established and has said hello.
  bool Connected() const;
  // The newest heartbeat round trip; nullopt before the first.
  std::optional<std::chrono::microseconds> LastRoundTrip() const;
  // The server as it introduced itself on the current connection; nullopt when not connected.
  std::optional<PeerInfo> Peer() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::core::net

#endif  // LIFEBOAT_CORE_NET_CLIENT_H_
