#include "output.h"

#include <lifeboat/core/api/api.h>
#include <yaml-cpp/yaml.h>

#include <iostream>
#include <regex>

namespace lifeboat::cli {
namespace {

using json = nlohmann::json;

// Plain scalars YAML 1.1/1.2 readers would take for a number, a bool or null.
bool NeedsQuotes(const std::string& s) {
  static const std::regex kSpecial(
      "^(|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|"
      "Off|OFF|y|Y|n|N|[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?|"
      "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|0x[0-9a-fA-F]+|0o[0-7]+|[0-9:]+)$");
  return std::regex_match(s, kSpecial);
}

void Emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, value] : v.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, value);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case json::value_t::null:
    case json::value_t::discarded:
      out << YAML::Null;
      break;
    default:  // numbers, in JSON's own spelling
      out << v.dump();
      break;
  }
}

}  // namespace

json ToJson(const google::protobuf::Message& m) { return core::api::ProtoToJson(m); }

std::string ToYamlText(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

void PrintStructured(const GlobalOptions& global, const json& value) {
  if (global.output == "yaml") {
    std::cout << ToYamlText(value);
  } else {
    std::cout << value.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  }
}

}  // namespace lifeboat::cli
