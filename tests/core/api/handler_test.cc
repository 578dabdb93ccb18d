// ApiHandler against a real engine with the localfs plugin: every route, roles, tokens,
// malformed requests, audit records and /metrics.
#include <gtest/gtest.h>
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/api/tokens.h>

#include <set>

#include "api_fixture.h"
#include "prometheus_parse.h"

namespace lifeboat::core::api {
namespace {

using json = nlohmann::json;
using testing::ApiFixture;
namespace fs = std::filesystem;

class HandlerTest : public ApiFixture {
 protected:
  std::vector<core::v1::AuditEvent> Audit() {
    auto list = engine_->store().List<core::v1::AuditEvent>(Kind::kAudit);
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<core::v1::AuditEvent>{};
  }
  // The newest audit record with `action`, or an empty one.
  core::v1::AuditEvent LastAudit(const std::string& action) {
    core::v1::AuditEvent found;
    for (const auto& a : Audit()) {
      if (a.action() == action) found = a;
    }
    return found;
  }
};

// ---- routing and malformed requests -----------------------------------------------------

TEST_F(HandlerTest, HealthzNeedsNoToken) {
  Response r = Call("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r)["status"], "ok");
}

TEST_F(HandlerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Response r = As(Role::kAdmin, "GET", "/v1/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "NOT_FOUND");
  EXPECT_EQ(As(Role::kAdmin, "GET", "/v1/policies/").status, 404)
      << "an empty name matches no route";
  Response m = As(Role::kAdmin, "PUT", "/v1/policies/x");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.headers["Allow"], "DELETE, GET");
}

TEST_F(HandlerTest, MalformedTargetsAndQueriesAre400SayingWhat) {
  Response relative = As(Role::kAdmin, "GET", "v1/jobs");
  EXPECT_EQ(relative.status, 400);
  EXPECT_NE(ErrorMessage(relative).find("absolute path"), std::string::npos);
  Response escape = As(Role::kAdmin, "GET", "/v1/policies/a%zz");
  EXPECT_EQ(escape.status, 400);
  EXPECT_NE(ErrorMessage(escape).find("percent escape"), std::string::npos);
  Response unknown = As(Role::kAdmin, "GET", "/v1/jobs?sort=age");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(ErrorMessage(unknown).find("'sort'"), std::string::npos) << unknown.body;
  EXPECT_NE(ErrorMessage(unknown).find("it takes: limit"), std::string::npos) << unknown.body;
  ApplyConfig();
  Response bad_bool = As(Role::kAdmin, "DELETE", "/v1/policies/svc-daily?dry_run=maybe");
  EXPECT_EQ(bad_bool.status, 400);
  EXPECT_NE(ErrorMessage(bad_bool).find("dry_run"), std::string::npos);
  EXPECT_TRUE(engine_->GetPolicy("svc-daily").ok()) << "a refused request changes nothing";
}

// ---- authentication and roles -----------------------------------------------------------

TEST_F(HandlerTest, NoTokenBadTokenAndOtherSchemesAre401) {
  Response none = Call("GET", "/v1/policies");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorCode(none), "UNAUTHENTICATED");
  EXPECT_EQ(none.headers["WWW-Authenticate"], "Bearer realm=\"lifeboat\"");
  std::string forged = token_[Role::kAdmin];
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  Response bad = Call("GET", "/v1/policies", forged);
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.body.find(forged), std::string::npos) << "the token is never echoed";
  Response basic = Call("GET", "/v1/policies", "", "", {{"authorization", "Basic YWRtaW46eA=="}});
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(Call("GET", "/v1/policies", "lbt_nonsense").status, 401);
  EXPECT_EQ(Call("GET", "/metrics").status, 401) << "metrics need a viewer token by default";
}

TEST_F(HandlerTest, ViewerReadsButCannotRunOperatorCannotRestoreAdminCan) {
  ApplyConfig();
  EXPECT_EQ(As(Role::kViewer, "GET", "/v1/policies").status, 200);
  Response run = As(Role::kViewer, "POST", "/v1/policies/svc-daily/run");
  EXPECT_EQ(run.status, 403);
  EXPECT_EQ(ErrorCode(run), "PERMISSION_DENIED");
  EXPECT_NE(ErrorMessage(run).find("needs the operator role"), std::string::npos)
      << ErrorMessage(run);
  EXPECT_NE(ErrorMessage(run).find("viewer"), std::string::npos);
  EXPECT_EQ(As(Role::kViewer, "POST", "/v1/apply", ConfigYaml()).status, 403);
  EXPECT_EQ(As(Role::kViewer, "GET", "/v1/tokens").status, 403);
  auto jobs = engine_->Jobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty()) << "a refused run records no job";

