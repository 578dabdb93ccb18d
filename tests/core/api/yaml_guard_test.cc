// CheckYamlTerminates: refuses the streams on which yaml-cpp 0.7's LoadAll never returns
// (yaml-cpp issue #1040, found by api_request_fuzz), lets everything else through.
#include <gtest/gtest.h>

#include "yaml_guard.h"

namespace lifeboat::core::api {
namespace {

TEST(YamlGuardTest, RefusesADocumentStartingWithAComma_YamlCppIssue1040) {
  for (const char* text : {",", "  ,", "--- ,", "# comment\n,", "kind: Cluster\n---\n,",
                           ",ofiles\": [{\"name\": \"f\"}]}", "&anchor ,", "!tag ,"}) {
    Status s = CheckYamlTerminates(text, "p.yaml");
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "[" << text << "]";
    EXPECT_EQ(s.message().rfind("p.yaml:", 0), 0u) << s.message();
  }
  Status where = CheckYamlTerminates("kind: Cluster\n---\n,", "p.yaml");
  EXPECT_NE(where.message().find("p.yaml:3:1:"), std::string::npos) << where.message();
}

TEST(YamlGuardTest, LetsValidAndOrdinarilyBrokenYamlThrough) {
  for (const char* text :
       {"", "kind: Cluster\nname: a\n", "a: 1\n---\nb: 2\n---\n", "[,]", "{,}", "- ,", "a: ,", "]",
        "kind: Policy\nname: [unclosed\n", "a: &x 1\nb: *x\n"}) {
    EXPECT_TRUE(CheckYamlTerminates(text, "p.yaml").ok()) << "[" << text << "]";
  }
}

}  // namespace
}  // namespace lifeboat::core::api
