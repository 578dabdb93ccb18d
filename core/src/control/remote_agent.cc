// RemoteAgent: the Agent interface over the channel to a lifeboat-agent.
#include <lifeboat/agent/v1/agent.pb.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/net/client.h>

#include <charconv>

#include "ops.h"

namespace lifeboat::core::control {
namespace {

namespace pbc = ::lifeboat::agent::v1;
namespace pb = ::lifeboat::v1;

template <typename M>
StatusOr<M> ParseAnswer(const std::string& bytes, const char* method, const std::string& cluster) {
  M m;
  if (!m.ParseFromString(bytes)) {
    return InternalError("the agent of cluster " + cluster + " answered " + method + " with " +
                         std::to_string(bytes.size()) + " bytes that are not a valid " +
                         m.GetTypeName());
  }
  return m;
}

// Codes the channel itself produces (a plugin may return them too; the added context then
// names the cluster, which does no harm).
bool FromTheChannel(Code code) {
  switch (code) {
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

}  // namespace

StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return InvalidArgumentError("address '" + address +
                                "' must be HOST:PORT, e.g. 10.0.0.5:7443 or [fd00::5]:7443");
  }
  std::string host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return InvalidArgumentError("address '" + address + "': an IPv6 host goes in brackets");
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return InvalidArgumentError("address '" + address +
                                "': write an IPv6 host in brackets, e.g. [::1]:7443");
  }
  unsigned port = 0;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) {
    return InvalidArgumentError("address '" + address + "': the port must be a number 0..65535");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

StatusOr<std::unique_ptr<RemoteAgent>> RemoteAgent::Create(v1::Cluster cluster,
                                                           RemoteAgentOptions options) {
  if (cluster.agent().address().empty()) {
    return InvalidArgumentError("cluster " + cluster.name() +
                                " names no agent address; it runs in-process");
  }
  auto hp = SplitHostPort(cluster.agent().address());
  if (!hp.ok()) return hp.status().WithContext("cluster " + cluster.name() + ", agent");
  if (hp->second == 0) {
    return InvalidArgumentError("cluster " + cluster.name() + ": agent address '" +
                                cluster.agent().address() + "' needs a port from 1 to 65535");
  }
  net::ClientOptions co;
  co.host = hp->first;
  co.port = hp->second;
  co.tls = options.tls;
  if (co.tls.enabled && co.tls.expected_server_name.empty()) {
    co.tls.expected_server_name =
        cluster.agent().server_name().empty() ? hp->first : cluster.agent().server_name();
  }
  co.max_frame_bytes = kAgentMaxFrameBytes;
  co.node_name = options.node_name;
  co.default_deadline = options.short_deadline;
  co.connect_timeout = options.connect_timeout;
  co.heartbeat_interval = options.heartbeat_interval;
  co.missed_heartbeats = options.missed_heartbeats;
  co.reconnect_backoff_min = options.reconnect_backoff_min;
  co.reconnect_backoff_max = options.reconnect_backoff_max;
  auto client = std::make_unique<net::Client>(std::move(co));
  return std::unique_ptr<RemoteAgent>(
      new RemoteAgent(std::move(cluster), std::move(options), std::move(client)));
}

RemoteAgent::RemoteAgent(v1::Cluster cluster, RemoteAgentOptions options,
                         std::unique_ptr<net::Client> client)
    : cluster_(std::move(cluster)), options_(std::move(options)), client_(std::move(client)) {}

RemoteAgent::~RemoteAgent() = default;

bool RemoteAgent::Connected() const { return client_->Connected(); }

Status RemoteAgent::Annotate(const Status& s) const {
  if (s.ok() || !FromTheChannel(s.code())) return s;
  return s.WithContext("agent of cluster " + cluster() + " (" + address() + ")");
}

StatusOr<std::string> RemoteAgent::ShortCall(const char* method, const std::string& request) {
  net::CallOptions co;
  co.deadline = options_.short_deadline;
  auto r = client_->Call(method, request, co);
  if (!r.ok()) return Annotate(r.status());
  return r;
}

Status RemoteAgent::Call(const std::string& component, lb_op op, const std::string& request,
                         std::string* response, const CallOptions& opts) {
  pbc::CallRequest req;
  req.set_cluster(cluster());
  req.set_component(component);
  req.set_op(static_cast<int32_t>(op));
  req.set_request(request);
  for (const auto& [peer_cluster, route] : opts.routes) {
    pbc::Route* r = req.add_routes();
    r->set_cluster(peer_cluster);
    r->set_agent_address(route.agent_address);
    r->set_agent_server_name(route.agent_server_name);
    r->set_push_session(route.push_session);
  }
  net::CallOptions co;
  co.deadline =
      (op == LB_OP_PROBE || op == LB_OP_RESOLVE) ? options_.probe_deadline : options_.long_deadline;
  if (OpHasOpId(op) && !opts.op_id.empty()) {
    // Per component and operation: two components may well use the same op_id.
    co.op_id = component + "/" + OpName(op) + "/" + opts.op_id;
  }
  co.cancel = opts.cancel;
  if (opts.on_progress) {
    co.on_progress = [&opts](const core::v1::Progress& p) {
      pb::Progress out;
      out.set_phase(p.phase());
      out.set_bytes_done(p.bytes_done());
      out.set_bytes_total(p.bytes_total());
      out.set_items_done(p.items_done());
      out.set_items_total(p.items_total());
      out.set_current_item(p.message());
      opts.on_progress(out);
    };
  }
  const std::string payload = req.SerializeAsString();
  auto answer = client_->Call(kAgentCallMethod, payload, co);
  // A repeat of an operation whose first run is still going waits for that run's answer. If
  // the first caller cancelled it, that answer is CANCELLED although this caller did not ask
  // for it; CANCELLED is not remembered, so asking again runs the operation afresh.
  for (int again = 0; again < 3 && !co.op_id.empty() && !answer.ok() &&
                      answer.status().code() == Code::kCancelled &&
                      (opts.cancel == nullptr || !opts.cancel->load());
       ++again) {
    answer = client_->Call(kAgentCallMethod, payload, co);
  }
  if (!answer.ok()) return Annotate(answer.status());
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp,
                            ParseAnswer<pbc::CallResponse>(*answer, kAgentCallMethod, cluster()));
  *response = std::move(*resp.mutable_response());
  return OkStatus();
}

