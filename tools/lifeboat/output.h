// How a command prints its answer: text for people, or with `-o json` / `-o yaml` one
// document in the shape the API returns (api::ProtoToJson: every field, numbers as numbers),
// so that a script reads the same object from any command and from the API.
//
// Thread-safety: functions only; they write to stdout.
#ifndef LIFEBOAT_TOOLS_OUTPUT_H_
#define LIFEBOAT_TOOLS_OUTPUT_H_

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"

namespace lifeboat::cli {

// True for -o json and -o yaml.
inline bool Structured(const GlobalOptions& global) { return global.output != "text"; }

// Prints `value` on stdout as JSON (indented) or YAML, as -o asks.
void PrintStructured(const GlobalOptions& global, const nlohmann::json& value);

// A record in its one shape (as the API returns it).
nlohmann::json ToJson(const google::protobuf::Message& m);
template <typename M>
nlohmann::json ToJsonList(const std::vector<M>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : items) out.push_back(ToJson(m));
  return out;
}

// A JSON value as a YAML document (block style; strings quoted when YAML would read them
// as something else).
std::string ToYamlText(const nlohmann::json& value);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_OUTPUT_H_
