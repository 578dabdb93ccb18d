// The control routes: endpoint lookup, roles, failover and failback, cluster health (doctor),
// and their /metrics gauges.
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/engine.h>

#include "consent.h"
#include "http_text.h"
#include "routes.h"

namespace lifeboat::core::api {
namespace {

using nlohmann::json;
namespace model = ::lifeboat::core::v1;

// A switch's options come as query parameters: dry_run, force, reason (and for a failback
// discard_writes). Its body says what the caller agrees to: {"confirm": "<service>"}, or for a
// cluster-wide failover {"confirm": "<cluster>"}; a dry run needs none (consent.h).
StatusOr<model::SwitchSpec> SwitchSpecFrom(const RouteRequest& r) {
  model::SwitchSpec spec;
  for (const char* flag : {"dry_run", "force", "discard_writes"}) {
    auto it = r.query.find(flag);
    if (it == r.query.end()) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(bool on, ParseBoolParam(flag, it->second));
    const std::string_view f(flag);
    if (f == "dry_run") {
      spec.set_dry_run(on);
    } else if (f == "force") {
      spec.set_force(on);
    } else {
      spec.set_discard_writes(on);
    }
  }
  if (auto it = r.query.find("reason"); it != r.query.end()) spec.set_reason(it->second);
  return spec;
}

// The body's consent to a switch of `name` (unless a dry run); `action` says what it does.
Status SwitchConsent(const RouteRequest& r, const model::SwitchSpec& spec, const std::string& name,
                     const std::string& action) {
  LIFEBOAT_ASSIGN_OR_RETURN(json body, JsonObjectBody(r.request));
  LIFEBOAT_RETURN_IF_ERROR(OnlyKnownFields(body, {"confirm"}));
  if (spec.dry_run()) return OkStatus();
  const std::string path = r.request.target.substr(0, r.request.target.find('?'));
  return RequireConfirm(body, name, r.request.method + " " + path + " " + action);
}

Response StartSwitch(Engine& e, const RouteRequest& r, bool failback, model::SwitchSpec spec) {
  auto id = failback ? e.StartFailback(spec, r.caller.name) : e.StartFailover(spec, r.caller.name);
  if (!id.ok()) return ErrorResponse(id.status());
  Status s = e.Submit(*id);
  if (!s.ok() && s.code() != Code::kAlreadyExists) {
    return ErrorResponse(s.WithContext("job " + *id + " is recorded but did not start; " +
                                       "`lifeboat jobs resume " + *id + "` starts it"));
  }
  Response out = JsonResponse(202, {{"job_id", *id}});
  out.headers["Location"] = "/v1/jobs/" + *id;
  return out;
}

void Must(Status s) {
  if (!s.ok()) std::abort();  // the built-in routes are distinct and well formed
}

void Add(ApiHandler& h, const char* method, const char* pattern, Role role, const char* summary,
         RouteFn fn, std::vector<std::string> query = {}) {
  Route route;
  route.method = method;
  route.pattern = pattern;
  route.min_role = role;
  route.summary = summary;
  route.fn = std::move(fn);
  route.query_params = std::move(query);
  Must(h.AddRoute(std::move(route)));
}

}  // namespace

void RegisterControlRoutes(ApiHandler& h) {
  Engine& e = h.engine();
  Add(h, "GET", "/v1/services/{service}/endpoints", Role::kViewer,
      "Endpoint lookup: the active cluster of a service and its endpoints",
      [&e](const RouteRequest& r) {
        auto answer = e.Endpoints(r.path.at("service"));
        if (!answer.ok()) return ErrorResponse(answer.status());
        return JsonResponse(200, ProtoToJson(*answer));
      });
  Add(h, "GET", "/v1/services/{service}/roles", Role::kViewer,
      "Which cluster holds PRIMARY for a service, at which epoch", [&e](const RouteRequest& r) {
        auto roles = e.Roles(r.path.at("service"));
        if (!roles.ok()) return ErrorResponse(roles.status());
        return JsonResponse(200, ProtoToJson(*roles));
      });
  const std::vector<std::string> switch_params = {"dry_run", "force", "reason"};
  Add(
      h, "POST", "/v1/services/{service}/failover", Role::kAdmin,
      "Fail a service over to its secondary (202 + job id); body {\"confirm\": \"<service>\"}; "
      "?dry_run=true lists and checks the steps (no body needed)",
      [&e](const RouteRequest& r) {
        auto spec = SwitchSpecFrom(r);
        if (!spec.ok()) return ErrorResponse(spec.status());
        const std::string& service = r.path.at("service");
        Status agreed = SwitchConsent(r, *spec, service,
                                      "moves " + service + "'s active side to its secondary");
        if (!agreed.ok()) return ErrorResponse(agreed);
        spec->add_services(service);
        return StartSwitch(e, r, /*failback=*/false, *spec);
      },
      switch_params);
  Add(
      h, "POST", "/v1/clusters/{cluster}/failover", Role::kAdmin,
      "Fail over every service whose primary the cluster is, in one job (202 + job id); body "
      "{\"confirm\": \"<cluster>\"}",
      [&e](const RouteRequest& r) {
        auto spec = SwitchSpecFrom(r);
        if (!spec.ok()) return ErrorResponse(spec.status());
        const std::string& cluster = r.path.at("cluster");
        Status agreed = SwitchConsent(r, *spec, cluster,
                                      "moves every service whose primary " + cluster + " is");
        if (!agreed.ok()) return ErrorResponse(agreed);
        spec->set_from_cluster(cluster);
        return StartSwitch(e, r, /*failback=*/false, *spec);
      },
      switch_params);
  Add(h, "POST", "/v1/services/{service}/failback", Role::kAdmin,
      "Move a service back to its other cluster with no data loss (202 + job id); body "
      "{\"confirm\": \"<service>\"}; ?discard_writes=true replaces what the other cluster "
      "took since the last common point",
      [&e](const RouteRequest& r) {
        auto spec = SwitchSpecFrom(r);
        if (!spec.ok()) return ErrorResponse(spec.status());
        const std::string& service = r.path.at("service");
        Status agreed = SwitchConsent(r, *spec, service,
                                      "moves " + service +
                                          "'s active side back to its other "
                                          "cluster");
        if (!agreed.ok()) return ErrorResponse(agreed);
        spec->add_services(service);
        return StartSwitch(e, r, /*failback=*/true, *spec);
      },
      {"dry_run", "force", "reason", "discard_writes"});
  Add(h, "POST", "/v1/services/{service}/unfence", Role::kAdmin,
      "Lift the fences of a service's data sets on ?cluster=C (body {\"confirm\": "
      "\"<service>\"}); ?dry_run=true says what it would lift",
      [&e](const RouteRequest& r) {
        const std::string& service = r.path.at("service");
        auto cluster = r.query.find("cluster");
        if (cluster == r.query.end() || cluster->second.empty()) {
          return ErrorResponse(
              InvalidArgumentError("name the cluster whose fences to lift: ?cluster=NAME"));
        }
        model::SwitchSpec flags;  // dry_run only
        if (auto it = r.query.find("dry_run"); it != r.query.end()) {
          auto b = ParseBoolParam("dry_run", it->second);
          if (!b.ok()) return ErrorResponse(b.status());
          flags.set_dry_run(*b);
        }
        Status agreed = SwitchConsent(
            r, flags, service,
            "lets applications write " + service + "'s data sets on " + cluster->second + " again");
        if (!agreed.ok()) return ErrorResponse(agreed);
        auto lines = e.Unfence(service, cluster->second, flags.dry_run(), r.caller.name);
        if (!lines.ok()) return ErrorResponse(lines.status());  // audited by the engine
        return JsonResponse(200, {{"service", service},
                                  {"cluster", cluster->second},
                                  {"dry_run", flags.dry_run()},
                                  {"lines", *lines}});
      },
      {"cluster", "dry_run"});
  Add(h, "GET", "/v1/health", Role::kViewer,
      "Cluster health: reachability, clock offset, plugin probes; ?check=true checks now",
      [&e](const RouteRequest& r) {
        bool check = false;
        if (auto it = r.query.find("check"); it != r.query.end()) {
          auto b = ParseBoolParam("check", it->second);
          if (!b.ok()) return ErrorResponse(b.status());
          check = *b;
        }
        std::vector<model::ClusterHealth> health;
        if (check || e.Health().empty()) {
          auto checked = e.CheckClusters();
          if (!checked.ok()) return ErrorResponse(checked.status());
          health = std::move(checked).value();
        } else {
          health = e.Health();
        }
        json out = json::array();
        for (const auto& c : health) out.push_back(ProtoToJson(c));
        return JsonResponse(200, {{"clusters", out}});
      },
      {"check"});

  Must(h.AddMetricsCollector("control", [&e](MetricsWriter& out) -> Status {
    std::vector<MetricSample> state, offset, rtt;
    for (const auto& c : e.Health()) {
      for (auto s : {model::CLUSTER_HEALTHY, model::CLUSTER_DEGRADED, model::CLUSTER_UNREACHABLE}) {
        std::string name = model::ClusterHealthState_Name(s).substr(8);  // "CLUSTER_"
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        state.push_back({{{"cluster", c.cluster()}, {"state", name}}, c.state() == s ? 1.0 : 0.0});
      }
      if (c.state() != model::CLUSTER_UNREACHABLE) {
        offset.push_back({{{"cluster", c.cluster()}}, c.clock().offset_nanos() / 1e9});
        rtt.push_back({{{"cluster", c.cluster()}}, c.clock().round_trip_nanos() / 1e9});
      }
    }
    LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_cluster_health",
                                     "1 for the cluster's current health state", MetricType::kGauge,
                                     state));
    LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_cluster_clock_offset_seconds",
                                     "The agent's clock minus the control service's",
                                     MetricType::kGauge, offset));
    LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_cluster_clock_round_trip_seconds",
                                     "Round trip of the last clock reading", MetricType::kGauge,
                                     rtt));
    auto services = e.Services();
    if (!services.ok()) return services.status();
    std::vector<MetricSample> epochs, primary;
    for (const auto& s : *services) {
      auto roles = e.Roles(s.name());
      if (!roles.ok()) return roles.status();
      epochs.push_back({{{"service", s.name()}}, static_cast<double>(roles->epoch())});
      primary.push_back({{{"service", s.name()}, {"cluster", roles->primary_cluster()}}, 1.0});
    }
    LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_service_role_epoch",
                                     "The epoch of the service's roles (grows at each switch)",
                                     MetricType::kGauge, epochs));
    return out.Add("lifeboat_service_primary", "1 for the cluster that holds PRIMARY",
                   MetricType::kGauge, primary);
  }));
}

}  // namespace lifeboat::core::api
