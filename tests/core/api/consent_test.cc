// The routes that move a service or may destroy data act only on a body that says what the
// caller agrees to: {"confirm": "<service>"} ({"confirm": "<cluster>"} for a cluster-wide
// failover); a dry run needs none. Before issue 11 an empty POST .../failover did a real
// failover (202).
#include "api_fixture.h"

namespace lifeboat::core::api::testing {
namespace {

using nlohmann::json;

class ConsentTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    ApplyConfig();
    rp_ = Backup();
    ASSERT_FALSE(rp_.empty());
  }
  Response Post(const std::string& target, const std::string& body = "") {
    return As(Role::kAdmin, "POST", target, body,
              body.empty()
                  ? std::map<std::string, std::string>{}
                  : std::map<std::string, std::string>{{"content-type", "application/json"}});
  }
  size_t Jobs() {
    auto jobs = engine_->Jobs();
    return jobs.ok() ? jobs->size() : 0;
  }
  uint64_t Epoch() { return engine_->Roles("svc")->epoch(); }
  std::string rp_;
};

TEST_F(ConsentTest, ASwitchWithoutABodyThatConfirmsItIsRefusedAndRecordsNothing) {
  const size_t jobs = Jobs();
  Response empty = Post("/v1/services/svc/failover");
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_NE(ErrorMessage(empty).find("{\"confirm\": \"svc\"}"), std::string::npos)
      << ErrorMessage(empty);
  EXPECT_NE(ErrorMessage(empty).find("dry run"), std::string::npos) << ErrorMessage(empty);
  Response other = Post("/v1/services/svc/failover", R"({"confirm": "sales"})");
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_NE(ErrorMessage(other).find("'sales'"), std::string::npos) << ErrorMessage(other);
  Response typed = Post("/v1/services/svc/failover", R"({"confirm": true})");
  EXPECT_EQ(typed.status, 400);
  Response extra = Post("/v1/services/svc/failover", R"({"confirm": "svc", "force": true})");
  EXPECT_EQ(extra.status, 400) << "options are query parameters";
  EXPECT_EQ(Post("/v1/services/svc/failback").status, 400);
  EXPECT_EQ(Post("/v1/clusters/a/failover", R"({"confirm": "svc"})").status, 400)
      << "a cluster-wide failover confirms the cluster";
  EXPECT_EQ(Post("/v1/services/svc/unfence?cluster=a").status, 400);
  EXPECT_EQ(Jobs(), jobs) << "a refused call records no job";
  EXPECT_EQ(Epoch(), 1u);

  // A dry run needs no body.
  Response dry = Post("/v1/services/svc/failover?dry_run=true");
  ASSERT_EQ(dry.status, 202) << dry.body;
  EXPECT_EQ(WaitJob(Json(dry)["job_id"])["state"], "JOB_SUCCEEDED");
  EXPECT_EQ(Epoch(), 1u);

  // With the confirming body it goes.
  Response go = Post("/v1/services/svc/failover", R"({"confirm": "svc"})");
  ASSERT_EQ(go.status, 202) << go.body;
  EXPECT_EQ(WaitJob(Json(go)["job_id"])["state"], "JOB_SUCCEEDED");
  EXPECT_EQ(Epoch(), 2u);
  Response back = Post("/v1/services/svc/failback", R"({"confirm": "svc"})");
  ASSERT_EQ(back.status, 202) << back.body;
  EXPECT_EQ(WaitJob(Json(back)["job_id"])["state"], "JOB_SUCCEEDED");
  EXPECT_EQ(Epoch(), 3u);
  Response cluster = Post("/v1/clusters/a/failover", R"({"confirm": "a"})");
  ASSERT_EQ(cluster.status, 202) << cluster.body;
  EXPECT_EQ(WaitJob(Json(cluster)["job_id"])["state"], "JOB_SUCCEEDED");
  EXPECT_EQ(Epoch(), 4u);
}

TEST_F(ConsentTest, ARestoreConfirmsItsServiceUnlessADryRun) {
  const json base = {{"restore_point", rp_}, {"destination", "/r"}};
  Response none = Post("/v1/services/svc/restore", base.dump());
  EXPECT_EQ(none.status, 400) << none.body;
  EXPECT_NE(ErrorMessage(none).find("confirm"), std::string::npos);
  json dry = base;
  dry["dry_run"] = true;
  EXPECT_EQ(Post("/v1/services/svc/restore", dry.dump()).status, 202);
  // An unknown point is not found, whatever the body says.
  EXPECT_EQ(Post("/v1/services/svc/restore", R"({"restore_point": "rp-nope"})").status, 404);
  json go = base;
  go["confirm"] = "svc";
  go["destinations"] = {{"localfs", "/by-component"}};
  go.erase("destination");
  Response ok = Post("/v1/services/svc/restore", go.dump());
  ASSERT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(WaitJob(Json(ok)["job_id"])["state"], "JOB_SUCCEEDED");
  EXPECT_TRUE(fs::exists(base_ / "secondary" / "by-component" / "data" / "a.txt"));
  json bad = go;
  bad["destinations"] = {{"localfs", 7}};
  EXPECT_EQ(Post("/v1/services/svc/restore", bad.dump()).status, 400);
}

TEST_F(ConsentTest, UnfenceSaysWhatItWouldLiftAndLiftsIt) {
  Response over = Post("/v1/services/svc/failover", R"({"confirm": "svc"})");
  ASSERT_EQ(over.status, 202) << over.body;
  ASSERT_EQ(WaitJob(Json(over)["job_id"])["state"], "JOB_SUCCEEDED");
  Response dry = Post("/v1/services/svc/unfence?cluster=a&dry_run=true");
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(Json(dry)["dry_run"], true);
  EXPECT_NE(Json(dry)["lines"].dump().find("would unfence localfs:/data on a"), std::string::npos)
      << dry.body;
  EXPECT_EQ(Post("/v1/services/svc/unfence").status, 400) << "no cluster named";
  EXPECT_EQ(As(Role::kOperator, "POST", "/v1/services/svc/unfence?cluster=a&dry_run=true").status,
            403);
  Response lift = Post("/v1/services/svc/unfence?cluster=a", R"({"confirm": "svc"})");
  ASSERT_EQ(lift.status, 200) << lift.body;
  EXPECT_NE(Json(lift)["lines"].dump().find("unfenced localfs:/data on a"), std::string::npos)
      << lift.body;
  auto audit = engine_->store().List<v1::AuditEvent>(Kind::kAudit);
  ASSERT_TRUE(audit.ok());
  std::string actor;
  for (const auto& a : *audit) {
    if (a.action() == "unfence") actor = a.actor();
  }
  EXPECT_EQ(actor, "admin-token");
}

}  // namespace
}  // namespace lifeboat::core::api::testing
