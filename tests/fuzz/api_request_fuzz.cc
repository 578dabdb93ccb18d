// libFuzzer target: the API's request path — raw bytes parsed as an HTTP/1.1 request by
// Boost.Beast (as ApiServer does), turned into a Request, and answered by ApiHandler over a
// real engine on a temporary state directory (no plugins). Run by tools/scripts/fuzz.sh.
//
// Input: byte 0 picks the caller — 0: nobody (the Authorization header, if the bytes carry
// one, is checked against the token store), 1 viewer, 2 operator, 3 admin — so that the
// routes behind each role, their query and body parsing are reached; the rest is the
// request. Besides "never crash, never read out of bounds" (ASan, UBSan) it checks:
//  - every answer has an HTTP status in 100..599 and converts back to a Beast response;
//  - a JSON answer is valid JSON, and an error answer carries a known code name;
//  - without a role byte, nothing behind a token is ever answered 2xx (no token is known).
// What inputs make (tokens, clusters, audit records) stays in the state store, and listings
// are linear in it; the engine is reopened on an empty directory every kInputsPerState
// inputs, so that memory reflects one input's work rather than a million's.
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/engine.h>
#include <stdlib.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "beast_glue.h"

namespace {

namespace api = lifeboat::core::api;
namespace http = boost::beast::http;

void Check(bool condition) {
  if (!condition) std::abort();
}

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<lifeboat::core::Engine> engine;
  std::unique_ptr<api::ApiHandler> handler;
};

Fixture* g_fixture = nullptr;
constexpr int kInputsPerState = 4096;
int g_inputs = 0;

void OpenFreshState() {
  g_fixture->handler.reset();
  g_fixture->engine.reset();
  std::error_code ec;
  std::filesystem::remove_all(g_fixture->dir / "state", ec);
  lifeboat::core::EngineOptions o;
  o.state_dir = g_fixture->dir / "state";
  auto engine = lifeboat::core::Engine::Open(o);
  Check(engine.ok());
  g_fixture->engine = std::move(engine).value();
  g_fixture->handler = std::make_unique<api::ApiHandler>(*g_fixture->engine);
}

void RemoveStateDir() {
  if (g_fixture == nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(g_fixture->dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/lifeboat-api-fuzz-XXXXXX";
  Check(::mkdtemp(tmpl) != nullptr);
  g_fixture = new Fixture();  // lives for the process: libFuzzer never returns to tear down
  g_fixture->dir = tmpl;
  OpenFreshState();
  std::atexit(RemoveStateDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  if (++g_inputs % kInputsPerState == 0) OpenFreshState();
  const int who = data[0] % 4;
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(64 * 1024);
  parser.header_limit(api::kHeaderLimitBytes);
  boost::beast::error_code ec;
  boost::asio::const_buffer rest(data + 1, size - 1);
  while (rest.size() > 0 && !parser.is_done()) {
    const size_t used = parser.put(rest, ec);
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec) return 0;  // the server answers 400/413/431 and closes; nothing reaches the handler
    rest += used;
    if (used == 0) break;
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  api::Request request = api::ToApiRequest(parser.get());
  if (who > 0) request.identity = api::Identity{"fuzz", static_cast<api::Role>(who)};
  const api::Response response = g_fixture->handler->Handle(request);

  Check(response.status >= 100 && response.status <= 599);
  if (response.content_type == "application/json") {
    auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    Check(!body.is_discarded());
    if (response.status >= 400) {
      Check(body.is_object() && body.contains("error") && body["error"].contains("code"));
      Check(body["error"]["code"].is_string() &&
            api::CodeFromName(body["error"]["code"].get<std::string>()).has_value());
    }
  }
  if (who == 0 && response.status >= 200 && response.status < 300) {
    // Only the routes open to everyone may answer an unauthenticated caller: the health check
    // and the console's static page and assets (embedded files; its data comes through the
    // API with the operator's token), never JSON.
    const std::string path = request.target.substr(0, request.target.find('?'));
    const bool console = path == "/" || path.rfind("/console/", 0) == 0;
    Check(path == "/healthz" || (console && response.content_type != "application/json"));
  }
  (void)api::ToBeastResponse(response, 11, true);
  return 0;
}
