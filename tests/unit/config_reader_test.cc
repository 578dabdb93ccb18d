// lifeboat::sdk::ConfigReader: typed getters, messages naming the field, unknown keys refused.
#include <gtest/gtest.h>
#include <lifeboat/sdk/config.h>

#include <map>
#include <string>
#include <vector>

namespace lifeboat::sdk {
namespace {

ConfigReader MustParse(const std::string& json) {
  StatusOr<ConfigReader> r = ConfigReader::Parse(json, "test.v1.Config");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(ConfigReaderTest, EmptyTextReadsAsEmptyObject) {
  ConfigReader r = MustParse("");
  StatusOr<std::string> s = r.String("mode", "fast");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "fast");
  EXPECT_TRUE(r.Finish().ok());
}

TEST(ConfigReaderTest, RefusesInvalidJson) {
  StatusOr<ConfigReader> r = ConfigReader::Parse("{\"root\": ", "test.v1.Config");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("test.v1.Config"), std::string::npos);
  EXPECT_NE(r.status().message().find("not valid JSON"), std::string::npos);
}

TEST(ConfigReaderTest, RefusesNonObject) {
  StatusOr<ConfigReader> r = ConfigReader::Parse("[1, 2]", "test.v1.Config");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("must be a JSON object, found array"), std::string::npos);
}

TEST(ConfigReaderTest, ReadsEveryType) {
  ConfigReader r = MustParse(
      R"({"root": "/srv", "threads": 4, "sync": true, "hosts": ["a", "b"], "label": "x"})");
  StatusOr<std::string> root = r.RequiredString("root");
  StatusOr<int64_t> threads = r.Int("threads", 1, 1, 64);
  StatusOr<bool> sync = r.Bool("sync", false);
  StatusOr<std::vector<std::string>> hosts = r.StringList("hosts");
  StatusOr<std::string> label = r.String("label", "none");
  ASSERT_TRUE(root.ok() && threads.ok() && sync.ok() && hosts.ok() && label.ok());
  EXPECT_EQ(*root, "/srv");
  EXPECT_EQ(*threads, 4);
  EXPECT_TRUE(*sync);
  EXPECT_EQ(*hosts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*label, "x");
  EXPECT_TRUE(r.Finish().ok());
}

TEST(ConfigReaderTest, FallbacksForAbsentOptionalKeys) {
  ConfigReader r = MustParse("{}");
  EXPECT_EQ(*r.Int("threads", 3, 1, 8), 3);
  EXPECT_FALSE(*r.Bool("sync", false));
  EXPECT_TRUE(r.StringList("hosts")->empty());
}

TEST(ConfigReaderTest, MissingRequiredFieldNamesIt) {
  ConfigReader r = MustParse("{}");
  StatusOr<std::string> root = r.RequiredString("root");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(root.status().subject(), "root");
  EXPECT_EQ(root.status().message(), "test.v1.Config: required field 'root' is missing");
}

TEST(ConfigReaderTest, WrongTypeSaysWantedAndFound) {
  ConfigReader r = MustParse(R"({"root": 5, "sync": "yes", "hosts": ["a", 1], "threads": "2"})");
  StatusOr<std::string> root = r.RequiredString("root");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().message(), "test.v1.Config: field 'root' must be a string, found 5");
  StatusOr<bool> sync = r.Bool("sync", false);
  ASSERT_FALSE(sync.ok());
  EXPECT_EQ(sync.status().message(),
            "test.v1.Config: field 'sync' must be true or false, found \"yes\"");
  StatusOr<std::vector<std::string>> hosts = r.StringList("hosts");
  ASSERT_FALSE(hosts.ok());
  EXPECT_NE(hosts.status().message().find("must be a list of strings"), std::string::npos);
  StatusOr<int64_t> threads = r.Int("threads", 1, 1, 8);
  ASSERT_FALSE(threads.ok());
  EXPECT_NE(threads.status().message().find("must be an integer, found \"2\""), std::string::npos);
}

TEST(ConfigReaderTest, IntOutOfRangeSaysBounds) {
  ConfigReader r = MustParse(R"({"threads": 100})");
  StatusOr<int64_t> threads = r.Int("threads", 1, 1, 64);
  ASSERT_FALSE(threads.ok());
  EXPECT_EQ(threads.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(threads.status().message(),
            "test.v1.Config: field 'threads' must be between 1 and 64, found 100");
}

TEST(ConfigReaderTest, FinishRefusesUnknownKeysAndListsKnownOnes) {
  ConfigReader r = MustParse(R"({"root": "/srv", "rooot": "/typo", "extra": 1})");
  ASSERT_TRUE(r.RequiredString("root").ok());
  ASSERT_TRUE(r.Bool("sync", false).ok());
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'rooot'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'extra'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("known fields are: root, sync"), std::string::npos) << s.message();
}

TEST(ConfigReaderTest, StringMapReadsAnObjectOfStrings) {
  ConfigReader r = MustParse(
      R"({"map": {"hdfs://a:8020/w": "hdfs://b:8020/w", "s3a://x": "s3a://y"}, "bad": {"k": 1},
          "list": ["a"], "empty": {"": "x"}})");
  auto map = r.StringMap("map");
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ(*map, (std::map<std::string, std::string>{{"hdfs://a:8020/w", "hdfs://b:8020/w"},
                                                      {"s3a://x", "s3a://y"}}));
  auto absent = r.StringMap("absent");
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->empty());
  for (const char* key : {"bad", "list"}) {
    auto wrong = r.StringMap(key);
    ASSERT_FALSE(wrong.ok()) << key;
    EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
    EXPECT_NE(wrong.status().message().find("must be an object of strings"), std::string::npos)
        << wrong.status().message();
  }
  auto empty_key = r.StringMap("empty");
  ASSERT_FALSE(empty_key.ok());
  EXPECT_NE(empty_key.status().message().find("field 'empty' has an empty key"), std::string::npos)
      << empty_key.status().message();
  EXPECT_TRUE(r.Finish().ok()) << r.Finish().ToString();
}

}  // namespace
}  // namespace lifeboat::sdk
