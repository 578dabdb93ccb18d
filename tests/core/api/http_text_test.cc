// Targets, percent-decoding and query parameters.
#include <gtest/gtest.h>

#include "http_text.h"

namespace lifeboat::core::api {
namespace {

TEST(ParseTargetTest, SplitsAndDecodesPathAndQuery) {
  auto t = ParseTarget("/v1/services/sales%20eu/points?dry_run=true&x=a+b%2Fc");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->segments, (std::vector<std::string>{"v1", "services", "sales eu", "points"}));
  EXPECT_EQ(t->query.at("dry_run"), "true");
  EXPECT_EQ(t->query.at("x"), "a b/c");
}

TEST(ParseTargetTest, TrailingSlashAndRootAreEmptySegments) {
  EXPECT_EQ(ParseTarget("/")->segments, (std::vector<std::string>{""}));
  EXPECT_EQ(ParseTarget("/v1/")->segments, (std::vector<std::string>{"v1", ""}));
}

TEST(ParseTargetTest, RefusesWhatIsMalformedSayingWhat) {
  auto relative = ParseTarget("v1/jobs");
  EXPECT_EQ(relative.status().code(), Code::kInvalidArgument);
  EXPECT_NE(relative.status().message().find("absolute path"), std::string::npos);
  auto absolute_form = ParseTarget("http://host/v1/jobs");
  EXPECT_EQ(absolute_form.status().code(), Code::kInvalidArgument);
  auto bad_escape = ParseTarget("/v1/policies/a%zz");
  EXPECT_EQ(bad_escape.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_escape.status().message().find("percent escape"), std::string::npos);
  EXPECT_EQ(ParseTarget("/v1/policies/a%2").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTarget("/v1/policies/a%00b").status().code(), Code::kInvalidArgument);
  auto slash = ParseTarget("/v1/policies/a%2Fb");
  EXPECT_EQ(slash.status().code(), Code::kInvalidArgument);
  EXPECT_NE(slash.status().message().find("'/'"), std::string::npos);
  auto twice = ParseTarget("/v1/jobs?a=1&a=2");
  EXPECT_EQ(twice.status().code(), Code::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("twice"), std::string::npos);
  EXPECT_EQ(ParseTarget("/v1/jobs?=1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTarget("/v1/jobs?a=%G0").status().code(), Code::kInvalidArgument);
}

TEST(ParseBoolParamTest, TrueFalseAndNothingElse) {
  EXPECT_TRUE(*ParseBoolParam("dry_run", ""));
  EXPECT_TRUE(*ParseBoolParam("dry_run", "true"));
  EXPECT_TRUE(*ParseBoolParam("dry_run", "1"));
  EXPECT_FALSE(*ParseBoolParam("dry_run", "false"));
  EXPECT_FALSE(*ParseBoolParam("dry_run", "0"));
  auto bad = ParseBoolParam("dry_run", "yes please");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("dry_run"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::core::api
