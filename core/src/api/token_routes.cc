// /v1/tokens: make, list and revoke API tokens (admin only); /v1/whoami (any token).
#include <lifeboat/core/api/tokens.h>

#include <cassert>

#include "routes.h"

namespace lifeboat::core::api {
namespace {

using json = nlohmann::json;

json InfoJson(const TokenInfo& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", RoleName(t.role)},
          {"created_unix_nanos", t.created_unix_nanos},
          {"created_by", t.created_by},
          {"expires_unix_nanos", t.expires_unix_nanos}};
}

}  // namespace

void RegisterTokenRoutes(ApiHandler& h) {
  TokenStore& tokens = h.tokens();
  Route list;
  list.method = "GET";
  list.pattern = "/v1/tokens";
  list.min_role = Role::kAdmin;
  list.summary = "API tokens (names and roles; never the secrets)";
  list.fn = [&tokens](const RouteRequest&) {
    auto all = tokens.List();
    if (!all.ok()) return ErrorResponse(all.status());
    json out = json::array();
    for (const auto& t : *all) out.push_back(InfoJson(t));
    return JsonResponse(200, {{"tokens", out}});
  };
  Route create;
  create.method = "POST";
  create.pattern = "/v1/tokens";
  create.min_role = Role::kAdmin;
  create.summary =
      "Make a token {name, role, ttl_seconds}; the answer holds the secret, shown once (201)";
  create.fn = [&tokens](const RouteRequest& r) {
    auto body = JsonObjectBody(r.request);
    if (!body.ok()) return ErrorResponse(body.status());
    for (const auto& [key, value] : body->items()) {
      if (key != "name" && key != "role" && key != "ttl_seconds") {
        return ErrorResponse(InvalidArgumentError("unknown field '" + key.substr(0, 80) +
                                                  "' in the body; known: name, role, ttl_seconds"));
      }
    }
    int64_t ttl_seconds = 0;
    if (auto ttl = body->find("ttl_seconds"); ttl != body->end() && !ttl->is_null()) {
      if (!ttl->is_number_integer()) {
        return ErrorResponse(InvalidArgumentError(
            "field 'ttl_seconds' must be a whole number of seconds (0: never expires)"));
      }
      ttl_seconds = ttl->get<int64_t>();
    }
    auto name = body->find("name");
    auto role = body->find("role");
    if (name == body->end() || !name->is_string() || role == body->end() || !role->is_string()) {
      return ErrorResponse(InvalidArgumentError(
          "the body needs {\"name\": \"...\", \"role\": \"viewer|operator|admin\"}"));
    }
    auto parsed = RoleFromName(role->get<std::string>());
    if (!parsed) {
      return ErrorResponse(InvalidArgumentError("role '" + role->get<std::string>().substr(0, 40) +
                                                "' is not one of viewer, operator, admin"));
    }
    auto made =
        tokens.Create(name->get<std::string>(), *parsed, r.caller.name, ttl_seconds);  // audited
    if (!made.ok()) return ErrorResponse(made.status());
    json out = InfoJson(made->info);
    out["token"] = made->token;
    Response resp = JsonResponse(201, out);
    // The secret must not linger in caches between the server and the admin.
    resp.headers["Cache-Control"] = "no-store";
    return resp;
  };
  Route revoke;
  revoke.method = "DELETE";
  revoke.pattern = "/v1/tokens/{name}";
  revoke.min_role = Role::kAdmin;
  revoke.summary = "Revoke a token by name";
  revoke.fn = [&tokens](const RouteRequest& r) {
    const std::string& name = r.path.at("name");
    Status s = tokens.Revoke(name, r.caller.name);  // audited
    if (!s.ok()) return ErrorResponse(s);
    return JsonResponse(200, {{"name", name}, {"revoked", true}});
  };
  // Who the token is: the console shows only the buttons the token's role may press.
  Route whoami;
  whoami.method = "GET";
  whoami.pattern = "/v1/whoami";
  whoami.min_role = Role::kViewer;
  whoami.summary = "The caller's token name and role";
  whoami.fn = [](const RouteRequest& r) {
    return JsonResponse(200, {{"name", r.caller.name}, {"role", RoleName(r.caller.role)}});
  };
  for (Route* r : {&list, &create, &revoke, &whoami}) {
    Status s = h.AddRoute(std::move(*r));
    assert(s.ok());
    (void)s;
  }
}

}  // namespace lifeboat::core::api
