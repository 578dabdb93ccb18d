// ReadManifest and Sha256File (core/src/manifest.cc): what the host checks before loading.
#include <gtest/gtest.h>
#include <lifeboat/core/plugin_host.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char kDigest[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

json GoodManifest() {
  return json{{"name", "acme"},          {"version", "1.2.0"},
              {"component", "acme"},     {"abi_major", 1},
              {"abi_minor", 0},          {"capabilities", json::array({"incremental", "restore"})},
              {"library", "libacme.so"}, {"sha256", kDigest}};
}

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lifeboat-manifest-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& text, const std::string& name = "acme.plugin.json") {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path WriteJson(const json& doc) { return Write(doc.dump(2)); }

  // Reads a manifest expected to be refused with INVALID_ARGUMENT, and checks that the
  // message names the file and contains `wanted`.
  std::string Refused(const fs::path& file, const std::string& wanted) {
    StatusOr<PluginManifest> m = ReadManifest(file);
    EXPECT_FALSE(m.ok());
    if (m.ok()) return "";
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument) << m.status().ToString();
    EXPECT_NE(m.status().message().find(file.string()), std::string::npos)
        << "message does not name the file: " << m.status().message();
    EXPECT_NE(m.status().message().find(wanted), std::string::npos)
        << "wanted '" << wanted << "' in: " << m.status().message();
    return m.status().message();
  }

  fs::path dir_;
};

TEST_F(ManifestTest, ReadsAGoodManifest) {
  fs::path file = WriteJson(GoodManifest());
  StatusOr<PluginManifest> m = ReadManifest(file);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "acme");
  EXPECT_EQ(m->version, "1.2.0");
  EXPECT_EQ(m->component, "acme");
  EXPECT_EQ(m->abi_major, 1u);
  EXPECT_EQ(m->abi_minor, 0u);
  EXPECT_EQ(m->capabilities, (std::vector<std::string>{"incremental", "restore"}));
  EXPECT_EQ(m->library, "libacme.so");
  EXPECT_EQ(m->sha256, kDigest);
  EXPECT_EQ(m->manifest_path, fs::absolute(file).lexically_normal());
  EXPECT_EQ(m->library_path, fs::absolute(dir_ / "libacme.so").lexically_normal());
  EXPECT_TRUE(m->library_path.is_absolute());
}

TEST_F(ManifestTest, CapabilitiesAreOptional) {
  json doc = GoodManifest();
  doc.erase("capabilities");
  StatusOr<PluginManifest> m = ReadManifest(WriteJson(doc));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->capabilities.empty());
}

TEST_F(ManifestTest, UpperCaseDigestIsAcceptedAndLowered) {
  json doc = GoodManifest();
  doc["sha256"] = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
  StatusOr<PluginManifest> m = ReadManifest(WriteJson(doc));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->sha256, kDigest);
}

TEST_F(ManifestTest, MissingFileIsNotFound) {
  StatusOr<PluginManifest> m = ReadManifest(dir_ / "absent.plugin.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_NE(m.status().message().find("absent.plugin.json"), std::string::npos);
}

TEST_F(ManifestTest, BadJson) { Refused(Write("{\"name\": \"acme\", "), "not valid JSON"); }

TEST_F(ManifestTest, NotAnObject) {
  Refused(Write("[1, 2, 3]"), "must be a JSON object, found array");
}

TEST_F(ManifestTest, EachRequiredFieldIsRequired) {
  for (const char* field :
       {"name", "version", "component", "abi_major", "abi_minor", "library", "sha256"}) {
    json doc = GoodManifest();
    doc.erase(field);
    Refused(WriteJson(doc), std::string("required field '") + field + "' is missing");
  }
}

TEST_F(ManifestTest, UnknownFieldIsRefusedAndKnownOnesListed) {
  json doc = GoodManifest();
  doc["colour"] = "blue";
  std::string message = Refused(WriteJson(doc), "unknown field 'colour'");
  EXPECT_NE(message.find("known fields are: abi_major, abi_minor, capabilities"), std::string::npos)
      << message;
}

TEST_F(ManifestTest, MistypedFieldsSayWantedAndFound) {
  json doc = GoodManifest();
  doc["abi_major"] = "1";
  Refused(WriteJson(doc), "field 'abi_major' must be an integer from 0 to 65535, found \"1\"");

  doc = GoodManifest();
  doc["abi_minor"] = -1;
  Refused(WriteJson(doc), "field 'abi_minor' must be an integer from 0 to 65535, found -1");

  doc = GoodManifest();
  doc["abi_minor"] = 70000;
  Refused(WriteJson(doc), "found 70000");

  doc = GoodManifest();
  doc["name"] = "";
  Refused(WriteJson(doc), "field 'name' must be a non-empty string, found \"\"");

  doc = GoodManifest();
  doc["version"] = 12;
  Refused(WriteJson(doc), "field 'version' must be a non-empty string, found 12");

  doc = GoodManifest();
  doc["capabilities"] = json::array({"incremental", 3});
  Refused(WriteJson(doc), "field 'capabilities' must be a list of strings");
}

TEST_F(ManifestTest, LibraryMustBeAPlainFileName) {
  for (const char* bad :
       {"../libacme.so", "sub/libacme.so", "/usr/lib/libacme.so", "..", ".", "..\\libacme.so"}) {
    json doc = GoodManifest();
    doc["library"] = bad;
    Refused(WriteJson(doc),
            "field 'library' must be a plain file name in the manifest's directory");
  }
}

TEST_F(ManifestTest, Sha256MustBe64HexDigits) {
  for (const json& bad : {json("abc"), json(std::string(63, 'a')), json(std::string(65, 'a')),
                          json(std::string(63, 'a') + "g"), json(42)}) {
    json doc = GoodManifest();
    doc["sha256"] = bad;
    std::string message = Refused(WriteJson(doc), "field 'sha256' must be 64 hex digits");
    EXPECT_NE(message.find("found " + bad.dump().substr(0, 20)), std::string::npos) << message;
  }
}

TEST_F(ManifestTest, RefusesAHugeFile) {
  Refused(Write(std::string(2 << 20, ' ')), "wanted at most");
}

// --- Sha256File ----------------------------------------------------------------------

TEST_F(ManifestTest, Sha256OfKnownVectors) {
  StatusOr<std::string> empty = Sha256File(Write("", "empty"));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  StatusOr<std::string> abc = Sha256File(Write("abc", "abc"));
  ASSERT_TRUE(abc.ok()) << abc.status().ToString();
  EXPECT_EQ(*abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(ManifestTest, Sha256StreamsAcrossChunks) {
  // FIPS 180-2 test vector: one million 'a', much larger than one read.
  StatusOr<std::string> million = Sha256File(Write(std::string(1000000, 'a'), "million"));
  ASSERT_TRUE(million.ok()) << million.status().ToString();
  EXPECT_EQ(*million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_F(ManifestTest, Sha256OfMissingFileIsNotFound) {
  StatusOr<std::string> d = Sha256File(dir_ / "nothing");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kNotFound);
  EXPECT_NE(d.status().message().find("nothing"), std::string::npos);
}

TEST_F(ManifestTest, Sha256OfDirectoryIsRefused) {
  StatusOr<std::string> d = Sha256File(dir_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("wanted a regular file"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::core
