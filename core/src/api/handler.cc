// ApiHandler: routing, authentication, roles, errors; the routes themselves are in
// routes.cc and token_routes.cc.
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/api/tokens.h>
#include <lifeboat/core/engine.h>
#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>
#include <mutex>
#include <set>

#include "http_text.h"
#include "routes.h"

namespace lifeboat::core::api {
namespace {

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

Response Unauthenticated(const Status& status) {
  Response r = ErrorResponse(status);
  r.headers["WWW-Authenticate"] = "Bearer realm=\"lifeboat\"";
  return r;
}

}  // namespace

// ---- small public pieces ---------------------------------------------------------------

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    default:
      return "unknown";
  }
}

std::optional<Role> RoleFromName(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

Identity LocalAdmin() { return Identity{"local", Role::kAdmin}; }

std::string Request::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
    case Code::kOutOfRange:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
    case Code::kAborted:
    case Code::kFailedPrecondition:
      return 409;
    case Code::kCancelled:
      return 499;  // "client closed request", as gRPC gateways map CANCELLED
    case Code::kUnimplemented:
      return 501;
    case Code::kUnavailable:
      return 503;
    case Code::kDeadlineExceeded:
      return 504;
    case Code::kResourceExhausted:
      return 507;  // in Lifeboat this is a full disk, not a rate limit
    default:
      return 500;
  }
}

Code CodeForHttpStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) return Code::kOk;
  switch (http_status) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kFailedPrecondition;
    case 499:
      return Code::kCancelled;
    case 501:
      return Code::kUnimplemented;
    case 502:
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kDeadlineExceeded;
    case 507:
      return Code::kResourceExhausted;
    default:
      return http_status >= 400 && http_status < 500 ? Code::kInvalidArgument : Code::kInternal;
  }
}

