// One set of words: the guide's capability and conformance tables are the headers' own.
// docs/plugin-guide.md must hold, row for row, what capabilities.h + ops.h and
// conformance.h's kRules say; a change to one without the other fails here.
#include <gtest/gtest.h>
#include <lifeboat/capabilities.h>
#include <lifeboat/ops.h>
#include <lifeboat/testing/conformance.h>

#include <fstream>
#include <sstream>
#include <string>

namespace lifeboat {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Guide() { return ReadAll(LIFEBOAT_PLUGIN_GUIDE); }

// Words as read, whatever the layout: markdown's ** and ` dropped, "//" comment markers
// dropped, every run of white space one space.
std::string Words(const std::string& text) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '*' || c == '`') continue;
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      ++i;
      space = true;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// "| `fencing` | `fence`, `unfence` | implements fence and unfence: ... |"
std::string CapabilityRow(const CapabilityInfo& info) {
  std::string ops;
#define LIFEBOAT_DOC_OP_(op, name, Method, Req, Resp, has_op_id, cap) \
  if (::lifeboat::v1::cap == info.value)                              \
    ops += (ops.empty() ? "`" : ", `") + std::string(name) + "`";
  LIFEBOAT_OPERATIONS(LIFEBOAT_DOC_OP_)
#undef LIFEBOAT_DOC_OP_
  return "| `" + std::string(info.name) + "` | " + (ops.empty() ? "—" : ops) + " | " +
         std::string(info.promise) + " |";
}

TEST(SdkDocsTest, TheGuideListsEveryCapabilityInTheHeadersWords) {
  const std::string guide = Guide();
  ASSERT_FALSE(guide.empty()) << LIFEBOAT_PLUGIN_GUIDE << " could not be read";
  for (const CapabilityInfo& info : kCapabilities) {
    const std::string row = CapabilityRow(info);
    EXPECT_NE(guide.find(row + "\n"), std::string::npos)
        << "docs/plugin-guide.md lacks the row (capabilities.h is the source):\n"
        << row;
  }
}

TEST(SdkDocsTest, TheGuideStatesEveryConformanceRuleInConformanceHsWords) {
  const std::string guide = Guide();
  for (const testing::Rule& r : testing::kRules) {
    const std::string row = "| `" + std::string(r.name) + "` | " + r.text + " |";
    EXPECT_NE(guide.find(row + "\n"), std::string::npos)
        << "docs/plugin-guide.md lacks the row (conformance.h's kRules is the source):\n"
        << row;
  }
}

TEST(SdkDocsTest, CapabilityNamesRoundTrip) {
  for (const CapabilityInfo& info : kCapabilities) {
    EXPECT_EQ(CapabilityNamed(info.name), info.value);
    EXPECT_EQ(CapabilityName(info.value), info.name);
  }
  EXPECT_FALSE(CapabilityNamed("fenceing").has_value());
  // Every value of the enum has a name: a capability added to plugin.proto must be added here.
  for (int c = ::lifeboat::v1::Capability_MIN + 1; c <= ::lifeboat::v1::Capability_MAX; ++c) {
    if (!::lifeboat::v1::Capability_IsValid(c)) continue;
    EXPECT_FALSE(CapabilityName(static_cast<::lifeboat::v1::Capability>(c)).empty())
        << "capability " << c << " of plugin.proto has no name in capabilities.h";
  }
}

TEST(SdkDocsTest, CapabilitiesAndOperationsMustAgree) {
  v1::PluginDescriptor d;
  d.set_name("acme");
  // Fence alone implemented, nothing declared: both halves of the mismatch are named.
  uint64_t ops = uint64_t{1} << LB_OP_FENCE;
  std::string m = CapabilityMismatches(d, ops);
  EXPECT_NE(m.find("overrides Fence but does not declare capability 'fencing'"), std::string::npos)
      << m;
  d.add_capabilities(v1::CAP_FENCING);
  m = CapabilityMismatches(d, ops);
  EXPECT_NE(m.find("declares capability 'fencing' but does not override Unfence"),
            std::string::npos)
      << m;
  ops |= uint64_t{1} << LB_OP_UNFENCE;
  EXPECT_EQ(CapabilityMismatches(d, ops), "");
  d.add_capabilities(v1::CAP_PEER_READ);
  EXPECT_NE(CapabilityMismatches(d, ops).find("does not override Read"), std::string::npos);
}

TEST(SdkDocsTest, TheOperationTableKnowsEveryOperation) {
  for (int32_t op = LB_OP_PROBE; op <= kNewestOp; ++op) {
    EXPECT_TRUE(IsKnownOp(op)) << op;
    EXPECT_FALSE(KnownOpName(op).empty()) << op;
  }
  EXPECT_FALSE(IsKnownOp(kNewestOp + 1));
  EXPECT_EQ(OpName(kNewestOp + 1), "operation " + std::to_string(kNewestOp + 1));
  EXPECT_EQ(OpName(LB_OP_PLAN_TRANSFER), "plan_transfer");
  EXPECT_TRUE(OpHasOpId(LB_OP_CUT));
  EXPECT_FALSE(OpHasOpId(LB_OP_READ));  // read's field 1 is a SnapshotRef, not an op id
  EXPECT_FALSE(OpHasOpId(LB_OP_PROBE));
  static_assert(std::is_same_v<OpTraits<LB_OP_UNFENCE>::Request, v1::FenceRequest>);
  static_assert(std::is_same_v<OpTraits<LB_OP_CUT>::Response, v1::CutResponse>);
}

TEST(SdkDocsTest, PluginHStatesTheGuidesRulesInItsWords) {
  const std::string guide = Guide();
  const size_t start = guide.find("### Rules the engine relies on");
  ASSERT_NE(start, std::string::npos) << "the guide lost its section 'Rules the engine relies on'";
  const size_t end = guide.find("\n## ", start);
  const std::string section = guide.substr(start, end - start);
  const std::string header = ReadAll(LIFEBOAT_PLUGIN_H);
  const size_t cls = header.find("class ComponentPlugin {");
  ASSERT_NE(cls, std::string::npos);
  const std::string comment = Words(header.substr(0, cls));
  int rules = 0;
  for (size_t at = section.find("\n- "); at != std::string::npos;
       at = section.find("\n- ", at + 1)) {
    const size_t next = section.find("\n- ", at + 1);
    const std::string rule = Words(section.substr(at + 3, next - at - 3));
    ++rules;
    EXPECT_NE(comment.find(rule), std::string::npos)
        << "plugin.h's comment above ComponentPlugin lacks the guide's rule (the guide and the "
           "header must say the same):\n"
        << rule;
  }
  EXPECT_GE(rules, 7) << "the guide's rules were not found as '- ' items";
}

}  // namespace
}  // namespace lifeboat
