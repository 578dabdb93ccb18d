// The filters of the list routes (GET /v1/jobs, /v1/events, /v1/audit): ?service=, ?state=,
// ?kind=, ?severity=, ?job=, ?since=. Values of state, kind and severity are the short names
// the records show ("failed", "backup", "warning"), several separated by commas.
//
// Thread-safety: functions only; a ListFilter is a value.
#ifndef LIFEBOAT_CORE_SRC_API_FILTERS_H_
#define LIFEBOAT_CORE_SRC_API_FILTERS_H_

#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace lifeboat::core::api {

struct ListFilter {
  std::string service;               // "" = any
  std::set<std::string> states;      // jobs: JobState short names; empty = any
  std::set<std::string> kinds;       // jobs: JobKind; events: EventKind
  std::set<std::string> severities;  // events: EventSeverity
  std::string job_id;                // events: about this job
  int64_t since_unix_nanos = 0;      // made (jobs), happened (events, audit) at or after
};

// "2026-11-25T09:45:00Z" (RFC 3339, UTC or with an offset), or an age back from `now`:
// "90s", "30m", "12h", "7d", "2w". INVALID_ARGUMENT saying what is accepted.
StatusOr<int64_t> ParseSince(const std::string& text, int64_t now_unix_nanos);

// The filter of a list route from its query (the parameters the route accepts were checked
// already). INVALID_ARGUMENT naming the parameter and the values it takes.
StatusOr<ListFilter> JobFilter(const std::map<std::string, std::string>& query, int64_t now);
StatusOr<ListFilter> EventFilter(const std::map<std::string, std::string>& query, int64_t now);
StatusOr<ListFilter> AuditFilter(const std::map<std::string, std::string>& query, int64_t now);

bool Matches(const ListFilter& f, const v1::Job& job);
bool Matches(const ListFilter& f, const v1::Event& event);
bool Matches(const ListFilter& f, const v1::AuditEvent& audit);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_SRC_API_FILTERS_H_
