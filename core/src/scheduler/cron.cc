#include "cron.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <span>
#include <string>
#include <vector>

namespace lifeboat::core::cron {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

struct FieldDef {
  std::string_view name;  // as it appears in messages: "minute field '61' ..."
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] stands for min_name + i
  int min_name;
  std::string_view names_hint;  // "a month name (JAN-DEC)"
};

constexpr FieldDef kMinute{"minute", 0, 59, {}, 0, {}};
constexpr FieldDef kHour{"hour", 0, 23, {}, 0, {}};
constexpr FieldDef kDayOfMonth{"day-of-month", 1, 31, {}, 0, {}};
constexpr FieldDef kMonth{"month", 1, 12, kMonthNames, 1, "a month name (JAN-DEC)"};
// 7 is accepted as Sunday, as in Vixie cron; it is folded onto bit 0.
constexpr FieldDef kDayOfWeek{"day-of-week", 0, 7, kWeekdayNames, 0, "a day name (SUN-SAT)"};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};
constexpr std::array<Macro, 7> kMacros = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

constexpr std::string_view kSubject = "schedule.cron";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::vector<std::string_view> SplitSpace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Smallest set bit >= from, or -1.
int NextBit(uint64_t mask, int from) {
  if (from >= 64) return -1;
  if (from < 0) from = 0;
  uint64_t m = mask & (~uint64_t{0} << from);
  return m == 0 ? -1 : std::countr_zero(m);
}

// Largest set bit <= from, or -1.
int PrevBit(uint64_t mask, int from) {
  if (from < 0) return -1;
  uint64_t m = from >= 63 ? mask : mask & ((uint64_t{1} << (from + 1)) - 1);
  return m == 0 ? -1 : 63 - std::countl_zero(m);
}

// Parses one cron expression, remembering its text for messages.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status Error(const std::string& why) const {
    return InvalidArgumentError("cron " + Quote(text_) + ": " + why, std::string(kSubject));
  }

  // One value of a field: a number in range or, where the field has them, a name.
  StatusOr<int> Value(const FieldDef& f, std::string_view token) const {
    if (AllDigits(token)) {
      // More than 9 digits cannot be in range and would overflow int.
      int v = token.size() > 9 ? -1 : std::stoi(std::string(token));
      if (v < f.min || v > f.max) {
        return Error(std::string(f.name) + " field " + Quote(token) + " is out of range " +
                     std::to_string(f.min) + "-" + std::to_string(f.max));
      }
      return v;
    }
    if (!f.names.empty()) {
      std::string upper = Upper(token);
      for (size_t i = 0; i < f.names.size(); ++i) {
        if (upper == f.names[i]) return f.min_name + static_cast<int>(i);
      }
      return Error(std::string(f.name) + " field " + Quote(token) + " is not a number or " +
                   std::string(f.names_hint));
    }
    return Error(std::string(f.name) + " field " + Quote(token) + " is not a number");
  }

  // One list element: `*`, `v`, `a-b`, each optionally followed by `/step`.
  Status Element(const FieldDef& f, std::string_view elem, uint64_t& bits) const {
    const std::string where = std::string(f.name) + " field " + Quote(elem);
    std::vector<std::string_view> slash = Split(elem, '/');
    if (slash.size() > 2) return Error(where + " has more than one '/'");
    std::string_view base = slash[0];
    int step = 1;
    if (slash.size() == 2) {
      std::string_view s = slash[1];
      if (!AllDigits(s)) return Error(where + ": step " + Quote(s) + " is not a number");
      if (s.size() > 9) return Error(where + ": step " + Quote(s) + " is too large");
      step = std::stoi(std::string(s));
      if (step < 1) return Error(where + ": step must be at least 1");
    }
    if (base.empty()) return Error(where + " has nothing before the '/'");
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = f.min;
      hi = f.max;
    } else {
      std::vector<std::string_view> dash = Split(base, '-');
      if (dash.size() > 2) return Error(where + " is not a value or a range a-b");
      if (dash.size() == 2 && (dash[0].empty() || dash[1].empty())) {
        return Error(where + " is a range missing one end");
      }
      LIFEBOAT_ASSIGN_OR_RETURN(lo, Value(f, dash[0]));
      if (dash.size() == 2) {
        LIFEBOAT_ASSIGN_OR_RETURN(hi, Value(f, dash[1]));
        if (lo > hi) {
          return Error(where + ": range start " + std::to_string(lo) + " is after its end " +
                       std::to_string(hi) + " (ranges do not wrap; use a list of two ranges)");
        }
      } else {
        // `a/n` means a through the field's maximum, every n.
        hi = slash.size() == 2 ? f.max : lo;
      }
    }
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    return OkStatus();
  }

  Status FieldBits(const FieldDef& f, std::string_view field, uint64_t& bits) const {
    for (std::string_view elem : Split(field, ',')) {
      if (elem.empty()) {
        return Error(std::string(f.name) + " field " + Quote(field) + " has an empty list element");
      }
      LIFEBOAT_RETURN_IF_ERROR(Element(f, elem, bits));
    }
    return OkStatus();
  }

 private:
  std::string_view text_;
};

}  // namespace

