// Fails when sdk/include/lifeboat/abi.h changes without a version bump.
//
// The header is reduced to its tokens (comments stripped, whitespace collapsed), so that
// rewording a comment or reformatting is free, and any change of code is caught. The
// SHA-256 of that text is pinned here per "MAJOR.MINOR". A changed header with the same
// version means plugins built against the old one would be loaded as compatible although
// the tables differ: exactly the bug the ABI policy exists to prevent.
#include <gtest/gtest.h>
#include <lifeboat/abi.h>
#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace {

// One entry per released ABI version. Never edit an entry; add one for a new version.
const std::map<std::string, std::string> kPinnedDigests = {
    {"1.0", "eec1b374b7600f5bddd604bda5d08941f4a26b86ccb3140ef8f0968e94057668"},
};

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Drops /* */ and // comments (but not comment markers inside string or character
// literals), then collapses every run of whitespace to one space.
std::string Normalize(const std::string& text) {
  std::string code;
  enum { kCode, kBlock, kLine, kString, kChar } state = kCode;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (state) {
      case kCode:
        if (c == '/' && next == '*') {
          state = kBlock;
          code += ' ';
          ++i;
        } else if (c == '/' && next == '/') {
          state = kLine;
          ++i;
        } else {
          if (c == '"') state = kString;
          if (c == '\'') state = kChar;
          code += c;
        }
        break;
      case kBlock:
        if (c == '*' && next == '/') {
          state = kCode;
          ++i;
        }
        break;
      case kLine:
        if (c == '\n') {
          state = kCode;
          code += c;
        }
        break;
      case kString:
      case kChar:
        code += c;
        if (c == '\\' && i + 1 < text.size()) {
          code += next;
          ++i;
        } else if ((state == kString && c == '"') || (state == kChar && c == '\'')) {
          state = kCode;
        }
        break;
      default:
        break;
    }
  }
  std::string out;
  bool space = false;
  for (char c : code) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
    } else {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0xf];
  }
  return hex;
}

int DefinedNumber(const std::string& text, const std::string& macro) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("#define\\s+" + macro + "\\s+(\\d+)"))) return -1;
  return std::stoi(m[1].str());
}

TEST(NormalizeTest, StripsCommentsAndCollapsesWhitespace) {
  EXPECT_EQ(Normalize("int  a; /* x\n y */ int b; // c\n\tint c;"), "int a; int b; int c;");
  EXPECT_EQ(Normalize("#define S \"/* not a comment */\"\n"), "#define S \"/* not a comment */\"");
  EXPECT_EQ(Normalize("char q = '\"'; /* c */ int x;"), "char q = '\"'; int x;");
  EXPECT_NE(Normalize("int a;"), Normalize("int b;"));
}

TEST(AbiHeaderTest, VersionMacrosMatchTheHeaderText) {
  std::string text = ReadFile(LIFEBOAT_ABI_HEADER);
  ASSERT_FALSE(text.empty()) << "cannot read " << LIFEBOAT_ABI_HEADER;
  EXPECT_EQ(DefinedNumber(text, "LIFEBOAT_ABI_MAJOR"), LIFEBOAT_ABI_MAJOR);
  EXPECT_EQ(DefinedNumber(text, "LIFEBOAT_ABI_MINOR"), LIFEBOAT_ABI_MINOR);
}

TEST(AbiHeaderTest, HeaderChangesOnlyWithAVersionBump) {
  std::string text = ReadFile(LIFEBOAT_ABI_HEADER);
  ASSERT_FALSE(text.empty()) << "cannot read " << LIFEBOAT_ABI_HEADER;
  const std::string version = std::to_string(DefinedNumber(text, "LIFEBOAT_ABI_MAJOR")) + "." +
                              std::to_string(DefinedNumber(text, "LIFEBOAT_ABI_MINOR"));
  const std::string digest = Sha256Hex(Normalize(text));
  auto pinned = kPinnedDigests.find(version);
  ASSERT_NE(pinned, kPinnedDigests.end())
      << "ABI " << version << " has no pinned digest. If you just bumped the version, add\n"
      << "    {\"" << version << "\", \"" << digest << "\"},\n"
      << "to kPinnedDigests in " << __FILE__ << " (and keep the older entries).";
  EXPECT_EQ(pinned->second, digest)
      << "The ABI header " << LIFEBOAT_ABI_HEADER << " changed without a version bump: it is\n"
      << "still ABI " << version << " but its code differs from the pinned one.\n"
      << "Plugins built against the old header would be loaded as compatible. Either:\n"
      << "  - append the new fields at the end of the table and bump LIFEBOAT_ABI_MINOR, or\n"
      << "  - for a breaking change (removal, reorder, change of meaning) bump\n"
      << "    LIFEBOAT_ABI_MAJOR and reset the minor to 0;\n"
      << "then pin the digest of the new version in " << __FILE__ << ".\n"
      << "(Comment and whitespace changes are free: they do not change the digest.)\n"
      << "Digest of the header now: " << digest;
}

}  // namespace
