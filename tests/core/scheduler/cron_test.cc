// The cron parser and its civil-time search (no time zones): core/src/scheduler/cron.h.
#include "cron.h"

#include <absl/time/civil_time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "reference.h"

namespace lifeboat::core::cron {
namespace {

using ::testing::HasSubstr;

CronSpec MustParse(const std::string& text) {
  StatusOr<CronSpec> spec = CronSpec::Parse(text);
  EXPECT_TRUE(spec.ok()) << text << ": " << spec.status().ToString();
  return spec.ok() ? *spec : CronSpec();
}

Civil C(int64_t y, int mo, int d, int h, int mi) { return Civil{y, mo, d, h, mi}; }

std::string Str(const std::optional<Civil>& c) {
  if (!c) return "none";
  return std::to_string(c->year) + "-" + std::to_string(c->month) + "-" + std::to_string(c->day) +
         " " + std::to_string(c->hour) + ":" + std::to_string(c->minute);
}

TEST(CalendarTest, WeekdaysAndMonthLengths) {
  EXPECT_EQ(Weekday(1970, 1, 1), 4);  // Thursday
  EXPECT_EQ(Weekday(2024, 1, 1), 1);  // Monday
  EXPECT_EQ(Weekday(2024, 2, 29), 4);
  EXPECT_EQ(Weekday(2000, 1, 1), 6);  // Saturday
  EXPECT_EQ(Weekday(1969, 12, 31), 3);
  EXPECT_EQ(Weekday(1600, 3, 1), 3);
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);  // divisible by 100, not by 400
  EXPECT_EQ(DaysInMonth(2000, 2), 29);  // divisible by 400
  EXPECT_EQ(DaysInMonth(2024, 4), 30);
  EXPECT_EQ(DaysInMonth(2024, 12), 31);
}

TEST(CronParseTest, FieldsListsRangesStepsAndNames) {
  const CronSpec s = MustParse("0,30 9-17/4 1,15 JAN-mar,Dec mon-FRI");
  EXPECT_TRUE(s.Matches(C(2024, 1, 1, 9, 0)));     // Monday the 1st
  EXPECT_TRUE(s.Matches(C(2024, 1, 2, 13, 30)));   // a Tuesday (weekday OR day 1/15)
  EXPECT_TRUE(s.Matches(C(2024, 12, 15, 17, 0)));  // a Sunday, but the 15th
  EXPECT_FALSE(s.Matches(C(2024, 1, 1, 10, 0)));   // hour 10 not in 9,13,17
  EXPECT_FALSE(s.Matches(C(2024, 1, 1, 9, 15)));
  EXPECT_FALSE(s.Matches(C(2024, 4, 1, 9, 0)));  // April
  EXPECT_FALSE(s.Matches(C(2024, 1, 6, 9, 0)));  // Saturday the 6th
}

TEST(CronParseTest, SundayIsZeroOrSeven) {
  for (const char* text : {"0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun"}) {
    const CronSpec s = MustParse(text);
    EXPECT_TRUE(s.Matches(C(2024, 1, 7, 0, 0))) << text;   // Sunday
    EXPECT_FALSE(s.Matches(C(2024, 1, 8, 0, 0))) << text;  // Monday
  }
  const CronSpec weekend = MustParse("0 0 * * 6-7");
  EXPECT_TRUE(weekend.Matches(C(2024, 1, 6, 0, 0)));
  EXPECT_TRUE(weekend.Matches(C(2024, 1, 7, 0, 0)));
  EXPECT_FALSE(weekend.Matches(C(2024, 1, 8, 0, 0)));
}

TEST(CronParseTest, StepsFromAValueRunToTheEnd) {
  const CronSpec s = MustParse("50/5 * * * *");
  EXPECT_TRUE(s.Matches(C(2024, 1, 1, 0, 50)));
  EXPECT_TRUE(s.Matches(C(2024, 1, 1, 0, 55)));
  EXPECT_FALSE(s.Matches(C(2024, 1, 1, 0, 0)));
  EXPECT_FALSE(s.Matches(C(2024, 1, 1, 0, 45)));
  const CronSpec big = MustParse("*/90 * * * *");  // only 0: a step past the range is allowed
  EXPECT_TRUE(big.Matches(C(2024, 1, 1, 3, 0)));
  EXPECT_FALSE(big.Matches(C(2024, 1, 1, 3, 30)));
}

TEST(CronParseTest, MacrosExpand) {
  struct Case {
    const char* macro;
    Civil yes;
    Civil no;
  };
  const Case cases[] = {
      {"@hourly", C(2024, 5, 5, 7, 0), C(2024, 5, 5, 7, 1)},
      {"@daily", C(2024, 5, 5, 0, 0), C(2024, 5, 5, 1, 0)},
      {"@midnight", C(2024, 5, 5, 0, 0), C(2024, 5, 5, 0, 30)},
      {"@weekly", C(2024, 5, 5, 0, 0), C(2024, 5, 6, 0, 0)},  // 2024-05-05 is a Sunday
      {"@monthly", C(2024, 5, 1, 0, 0), C(2024, 5, 2, 0, 0)},
      {"@yearly", C(2024, 1, 1, 0, 0), C(2024, 2, 1, 0, 0)},
      {"@annually", C(2025, 1, 1, 0, 0), C(2025, 1, 1, 1, 0)},
      {"  @DAILY ", C(2024, 5, 5, 0, 0), C(2024, 5, 5, 0, 1)},
  };
  for (const Case& c : cases) {
    const CronSpec s = MustParse(c.macro);
    EXPECT_TRUE(s.Matches(c.yes)) << c.macro;
    EXPECT_FALSE(s.Matches(c.no)) << c.macro;
  }
}

// Vixie cron: both day fields restricted -> either matches; one starting with '*' -> both.
TEST(CronParseTest, DayOfMonthAndDayOfWeekOrRule) {
  const CronSpec either = MustParse("0 0 13 * FRI");
  EXPECT_TRUE(either.DayMatches(2024, 2, 13));       // a Tuesday, but the 13th
  EXPECT_TRUE(either.DayMatches(2024, 2, 16));       // a Friday
  EXPECT_FALSE(either.DayMatches(2024, 2, 14));      // neither
  const CronSpec both = MustParse("0 0 */2 * FRI");  // '*' first: odd days that are Fridays
  EXPECT_TRUE(both.DayMatches(2024, 2, 9));
  EXPECT_FALSE(both.DayMatches(2024, 2, 16));  // a Friday, but even
  EXPECT_FALSE(both.DayMatches(2024, 2, 11));  // odd, but a Sunday
  const CronSpec dom_only = MustParse("0 0 13 * *");
  EXPECT_TRUE(dom_only.DayMatches(2024, 2, 13));
  EXPECT_FALSE(dom_only.DayMatches(2024, 2, 16));
  const CronSpec dow_only = MustParse("0 0 * * FRI");
  EXPECT_FALSE(dow_only.DayMatches(2024, 2, 13));
  EXPECT_TRUE(dow_only.DayMatches(2024, 2, 16));
}

struct BadCase {
  const char* text;
  const char* message;  // expected in the error message
};

TEST(CronParseTest, RefusesBadExpressionsSayingWhereAndWhy) {
  const BadCase cases[] = {
      {"", "is empty"},
      {"   ", "is empty"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
      {"* * * * * *", "found 6"},
      {"61 * * * *", "minute field '61' is out of range 0-59"},
      {"* 24 * * *", "hour field '24' is out of range 0-23"},
      {"* * 0 * *", "day-of-month field '0' is out of range 1-31"},
      {"* * 32 * *", "day-of-month field '32' is out of range 1-31"},
      {"* * * 13 *", "month field '13' is out of range 1-12"},
      {"* * * 0 *", "month field '0' is out of range 1-12"},
      {"* * * * 8", "day-of-week field '8' is out of range 0-7"},
      {"99999999999 * * * *", "minute field '99999999999' is out of range 0-59"},
      {"1-61 * * * *", "minute field '61' is out of range 0-59"},
      {"-1 * * * *", "minute field '-1' is a range missing one end"},
      {"a * * * *", "minute field 'a' is not a number"},
      {"MON * * * *", "minute field 'MON' is not a number"},
      {"* * * FOO *", "month field 'FOO' is not a number or a month name (JAN-DEC)"},
      {"* * * * MON-FUN", "day-of-week field 'FUN' is not a number or a day name (SUN-SAT)"},
      {"* * * * MONDAY", "day-of-week field 'MONDAY' is not a number"},
      {"*/0 * * * *", "minute field '*/0': step must be at least 1"},
      {"*/x * * * *", "minute field '*/x': step 'x' is not a number"},
      {"*/ * * * *", "step '' is not a number"},
      {"*/2/3 * * * *", "minute field '*/2/3' has more than one '/'"},
      {"/5 * * * *", "minute field '/5' has nothing before the '/'"},
      {"30-10 * * * *", "minute field '30-10': range start 30 is after its end 10"},
      {"* * * * FRI-MON", "range start 5 is after its end 1"},
      {"1-2-3 * * * *", "minute field '1-2-3' is not a value or a range a-b"},
      {"1,,2 * * * *", "minute field '1,,2' has an empty list element"},
      {"1, * * * *", "has an empty list element"},
      {"? * * * *", "minute field '?' is not a number"},
      {"@reboot", "unknown macro '@reboot'"},
      {"@every 5m", "a macro stands alone"},
      {"0 0 30 2 *", "can never fire: day-of-month '30' does not occur in month '2'"},
      {"0 0 31 4,6,9,11 *", "can never fire"},
      {"0 0 31 FEB-APR/2 *", "can never fire"},
      {"0 0 30,31 2 */2", "can never fire"},
  };
  for (const BadCase& c : cases) {
    StatusOr<CronSpec> spec = CronSpec::Parse(c.text);
    ASSERT_FALSE(spec.ok()) << "'" << c.text << "' was accepted";
    EXPECT_EQ(spec.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_EQ(spec.status().subject(), "schedule.cron") << c.text;
    EXPECT_THAT(spec.status().message(), HasSubstr(c.message)) << c.text;
    // The whole expression is quoted, so the field can be found in a long policy file.
    EXPECT_THAT(spec.status().message(), HasSubstr("cron '" + std::string(c.text) + "'"));
  }
}

TEST(CronParseTest, AcceptsSpecsThatFireRarely) {
  MustParse("0 0 29 2 *");    // leap days only
  MustParse("0 0 30 2 MON");  // both restricted: every Monday in February
  MustParse("0 0 31 * *");
  MustParse("0 0 31 2,3 *");  // March has a 31st
  MustParse("\t0\t0  1 1 *\n");
}

TEST(CronSearchTest, NextSkipsByFields) {
  const CronSpec leap = MustParse("0 0 29 2 *");
  EXPECT_EQ(leap.NextAtOrAfter(C(2024, 3, 1, 0, 0), 3000), C(2028, 2, 29, 0, 0));
  EXPECT_EQ(leap.NextAtOrAfter(C(2096, 3, 1, 0, 0), 3000), C(2104, 2, 29, 0, 0));   // not 2100
  EXPECT_EQ(leap.NextAtOrAfter(C(2024, 2, 29, 0, 0), 3000), C(2024, 2, 29, 0, 0));  // at-or-after
  EXPECT_EQ(leap.NextAtOrAfter(C(2024, 3, 1, 0, 0), 2027), std::nullopt);  // bound respected
  const CronSpec last = MustParse("59 23 31 12 *");
  EXPECT_EQ(last.NextAtOrAfter(C(2024, 1, 1, 0, 0), 3000), C(2024, 12, 31, 23, 59));
  EXPECT_EQ(last.PrevAtOrBefore(C(2024, 12, 31, 23, 58), 1000), C(2023, 12, 31, 23, 59));
  const CronSpec day31 = MustParse("15 10 31 * *");
  EXPECT_EQ(day31.NextAtOrAfter(C(2024, 4, 1, 0, 0), 3000), C(2024, 5, 31, 10, 15));
  EXPECT_EQ(day31.PrevAtOrBefore(C(2024, 5, 30, 0, 0), 1000), C(2024, 3, 31, 10, 15));
  EXPECT_EQ(leap.PrevAtOrBefore(C(2104, 2, 28, 0, 0), 1000), C(2096, 2, 29, 0, 0));
  EXPECT_EQ(leap.PrevAtOrBefore(C(2104, 2, 28, 0, 0), 2097), std::nullopt);
}

// The field-skipping searches against a minute-by-minute walk over random specs.
TEST(CronSearchTest, AgreesWithMinuteByMinuteWalk) {
  std::mt19937 rng(20240331);
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    const reference::RefSpec ref = reference::RandomSpec(rng);
    StatusOr<CronSpec> spec = CronSpec::Parse(ref.text);
    if (!spec.ok()) {
      EXPECT_THAT(spec.status().message(), HasSubstr("can never fire")) << ref.text;
      continue;
    }
    const absl::CivilMinute start =
        absl::CivilMinute(2024, 1, 1) + std::uniform_int_distribution<int>(0, 366 * 1440)(rng);
    const int window = 5 * 1440;
    std::optional<Civil> walked_next;
    for (absl::CivilMinute m = start; m < start + window; ++m) {
      if (ref.Matches(m)) {
        walked_next = Civil{m.year(), m.month(), m.day(), m.hour(), m.minute()};
        break;
      }
    }
    std::optional<Civil> walked_prev;
    for (absl::CivilMinute m = start; m > start - window; --m) {
      if (ref.Matches(m)) {
        walked_prev = Civil{m.year(), m.month(), m.day(), m.hour(), m.minute()};
        break;
      }
    }
    const Civil from{start.year(), start.month(), start.day(), start.hour(), start.minute()};
    const std::optional<Civil> next = spec->NextAtOrAfter(from, 2500);
    const std::optional<Civil> prev = spec->PrevAtOrBefore(from, 1500);
    ASSERT_TRUE(next.has_value()) << ref.text;
    ASSERT_TRUE(prev.has_value()) << ref.text;
    EXPECT_TRUE(spec->Matches(*next)) << ref.text;
    EXPECT_TRUE(spec->Matches(*prev)) << ref.text;
    if (walked_next) {
      EXPECT_EQ(next, walked_next) << ref.text << " from " << Str(from) << ": " << Str(next);
      ++compared;
    } else {
      const absl::CivilMinute n(next->year, next->month, next->day, next->hour, next->minute);
      EXPECT_GE(n, start + window) << ref.text;
    }
    if (walked_prev) {
      EXPECT_EQ(prev, walked_prev) << ref.text << " from " << Str(from) << ": " << Str(prev);
      ++compared;
    } else {
      const absl::CivilMinute p(prev->year, prev->month, prev->day, prev->hour, prev->minute);
      EXPECT_LE(p, start - window) << ref.text;
    }
  }
  EXPECT_GT(compared, 300);  // most random specs fire within the window
}

}  // namespace
}  // namespace lifeboat::core::cron
