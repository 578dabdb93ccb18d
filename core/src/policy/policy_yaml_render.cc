// ToYaml: the messages back as YAML in the schema ParseYaml reads, so that
// ParseYaml(ToYaml(x)) == x for every x that ParseYaml can produce.
//
// Written by hand rather than with YAML::Emitter so that quoting follows the same rules the
// parser resolves by (yaml_values.h): a string that would read back as a number, a boolean
// or null is quoted, and nothing else depends on the emitter's own choices.
#include <lifeboat/core/policy_yaml.h>

#include <map>
#include <string>

#include "yaml_values.h"

namespace lifeboat::core {
namespace {

using Json = nlohmann::ordered_json;
using policy_internal::FormatDurationMillis;
using policy_internal::FormatDurationSeconds;
using policy_internal::QuoteScalar;

void Field(std::string& out, int indent, std::string_view key, const std::string& value) {
  out.append(indent, ' ');
  out += key;
  out += ": ";
  out += value;
  out += '\n';
}

std::string JsonScalar(const Json& v) {
  if (v.is_string()) return QuoteScalar(v.get<std::string>());
  if (v.is_object()) return "{}";  // only empty ones get here
  if (v.is_array()) return "[]";
  return v.dump();  // null, true, false, numbers: JSON and YAML spell them alike
}

bool IsNonEmptyContainer(const Json& v) { return v.is_structured() && !v.empty(); }

void AppendJsonBlock(const Json& v, int indent, std::string& out);

// The value of a mapping key whose "key:" is already written.
void AppendJsonValue(const Json& v, int indent, std::string& out) {
  if (IsNonEmptyContainer(v)) {
    out += '\n';
    AppendJsonBlock(v, indent + 2, out);
  } else {
    out += ' ' + JsonScalar(v) + '\n';
  }
}

// A non-empty object or array as block lines, each indented by `indent`.
void AppendJsonBlock(const Json& v, int indent, std::string& out) {
  std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      out += pad + QuoteScalar(key) + ':';
      AppendJsonValue(value, indent, out);
    }
    return;
  }
  for (const Json& item : v) {
    if (IsNonEmptyContainer(item)) {
      // The item's block, its first line's indent replaced by the "- " that opens it.
      std::string block;
      AppendJsonBlock(item, indent + 2, block);
      block[indent] = '-';
      out += block;
    } else {
      out += pad + "- " + JsonScalar(item) + '\n';
    }
  }
}

void AppendConfig(const std::string& config_json, int indent, std::string& out) {
  if (config_json.empty()) return;
  Json config = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  out.append(indent, ' ');
  if (config.is_discarded()) {
    // Not JSON (not made by ParseYaml): shown as text, which ParseYaml refuses.
    out += "config: " + QuoteScalar(config_json) + '\n';
    return;
  }
  out += "config:";
  AppendJsonValue(config, indent, out);
}

}  // namespace

std::string ToYaml(const v1::Cluster& cluster) {
  std::string out = "kind: Cluster\n";
  Field(out, 0, "name", QuoteScalar(cluster.name()));
  if (!cluster.description().empty()) {
    Field(out, 0, "description", QuoteScalar(cluster.description()));
  }
  if (cluster.has_agent()) {
    out += "agent:\n";
    Field(out, 2, "address", QuoteScalar(cluster.agent().address()));
    if (!cluster.agent().server_name().empty()) {
      Field(out, 2, "server_name", QuoteScalar(cluster.agent().server_name()));
    }
  }
  if (cluster.components_size() > 0) out += "components:\n";
  for (const v1::ClusterComponent& c : cluster.components()) {
    out += "  - component: " + QuoteScalar(c.component()) + '\n';
    if (!c.plugin().empty() && c.plugin() != c.component()) {
      Field(out, 4, "plugin", QuoteScalar(c.plugin()));
    }
    AppendConfig(c.config_json(), 4, out);
  }
  return out;
}

std::string ToYaml(const v1::Service& service) {
  std::string out = "kind: Service\n";
  Field(out, 0, "name", QuoteScalar(service.name()));
  if (!service.description().empty()) {
    Field(out, 0, "description", QuoteScalar(service.description()));
  }
  Field(out, 0, "primary", QuoteScalar(service.primary_cluster()));
  Field(out, 0, "secondary", QuoteScalar(service.secondary_cluster()));
  if (service.data_sets_size() > 0) out += "data_sets:\n";
  for (const v1::DataSetSpec& d : service.data_sets()) {
    if (d.commit_stage() == 0) {
      out += "  - " + QuoteScalar(d.component() + ":" + d.selector()) + '\n';
    } else {
      out += "  - component: " + QuoteScalar(d.component()) + '\n';
      Field(out, 4, "selector", QuoteScalar(d.selector()));
      Field(out, 4, "commit_stage", std::to_string(d.commit_stage()));
    }
  }
  if (service.endpoints_size() > 0) out += "endpoints:\n";
  for (const v1::Endpoint& e : service.endpoints()) {
    out += "  - cluster: " + QuoteScalar(e.cluster()) + '\n';
    Field(out, 4, "name", QuoteScalar(e.name()));
    Field(out, 4, "address", QuoteScalar(e.address()));
  }
  return out;
}

