// Parsing of clusters, services and policies from YAML (docs/policies.md has the schema).
//
// yaml-cpp throws; every call into it happens under ParseYaml's try block, so no exception
// leaves this module (STYLE.md, 5).
#include <lifeboat/core/policy_yaml.h>
#include <lifeboat/core/scheduler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "yaml_guard.h"
#include "yaml_values.h"

namespace lifeboat::core {
namespace {

using Json = nlohmann::ordered_json;
using policy_internal::IsValidName;
using policy_internal::NameRule;
using policy_internal::Shown;

// Aliases let a small document stand for a huge tree ("billion laughs"); a plugin's config
// is small, so its expansion is bounded.
constexpr size_t kMaxConfigNodes = 100000;
constexpr int64_t kMaxParallelism = 256;
constexpr uint32_t kDefaultKeep = 7;
constexpr uint32_t kDefaultParallelism = 4;
constexpr int64_t kDefaultMaxClockSkewMillis = 1000;
constexpr int64_t kDefaultHookTimeoutSeconds = 60;

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return Shown(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

std::string Join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

// Formats every error of the file: "FILE:LINE:COLUMN: FIELD: WHY", 1-based; and records
// where each field of the document being read is (YamlDocument::positions).
class Context {
 public:
  explicit Context(const std::string& file) : file_(file) {}

  // Where Record() writes, for the document being read; null: nowhere.
  void RecordInto(std::map<std::string, YamlPosition>* positions) { positions_ = positions; }
  void Record(const std::string& path, const YAML::Mark& mark) const {
    if (positions_ == nullptr || path.empty() || mark.is_null()) return;
    positions_->emplace(path, YamlPosition{mark.line + 1, mark.column + 1});
  }

  Status Error(const YAML::Mark& mark, std::string_view field, std::string_view why) const {
    int line = mark.is_null() ? 1 : mark.line + 1;
    int column = mark.is_null() ? 1 : mark.column + 1;
    return InvalidArgumentError(file_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                ": " + std::string(field) + ": " + std::string(why));
  }

  // A node's position; yaml-cpp puts an empty value at the next token, so the caller gives
  // the position to use for one (its key, or the enclosing sequence).
  static YAML::Mark MarkOf(const YAML::Node& node, const YAML::Mark& if_empty) {
    if (node.IsNull() || node.Mark().is_null()) return if_empty;
    return node.Mark();
  }

 private:
  const std::string& file_;
  std::map<std::string, YamlPosition>* positions_ = nullptr;
};

// One item of a YAML sequence, with the path and position to name it by.
struct Item {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;  // "hooks[0]"
};

// One mapping of the schema: its fields by name, each with its key and value positions.
class Fields {
 public:
  // Refuses a node that is not a mapping, keys that are not plain text, a key given twice
  // and keys not in `known` (the message lists the known ones). `path` is the mapping's own
  // dotted path ("" at the top of a document); `mark` where to point for an empty node.
  static StatusOr<Fields> Read(const Context& ctx, const YAML::Node& node, const YAML::Mark& mark,
                               std::string path, std::vector<std::string_view> known) {
    Fields f(ctx, node, mark, std::move(path));
    ctx.Record(f.path_, f.mark_);
    if (!node.IsMap()) {
      return ctx.Error(f.mark_, f.path_.empty() ? "(document)" : f.path_,
                       "expected a mapping, found " + Describe(node));
    }
    for (const auto& entry : node) {
      // yaml-cpp's iterators yield proxies: copy the nodes (handles) out of them.
      YAML::Node key = entry.first;
      if (!key.IsScalar()) {
        return ctx.Error(Context::MarkOf(key, f.mark_), f.path_.empty() ? "(document)" : f.path_,
                         "expected a field name, found " + Describe(key));
      }
      const std::string& name = key.Scalar();
      if (const Entry* first = f.Find(name)) {
        return ctx.Error(
            key.Mark(), f.Path(name),
            "given twice (first at line " + std::to_string(first->key.Mark().line + 1) + ")");
      }
      bool is_known = false;
      for (std::string_view k : known) is_known = is_known || k == name;
      if (!is_known) {
        return ctx.Error(key.Mark(), f.Path(name), "unknown field; known fields: " + Join(known));
      }
      f.entries_.push_back(Entry{name, key, entry.second});
      ctx.Record(f.Path(name), Context::MarkOf(entry.second, key.Mark()));
    }
    return f;
  }

  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  const YAML::Mark& Mark() const { return mark_; }
  const std::string& OwnPath() const { return path_; }
  std::string Path(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  // Precondition: Has(name).
  YAML::Mark KeyMark(std::string_view name) const { return Find(name)->key.Mark(); }
  YAML::Mark ValueMark(std::string_view name) const {
    const Entry* e = Find(name);
    return Context::MarkOf(e->value, e->key.Mark());
  }
  const YAML::Node& Value(std::string_view name) const { return Find(name)->value; }

  // An error about the value of field `name`, at the value.
  Status Error(std::string_view name, std::string_view why) const {
    return ctx_.Error(ValueMark(name), Path(name), why);
  }

  // Refuses the first of `names` that is absent, pointing at this mapping.
  Status Require(const std::vector<std::string_view>& names, std::string_view owner) const {
    for (std::string_view name : names) {
      if (!Has(name)) {
        return ctx_.Error(mark_, Path(name), "missing; " + std::string(owner) + " needs it");
      }
    }
    return OkStatus();
  }

  StatusOr<std::optional<std::string>> Text(std::string_view name, std::string_view wanted) const {
    if (!Has(name)) return std::optional<std::string>();
    const YAML::Node& v = Value(name);
    if (!v.IsScalar())
      return Error(name, "expected " + std::string(wanted) + ", found " + Describe(v));
    return std::optional<std::string>(v.Scalar());
  }

  StatusOr<std::optional<std::string>> String(std::string_view name) const {
    return Text(name, "a string");
  }

  StatusOr<std::optional<std::string>> NonEmptyString(std::string_view name) const {
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "a string"));
    if (text && text->find_first_not_of(" \t\r\n") == std::string::npos) {
      return Error(name, "must not be empty");
    }
    return text;
  }

  StatusOr<std::optional<std::string>> Name(std::string_view name) const {
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "a name"));
    if (text && !IsValidName(*text)) {
      return Error(name, Shown(*text) + " is not a valid name: " + NameRule());
    }
    return text;
  }

