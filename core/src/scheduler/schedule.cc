// Schedule: a cron spec or an interval, and the instants they fire at.
//
// Cron fields are matched against civil (wall clock) minutes in the schedule's zone; each
// matching minute is then mapped to one instant:
//   - a civil time that exists once maps to that instant;
//   - one skipped by a forward transition (spring forward) maps to the transition itself,
//     the first valid instant after it, so all slots inside the gap collapse into one fire;
//   - one that occurs twice (fall back) maps to its first occurrence only.
// This mapping never decreases as civil time increases, which is what lets NextAfter and
// LatestAtOrBefore search civil time and convert once at the end.
#include <lifeboat/core/scheduler.h>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "cron.h"

namespace lifeboat::core {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinInt64 = std::numeric_limits<int64_t>::min();
// How far a search goes. Create refuses specs that can never fire, and every other spec
// fires within a few decades (February 29 on a given weekday is the rarest); past 2262 the
// answer does not fit int64 nanoseconds anyway.
constexpr int64_t kSearchYears = 400;
// Bound on the steps over civil minutes that resolve to instants at or before the one
// asked about; only minutes inside a repeated (fall back) hour do, so this never binds.
constexpr int kMaxResolveSteps = 100'000;

// IANA names are ASCII letters, digits and "/_-+". absl takes an absolute path or a
// relative one with ".." as a file to read, so a name from a policy file is checked before
// it gets there: a schedule must not read arbitrary files, nor depend on the host's
// configured local zone ("localtime").
bool LooksLikeZoneName(const std::string& name) {
  if (name.empty() || name.front() == '/' || name == "localtime") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '-' || c == '+';
  });
}

StatusOr<absl::TimeZone> LoadZone(const std::string& name) {
  if (name.empty()) return absl::UTCTimeZone();
  absl::TimeZone zone;
  if (!LooksLikeZoneName(name) || !absl::LoadTimeZone(name, &zone)) {
    return InvalidArgumentError("unknown time zone '" + name +
                                    "' (expected an IANA name such as 'Europe/Paris', or empty "
                                    "for UTC)",
                                "schedule.time_zone");
  }
  return zone;
}

int64_t ToNanos(absl::Time t) {
  if (t >= absl::FromUnixNanos(kMaxInt64)) return kMaxInt64;
  if (t <= absl::FromUnixNanos(kMinInt64)) return kMinInt64;
  return absl::ToUnixNanos(t);
}

cron::Civil ToCivil(absl::CivilMinute m) {
  return cron::Civil{static_cast<int64_t>(m.year()), m.month(), m.day(), m.hour(), m.minute()};
}

absl::CivilMinute FromCivil(const cron::Civil& c) {
  return absl::CivilMinute(c.year, c.month, c.day, c.hour, c.minute);
}

// Interval arithmetic is done in 128 bits so that anchors and times near the ends of the
// int64 range cannot overflow; results are clamped back. (__extension__ keeps -Wpedantic
// quiet about the GCC/Clang type.)
__extension__ typedef __int128 Int128;

// Floor division for a positive divisor.
Int128 FloorDiv(Int128 a, Int128 b) {
  Int128 q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t Clamp(Int128 v) {
  if (v > kMaxInt64) return kMaxInt64;
  if (v < kMinInt64) return kMinInt64;
  return static_cast<int64_t>(v);
}

}  // namespace

struct Schedule::Rep {
  bool is_cron = false;
  cron::CronSpec cron;
  int64_t interval_nanos = 0;
  absl::TimeZone zone;

  // The instant a matching civil minute fires at (see the top of this file).
  int64_t Resolve(const cron::Civil& c) const {
    absl::TimeZone::TimeInfo info =
        zone.At(absl::CivilSecond(c.year, c.month, c.day, c.hour, c.minute, 0));
    switch (info.kind) {
      case absl::TimeZone::TimeInfo::SKIPPED:
        return ToNanos(info.trans);
      case absl::TimeZone::TimeInfo::REPEATED:
      case absl::TimeZone::TimeInfo::UNIQUE:
      default:
        return ToNanos(info.pre);
    }
  }

  absl::CivilMinute CivilAt(int64_t unix_nanos) const {
    return absl::CivilMinute(zone.At(absl::FromUnixNanos(unix_nanos)).cs);
  }
};

