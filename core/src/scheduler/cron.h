// A parsed 5-field cron expression and the search for matching civil minutes. No time
// zones here: schedule.cc maps civil minutes to instants (and applies the DST rules).
//
// Thread-safety: CronSpec is a value; const methods may be called from several threads.
#ifndef LIFEBOAT_CORE_SRC_SCHEDULER_CRON_H_
#define LIFEBOAT_CORE_SRC_SCHEDULER_CRON_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace lifeboat::core::cron {

// A proleptic Gregorian minute, fields in their usual ranges (month 1-12, day 1-31).
struct Civil {
  int64_t year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;

  friend bool operator==(const Civil&, const Civil&) = default;
};

// Days since 1970-01-01 of a valid date.
int64_t DaysFromCivil(int64_t year, int month, int day);
// 0 = Sunday ... 6 = Saturday, as cron counts.
int Weekday(int64_t year, int month, int day);
int DaysInMonth(int64_t year, int month);

class CronSpec {
 public:
  // Parses 5 fields (minute hour day-of-month month day-of-week) or one of the macros
  // @hourly @daily @midnight @weekly @monthly @yearly @annually. Fields take `*`, numbers,
  // names (JAN-DEC, SUN-SAT, any case), lists `a,b`, ranges `a-b` and steps `*/n`, `a-b/n`
  // and `a/n` (a through the field's maximum). Day-of-week 7 is Sunday, like 0.
  //
  // Errors: INVALID_ARGUMENT with subject "schedule.cron" and a message quoting the
  // expression, the offending field and why ("minute field '61' is out of range 0-59").
  // A spec that can never fire ("0 0 30 2 *") is refused too.
  static StatusOr<CronSpec> Parse(std::string_view text);

  // Vixie cron's day rule: when both day fields are restricted (neither starts with '*'), a
  // day matches if EITHER matches; otherwise both must (a '*' field matches every day).
  // Note that "*/2" starts with '*' and so does not count as restricted, as in Vixie cron.
  bool DayMatches(int64_t year, int month, int day) const;
  bool Matches(const Civil& c) const;

  // The first matching minute at or after `from` (a valid civil minute), or nullopt when
  // there is none up to the end of `last_year`. Skips whole months, days and hours that
  // cannot match, so a search over years costs a few hundred steps, not a scan by minute.
  std::optional<Civil> NextAtOrAfter(Civil from, int64_t last_year) const;
  // The last matching minute at or before `from`, or nullopt when there is none back to the
  // start of `first_year`.
  std::optional<Civil> PrevAtOrBefore(Civil from, int64_t first_year) const;

 private:
  uint64_t minutes_ = 0;   // bit m: minute m (0-59)
  uint32_t hours_ = 0;     // bit h: hour h (0-23)
  uint32_t days_ = 0;      // bit d: day of month d (1-31)
  uint32_t months_ = 0;    // bit m: month m (1-12)
  uint32_t weekdays_ = 0;  // bit w: weekday w (0 = Sunday ... 6)
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

}  // namespace lifeboat::core::cron

#endif  // LIFEBOAT_CORE_SRC_SCHEDULER_CRON_H_