std::string ToYaml(const v1::Policy& policy) {
  std::string out = "kind: Policy\n";
  Field(out, 0, "name", QuoteScalar(policy.name()));
  Field(out, 0, "service", QuoteScalar(policy.service()));
  const v1::Schedule& schedule = policy.schedule();
  out += "schedule:\n";
  if (schedule.kind_case() == v1::Schedule::kCron) {
    Field(out, 2, "cron", QuoteScalar(schedule.cron()));
  } else if (schedule.kind_case() == v1::Schedule::kIntervalSeconds) {
    Field(out, 2, "interval", FormatDurationSeconds(schedule.interval_seconds()));
  }
  if (!schedule.time_zone().empty()) Field(out, 2, "time_zone", QuoteScalar(schedule.time_zone()));
  if (policy.rpo_seconds() != 0) Field(out, 0, "rpo", FormatDurationSeconds(policy.rpo_seconds()));
  out += "retention:\n";
  Field(out, 2, "keep", std::to_string(policy.retention().keep_count()));
  if (policy.retention().keep_age_seconds() != 0) {
    Field(out, 2, "max_age", FormatDurationSeconds(policy.retention().keep_age_seconds()));
  }
  switch (policy.consistency()) {
    case v1::CRASH:
      Field(out, 0, "consistency", "crash");
      break;
    case v1::ALIGNED:
      Field(out, 0, "consistency", "aligned");
      break;
    case v1::QUIESCED:
      Field(out, 0, "consistency", "quiesced");
      break;
    default:  // unspecified: left out, the parser's default applies
      break;
  }
  if (policy.max_clock_skew_millis() != 0) {
    Field(out, 0, "max_clock_skew", FormatDurationMillis(policy.max_clock_skew_millis()));
  }
  if (policy.bandwidth_bytes_per_second() != 0) {
    Field(out, 0, "bandwidth",
          policy_internal::FormatBandwidth(policy.bandwidth_bytes_per_second()));
  }
  if (policy.parallelism() != 0) Field(out, 0, "parallelism", std::to_string(policy.parallelism()));
  switch (policy.verification()) {
    case v1::VERIFY_NONE:
      Field(out, 0, "verification", "none");
      break;
    case v1::VERIFY_SIZE:
      Field(out, 0, "verification", "size");
      break;
    case v1::VERIFY_DIGEST:
      Field(out, 0, "verification", "digest");
      break;
    default:  // unspecified: left out, the parser's default applies
      break;
  }
  if (policy.transfer() == v1::TRANSFER_PUSH) Field(out, 0, "transfer", "push");
  if (policy.transfer() == v1::TRANSFER_PULL) Field(out, 0, "transfer", "pull");
  Field(out, 0, "sync_security", policy.sync_security() ? "true" : "false");
  if (!policy.user_map().empty() || !policy.group_map().empty()) {
    out += "name_map:\n";
    for (const auto& [key, map] :
         {std::pair{"users", &policy.user_map()}, std::pair{"groups", &policy.group_map()}}) {
      if (map->empty()) continue;
      out += std::string("  ") + key + ":\n";
      std::map<std::string, std::string> sorted(map->begin(), map->end());
      for (const auto& [from, to] : sorted) Field(out, 4, QuoteScalar(from), QuoteScalar(to));
    }
  }
  Field(out, 0, "priority", std::to_string(policy.priority()));
  Field(out, 0, "paused", policy.paused() ? "true" : "false");
  if (policy.hooks_size() > 0) out += "hooks:\n";
  for (const v1::Hook& hook : policy.hooks()) {
    out += "  - name: " + QuoteScalar(hook.name()) + '\n';
    Field(out, 4, "kind", QuoteScalar(hook.kind()));
    Field(out, 4, "pause", QuoteScalar(hook.pause()));
    Field(out, 4, "resume", QuoteScalar(hook.resume()));
    Field(out, 4, "timeout", FormatDurationSeconds(hook.timeout_seconds()));
  }
  return out;
}

}  // namespace lifeboat::core
