// CheckYamlTerminates: refuses the streams on which yaml-cpp 0.7's LoadAll never returns
// (yaml-cpp issue #1040, found by api_request_fuzz), lets everything else through.
#include <gtest/gtest.h>

#include <lifeboat/core/policy_yaml.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "yaml_guard.h"

namespace lifeboat::core {
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

// Before the guard moved into ParseYaml, only the API ran it: a policy file or an agent's
// --config holding such a document made ParseYaml/LoadYamlFile allocate until killed.
TEST(YamlGuardTest, ParseYamlAndLoadYamlFileRefuseInsteadOfHanging) {
  auto parsed = ParseYaml("kind: Cluster\nname: a\n---\n,", "bad.yaml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("bad.yaml:4:1:"), std::string::npos)
      << parsed.status().message();

  const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                     ("yaml_guard_test_" + std::to_string(::getpid()) + ".yaml");
  { std::ofstream(file) << "--- ,\n"; }
  auto loaded = LoadYamlFile(file.string());
  std::filesystem::remove(file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find(file.string() + ":1:"), std::string::npos)
      << loaded.status().message();
}

}  // namespace
}  // namespace lifeboat::core
