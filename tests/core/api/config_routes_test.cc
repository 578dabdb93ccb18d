// The configuration routes of issue 11 against a real engine with the localfs plugin: apply's
// dry run and report, and the deletes (admin only, audited, refused unless forced, dry runs
// that change nothing).
#include <gtest/gtest.h>
#include <lifeboat/core/api/api.h>

#include "api_fixture.h"

namespace lifeboat::core::api {
namespace {

using json = nlohmann::json;
using testing::ApiFixture;

class ConfigRoutesTest : public ApiFixture {
 protected:
  size_t Audited(const std::string& action) {
    auto list = engine_->store().List<core::v1::AuditEvent>(Kind::kAudit);
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return 0;
    size_t n = 0;
    for (const auto& a : *list) n += a.action() == action ? 1 : 0;
    return n;
  }
  Response Yaml(Role role, const std::string& target, const std::string& body) {
    return As(role, "POST", target, body, {{"content-type", "application/yaml"}});
  }
};

TEST_F(ConfigRoutesTest, ApplyDryRunAnswersTheReportAndWritesNothing) {
  ApplyConfig();
  Response dry = Yaml(Role::kOperator, "/v1/apply?source=p.yaml&dry_run=true", ConfigYaml("1MB"));
  ASSERT_EQ(dry.status, 200) << dry.body;
  json report = Json(dry);
  EXPECT_EQ(report["dry_run"], true);
  ASSERT_EQ(report["objects"].size(), 4u);
  const json& policy = report["objects"][3];
  EXPECT_EQ(policy["kind"], "policy");
  EXPECT_EQ(policy["action"], "changed");
  EXPECT_EQ(policy["previous_revision"], 1);
  EXPECT_EQ(policy["revision"], 2);
  EXPECT_EQ(policy["changes"], json::array({"+ bandwidth: 1MB/s"}));
  EXPECT_EQ(report["objects"][0]["action"], "unchanged");
  ASSERT_EQ(report["roles"].size(), 1u);
  EXPECT_EQ(report["roles"][0]["primary"], "a");
  EXPECT_EQ(report["roles"][0]["agrees"], true);
  EXPECT_EQ(report["results"].back(), "dry run: nothing was changed");
  EXPECT_EQ(engine_->GetPolicy("svc-daily")->bandwidth_bytes_per_second(), 0u);
  EXPECT_EQ(Audited("apply"), 1u) << "a dry run is not audited";
  EXPECT_EQ(Yaml(Role::kOperator, "/v1/apply?dry_run=perhaps", ConfigYaml()).status, 400);
}

TEST_F(ConfigRoutesTest, DeletesAreForAdminsAndRefuseUnlessForced) {
  ApplyConfig();
  const std::string older = Backup();
  const std::string newest = Backup();
  ASSERT_FALSE(older.empty());

  EXPECT_EQ(As(Role::kOperator, "DELETE", "/v1/services/svc").status, 403);
  EXPECT_EQ(As(Role::kOperator, "DELETE", "/v1/clusters/a").status, 403);
  EXPECT_EQ(As(Role::kOperator, "DELETE", "/v1/services/svc/points/" + older).status, 403);
  EXPECT_EQ(Yaml(Role::kOperator, "/v1/delete", ConfigYaml()).status, 403);

  Response used = As(Role::kAdmin, "DELETE", "/v1/clusters/a?force=true");
  EXPECT_EQ(used.status, 409);
  EXPECT_NE(ErrorMessage(used).find("cluster a is used by service svc"), std::string::npos);
  Response svc = As(Role::kAdmin, "DELETE", "/v1/services/svc");
  EXPECT_EQ(svc.status, 409);
  EXPECT_NE(ErrorMessage(svc).find("Give --force (API: force=true)"), std::string::npos);
  Response would = As(Role::kAdmin, "DELETE", "/v1/services/svc?dry_run=true&force=true");
  ASSERT_EQ(would.status, 200) << would.body;
  EXPECT_EQ(Json(would)["dry_run"], true);
  EXPECT_EQ(Json(would)["results"][1], "would delete service svc");
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/v1/services/svc?force=maybe").status, 400);

  // Points: the newest needs force; an older one goes, audited.
  Response keep = As(Role::kAdmin, "DELETE", "/v1/services/svc/points/" + newest);
  EXPECT_EQ(keep.status, 409);
  EXPECT_NE(ErrorMessage(keep).find("the newest committed point on cluster b"), std::string::npos);
  Response gone = As(Role::kAdmin, "DELETE", "/v1/services/svc/points/" + older);
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(engine_->GetRestorePoint("svc", older)->state(), core::v1::RP_EXPIRED);
  EXPECT_EQ(Audited("restore_point.delete"), 1u);
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/v1/services/svc/points/rp-none").status, 404);

  // What the file defines, forced: policy, service and both clusters in one step.
  Response refused = Yaml(Role::kAdmin, "/v1/delete?source=p.yaml", ConfigYaml());
  EXPECT_EQ(refused.status, 409);
  EXPECT_TRUE(engine_->Services()->size() == 1);
  Response all = Yaml(Role::kAdmin, "/v1/delete?source=p.yaml&force=true", ConfigYaml());
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_TRUE(engine_->Clusters()->empty());
  EXPECT_TRUE(engine_->Services()->empty());
  EXPECT_TRUE(engine_->Policies()->empty());
  EXPECT_EQ(Audited("cluster.delete"), 2u);
  EXPECT_EQ(Audited("service.delete"), 1u);
  EXPECT_EQ(Audited("policy.delete"), 1u);
}

}  // namespace
}  // namespace lifeboat::core::api