StatusOr<pb::PluginConfig> RemoteAgent::PeerConfig(const std::string& component) {
  pbc::ComponentRequest req;
  req.set_cluster(cluster());
  req.set_component(component);
  LIFEBOAT_ASSIGN_OR_RETURN(std::string answer,
                            ShortCall(kAgentPeerConfigMethod, req.SerializeAsString()));
  LIFEBOAT_ASSIGN_OR_RETURN(
      auto resp, ParseAnswer<pbc::PeerConfigResponse>(answer, kAgentPeerConfigMethod, cluster()));
  return ParseAnswer<pb::PluginConfig>(resp.config(), kAgentPeerConfigMethod, cluster());
}

StatusOr<pb::PluginDescriptor> RemoteAgent::Describe(const std::string& component) {
  pbc::ComponentRequest req;
  req.set_cluster(cluster());
  req.set_component(component);
  LIFEBOAT_ASSIGN_OR_RETURN(std::string answer,
                            ShortCall(kAgentDescribeMethod, req.SerializeAsString()));
  LIFEBOAT_ASSIGN_OR_RETURN(
      auto resp, ParseAnswer<pbc::DescribeResponse>(answer, kAgentDescribeMethod, cluster()));
  return ParseAnswer<pb::PluginDescriptor>(resp.plugin_descriptor(), kAgentDescribeMethod,
                                           cluster());
}

StatusOr<int64_t> RemoteAgent::ClockNow() {
  pbc::ClockRequest req;
  req.set_cluster(cluster());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string answer,
                            ShortCall(kAgentClockMethod, req.SerializeAsString()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp,
                            ParseAnswer<pbc::ClockResponse>(answer, kAgentClockMethod, cluster()));
  return resp.unix_nanos();
}

Status RemoteAgent::Read(const std::string& component, const std::string& request,
                         const ByteSink& sink, const CallOptions& opts) {
  pbc::ReadCall req;
  req.set_cluster(cluster());
  req.set_component(component);
  req.set_request(request);
  net::CallOptions co;
  co.deadline = options_.long_deadline;
  co.cancel = opts.cancel;
  Status s = client_->Fetch(kAgentReadMethod, req.SerializeAsString(), sink, co);
  return Annotate(s);
}

Status RemoteAgent::StartPush(const std::string& session, const std::string& target_cluster,
                              const std::string& address, const std::string& server_name) {
  pbc::StartPushRequest req;
  req.set_cluster(cluster());
  req.set_session(session);
  req.set_target_cluster(target_cluster);
  req.set_target_address(address);
  req.set_target_server_name(server_name);
  return ShortCall(kAgentStartPushMethod, req.SerializeAsString()).status();
}

Status RemoteAgent::StopPush(const std::string& session) {
  pbc::StopPushRequest req;
  req.set_cluster(cluster());
  req.set_session(session);
  return ShortCall(kAgentStopPushMethod, req.SerializeAsString()).status();
}

StatusOr<AgentInfo> RemoteAgent::Info() {
  pbc::InfoRequest req;
  req.set_cluster(cluster());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string answer,
                            ShortCall(kAgentInfoMethod, req.SerializeAsString()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp,
                            ParseAnswer<pbc::InfoResponse>(answer, kAgentInfoMethod, cluster()));
  AgentInfo info;
  info.cluster = resp.cluster();
  info.agent_version = resp.agent_version();
  info.abi_major = resp.abi_major();
  info.abi_minor = resp.abi_minor();
  info.started_unix_nanos = resp.started_unix_nanos();
  for (const auto& c : resp.components()) {
    info.components.push_back({c.component(), c.plugin(), c.plugin_version(), c.error()});
  }
  return info;
}

AgentFactory MakeAgentFactory(RemoteAgentOptions options) {
  return
      [options = std::move(options)](const v1::Cluster& cluster,
                                     const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
        if (cluster.agent().address().empty()) {
          return std::unique_ptr<Agent>(std::make_unique<LocalAgent>(host, cluster));
        }
        LIFEBOAT_ASSIGN_OR_RETURN(auto remote, RemoteAgent::Create(cluster, options));
        return std::unique_ptr<Agent>(std::move(remote));
      };
}

}  // namespace lifeboat::core::control
