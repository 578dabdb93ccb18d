// The engine's one seam to the clusters: an Agent per cluster runs plugin operations for the
// components of that cluster. The engine knows data sets, cuts, tasks and statuses, never a
// component's specifics; it reaches plugins only through this interface.
//
// LocalAgent (below) runs the plugins in-process, over a PluginHost; RemoteAgent
// (lifeboat/core/control/remote_agent.h) reaches a cluster's lifeboat-agent over the network.
//
// Thread-safety: implementations allow concurrent calls.
#ifndef LIFEBOAT_CORE_AGENT_H_
#define LIFEBOAT_CORE_AGENT_H_

#include <lifeboat/core/plugin_host.h>
#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/ops.h>
#include <lifeboat/status.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace lifeboat::core {

class Agent {
 public:
  virtual ~Agent() = default;

  virtual const std::string& cluster() const = 0;

  // Runs `op` on the plugin serving `component` on this cluster. `request` is the serialized
  // request message; on OK `*response` holds the serialized response. NOT_FOUND when the
  // cluster has no such component; otherwise the plugin's status.
  virtual Status Call(const std::string& component, lb_op op, const std::string& request,
                      std::string* response, const CallOptions& opts) = 0;

  // The plugin configuration of `component` on this cluster, for a peer that pulls from it.
  virtual StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& component) = 0;

  // The descriptor of the plugin serving `component` (capabilities decide cut order).
  virtual StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& component) = 0;

  // The agent's wall clock (nanoseconds since the Unix epoch), read as close as it can to the
  // moment it answers. The coordinator brackets the call with its own clock readings to
  // estimate the agent's offset (NTP-style); UNAVAILABLE when the agent cannot be reached.
  virtual StatusOr<int64_t> ClockNow() = 0;

  // Runs LB_OP_READ (ABI 1.1: the peer stream's serving side) on the plugin serving
  // `component`: `request` is a serialized lifeboat.v1.ReadRequest; the bytes go to `sink`
  // in order on the calling thread. OK when the whole range was sent; otherwise the plugin's
  // status, or the channel's (UNAVAILABLE naming the cluster when its agent is out of
  // reach). Default: UNIMPLEMENTED. For a plugin's peer_read only — the engine never moves
  // bulk bytes itself.
  virtual Status Read(const std::string& component, const std::string& request,
                      const ByteSink& sink, const CallOptions& opts);

  // Where a peer cluster's agent reaches this cluster's agent for bulk data (the cluster's
  // `agent:` address and certificate name); both empty when the agent runs in this process.
  virtual std::pair<std::string, std::string> BulkAddress() const { return {}; }

  // Push mode: makes this cluster's agent open a connection to the agent of `target_cluster`
  // at `address` (certificate name `server_name`, "" = the host) and serve, over it, the reads
  // that the target's plugins make with a Peer naming `session`, until StopPush(session).
  // Idempotent per session. Default (an agent in this process): OK, nothing to do — the
  // engine's in-process peer_read serves the reads.
  virtual Status StartPush(const std::string& session, const std::string& target_cluster,
                           const std::string& address, const std::string& server_name);
  // Ends a push session (unknown sessions: OK).
  virtual Status StopPush(const std::string& session);

  // Typed call of one operation of the table (lifeboat/ops.h): the request and response
  // types follow from `Op`, so a request of the wrong operation does not compile. The
  // request's op id (operations that carry one) is handed to Call() explicitly, in
  // CallOptions::op_id: a remote agent keys the channel's answer cache on it without reading
  // the request's bytes.
  template <lb_op Op>
  StatusOr<typename OpTraits<Op>::Response> Invoke(const std::string& component,
                                                   const typename OpTraits<Op>::Request& req,
                                                   CallOptions opts = {}) {
    if constexpr (OpTraits<Op>::kHasOpId) opts.op_id = req.op_id();
    std::string out;
    Status s = Call(component, Op, req.SerializeAsString(), &out, opts);
    if (!s.ok()) return s;
    typename OpTraits<Op>::Response resp;
    if (!resp.ParseFromString(out)) {
      return InternalError("agent of cluster " + cluster() + " answered " +
                           std::string(OpTraits<Op>::kName) + " with " +
                           std::to_string(out.size()) + " bytes that are not a valid " +
                           resp.GetTypeName());
    }
    return resp;
  }
};

// An agent in the same process: instantiates, per component of the cluster, the plugin its
// configuration names, from the given host (which must outlive the agent).
class LocalAgent : public Agent {
 public:
  LocalAgent(const PluginHost& host, v1::Cluster cluster);

  const std::string& cluster() const override { return cluster_.name(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override;
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& component) override;
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& component) override;
  StatusOr<int64_t> ClockNow() override;
  Status Read(const std::string& component, const std::string& request, const ByteSink& sink,
              const CallOptions& opts) override;

 private:
  StatusOr<PluginInstance*> Instance(const std::string& component);

  const PluginHost& host_;
  v1::Cluster cluster_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<PluginInstance>> instances_;
};

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_AGENT_H_
