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
    case MetricType::kHistogram:
      return "histogram";
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

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i]++;
  sum_ += value;
  count_++;
}

Status MetricsWriter::Add(const std::string& name, const std::string& help, MetricType type,
                          std::vector<MetricSample> samples) {
  if (type == MetricType::kHistogram) {
    return InvalidArgumentError("metric " + name + ": add a histogram with AddHistogram");
  }
  std::vector<Row> rows;
  rows.reserve(samples.size());
  for (MetricSample& sample : samples) rows.push_back(Row{"", std::move(sample)});
  return AddRows(name, help, type, std::move(rows));
}

Status MetricsWriter::AddHistogram(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, Histogram>>&
        series) {
  std::vector<Row> rows;
  for (const auto& [labels, h] : series) {
    for (const auto& [label, value] : labels) {
      if (label == "le") {
        return InvalidArgumentError("metric " + name +
                                    ": a histogram series cannot have a label named le");
      }
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h.bounds().size(); ++i) {
      cumulative += h.counts()[i];
      MetricSample s{labels, static_cast<double>(cumulative)};
      s.labels.emplace_back("le",
                            i < h.bounds().size() ? FormatMetricValue(h.bounds()[i]) : "+Inf");
      rows.push_back(Row{"_bucket", std::move(s)});
    }
    rows.push_back(Row{"_sum", MetricSample{labels, h.sum()}});
    rows.push_back(Row{"_count", MetricSample{labels, static_cast<double>(h.count())}});
  }
  return AddRows(name, help, MetricType::kHistogram, std::move(rows));
}

Status MetricsWriter::AddRows(const std::string& name, const std::string& help, MetricType type,
                              std::vector<Row> rows) {
  if (!IsValidMetricName(name)) {
    return InvalidArgumentError("metric name '" + name +
                                "' is not valid; use letters, digits, '_' and ':', not starting "
                                "with a digit");
  }
  for (const Row& row : rows) {
    std::set<std::string> seen;
    for (const auto& [label, value] : row.sample.labels) {
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
    for (Row& r : rows) family.rows.push_back(std::move(r));
    return OkStatus();
  }
  families_.push_back(Family{name, help, type, std::move(rows)});
  return OkStatus();
}

std::string MetricsWriter::Render() const {
  std::string out;
  for (const Family& family : families_) {
    out += "# HELP " + family.name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + family.name + " " + TypeName(family.type) + "\n";
    for (const Row& row : family.rows) {
      const MetricSample& sample = row.sample;
      out += family.name + row.suffix;
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
