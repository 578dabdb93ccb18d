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
    {"1.0", "b3323b1da1b40c992bb0e4c67929b80fde8f4496870e55642101a74677a6bc1f"},
    {"1.1", "7d0277b6ef7e1526075e704b2fa40f454eec8743e4f529b5c24215a307bfa42b"},
};

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Drops /* */ and // comments (but not comment markers inside string or character
// literals) and collapses whitespace: a run of it (comments included) becomes one space
// where it separates two words ("int x"), and nothing elsewhere ("f(a, b)" == "f(a,b)"),
// so that reformatting the header never changes the digest. Literals are kept verbatim.
std::string Normalize(const std::string& text) {
  std::string out;
  bool space = false;  // whitespace seen since the last character kept
  auto keep = [&](char c) {
    if (space && !out.empty() && IsWordChar(out.back()) && IsWordChar(c)) out += ' ';
    space = false;
    out += c;
  };
  enum { kCode, kBlock, kLine, kString, kChar } state = kCode;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (state) {
      case kCode:
        if (c == '/' && next == '*') {
          state = kBlock;
          space = true;
          ++i;
        } else if (c == '/' && next == '/') {
          state = kLine;
          space = true;
          ++i;
        } else if (std::isspace(static_cast<unsigned char>(c))) {
          space = true;
        } else {
          if (c == '"') state = kString;
          if (c == '\'') state = kChar;
          keep(c);
        }
        break;
      case kBlock:
        if (c == '*' && next == '/') {
          state = kCode;
          ++i;
        }
        break;
      case kLine:
        if (c == '\n') state = kCode;
        break;
      case kString:
      case kChar:
        out += c;
        if (c == '\\' && i + 1 < text.size()) {
          out += next;
          ++i;
        } else if ((state == kString && c == '"') || (state == kChar && c == '\'')) {
          state = kCode;
        }
        break;
      default:
        break;
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
  EXPECT_EQ(Normalize("int  a; /* x\n y */ int b; // c\n\tint c;"), "int a;int b;int c;");
  EXPECT_EQ(Normalize("unsigned/* c */int x"), "unsigned int x");
  EXPECT_EQ(Normalize("void f(int a,\n       int b );"), Normalize("void f(int a, int b);"));
  EXPECT_EQ(Normalize("#define S \"/*  not a comment */\"\n"), "#define S\"/*  not a comment */\"");
  EXPECT_EQ(Normalize("char q = '\"'; /* c */ int x;"), "char q='\"';int x;");
  EXPECT_NE(Normalize("int a;"), Normalize("int b;"));
  EXPECT_NE(Normalize("int ab;"), Normalize("int a b;"));
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
