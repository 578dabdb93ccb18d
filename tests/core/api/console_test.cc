// The web console's routes: the page and its files served from the binary without a token,
// with their security headers; every file the page loads is embedded; /v1/whoami; the
// console's "confirm" field in a restore body.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "api_fixture.h"
#include "console_assets.h"

namespace lifeboat::core::api {
namespace {

using json = nlohmann::json;
using testing::ApiFixture;

class ConsoleTest : public ApiFixture {};

void ExpectSecurityHeaders(const Response& r, const std::string& what) {
  auto header = [&](const char* name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  const std::string csp = header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(header("X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(header("X-Frame-Options"), "DENY") << what;
  EXPECT_EQ(header("Referrer-Policy"), "no-referrer") << what;
}

TEST_F(ConsoleTest, ThePageNeedsNoTokenAndCarriesItsSecurityHeaders) {
  Response page = Call("GET", "/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script type=\"module\" src=\"/console/app.js\">"), std::string::npos);
  // No inline script anywhere: the policy would refuse it, and an injected one with it.
  EXPECT_EQ(std::regex_search(page.body, std::regex("<script(?![^>]*\\bsrc=)[^>]*>")), false);
  ExpectSecurityHeaders(page, "/");
  Response script = Call("GET", "/console/app.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  ExpectSecurityHeaders(script, "/console/app.js");
  EXPECT_EQ(Call("GET", "/console/console.css").content_type, "text/css; charset=utf-8");
}

TEST_F(ConsoleTest, UnknownFilesAre404AndTheDataStillNeedsAToken) {
  Response missing = Call("GET", "/console/nope.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(ErrorMessage(missing).find("nope.js"), std::string::npos);
  EXPECT_EQ(Call("GET", "/console/").status, 404);
  EXPECT_EQ(Call("GET", "/console/..%2Fapp.js").status, 400) << "an encoded '/' is refused";
  EXPECT_EQ(Call("GET", "/?token=x").status, 400) << "the page takes no query";
  EXPECT_EQ(Call("POST", "/").status, 405);
  EXPECT_EQ(Call("GET", "/v1/services").status, 401);
}

// Every file that index.html or a module names is embedded and served: a file added to the
// page but not to the build would otherwise show only in a browser.
TEST_F(ConsoleTest, EveryFileThePageLoadsIsEmbedded) {
  std::set<std::string> embedded;
  for (const ConsoleAsset& a : ConsoleAssets()) embedded.insert(std::string(a.name));
  ASSERT_TRUE(embedded.count("index.html"));
  std::set<std::string> wanted;
  const std::regex html_ref(R"re((?:src|href)="/console/([^"]+)")re");
  const std::regex js_import(R"re(from '\./([^']+)')re");
  for (const ConsoleAsset& a : ConsoleAssets()) {
    const std::string body(a.body);
    const std::regex& re = a.name.ends_with(".html") ? html_ref : js_import;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator();
         ++it) {
      wanted.insert((*it)[1].str());
    }
  }
  EXPECT_GE(wanted.size(), 10u) << "the console's modules were not found in its files";
  for (const std::string& name : wanted) {
    EXPECT_TRUE(embedded.count(name)) << name << " is loaded by the console but not embedded";
    Response r = Call("GET", "/console/" + name);
    EXPECT_EQ(r.status, 200) << name;
    EXPECT_FALSE(r.body.empty()) << name;
  }
}

TEST_F(ConsoleTest, WhoamiNamesTheTokenAndItsRole) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    Response r = As(role, "GET", "/v1/whoami");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json(r)["role"], RoleName(role));
    EXPECT_EQ(Json(r)["name"], std::string(RoleName(role)) + "-token");
  }
  EXPECT_EQ(Call("GET", "/v1/whoami").status, 401);
  EXPECT_EQ(Call("GET", "/v1/whoami", "lbt_0000000000000000_" + std::string(64, '0')).status, 401);
}

// The console sends the service's name, typed by the operator, with every restore.
TEST_F(ConsoleTest, RestoreTakesTheConsolesConfirmField) {
  ApplyConfig();
  const std::string rp = Backup();
  Response r = As(Role::kAdmin, "POST", "/v1/services/svc/restore",
                  json{{"restore_point", rp}, {"dry_run", true}, {"confirm", "svc"}}.dump(),
                  {{"content-type", "application/json"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(WaitJob(Json(r)["job_id"])["state"], "JOB_SUCCEEDED");
}

}  // namespace
}  // namespace lifeboat::core::api