  std::string rp = Backup();  // operator
  ASSERT_FALSE(rp.empty());
  const std::string body = json{{"restore_point", rp}, {"destination", "/r"}}.dump();
  Response op = As(Role::kOperator, "POST", "/v1/services/svc/restore", body);
  EXPECT_EQ(op.status, 403);
  EXPECT_NE(ErrorMessage(op).find("needs the admin role"), std::string::npos);
  EXPECT_EQ(As(Role::kOperator, "DELETE", "/v1/policies/svc-daily").status, 403);
  EXPECT_EQ(As(Role::kOperator, "POST", "/v1/tokens", R"({"name":"x","role":"admin"})").status, 403)
      << "an operator must not mint an admin token";

  Response admin =
      As(Role::kAdmin, "POST", "/v1/services/svc/restore",
         json{{"restore_point", rp}, {"destination", "/r"}, {"confirm", "svc"}}.dump());
  ASSERT_EQ(admin.status, 202) << admin.body;
  auto job = WaitJob(Json(admin)["job_id"]);
  EXPECT_EQ(job["state"], "JOB_SUCCEEDED") << job.dump();
  EXPECT_EQ(testing::RandomBytes(200000, 7).size(),
            fs::file_size(base_ / "secondary" / "r" / "data" / "sub" / "b.bin"));
}

TEST_F(HandlerTest, TheInProcessCallerIsTheLocalAdmin) {
  Request r;
  r.method = "GET";
  r.target = "/v1/tokens";
  r.identity = LocalAdmin();
  Response resp = handler_->Handle(r);
  EXPECT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(Json(resp)["tokens"].size(), 3u);
}

// ---- configuration routes ---------------------------------------------------------------

