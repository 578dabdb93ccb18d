// Durations, bandwidths, names and YAML 1.2 core-schema scalars.
#include "yaml_values.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace lifeboat::core::policy_internal {
namespace {

constexpr std::string_view kDurationHint =
    "expected a duration like 15m (an integer and one of ms, s, m, h, d)";
constexpr std::string_view kBandwidthHint =
    "expected a bandwidth like 100MB/s (an integer and one of B, KB, MB, GB, KiB, MiB, GiB)";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t LeadingDigits(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && IsDigit(text[n])) ++n;
  return n;
}

// Unsigned decimal, octal or hex digits only (no sign, no prefix). False on overflow or on
// any other character.
bool ParseUnsigned(std::string_view digits, int base, uint64_t& out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out, base);
  return ec == std::errc() && end == digits.data() + digits.size();
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr std::array<Unit, 5> kDurationUnits = {
    {{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000}}};

// Largest first, so that formatting picks the largest unit that divides exactly; binary
// before decimal of the same rank because operators who write 2^n mean it.
constexpr std::array<Unit, 7> kSizeUnits = {{{"GiB", uint64_t{1} << 30},
                                             {"GB", 1000 * 1000 * 1000},
                                             {"MiB", uint64_t{1} << 20},
                                             {"MB", 1000 * 1000},
                                             {"KiB", uint64_t{1} << 10},
                                             {"KB", 1000},
                                             {"B", 1}}};

// Splits "<digits><unit>" and multiplies; `limit` is the largest result allowed.
// `shown` is the text as the user wrote it, for messages.
template <size_t N>
StatusOr<uint64_t> ScaledNumber(std::string_view text, std::string_view shown,
                                const std::array<Unit, N>& units, bool unit_optional,
                                std::string_view hint, uint64_t limit) {
  auto bad = [&] { return InvalidArgumentError(std::string(hint) + ", found " + Shown(shown)); };
  if (!text.empty() && text[0] == '-') {
    if (ScaledNumber(text.substr(1), shown, units, unit_optional, hint, limit).ok()) {
      return InvalidArgumentError("must not be negative, found " + Shown(shown));
    }
    return bad();
  }
  size_t digits = LeadingDigits(text);
  if (digits == 0) return bad();
  std::string_view unit_text = text.substr(digits);
  uint64_t factor = 0;
  if (unit_text.empty() && unit_optional) factor = 1;
  for (const Unit& unit : units) {
    if (unit.name == unit_text) factor = unit.factor;
  }
  if (factor == 0) return bad();
  uint64_t number = 0;
  if (!ParseUnsigned(text.substr(0, digits), 10, number) || number > limit / factor) {
    return InvalidArgumentError("is too large, found " + Shown(shown));
  }
  return number * factor;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view t) {
  size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  size_t int_digits = LeadingDigits(t.substr(i));
  i += int_digits;
  size_t frac_digits = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    frac_digits = LeadingDigits(t.substr(i));
    i += frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t exp_digits = LeadingDigits(t.substr(i));
    if (exp_digits == 0) return false;
    i += exp_digits;
  }
  return i == t.size();
}

bool IsSafePlainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '.' ||
         c == '/' || c == '-' || c == '+' || c == '@' || c == ':' || c == '=' || c == ' ';
}

// Conservative: only what reads back as the same text in block context, whatever the
// position (mapping value, sequence item, key). Anything else is quoted.
bool IsSafePlain(std::string_view t) {
  if (t.empty() || t.front() == ' ' || t.back() == ' ' || t.back() == ':') return false;
  char first = t.front();
  bool first_ok = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') ||
                  IsDigit(first) || first == '_' || first == '/' || first == '.';
  if (!first_ok || StartsWith(t, "...")) return false;
  for (char c : t) {
    if (!IsSafePlainChar(c)) return false;
  }
  return t.find(": ") == std::string_view::npos;
}

}  // namespace

std::string Shown(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() > kMax) return "'" + std::string(text.substr(0, kMax)) + "...'";
  return "'" + std::string(text) + "'";
}

