#include "filters.h"

#include <google/protobuf/descriptor.h>

#include <charconv>
#include <cstdint>
#include <ctime>
#include <optional>
#include <vector>

namespace lifeboat::core::api {
namespace {

using google::protobuf::EnumDescriptor;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The short names of an enum's values ("failed" for JOB_FAILED), its zero value left out.
std::vector<std::string> ShortNames(const EnumDescriptor* e, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0) continue;
    std::string name = e->value(i)->name();
    if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
    out.push_back(Lower(name));
  }
  return out;
}

// "a,b" -> {a, b}, each one of `allowed`.
StatusOr<std::set<std::string>> OneOf(const std::map<std::string, std::string>& query,
                                      const char* param, const std::vector<std::string>& allowed) {
  std::set<std::string> out;
  auto it = query.find(param);
  if (it == query.end()) return out;
  std::string list = it->second;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string value = Lower(list.substr(start, comma - start));
    bool known = false;
    for (const auto& a : allowed) known = known || a == value;
    if (!known) {
      std::string names;
      for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
      return InvalidArgumentError("query parameter " + std::string(param) + ": '" +
                                  value.substr(0, 40) + "' is not one of " + names);
    }
    out.insert(value);
    start = comma + 1;
  }
  return out;
}

StatusOr<int64_t> SinceOf(const std::map<std::string, std::string>& query, int64_t now) {
  auto it = query.find("since");
  if (it == query.end()) return int64_t{0};
  return ParseSince(it->second, now);
}

bool Parse2(std::string_view s, size_t at, int& out) {
  if (at + 2 > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + at, s.data() + at + 2, out);
  return ec == std::errc() && end == s.data() + at + 2;
}

// RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); nullopt when it is not one.
std::optional<int64_t> ParseRfc3339(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int year = 0;
  auto [yend, yec] = std::from_chars(s.data(), s.data() + 4, year);
  if (yec != std::errc() || yend != s.data() + 4) return std::nullopt;
  int mon, day, hour, min, sec;
  if (!Parse2(s, 5, mon) || !Parse2(s, 8, day) || !Parse2(s, 11, hour) || !Parse2(s, 14, min) ||
      !Parse2(s, 17, sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  int64_t nanos = 0;
  if (at < s.size() && s[at] == '.') {
    int64_t scale = 100000000;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, scale /= 10) {
      nanos += (s[at] - '0') * scale;
    }
  }
  int64_t offset = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) {
    offset = 0;
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    int oh, om;
    if (!Parse2(s, at + 1, oh) || !Parse2(s, at + 4, om)) return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[at] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset;
  // Nanoseconds since 1970 in an int64 end in 2262: a later time is after every record.
  if (seconds > INT64_MAX / 1000000000 - 1) return INT64_MAX;
  if (seconds < 0) return 0;
  return seconds * 1000000000 + nanos;
}

}  // namespace

StatusOr<int64_t> ParseSince(const std::string& text, int64_t now) {
  if (auto t = ParseRfc3339(text)) return *t;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string unit(end, text.data() + text.size());
  int64_t seconds = 0;
  if (unit == "s") seconds = 1;
  if (unit == "m") seconds = 60;
  if (unit == "h") seconds = 3600;
  if (unit == "d") seconds = 86400;
  if (unit == "w") seconds = 7 * 86400;
  if (ec != std::errc() || end == text.data() || n < 0 || seconds == 0 ||
      n > INT64_MAX / 1000000000 / seconds) {
    return InvalidArgumentError("since='" + text.substr(0, 40) +
                                "' is neither an age (90s, 30m, 12h, 7d, 2w) nor a time "
                                "(2026-11-25T09:45:00Z)");
  }
  return now - n * seconds * 1000000000;
}

StatusOr<ListFilter> JobFilter(const std::map<std::string, std::string>& query, int64_t now) {
  ListFilter f;
  if (auto it = query.find("service"); it != query.end()) f.service = it->second;
  LIFEBOAT_ASSIGN_OR_RETURN(f.states,
                            OneOf(query, "state", ShortNames(v1::JobState_descriptor(), "JOB_")));
  LIFEBOAT_ASSIGN_OR_RETURN(f.kinds,
                            OneOf(query, "kind", ShortNames(v1::JobKind_descriptor(), "JOB_")));
  LIFEBOAT_ASSIGN_OR_RETURN(f.since_unix_nanos, SinceOf(query, now));
  return f;
}

StatusOr<ListFilter> EventFilter(const std::map<std::string, std::string>& query, int64_t now) {
  ListFilter f;
  if (auto it = query.find("service"); it != query.end()) f.service = it->second;
  if (auto it = query.find("job"); it != query.end()) f.job_id = it->second;
  LIFEBOAT_ASSIGN_OR_RETURN(
      f.severities,
      OneOf(query, "severity", ShortNames(v1::EventSeverity_descriptor(), "SEVERITY_")));
  LIFEBOAT_ASSIGN_OR_RETURN(f.kinds,
                            OneOf(query, "kind", ShortNames(v1::EventKind_descriptor(), "EVENT_")));
  LIFEBOAT_ASSIGN_OR_RETURN(f.since_unix_nanos, SinceOf(query, now));
  return f;
}

StatusOr<ListFilter> AuditFilter(const std::map<std::string, std::string>& query, int64_t now) {
  ListFilter f;
  LIFEBOAT_ASSIGN_OR_RETURN(f.since_unix_nanos, SinceOf(query, now));
  return f;
}

bool Matches(const ListFilter& f, const v1::Job& job) {
  if (!f.service.empty()) {
    bool named = job.service() == f.service;
    for (const auto& s : job.switch_spec().services()) named = named || s == f.service;
    if (!named) return false;
  }
  auto short_name = [](const std::string& name, const char* prefix) {
    return Lower(name.rfind(prefix, 0) == 0 ? name.substr(std::string(prefix).size()) : name);
  };
  if (!f.states.empty() && !f.states.count(short_name(v1::JobState_Name(job.state()), "JOB_"))) {
    return false;
  }
  if (!f.kinds.empty() && !f.kinds.count(short_name(v1::JobKind_Name(job.kind()), "JOB_"))) {
    return false;
  }
  return job.created_unix_nanos() >= f.since_unix_nanos;
}

bool Matches(const ListFilter& f, const v1::Event& event) {
  if (!f.service.empty() && event.service() != f.service) return false;
  if (!f.job_id.empty() && event.job_id() != f.job_id) return false;
  if (!f.severities.empty() && !f.severities.count(event.severity())) return false;
  if (!f.kinds.empty() && !f.kinds.count(event.kind())) return false;
  return event.time_unix_nanos() >= f.since_unix_nanos;
}

bool Matches(const ListFilter& f, const v1::AuditEvent& audit) {
  return audit.time_unix_nanos() >= f.since_unix_nanos;
}

}  // namespace lifeboat::core::api
