// Schedule: validation, and NextAfter in UTC and in zones with daylight saving time.
#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lifeboat/core/scheduler.h>

#include <iterator>
#include <random>
#include <string>

#include "reference.h"

namespace lifeboat::core {
namespace {

using reference::kDay;
using reference::kHour;
using reference::kMinute;
using reference::kSecond;
using reference::Show;
using reference::Utc;
using ::testing::HasSubstr;

v1::Schedule CronSpec(const std::string& cron, const std::string& zone = "") {
  v1::Schedule s;
  s.set_cron(cron);
  s.set_time_zone(zone);
  return s;
}

v1::Schedule IntervalSpec(int64_t seconds, const std::string& zone = "") {
  v1::Schedule s;
  s.set_interval_seconds(seconds);
  s.set_time_zone(zone);
  return s;
}

Schedule Must(const v1::Schedule& spec) {
  StatusOr<Schedule> s = Schedule::Create(spec);
  if (!s.ok()) {
    ADD_FAILURE() << spec.ShortDebugString() << ": " << s.status().ToString();
    return *Schedule::Create(IntervalSpec(1));
  }
  return *s;
}

// NextAfter of a cron spec, anchor irrelevant.
int64_t Next(const std::string& cron, const std::string& zone, int64_t after) {
  return Must(CronSpec(cron, zone)).NextAfter(after, 0);
}

#define EXPECT_TIME(actual, expected) EXPECT_EQ(Show(actual), Show(expected))

TEST(ScheduleCreateTest, RefusesWithFieldTextAndReason) {
  struct Case {
    v1::Schedule spec;
    const char* subject;
    const char* message;
  };
  const Case cases[] = {
      {CronSpec("61 * * * *"), "schedule.cron", "minute field '61' is out of range 0-59"},
      {CronSpec("* * * *"), "schedule.cron", "expected 5 fields"},
      {CronSpec("0 0 30 2 *"), "schedule.cron", "can never fire"},
      {CronSpec(""), "schedule.cron", "is empty"},
      {CronSpec("0 * * * *", "Mars/Base"), "schedule.time_zone", "unknown time zone 'Mars/Base'"},
      {CronSpec("0 * * * *", "europe/paris"), "schedule.time_zone", "unknown time zone"},
      // Names that would make abseil read a file outside the zone database.
      {CronSpec("0 * * * *", "/etc/passwd"), "schedule.time_zone", "unknown time zone"},
      {CronSpec("0 * * * *", "../../../etc/passwd"), "schedule.time_zone", "unknown time zone"},
      {CronSpec("0 * * * *", "localtime"), "schedule.time_zone", "unknown time zone"},
      {IntervalSpec(0), "schedule.interval_seconds", "at least 1, found 0"},
      {IntervalSpec(-60), "schedule.interval_seconds", "at least 1, found -60"},
      {IntervalSpec(int64_t{1} << 40), "schedule.interval_seconds", "too large"},
      {IntervalSpec(60, "Nowhere/Land"), "schedule.time_zone", "unknown time zone 'Nowhere/Land'"},
      {v1::Schedule(), "schedule", "set either cron or interval_seconds"},
  };
  for (const Case& c : cases) {
    StatusOr<Schedule> s = Schedule::Create(c.spec);
    ASSERT_FALSE(s.ok()) << c.spec.ShortDebugString();
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << c.spec.ShortDebugString();
    EXPECT_EQ(s.status().subject(), c.subject) << c.spec.ShortDebugString();
    EXPECT_THAT(s.status().message(), HasSubstr(c.message)) << c.spec.ShortDebugString();
  }
}

TEST(ScheduleCreateTest, AcceptsZonesAndSmallestInterval) {
  for (const char* zone : {"", "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata",
                           "America/Argentina/Buenos_Aires", "Etc/GMT+5"}) {
    EXPECT_TRUE(Schedule::Create(CronSpec("0 * * * *", zone)).ok()) << zone;
  }
  EXPECT_TRUE(Schedule::Create(IntervalSpec(1)).ok());
}

TEST(ScheduleCopyTest, CopiesAndMovesShareTheSpec) {
  Schedule a = Must(CronSpec("0 9 * * *"));
  Schedule b = a;
  Schedule c = std::move(a);
  const int64_t t = Utc(2024, 1, 1);
  EXPECT_TIME(b.NextAfter(t, 0), Utc(2024, 1, 1, 9));
  EXPECT_TIME(c.NextAfter(t, 0), Utc(2024, 1, 1, 9));
  b = Must(CronSpec("0 10 * * *"));
  EXPECT_TIME(b.NextAfter(t, 0), Utc(2024, 1, 1, 10));
  EXPECT_TIME(c.NextAfter(t, 0), Utc(2024, 1, 1, 9));
}

TEST(NextAfterUtcTest, Steps) {
  const std::string every15 = "*/15 * * * *";
  EXPECT_TIME(Next(every15, "", Utc(2024, 1, 1)), Utc(2024, 1, 1, 0, 15));  // strictly after
  EXPECT_TIME(Next(every15, "", Utc(2024, 1, 1, 0, 15) - 1), Utc(2024, 1, 1, 0, 15));
  EXPECT_TIME(Next(every15, "", Utc(2024, 1, 1, 0, 59, 30)), Utc(2024, 1, 1, 1, 0));
  EXPECT_TIME(Next(every15, "", Utc(2024, 12, 31, 23, 50)), Utc(2025, 1, 1));
  EXPECT_TIME(Next("0-10/5 9-17/4 * * *", "", Utc(2024, 1, 1, 13, 7)), Utc(2024, 1, 1, 13, 10));
  EXPECT_TIME(Next("0-10/5 9-17/4 * * *", "", Utc(2024, 1, 1, 17, 10)), Utc(2024, 1, 2, 9, 0));
}

TEST(NextAfterUtcTest, Weekdays) {
  // 2024-01-05 is a Friday.
  EXPECT_TIME(Next("0 9 * * MON-FRI", "", Utc(2024, 1, 5, 10)), Utc(2024, 1, 8, 9));
  EXPECT_TIME(Next("0 9 * * MON-FRI", "", Utc(2024, 1, 8, 8, 59, 59)), Utc(2024, 1, 8, 9));
  EXPECT_TIME(Next("0 9 * * MON-FRI", "", Utc(2024, 1, 8, 9)), Utc(2024, 1, 9, 9));
  EXPECT_TIME(Next("0 0 * * 7", "", Utc(2024, 1, 1)), Utc(2024, 1, 7));
  EXPECT_TIME(Next("@weekly", "", Utc(2024, 1, 1)), Utc(2024, 1, 7));
  EXPECT_TIME(Next("5 4 * * sun", "", Utc(2024, 1, 7, 4, 5)), Utc(2024, 1, 14, 4, 5));
}

TEST(NextAfterUtcTest, MonthsYearsAndMacros) {
  EXPECT_TIME(Next("0 0 31 * *", "", Utc(2024, 4, 1)), Utc(2024, 5, 31));
  EXPECT_TIME(Next("0 12 * jan,jul *", "", Utc(2024, 2, 1)), Utc(2024, 7, 1, 12));
  EXPECT_TIME(Next("30 23 31 12 *", "", Utc(2024, 12, 31, 23, 30)), Utc(2025, 12, 31, 23, 30));
  EXPECT_TIME(Next("@monthly", "", Utc(2024, 1, 15)), Utc(2024, 2, 1));
  EXPECT_TIME(Next("@yearly", "", Utc(2024, 1, 1)), Utc(2025, 1, 1));
  EXPECT_TIME(Next("@daily", "", Utc(2024, 2, 28, 3)), Utc(2024, 2, 29));
  EXPECT_TIME(Next("@hourly", "", Utc(2024, 2, 28, 10)), Utc(2024, 2, 28, 11));
  EXPECT_TIME(Next("0 0 1 1 *", "", Utc(1969, 6, 1)), 0);  // before the epoch
}

TEST(NextAfterUtcTest, LeapDays) {
  const std::string leap = "0 0 29 2 *";
  EXPECT_TIME(Next(leap, "", Utc(2023, 6, 1)), Utc(2024, 2, 29));
  EXPECT_TIME(Next(leap, "", Utc(2024, 2, 29)), Utc(2028, 2, 29));
  EXPECT_TIME(Next(leap, "", Utc(2096, 3, 1)), Utc(2104, 2, 29));  // 2100 is not a leap year
  EXPECT_TIME(Next(leap, "", Utc(1999, 3, 1)), Utc(2000, 2, 29));  // 2000 is
  EXPECT_TIME(Next("0 0 28 2 *", "", Utc(2024, 2, 28)), Utc(2025, 2, 28));
  EXPECT_TIME(Next("0 0 1 3 *", "", Utc(2024, 2, 29)), Utc(2024, 3, 1));
}

TEST(NextAfterUtcTest, DayOfMonthOrDayOfWeek) {
  // 2024-02-13 is a Tuesday; February 2024's Fridays are the 2nd, 9th, 16th and 23rd.
  EXPECT_TIME(Next("0 0 13 * FRI", "", Utc(2024, 2, 10)), Utc(2024, 2, 13));  // the 13th
  EXPECT_TIME(Next("0 0 13 * FRI", "", Utc(2024, 2, 13)), Utc(2024, 2, 16));  // a Friday
  EXPECT_TIME(Next("0 0 13 * FRI", "", Utc(2024, 2, 2)), Utc(2024, 2, 9));
  // A field starting with '*' is not a restriction for the rule: odd days AND Fridays.
  EXPECT_TIME(Next("0 0 */2 * FRI", "", Utc(2024, 2, 1)), Utc(2024, 2, 9));
  EXPECT_TIME(Next("0 0 */2 * FRI", "", Utc(2024, 2, 9)), Utc(2024, 2, 23));
  EXPECT_TIME(Next("0 0 */2 * FRI", "", Utc(2024, 2, 23)), Utc(2024, 3, 1));
  // Both restricted: a day that does not exist in February does not stop the weekdays.
  EXPECT_TIME(Next("0 0 30 2 MON", "", Utc(2024, 2, 1)), Utc(2024, 2, 5));
}

TEST(NextAfterUtcTest, FarFutureIsNever) {
  EXPECT_EQ(Next("0 0 1 1 *", "", Utc(2262, 1, 2)), INT64_MAX);
  EXPECT_EQ(Next("0 0 29 2 *", "", Utc(2260, 3, 1)), INT64_MAX);
  EXPECT_EQ(Next("* * * * *", "", INT64_MAX), INT64_MAX);
}

// Europe/Paris, 2024: clocks go 02:00 CET -> 03:00 CEST on March 31 (01:00 UTC) and
// 03:00 CEST -> 02:00 CET on October 27 (01:00 UTC).
TEST(NextAfterZoneTest, ParisOffsets) {
  EXPECT_TIME(Next("0 9 * * *", "Europe/Paris", Utc(2024, 1, 10)), Utc(2024, 1, 10, 8));
  EXPECT_TIME(Next("0 9 * * *", "Europe/Paris", Utc(2024, 7, 10)), Utc(2024, 7, 10, 7));
}

TEST(NextAfterZoneTest, ParisSpringForwardFiresOnceAfterTheGap) {
  const std::string paris = "Europe/Paris";
  // 02:30 does not exist on March 31: it fires at 03:00 CEST, the first instant after it.
  EXPECT_TIME(Next("30 2 * * *", paris, Utc(2024, 3, 30, 12)), Utc(2024, 3, 31, 1, 0));
  EXPECT_TIME(Next("30 2 * * *", paris, Utc(2024, 3, 31, 1, 0)), Utc(2024, 4, 1, 0, 30));
  // 02:00, 02:15, 02:30, 02:45 and 03:00 all land on 01:00 UTC: one fire, not five.
  const std::string every15 = "*/15 * * * *";
  EXPECT_TIME(Next(every15, paris, Utc(2024, 3, 31, 0, 30)), Utc(2024, 3, 31, 0, 45));
  EXPECT_TIME(Next(every15, paris, Utc(2024, 3, 31, 0, 45)), Utc(2024, 3, 31, 1, 0));
  EXPECT_TIME(Next(every15, paris, Utc(2024, 3, 31, 1, 0)), Utc(2024, 3, 31, 1, 15));
  EXPECT_TIME(Next("0 3 * * *", paris, Utc(2024, 3, 31)), Utc(2024, 3, 31, 1, 0));
}

TEST(NextAfterZoneTest, ParisFallBackFiresOnTheFirstPassOnly) {
  const std::string paris = "Europe/Paris";
  // 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET): only the first fires.
  EXPECT_TIME(Next("30 2 * * *", paris, Utc(2024, 10, 26, 12)), Utc(2024, 10, 27, 0, 30));
  EXPECT_TIME(Next("30 2 * * *", paris, Utc(2024, 10, 27, 0, 30)), Utc(2024, 10, 28, 1, 30));
  // Hourly: 02:00 CEST (00:00 UTC), then 03:00 CET (02:00 UTC); the second 02:00 is skipped.
  EXPECT_TIME(Next("0 * * * *", paris, Utc(2024, 10, 27, 0, 0)), Utc(2024, 10, 27, 2, 0));
  // Asked from inside the second pass (02:10 CET): the repeated minutes have had their turn.
  EXPECT_TIME(Next("*/15 * * * *", paris, Utc(2024, 10, 27, 1, 10)), Utc(2024, 10, 27, 2, 0));
  EXPECT_TIME(Next("*/15 * * * *", paris, Utc(2024, 10, 27, 0, 50)), Utc(2024, 10, 27, 2, 0));
}

// America/New_York, 2024: 02:00 EST -> 03:00 EDT on March 10 (07:00 UTC); 02:00 EDT ->
// 01:00 EST on November 3 (06:00 UTC), so 01:00-01:59 happens twice.
TEST(NextAfterZoneTest, NewYorkSpringForward) {
  const std::string ny = "America/New_York";
  EXPECT_TIME(Next("30 2 * * *", ny, Utc(2024, 3, 9, 12)), Utc(2024, 3, 10, 7, 0));
  EXPECT_TIME(Next("30 2 * * *", ny, Utc(2024, 3, 10, 7, 0)), Utc(2024, 3, 11, 6, 30));
  EXPECT_TIME(Next("0 2 * * *", ny, Utc(2024, 3, 9, 12)), Utc(2024, 3, 10, 7, 0));
  // Friday 10:00 EST -> Monday 09:00 EDT.
  EXPECT_TIME(Next("0 9 * * MON-FRI", ny, Utc(2024, 3, 8, 15)), Utc(2024, 3, 11, 13));
}

TEST(NextAfterZoneTest, NewYorkFallBack) {
  const std::string ny = "America/New_York";
  EXPECT_TIME(Next("30 1 * * *", ny, Utc(2024, 11, 2, 12)), Utc(2024, 11, 3, 5, 30));
  EXPECT_TIME(Next("30 1 * * *", ny, Utc(2024, 11, 3, 5, 30)), Utc(2024, 11, 4, 6, 30));
  EXPECT_TIME(Next("0 2 * * *", ny, Utc(2024, 11, 2, 12)), Utc(2024, 11, 3, 7, 0));
  EXPECT_TIME(Next("*/30 * * * *", ny, Utc(2024, 11, 3, 5, 30)), Utc(2024, 11, 3, 7, 0));
}

TEST(NextAfterIntervalTest, AnchorPlusMultiples) {
  const int64_t anchor = Utc(2024, 1, 1) + 123;
  Schedule every_minute = Must(IntervalSpec(60));
  EXPECT_EQ(every_minute.NextAfter(anchor, anchor), anchor + kMinute);
  EXPECT_EQ(every_minute.NextAfter(anchor + kMinute - 1, anchor), anchor + kMinute);
  EXPECT_EQ(every_minute.NextAfter(anchor + kMinute, anchor), anchor + 2 * kMinute);
  EXPECT_EQ(every_minute.NextAfter(anchor + 1000 * kMinute + 7, anchor), anchor + 1001 * kMinute);
  EXPECT_EQ(every_minute.NextAfter(anchor - 1, anchor), anchor);
  EXPECT_EQ(every_minute.NextAfter(anchor - kMinute - 1, anchor), anchor - kMinute);
  // Time zones do not move intervals: exactly 24 h across New York's spring forward.
  Schedule daily = Must(IntervalSpec(86400, "America/New_York"));
  const int64_t a = Utc(2024, 3, 9, 12);
  EXPECT_EQ(daily.NextAfter(a, a), a + kDay);
  Schedule second = Must(IntervalSpec(1));
  EXPECT_EQ(second.NextAfter(5, 0), kSecond);
  // Results past the int64 range are "never".
  EXPECT_EQ(every_minute.NextAfter(INT64_MAX - 5, INT64_MAX - 10), INT64_MAX);
  // Far before the anchor: still on the anchor's lattice, and the first point after `after`.
  const int64_t early = every_minute.NextAfter(INT64_MIN, INT64_MAX);
  EXPECT_GT(early, INT64_MIN);
  EXPECT_LE(early, INT64_MIN + kMinute);
  EXPECT_EQ((static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(early)) % kMinute, 0u);
}

// FirstGapLongerThan: what an RPO is measured against (policy_yaml refuses an RPO shorter
// than the longest gap a cron schedule leaves).
TEST(GapTest, FindsTheFirstGapLongerThanTheLimit) {
  const int64_t from = Utc(2024, 3, 4);  // a Monday
  const int64_t week = 7 * kDay;
  Schedule hourly = Must(CronSpec("0 * * * *"));
  EXPECT_FALSE(hourly.FirstGapLongerThan(kHour, from, from + week, 0).has_value());
  auto gap = hourly.FirstGapLongerThan(kHour - 1, from, from + week, 0);
  ASSERT_TRUE(gap.has_value());
  EXPECT_TIME(gap->from_unix_nanos, Utc(2024, 3, 4, 1));
  EXPECT_TIME(gap->to_unix_nanos, Utc(2024, 3, 4, 2));
  // Office hours on weekdays: the weekend, Friday 17:00 to Monday 09:00.
  Schedule office = Must(CronSpec("0 9-17 * * 1-5"));
  gap = office.FirstGapLongerThan(16 * kHour, from, from + week, 0);
  ASSERT_TRUE(gap.has_value());
  EXPECT_TIME(gap->from_unix_nanos, Utc(2024, 3, 8, 17));
  EXPECT_TIME(gap->to_unix_nanos, Utc(2024, 3, 11, 9));
  EXPECT_FALSE(office.FirstGapLongerThan(64 * kHour, from, from + week, 0).has_value());
  // Paris falls back on October 27: 02:00 fires once, so 00:00 UTC to 02:00 UTC.
  Schedule paris = Must(CronSpec("0 * * * *", "Europe/Paris"));
  gap = paris.FirstGapLongerThan(kHour, Utc(2024, 10, 1), Utc(2024, 11, 1), 0);
  ASSERT_TRUE(gap.has_value());
  EXPECT_TIME(gap->from_unix_nanos, Utc(2024, 10, 27, 0));
  EXPECT_TIME(gap->to_unix_nanos, Utc(2024, 10, 27, 2));
  // A schedule with no fire left says so.
  gap = Must(CronSpec("0 0 1 1 *")).FirstGapLongerThan(kHour, Utc(2262, 1, 2), INT64_MAX, 0);
  ASSERT_TRUE(gap.has_value());
  EXPECT_EQ(gap->to_unix_nanos, INT64_MAX);
}

// NextAfter against a minute-by-minute walk of the instants, for random specs in zones
// with 60- and 30-minute DST shifts and odd offsets, around their 2024 transitions.
TEST(NextAfterZoneTest, AgreesWithMinuteByMinuteWalk) {
  const char* zones[] = {"UTC",           "Europe/Paris",     "America/New_York",
                         "Asia/Kolkata",  "Australia/Sydney", "Australia/Lord_Howe",
                         "Asia/Kathmandu"};
  std::mt19937 rng(7);
  int compared = 0;
  for (int i = 0; i < 350; ++i) {
    const std::string zone_name = zones[i % std::size(zones)];
    absl::TimeZone zone;
    ASSERT_TRUE(absl::LoadTimeZone(zone_name, &zone));
    const reference::RefSpec ref = reference::RandomSpec(rng);
    StatusOr<Schedule> schedule = Schedule::Create(CronSpec(ref.text, zone_name));
    if (!schedule.ok()) continue;  // "can never fire" (cron_test checks those)
    // Mostly within two days of one of the zone's 2024 transitions.
    int64_t center =
        Utc(2024, 1, 1) + std::uniform_int_distribution<int64_t>(0, 365 * 1440)(rng) * kMinute;
    absl::TimeZone::CivilTransition tr;
    const absl::Time year_start = absl::FromUnixNanos(Utc(2024, 1, 1));
    if (i % 4 != 0 && zone.NextTransition(year_start, &tr)) {
      absl::TimeZone::CivilTransition second;
      if (i % 2 == 0 && zone.NextTransition(zone.At(tr.to).pre + absl::Hours(1), &second)) {
        tr = second;
      }
      center = absl::ToUnixNanos(zone.At(tr.to).pre);
    }
    const int64_t after =
        center +
        std::uniform_int_distribution<int64_t>(-2 * kDay, 2 * kDay)(rng) / kSecond * kSecond;
    const int64_t window = 3 * kDay;
    const std::vector<int64_t> fires = reference::RefFires(ref, zone, after, after + window);
    const int64_t next = schedule->NextAfter(after, 0);
    if (!fires.empty()) {
      EXPECT_EQ(Show(next), Show(fires.front()))
          << "'" << ref.text << "' in " << zone_name << " after " << Show(after);
      ++compared;
    } else {
      EXPECT_GT(next, after + window) << "'" << ref.text << "' in " << zone_name;
    }
  }
  EXPECT_GT(compared, 200);
}

}  // namespace
}  // namespace lifeboat::core
