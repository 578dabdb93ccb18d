// The web console: GET / (the page) and GET /console/{asset} (its scripts and styles), served
// from the files embedded in the binary. No token is needed for them: they hold no data, and
// every piece of data the page shows comes from the /v1 routes with the signed-in token.
#include <cassert>

#include "console_assets.h"
#include "routes.h"

namespace lifeboat::core::api {
namespace {

// The page runs only its own scripts and styles and talks only to this server: no inline
// script (so an injected name in the data cannot run), no framing (clickjacking a failover
// button), no sniffing a JSON answer into a script.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

const ConsoleAsset* FindAsset(std::string_view name) {
  for (const ConsoleAsset& a : ConsoleAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

Response AssetResponse(const ConsoleAsset& asset) {
  Response r;
  r.status = 200;
  r.content_type = std::string(asset.content_type);
  r.body = std::string(asset.body);
  r.headers["Content-Security-Policy"] = kContentSecurityPolicy;
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Cross-Origin-Opener-Policy"] = "same-origin";
  return r;
}

void AddConsoleRoute(ApiHandler& h, const char* pattern, const char* summary, RouteFn fn) {
  Route r;
  r.method = "GET";
  r.pattern = pattern;
  r.min_role = std::nullopt;
  r.summary = summary;
  r.fn = std::move(fn);
  Status s = h.AddRoute(std::move(r));
  assert(s.ok() && "the console's routes are distinct and well formed");
  (void)s;
}

}  // namespace

void RegisterConsoleRoutes(ApiHandler& h) {
  AddConsoleRoute(h, "/", "The web console (docs/console.md)", [](const RouteRequest&) {
    const ConsoleAsset* index = FindAsset("index.html");
    if (index == nullptr) {
      return ErrorResponse(Status(Code::kInternal, "the console's index.html is not embedded"));
    }
    return AssetResponse(*index);
  });
  AddConsoleRoute(h, "/console/{asset}", "The web console's scripts and styles",
                  [](const RouteRequest& r) {
                    const std::string& name = r.path.at("asset");
                    const ConsoleAsset* asset = FindAsset(name);
                    if (asset == nullptr) {
                      return ErrorResponse(
                          NotFoundError("the console has no file '" + name.substr(0, 80) + "'"));
                    }
                    return AssetResponse(*asset);
                  });
}

}  // namespace lifeboat::core::api
