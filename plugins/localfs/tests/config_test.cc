// Configuration: what validate and create accept and refuse, and the messages they give.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config.h"
#include "localfs_test_util.h"

namespace lifeboat::localfs::testing {
namespace {

using ::testing::HasSubstr;

v1::PluginConfig ConfigWith(const std::string& json) {
  v1::PluginConfig c;
  c.set_plugin("localfs");
  c.set_cluster("east");
  c.set_config_json(json);
  return c;
}

// Validate through the C table, as the host does; returns the refusal.
Status ValidateViaApi(Harness& h, const v1::PluginConfig& config) {
  std::string bytes = config.SerializeAsString();
  std::string err;
  lb_code code = h.api()->validate(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                   reinterpret_cast<lb_out*>(&err));
  if (code == LB_OK) return OkStatus();
  return lifeboat::testing::FakeHost::ToStatus(code, err);
}

TEST(ConfigTest, DefaultsAndNormalisedRoot) {
  TempDir root;
  StatusOr<Config> c = ParseConfig(ConfigWith("{\"root\": \"" + root.path() + "//\"}"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->root, root.path());
  EXPECT_EQ(c->cluster, "east");
  EXPECT_EQ(c->parallelism, 4);
  EXPECT_EQ(c->chunk_bytes, 1048576);
}

TEST(ConfigTest, ExplicitValues) {
  TempDir root;
  StatusOr<Config> c = ParseConfig(ConfigWith("{\"root\": \"" + root.path() +
                                              "\", \"parallelism\": 64, \"chunk_bytes\": 4096}"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->parallelism, 64);
  EXPECT_EQ(c->chunk_bytes, 4096);
}

TEST(ConfigTest, MissingRootIsRefusedNamingRoot) {
  Harness h;
  Status s = ValidateViaApi(h, ConfigWith("{}"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("root"));
  EXPECT_THAT(s.message(), HasSubstr("missing"));
}

TEST(ConfigTest, RelativeRootIsRefused) {
  Harness h;
  Status s = ValidateViaApi(h, ConfigWith("{\"root\": \"data/east\"}"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'root'"));
  EXPECT_THAT(s.message(), HasSubstr("absolute"));
  EXPECT_EQ(s.subject(), "root");
}

TEST(ConfigTest, AbsentRootDirectoryIsRefused) {
  Harness h;
  Status s = ValidateViaApi(h, ConfigWith("{\"root\": \"/nonexistent/lifeboat/east\"}"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("root"));
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/lifeboat/east"));
}

TEST(ConfigTest, RootThatIsAFileIsRefused) {
  TempDir dir;
  WriteFile(dir / "file", "x");
  Status s = ParseConfig(ConfigWith("{\"root\": \"" + (dir / "file") + "\"}")).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not a directory"));
}

TEST(ConfigTest, UnknownKeyIsRefusedByName) {
  TempDir root;
  Harness h;
  Status s =
      ValidateViaApi(h, ConfigWith("{\"root\": \"" + root.path() + "\", \"paralelism\": 2}"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("paralelism"));
}

TEST(ConfigTest, WrongTypesAreRefused) {
  TempDir root;
  Harness h;
  Status s = ValidateViaApi(h, ConfigWith("{\"root\": 42}"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("root"));
  EXPECT_THAT(s.message(), HasSubstr("string"));
  s = ValidateViaApi(h, ConfigWith("{\"root\": \"" + root.path() + "\", \"parallelism\": \"4\"}"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("parallelism"));
}

TEST(ConfigTest, OutOfRangeValuesAreRefused) {
  TempDir root;
  Harness h;
  for (const char* bad : {"\"parallelism\": 0", "\"parallelism\": 65", "\"chunk_bytes\": 4095",
                          "\"chunk_bytes\": 1073741825"}) {
    Status s = ValidateViaApi(h, ConfigWith("{\"root\": \"" + root.path() + "\", " + bad + "}"));
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("between")) << bad;
  }
}

TEST(ConfigTest, ValidateHasNoSideEffects) {
  TempDir root;
  Harness h;
  ASSERT_TRUE(ValidateViaApi(h, ConfigWith("{\"root\": \"" + root.path() + "\"}")).ok());
  EXPECT_TRUE(Picture(root.path()).empty()) << Describe(Picture(root.path()));
}

TEST(ConfigTest, CreateRefusesWhatValidateRefuses) {
  Harness h;
  StatusOr<lb_instance*> made = h.host().Create(h.api(), ConfigWith("{\"root\": \"rel\"}"));
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(made.status().message(), HasSubstr("root"));
}

TEST(ConfigTest, DescriptorNamesThePluginAndItsCapabilities) {
  Harness h;
  std::string out;
  ASSERT_EQ(h.api()->describe(reinterpret_cast<lb_out*>(&out)), LB_OK);
  v1::PluginDescriptor d;
  ASSERT_TRUE(d.ParseFromString(out));
  EXPECT_EQ(d.name(), "localfs");
  EXPECT_EQ(d.version(), "0.2.0");
  EXPECT_EQ(d.component(), "localfs");
  EXPECT_EQ(d.config_type(), "lifeboat.localfs.v1.Config");
  EXPECT_EQ(d.abi_major(), 1u);
  std::vector<int> caps(d.capabilities().begin(), d.capabilities().end());
  EXPECT_THAT(caps, ::testing::UnorderedElementsAre(v1::CAP_INCREMENTAL, v1::CAP_RESUMABLE_TRANSFER,
                                                    v1::CAP_DIGEST_VERIFY, v1::CAP_RESTORE,
                                                    v1::CAP_SECURITY_SYNC, v1::CAP_FENCING,
                                                    v1::CAP_PEER_READ));
}

}  // namespace
}  // namespace lifeboat::localfs::testing
