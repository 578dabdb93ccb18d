#include <lifeboat/core/api/metrics.h>

#include <charconv>
#include <cmath>
#include <set>

namespace lifeboat::core::api {
namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    default:
      return "untyped";
  }
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;  // "__" is reserved for Prometheus
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integers up to 2^53 are exact in a double; print them without exponent or fraction.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

Status MetricsWriter::Add(const std::string& name, const std::string& help, MetricType type,
                          std::vector<MetricSample> samples) {
  if (!IsValidMetricName(name)) {
    return InvalidArgumentError("metric name '" + name +
                                "' is not valid; use letters, digits, '_' and ':', not starting "
                                "with a digit");
  }
  for (const MetricSample& sample : samples) {
    std::set<std::string> seen;
    for (const auto& [label, value] : sample.labels) {
      if (!IsValidLabelName(label)) {
        return InvalidArgumentError("metric " + name + ": label name '" + label +
                                    "' is not valid; use letters, digits and '_', not starting "
                                    "with a digit or \"__\"");
      }
      if (!seen.insert(label).second) {
        return InvalidArgumentError("metric " + name + ": label '" + label +
                                    "' appears twice in one sample");
      }
    }
  }
  for (Family& family : families_) {
    if (family.name != name) continue;
    if (family.type != type || family.help != help) {
      return InvalidArgumentError("metric " + name + " was added already as a " +
                                  TypeName(family.type) + " with help '" + family.help +
                                  "'; one family has one type and one help text");
    }
    for (MetricSample& s : samples) family.samples.push_back(std::move(s));
    return OkStatus();
  }
  families_.push_back(Family{name, help, type, std::move(samples)});
  return OkStatus();
}

std::string MetricsWriter::Render() const {
  std::string out;
  for (const Family& family : families_) {
    out += "# HELP " + family.name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + family.name + " " + TypeName(family.type) + "\n";
    for (const MetricSample& sample : family.samples) {
      out += family.name;
      if (!sample.labels.empty()) {
        out += "{";
        for (size_t i = 0; i < sample.labels.size(); ++i) {
          if (i > 0) out += ",";
          out += sample.labels[i].first + "=\"" + EscapeLabelValue(sample.labels[i].second) + "\"";
        }
        out += "}";
      }
      out += " " + FormatMetricValue(sample.value) + "\n";
    }
  }
  return out;
}

}  // namespace lifeboat::core::api