TEST_F(HandlerTest, ApplyYamlReportsEachObjectAndIsAuditedWithTheTokenName) {
  Response r = As(Role::kOperator, "POST", "/v1/apply?source=mine.yaml", ConfigYaml(),
                  {{"content-type", "application/yaml"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto results = Json(r)["results"];
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[3], "policy svc-daily applied (revision 1)");
  auto audit = LastAudit("apply");
  EXPECT_EQ(audit.actor(), "operator-token");
  EXPECT_EQ(engine_->GetPolicy("svc-daily")->source(), "mine.yaml");
  Response again = As(Role::kOperator, "POST", "/v1/apply", ConfigYaml());
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(Json(again)["results"][3], "policy svc-daily unchanged (revision 1)");
}

TEST_F(HandlerTest, ApplyJsonFilesKeepTheirNamesInErrors) {
  json body = {{"files",
                {{{"name", "good.yaml"}, {"yaml", ConfigYaml()}},
                 {{"name", "bad.yaml"},
                  {"yaml",
                   "kind: Policy\nname: p\nservice: svc\nschedule: {cron: \"0 3 * * "
                   "*\"}\nretention: {keep: lots}\n"}}}}};
  Response r =
      As(Role::kOperator, "POST", "/v1/apply", body.dump(), {{"content-type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  EXPECT_NE(ErrorMessage(r).find("bad.yaml:5:"), std::string::npos) << ErrorMessage(r);
  EXPECT_NE(ErrorMessage(r).find("retention.keep"), std::string::npos);
  EXPECT_FALSE(engine_->GetPolicy("svc-daily").ok()) << "all or nothing";
  body["files"].erase(1);
  Response ok =
      As(Role::kOperator, "POST", "/v1/apply", body.dump(), {{"content-type", "application/json"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(HandlerTest, ApplyRefusesMalformedBodies) {
  auto apply = [&](const std::string& body, const std::string& type) {
    return As(Role::kOperator, "POST", "/v1/apply", body, {{"content-type", type}});
  };
  Response yaml = apply("kind: Policy\nname: [unclosed\n", "application/yaml");
  EXPECT_EQ(yaml.status, 400);
  EXPECT_NE(ErrorMessage(yaml).find("request:"), std::string::npos) << ErrorMessage(yaml);
  Response json_bad = apply("{\"files\": [", "application/json");
  EXPECT_EQ(json_bad.status, 400);
  EXPECT_NE(ErrorMessage(json_bad).find("not valid JSON"), std::string::npos);
  EXPECT_EQ(apply("{\"files\": 3}", "application/json").status, 400);
  EXPECT_EQ(apply("{\"files\": [{\"yaml\": 1}]}", "application/json").status, 400);
  EXPECT_EQ(apply("{\"other\": []}", "application/json").status, 400);
  Response xml = apply("<a/>", "application/xml");
  EXPECT_EQ(xml.status, 400);
  EXPECT_NE(ErrorMessage(xml).find("application/xml"), std::string::npos);
  // yaml-cpp 0.7 would allocate until the daemon dies (issue #1040; found by the fuzzer).
  Response comma = apply("kind: Cluster\n---\n,", "application/yaml");
  EXPECT_EQ(comma.status, 400);
  EXPECT_NE(ErrorMessage(comma).find("request:3:1:"), std::string::npos) << ErrorMessage(comma);
  Response comma_json =
      apply(R"({"files": [{"name": "c.yaml", "yaml": ","}]})", "application/json");
  EXPECT_EQ(comma_json.status, 400);
  EXPECT_NE(ErrorMessage(comma_json).find("c.yaml:1:1:"), std::string::npos);
  Response empty = apply("", "application/yaml");
  EXPECT_EQ(empty.status, 400);
  EXPECT_NE(ErrorMessage(empty).find("no document"), std::string::npos) << ErrorMessage(empty);
  EXPECT_EQ(apply(R"({"files": []})", "application/json").status, 400);
}

TEST_F(HandlerTest, ListsAndOnePolicyAsJsonOrYaml) {
  ApplyConfig();
  EXPECT_EQ(Json(As(Role::kViewer, "GET", "/v1/clusters"))["clusters"].size(), 2u);
  auto services = Json(As(Role::kViewer, "GET", "/v1/services"))["services"];
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0]["primary_cluster"], "a") << "proto field names, as -o json prints";
  auto policies = Json(As(Role::kViewer, "GET", "/v1/policies"))["policies"];
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0]["rpo_seconds"], 86400) << "an int64 is a number, not a string";
  Response one = As(Role::kViewer, "GET", "/v1/policies/svc-daily");
  EXPECT_EQ(Json(one)["name"], "svc-daily");
  Response yaml =
      As(Role::kViewer, "GET", "/v1/policies/svc-daily", "", {{"accept", "application/yaml"}});
  EXPECT_EQ(yaml.status, 200);
  EXPECT_EQ(yaml.content_type, "application/yaml");
  EXPECT_NE(yaml.body.find("kind: Policy"), std::string::npos) << yaml.body;
  Response missing = As(Role::kViewer, "GET", "/v1/policies/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(ErrorMessage(missing).find("nope"), std::string::npos);
}

TEST_F(HandlerTest, DeletePolicyDryRunThenForRealIsAudited) {
  ApplyConfig();
  Response dry = As(Role::kAdmin, "DELETE", "/v1/policies/svc-daily?dry_run=true");
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(Json(dry)["message"], "would delete policy svc-daily (revision 1)");
  EXPECT_TRUE(engine_->GetPolicy("svc-daily").ok());
  Response del = As(Role::kAdmin, "DELETE", "/v1/policies/svc-daily");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(Json(del)["deleted"].get<bool>());
  EXPECT_FALSE(engine_->GetPolicy("svc-daily").ok());
  EXPECT_EQ(LastAudit("policy.delete").actor(), "admin-token");
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/v1/policies/svc-daily").status, 404);
}

// ---- jobs, points, restore, status -------------------------------------------------------

TEST_F(HandlerTest, RunIsAcceptedAndTheJobShowsTasksThenPointsAndVerify) {
  ApplyConfig();
  Response run = As(Role::kOperator, "POST", "/v1/policies/svc-daily/run");
  ASSERT_EQ(run.status, 202) << run.body;
  const std::string id = Json(run)["job_id"];
  EXPECT_EQ(run.headers["Location"], "/v1/jobs/" + id);
  EXPECT_EQ(LastAudit("job.backup").actor(), "operator-token");
  auto job = WaitJob(id);
  EXPECT_EQ(job["state"], "JOB_SUCCEEDED") << job.dump();
  auto detail = Json(As(Role::kViewer, "GET", "/v1/jobs/" + id));
  EXPECT_FALSE(detail["tasks"].empty());
  EXPECT_FALSE(detail["live"].get<bool>()) << "an ended job has no live progress";
  auto jobs = Json(As(Role::kViewer, "GET", "/v1/jobs"))["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["id"], id);

  const std::string rp = job["restore_point_id"];
  auto points = Json(As(Role::kViewer, "GET", "/v1/services/svc/points"))["restore_points"];
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0]["state"], "RP_COMMITTED");
  auto point = Json(As(Role::kViewer, "GET", "/v1/services/svc/points/" + rp));
  EXPECT_EQ(point["id"], rp);
  EXPECT_EQ(As(Role::kViewer, "GET", "/v1/services/svc/points/rp-nope").status, 404);

  EXPECT_EQ(As(Role::kViewer, "POST", "/v1/services/svc/points/" + rp + "/verify").status, 403);
  Response verify = As(Role::kOperator, "POST", "/v1/services/svc/points/" + rp + "/verify");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_TRUE(Json(verify)["ok"].get<bool>());
  EXPECT_TRUE(Json(verify)["mismatches"].empty());
  auto audit = LastAudit("restore_point.verify");
  EXPECT_EQ(audit.actor(), "operator-token");
  EXPECT_EQ(audit.subject(), "svc/" + rp);
  EXPECT_EQ(audit.detail(), "ok");

  // Two runs of one policy never overlap: the second is refused while the first is
  // recorded unfinished. A finished job cannot be resumed or cancelled.
  Response resume = As(Role::kOperator, "POST", "/v1/jobs/" + id + "/resume");
  EXPECT_EQ(resume.status, 409);
  EXPECT_NE(ErrorMessage(resume).find("has ended"), std::string::npos);
  EXPECT_EQ(As(Role::kOperator, "POST", "/v1/jobs/" + id + "/cancel").status, 409);
  EXPECT_EQ(As(Role::kOperator, "POST", "/v1/jobs/job-999999/resume").status, 404);
  EXPECT_EQ(As(Role::kViewer, "GET", "/v1/jobs/job-999999").status, 404);
  EXPECT_EQ(As(Role::kOperator, "POST", "/v1/policies/nope/run").status, 404);
}

// Issue 13: a client polls a running job every 100 ms (the CLI) or 500 ms (the console); the
// answer must not carry the plugins' plans, which list every file of the data set.
TEST_F(HandlerTest, JobDetailLeavesOutPluginPayloadsAndTasksOnRequest) {
  ApplyConfig();
  Response run = As(Role::kOperator, "POST", "/v1/policies/svc-daily/run");
  ASSERT_EQ(run.status, 202) << run.body;
  const std::string id = Json(run)["job_id"];
  WaitJob(id);
  auto stored = engine_->Tasks(id);
  ASSERT_TRUE(stored.ok());
  size_t with_bytes = 0;
  for (const auto& t : *stored) with_bytes += t.payload().empty() && t.result().empty() ? 0 : 1;
  ASSERT_GT(with_bytes, 0u) << "the job's tasks carry plugin messages in the store";

  auto detail = Json(As(Role::kViewer, "GET", "/v1/jobs/" + id));
  ASSERT_EQ(detail["tasks"].size(), stored->size());
  for (const auto& t : detail["tasks"]) {
    EXPECT_FALSE(t.contains("payload")) << t.dump();
    EXPECT_FALSE(t.contains("result")) << t.dump();
    EXPECT_TRUE(t.contains("id"));
  }

  Response bare = As(Role::kViewer, "GET", "/v1/jobs/" + id + "?tasks=false");
  ASSERT_EQ(bare.status, 200) << bare.body;
  EXPECT_FALSE(Json(bare).contains("tasks")) << bare.body;
  EXPECT_EQ(Json(bare)["job"]["id"], id);
  EXPECT_TRUE(Json(bare).contains("live"));
  EXPECT_EQ(Json(As(Role::kViewer, "GET", "/v1/jobs/" + id + "?tasks=true"))["tasks"].size(),
            stored->size());
  EXPECT_EQ(As(Role::kViewer, "GET", "/v1/jobs/" + id + "?tasks=maybe").status, 400);
}

TEST_F(HandlerTest, CancelStopsARunningJobAndIsAudited) {
  testing::WriteFile(base_ / "primary" / "data" / "big.bin", testing::RandomBytes(3 << 20, 9));
  ApplyConfig("1MiB/s");  // ~3 s of transfer: the cancel lands while it runs or waits
  Response run = As(Role::kOperator, "POST", "/v1/policies/svc-daily/run");
  ASSERT_EQ(run.status, 202);
  const std::string id = Json(run)["job_id"];
  Response cancel = As(Role::kOperator, "POST", "/v1/jobs/" + id + "/cancel");
  ASSERT_EQ(cancel.status, 202) << cancel.body;
  EXPECT_TRUE(Json(cancel)["cancel_requested"].get<bool>());
  auto job = WaitJob(id);
  EXPECT_EQ(job["state"], "JOB_CANCELLED") << job.dump();
  EXPECT_EQ(LastAudit("job.cancel").subject(), id);
  // Nothing unfinished is left to resume.
  Response all = As(Role::kOperator, "POST", "/v1/jobs/resume");
  EXPECT_EQ(all.status, 202);
  EXPECT_TRUE(Json(all)["job_ids"].empty());
}

TEST_F(HandlerTest, ResumeRunsARecordedPendingJob) {
  ApplyConfig();
  // A job recorded but never run (as after a crash before it started).
  auto id = engine_->StartBackup("svc-daily", "manual", "test");
  ASSERT_TRUE(id.ok());
  Response r = As(Role::kOperator, "POST", "/v1/jobs/" + *id + "/resume");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(LastAudit("job.resume").actor(), "operator-token");
  EXPECT_EQ(WaitJob(*id)["state"], "JOB_SUCCEEDED");

  auto second = engine_->StartBackup("svc-daily", "manual", "test");
  ASSERT_TRUE(second.ok());
  Response all = As(Role::kOperator, "POST", "/v1/jobs/resume");
  ASSERT_EQ(all.status, 202);
  ASSERT_EQ(Json(all)["job_ids"].size(), 1u);
  EXPECT_EQ(Json(all)["job_ids"][0], *second);
  EXPECT_EQ(WaitJob(*second)["state"], "JOB_SUCCEEDED");
}

TEST_F(HandlerTest, RestoreBodiesAreCheckedFieldByField) {
  ApplyConfig();
  std::string rp = Backup();
  auto restore = [&](const std::string& body) {
    return As(Role::kAdmin, "POST", "/v1/services/svc/restore", body);
  };
  Response not_json = restore("{restore_point: x}");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_NE(ErrorMessage(not_json).find("not valid JSON"), std::string::npos);
  EXPECT_EQ(restore("[1,2]").status, 400);
  Response missing = restore("{}");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(ErrorMessage(missing).find("restore_point"), std::string::npos);
  Response typed = restore(json{{"restore_point", rp}, {"dry_run", "yes"}}.dump());
  EXPECT_EQ(typed.status, 400);
  EXPECT_NE(ErrorMessage(typed).find("dry_run"), std::string::npos);
  Response extra = restore(json{{"restore_point", rp}, {"force", true}}.dump());
  EXPECT_EQ(extra.status, 400);
  EXPECT_NE(ErrorMessage(extra).find("'force'"), std::string::npos);
  Response xml = As(Role::kAdmin, "POST", "/v1/services/svc/restore", "<x/>",
                    {{"content-type", "application/xml"}});
  EXPECT_EQ(xml.status, 400);
  EXPECT_EQ(restore(json{{"restore_point", "rp-nope"}}.dump()).status, 404);

  Response dry =
      restore(json{{"restore_point", rp}, {"destination", "/dry"}, {"dry_run", true}}.dump());
  ASSERT_EQ(dry.status, 202) << dry.body;
  EXPECT_EQ(WaitJob(Json(dry)["job_id"])["state"], "JOB_SUCCEEDED");
  EXPECT_FALSE(fs::exists(base_ / "secondary" / "dry")) << "a dry run writes nothing";
  EXPECT_EQ(LastAudit("restore.dry_run").actor(), "admin-token");
}

TEST_F(HandlerTest, StatusEventsAndAudit) {
  ApplyConfig();
  auto all = Json(As(Role::kViewer, "GET", "/v1/status"))["services"];
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["service"], "svc");
  EXPECT_TRUE(all[0]["rpo_breached"].get<bool>()) << "no point yet";
  EXPECT_EQ(all[0]["age_seconds"], -1);
  std::string rp = Backup();
  auto one = Json(As(Role::kViewer, "GET", "/v1/services/svc/status"));
  EXPECT_EQ(one["newest_point"], rp);
  EXPECT_FALSE(one["rpo_breached"].get<bool>());
  EXPECT_EQ(one["rpo_seconds"], 86400);
  EXPECT_EQ(As(Role::kViewer, "GET", "/v1/services/nope/status").status, 404);
  auto events = Json(As(Role::kViewer, "GET", "/v1/events"))["events"];
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["kind"], "rpo_breach");
  EXPECT_EQ(As(Role::kOperator, "GET", "/v1/audit").status, 403);
  auto newest = Json(As(Role::kAdmin, "GET", "/v1/audit?limit=1"))["audit"];
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0]["action"], "job.backup") << "the newest record";
  EXPECT_EQ(As(Role::kAdmin, "GET", "/v1/audit?limit=0").status, 400);
  EXPECT_EQ(As(Role::kAdmin, "GET", "/v1/events?limit=ten").status, 400);
  EXPECT_EQ(Json(As(Role::kViewer, "GET", "/v1/jobs?limit=5"))["jobs"].size(), 1u);
  auto audit = Json(As(Role::kAdmin, "GET", "/v1/audit"))["audit"];
  std::set<std::string> actions;
  for (const auto& a : audit) actions.insert(a["action"]);
  EXPECT_TRUE(actions.count("apply") && actions.count("job.backup") &&
              actions.count("token.create"))
      << audit.dump();
}

// ---- tokens ----------------------------------------------------------------------------

TEST_F(HandlerTest, AdminsMakeListAndRevokeTokens) {
  Response made = As(Role::kAdmin, "POST", "/v1/tokens", R"({"name":"ci","role":"operator"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string token = Json(made)["token"];
  EXPECT_EQ(made.headers["Cache-Control"], "no-store");
  EXPECT_EQ(Call("GET", "/v1/jobs", token).status, 200);
  EXPECT_EQ(Call("POST", "/v1/tokens", token, R"({"name":"y","role":"viewer"})").status, 403);
  auto list = As(Role::kAdmin, "GET", "/v1/tokens");
  EXPECT_EQ(list.body.find(token.substr(token.rfind('_') + 1)), std::string::npos)
      << "a list never shows a secret";
  EXPECT_EQ(Json(list)["tokens"].size(), 4u);
  EXPECT_EQ(LastAudit("token.create").subject(), "ci");
  EXPECT_EQ(LastAudit("token.create").actor(), "admin-token");

  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/tokens", R"({"name":"ci","role":"viewer"})").status, 409);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/tokens", R"({"name":"z","role":"root"})").status, 400);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/tokens", R"({"name":"z"})").status, 400);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/tokens", R"({"name":"z","role":"viewer","x":1})").status,
            400);

  Response revoked = As(Role::kAdmin, "DELETE", "/v1/tokens/ci");
  EXPECT_EQ(revoked.status, 200);
  EXPECT_EQ(Call("GET", "/v1/jobs", token).status, 401);
  EXPECT_EQ(LastAudit("token.revoke").subject(), "ci");
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/v1/tokens/ci").status, 404);
}