  StatusOr<std::optional<int64_t>> Integer(std::string_view name, int64_t min, int64_t max) const {
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "an integer"));
    if (!text) return std::optional<int64_t>();
    std::string_view t = *text;
    bool negative = !t.empty() && t[0] == '-';
    std::string_view digits = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? t.substr(1) : t;
    bool all_digits = !digits.empty() && digits.find_first_not_of("0123456789") == t.npos;
    if (!all_digits) return Error(name, "expected an integer, found " + Shown(t));
    if (negative && min >= 0) return Error(name, "must not be negative, found " + std::string(t));
    auto range = [&] {
      return Error(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                             ", found " + std::string(t));
    };
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
    if (ec != std::errc() || end != digits.data() + digits.size() ||
        magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return range();
    }
    int64_t value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    if (value < min || value > max) return range();
    return std::optional<int64_t>(value);
  }

  StatusOr<std::optional<bool>> Bool(std::string_view name) const {
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "true or false"));
    if (!text) return std::optional<bool>();
    if (*text == "true" || *text == "True" || *text == "TRUE") return std::optional<bool>(true);
    if (*text == "false" || *text == "False" || *text == "FALSE") return std::optional<bool>(false);
    return Error(name, "expected true or false, found " + Shown(*text));
  }

  // Durations: `min_millis` is the smallest allowed; `whole_seconds` for fields stored in
  // seconds.
  StatusOr<std::optional<int64_t>> DurationMillis(std::string_view name, int64_t min_millis,
                                                  bool whole_seconds) const {
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "a duration like 15m"));
    if (!text) return std::optional<int64_t>();
    auto millis = policy_internal::ParseDurationMillis(*text);
    if (!millis.ok()) return Error(name, millis.status().message());
    if (whole_seconds && *millis % 1000 != 0) {
      return Error(name, "must be a whole number of seconds, found " + Shown(*text));
    }
    if (*millis < min_millis) {
      return Error(name, min_millis == 1 ? "must be positive, found " + Shown(*text)
                                         : "must be at least " +
                                               policy_internal::FormatDurationMillis(min_millis) +
                                               ", found " + Shown(*text));
    }
    return std::optional<int64_t>(*millis);
  }

  StatusOr<std::optional<uint64_t>> Bandwidth(std::string_view name) const {
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "a bandwidth like 100MB/s"));
    if (!text) return std::optional<uint64_t>();
    auto bytes = policy_internal::ParseBandwidth(*text);
    if (!bytes.ok()) return Error(name, bytes.status().message());
    return std::optional<uint64_t>(*bytes);
  }

  // One of `choices` (lower-case names) -> its enum value.
  template <typename E>
  StatusOr<std::optional<E>> Enum(
      std::string_view name, const std::vector<std::pair<std::string_view, E>>& choices) const {
    std::vector<std::string_view> names;
    for (const auto& c : choices) names.push_back(c.first);
    LIFEBOAT_ASSIGN_OR_RETURN(auto text, Text(name, "one of " + Join(names)));
    if (!text) return std::optional<E>();
    for (const auto& c : choices) {
      if (c.first == *text) return std::optional<E>(c.second);
    }
    return Error(name, "expected one of " + Join(names) + ", found " + Shown(*text));
  }

  // The items of a sequence field; an empty list when absent.
  StatusOr<std::vector<Item>> Items(std::string_view name) const {
    std::vector<Item> items;
    if (!Has(name)) return items;
    const YAML::Node& seq = Value(name);
    if (!seq.IsSequence()) return Error(name, "expected a sequence, found " + Describe(seq));
    size_t i = 0;
    for (auto it = seq.begin(); it != seq.end(); ++it, ++i) {
      items.push_back(Item{*it, Context::MarkOf(*it, ValueMark(name)),
                           Path(name) + "[" + std::to_string(i) + "]"});
      ctx_.Record(items.back().path, items.back().mark);
    }
    return items;
  }

  // The nested mapping of field `name`. Precondition: Has(name).
  StatusOr<Fields> Sub(std::string_view name, std::vector<std::string_view> known) const {
    return Read(ctx_, Value(name), ValueMark(name), Path(name), std::move(known));
  }

 private:
  struct Entry {
    std::string name;
    YAML::Node key;
    YAML::Node value;
  };

  Fields(const Context& ctx, const YAML::Node& node, const YAML::Mark& mark, std::string path)
      : ctx_(ctx), mark_(Context::MarkOf(node, mark)), path_(std::move(path)) {}

  const Entry* Find(std::string_view name) const {
    for (const Entry& e : entries_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }

  const Context& ctx_;
  YAML::Mark mark_;
  std::string path_;
  std::vector<Entry> entries_;
};

