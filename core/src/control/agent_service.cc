// AgentService: the agent's methods, each a thin shell over a LocalAgent.
#include <lifeboat/agent/v1/agent.pb.h>
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/v1/rpc.pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "ops.h"
#include "push.h"

namespace lifeboat::core::control {
namespace {

namespace pbc = ::lifeboat::agent::v1;
namespace pb = ::lifeboat::v1;
using SteadyClock = std::chrono::steady_clock;

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The plugin host polls a flag (CallOptions::cancel); the channel says "stop" through
// CallContext::cancelled(). One thread turns the second into the first for every running
// call, rather than a thread per call.
class CancelWatcher {
 public:
  CancelWatcher() : thread_([this] { Run(); }) {}
  ~CancelWatcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Watches one call for as long as it lives (also when the call throws).
  class Scope {
   public:
    Scope(CancelWatcher& w, const net::CallContext* ctx, std::atomic<bool>* flag)
        : w_(w), id_(w.Watch(ctx, flag)) {}
    ~Scope() { w_.Unwatch(id_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CancelWatcher& w_;
    const uint64_t id_;
  };

  uint64_t Watch(const net::CallContext* ctx, std::atomic<bool>* flag) {
    uint64_t id;
    {
      std::lock_guard lock(mu_);
      id = ++next_;
      calls_.emplace(id, Entry{ctx, flag});
    }
    cv_.notify_all();
    return id;
  }
  // After this returns the watcher no longer touches the call's context or flag.
  void Unwatch(uint64_t id) {
    std::lock_guard lock(mu_);
    calls_.erase(id);
  }

 private:
  struct Entry {
    const net::CallContext* ctx;
    std::atomic<bool>* flag;
  };

  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (calls_.empty()) {
        cv_.wait(lock, [&] { return stop_ || !calls_.empty(); });
        continue;
      }
      const auto now = SteadyClock::now();
      for (auto& [id, e] : calls_) {
        // Past its deadline the caller has given up: the work would be thrown away (an
        // operation's retry runs it again and the plugin resumes where it stopped).
        if (e.ctx->cancelled() || now > e.ctx->deadline()) e.flag->store(true);
      }
      cv_.wait_for(lock, std::chrono::milliseconds(10), [&] { return stop_; });
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> calls_;
  uint64_t next_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

core::v1::Progress ToChannel(const pb::Progress& p) {
  core::v1::Progress out;
  out.set_phase(p.phase());
  out.set_bytes_done(p.bytes_done());
  out.set_bytes_total(p.bytes_total());
  out.set_items_done(p.items_done());
  out.set_items_total(p.items_total());
  out.set_message(p.current_item());
  return out;
}

template <typename M>
Status Parse(const std::string& bytes, M* out, const char* method) {
  if (!out->ParseFromString(bytes)) {
    return InvalidArgumentError(std::string(method) + ": the request is not a valid " +
                                out->GetTypeName() + " (" + std::to_string(bytes.size()) +
                                " bytes); is the caller a lifeboatd of a compatible version?");
  }
  return OkStatus();
}

}  // namespace

net::ServerOptions AgentServerOptions() {
  net::ServerOptions o;
  o.node_name = "lifeboat-agent";
  o.max_frame_bytes = kAgentMaxFrameBytes;
  o.worker_threads = 64;
  // A connection's TLS runs on the I/O thread that serves it. Peer agents read through
  // AgentServiceOptions::peer_connections (2) connections so that the cipher of their
  // concurrent reads uses two cores; with one I/O thread here the serving side encrypted all
  // of them on one.
  o.io_threads = 2;
  o.remember_failures = false;
  // Answers can be large (a cut's manifest); a thousand per method is plenty for retries
  // after a reconnect, which come within minutes.
  o.remembered_ops_per_method = 1000;
  return o;
}

class AgentService::Impl {
 public:
  Impl(const PluginHost& host, v1::Cluster cluster, AgentServiceOptions options)
      : cluster_(cluster),
        options_(std::move(options)),
        local_(host, std::move(cluster)),
        started_(WallNanos()),
        hub_(PushTimeouts{options_.push_wait}),
        pusher_(local_, PusherFor(options_, cluster_.name())) {
    if (options_.agent_version.empty()) options_.agent_version = LIFEBOAT_CONTROL_VERSION;
  }