// ---- extension points -------------------------------------------------------------------

TEST_F(HandlerTest, ModulesAddRoutesWithRolesAndLiteralsWinOverParameters) {
  Route endpoints;
  endpoints.method = "GET";
  endpoints.pattern = "/v1/extensions/{name}/echo";
  endpoints.min_role = Role::kViewer;
  endpoints.fn = [](const RouteRequest& r) {
    return JsonResponse(200, {{"service", r.path.at("name")}, {"caller", r.caller.name}});
  };
  ASSERT_TRUE(handler_->AddRoute(endpoints).ok());
  EXPECT_EQ(handler_->AddRoute(endpoints).code(), Code::kAlreadyExists);
  Route renamed = endpoints;
  renamed.pattern = "/v1/extensions/{other}/echo";
  EXPECT_EQ(handler_->AddRoute(renamed).code(), Code::kAlreadyExists) << "same shape";
  Route bad = endpoints;
  bad.pattern = "v1/x";
  EXPECT_EQ(handler_->AddRoute(bad).code(), Code::kInvalidArgument);
  bad.pattern = "/v1/{a}/{a}";
  EXPECT_EQ(handler_->AddRoute(bad).code(), Code::kInvalidArgument);
  bad.pattern = "/v1/x";
  bad.fn = nullptr;
  EXPECT_EQ(handler_->AddRoute(bad).code(), Code::kInvalidArgument);

  Response r = As(Role::kViewer, "GET", "/v1/extensions/sales/echo");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["service"], "sales");
  EXPECT_EQ(Json(r)["caller"], "viewer-token");

  Route admin_only;
  admin_only.method = "POST";
  admin_only.pattern = "/v1/extensions/{name}/switch";
  admin_only.min_role = Role::kAdmin;
  admin_only.fn = [](const RouteRequest&) { return JsonResponse(202, json::object()); };
  ASSERT_TRUE(handler_->AddRoute(admin_only).ok());
  EXPECT_EQ(As(Role::kOperator, "POST", "/v1/extensions/s/switch").status, 403);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/v1/extensions/s/switch").status, 202);

  // A literal segment beats a parameter in the same place, whatever the order of adding.
  Route literal;
  literal.method = "GET";
  literal.pattern = "/v1/extensions/special/echo";
  literal.fn = [](const RouteRequest&) { return JsonResponse(200, {{"literal", true}}); };
  ASSERT_TRUE(handler_->AddRoute(literal).ok());
  EXPECT_TRUE(Json(As(Role::kViewer, "GET", "/v1/extensions/special/echo"))["literal"]);
  bool listed = false;
  for (const auto& info : handler_->Routes()) {
    listed = listed || info.pattern == "/v1/extensions/{name}/switch";
  }
  EXPECT_TRUE(listed);
}

