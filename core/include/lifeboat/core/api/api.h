// Lifeboat's HTTP/JSON API, free of any transport: a request in, a response out.
//
// `ApiHandler` routes a `Request` (method, target, headers, body, and — for a trusted
// in-process caller — the caller's identity) to the engine and answers with a `Response`.
// The HTTP server (server.h) and the CLI's in-process client (client.h) both go through
// it, so that a remote `lifeboat daemon` and the embedded default run the same code.
//
// Authentication: a request without a preset identity must carry
// `Authorization: Bearer <token>`; the token is checked against the token store
// (tokens.h). No token, a malformed or an unknown one: 401. A role below the route's: 403,
// naming the role needed. Roles are ordered viewer < operator < admin:
//   viewer   reads (every GET),
//   operator also runs, resumes and cancels jobs, verifies restore points, applies YAML,
//   admin    also restores, deletes policies, manages tokens (and, later, fails over).
// Every state-changing call writes an audit record naming the caller.
//
// Errors are `{"error": {"code": "NOT_FOUND", "message": "...", "subject": "..."}}` with
// the HTTP status of HttpStatusFor(code). See docs/api.md for every route.
//
// Thread-safety: Handle() may be called from several threads at once. AddRoute() and
// AddMetricsCollector() may be called at any time (they take a write lock); a route or
// collector registered while a request is being handled is seen by later requests.
#ifndef LIFEBOAT_CORE_API_API_H_
#define LIFEBOAT_CORE_API_API_H_

#include <google/protobuf/message.h>
#include <lifeboat/core/api/metrics.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::core {
class Engine;
}  // namespace lifeboat::core

namespace lifeboat::core::api {

class TokenStore;

// Ordered: a higher role may do everything a lower one may.
enum class Role : int32_t { kViewer = 1, kOperator = 2, kAdmin = 3 };

// "viewer", "operator", "admin".
const char* RoleName(Role role);
// The role of a name above; nullopt for anything else (case-sensitive).
std::optional<Role> RoleFromName(std::string_view name);

// Who is calling: a token's name and role, or the local administrator.
struct Identity {
  std::string name;
  Role role = Role::kViewer;
};

// The in-process caller (the CLI on its own state directory): an admin named "local". The
// state directory's file permissions are what guard it.
Identity LocalAdmin();

struct Request {
  std::string method;  // "GET", "POST", "DELETE", ... (upper case)
  std::string target;  // origin form: "/v1/jobs/job-000001?x=y" (path, then an optional query)
  // Header names in lower case; a repeated header's values joined by ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  // Set only by a trusted in-process caller; a transport that received the request from a
  // network must leave it empty, so that the handler authenticates the bearer token.
  std::optional<Identity> identity;

  // The header's value, "" when absent. `name` in lower case.
  std::string Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers (Location, Allow, WWW-Authenticate, ...). Names as sent.
  std::map<std::string, std::string> headers;
};

// What a route's function receives: the request, the authenticated caller, and the
// request's path parameters and query, percent-decoded. The references are valid during
// the call only.
struct RouteRequest {
  const Request& request;
  const Identity& caller;
  const std::map<std::string, std::string>& path;   // "{name}" in the pattern -> value
  const std::map<std::string, std::string>& query;  // only names the route accepts
};

using RouteFn = std::function<Response(const RouteRequest&)>;

// One route. Patterns are absolute paths whose segments are literals or `{name}`
// parameters ("/v1/services/{service}/endpoints"); a parameter matches one non-empty
// segment. When two patterns match, the one with a literal earlier wins.
struct Route {
  std::string method;
  std::string pattern;
  // The least role allowed; nullopt: no authentication at all (/healthz).
  std::optional<Role> min_role = Role::kViewer;
  // Query parameters the route accepts; any other is refused with 400.
  std::vector<std::string> query_params;
  std::string summary;  // one line, for listings
  RouteFn fn;
};

struct RouteInfo {
  std::string method;
  std::string pattern;
  std::optional<Role> min_role;
  std::string summary;
};

struct ApiOptions {
  // The clock for audit records and tokens (nanoseconds since the Unix epoch); default: the
  // system clock.
  std::function<int64_t()> now;
  // /metrics without a token (for a scraper that cannot send one). Default: viewer needed.
  bool public_metrics = false;
};

class ApiHandler {
 public:
  // Registers the engine's routes (see docs/api.md). `engine` must outlive the handler.
  explicit ApiHandler(Engine& engine, ApiOptions options = {});
  ~ApiHandler();
  ApiHandler(const ApiHandler&) = delete;
  ApiHandler& operator=(const ApiHandler&) = delete;