int64_t DaysFromCivil(int64_t year, int month, int day) {
  // Howard Hinnant's days_from_civil (public domain), on the proleptic Gregorian calendar.
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = month > 2 ? month - 3 : month + 9;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int Weekday(int64_t year, int month, int day) {
  // 1970-01-01 was a Thursday (4).
  int64_t w = (DaysFromCivil(year, month, day) + 4) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[month - 1];
}

StatusOr<CronSpec> CronSpec::Parse(std::string_view text) {
  Parser parser(text);
  std::vector<std::string_view> fields = SplitSpace(text);
  if (fields.empty()) {
    return parser.Error(
        "is empty; expected 5 fields (minute hour day-of-month month day-of-week) or a macro "
        "such as @daily");
  }
  std::string expanded;
  if (fields[0].front() == '@') {
    if (fields.size() != 1) return parser.Error("a macro stands alone, without other fields");
    std::string name = Lower(fields[0]);
    auto it = std::find_if(kMacros.begin(), kMacros.end(),
                           [&](const Macro& m) { return m.name == name; });
    if (it == kMacros.end()) {
      return parser.Error("unknown macro " + Quote(fields[0]) +
                          " (known: @hourly, @daily, @weekly, @monthly, @yearly)");
    }
    expanded = std::string(it->expansion);
    fields = SplitSpace(expanded);
  }
  if (fields.size() != 5) {
    return parser.Error("expected 5 fields (minute hour day-of-month month day-of-week), found " +
                        std::to_string(fields.size()));
  }

  CronSpec spec;
  uint64_t minutes = 0, hours = 0, days = 0, months = 0, weekdays = 0;
  LIFEBOAT_RETURN_IF_ERROR(parser.FieldBits(kMinute, fields[0], minutes));
  LIFEBOAT_RETURN_IF_ERROR(parser.FieldBits(kHour, fields[1], hours));
  LIFEBOAT_RETURN_IF_ERROR(parser.FieldBits(kDayOfMonth, fields[2], days));
  LIFEBOAT_RETURN_IF_ERROR(parser.FieldBits(kMonth, fields[3], months));
  LIFEBOAT_RETURN_IF_ERROR(parser.FieldBits(kDayOfWeek, fields[4], weekdays));
  if (weekdays & (uint64_t{1} << 7)) weekdays = (weekdays | 1) & 0x7f;
  spec.minutes_ = minutes;
  spec.hours_ = static_cast<uint32_t>(hours);
  spec.days_ = static_cast<uint32_t>(days);
  spec.months_ = static_cast<uint32_t>(months);
  spec.weekdays_ = static_cast<uint32_t>(weekdays);
  // Vixie cron looks at the first character only: "*/2" counts as '*'.
  spec.days_star_ = fields[2].front() == '*';
  spec.weekdays_star_ = fields[4].front() == '*';

  // When the day fields are OR-ed, every week has a matching day. Otherwise a day must be
  // in the day-of-month set and in a selected month; each such date (February 29 included)
  // falls on every weekday within a 400-year cycle, so one existing date is enough.
  if (spec.days_star_ || spec.weekdays_star_) {
    bool exists = false;
    for (int m = 1; m <= 12 && !exists; ++m) {
      if (!(spec.months_ & (1u << m))) continue;
      // 2000 is a leap year: DaysInMonth gives each month's longest length.
      uint64_t in_month = spec.days_ & ((uint64_t{2} << DaysInMonth(2000, m)) - 1);
      exists = in_month != 0;
    }
    if (!exists) {
      return parser.Error("can never fire: day-of-month " + Quote(fields[2]) +
                          " does not occur in month " + Quote(fields[3]));
    }
  }
  return spec;
}

bool CronSpec::DayMatches(int64_t year, int month, int day) const {
  bool dom = days_ & (uint32_t{1} << day);
  bool dow = weekdays_ & (uint32_t{1} << Weekday(year, month, day));
  if (days_star_ || weekdays_star_) return dom && dow;
  return dom || dow;
}

bool CronSpec::Matches(const Civil& c) const {
  return (minutes_ >> c.minute & 1) && (hours_ >> c.hour & 1) && (months_ >> c.month & 1) &&
         DayMatches(c.year, c.month, c.day);
}

std::optional<Civil> CronSpec::NextAtOrAfter(Civil c, int64_t last_year) const {
  // Each step either returns or moves `c` forward to the start of the next candidate
  // month, day, hour or minute, so the loop runs a bounded number of times per month.
  while (c.year <= last_year) {
    int month = NextBit(months_, c.month);
    if (month < 0) {
      c = Civil{c.year + 1, 1, 1, 0, 0};
      continue;
    }
    if (month != c.month) c = Civil{c.year, month, 1, 0, 0};
    const int dim = DaysInMonth(c.year, c.month);
    if (c.day > dim || c.day < 1) {
      c = Civil{c.year, c.month + 1, 1, 0, 0};
      continue;
    }
    int day = c.day;
    while (day <= dim && !DayMatches(c.year, c.month, day)) ++day;
    if (day > dim) {
      c = Civil{c.year, c.month + 1, 1, 0, 0};
      continue;
    }
    if (day != c.day) c = Civil{c.year, c.month, day, 0, 0};
    int hour = NextBit(hours_, c.hour);
    if (hour < 0) {
      c = Civil{c.year, c.month, c.day + 1, 0, 0};
      continue;
    }
    if (hour != c.hour) c = Civil{c.year, c.month, c.day, hour, 0};
    int minute = NextBit(minutes_, c.minute);
    if (minute < 0) {
      c = c.hour == 23 ? Civil{c.year, c.month, c.day + 1, 0, 0}
                       : Civil{c.year, c.month, c.day, c.hour + 1, 0};
      continue;
    }
    c.minute = minute;
    return c;
  }
  return std::nullopt;
}

std::optional<Civil> CronSpec::PrevAtOrBefore(Civil c, int64_t first_year) const {
  // Mirror of NextAtOrAfter: moves `c` back to the end of the previous candidate.
  while (c.year >= first_year) {
    int month = PrevBit(months_, c.month);
    if (month < 1) {
      c = Civil{c.year - 1, 12, 31, 23, 59};
      continue;
    }
    if (month != c.month) c = Civil{c.year, month, 31, 23, 59};
    const int dim = DaysInMonth(c.year, c.month);
    if (c.day > dim) c = Civil{c.year, c.month, dim, 23, 59};
    int day = c.day;
    while (day >= 1 && !DayMatches(c.year, c.month, day)) --day;
    if (day < 1) {
      c = Civil{c.year, c.month - 1, 31, 23, 59};  // month 0 falls to the year before
      continue;
    }
    if (day != c.day) c = Civil{c.year, c.month, day, 23, 59};
    int hour = PrevBit(hours_, c.hour);
    if (hour < 0) {
      c = Civil{c.year, c.month, c.day - 1, 23, 59};  // day 0 falls to the month before
      continue;
    }
    if (hour != c.hour) c = Civil{c.year, c.month, c.day, hour, 59};
    int minute = PrevBit(minutes_, c.minute);
    if (minute < 0) {
      c = c.hour == 0 ? Civil{c.year, c.month, c.day - 1, 23, 59}
                      : Civil{c.year, c.month, c.day, c.hour - 1, 59};
      continue;
    }
    c.minute = minute;
    return c;
  }
  return std::nullopt;
}

}  // namespace lifeboat::core::cron
