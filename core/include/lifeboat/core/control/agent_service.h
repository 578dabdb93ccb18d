// The agent service: what a cluster's lifeboat-agent serves to the control service (lifeboatd)
// over the channel (lifeboat/core/net). Each method is a thin shell over a LocalAgent for the
// agent's cluster, so that a RemoteAgent (remote_agent.h) in lifeboatd behaves as the
// in-process LocalAgent does:
//
//   agent.v1.Call        one plugin operation: (component, op, request bytes) -> response
//                        bytes; the plugin's progress streams back as channel Progress; the
//                        caller's cancel (or deadline) reaches the plugin's is_cancelled.
//   agent.v1.PeerConfig  the plugin configuration of a component, for a peer that pulls
//   agent.v1.Describe    the descriptor of the plugin serving a component
//   agent.v1.Clock       the agent's wall clock, read in the handler
//   agent.v1.Info        cluster name, components with plugin name and version, agent version
//   agent.v1.Read        (stream) bytes of an item of a snapshot or point, for a peer agent
//                        whose plugin reads from this cluster (the peer stream, ABI 1.1)
//
// The peer stream: a plugin on this agent that reads from its peer (a transfer's source, a
// restore's point holder) calls its host's peer_read; this agent answers it by calling
// agent.v1.Read on the peer's agent (Peer.agent_address), with its own certificate
// (AgentServiceOptions::peer_tls) — one client per peer address, kept open. The bytes go agent
// to agent; lifeboatd never carries them.
//
// Push mode (a Peer with transfer "push"): the reading agent does not connect; its peer_read
// waits until the source's agent — told by lifeboatd (agent.v1.StartPush) — connects to it and
// fetches the read (agent.v1.PushNext), then takes the bytes it sends (agent.v1.PushChunk,
// agent.v1.PushDone). For networks where only one side may open connections.
//
// Messages: core/src/control/proto/lifeboat/agent/v1/agent.proto. Every request names
// the cluster its caller expects; an agent serving another cluster refuses it with
// FAILED_PRECONDITION.
//
// Idempotency: a call whose plugin request carries an op_id is a channel operation with the
// op_id "<component>/<op>/<plugin op_id>", so a repeat after a reconnect is answered from the
// channel's memory (or waits for the first run) instead of running twice. Only successes are
// remembered (AgentServerOptions() sets remember_failures = false): a refusal an operator
// may cure (a fence lifted, a directory created) is asked of the plugin again — plugins are
// idempotent per op_id anyway.
//
//   PluginHost host({"/usr/lib/lifeboat/plugins"});
//   host.LoadAll();
//   net::ServerOptions so = AgentServerOptions();
//   so.host = "10.0.0.5";
//   so.port = 7443;
//   so.tls.ca_file = "ca.pem";  // and cert_file, key_file
//   net::Server server(so);
//   AgentService service(host, cluster);
//   LIFEBOAT_RETURN_IF_ERROR(service.Register(server));
//   LIFEBOAT_ASSIGN_OR_RETURN(uint16_t port, server.Start());
//
// Thread-safety: Register() once, before the server starts; Info() and the handlers may run
// concurrently from any number of threads. The service must outlive the server's handlers:
// stop the server before destroying the service.
#ifndef LIFEBOAT_CORE_CONTROL_AGENT_SERVICE_H_
#define LIFEBOAT_CORE_CONTROL_AGENT_SERVICE_H_

#include <lifeboat/core/agent.h>
#include <lifeboat/core/net/server.h>
#include <lifeboat/core/plugin_host.h>
#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lifeboat::core::control {

