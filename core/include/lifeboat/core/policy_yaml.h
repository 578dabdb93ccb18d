// Clusters, services and policies as YAML, mapped to the model's messages.
//
// A file holds one or more YAML documents; each has `kind: Cluster | Service | Policy` and
// the fields of that message in snake_case (see docs/policies.md for the schema and an
// example). Durations are written "90s", "15m", "4h", "7d"; sizes "100MB", "1GiB" (bytes per
// second for bandwidth: "100MB/s"); enums by name in lower case (`consistency: aligned`,
// `verification: digest`).
//
// Every error is INVALID_ARGUMENT with a message "FILE:LINE:COLUMN: FIELD: WHY", e.g.
//   policy.yaml:7:14: schedule.cron: cron '0 61 * * *': minute field '61' is out of range 0-59
// Unknown fields are refused (naming the known ones), as are contradictions such as a
// `quiesced` policy without hooks, retention that keeps nothing, both `cron` and
// `interval`, or an RPO shorter than a gap the schedule leaves between two runs. Cron texts
// and time zones are checked by the scheduler's own parser (Schedule::Create).
//
// Each document keeps the position of every field, so that checks made later — references
// between documents, plugins, roles (Engine::Apply) — point at the field too.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_POLICY_YAML_H_
#define LIFEBOAT_CORE_POLICY_YAML_H_

#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace lifeboat::core {

// A policy file is a few kilobytes; this bounds what a mistaken path (a log, an image)
// costs. ParseYaml refuses a larger text, and the CLI a larger file before reading it.
inline constexpr uint64_t kMaxYamlFileBytes = uint64_t{16} << 20;

struct YamlPosition {
  int line = 0;  // 1-based; 0: unknown
  int column = 0;
};

struct YamlDocument {
  std::variant<v1::Cluster, v1::Service, v1::Policy> value;
  std::string file;
  int line = 0;  // where the document starts, 1-based
  // Where the value of each field is, by dotted path: "name", "schedule.cron",
  // "data_sets[1]", "components[0].config.root".
  std::map<std::string, YamlPosition> positions;

  // "FILE:LINE:COLUMN: FIELD" for `field`: its own position, else that of its nearest
  // recorded parent ("components[0].config.root" -> "components[0].config" -> ...), else the
  // document's start. Documents made in code (no positions) give "FILE:LINE: FIELD".
  std::string Where(const std::string& field) const;
  // The same without the field: "FILE:LINE:COLUMN".
  std::string Place(const std::string& field) const;
  // A status whose message is "Where(field): why".
  Status Error(Code code, const std::string& field, const std::string& why) const;
  // "Cluster", "Service" or "Policy", and the object's name.
  std::string Kind() const;
  const std::string& Name() const;
};

// Parses `text` (named `file` in messages). All documents or an error; nothing partial.
// A text over kMaxYamlFileBytes is refused.
StatusOr<std::vector<YamlDocument>> ParseYaml(const std::string& text, const std::string& file);

// Reads and parses a file; NOT_FOUND when it does not exist.
StatusOr<std::vector<YamlDocument>> LoadYamlFile(const std::string& path);

// Refuses two documents (of one file or of several) that define the same object — the same
// kind and name — naming both places; applying them one after the other would keep the last
// silently.
Status CheckDistinct(const std::vector<YamlDocument>& docs);

// Renders a message back as YAML in the same schema (for `lifeboat policy show`).
std::string ToYaml(const v1::Policy& policy);
std::string ToYaml(const v1::Service& service);
std::string ToYaml(const v1::Cluster& cluster);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_POLICY_YAML_H_
