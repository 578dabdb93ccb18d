// An Agent reached over the network: the control service's client of one cluster's
// lifeboat-agent (agent_service.h), over the channel (lifeboat/core/net) with mutual TLS.
//
// The engine sees the same Agent as in-process (agent.h), with these differences:
//   - Status codes arrive as the plugin (or the agent) returned them: code, message and
//     subject unchanged. Failures of the channel itself carry the cluster and the address in
//     their message: UNAVAILABLE when the agent cannot be reached or the connection was lost
//     under a call (the engine retries; the health check reports the cluster unreachable),
//     DEADLINE_EXCEEDED past a call's deadline, UNAUTHENTICATED when TLS refused a certificate.
//   - Deadlines per kind of call: short for the clock, describe, peer config and info; probe
//     and resolve a little longer; every other operation (cut, transfer, commit, restore, ...)
//     long — heartbeats notice a dead agent well before that.
//   - CallOptions::cancel reaches the plugin on the agent; progress comes back to
//     CallOptions::on_progress.
//   - A call whose request carries an op_id is a channel operation (see agent_service.h), so a
//     retry after a lost connection collects the answer instead of running it twice.
//   - While the connection is down, calls fail fast with UNAVAILABLE and the client reconnects
//     in the background (backoff up to reconnect_backoff_max).
//
// Thread-safety: all methods may be called from any number of threads at once.
#ifndef LIFEBOAT_CORE_CONTROL_REMOTE_AGENT_H_
#define LIFEBOAT_CORE_CONTROL_REMOTE_AGENT_H_

#include <lifeboat/core/agent.h>
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/net/channel.h>
#include <lifeboat/core/plugin_host.h>
#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace lifeboat::core::net {
class Client;
}  // namespace lifeboat::core::net

namespace lifeboat::core::control {

struct RemoteAgentOptions {
  // The control service's end of the channel: CA, its client certificate and key. The agent's
  // certificate must also be valid for the cluster's `agent.server_name`, or for the host of
  // `agent.address` when no server name is given. enabled = false is plain TCP (tests only).
  net::TlsOptions tls;
  std::string node_name = "lifeboatd";
  // Clock, describe, peer config, info.
  std::chrono::milliseconds short_deadline{10000};
  // Probe and resolve (a component may be slow to answer).
  std::chrono::milliseconds probe_deadline{60000};
  // Every other operation.
  std::chrono::milliseconds long_deadline{std::chrono::hours(24)};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds heartbeat_interval{2000};
  int missed_heartbeats = 3;
  std::chrono::milliseconds reconnect_backoff_min{100};
  std::chrono::milliseconds reconnect_backoff_max{2000};
};

class RemoteAgent : public Agent {
 public:
  // A client of the agent named by cluster.agent() (address "host:port" or "[v6]:port").
  // INVALID_ARGUMENT when the address is missing or malformed. Connects lazily (first call).
  static StatusOr<std::unique_ptr<RemoteAgent>> Create(v1::Cluster cluster,
                                                       RemoteAgentOptions options);
  // Closes the connection; calls must have returned.
  ~RemoteAgent() override;
  RemoteAgent(const RemoteAgent&) = delete;
  RemoteAgent& operator=(const RemoteAgent&) = delete;

  const std::string& cluster() const override { return cluster_.name(); }
  // See agent.h and the top of this file.
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override;
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& component) override;
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& component) override;
  StatusOr<int64_t> ClockNow() override;
  // agent.v1.Read over the channel (a Fetch with flow control). Used agent to agent by the
  // peer stream; lifeboatd never calls it.
  Status Read(const std::string& component, const std::string& request, const ByteSink& sink,
              const CallOptions& opts) override;
  // agent.v1.StartPush / agent.v1.StopPush on the agent (instructions only: the bytes flow
  // between the agents).
  Status StartPush(const std::string& session, const std::string& target_cluster,
                   const std::string& address, const std::string& server_name) override;
  Status StopPush(const std::string& session) override;
  std::pair<std::string, std::string> BulkAddress() const override {
    return {cluster_.agent().address(), cluster_.agent().server_name()};
  }

  // Who the agent is. FAILED_PRECONDITION when it serves another cluster.
  StatusOr<AgentInfo> Info();
  // True while a connection to the agent is up.
  bool Connected() const;
  // "host:port" as configured.
  const std::string& address() const { return cluster_.agent().address(); }

 private:
  RemoteAgent(v1::Cluster cluster, RemoteAgentOptions options, std::unique_ptr<net::Client> client);
  // Calls `method` with a short deadline and adds the cluster to channel failures.
  StatusOr<std::string> ShortCall(const char* method, const std::string& request);
  Status Annotate(const Status& s) const;

  v1::Cluster cluster_;
  RemoteAgentOptions options_;
  std::unique_ptr<net::Client> client_;
};

// What EngineOptions::make_agent takes.
using AgentFactory =
    std::function<StatusOr<std::unique_ptr<Agent>>(const v1::Cluster&, const PluginHost&)>;

// A factory for the control service: a RemoteAgent (with `options`) for a cluster that names
// its agent (`agent: {address: ...}`), an in-process LocalAgent over the engine's plugin host
// for one that does not.
AgentFactory MakeAgentFactory(RemoteAgentOptions options);

// "host:port" or "[v6]:port" -> (host, port), the port 0..65535. INVALID_ARGUMENT saying
// what is wrong.
StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& address);

}  // namespace lifeboat::core::control

#endif  // LIFEBOAT_CORE_CONTROL_REMOTE_AGENT_H_
