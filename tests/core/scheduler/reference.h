// A slow, obviously correct model of cron schedules for property tests: it walks instants
// minute by minute and decides from first principles whether each one fires.
//
//   - a civil minute fires at the first instant the zone's clock shows it (so a repeated
//     minute fires on its first pass only);
//   - when the clock jumps forward over some minutes, the instant of the jump fires if any
//     skipped minute matches.
//
// Only for zones whose offsets are whole minutes (all zones in use today).
#ifndef LIFEBOAT_TESTS_CORE_SCHEDULER_REFERENCE_H_
#define LIFEBOAT_TESTS_CORE_SCHEDULER_REFERENCE_H_

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace lifeboat::core::reference {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// Nanoseconds since the epoch of a UTC civil time.
inline int64_t Utc(int64_t y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::ToUnixNanos(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

// "2024-03-31 01:00:00 UTC" for failure messages.
inline std::string Show(int64_t unix_nanos) {
  if (unix_nanos == INT64_MAX) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M:%E*S UTC", absl::FromUnixNanos(unix_nanos),
                          absl::UTCTimeZone());
}

// A cron expression with the sets it stands for, built together so the two agree.
struct RefSpec {
  std::string text;
  std::set<int> minute, hour, dom, month, dow;  // dow: 0 = Sunday
  bool dom_star = false;
  bool dow_star = false;

  bool Matches(absl::CivilMinute c) const {
    if (!minute.count(c.minute()) || !hour.count(c.hour()) || !month.count(c.month())) {
      return false;
    }
    const int wd = (static_cast<int>(absl::GetWeekday(absl::CivilDay(c))) + 1) % 7;
    const bool d = dom.count(c.day()) > 0;
    const bool w = dow.count(wd) > 0;
    return (dom_star || dow_star) ? (d && w) : (d || w);
  }
};

// One random field: "*", "*/n", or a list of values and ranges.
inline std::string RandomField(std::mt19937& rng, int lo, int hi, double star, std::set<int>& out,
                               bool& is_star) {
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> value(lo, hi);
  const double r = u(rng);
  is_star = false;
  if (r < star) {
    for (int v = lo; v <= hi; ++v) out.insert(v);
    is_star = true;
    return "*";
  }
  if (r < star + 0.1) {
    const int step = std::uniform_int_distribution<int>(2, 5)(rng);
    for (int v = lo; v <= hi; v += step) out.insert(v);
    is_star = true;
    return "*/" + std::to_string(step);
  }
  std::string text;
  const int n = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < n; ++i) {
    int a = value(rng);
    int b = value(rng);
    if (a > b) std::swap(a, b);
    if (!text.empty()) text += ",";
    if (u(rng) < 0.6 || a == b) {
      out.insert(a);
      text += std::to_string(a);
    } else {
      for (int v = a; v <= b; ++v) out.insert(v);
      text += std::to_string(a) + "-" + std::to_string(b);
    }
  }
  return text;
}

inline RefSpec RandomSpec(std::mt19937& rng) {
  RefSpec s;
  bool ignored = false;
  s.text = RandomField(rng, 0, 59, 0.3, s.minute, ignored);
  s.text += " " + RandomField(rng, 0, 23, 0.4, s.hour, ignored);
  s.text += " " + RandomField(rng, 1, 31, 0.5, s.dom, s.dom_star);
  s.text += " " + RandomField(rng, 1, 12, 0.7, s.month, ignored);
  std::set<int> dow;
  s.text += " " + RandomField(rng, 0, 7, 0.5, dow, s.dow_star);
  for (int v : dow) s.dow.insert(v % 7);  // 7 is Sunday too
  return s;
}

// Every fire instant in (from, to], from a minute-by-minute walk that starts early enough
// to have seen the first pass of any repeated minute.
inline std::vector<int64_t> RefFires(const RefSpec& spec, const absl::TimeZone& zone, int64_t from,
                                     int64_t to) {
  std::vector<int64_t> fires;
  const int64_t start = from - from % kMinute - 6 * kHour;
  auto civil = [&](int64_t t) { return absl::CivilMinute(zone.At(absl::FromUnixNanos(t)).cs); };
  std::set<absl::CivilMinute> seen;
  absl::CivilMinute prev = civil(start - kMinute);
  for (int64_t t = start; t <= to; t += kMinute) {
    const absl::CivilMinute c = civil(t);
    bool fire = false;
    for (absl::CivilMinute m = prev + 1; m < c; ++m) fire = fire || spec.Matches(m);  // a gap
    if (seen.insert(c).second) fire = fire || spec.Matches(c);
    prev = c;
    if (fire && t > from) fires.push_back(t);
  }
  return fires;
}

}  // namespace lifeboat::core::reference

#endif  // LIFEBOAT_TESTS_CORE_SCHEDULER_REFERENCE_H_
