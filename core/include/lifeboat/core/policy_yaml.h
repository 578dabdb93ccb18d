// Clusters, services and policies as YAML, mapped to the model's messages.
//
// A file holds one or more YAML documents; each has `kind: Cluster | Service | Policy` and
// the fields of that message in snake_case (see docs/policies.md for the schema and an
// example). Durations are written "90s", "15m", "4h", "7d"; sizes "100MB", "1GiB" (bytes per
// second for bandwidth: "100MB/s"); enums by name in lower case (`consistency: aligned`,
// `verification: digest`).
//
// Every error is INVALID_ARGUMENT with a message "FILE:LINE:COLUMN: FIELD: WHY", e.g.
//   policy.yaml:7:14: schedule.cron: minute field '61' is out of range 0-59
// Unknown fields are refused (naming the known ones), as are contradictions such as a
// `quiesced` policy without hooks, retention that keeps nothing, or both `cron` and
// `interval`.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_POLICY_YAML_H_
#define LIFEBOAT_CORE_POLICY_YAML_H_

#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <string>
#include <variant>
#include <vector>

namespace lifeboat::core {

struct YamlDocument {
  std::variant<v1::Cluster, v1::Service, v1::Policy> value;
  std::string file;
  int line = 0;  // where the document starts, 1-based
};

// Parses `text` (named `file` in messages). All documents or an error; nothing partial.
StatusOr<std::vector<YamlDocument>> ParseYaml(const std::string& text, const std::string& file);

// Reads and parses a file; NOT_FOUND when it does not exist.
StatusOr<std::vector<YamlDocument>> LoadYamlFile(const std::string& path);

// Renders a message back as YAML in the same schema (for `lifeboat policy show`).
std::string ToYaml(const v1::Policy& policy);
std::string ToYaml(const v1::Service& service);
std::string ToYaml(const v1::Cluster& cluster);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_POLICY_YAML_H_