  static PusherOptions PusherFor(const AgentServiceOptions& o, const std::string& cluster) {
    PusherOptions p;
    p.tls = o.peer_tls;
    p.node_name = o.node_name + "@" + cluster;
    p.cluster = cluster;
    p.connect_timeout = o.peer_connect_timeout;
    return p;
  }

  ~Impl() { hub_.Shutdown(); }

  const std::string& cluster() const { return cluster_.name(); }

  Status CheckCaller(const net::CallContext& ctx, const std::string& expected_cluster) const {
    if (!options_.allowed_client_names.empty()) {
      const std::string& cn = ctx.peer().common_name;
      const auto& allowed = options_.allowed_client_names;
      if (std::find(allowed.begin(), allowed.end(), cn) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return PermissionDeniedError("the agent of cluster " + cluster() +
                                     " takes calls only from certificates named " + list +
                                     "; the caller's is named '" + cn + "'");
      }
    }
    if (!expected_cluster.empty() && expected_cluster != cluster()) {
      return FailedPreconditionError(
          "this agent (" + ctx.peer().address + " as seen by the caller) serves cluster '" +
          cluster() + "', not '" + expected_cluster + "'; fix the address in cluster " +
          expected_cluster + "'s `agent:`, or the agent's --cluster-file");
    }
    return OkStatus();
  }

  StatusOr<std::string> HandleCall(net::CallContext& ctx, const std::string& bytes) {
    pbc::CallRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentCallMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    if (req.op() < LB_OP_PROBE || req.op() > kNewestKnownOp) {
      return UnimplementedError("this agent (lifeboat " + options_.agent_version +
                                ") does not know plugin operation " + std::to_string(req.op()) +
                                "; upgrade the agent of cluster " + cluster());
    }
    const lb_op op = static_cast<lb_op>(req.op());
    if (op == LB_OP_READ) {
      return InvalidArgumentError(std::string("plugin operation read streams its bytes: call ") +
                                  kAgentReadMethod + ", not " + kAgentCallMethod);
    }
    std::atomic<bool> cancel{false};
    CancelWatcher::Scope watch(watcher_, &ctx, &cancel);
    CallOptions opts;
    opts.cancel = &cancel;
    opts.on_progress = [&ctx](const pb::Progress& p) { ctx.ReportProgress(ToChannel(p)); };
    std::map<std::string, PeerRoute> routes;
    for (const pbc::Route& r : req.routes()) {
      routes[r.cluster()] = PeerRoute{r.agent_address(), r.agent_server_name(), r.push_session()};
    }
    opts.peer_read = [this, routes = std::move(routes)](const pb::PeerReadRequest& r,
                                                        const ByteSink& sink,
                                                        const std::atomic<bool>* flag) {
      return PeerRead(r, RouteOf(r.peer(), routes), sink, flag);
    };
    const auto start = SteadyClock::now();
    std::string out;
    Status s = local_.Call(req.component(), op, req.request(), &out, opts);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
    const auto level = ctx.op_id().empty() ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(s.ok() || s.code() == Code::kCancelled ? level : spdlog::level::warn,
                "{} {} {} from {} ({}): {} in {} ms", req.component(), OpName(op), ctx.op_id(),
                ctx.peer().common_name.empty() ? ctx.peer().node_name : ctx.peer().common_name,
                ctx.peer().address, s.ok() ? "OK" : s.ToString(), millis);
    if (!s.ok()) return s;
    pbc::CallResponse resp;
    resp.set_response(std::move(out));
    return resp.SerializeAsString();
  }

