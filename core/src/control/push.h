// Push mode of the peer stream (policy `transfer: push`; agent.proto, "push mode"): the
// reading agent's side (PushHub: reads wait until the source's agent fetches them and sends
// their bytes) and the source agent's side (Pusher: sessions of threads that connect to the
// reading agent and serve its reads).
//
// Thread-safety: every method of both classes may be called from any thread.
#ifndef LIFEBOAT_CORE_SRC_CONTROL_PUSH_H_
#define LIFEBOAT_CORE_SRC_CONTROL_PUSH_H_

#include <lifeboat/core/agent.h>
#include <lifeboat/core/net/channel.h>
#include <lifeboat/core/plugin_host.h>
#include <lifeboat/status.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lifeboat::core::control {

struct PushTimeouts {
  // A read not fetched while its session showed no life (no fetch, no chunk) for this long
  // fails UNAVAILABLE (the source's agent is not pushing: not started, or it cannot reach
  // this agent).
  std::chrono::milliseconds take = std::chrono::seconds(30);
  // A fetched read whose source sent nothing for this long fails UNAVAILABLE.
  std::chrono::milliseconds silence = std::chrono::seconds(60);
  // How long PushNext waits for a read before answering idle.
  std::chrono::milliseconds poll = std::chrono::seconds(5);
};

class PushHub {
 public:
  explicit PushHub(PushTimeouts t = {}) : t_(t) {}
  ~PushHub();

  // A plugin's peer_read in push mode: queues the read under `session`, then hands the bytes
  // that the source's agent pushes to `sink`, in order, on this thread. `source` names the
  // peer in messages.
  Status Read(const std::string& session, const std::string& source, const std::string& component,
              const std::string& request, const ByteSink& sink, const std::atomic<bool>* cancel);

  struct Taken {
    uint64_t id = 0;
    std::string component;
    std::string request;
  };
  // PushNext: the oldest read of `session` not yet fetched, waiting up to the poll time;
  // nullopt when none came.
  std::optional<Taken> Next(const std::string& session);
  // PushChunk: blocks while the reader holds several unconsumed chunks. OK; CANCELLED when the
  // reader is gone; NOT_FOUND for a read that does not wait (any more).
  Status Chunk(uint64_t id, std::string data);
  // PushDone: ends read `id` with `result` once its chunks are consumed.
  Status Done(uint64_t id, Status result);
  // Fails every waiting read UNAVAILABLE and wakes every waiter (the agent stops).
  void Shutdown();

 private:
  struct Pending;
  PushTimeouts t_;
  std::mutex mu_;
  std::condition_variable queued_;  // a read was queued (for Next)
  bool shutdown_ = false;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;
  std::map<std::string, std::deque<uint64_t>> queues_;  // by session
  // When each session last showed life (a fetch or a chunk); entries idle for an hour go
  // once there are more than 1024.
  std::map<std::string, std::chrono::steady_clock::time_point> seen_;
};

struct PusherOptions {
  net::TlsOptions tls;  // this agent's client identity towards the reading agent
  std::string node_name = "lifeboat-agent";
  std::string cluster;  // this agent's
  int threads_per_session = 4;
  // A session that served nothing for this long ends by itself (a lifeboatd that died before
  // StopPush leaves nothing running for ever).
  std::chrono::milliseconds idle_limit = std::chrono::minutes(10);
  std::chrono::milliseconds connect_timeout{5000};
};

class Pusher {
 public:
  // `local` runs the reads (the agent's LocalAgent); it must outlive the pusher.
  Pusher(Agent& local, PusherOptions options);
  // Stops every session.
  ~Pusher();

  // Starts serving `session` towards the reading agent at `address`. Idempotent per session.
  // INVALID_ARGUMENT for a bad address.
  Status Start(const std::string& session, const std::string& target_cluster,
               const std::string& address, const std::string& server_name);
  struct Served {
    uint64_t reads = 0;
    uint64_t bytes = 0;
  };
  // Stops `session` (waits for its threads); what it served. Unknown sessions: zeros.
  Served Stop(const std::string& session);

 private:
  struct Session;
  void Run(Session& s);

  Agent& local_;
  PusherOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
};

}  // namespace lifeboat::core::control

#endif  // LIFEBOAT_CORE_SRC_CONTROL_PUSH_H_