// ---- plugin configuration: any YAML mapping -> JSON text ---------------------------------

class JsonConverter {
 public:
  explicit JsonConverter(const Context& ctx) : ctx_(ctx) {}

  StatusOr<Json> Convert(const YAML::Node& node, const YAML::Mark& mark, const std::string& path) {
    ctx_.Record(path, mark);
    if (++nodes_ > kMaxConfigNodes) {
      return ctx_.Error(mark, path,
                        "the configuration has more than " + std::to_string(kMaxConfigNodes) +
                            " values (aliases included); a plugin's configuration is small");
    }
    switch (node.Type()) {
      case YAML::NodeType::Null:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node, mark, path);
      case YAML::NodeType::Sequence: {
        Json array = Json::array();
        size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i) {
          std::string item_path = path + "[" + std::to_string(i) + "]";
          LIFEBOAT_ASSIGN_OR_RETURN(Json item, Convert(*it, Context::MarkOf(*it, mark), item_path));
          array.push_back(std::move(item));
        }
        return array;
      }
      case YAML::NodeType::Map: {
        Json object = Json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          YAML::Node key_node = it->first;
          YAML::Node value_node = it->second;
          if (!key_node.IsScalar()) {
            return ctx_.Error(Context::MarkOf(key_node, mark), path,
                              "expected a key (text), found " + Describe(key_node));
          }
          std::string key = key_node.Scalar();
          std::string key_path = path + "." + key;
          if (object.contains(key)) return ctx_.Error(key_node.Mark(), key_path, "given twice");
          LIFEBOAT_ASSIGN_OR_RETURN(
              Json value,
              Convert(value_node, Context::MarkOf(value_node, key_node.Mark()), key_path));
          object[key] = std::move(value);
        }
        return object;
      }
      default:
        return ctx_.Error(mark, path, "expected a value, found " + Describe(node));
    }
  }

 private:
  // Quote-preserving: a quoted or block scalar (tag "!") is a string whatever it looks like;
  // a plain one (tag "?") resolves by the YAML 1.2 core schema; explicit !!str, !!int,
  // !!float, !!bool and !!null are honoured; other tags mean nothing in JSON.
  StatusOr<Json> Scalar(const YAML::Node& node, const YAML::Mark& mark, const std::string& path) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(text);
    auto resolved = policy_internal::ResolvePlainScalar(text);
    if (!resolved.ok()) return ctx_.Error(mark, path, resolved.status().message());
    if (tag == "?" || tag.empty()) return *resolved;
    auto wanted = [&](bool ok, std::string_view what) -> StatusOr<Json> {
      if (ok) return *resolved;
      return ctx_.Error(mark, path,
                        "tagged " + tag + " but " + Shown(text) + " is not " + std::string(what));
    };
    if (tag == "tag:yaml.org,2002:int") return wanted(resolved->is_number_integer(), "an integer");
    if (tag == "tag:yaml.org,2002:float") return wanted(resolved->is_number(), "a number");
    if (tag == "tag:yaml.org,2002:bool") return wanted(resolved->is_boolean(), "true or false");
    if (tag == "tag:yaml.org,2002:null") return wanted(resolved->is_null(), "null");
    return ctx_.Error(mark, path,
                      "unsupported tag '" + tag +
                          "'; use plain values, quotes, or !!str, !!int, "
                          "!!float, !!bool, !!null");
  }

  const Context& ctx_;
  size_t nodes_ = 0;
};

// ---- the three kinds -----------------------------------------------------------------------