StatusOr<int64_t> ParseDurationMillis(std::string_view text) {
  LIFEBOAT_ASSIGN_OR_RETURN(
      uint64_t millis,
      ScaledNumber(text, text, kDurationUnits, /*unit_optional=*/false, kDurationHint,
                   static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  return static_cast<int64_t>(millis);
}

std::string FormatDurationSeconds(int64_t seconds) {
  if (seconds != 0) {
    if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
    if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
    if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  }
  return std::to_string(seconds) + "s";
}

std::string FormatDurationMillis(int64_t millis) {
  if (millis % 1000 == 0) return FormatDurationSeconds(millis / 1000);
  return std::to_string(millis) + "ms";
}

StatusOr<uint64_t> ParseBandwidth(std::string_view text) {
  std::string_view number = text;
  if (number.size() >= 2 && number.substr(number.size() - 2) == "/s") {
    number.remove_suffix(2);
  }
  return ScaledNumber(number, text, kSizeUnits, /*unit_optional=*/true, kBandwidthHint,
                      std::numeric_limits<uint64_t>::max());
}

std::string FormatBandwidth(uint64_t bytes_per_second) {
  if (bytes_per_second == 0) return "0";
  for (const Unit& unit : kSizeUnits) {
    if (bytes_per_second % unit.factor == 0) {
      return std::to_string(bytes_per_second / unit.factor) + std::string(unit.name) + "/s";
    }
  }
  return std::to_string(bytes_per_second) + "B/s";  // unreachable: B divides everything
}

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || IsDigit(c); };
  if (!lower_or_digit(name.front())) return false;
  for (char c : name) {
    if (!lower_or_digit(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string NameRule() {
  return "a name is lower-case letters, digits, '-', '_' and '.', starting with a letter or "
         "digit";
}

StatusOr<nlohmann::ordered_json> ResolvePlainScalar(const std::string& text) {
  using Json = nlohmann::ordered_json;
  std::string_view t = text;
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return Json(nullptr);
  if (t == "true" || t == "True" || t == "TRUE") return Json(true);
  if (t == "false" || t == "False" || t == "FALSE") return Json(false);

  uint64_t magnitude = 0;
  auto out_of_range = [&] {
    return InvalidArgumentError("integer " + Shown(text) + " is outside the 64-bit range");
  };
  if (StartsWith(t, "0x") || StartsWith(t, "0o")) {
    std::string_view digits = t.substr(2);
    int base = t[1] == 'x' ? 16 : 8;
    bool well_formed = !digits.empty();
    for (char c : digits) {
      bool ok =
          base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : (c >= '0' && c <= '7');
      well_formed = well_formed && ok;
    }
    if (well_formed) {
      if (!ParseUnsigned(digits, base, magnitude)) return out_of_range();
      if (magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Json(static_cast<int64_t>(magnitude));
      }
      return Json(magnitude);
    }
  }
  {
    bool negative = !t.empty() && t[0] == '-';
    std::string_view digits = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? t.substr(1) : t;
    if (!digits.empty() && LeadingDigits(digits) == digits.size()) {
      if (!ParseUnsigned(digits, 10, magnitude)) return out_of_range();
      constexpr uint64_t kMaxSigned = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      if (!negative) {
        if (magnitude <= kMaxSigned) return Json(static_cast<int64_t>(magnitude));
        return Json(magnitude);
      }
      if (magnitude <= kMaxSigned) return Json(-static_cast<int64_t>(magnitude));
      if (magnitude == kMaxSigned + 1) return Json(std::numeric_limits<int64_t>::min());
      return out_of_range();
    }
  }
  if (IsCoreFloat(t)) {
    std::string_view unsigned_text = t[0] == '+' ? t.substr(1) : t;
    double value = 0;
    auto [end, ec] =
        std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), value);
    if (ec != std::errc() || end != unsigned_text.data() + unsigned_text.size() ||
        !std::isfinite(value)) {
      return InvalidArgumentError("number " + Shown(text) + " is outside the range of a double");
    }
    return Json(value);
  }
  std::string_view bare = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? t.substr(1) : t;
  if (bare == ".inf" || bare == ".Inf" || bare == ".INF" || t == ".nan" || t == ".NaN" ||
      t == ".NAN") {
    return InvalidArgumentError(Shown(text) +
                                " cannot be held in JSON (no infinity or NaN); quote it to "
                                "pass it as a string");
  }
  return Json(text);
}

std::string QuoteScalar(const std::string& text) {
  if (IsSafePlain(text)) {
    auto resolved = ResolvePlainScalar(text);
    if (resolved.ok() && resolved->is_string()) return text;
  }
  return nlohmann::ordered_json(text).dump(-1, ' ', /*ensure_ascii=*/false,
                                           nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace lifeboat::core::policy_internal