std::optional<Code> CodeFromName(std::string_view name) {
  for (int32_t c = 0; c <= 16; ++c) {
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return std::nullopt;
}

Response JsonResponse(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  // Names and messages come from files and plugins; a byte that is not UTF-8 must not turn
  // an answer into an exception.
  r.body = body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

Response ErrorResponse(const Status& status) {
  if (status.ok()) {
    return ErrorResponse(Status(Code::kInternal, "an error response was made of an OK status"));
  }
  nlohmann::json error = {{"code", CodeName(status.code())}, {"message", status.message()}};
  if (!status.subject().empty()) error["subject"] = status.subject();
  return JsonResponse(HttpStatusFor(status.code()), {{"error", error}});
}

StatusOr<nlohmann::json> JsonObjectBody(const Request& request) {
  const std::string type = Lower(request.Header("content-type"));
  if (!type.empty() && type.rfind("application/json", 0) != 0) {
    return InvalidArgumentError("the body must be JSON (Content-Type: application/json), not '" +
                                request.Header("content-type") + "'");
  }
  if (request.body.empty()) return nlohmann::json::object();
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's message says where parsing stopped ("at line 1, column 12").
    return InvalidArgumentError(std::string("the body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) {
    return InvalidArgumentError(std::string("the body must be a JSON object, not ") +
                                body.type_name());
  }
  return body;
}

Status StatusFromResponse(const Response& response) {
  if (response.status >= 200 && response.status < 300) return OkStatus();
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_discarded() && body.is_object() && body.contains("error") &&
      body["error"].is_object()) {
    const nlohmann::json& e = body["error"];
    std::optional<Code> code;
    if (e.contains("code") && e["code"].is_string()) {
      code = CodeFromName(e["code"].get<std::string>());
    }
    std::string message = e.contains("message") && e["message"].is_string()
                              ? e["message"].get<std::string>()
                              : std::string("(no message)");
    std::string subject =
        e.contains("subject") && e["subject"].is_string() ? e["subject"].get<std::string>() : "";
    Code c = code.value_or(CodeForHttpStatus(response.status));
    if (c == Code::kOk) c = Code::kUnknown;
    return Status(c, std::move(message), std::move(subject));
  }
  std::string excerpt = response.body.substr(0, 200);
  Code c = CodeForHttpStatus(response.status);
  if (c == Code::kOk) c = Code::kUnknown;
  return Status(c, "the server answered HTTP " + std::to_string(response.status) +
                       (excerpt.empty() ? std::string() : ": " + excerpt));
}

// ---- routing -----------------------------------------------------------------------------

struct ApiHandler::CompiledRoute {
  Route route;
  // One entry per segment: the literal, or the parameter's name with is_param set.
  struct Segment {
    std::string text;
    bool is_param = false;
  };
  std::vector<Segment> segments;

  // Binds `path` to this route's pattern; false when it does not match.
  bool Match(const std::vector<std::string>& path, std::map<std::string, std::string>* out) const {
    if (path.size() != segments.size()) return false;
    for (size_t i = 0; i < path.size(); ++i) {
      if (segments[i].is_param) {
        if (path[i].empty()) return false;
      } else if (segments[i].text != path[i]) {
        return false;
      }
    }
    if (out != nullptr) {
      for (size_t i = 0; i < path.size(); ++i) {
        if (segments[i].is_param) (*out)[segments[i].text] = path[i];
      }
    }
    return true;
  }

  // Literal-first order: compares the positions of the first parameter segment.
  bool MoreSpecificThan(const CompiledRoute& other) const {
    for (size_t i = 0; i < segments.size() && i < other.segments.size(); ++i) {
      if (segments[i].is_param != other.segments[i].is_param) return !segments[i].is_param;
    }
    return false;
  }
};

ApiHandler::ApiHandler(Engine& engine, ApiOptions options)
    : engine_(engine), options_(std::move(options)) {
  if (!options_.now) options_.now = &SystemNow;
  tokens_ = std::make_unique<TokenStore>(engine_.store(), options_.now);
  RegisterEngineRoutes(*this);
  RegisterControlRoutes(*this);
  RegisterTokenRoutes(*this);
  RegisterConsoleRoutes(*this);
  Route metrics;
  metrics.method = "GET";
  metrics.pattern = "/metrics";
  metrics.min_role = options_.public_metrics ? std::nullopt : std::optional<Role>(Role::kViewer);
  metrics.summary = "Prometheus metrics: jobs, bytes, RPO per service, and registered gauges";
  metrics.fn = [this](const RouteRequest&) { return Metrics(); };
  Status s = AddRoute(std::move(metrics));
  assert(s.ok() && "the built-in routes are distinct");
  s = AddMetricsCollector("engine",
                          [this](MetricsWriter& out) { return CollectEngineMetrics(*this, out); });
  assert(s.ok());
  (void)s;
}

ApiHandler::~ApiHandler() = default;

int64_t ApiHandler::Now() const { return options_.now(); }

Status ApiHandler::Audit(const std::string& actor, const std::string& action,
                         const std::string& subject, const std::string& detail) const {
  StateStore::Batch batch;
  LIFEBOAT_RETURN_IF_ERROR(
      AddAuditRecord(engine_.store(), batch, Now(), actor, action, subject, detail));
  return engine_.store().Write(batch, /*sync=*/true);
}

Status ApiHandler::AddRoute(Route route) {
  if (route.method.empty() || !route.fn) {
    return InvalidArgumentError("route " + route.pattern + ": a method and a function are needed");
  }
  for (char c : route.method) {
    if (c < 'A' || c > 'Z') {
      return InvalidArgumentError("route " + route.pattern + ": method '" + route.method +
                                  "' is not an upper-case HTTP method");
    }
  }
  auto compiled = std::make_unique<CompiledRoute>();
  auto target = ParseTarget(route.pattern);
  if (!target.ok() || !target->query.empty() || route.pattern.find('?') != std::string::npos) {
    return InvalidArgumentError("route pattern '" + route.pattern +
                                "' is not an absolute path without a query");
  }
  std::set<std::string> params;
  for (const std::string& seg : target->segments) {
    CompiledRoute::Segment s;
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      s.text = seg.substr(1, seg.size() - 2);
      s.is_param = true;
      if (s.text.empty() || !params.insert(s.text).second) {
        return InvalidArgumentError("route pattern '" + route.pattern +
                                    "': a parameter is empty or repeated");
      }
    } else {
      // "/" alone (the console's page) is the one pattern with an empty segment.
      const bool root = route.pattern == "/";
      if ((seg.empty() && !root) || seg.find_first_of("{}") != std::string::npos) {
        return InvalidArgumentError("route pattern '" + route.pattern +
                                    "': empty segment or stray brace");
      }
      s.text = seg;
    }
    compiled->segments.push_back(std::move(s));
  }
  compiled->route = std::move(route);
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (const auto& r : routes_) {
    if (r->route.method != compiled->route.method ||
        r->segments.size() != compiled->segments.size()) {
      continue;
    }
    bool same = true;
    for (size_t i = 0; i < r->segments.size() && same; ++i) {
      same = r->segments[i].is_param == compiled->segments[i].is_param &&
             (r->segments[i].is_param || r->segments[i].text == compiled->segments[i].text);
    }
    if (same) {
      return AlreadyExistsError("route " + compiled->route.method + " " + compiled->route.pattern +
                                " is registered already (as " + r->route.pattern + ")");
    }
  }
  routes_.push_back(std::move(compiled));
  return OkStatus();
}

std::vector<RouteInfo> ApiHandler::Routes() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) {
    out.push_back({r->route.method, r->route.pattern, r->route.min_role, r->route.summary});
  }
  return out;
}

Status ApiHandler::AddMetricsCollector(std::string name, MetricsCollector collector) {
  if (!collector) return InvalidArgumentError("metrics collector " + name + ": no function");
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (const auto& [n, c] : collectors_) {
    if (n == name) return AlreadyExistsError("a metrics collector named " + name + " exists");
  }
  collectors_.emplace_back(std::move(name), std::move(collector));
  return OkStatus();
}

