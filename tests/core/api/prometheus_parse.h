// A strict reader of the Prometheus text format 0.0.4, for tests: it reads /metrics back
// and refuses what a scraper would refuse (a sample before its TYPE, a family split in two,
// a repeated HELP or TYPE, bad escapes, bad numbers).
#ifndef LIFEBOAT_TESTS_CORE_API_PROMETHEUS_PARSE_H_
#define LIFEBOAT_TESTS_CORE_API_PROMETHEUS_PARSE_H_

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace lifeboat::testing {

struct ParsedSample {
  std::string name;  // the family's, or for a histogram <family>_bucket, _sum or _count
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct ParsedFamily {
  std::string help;
  std::string type;
  std::vector<ParsedSample> samples;
};

struct ParsedMetrics {
  std::map<std::string, ParsedFamily> families;
  std::string error;  // empty when the text parsed

  // The value of the sample of `family` with exactly these labels; nullopt when absent.
  std::optional<double> Value(const std::string& family,
                              const std::map<std::string, std::string>& labels) const {
    return Sample(family, family, labels);
  }
  // A histogram's sample: Value of `family` + "_bucket" (le in `labels`), "_sum", "_count".
  std::optional<double> Sample(const std::string& family, const std::string& name,
                               const std::map<std::string, std::string>& labels) const {
    auto it = families.find(family);
    if (it == families.end()) return std::nullopt;
    for (const auto& s : it->second.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
};

inline bool MetricNameOk(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

inline std::optional<double> ParseValue(const std::string& text) {
  if (text == "NaN") return std::nan("");
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

inline ParsedMetrics ParsePrometheusText(const std::string& text) {
  ParsedMetrics out;
  std::istringstream in(text);
  std::string line;
  std::set<std::string> closed;  // families whose samples ended (a later one is a split)
  std::string current;
  int number = 0;
  auto fail = [&](const std::string& why) {
    out.error = "line " + std::to_string(number) + ": " + why + ": '" + line + "'";
    return out;
  };
  if (!text.empty() && text.back() != '\n') {
    out.error = "the text does not end with a newline";
    return out;
  }
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a comment
      if (!MetricNameOk(name)) return fail("bad metric name in " + keyword);
      const size_t start = line.find(name, 2 + keyword.size()) + name.size();
      std::string rest = start < line.size() ? line.substr(start + 1) : "";
      ParsedFamily& f = out.families[name];
      if (name != current && closed.count(name)) return fail("family split in two");
      if (current != name) {
        if (!current.empty()) closed.insert(current);
        current = name;
      }
      if (keyword == "HELP") {
        if (!f.help.empty()) return fail("second HELP");
        std::string help;
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\') {
            if (i + 1 >= rest.size()) return fail("dangling backslash in HELP");
            char n = rest[++i];
            if (n == '\\') {
              help += '\\';
            } else if (n == 'n') {
              help += '\n';
            } else {
              return fail("bad escape in HELP");
            }
          } else {
            help += rest[i];
          }
        }
        f.help = help;
      } else {
        if (!f.type.empty()) return fail("second TYPE");
        if (!f.samples.empty()) return fail("TYPE after samples");
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(rest)) return fail("unknown type");
        f.type = rest;
      }
      continue;
    }
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    if (!MetricNameOk(name)) return fail("bad metric name");
    auto fam = out.families.find(name);
    // A histogram's samples are named <family>_bucket, <family>_sum and <family>_count.
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (fam != out.families.end() || name.size() <= sfx.size() ||
          name.compare(name.size() - sfx.size(), sfx.size(), sfx) != 0) {
        continue;
      }
      auto h = out.families.find(name.substr(0, name.size() - sfx.size()));
      if (h != out.families.end() && h->second.type == "histogram") fam = h;
    }
    if (fam == out.families.end() || fam->second.type.empty()) return fail("sample before TYPE");
    if (fam->first != current) return fail("sample away from its family");
    if (fam->second.type == "histogram" && fam->first == name) {
      return fail("a histogram sample without _bucket, _sum or _count");
    }
    ParsedSample sample;
    sample.name = name;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail("label without '='");
        std::string label = line.substr(i, eq - i);
        if (label.empty() || label.rfind("__", 0) == 0) return fail("bad label name");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return fail("label value not quoted");
        ++i;
        std::string value;
        bool closed_quote = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '\\') {
            if (i >= line.size()) return fail("dangling backslash");
            char n = line[i++];
            if (n == '\\') {
              value += '\\';
            } else if (n == '"') {
              value += '"';
            } else if (n == 'n') {
              value += '\n';
            } else {
              return fail("bad escape in a label value");
            }
          } else if (c == '"') {
            closed_quote = true;
            break;
          } else {
            value += c;
          }
        }
        if (!closed_quote) return fail("unterminated label value");
        if (!sample.labels.emplace(label, value).second) return fail("repeated label");
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    std::string rest = line.substr(i + 1);
    std::string value_text = rest.substr(0, rest.find(' '));
    auto v = ParseValue(value_text);
    if (!v) return fail("bad value");
    sample.value = *v;
    fam->second.samples.push_back(sample);
  }
  return out;
}

}  // namespace lifeboat::testing

#endif  // LIFEBOAT_TESTS_CORE_API_PROMETHEUS_PARSE_H_