  // agent.v1.Read: runs the plugin's read with its bytes going to the stream.
  Status HandleRead(net::CallContext& ctx, const std::string& bytes, net::StreamWriter& out) {
    pbc::ReadCall req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentReadMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    std::atomic<bool> cancel{false};
    CancelWatcher::Scope watch(watcher_, &ctx, &cancel);
    CallOptions opts;
    opts.cancel = &cancel;
    const auto start = SteadyClock::now();
    Status s = local_.Read(
        req.component(), req.request(), [&out](std::string_view chunk) { return out.Write(chunk); },
        opts);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
    spdlog::log(s.ok() || s.code() == Code::kCancelled ? spdlog::level::debug : spdlog::level::warn,
                "{} read for {} ({}): {} bytes, {} in {} ms", req.component(),
                ctx.peer().common_name.empty() ? ctx.peer().node_name : ctx.peer().common_name,
                ctx.peer().address, out.bytes_written(), s.ok() ? "OK" : s.ToString(), millis);
    return s;
  }

  // Where the peer a plugin names is: the route the engine sent with the call for its
  // cluster, or, from an engine older than CallRequest.routes, the routing fields it put in
  // the Peer itself.
  static PeerRoute RouteOf(const pb::Peer& peer, const std::map<std::string, PeerRoute>& routes) {
    auto it = routes.find(peer.config().cluster());
    if (it != routes.end()) return it->second;
    return PeerRoute{peer.agent_address(), peer.agent_server_name(),
                     peer.transfer() == "push" ? peer.push_session() : ""};
  }