// ---- metrics ---------------------------------------------------------------------------

TEST_F(HandlerTest, MetricsParseAndCountJobsBytesAndRpo) {
  ApplyConfig();
  Backup();
  Response r = As(Role::kViewer, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = lifeboat::testing::ParsePrometheusText(r.body);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << r.body;
  EXPECT_EQ(parsed.Value("lifeboat_jobs", {{"kind", "backup"}, {"state", "succeeded"}}), 1.0);
  EXPECT_EQ(parsed.Value("lifeboat_jobs", {{"kind", "restore"}, {"state", "running"}}), 0.0);
  EXPECT_EQ(parsed.families["lifeboat_jobs"].type, "gauge");
  auto bytes = parsed.Value("lifeboat_job_bytes_transferred_total", {{"kind", "backup"}});
  ASSERT_TRUE(bytes.has_value());
  EXPECT_GE(*bytes, 200000.0);
  EXPECT_EQ(parsed.families["lifeboat_job_bytes_transferred_total"].type, "counter");
  EXPECT_EQ(parsed.Value("lifeboat_service_rpo_target_seconds", {{"service", "svc"}}), 86400.0);
  EXPECT_EQ(parsed.Value("lifeboat_service_rpo_breached", {{"service", "svc"}}), 0.0);
  EXPECT_TRUE(parsed.Value("lifeboat_service_newest_point_age_seconds", {{"service", "svc"}}));
  EXPECT_EQ(parsed.Value("lifeboat_restore_points", {{"service", "svc"}, {"state", "committed"}}),
            1.0);
  EXPECT_EQ(parsed.Value("lifeboat_metrics_collector_up", {{"collector", "engine"}}), 1.0);
}

TEST_F(HandlerTest, MetricsCollectorsAddGaugesAndAFailingOneIsReported) {
  ASSERT_TRUE(handler_
                  ->AddMetricsCollector(
                      "extension",
                      [](MetricsWriter& w) {
                        return w.Add("lifeboat_test_healthy", "1 when the cluster's agent answers",
                                     MetricType::kGauge, {{{{"cluster", "a \"quoted\""}}, 1}});
                      })
                  .ok());
  EXPECT_EQ(
      handler_->AddMetricsCollector("extension", [](MetricsWriter&) { return OkStatus(); }).code(),
      Code::kAlreadyExists);
  ASSERT_TRUE(
      handler_
          ->AddMetricsCollector(
              "broken", [](MetricsWriter&) { return UnavailableError("agent unreachable"); })
          .ok());
  Response r = As(Role::kViewer, "GET", "/metrics");
  auto parsed = lifeboat::testing::ParsePrometheusText(r.body);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << r.body;
  EXPECT_EQ(parsed.Value("lifeboat_test_healthy", {{"cluster", "a \"quoted\""}}), 1.0);
  EXPECT_EQ(parsed.Value("lifeboat_metrics_collector_up", {{"collector", "extension"}}), 1.0);
  EXPECT_EQ(parsed.Value("lifeboat_metrics_collector_up", {{"collector", "broken"}}), 0.0);
}

TEST_F(HandlerTest, PublicMetricsNeedNoToken) {
  ApiOptions o;
  o.public_metrics = true;
  ApiHandler open(*engine_, o);
  Request r;
  r.method = "GET";
  r.target = "/metrics";
  EXPECT_EQ(open.Handle(r).status, 200);
}

// ---- errors ----------------------------------------------------------------------------

TEST(ErrorMappingTest, CodesMapToHttpAndBack) {
  EXPECT_EQ(HttpStatusFor(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(Code::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusFor(Code::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(Code::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(Code::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(Code::kDataLoss), 500);
  for (int32_t c = 1; c <= 16; ++c) {
    Status s(static_cast<Code>(c), "what went wrong", "subject");
    Status back = StatusFromResponse(ErrorResponse(s));
    EXPECT_EQ(back, s) << CodeName(s.code());
  }
  Response bare;
  bare.status = 502;
  bare.body = "<html>bad gateway</html>";
  Status s = StatusFromResponse(bare);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("502"), std::string::npos);
  bare.status = 204;
  EXPECT_TRUE(StatusFromResponse(bare).ok());
}

}  // namespace
}  // namespace lifeboat::core::api
