// What a route that can destroy data or move a service's active side needs before it acts: a
// JSON body that says what the caller agrees to, {"confirm": "<name>"} — the service (for a
// cluster-wide failover, the cluster). A dry run needs none. The console, the CLI and scripts
// send the same body; docs/api.md lists the routes.
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_CORE_SRC_API_CONSENT_H_
#define LIFEBOAT_CORE_SRC_API_CONSENT_H_

#include <lifeboat/status.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

namespace lifeboat::core::api {

// OK when `body` holds "confirm" equal to `expected`. Otherwise INVALID_ARGUMENT (HTTP 400)
// saying that `action` (e.g. "POST /v1/services/sales/failover moves sales's active side to
// its secondary") needs {"confirm": "<expected>"} (a dry run none) — for no body, no or an
// empty "confirm", or one naming something else (it says what it named).
Status RequireConfirm(const nlohmann::json& body, const std::string& expected,
                      const std::string& action);

// INVALID_ARGUMENT naming the first key of `body` that is not in `known`, and the known ones.
Status OnlyKnownFields(const nlohmann::json& body, std::initializer_list<const char*> known);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_SRC_API_CONSENT_H_
