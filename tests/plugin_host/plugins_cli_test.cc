// `lifeboat plugins list | check`, run as a user would: the built binary, its output and
// its exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path Case(const std::string& name) { return fs::path(HOSTTEST_CASES) / name; }

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout only: logs go to stderr
};

CliRun Lifeboat(const std::string& args) {
  std::string command = std::string("'") + LIFEBOAT_CLI + "' " + args + " 2>/dev/null";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string Dir(const std::string& case_name) {
  return "--plugin-dir '" + Case(case_name).string() + "'";
}

TEST(PluginsCliTest, ListExitsZeroWhenEveryPluginLoads) {
  CliRun run = Lifeboat(Dir("good") + " plugins list");
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("NAME"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("echo"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("resumable_transfer"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("REFUSED"), std::string::npos) << run.out;
}

TEST(PluginsCliTest, ListExitsFourAndSaysWhyWhenOneIsRefused) {
  CliRun run = Lifeboat(Dir("good") + " " + Dir("abi_major") + " plugins list");
  EXPECT_EQ(run.exit_code, 4) << run.out;
  EXPECT_NE(run.out.find("echo"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("REFUSED"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("plugin ABI 2.0 is not supported by this host"), std::string::npos)
      << run.out;
}

TEST(PluginsCliTest, ListAsJsonHasAStatusPerPlugin) {
  CliRun run = Lifeboat("--output json " + Dir("good") + " " + Dir("bad_hash") + " plugins list");
  EXPECT_EQ(run.exit_code, 4) << run.out;
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << run.out;
  ASSERT_EQ(doc.size(), 2u) << run.out;
  EXPECT_EQ(doc[0]["name"], "echo");
  EXPECT_EQ(doc[0]["status"], "loaded");
  EXPECT_EQ(doc[0]["version"], "1.0.0");
  EXPECT_EQ(doc[1]["name"], "bad_hash");
  EXPECT_EQ(doc[1]["status"], "refused");
  EXPECT_EQ(doc[1]["code"], "PERMISSION_DENIED");
  EXPECT_NE(doc[1]["reason"].get<std::string>().find("wants deadbeef"), std::string::npos);
}

TEST(PluginsCliTest, OutputOptionWorksAfterTheSubcommandToo) {
  CliRun run = Lifeboat(Dir("good") + " plugins list --output json");
  EXPECT_EQ(run.exit_code, 0) << run.out;
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << run.out;
  EXPECT_EQ(doc.at(0)["status"], "loaded");
}

TEST(PluginsCliTest, CheckSaysOkForAGoodPlugin) {
  CliRun run =
      Lifeboat("plugins check '" + (Case("good") / "hosttest_echo.plugin.json").string() + "'");
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(run.out.rfind("OK echo 1.0.0", 0), 0u) << run.out;

  CliRun by_library =
      Lifeboat("plugins check '" + (Case("good") / "liblifeboat_hosttest_echo.so").string() + "'");
  EXPECT_EQ(by_library.exit_code, 0) << by_library.out;
}

TEST(PluginsCliTest, CheckSaysRefusedAndWhy) {
  CliRun run = Lifeboat("plugins check '" +
                        (Case("misnamed") / "hosttest_misnamed.plugin.json").string() + "'");
  EXPECT_EQ(run.exit_code, 4) << run.out;
  EXPECT_EQ(run.out.rfind("REFUSED", 0), 0u) << run.out;
  EXPECT_NE(run.out.find("descriptor name is 'impostor'"), std::string::npos) << run.out;

  CliRun json_run = Lifeboat("-o json plugins check '" +
                             (Case("bad_json") / "bad_json.plugin.json").string() + "'");
  EXPECT_EQ(json_run.exit_code, 4) << json_run.out;
  json doc = json::parse(json_run.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json_run.out;
  EXPECT_EQ(doc["status"], "refused");
  EXPECT_EQ(doc["code"], "INVALID_ARGUMENT");
}

TEST(PluginsCliTest, CheckWithoutAPathIsAUsageError) {
  EXPECT_EQ(Lifeboat("plugins check").exit_code, 2);
}

}  // namespace
