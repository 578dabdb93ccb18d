#include <lifeboat/core/agent.h>

#include <chrono>

namespace lifeboat::core {

LocalAgent::LocalAgent(const PluginHost& host, v1::Cluster cluster)
    : host_(host), cluster_(std::move(cluster)) {}

StatusOr<lifeboat::v1::PluginConfig> LocalAgent::PeerConfig(const std::string& component) {
  for (const auto& c : cluster_.components()) {
    if (c.component() != component) continue;
    lifeboat::v1::PluginConfig config;
    config.set_plugin(c.plugin().empty() ? c.component() : c.plugin());
    config.set_cluster(cluster_.name());
    config.set_config_json(c.config_json());
    return config;
  }
  std::string known;
  for (const auto& c : cluster_.components()) known += (known.empty() ? "" : ", ") + c.component();
  return NotFoundError("cluster " + cluster_.name() + " has no component '" + component +
                       "' (it has: " + (known.empty() ? "none" : known) + ")");
}

StatusOr<PluginInstance*> LocalAgent::Instance(const std::string& component) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(component);
  if (it != instances_.end()) return it->second.get();
  LIFEBOAT_ASSIGN_OR_RETURN(lifeboat::v1::PluginConfig config, PeerConfig(component));
  auto made = host_.Instantiate(config);
  if (!made.ok()) {
    return made.status().WithContext("cluster " + cluster_.name() + ", component " + component);
  }
  PluginInstance* raw = made->get();
  instances_.emplace(component, std::move(made).value());
  return raw;
}

Status LocalAgent::Call(const std::string& component, lb_op op, const std::string& request,
                        std::string* response, const CallOptions& opts) {
  LIFEBOAT_ASSIGN_OR_RETURN(PluginInstance * instance, Instance(component));
  return instance->InvokeRaw(op, request, response, opts);
}

Status Agent::Read(const std::string& component, const std::string&, const ByteSink&,
                   const CallOptions&) {
  return UnimplementedError("the agent of cluster " + cluster() +
                            " cannot serve peer reads of component " + component);
}

Status Agent::StartPush(const std::string&, const std::string&, const std::string&,
                        const std::string&) {
  return OkStatus();
}

Status Agent::StopPush(const std::string&) { return OkStatus(); }

Status LocalAgent::Read(const std::string& component, const std::string& request,
                        const ByteSink& sink, const CallOptions& opts) {
  LIFEBOAT_ASSIGN_OR_RETURN(PluginInstance * instance, Instance(component));
  CallOptions read = opts;
  read.on_chunk = sink;
  std::string response;
  return instance->InvokeRaw(LB_OP_READ, request, &response, read);
}

StatusOr<lifeboat::v1::PluginDescriptor> LocalAgent::Describe(const std::string& component) {
  LIFEBOAT_ASSIGN_OR_RETURN(PluginInstance * instance, Instance(component));
  return instance->descriptor();
}

StatusOr<int64_t> LocalAgent::ClockNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace lifeboat::core
