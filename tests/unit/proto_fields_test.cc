// Messages that cross a boundary — plugin to host (sdk/proto), agent to control service
// (agent.proto, rpc.proto), or today's build to tomorrow's through the state store
// (model.proto, token.proto, localfs's state files) — are append-only: a field keeps its
// number, type and label for ever; a field that goes away leaves its number reserved; an enum
// value keeps its number. tests/unit/proto_fields.lock lists every field and enum value as
// they were; this test fails when one changed, and when one is new and not yet in the lock
// (so that an addition is a deliberate, reviewed line). LIFEBOAT_UPDATE_PROTO_LOCK=1 appends the
// new ones to the lock; it never rewrites an old line.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace pb = google::protobuf;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TypeOf(const pb::FieldDescriptorProto& f) {
  if (!f.type_name().empty()) return f.type_name();
  return pb::FieldDescriptor::TypeName(static_cast<pb::FieldDescriptor::Type>(f.type()));
}

std::string LabelOf(const pb::FieldDescriptorProto& f) {
  switch (f.label()) {
    case pb::FieldDescriptorProto::LABEL_REPEATED:
      return "repeated";
    case pb::FieldDescriptorProto::LABEL_REQUIRED:
      return "required";
    default:
      return f.proto3_optional() ? "optional" : "singular";
  }
}

struct Found {
  // "message lifeboat.v1.CutRequest field op_id" -> "1 string singular"
  std::map<std::string, std::string> entries;
  // message full name -> reserved numbers
  std::map<std::string, std::set<int>> reserved;
};

void AddMessage(const std::string& scope, const pb::DescriptorProto& m, Found& out) {
  const std::string name = scope + "." + m.name();
  for (const auto& f : m.field()) {
    out.entries["message " + name + " field " + f.name()] =
        std::to_string(f.number()) + " " + TypeOf(f) + " " + LabelOf(f);
  }
  for (const auto& r : m.reserved_range()) {
    for (int n = r.start(); n < r.end(); ++n) out.reserved[name].insert(n);
  }
  for (const auto& e : m.enum_type()) {
    for (const auto& v : e.value()) {
      out.entries["enum " + name + "." + e.name() + " value " + v.name()] =
          std::to_string(v.number());
    }
  }
  for (const auto& nested : m.nested_type()) {
    // Map entries are generated; their key/value fields are fixed by protobuf.
    if (nested.options().map_entry()) continue;
    AddMessage(name, nested, out);
  }
}

Found Describe(const pb::FileDescriptorSet& set) {
  Found out;
  for (const auto& file : set.file()) {
    if (file.package().rfind("lifeboat", 0) != 0) continue;  // imports of google's own
    const std::string scope = file.package();
    for (const auto& m : file.message_type()) AddMessage(scope, m, out);
    for (const auto& e : file.enum_type()) {
      for (const auto& v : e.value()) {
        out.entries["enum " + scope + "." + e.name() + " value " + v.name()] =
            std::to_string(v.number());
      }
    }
  }
  return out;
}

TEST(ProtoFieldsTest, BoundaryMessagesOnlyGrow) {
  pb::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(Read(LIFEBOAT_PROTO_DESCRIPTORS)))
      << "cannot read " << LIFEBOAT_PROTO_DESCRIPTORS;
  const Found now = Describe(set);
  ASSERT_GT(now.entries.size(), 100u);

  std::map<std::string, std::string> locked;
  std::istringstream lock(Read(LIFEBOAT_PROTO_LOCK));
  std::string line;
  while (std::getline(lock, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find(" = ");
    ASSERT_NE(eq, std::string::npos) << "malformed lock line: " << line;
    locked[line.substr(0, eq)] = line.substr(eq + 3);
  }

  for (const auto& [what, was] : locked) {
    auto it = now.entries.find(what);
    if (it == now.entries.end()) {
      // A removed field is allowed only when its number is reserved, so it is never reused.
      const bool is_field = what.rfind("message ", 0) == 0;
      bool reserved = false;
      if (is_field) {
        const std::string msg = what.substr(8, what.find(" field ") - 8);
        const int number = std::stoi(was);
        auto r = now.reserved.find(msg);
        reserved = r != now.reserved.end() && r->second.count(number) > 0;
      }
      EXPECT_TRUE(reserved) << what << " (" << was << ") is gone: boundary messages are "
                            << "append-only; keep it, or reserve its number in the .proto";
      continue;
    }
    EXPECT_EQ(it->second, was) << what << " changed: was '" << was << "', is '" << it->second
                               << "'. A field keeps its number, type and label for ever; add a "
                               << "new field instead and reserve the old one";
  }
  std::vector<std::string> added;
  for (const auto& [what, is] : now.entries) {
    if (!locked.count(what)) added.push_back(what + " = " + is);
  }
  if (!added.empty() && std::getenv("LIFEBOAT_UPDATE_PROTO_LOCK") != nullptr) {
    std::ofstream out(LIFEBOAT_PROTO_LOCK, std::ios::app);
    for (const std::string& a : added) out << a << "\n";
    return;
  }
  for (const std::string& a : added) {
    ADD_FAILURE() << "new in a boundary .proto and not in tests/unit/proto_fields.lock: " << a
                  << "\n(append it: LIFEBOAT_UPDATE_PROTO_LOCK=1 ctest -R proto_fields_test)";
  }
}

}  // namespace
