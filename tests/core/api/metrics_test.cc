// MetricsWriter: the Prometheus text format, read back by a strict parser.
#include <gtest/gtest.h>
#include <lifeboat/core/api/metrics.h>

#include <cmath>

#include "prometheus_parse.h"

namespace lifeboat::core::api {
namespace {

using ::lifeboat::testing::ParsePrometheusText;

TEST(MetricsWriterTest, RendersHelpTypeAndSamplesThatParseBack) {
  MetricsWriter w;
  ASSERT_TRUE(w.Add("lifeboat_jobs", "Jobs by kind", MetricType::kGauge,
                    {{{{"kind", "backup"}, {"state", "running"}}, 2},
                     {{{"kind", "restore"}, {"state", "failed"}}, 0}})
                  .ok());
  ASSERT_TRUE(
      w.Add("lifeboat_bytes_total", "Bytes", MetricType::kCounter, {{{}, 12345678901.0}}).ok());
  const std::string text = w.Render();
  EXPECT_NE(text.find("# HELP lifeboat_jobs Jobs by kind\n# TYPE lifeboat_jobs gauge\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lifeboat_bytes_total 12345678901\n"), std::string::npos) << text;
  auto parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << text;
  EXPECT_EQ(parsed.families["lifeboat_jobs"].type, "gauge");
  EXPECT_EQ(parsed.families["lifeboat_bytes_total"].type, "counter");
  EXPECT_EQ(parsed.Value("lifeboat_jobs", {{"kind", "backup"}, {"state", "running"}}), 2.0);
  EXPECT_EQ(parsed.Value("lifeboat_bytes_total", {}), 12345678901.0);
}

TEST(MetricsWriterTest, EscapesLabelValuesAndHelp) {
  MetricsWriter w;
  const std::string nasty = "a\\b\"c\nd}e,f=g";
  ASSERT_TRUE(
      w.Add("m", "help with \\ and\nnewline", MetricType::kGauge, {{{{"service", nasty}}, 1}})
          .ok());
  const std::string text = w.Render();
  EXPECT_NE(text.find(R"(m{service="a\\b\"c\nd}e,f=g"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(# HELP m help with \\ and\nnewline)"), std::string::npos) << text;
  auto parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_EQ(parsed.Value("m", {{"service", nasty}}), 1.0);
  EXPECT_EQ(parsed.families["m"].help, "help with \\ and\nnewline");
}

TEST(MetricsWriterTest, RefusesBadNamesAndConflictingFamilies) {
  MetricsWriter w;
  EXPECT_EQ(w.Add("1bad", "h", MetricType::kGauge, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.Add("bad-name", "h", MetricType::kGauge, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.Add("ok", "h", MetricType::kGauge, {{{{"bad-label", "x"}}, 1}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(w.Add("ok", "h", MetricType::kGauge, {{{{"__reserved", "x"}}, 1}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(w.Add("ok", "h", MetricType::kGauge, {{{{"a", "x"}, {"a", "y"}}, 1}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(w.Render(), "") << "nothing is added on error";
  ASSERT_TRUE(w.Add("ok", "h", MetricType::kGauge, {{{{"a", "1"}}, 1}}).ok());
  EXPECT_EQ(w.Add("ok", "other help", MetricType::kGauge, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.Add("ok", "h", MetricType::kCounter, {}).code(), Code::kInvalidArgument);
  // Same help and type: appended to the one family (a family appears once in the text).
  ASSERT_TRUE(w.Add("ok", "h", MetricType::kGauge, {{{{"a", "2"}}, 2}}).ok());
  auto parsed = ParsePrometheusText(w.Render());
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_EQ(parsed.families["ok"].samples.size(), 2u);
}

TEST(MetricsWriterTest, HistogramsHaveCumulativeBucketsSumAndCount) {
  Histogram h({1, 10});
  h.Observe(0.5);
  h.Observe(1);  // on a bound: in its bucket (le is "less or equal")
  h.Observe(5);
  h.Observe(100);
  MetricsWriter w;
  ASSERT_TRUE(w.AddHistogram("job_seconds", "h", {{{{"kind", "backup"}}, h}}).ok());
  const std::string text = w.Render();
  EXPECT_EQ(text,
            "# HELP job_seconds h\n# TYPE job_seconds histogram\n"
            "job_seconds_bucket{kind=\"backup\",le=\"1\"} 2\n"
            "job_seconds_bucket{kind=\"backup\",le=\"10\"} 3\n"
            "job_seconds_bucket{kind=\"backup\",le=\"+Inf\"} 4\n"
            "job_seconds_sum{kind=\"backup\"} 106.5\n"
            "job_seconds_count{kind=\"backup\"} 4\n");
  auto parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_EQ(parsed.Sample("job_seconds", "job_seconds_count", {{"kind", "backup"}}), 4.0);
  // "le" belongs to the buckets; a histogram is added with AddHistogram only.
  EXPECT_EQ(w.AddHistogram("x_seconds", "h", {{{{"le", "1"}}, h}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.Add("y_seconds", "h", MetricType::kHistogram, {}).code(), Code::kInvalidArgument);
}

TEST(MetricsWriterTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(HUGE_VAL), "+Inf");
  EXPECT_EQ(FormatMetricValue(-HUGE_VAL), "-Inf");
  EXPECT_EQ(FormatMetricValue(1e300), "1e+300");
}

// The parser used by these tests must itself refuse what a scraper refuses.
TEST(PrometheusParseTest, RefusesMalformedText) {
  EXPECT_FALSE(ParsePrometheusText("m 1\n").error.empty()) << "sample before TYPE";
  EXPECT_FALSE(ParsePrometheusText("# TYPE m gauge\nm{a=\"x} 1\n").error.empty());
  EXPECT_FALSE(ParsePrometheusText("# TYPE m gauge\nm{a=\"\\x\"} 1\n").error.empty());
  EXPECT_FALSE(ParsePrometheusText("# TYPE m gauge\nm one\n").error.empty());
  EXPECT_FALSE(ParsePrometheusText("# TYPE m gauge\n# TYPE n gauge\nn 1\nm 1\n").error.empty())
      << "a family's samples away from it";
  EXPECT_FALSE(ParsePrometheusText("# TYPE m gauge\nm 1").error.empty()) << "no final newline";
  EXPECT_TRUE(ParsePrometheusText("# TYPE m gauge\nm{a=\"1\"} 1\n").error.empty());
}

}  // namespace
}  // namespace lifeboat::core::api