Response ApiHandler::Metrics() const {
  std::vector<std::pair<std::string, MetricsCollector>> collectors;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    collectors = collectors_;
  }
  MetricsWriter writer;
  std::vector<MetricSample> up;
  for (const auto& [name, collect] : collectors) {
    Status s = collect(writer);
    if (!s.ok()) spdlog::warn("metrics collector {} failed: {}", name, s.ToString());
    up.push_back({{{"collector", name}}, s.ok() ? 1.0 : 0.0});
  }
  (void)writer.Add("lifeboat_metrics_collector_up",
                   "1 when the collector gathered its samples on this scrape, 0 when it failed",
                   MetricType::kGauge, std::move(up));
  Response r;
  r.content_type = kPrometheusContentType;
  r.body = writer.Render();
  return r;
}

Response ApiHandler::Handle(const Request& request) const {
  try {
    Response r = Dispatch(request);
    spdlog::debug("api {} {} -> {}", request.method, request.target.substr(0, 200), r.status);
    return r;
  } catch (const std::exception& e) {
    spdlog::error("api {} failed with an exception: {}", request.method, e.what());
    return ErrorResponse(Status(Code::kInternal, std::string("internal error: ") + e.what()));
  } catch (...) {
    return ErrorResponse(Status(Code::kInternal, "internal error"));
  }
}

Response ApiHandler::Dispatch(const Request& request) const {
  auto target = ParseTarget(request.target);
  if (!target.ok()) return ErrorResponse(target.status());

  const CompiledRoute* route = nullptr;
  std::set<std::string> allowed;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const auto& r : routes_) {
      if (!r->Match(target->segments, nullptr)) continue;
      if (r->route.method != request.method) {
        allowed.insert(r->route.method);
        continue;
      }
      if (route == nullptr || r->MoreSpecificThan(*route)) route = r.get();
    }
  }
  if (route == nullptr && allowed.empty()) {
    std::string path = request.target.substr(0, request.target.find('?'));
    return ErrorResponse(NotFoundError("no such route: " + request.method + " " +
                                       path.substr(0, 200) + " (docs/api.md lists them)"));
  }
  if (route == nullptr) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    Response r = JsonResponse(
        405, {{"error",
               {{"code", CodeName(Code::kInvalidArgument)},
                {"message", "method " + request.method + " is not allowed here; use " + allow}}}});
    r.headers["Allow"] = allow;
    return r;
  }
  // Routes are never removed, so the pointer stays valid without the lock.

  Identity caller;
  if (route->route.min_role.has_value()) {
    if (request.identity.has_value()) {
      caller = *request.identity;
    } else {
      const std::string auth = Trim(request.Header("authorization"));
      if (auth.empty()) {
        return Unauthenticated(
            Status(Code::kUnauthenticated,
                   "this call needs a token (Authorization: Bearer <token>); pass one with "
                   "--token-file or LIFEBOAT_TOKEN"));
      }
      const size_t space = auth.find(' ');
      if (space == std::string::npos || Lower(auth.substr(0, space)) != "bearer") {
        return Unauthenticated(
            Status(Code::kUnauthenticated, "the Authorization header must be 'Bearer <token>'"));
      }
      auto who = tokens_->Authenticate(Trim(auth.substr(space + 1)));
      if (!who.ok()) {
        if (who.status().code() == Code::kUnauthenticated) {
          spdlog::info("api {} {}: refused an unknown or malformed token", request.method,
                       request.target.substr(0, request.target.find('?')).substr(0, 200));
          return Unauthenticated(who.status());
        }
        return ErrorResponse(who.status());
      }
      caller = *who;
    }
    if (static_cast<int>(caller.role) < static_cast<int>(*route->route.min_role)) {
      spdlog::warn("api {} {}: '{}' ({}) refused, needs {}", request.method, route->route.pattern,
                   caller.name, RoleName(caller.role), RoleName(*route->route.min_role));
      return ErrorResponse(Status(Code::kPermissionDenied,
                                  request.method + " " + route->route.pattern + " needs the " +
                                      RoleName(*route->route.min_role) + " role; '" + caller.name +
                                      "' has " + RoleName(caller.role)));
    }
  }

  for (const auto& [name, value] : target->query) {
    const auto& accepted = route->route.query_params;
    if (std::find(accepted.begin(), accepted.end(), name) == accepted.end()) {
      std::string known;
      for (const auto& a : accepted) known += (known.empty() ? "" : ", ") + a;
      return ErrorResponse(InvalidArgumentError(
          "unknown query parameter '" + name.substr(0, 80) + "' for " + route->route.pattern +
          (known.empty() ? "; it takes none" : "; it takes: " + known)));
    }
  }
  std::map<std::string, std::string> path;
  route->Match(target->segments, &path);
  return route->route.fn(RouteRequest{request, caller, path, target->query});
}

}  // namespace lifeboat::core::api
