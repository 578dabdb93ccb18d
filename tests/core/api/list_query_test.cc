// The API as operators script it: records with one shape and numbers as numbers, filters on
// the list routes, 404 for a service that does not exist, and the job metrics (durations,
// last success, bytes per kind, dry runs left out).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "api_fixture.h"
#include "prometheus_parse.h"

namespace lifeboat::core::api::testing {
namespace {

using json = nlohmann::json;

class ListQueryTest : public ApiFixture {};

TEST_F(ListQueryTest, RecordsHaveEveryFieldAndNumbersAsNumbers) {
  ApplyConfig();
  Backup();
  Response r = As(Role::kViewer, "GET", "/v1/jobs");
  ASSERT_EQ(r.status, 200) << r.body;
  const json job = Json(r)["jobs"][0];
  // Proto's JSON writes 64-bit integers as strings and leaves out defaults.
  EXPECT_TRUE(job["bytes_done"].is_number_unsigned()) << job.dump();
  EXPECT_GT(job["bytes_done"].get<uint64_t>(), 0u);
  EXPECT_TRUE(job["created_unix_nanos"].is_number_integer()) << job.dump();
  EXPECT_TRUE(job["policy"]["rpo_seconds"].is_number_integer()) << job.dump();
  EXPECT_TRUE(job.contains("error")) << "a field at its default is left out: " << job.dump();
  EXPECT_TRUE(job.contains("cancel_requested")) << job.dump();
  r = As(Role::kViewer, "GET", "/v1/services/svc/points");
  ASSERT_EQ(r.status, 200);
  const json point = Json(r)["restore_points"][0];
  EXPECT_TRUE(point["members"][0]["total_bytes"].is_number_unsigned()) << point.dump();
  EXPECT_TRUE(point["cut_unix_nanos"].is_number_integer()) << point.dump();
}

TEST_F(ListQueryTest, PointsOfAServiceThatDoesNotExistAre404) {
  ApplyConfig();
  Response r = As(Role::kViewer, "GET", "/v1/services/ghost/points");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(ErrorMessage(r).find("no service named 'ghost'"), std::string::npos) << r.body;
  // A defined service with no point yet: an empty list.
  r = As(Role::kViewer, "GET", "/v1/services/svc/points");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json(r)["restore_points"].empty());
}

TEST_F(ListQueryTest, JobsFilterByServiceStateKindAndSince) {
  ApplyConfig();
  const std::string point = Backup();
  Response restore =
      As(Role::kAdmin, "POST", "/v1/services/svc/restore",
         json{{"restore_point", point}, {"destination", "/x"}, {"dry_run", true}}.dump(),
         {{"content-type", "application/json"}});
  ASSERT_EQ(restore.status, 202) << restore.body;
  WaitJob(Json(restore)["job_id"]);

  auto count = [&](const std::string& query) -> int {
    Response r = As(Role::kViewer, "GET", "/v1/jobs" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return static_cast<int>(Json(r)["jobs"].size());
  };
  EXPECT_EQ(count(""), 2);
  EXPECT_EQ(count("?service=svc"), 2);
  EXPECT_EQ(count("?service=other"), 0);
  EXPECT_EQ(count("?kind=backup"), 1);
  EXPECT_EQ(count("?kind=backup,restore"), 2);
  EXPECT_EQ(count("?state=succeeded"), 2);
  EXPECT_EQ(count("?state=failed,parked"), 0);
  EXPECT_EQ(count("?since=1h"), 2);
  EXPECT_EQ(count("?since=2000-01-01T00:00:00Z"), 2);
  EXPECT_EQ(count("?since=2999-01-01T00:00:00Z"), 0);
  EXPECT_EQ(count("?kind=restore&limit=1"), 1);

  Response bad = As(Role::kViewer, "GET", "/v1/jobs?state=broken");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(ErrorMessage(bad).find("not one of"), std::string::npos) << bad.body;
  EXPECT_NE(ErrorMessage(bad).find("succeeded"), std::string::npos) << bad.body;
  bad = As(Role::kViewer, "GET", "/v1/jobs?since=yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(ErrorMessage(bad).find("30m"), std::string::npos) << bad.body;
}

TEST_F(ListQueryTest, EventsFilterBySeverityKindServiceAndJob) {
  ApplyConfig();
  Backup();
  // A run cancelled before it starts: a warning event about that job.
  Response run = As(Role::kOperator, "POST", "/v1/policies/svc-daily/run");
  ASSERT_EQ(run.status, 202);
  const std::string job_id = Json(run)["job_id"];
  As(Role::kOperator, "POST", "/v1/jobs/" + job_id + "/cancel");
  auto job = WaitJob(job_id);
  ASSERT_EQ(job.value("state", ""), "JOB_CANCELLED") << job.dump();

  auto events = [&](const std::string& query) {
    Response r = As(Role::kViewer, "GET", "/v1/events" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return Json(r)["events"];
  };
  json mine = events("?job=" + job_id);
  ASSERT_EQ(mine.size(), 1u) << mine.dump();
  EXPECT_EQ(mine[0]["kind"], "job_cancelled");
  EXPECT_EQ(mine[0]["severity"], "warning");
  EXPECT_EQ(events("?severity=warning&kind=job_cancelled&service=svc").size(), 1u);
  EXPECT_EQ(events("?severity=critical").size(), 0u);
  EXPECT_EQ(events("?service=other").size(), 0u);
  Response bad = As(Role::kViewer, "GET", "/v1/events?severity=loud");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(ErrorMessage(bad).find("info, notice, warning, critical"), std::string::npos)
      << bad.body;
}

TEST_F(ListQueryTest, MetricsHaveDurationsLastSuccessAndLeaveDryRunsOut) {
  ApplyConfig();
  const std::string point = Backup();
  Response restore =
      As(Role::kAdmin, "POST", "/v1/services/svc/restore",
         json{{"restore_point", point}, {"destination", "/x"}, {"dry_run", true}}.dump(),
         {{"content-type", "application/json"}});
  ASSERT_EQ(restore.status, 202) << restore.body;
  WaitJob(Json(restore)["job_id"]);

  Response m = As(Role::kViewer, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  const lifeboat::testing::ParsedMetrics parsed = lifeboat::testing::ParsePrometheusText(m.body);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << m.body;
  const std::string d = "lifeboat_job_duration_seconds";
  ASSERT_TRUE(parsed.families.count(d)) << m.body;
  EXPECT_EQ(parsed.families.at(d).type, "histogram");
  const std::map<std::string, std::string> backup = {{"kind", "backup"}, {"policy", "svc-daily"}};
  EXPECT_EQ(parsed.Sample(d, d + "_count", backup), 1.0) << m.body;
  auto inf = backup;
  inf["le"] = "+Inf";
  EXPECT_EQ(parsed.Sample(d, d + "_bucket", inf), 1.0) << m.body;
  // The dry run is in no job metric.
  EXPECT_EQ(parsed.Value("lifeboat_jobs", {{"kind", "restore"}, {"state", "succeeded"}}), 0.0);
  EXPECT_FALSE(parsed.Sample(d, d + "_count", {{"kind", "restore"}, {"policy", ""}}).has_value());
  auto last = parsed.Value("lifeboat_policy_last_success_timestamp_seconds",
                           {{"policy", "svc-daily"}, {"service", "svc"}});
  ASSERT_TRUE(last.has_value()) << m.body;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(*last, now - 600);
  EXPECT_LE(*last, now + 1);
}

}  // namespace
}  // namespace lifeboat::core::api::testing