  // Answers one request; never throws. A malformed target, query or body is 400 saying
  // what was wrong; an unknown path 404; a known path with another method 405 (with Allow).
  Response Handle(const Request& request) const;

  // Adds a route (for modules such as failover, doctor or endpoint lookup).
  // INVALID_ARGUMENT for a malformed pattern, an empty method or no function;
  // ALREADY_EXISTS when the method and pattern are registered already.
  Status AddRoute(Route route);
  // Every route, in registration order.
  std::vector<RouteInfo> Routes() const;

  // Adds a source of /metrics samples, called on every scrape in registration order.
  // ALREADY_EXISTS for a name in use. A collector that fails is reported by the gauge
  // lifeboat_metrics_collector_up{collector="<name>"} 0; the other samples still appear.
  Status AddMetricsCollector(std::string name, MetricsCollector collector);

  Engine& engine() const { return engine_; }
  TokenStore& tokens() const { return *tokens_; }
  int64_t Now() const;

  // Writes an audit record (time, actor, action, subject, detail) in a batch of its own.
  // For state-changing routes whose engine call does not audit itself.
  Status Audit(const std::string& actor, const std::string& action, const std::string& subject,
               const std::string& detail) const;

 private:
  struct CompiledRoute;
  Response Dispatch(const Request& request) const;
  Response Metrics() const;

  Engine& engine_;
  ApiOptions options_;
  std::unique_ptr<TokenStore> tokens_;
  mutable std::shared_mutex mu_;  // guards routes_ and collectors_
  std::vector<std::unique_ptr<CompiledRoute>> routes_;
  std::vector<std::pair<std::string, MetricsCollector>> collectors_;
};

// ---- helpers for routes ----------------------------------------------------------------

// HTTP status of a failure: INVALID_ARGUMENT/OUT_OF_RANGE 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS/ABORTED/FAILED_PRECONDITION 409,
// CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504,
// RESOURCE_EXHAUSTED 507, anything else 500. OK is 200.
int HttpStatusFor(Code code);
// The code of an HTTP status, for answers without an error body (the inverse of the
// above where it is one to one; 5xx other than those listed: UNAVAILABLE for 502, else
// INTERNAL; other 4xx: INVALID_ARGUMENT).
Code CodeForHttpStatus(int http_status);
// The code named by CodeName(); nullopt for an unknown name.
std::optional<Code> CodeFromName(std::string_view name);

// A JSON body with `status`.
Response JsonResponse(int status, const nlohmann::json& body);
// The error body of a failed status (status.ok() is a programming error: answers 500).
Response ErrorResponse(const Status& status);
// A protobuf message as JSON, its one shape in the API and in `lifeboat -o json`: proto field
// names, every field present (defaults too), 64-bit integers as numbers, enums by name.
nlohmann::json ProtoToJson(const google::protobuf::Message& message);
// The body of `request` as a JSON object. INVALID_ARGUMENT when it is not JSON or not an
// object (the message says where parsing stopped); an empty body is an empty object.
StatusOr<nlohmann::json> JsonObjectBody(const Request& request);
// The Status an error body (or, without one, the HTTP status) stands for. OK for 2xx.
Status StatusFromResponse(const Response& response);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_API_API_H_