// Channel method names of the agent service.
inline constexpr const char* kAgentCallMethod = "agent.v1.Call";
inline constexpr const char* kAgentPeerConfigMethod = "agent.v1.PeerConfig";
inline constexpr const char* kAgentDescribeMethod = "agent.v1.Describe";
inline constexpr const char* kAgentClockMethod = "agent.v1.Clock";
inline constexpr const char* kAgentInfoMethod = "agent.v1.Info";
// A stream method, agent to agent: the peer stream's serving side (LB_OP_READ).
inline constexpr const char* kAgentReadMethod = "agent.v1.Read";
// Push mode (policy `transfer: push`; agent.proto): lifeboatd starts and stops a session on the
// source's agent, which then calls the reading agent's PushNext / PushChunk / PushDone.
inline constexpr const char* kAgentStartPushMethod = "agent.v1.StartPush";
inline constexpr const char* kAgentStopPushMethod = "agent.v1.StopPush";
inline constexpr const char* kAgentPushNextMethod = "agent.v1.PushNext";
inline constexpr const char* kAgentPushChunkMethod = "agent.v1.PushChunk";
inline constexpr const char* kAgentPushDoneMethod = "agent.v1.PushDone";

// The largest frame either end of the agent channel accepts. A cut's answer carries the data
// set's manifest (one entry per file), so it is larger than the channel's default; an answer
// larger still fails RESOURCE_EXHAUSTED naming the sizes.
inline constexpr uint32_t kAgentMaxFrameBytes = 64u << 20;

struct AgentComponentInfo {
  std::string component;
  std::string plugin;          // the registered plugin serving it
  std::string plugin_version;  // from its descriptor
  std::string error;           // why the plugin could not be instantiated ("" when it could)
};

// Who an agent is (agent.v1.Info).
struct AgentInfo {
  std::string cluster;
  std::vector<AgentComponentInfo> components;  // in the cluster's order
  std::string agent_version;
  uint32_t abi_major = 0;  // the plugin ABI the agent's host speaks
  uint32_t abi_minor = 0;
  int64_t started_unix_nanos = 0;
};

struct AgentServiceOptions {
  // Common names of the client certificates allowed to call (e.g. "lifeboatd"). Empty: any
  // certificate the channel's CA signed. Without TLS there is no name: only an empty list
  // lets calls through.
  std::vector<std::string> allowed_client_names;
  std::string agent_version;  // empty: this build's version
  // How this agent reaches its peers' agents for the peer stream: the channel's CA, and this
  // agent's certificate and key (which then needs extendedKeyUsage clientAuth as well as
  // serverAuth). The server name is taken from each Peer. enabled = false: plain TCP (tests).
  net::TlsOptions peer_tls;
  std::string node_name = "lifeboat-agent";
  // Deadline of one peer read (the whole stream of one item range).
  std::chrono::milliseconds peer_read_deadline{std::chrono::hours(6)};
  std::chrono::milliseconds peer_connect_timeout{5000};
  // Connections to each peer agent; reads take them in turn. TLS of one connection runs on one
  // I/O thread, so a single connection is bound by one core's cipher speed: two let the
  // concurrent reads of a transfer (localfs: `parallelism` files at once) use two cores.
  int peer_connections = 2;
  // Push mode, reading side: how long a read waits for the source's agent to fetch it before
  // it fails UNAVAILABLE (the source's agent is not pushing, or cannot reach this agent).
  std::chrono::milliseconds push_wait{30000};
};

// Server options suited to an agent: many workers (a transfer holds one for its whole run and
// a clock reading must not queue behind transfers), two I/O threads (the TLS of a peer's two
// connections on two cores), only successes remembered, frames up to kAgentMaxFrameBytes. Set
// host, port, tls and node_name on the result.
net::ServerOptions AgentServerOptions();

class AgentService {
 public:
  // `host` must outlive the service and have loaded its plugins; `cluster` is this agent's
  // cluster as its cluster file describes it (name and components with their configuration).
  AgentService(const PluginHost& host, v1::Cluster cluster, AgentServiceOptions options = {});
  // Stops the cancel watcher. The server's handlers must have returned (stop it first).
  ~AgentService();
  AgentService(const AgentService&) = delete;
  AgentService& operator=(const AgentService&) = delete;

  // Registers the methods above on `server`. ALREADY_EXISTS when one is registered already;
  // FAILED_PRECONDITION when the server has started.
  Status Register(net::Server& server);

  const std::string& cluster() const;

  // Who this agent is; instantiates each component's plugin (an instance that cannot be made
  // is reported in its entry's `error`, not as a failure). Never fails.
  AgentInfo Info();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::core::control

#endif  // LIFEBOAT_CORE_CONTROL_AGENT_SERVICE_H_