StatusOr<Schedule> Schedule::Create(const v1::Schedule& spec) {
  auto rep = std::make_shared<Rep>();
  LIFEBOAT_ASSIGN_OR_RETURN(rep->zone, LoadZone(spec.time_zone()));
  switch (spec.kind_case()) {
    case v1::Schedule::kCron: {
      LIFEBOAT_ASSIGN_OR_RETURN(rep->cron, cron::CronSpec::Parse(spec.cron()));
      rep->is_cron = true;
      break;
    }
    case v1::Schedule::kIntervalSeconds: {
      const int64_t s = spec.interval_seconds();
      if (s < 1) {
        return InvalidArgumentError(
            "interval_seconds must be at least 1, found " + std::to_string(s),
            "schedule.interval_seconds");
      }
      if (s > kMaxInt64 / kNanosPerSecond) {
        return InvalidArgumentError("interval_seconds " + std::to_string(s) +
                                        " is too large (at most " +
                                        std::to_string(kMaxInt64 / kNanosPerSecond) + ")",
                                    "schedule.interval_seconds");
      }
      rep->interval_nanos = s * kNanosPerSecond;
      break;
    }
    case v1::Schedule::KIND_NOT_SET:
    default:
      return InvalidArgumentError("set either cron or interval_seconds", "schedule");
  }
  return Schedule(std::move(rep));
}

int64_t Schedule::NextAfter(int64_t after_unix_nanos, int64_t anchor_unix_nanos) const {
  const Rep& rep = *rep_;
  if (!rep.is_cron) {
    // anchor + k * interval for the smallest k with a result > after.
    const Int128 k = FloorDiv(Int128{after_unix_nanos} - anchor_unix_nanos, rep.interval_nanos) + 1;
    return Clamp(Int128{anchor_unix_nanos} + k * rep.interval_nanos);
  }
  // The civil minute containing `after` resolves to an instant at or before it (its first
  // occurrence, when it occurs twice), so the search starts one minute later. Minutes of a
  // repeated hour can still resolve to earlier instants when `after` lies in its second
  // pass: those are stepped over.
  absl::CivilMinute from = rep.CivilAt(after_unix_nanos) + 1;
  const int64_t last_year = std::min<int64_t>(from.year() + kSearchYears, 2262);
  for (int i = 0; i < kMaxResolveSteps; ++i) {
    std::optional<cron::Civil> c = rep.cron.NextAtOrAfter(ToCivil(from), last_year);
    if (!c) return kMaxInt64;
    const int64_t fire = rep.Resolve(*c);
    if (fire > after_unix_nanos || fire == kMaxInt64) return fire;
    from = FromCivil(*c) + 1;
  }
  return kMaxInt64;
}

Schedule::Around Schedule::SlotsAround(int64_t now_unix_nanos, int64_t anchor_unix_nanos) const {
  const Rep& rep = *rep_;
  if (!rep.is_cron) {
    const Int128 k = FloorDiv(Int128{now_unix_nanos} - anchor_unix_nanos, rep.interval_nanos);
    const Int128 latest = Int128{anchor_unix_nanos} + k * rep.interval_nanos;
    return Around{Clamp(latest), Clamp(latest + rep.interval_nanos)};
  }
  // Every minute up to the one containing `now` resolves at or before `now`, so the last
  // match there is a fire time at or before `now`. It is the latest one unless `now` lies in
  // the second pass of a repeated hour, whose later minutes resolve to the first pass:
  // step forward over those.
  const absl::CivilMinute at = rep.CivilAt(now_unix_nanos);
  std::optional<cron::Civil> c = rep.cron.PrevAtOrBefore(ToCivil(at), at.year() - kSearchYears);
  Around around{kMinInt64, kMinInt64};
  if (c) around.latest = rep.Resolve(*c);
  for (int i = 0; i < kMaxResolveSteps; ++i) {
    around.next =
        NextAfter(around.latest == kMinInt64 ? now_unix_nanos : around.latest, anchor_unix_nanos);
    if (around.next > now_unix_nanos) return around;
    around.latest = around.next;
  }
  around.next = NextAfter(now_unix_nanos, anchor_unix_nanos);
  return around;
}

std::optional<Schedule::Gap> Schedule::FirstGapLongerThan(int64_t limit_nanos,
                                                          int64_t from_unix_nanos,
                                                          int64_t until_unix_nanos,
                                                          int64_t anchor_unix_nanos) const {
  int64_t at = NextAfter(from_unix_nanos, anchor_unix_nanos);
  if (at == kMaxInt64) return Gap{from_unix_nanos, kMaxInt64};
  while (at <= until_unix_nanos) {
    // The last fire within the limit after `at`: every gap up to it is within the limit.
    const int64_t window_end = Clamp(Int128{at} + std::max<int64_t>(limit_nanos, 0));
    const int64_t latest = SlotsAround(window_end, anchor_unix_nanos).latest;
    if (latest <= at) return Gap{at, NextAfter(at, anchor_unix_nanos)};
    at = latest;
  }
  return std::nullopt;
}

Schedule::Schedule(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
Schedule::Schedule(const Schedule&) = default;
Schedule& Schedule::operator=(const Schedule&) = default;
Schedule::Schedule(Schedule&&) noexcept = default;
Schedule& Schedule::operator=(Schedule&&) noexcept = default;
Schedule::~Schedule() = default;

}  // namespace lifeboat::core