StatusOr<v1::Cluster> ParseCluster(const Context& ctx, const Fields& f) {
  v1::Cluster cluster;
  LIFEBOAT_RETURN_IF_ERROR(f.Require({"name"}, "a Cluster"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto name, f.Name("name"));
  cluster.set_name(*name);
  LIFEBOAT_ASSIGN_OR_RETURN(auto description, f.String("description"));
  if (description) cluster.set_description(*description);

  if (f.Has("agent")) {
    LIFEBOAT_ASSIGN_OR_RETURN(Fields a, f.Sub("agent", {"address", "server_name"}));
    LIFEBOAT_RETURN_IF_ERROR(a.Require({"address"}, "an agent"));
    LIFEBOAT_ASSIGN_OR_RETURN(auto address, a.NonEmptyString("address"));
    const size_t colon = address->rfind(':');
    int port = 0;
    if (colon != std::string::npos && colon > 0) {
      auto [p, ec] =
          std::from_chars(address->data() + colon + 1, address->data() + address->size(), port);
      if (ec != std::errc() || p != address->data() + address->size()) port = 0;
    }
    if (port < 1 || port > 65535) {
      return a.Error("address",
                     "expected host:port with a port from 1 to 65535, found " + Shown(*address));
    }
    cluster.mutable_agent()->set_address(*address);
    LIFEBOAT_ASSIGN_OR_RETURN(auto server_name, a.NonEmptyString("server_name"));
    if (server_name) cluster.mutable_agent()->set_server_name(*server_name);
  }

  LIFEBOAT_ASSIGN_OR_RETURN(auto items, f.Items("components"));
  std::map<std::string, std::string> seen;  // component -> path of its first entry
  for (const Item& item : items) {
    LIFEBOAT_ASSIGN_OR_RETURN(Fields c, Fields::Read(ctx, item.node, item.mark, item.path,
                                                     {"component", "plugin", "config"}));
    LIFEBOAT_RETURN_IF_ERROR(c.Require({"component"}, "a cluster component"));
    v1::ClusterComponent* component = cluster.add_components();
    LIFEBOAT_ASSIGN_OR_RETURN(auto component_name, c.Name("component"));
    auto [first, inserted] = seen.emplace(*component_name, item.path);
    if (!inserted) {
      return c.Error("component",
                     Shown(*component_name) + " is listed twice (first in " + first->second + ")");
    }
    component->set_component(*component_name);
    LIFEBOAT_ASSIGN_OR_RETURN(auto plugin, c.Name("plugin"));
    component->set_plugin(plugin ? *plugin : *component_name);
    if (c.Has("config")) {
      const YAML::Node& config = c.Value("config");
      if (!config.IsMap()) {
        return c.Error("config",
                       "expected a mapping (the plugin's settings), found " + Describe(config));
      }
      JsonConverter converter(ctx);
      LIFEBOAT_ASSIGN_OR_RETURN(Json json,
                                converter.Convert(config, c.ValueMark("config"), c.Path("config")));
      component->set_config_json(json.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
  }
  return cluster;
}

StatusOr<v1::DataSetSpec> ParseDataSet(const Context& ctx, const Item& item) {
  v1::DataSetSpec spec;
  if (item.node.IsScalar()) {
    const std::string& text = item.node.Scalar();
    size_t colon = text.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
      return ctx.Error(
          item.mark, item.path,
          "expected 'component:selector' like localfs:/warehouse/sales, found " + Shown(text));
    }
    std::string component = text.substr(0, colon);
    if (!IsValidName(component)) {
      return ctx.Error(item.mark, item.path,
                       "component " + Shown(component) + " is not a valid name: " + NameRule());
    }
    spec.set_component(component);
    spec.set_selector(text.substr(colon + 1));
    return spec;
  }
  if (!item.node.IsMap()) {
    return ctx.Error(item.mark, item.path,
                     "expected 'component:selector' or a mapping with component and selector, "
                     "found " +
                         Describe(item.node));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Fields f, Fields::Read(ctx, item.node, item.mark, item.path,
                                                   {"component", "selector", "commit_stage"}));
  LIFEBOAT_RETURN_IF_ERROR(f.Require({"component", "selector"}, "a data set"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto component, f.Name("component"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto selector, f.NonEmptyString("selector"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto stage,
                            f.Integer("commit_stage", 0, std::numeric_limits<int32_t>::max()));
  spec.set_component(*component);
  spec.set_selector(*selector);
  if (stage) spec.set_commit_stage(static_cast<int32_t>(*stage));
  return spec;
}

StatusOr<v1::Service> ParseService(const Context& ctx, const Fields& f) {
  v1::Service service;
  LIFEBOAT_RETURN_IF_ERROR(f.Require({"name", "primary", "secondary", "data_sets"}, "a Service"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto name, f.Name("name"));
  service.set_name(*name);
  LIFEBOAT_ASSIGN_OR_RETURN(auto description, f.String("description"));
  if (description) service.set_description(*description);
  LIFEBOAT_ASSIGN_OR_RETURN(auto primary, f.Name("primary"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto secondary, f.Name("secondary"));
  if (*primary == *secondary) {
    return f.Error("secondary", "is the same cluster as primary (" + Shown(*primary) +
                                    "); a service is replicated to another cluster");
  }
  service.set_primary_cluster(*primary);
  service.set_secondary_cluster(*secondary);

  LIFEBOAT_ASSIGN_OR_RETURN(auto items, f.Items("data_sets"));
  if (items.empty()) {
    return f.Error("data_sets", "must list at least one data set, e.g. localfs:/warehouse/sales");
  }
  std::map<std::pair<std::string, std::string>, std::string> seen;  // -> first path
  for (const Item& item : items) {
    LIFEBOAT_ASSIGN_OR_RETURN(v1::DataSetSpec spec, ParseDataSet(ctx, item));
    auto [first, inserted] =
        seen.emplace(std::make_pair(spec.component(), spec.selector()), item.path);
    if (!inserted) {
      return ctx.Error(item.mark, item.path,
                       Shown(spec.component() + ":" + spec.selector()) +
                           " is listed twice (first as " + first->second + ")");
    }
    *service.add_data_sets() = std::move(spec);
  }

  // Endpoints: where applications reach the service on each cluster; the endpoint lookup
  // answers with the active cluster's.
  LIFEBOAT_ASSIGN_OR_RETURN(auto endpoints, f.Items("endpoints"));
  std::set<std::pair<std::string, std::string>> seen_endpoints;
  for (const Item& item : endpoints) {
    LIFEBOAT_ASSIGN_OR_RETURN(Fields e, Fields::Read(ctx, item.node, item.mark, item.path,
                                                     {"cluster", "name", "address"}));
    LIFEBOAT_RETURN_IF_ERROR(e.Require({"cluster", "name", "address"}, "an endpoint"));
    LIFEBOAT_ASSIGN_OR_RETURN(auto cluster, e.Name("cluster"));
    LIFEBOAT_ASSIGN_OR_RETURN(auto endpoint_name, e.Name("name"));
    LIFEBOAT_ASSIGN_OR_RETURN(auto address, e.NonEmptyString("address"));
    if (*cluster != *primary && *cluster != *secondary) {
      return e.Error("cluster", Shown(*cluster) + " is neither the service's primary (" +
                                    Shown(*primary) + ") nor its secondary (" + Shown(*secondary) +
                                    ")");
    }
    if (!seen_endpoints.emplace(*cluster, *endpoint_name).second) {
      return e.Error("name",
                     Shown(*endpoint_name) + " is listed twice for cluster " + Shown(*cluster));
    }
    v1::Endpoint* endpoint = service.add_endpoints();
    endpoint->set_cluster(*cluster);
    endpoint->set_name(*endpoint_name);
    endpoint->set_address(*address);
  }
  return service;
}

StatusOr<v1::Hook> ParseHook(const Context& ctx, const Item& item) {
  LIFEBOAT_ASSIGN_OR_RETURN(Fields f, Fields::Read(ctx, item.node, item.mark, item.path,
                                                   {"name", "kind", "pause", "resume", "timeout"}));
  LIFEBOAT_RETURN_IF_ERROR(f.Require({"name", "kind", "pause", "resume"}, "a hook"));
  v1::Hook hook;
  LIFEBOAT_ASSIGN_OR_RETURN(auto name, f.Name("name"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto kind, f.Name("kind"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto pause, f.NonEmptyString("pause"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto resume, f.NonEmptyString("resume"));
  if (*kind == "http") {
    for (std::string_view field : {"pause", "resume"}) {
      const std::string& url = field == "pause" ? *pause : *resume;
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return f.Error(field,
                       "an http hook POSTs to a URL (http:// or https://), found " + Shown(url));
      }
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto timeout,
                            f.DurationMillis("timeout", 1000, /*whole_seconds=*/true));
  hook.set_name(*name);
  hook.set_kind(*kind);
  hook.set_pause(*pause);
  hook.set_resume(*resume);
  hook.set_timeout_seconds(timeout ? *timeout / 1000 : kDefaultHookTimeoutSeconds);
  return hook;
}

// "2026-10-25T01:00:00Z".
std::string UtcTime(int64_t unix_nanos) {
  std::time_t t = static_cast<std::time_t>(unix_nanos / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Refuses an RPO that the cron schedule breaches by itself: one shorter than the longest gap
// between two runs in the coming year (a weekend, a night, an hour a clock change adds). An
// RPO equal to the gap is accepted, as for an interval.
Status CheckRpoAgainstCron(const Fields& f, const Schedule& runs, int64_t rpo_millis) {
  constexpr int64_t kNanosPerMilli = 1000000;
  constexpr int64_t kYearNanos = int64_t{366} * 86400 * 1000000000;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::optional<Schedule::Gap> longest;
  int64_t limit = rpo_millis * kNanosPerMilli;
  int64_t from = now;
  // Each round finds a gap longer than every one found before, so this ends.
  while (auto gap = runs.FirstGapLongerThan(limit, from, now + kYearNanos, now)) {
    longest = gap;
    if (gap->to_unix_nanos == std::numeric_limits<int64_t>::max()) break;
    limit = gap->to_unix_nanos - gap->from_unix_nanos;
    from = gap->to_unix_nanos - 1;
  }
  if (!longest) return OkStatus();
  const std::string rpo = policy_internal::FormatDurationMillis(rpo_millis);
  if (longest->to_unix_nanos == std::numeric_limits<int64_t>::max()) {
    return f.Error("rpo", rpo + " can never be met: the schedule does not run after " +
                              UtcTime(longest->from_unix_nanos));
  }
  const std::string gap = policy_internal::FormatDurationMillis(
      (longest->to_unix_nanos - longest->from_unix_nanos) / kNanosPerMilli);
  return f.Error("rpo",
                 rpo + " is shorter than the " + gap + " the schedule leaves between its runs at " +
                     UtcTime(longest->from_unix_nanos) + " and " + UtcTime(longest->to_unix_nanos) +
                     ": the RPO would be breached by the schedule alone; set rpo to at "
                     "least " +
                     gap + " or run more often");
}

StatusOr<v1::Policy> ParsePolicy(const Context& ctx, const Fields& f) {
  v1::Policy policy;
  LIFEBOAT_RETURN_IF_ERROR(f.Require({"name", "service", "schedule"}, "a Policy"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto name, f.Name("name"));
  policy.set_name(*name);
  LIFEBOAT_ASSIGN_OR_RETURN(auto service, f.Name("service"));
  policy.set_service(*service);

  // schedule
  LIFEBOAT_ASSIGN_OR_RETURN(Fields schedule, f.Sub("schedule", {"cron", "interval", "time_zone"}));
  if (schedule.Has("cron") && schedule.Has("interval")) {
    return ctx.Error(schedule.Mark(), "schedule", "give either cron or interval, not both");
  }
  if (!schedule.Has("cron") && !schedule.Has("interval")) {
    return ctx.Error(schedule.Mark(), "schedule",
                     "give cron (like \"0 * * * *\") or interval (like 15m)");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto cron, schedule.NonEmptyString("cron"));
  LIFEBOAT_ASSIGN_OR_RETURN(auto interval,
                            schedule.DurationMillis("interval", 1000, /*whole_seconds=*/true));
  LIFEBOAT_ASSIGN_OR_RETURN(auto time_zone, schedule.NonEmptyString("time_zone"));
  if (cron) policy.mutable_schedule()->set_cron(*cron);
  if (interval) policy.mutable_schedule()->set_interval_seconds(*interval / 1000);
  if (time_zone) policy.mutable_schedule()->set_time_zone(*time_zone);
  // The scheduler's own parser, so that what is accepted here is what runs.
  StatusOr<Schedule> runs = Schedule::Create(policy.schedule());
  if (!runs.ok()) {
    const bool zone = runs.status().subject() == "schedule.time_zone";
    return schedule.Error(zone ? "time_zone" : cron ? "cron" : "interval", runs.status().message());
  }

  LIFEBOAT_ASSIGN_OR_RETURN(auto rpo, f.DurationMillis("rpo", 1000, /*whole_seconds=*/true));
  if (rpo) policy.set_rpo_seconds(*rpo / 1000);
  if (rpo && cron) LIFEBOAT_RETURN_IF_ERROR(CheckRpoAgainstCron(f, *runs, *rpo));

  // retention
  uint32_t keep = kDefaultKeep;
  int64_t max_age_seconds = 0;
  if (f.Has("retention")) {
    LIFEBOAT_ASSIGN_OR_RETURN(Fields retention, f.Sub("retention", {"keep", "max_age"}));
    LIFEBOAT_ASSIGN_OR_RETURN(auto keep_field,
                              retention.Integer("keep", 0, std::numeric_limits<uint32_t>::max()));
    LIFEBOAT_ASSIGN_OR_RETURN(auto max_age,
                              retention.DurationMillis("max_age", 0, /*whole_seconds=*/true));
    if (keep_field) keep = static_cast<uint32_t>(*keep_field);
    if (max_age) max_age_seconds = *max_age / 1000;
    if (keep == 0 && max_age_seconds == 0) {
      return ctx.Error(retention.Mark(), "retention",
                       "keeps nothing: keep is 0 and max_age is not set; set keep to 1 or more, "
                       "or give max_age");
    }
  }
  policy.mutable_retention()->set_keep_count(keep);
  policy.mutable_retention()->set_keep_age_seconds(max_age_seconds);

  LIFEBOAT_ASSIGN_OR_RETURN(
      auto consistency, f.Enum<v1::ConsistencyMode>("consistency", {{"crash", v1::CRASH},
                                                                    {"aligned", v1::ALIGNED},
                                                                    {"quiesced", v1::QUIESCED}}));
  policy.set_consistency(consistency ? *consistency : v1::CRASH);

  LIFEBOAT_ASSIGN_OR_RETURN(auto skew,
                            f.DurationMillis("max_clock_skew", 1, /*whole_seconds=*/false));
  policy.set_max_clock_skew_millis(skew ? *skew : kDefaultMaxClockSkewMillis);

  LIFEBOAT_ASSIGN_OR_RETURN(auto bandwidth, f.Bandwidth("bandwidth"));
  if (bandwidth) policy.set_bandwidth_bytes_per_second(*bandwidth);

  LIFEBOAT_ASSIGN_OR_RETURN(auto parallelism, f.Integer("parallelism", 1, kMaxParallelism));
  policy.set_parallelism(parallelism ? static_cast<uint32_t>(*parallelism) : kDefaultParallelism);

  LIFEBOAT_ASSIGN_OR_RETURN(
      auto verification,
      f.Enum<v1::VerificationLevel>(
          "verification",
          {{"none", v1::VERIFY_NONE}, {"size", v1::VERIFY_SIZE}, {"digest", v1::VERIFY_DIGEST}}));
  policy.set_verification(verification ? *verification : v1::VERIFY_DIGEST);

  LIFEBOAT_ASSIGN_OR_RETURN(
      auto transfer, f.Enum<v1::TransferMode>(
                         "transfer", {{"pull", v1::TRANSFER_PULL}, {"push", v1::TRANSFER_PUSH}}));
  // Left unspecified when absent (= pull), so that a policy renders back as it was written.
  if (transfer) policy.set_transfer(*transfer);

  LIFEBOAT_ASSIGN_OR_RETURN(auto sync_security, f.Bool("sync_security"));
  policy.set_sync_security(sync_security.value_or(false));
  if (f.Has("name_map")) {
    if (!policy.sync_security()) {
      return f.Error("name_map", "has no effect without sync_security: true");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(Fields nm, f.Sub("name_map", {"users", "groups"}));
    for (const char* which : {"users", "groups"}) {
      if (!nm.Has(which)) continue;
      const YAML::Node& node = nm.Value(which);
      if (!node.IsMap()) {
        return nm.Error(
            which, "expected a mapping of primary name: secondary name, found " + Describe(node));
      }
      auto* out = std::string_view(which) == "users" ? policy.mutable_user_map()
                                                     : policy.mutable_group_map();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar() || !kv.second.IsScalar() || kv.first.Scalar().empty() ||
            kv.second.Scalar().empty()) {
          return nm.Error(which, "every entry must map a name to a name, e.g. etl: etl_dr");
        }
        (*out)[kv.first.Scalar()] = kv.second.Scalar();
      }
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto priority,
                            f.Integer("priority", 0, std::numeric_limits<int32_t>::max()));
  policy.set_priority(static_cast<int32_t>(priority.value_or(0)));
  LIFEBOAT_ASSIGN_OR_RETURN(auto paused, f.Bool("paused"));
  policy.set_paused(paused.value_or(false));

  LIFEBOAT_ASSIGN_OR_RETURN(auto hook_items, f.Items("hooks"));
  std::map<std::string, std::string> hook_names;  // name -> path of the first
  for (const Item& item : hook_items) {
    LIFEBOAT_ASSIGN_OR_RETURN(v1::Hook hook, ParseHook(ctx, item));
    auto [first, inserted] = hook_names.emplace(hook.name(), item.path);
    if (!inserted) {
      return ctx.Error(item.mark, item.path + ".name",
                       Shown(hook.name()) + " is used twice (first in " + first->second + ")");
    }
    *policy.add_hooks() = std::move(hook);
  }

  // Contradictions between fields.
  if (policy.consistency() == v1::QUIESCED && policy.hooks_size() == 0) {
    return f.Error("consistency",
                   "quiesced needs at least one hook (under hooks) to pause and resume the "
                   "service's writers");
  }
  if (policy.consistency() != v1::QUIESCED && policy.hooks_size() > 0) {
    return ctx.Error(f.KeyMark("hooks"), "hooks",
                     "hooks pause writers only in the quiesced mode, and this policy is " +
                         std::string(policy.consistency() == v1::ALIGNED ? "aligned" : "crash") +
                         "; set consistency: quiesced or remove the hooks");
  }
  if (rpo && interval && *rpo < *interval) {
    return f.Error("rpo", policy_internal::FormatDurationMillis(*rpo) +
                              " is shorter than the schedule's interval of " +
                              policy_internal::FormatDurationMillis(*interval) +
                              ": the RPO could never be met");
  }
  return policy;
}

constexpr std::string_view kKinds = "Cluster, Service, Policy";

StatusOr<YamlDocument> ParseDocument(const Context& ctx, const YAML::Node& root,
                                     const std::string& file) {
  YAML::Mark start = root.Mark();
  if (!root.IsMap()) {
    return ctx.Error(
        start, "(document)",
        "expected a mapping with a kind (" + std::string(kKinds) + "), found " + Describe(root));
  }
  std::optional<std::pair<YAML::Node, YAML::Node>> kind_entry;
  for (auto it = root.begin(); it != root.end() && !kind_entry; ++it) {
    YAML::Node key = it->first;
    if (key.IsScalar() && key.Scalar() == "kind") kind_entry.emplace(key, YAML::Node(it->second));
  }
  if (!kind_entry) {
    return ctx.Error(start, "kind", "missing; give one of " + std::string(kKinds));
  }
  const YAML::Node& kind_node = kind_entry->second;
  std::string kind = kind_node.IsScalar() ? kind_node.Scalar() : std::string();
  YamlDocument doc;
  doc.file = file;
  doc.line = start.line + 1;
  if (kind == "Cluster") {
    LIFEBOAT_ASSIGN_OR_RETURN(
        Fields f,
        Fields::Read(ctx, root, start, "", {"kind", "name", "description", "agent", "components"}));
    LIFEBOAT_ASSIGN_OR_RETURN(doc.value, ParseCluster(ctx, f));
  } else if (kind == "Service") {
    LIFEBOAT_ASSIGN_OR_RETURN(Fields f, Fields::Read(ctx, root, start, "",
                                                     {"kind", "name", "description", "primary",
                                                      "secondary", "data_sets", "endpoints"}));
    LIFEBOAT_ASSIGN_OR_RETURN(doc.value, ParseService(ctx, f));
  } else if (kind == "Policy") {
    LIFEBOAT_ASSIGN_OR_RETURN(
        Fields f,
        Fields::Read(ctx, root, start, "",
                     {"kind", "name", "service", "schedule", "rpo", "retention", "consistency",
                      "max_clock_skew", "bandwidth", "parallelism", "verification", "sync_security",
                      "name_map", "priority", "paused", "hooks", "transfer"}));
    LIFEBOAT_ASSIGN_OR_RETURN(doc.value, ParsePolicy(ctx, f));
  } else {
    YAML::Mark at = Context::MarkOf(kind_node, kind_entry->first.Mark());
    if (!kind_node.IsScalar()) {
      return ctx.Error(at, "kind",
                       "expected one of " + std::string(kKinds) + ", found " + Describe(kind_node));
    }
    return ctx.Error(at, "kind",
                     "unknown kind " + Shown(kind) + "; known kinds: " + std::string(kKinds));
  }
  return doc;
}

std::string NameOf(const YamlDocument& doc) {
  return std::visit([](const auto& message) { return message.name(); }, doc.value);
}

std::string KindOf(const YamlDocument& doc) {
  switch (doc.value.index()) {
    case 0:
      return "Cluster";
    case 1:
      return "Service";
    default:
      return "Policy";
  }
}

StatusOr<std::vector<YamlDocument>> ParseAll(Context& ctx, const std::string& text,
                                             const std::string& file) {
  std::vector<YAML::Node> roots;
  // yaml-cpp 0.7's LoadAll never returns on some streams (yaml_guard.h): refuse those first.
  LIFEBOAT_RETURN_IF_ERROR(CheckYamlTerminates(text, file));
  try {
    roots = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return ctx.Error(e.mark, "(syntax)", e.msg);
  }
  std::vector<YamlDocument> docs;
  std::map<std::pair<std::string, std::string>, YAML::Node> names;  // (kind, name) -> name node
  for (const YAML::Node& root : roots) {
    // An empty document (a trailing "---", a file of comments) holds nothing to apply.
    if (root.IsNull()) continue;
    std::map<std::string, YamlPosition> positions;
    ctx.RecordInto(&positions);
    auto parsed = ParseDocument(ctx, root, file);
    ctx.RecordInto(nullptr);
    if (!parsed.ok()) return parsed.status();
    YamlDocument doc = std::move(parsed).value();
    doc.positions = std::move(positions);
    auto [first, inserted] = names.emplace(std::make_pair(KindOf(doc), NameOf(doc)), root["name"]);
    if (!inserted) {
      return ctx.Error(root["name"].Mark(), "name",
                       "a " + KindOf(doc) + " named " + Shown(NameOf(doc)) +
                           " is already defined in this file (line " +
                           std::to_string(first->second.Mark().line + 1) + ")");
    }
    docs.push_back(std::move(doc));
  }
  if (docs.empty()) {
    return ctx.Error(YAML::Mark(), "(document)",
                     "no document found; expected at least one with kind " + std::string(kKinds));
  }
  return docs;
}

Status TooLarge(const std::string& file, uintmax_t size) {
  return InvalidArgumentError(
      file + ": " + std::to_string(size) + " bytes is too large for a policy file (the limit is " +
      std::to_string(kMaxYamlFileBytes) + " bytes, 16 MiB); is this the file you meant?");
}

}  // namespace

std::string YamlDocument::Place(const std::string& field) const {
  std::string path = field;
  while (!path.empty()) {
    auto it = positions.find(path);
    if (it != positions.end()) {
      return file + ":" + std::to_string(it->second.line) + ":" + std::to_string(it->second.column);
    }
    // The parent: "a.b[2]" -> "a.b" -> "a".
    const size_t cut = path.find_last_of(".[");
    path = cut == std::string::npos ? std::string() : path.substr(0, cut);
  }
  if (line > 0) return file + ":" + std::to_string(line) + ":1";
  return file;
}

std::string YamlDocument::Where(const std::string& field) const {
  std::string place = Place(field);
  return place.empty() ? field : place + ": " + field;
}

Status YamlDocument::Error(Code code, const std::string& field, const std::string& why) const {
  return Status(code, Where(field) + ": " + why);  // the position says the field
}

std::string YamlDocument::Kind() const {
  switch (value.index()) {
    case 0:
      return "Cluster";
    case 1:
      return "Service";
    default:
      return "Policy";
  }
}

const std::string& YamlDocument::Name() const {
  return std::visit([](const auto& message) -> const std::string& { return message.name(); },
                    value);
}

Status CheckDistinct(const std::vector<YamlDocument>& docs) {
  std::map<std::pair<std::string, std::string>, const YamlDocument*> seen;
  for (const YamlDocument& doc : docs) {
    auto [first, inserted] = seen.emplace(std::make_pair(doc.Kind(), doc.Name()), &doc);
    if (inserted) continue;
    const std::string there = first->second->Place("name");
    return doc.Error(Code::kInvalidArgument, "name",
                     "a " + doc.Kind() + " named " + Shown(doc.Name()) +
                         " is defined twice: here and at " + there +
                         "; define each object once (which one is meant?)");
  }
  return OkStatus();
}

StatusOr<std::vector<YamlDocument>> ParseYaml(const std::string& text, const std::string& file) {
  Context ctx(file);
  if (text.size() > kMaxYamlFileBytes) return TooLarge(file, text.size());
  try {
    return ParseAll(ctx, text, file);
  } catch (const YAML::Exception& e) {
    return ctx.Error(e.mark, "(yaml)", e.msg);
  } catch (const std::exception& e) {
    return InternalError(file + ": unexpected failure while reading YAML: " + e.what());
  }
}

StatusOr<std::vector<YamlDocument>> LoadYamlFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    return NotFoundError(path + ": no such file");
  }
  if (ec) return InternalError(path + ": cannot read: " + ec.message());
  if (fs::is_directory(status)) {
    return InvalidArgumentError(path + ": is a directory; expected a YAML file");
  }
  uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxYamlFileBytes) return TooLarge(path, size);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string message = path + ": cannot read: " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(message);
    if (err == EACCES || err == EPERM) return PermissionDeniedError(message);
    return InternalError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InternalError(path + ": read failed");
  return ParseYaml(text.str(), path);
}

}  // namespace lifeboat::core
