// The API's own routes, registered by ApiHandler's constructor.
//
// Thread-safety: functions only; the routes they add follow ApiHandler's rules.
#ifndef LIFEBOAT_CORE_SRC_API_ROUTES_H_
#define LIFEBOAT_CORE_SRC_API_ROUTES_H_

#include <lifeboat/core/api/api.h>

namespace lifeboat::core::api {

// /healthz and the engine's /v1 routes: clusters, services, status, policies, apply, jobs,
// restore points, restore, events, audit.
void RegisterEngineRoutes(ApiHandler& handler);
// Endpoint lookup, roles, failover, failback, cluster health, and their /metrics gauges.
void RegisterControlRoutes(ApiHandler& handler);
// /v1/tokens (admin) and /v1/whoami (any token).
void RegisterTokenRoutes(ApiHandler& handler);
// The web console: GET / and GET /console/{asset}, embedded in the binary (no token).
void RegisterConsoleRoutes(ApiHandler& handler);
// The engine's /metrics samples: jobs by kind and state, bytes transferred, RPO per service.
Status CollectEngineMetrics(const ApiHandler& handler, MetricsWriter& out);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_SRC_API_ROUTES_H_
