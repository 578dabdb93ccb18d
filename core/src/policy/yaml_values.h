// The scalar forms of the policy YAML: durations, bandwidths, names, and how a plain YAML
// scalar resolves to a JSON value (YAML 1.2 core schema). Shared by the parser and the
// renderer so that what one writes the other reads back the same.
//
// Every parse function returns INVALID_ARGUMENT whose message is only the WHY part
// ("expected a duration like 15m ..., found 'soon'"); the caller adds file, position and
// field.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_SRC_POLICY_YAML_VALUES_H_
#define LIFEBOAT_CORE_SRC_POLICY_YAML_VALUES_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lifeboat::core::policy_internal {

// "90s", "15m", "2h", "7d", "500ms" -> milliseconds. No sign, no fraction, unit required.
StatusOr<int64_t> ParseDurationMillis(std::string_view text);

// The shortest exact form: 90000 -> "90s", 3600000 -> "1h", 1500 -> "1500ms", 0 -> "0s".
std::string FormatDurationMillis(int64_t millis);
std::string FormatDurationSeconds(int64_t seconds);

// "100MB/s", "1GiB/s", "512KiB", "0", "1048576" -> bytes per second. Units B, KB, MB, GB
// (powers of 10) and KiB, MiB, GiB (powers of 2); "/s" is optional; a bare number is bytes.
StatusOr<uint64_t> ParseBandwidth(std::string_view text);

// The largest unit that divides exactly, always with "/s": 100000000 -> "100MB/s".
std::string FormatBandwidth(uint64_t bytes_per_second);

// [a-z0-9][a-z0-9-_.]* : names become keys in the state store.
bool IsValidName(std::string_view name);
std::string NameRule();  // the rule in words, for messages

// What a plain (unquoted, untagged) scalar means under the YAML 1.2 core schema: null,
// true/false, an integer (decimal, 0x hex, 0o octal), a float, or else a string. Infinity and
// NaN, which JSON cannot hold, and integers outside the 64-bit range are refused.
StatusOr<nlohmann::ordered_json> ResolvePlainScalar(const std::string& text);

// The text as a YAML scalar that reads back as this same string: plain when that is safe,
// else double-quoted with JSON escapes (a JSON string is a valid YAML double-quoted scalar).
std::string QuoteScalar(const std::string& text);

// A found value for a message: quoted, cut at 60 characters.
std::string Shown(std::string_view text);

}  // namespace lifeboat::core::policy_internal

#endif  // LIFEBOAT_CORE_SRC_POLICY_YAML_VALUES_H_
