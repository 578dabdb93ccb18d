// Text pieces of HTTP shared by the handler, the server and the client: percent-decoding,
// paths and queries.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_SRC_API_HTTP_TEXT_H_
#define LIFEBOAT_CORE_SRC_API_HTTP_TEXT_H_

#include <lifeboat/status.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::core::api {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, for queries).
// INVALID_ARGUMENT for a '%' not followed by two hex digits, or a decoded NUL or other
// control character (no name in Lifeboat holds one).
StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space);

struct Target {
  std::vector<std::string> segments;  // decoded path segments ("/v1/jobs" -> v1, jobs)
  std::map<std::string, std::string> query;
};

// Splits an origin-form target. INVALID_ARGUMENT when it does not start with '/', when an
// escape is bad, or when a query parameter is empty-named or repeated.
StatusOr<Target> ParseTarget(std::string_view target);

// A boolean query value: true/false/1/0 (empty means true, as in "?dry_run").
StatusOr<bool> ParseBoolParam(const std::string& name, const std::string& value);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_SRC_API_HTTP_TEXT_H_