  // A plugin's peer_read on this agent: agent.v1.Read on the peer's agent.
  Status PeerRead(const pb::PeerReadRequest& req, const PeerRoute& route, const ByteSink& sink,
                  const std::atomic<bool>* cancel) {
    const pb::Peer& peer = req.peer();
    const std::string& component =
        peer.component().empty() ? req.read().snapshot().data_set().component() : peer.component();
    CallOptions opts;
    opts.cancel = cancel;
    if (!route.push_session.empty()) {
      // The source's agent connects to us (StartPush, by lifeboatd) and serves this read.
      return hub_.Read(route.push_session,
                       "cluster " + peer.config().cluster() +
                           (route.agent_address.empty() ? "" : " (" + route.agent_address + ")"),
                       component, req.read().SerializeAsString(), sink, cancel);
    }
    if (route.agent_address.empty()) {
      if (peer.config().cluster() == cluster()) {
        return local_.Read(component, req.read().SerializeAsString(), sink, opts);
      }
      return UnavailableError("cannot read from peer cluster " + peer.config().cluster() +
                              ": the engine named no agent address for it, and it is not this "
                              "agent's cluster (" +
                              cluster() + "); give cluster " + peer.config().cluster() +
                              " an `agent: {address: ...}`");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(RemoteAgent * agent, PeerAgent(peer.config().cluster(), route));
    Status s = agent->Read(component, req.read().SerializeAsString(), sink, opts);
    if (s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded ||
        s.code() == Code::kUnauthenticated) {
      return s.WithContext("peer stream from cluster " + peer.config().cluster() + " to cluster " +
                           cluster() + " (this agent must reach " + route.agent_address +
                           " with a certificate the peer's --allow-client lists)");
    }
    return s;
  }

  // peer_connections clients per peer agent (address, certificate name, cluster), kept for
  // the agent's life; reads take them in turn.
  StatusOr<RemoteAgent*> PeerAgent(const std::string& peer_cluster, const PeerRoute& route) {
    const std::string key =
        peer_cluster + "\n" + route.agent_address + "\n" + route.agent_server_name;
    std::lock_guard lock(peers_mu_);
    PeerPool& pool = peers_[key];
    if (pool.clients.empty()) {
      const int n = std::max(1, options_.peer_connections);
      for (int i = 0; i < n; ++i) {
        v1::Cluster c;
        c.set_name(peer_cluster);
        c.mutable_agent()->set_address(route.agent_address);
        c.mutable_agent()->set_server_name(route.agent_server_name);
        RemoteAgentOptions o;
        o.tls = options_.peer_tls;
        o.node_name = options_.node_name + "@" + cluster();
        o.long_deadline = options_.peer_read_deadline;
        o.connect_timeout = options_.peer_connect_timeout;
        auto made = RemoteAgent::Create(std::move(c), o);
        if (!made.ok()) {
          pool.clients.clear();
          return made.status().WithContext("peer stream from cluster " + peer_cluster);
        }
        pool.clients.push_back(std::move(made).value());
      }
      spdlog::info(
          "peer stream: cluster {} reads from the agent of cluster {} at {} ({} connections)",
          cluster(), peer_cluster, route.agent_address, n);
    }
    return pool.clients[pool.next++ % pool.clients.size()].get();
  }

  // ---- push mode -----------------------------------------------------------------------

  StatusOr<std::string> HandleStartPush(net::CallContext& ctx, const std::string& bytes) {
    pbc::StartPushRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentStartPushMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    if (req.session().empty()) return InvalidArgumentError("StartPush needs a session");
    LIFEBOAT_RETURN_IF_ERROR(pusher_.Start(req.session(), req.target_cluster(),
                                           req.target_address(), req.target_server_name()));
    return pbc::StartPushResponse().SerializeAsString();
  }

  StatusOr<std::string> HandleStopPush(net::CallContext& ctx, const std::string& bytes) {
    pbc::StopPushRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentStopPushMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    Pusher::Served served = pusher_.Stop(req.session());
    pbc::StopPushResponse resp;
    resp.set_reads_served(served.reads);
    resp.set_bytes_served(served.bytes);
    return resp.SerializeAsString();
  }

  StatusOr<std::string> HandlePushNext(net::CallContext& ctx, const std::string& bytes) {
    pbc::PushNextRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentPushNextMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    pbc::PushNextResponse resp;
    std::optional<PushHub::Taken> taken = hub_.Next(req.session());
    if (!taken) {
      resp.set_idle(true);
    } else {
      resp.set_read_id(taken->id);
      resp.set_component(taken->component);
      resp.set_request(std::move(taken->request));
    }
    return resp.SerializeAsString();
  }

  StatusOr<std::string> HandlePushChunk(net::CallContext& ctx, const std::string& bytes) {
    pbc::PushChunkRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentPushChunkMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    LIFEBOAT_RETURN_IF_ERROR(hub_.Chunk(req.read_id(), std::move(*req.mutable_data())));
    return pbc::PushChunkResponse().SerializeAsString();
  }

  StatusOr<std::string> HandlePushDone(net::CallContext& ctx, const std::string& bytes) {
    pbc::PushDoneRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentPushDoneMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    Status result = req.code() == 0
                        ? OkStatus()
                        : Status(static_cast<Code>(req.code()), req.message(), req.subject());
    LIFEBOAT_RETURN_IF_ERROR(hub_.Done(req.read_id(), std::move(result)));
    return pbc::PushDoneResponse().SerializeAsString();
  }

  StatusOr<std::string> HandlePeerConfig(net::CallContext& ctx, const std::string& bytes) {
    pbc::ComponentRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentPeerConfigMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    LIFEBOAT_ASSIGN_OR_RETURN(pb::PluginConfig config, local_.PeerConfig(req.component()));
    pbc::PeerConfigResponse resp;
    resp.set_config(config.SerializeAsString());
    return resp.SerializeAsString();
  }

  StatusOr<std::string> HandleDescribe(net::CallContext& ctx, const std::string& bytes) {
    pbc::ComponentRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentDescribeMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    LIFEBOAT_ASSIGN_OR_RETURN(pb::PluginDescriptor d, local_.Describe(req.component()));
    pbc::DescribeResponse resp;
    resp.set_plugin_descriptor(d.SerializeAsString());
    return resp.SerializeAsString();
  }

  StatusOr<std::string> HandleClock(net::CallContext& ctx, const std::string& bytes) {
    pbc::ClockRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentClockMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    pbc::ClockResponse resp;
    // Read as late as possible: the caller brackets the call with its own clock.
    LIFEBOAT_ASSIGN_OR_RETURN(int64_t now, local_.ClockNow());
    resp.set_unix_nanos(now);
    return resp.SerializeAsString();
  }

  StatusOr<std::string> HandleInfo(net::CallContext& ctx, const std::string& bytes) {
    pbc::InfoRequest req;
    LIFEBOAT_RETURN_IF_ERROR(Parse(bytes, &req, kAgentInfoMethod));
    LIFEBOAT_RETURN_IF_ERROR(CheckCaller(ctx, req.cluster()));
    AgentInfo info = Info();
    pbc::InfoResponse resp;
    resp.set_cluster(info.cluster);
    resp.set_agent_version(info.agent_version);
    resp.set_abi_major(info.abi_major);
    resp.set_abi_minor(info.abi_minor);
    resp.set_started_unix_nanos(info.started_unix_nanos);
    for (const auto& c : info.components) {
      pbc::ComponentInfo* ci = resp.add_components();
      ci->set_component(c.component);
      ci->set_plugin(c.plugin);
      ci->set_plugin_version(c.plugin_version);
      ci->set_error(c.error);
    }
    return resp.SerializeAsString();
  }

  AgentInfo Info() {
    AgentInfo info;
    info.cluster = cluster();
    info.agent_version = options_.agent_version;
    info.abi_major = LIFEBOAT_ABI_MAJOR;
    info.abi_minor = LIFEBOAT_ABI_MINOR;
    info.started_unix_nanos = started_;
    for (const auto& c : cluster_.components()) {
      AgentComponentInfo ci;
      ci.component = c.component();
      ci.plugin = c.plugin().empty() ? c.component() : c.plugin();
      auto d = local_.Describe(c.component());
      if (d.ok()) {
        ci.plugin = d->name();
        ci.plugin_version = d->version();
      } else {
        ci.error = d.status().ToString();
      }
      info.components.push_back(std::move(ci));
    }
    return info;
  }

 private:
  const v1::Cluster cluster_;
  AgentServiceOptions options_;
  LocalAgent local_;
  const int64_t started_;
  struct PeerPool {
    std::vector<std::unique_ptr<RemoteAgent>> clients;
    size_t next = 0;
  };
  std::mutex peers_mu_;
  std::map<std::string, PeerPool> peers_;
  PushHub hub_;
  Pusher pusher_;  // after local_: it runs reads on it
  CancelWatcher watcher_;
};

AgentService::AgentService(const PluginHost& host, v1::Cluster cluster, AgentServiceOptions options)
    : impl_(std::make_unique<Impl>(host, std::move(cluster), std::move(options))) {}

AgentService::~AgentService() = default;

const std::string& AgentService::cluster() const { return impl_->cluster(); }

AgentInfo AgentService::Info() { return impl_->Info(); }

Status AgentService::Register(net::Server& server) {
  Impl* impl = impl_.get();
  using Method = StatusOr<std::string> (Impl::*)(net::CallContext&, const std::string&);
  const std::pair<const char*, Method> methods[] = {
      {kAgentCallMethod, &Impl::HandleCall},
      {kAgentPeerConfigMethod, &Impl::HandlePeerConfig},
      {kAgentDescribeMethod, &Impl::HandleDescribe},
      {kAgentClockMethod, &Impl::HandleClock},
      {kAgentInfoMethod, &Impl::HandleInfo},
      {kAgentStartPushMethod, &Impl::HandleStartPush},
      {kAgentStopPushMethod, &Impl::HandleStopPush},
      {kAgentPushNextMethod, &Impl::HandlePushNext},
      {kAgentPushChunkMethod, &Impl::HandlePushChunk},
      {kAgentPushDoneMethod, &Impl::HandlePushDone},
  };
  for (const auto& [name, method] : methods) {
    LIFEBOAT_RETURN_IF_ERROR(server.Register(
        name, [impl, method = method](net::CallContext& ctx, const std::string& request) {
          return (impl->*method)(ctx, request);
        }));
  }
  return server.RegisterStream(
      kAgentReadMethod,
      [impl](net::CallContext& ctx, const std::string& request, net::StreamWriter& out) {
        return impl->HandleRead(ctx, request, out);
      });
}

}  // namespace lifeboat::core::control
