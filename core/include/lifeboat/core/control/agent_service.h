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
};

// Server options suited to an agent: many workers (a transfer holds one for its whole run and
// a clock reading must not queue behind transfers), only successes remembered, frames up to
// kAgentMaxFrameBytes. Set host, port, tls and node_name on the result.
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
