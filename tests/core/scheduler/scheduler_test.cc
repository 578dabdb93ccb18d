// Scheduler: missed runs, overlap, ordering, pause, remove, upsert, and the load
// test (1,000 policies falling due at once, runs longer than their interval).
#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lifeboat/core/scheduler.h>

#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "reference.h"

namespace lifeboat::core {
namespace {

using reference::kDay;
using reference::kHour;
using reference::kMinute;
using reference::kSecond;
using reference::Show;
using reference::Utc;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using DueRun = Scheduler::Run;  // "Run" would name testing::Test::Run in a TEST body

const auto kNothingRuns = [](const std::string&) { return false; };

v1::Policy Cron(const std::string& name, const std::string& cron,
                const std::string& service = "svc", int32_t priority = 0,
                const std::string& zone = "") {
  v1::Policy p;
  p.set_name(name);
  p.set_service(service);
  p.set_priority(priority);
  p.mutable_schedule()->set_cron(cron);
  p.mutable_schedule()->set_time_zone(zone);
  return p;
}

v1::Policy Every(const std::string& name, int64_t seconds, const std::string& service = "svc",
                 int32_t priority = 0) {
  v1::Policy p;
  p.set_name(name);
  p.set_service(service);
  p.set_priority(priority);
  p.mutable_schedule()->set_interval_seconds(seconds);
  return p;
}

std::vector<std::string> Names(const std::vector<DueRun>& runs) {
  std::vector<std::string> out;
  for (const DueRun& r : runs) out.push_back(r.policy);
  return out;
}

// Adds a policy whose first slot is exactly `due` (an hourly interval anchored an hour
// before), so that tests can line up what falls due when.
void AddDueAt(Scheduler& s, const std::string& name, const std::string& service, int64_t due,
              int32_t priority = 0) {
  ASSERT_TRUE(s.Upsert(Every(name, 3600, service, priority), due - kHour, 0).ok());
}

TEST(SchedulerTest, EmptyHasNothingDue) {
  Scheduler s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.NextDue(), INT64_MAX);
  EXPECT_TRUE(s.Tick(Utc(2030, 1, 1), kNothingRuns).empty());
}

TEST(SchedulerTest, RunsEachSlotWhenItFallsDue) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(s.Upsert(Every("p", 60), t0, 0).ok());
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.NextDue(), t0 + kMinute);
  EXPECT_TRUE(s.Tick(t0 + kMinute - 1, kNothingRuns).empty());
  std::vector<DueRun> runs = s.Tick(t0 + kMinute, kNothingRuns);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].policy, "p");
  EXPECT_EQ(runs[0].service, "svc");
  EXPECT_EQ(runs[0].scheduled_unix_nanos, t0 + kMinute);
  EXPECT_FALSE(runs[0].skipped);
  EXPECT_EQ(s.NextDue(), t0 + 2 * kMinute);
  EXPECT_TRUE(s.Tick(t0 + kMinute, kNothingRuns).empty());  // a slot is returned once
  runs = s.Tick(t0 + 2 * kMinute + 30 * kSecond, kNothingRuns);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].scheduled_unix_nanos, t0 + 2 * kMinute);
}

TEST(SchedulerTest, MissedSlotsAfterLongDowntimeRunOnce) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  // Hourly cron; its last run was for 05:00; the engine comes back 45 days later.
  ASSERT_TRUE(s.Upsert(Cron("hourly", "0 * * * *"), t0, Utc(2024, 1, 1, 5)).ok());
  // Interval: last ran for slot 7, comes back after slot 1000.
  ASSERT_TRUE(s.Upsert(Every("interval", 60), t0, t0 + 7 * kMinute).ok());
  // Daily at 02:30 Paris, last run March 29; the 31st's 02:30 does not exist (01:00 UTC).
  ASSERT_TRUE(
      s.Upsert(Cron("paris", "30 2 * * *", "svc", 0, "Europe/Paris"), t0, Utc(2024, 3, 29, 1, 30))
          .ok());
  EXPECT_EQ(s.NextDue(), t0 + 8 * kMinute);

  const int64_t now = Utc(2024, 3, 31, 5, 42, 10);
  std::vector<DueRun> runs = s.Tick(now, kNothingRuns);
  std::map<std::string, int64_t> slot;
  for (const DueRun& r : runs) {
    EXPECT_FALSE(r.skipped);
    EXPECT_TRUE(slot.emplace(r.policy, r.scheduled_unix_nanos).second) << r.policy << " twice";
  }
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(Show(slot["hourly"]), Show(Utc(2024, 3, 31, 5)));
  const int64_t minutes = (now - t0) / kMinute;
  EXPECT_EQ(slot["interval"], t0 + minutes * kMinute);
  EXPECT_EQ(Show(slot["paris"]), Show(Utc(2024, 3, 31, 1)));
  // Next due strictly after now, and the same tick again runs nothing.
  EXPECT_EQ(s.NextDue(), t0 + (minutes + 1) * kMinute);
  EXPECT_TRUE(s.Tick(now, kNothingRuns).empty());
  runs = s.Tick(Utc(2024, 3, 31, 6), kNothingRuns);
  EXPECT_THAT(Names(runs), ElementsAre("hourly", "interval"));
}

TEST(SchedulerTest, RunStillGoingMakesTheSlotSkippedAndAdvances) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(s.Upsert(Every("p", 60), t0, 0).ok());
  ASSERT_TRUE(s.Upsert(Every("q", 60), t0, 0).ok());
  std::set<std::string> running;
  auto is_running = [&](const std::string& p) { return running.count(p) > 0; };
  std::vector<DueRun> runs = s.Tick(t0 + kMinute, is_running);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_FALSE(runs[0].skipped);
  EXPECT_FALSE(runs[1].skipped);
  running.insert("p");  // p's run takes longer than a minute
  runs = s.Tick(t0 + 2 * kMinute, is_running);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].policy, "p");
  EXPECT_TRUE(runs[0].skipped);
  EXPECT_EQ(runs[0].scheduled_unix_nanos, t0 + 2 * kMinute);
  EXPECT_EQ(runs[1].policy, "q");
  EXPECT_FALSE(runs[1].skipped);
  EXPECT_EQ(s.NextDue(), t0 + 3 * kMinute);  // p advanced past the skipped slot
  EXPECT_TRUE(s.Tick(t0 + 2 * kMinute + kSecond, is_running).empty());
  running.clear();
  runs = s.Tick(t0 + 3 * kMinute, is_running);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_FALSE(runs[0].skipped);
  EXPECT_EQ(runs[0].scheduled_unix_nanos, t0 + 3 * kMinute);
}

TEST(SchedulerTest, HigherPriorityFirst) {
  Scheduler s;
  const int64_t t = Utc(2024, 1, 1, 12);
  AddDueAt(s, "a-low", "svc", t, -5);
  AddDueAt(s, "b-high", "svc", t, 10);
  AddDueAt(s, "c-normal", "svc", t, 0);
  AddDueAt(s, "d-high", "svc", t, 10);
  EXPECT_THAT(Names(s.Tick(t, kNothingRuns)), ElementsAre("b-high", "d-high", "c-normal", "a-low"));
}

TEST(SchedulerTest, ServiceThatStartedLeastRecentlyGoesFirst) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  AddDueAt(s, "c-first", "C", t0);
  AddDueAt(s, "a-first", "A", t0 + kMinute);
  EXPECT_THAT(Names(s.Tick(t0, kNothingRuns)), ElementsAre("c-first"));
  EXPECT_THAT(Names(s.Tick(t0 + kMinute, kNothingRuns)), ElementsAre("a-first"));
  // B never started, C started at t0, A at t0 + 1 min: B, C, A, whatever the names say.
  const int64_t t = t0 + kHour / 2;
  AddDueAt(s, "a2", "A", t);
  AddDueAt(s, "b2", "B", t);
  AddDueAt(s, "c2", "C", t);
  EXPECT_THAT(Names(s.Tick(t, kNothingRuns)), ElementsAre("b2", "c2", "a2"));
}

TEST(SchedulerTest, ServicesTakeTurnsWithinAPriority) {
  Scheduler s;
  const int64_t t = Utc(2024, 1, 1, 12);
  AddDueAt(s, "x1", "X", t);
  AddDueAt(s, "x2", "X", t);
  AddDueAt(s, "x3", "X", t);
  AddDueAt(s, "y1", "Y", t);
  AddDueAt(s, "y2", "Y", t);
  AddDueAt(s, "z-urgent", "X", t, 1);  // priority still comes first
  // Neither started: names break the tie (x1 < y1); then X has just started, so Y goes.
  EXPECT_THAT(Names(s.Tick(t, kNothingRuns)),
              ElementsAre("z-urgent", "y1", "x1", "y2", "x2", "x3"));
}

TEST(SchedulerTest, PolicyNamesOrderRunsOfOneService) {
  Scheduler s;
  const int64_t t = Utc(2024, 1, 1, 12);
  for (const char* name : {"m", "b", "z", "a"}) AddDueAt(s, name, "svc", t);
  EXPECT_THAT(Names(s.Tick(t, kNothingRuns)), ElementsAre("a", "b", "m", "z"));
}

TEST(SchedulerTest, SkippedRunIsNotAStartForFairness) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  AddDueAt(s, "t-first", "T", t0);
  AddDueAt(s, "s-busy", "S", t0 + kMinute);
  EXPECT_THAT(Names(s.Tick(t0, kNothingRuns)), ElementsAre("t-first"));
  std::vector<DueRun> runs = s.Tick(t0 + kMinute, [](const std::string&) { return true; });
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].skipped);
  // S has not started anything (its only run was skipped), T has: S first, though "t2" < "u2".
  const int64_t t = t0 + kHour / 2;
  AddDueAt(s, "t2", "T", t);
  AddDueAt(s, "u2", "S", t);
  EXPECT_THAT(Names(s.Tick(t, kNothingRuns)), ElementsAre("u2", "t2"));
}

TEST(SchedulerTest, PausedPoliciesNeverFallDue) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  v1::Policy p = Every("paused", 60);
  p.set_paused(true);
  ASSERT_TRUE(s.Upsert(p, t0, 0).ok());
  ASSERT_TRUE(s.Upsert(Every("active", 3600), t0, 0).ok());
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.NextDue(), t0 + kHour);
  for (int64_t now = t0; now < t0 + 3 * kHour; now += 7 * kMinute) {
    for (const DueRun& r : s.Tick(now, kNothingRuns)) EXPECT_NE(r.policy, "paused");
  }
  // Resumed: the slots missed while paused make one run, like after downtime.
  p.set_paused(false);
  ASSERT_TRUE(s.Upsert(p, t0, 0).ok());
  const int64_t now = t0 + 3 * kHour + 30 * kSecond;
  std::map<std::string, int64_t> slots;
  for (const DueRun& r : s.Tick(now, kNothingRuns)) slots[r.policy] = r.scheduled_unix_nanos;
  EXPECT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots["paused"], t0 + 3 * kHour);
  EXPECT_EQ(slots["active"], t0 + 3 * kHour);
  // Paused again: gone from the index.
  p.set_paused(true);
  ASSERT_TRUE(s.Upsert(p, t0, 0).ok());
  EXPECT_EQ(s.NextDue(), t0 + 4 * kHour);  // "active"'s next slot
}

TEST(SchedulerTest, RemovedPoliciesStopRunning) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(s.Upsert(Every("soon", 60), t0, 0).ok());
  ASSERT_TRUE(s.Upsert(Every("later", 600), t0, 0).ok());
  EXPECT_EQ(s.NextDue(), t0 + kMinute);
  s.Remove("soon");
  s.Remove("no-such-policy");
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.NextDue(), t0 + 10 * kMinute);
  EXPECT_THAT(Names(s.Tick(t0 + 10 * kMinute, kNothingRuns)), ElementsAre("later"));
  s.Remove("later");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.NextDue(), INT64_MAX);
  EXPECT_TRUE(s.Tick(t0 + kDay, kNothingRuns).empty());
  ASSERT_TRUE(s.Upsert(Every("soon", 60), t0, 0).ok());  // can come back
  EXPECT_EQ(s.size(), 1u);
}

TEST(SchedulerTest, ChangedScheduleRecomputesTheNextSlot) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(s.Upsert(Cron("p", "0 * * * *"), t0, 0).ok());
  EXPECT_EQ(s.NextDue(), Utc(2024, 1, 1, 1));
  ASSERT_TRUE(s.Upsert(Cron("p", "30 6 * * *"), t0, 0).ok());
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.NextDue(), Utc(2024, 1, 1, 6, 30));
  EXPECT_TRUE(s.Tick(Utc(2024, 1, 1, 1), kNothingRuns).empty());  // the old slot is gone
  ASSERT_TRUE(s.Upsert(Cron("p", "30 6 * * *", "svc", 0, "America/New_York"), t0, 0).ok());
  EXPECT_EQ(s.NextDue(), Utc(2024, 1, 1, 11, 30));
  ASSERT_TRUE(s.Upsert(Every("p", 600), t0, 0).ok());
  EXPECT_EQ(s.NextDue(), t0 + 10 * kMinute);
  std::vector<DueRun> runs = s.Tick(t0 + 10 * kMinute, kNothingRuns);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].scheduled_unix_nanos, t0 + 10 * kMinute);
  // Changed after that run: the new schedule's first slot after what was already run.
  ASSERT_TRUE(s.Upsert(Cron("p", "*/5 * * * *"), t0, 0).ok());
  EXPECT_EQ(s.NextDue(), t0 + 15 * kMinute);
}

TEST(SchedulerTest, UnchangedUpsertAfterATickDoesNotRunTheSlotAgain) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(s.Upsert(Every("p", 60, "svc", 1), t0, 0).ok());
  ASSERT_EQ(s.Tick(t0 + kMinute, kNothingRuns).size(), 1u);
  // Re-applied before the engine recorded the run (last_run still 0); priority changed.
  ASSERT_TRUE(s.Upsert(Every("p", 60, "svc", 7), t0, 0).ok());
  EXPECT_EQ(s.NextDue(), t0 + 2 * kMinute);
  EXPECT_TRUE(s.Tick(t0 + kMinute, kNothingRuns).empty());
  // A last run later than what the scheduler knows moves the next slot on.
  ASSERT_TRUE(s.Upsert(Every("p", 60, "svc", 7), t0, t0 + 5 * kMinute).ok());
  EXPECT_EQ(s.NextDue(), t0 + 6 * kMinute);
}

TEST(SchedulerTest, InvalidUpsertKeepsThePolicyAsItWas) {
  Scheduler s;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(s.Upsert(Every("p", 60), t0, 0).ok());
  Status bad = s.Upsert(Cron("p", "0 25 * * *"), t0, 0);
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.subject(), "schedule.cron");
  EXPECT_THAT(bad.message(), HasSubstr("policy 'p'"));
  EXPECT_THAT(bad.message(), HasSubstr("hour field '25' is out of range 0-23"));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.NextDue(), t0 + kMinute);
  v1::Policy unnamed = Every("", 60);
  EXPECT_EQ(s.Upsert(unnamed, t0, 0).code(), Code::kInvalidArgument);
  v1::Policy no_schedule;
  no_schedule.set_name("q");
  EXPECT_EQ(s.Upsert(no_schedule, t0, 0).subject(), "schedule");
  EXPECT_EQ(s.size(), 1u);
}

TEST(SchedulerTest, MovedSchedulerKeepsItsPolicies) {
  Scheduler a;
  const int64_t t0 = Utc(2024, 1, 1);
  ASSERT_TRUE(a.Upsert(Every("p", 60), t0, 0).ok());
  Scheduler b = std::move(a);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.NextDue(), t0 + kMinute);
  b.Remove("p");  // the index moved along with the entries
  EXPECT_EQ(b.NextDue(), INT64_MAX);
}

// After a gap, the slot returned is the latest one at or before now, per a minute-by-minute
// walk, including across DST transitions and from inside a repeated hour.
TEST(SchedulerTest, CatchUpSlotAgreesWithMinuteByMinuteWalk) {
  // Each zone with its 2024 transitions (UTC): spring forward, fall back (Lord Howe moves
  // its clocks by 30 minutes).
  struct ZoneCase {
    const char* zone;
    int64_t transitions[2];
  };
  const ZoneCase zones[] = {
      {"UTC", {Utc(2024, 3, 31, 1), Utc(2024, 10, 27, 1)}},
      {"Europe/Paris", {Utc(2024, 3, 31, 1), Utc(2024, 10, 27, 1)}},
      {"America/New_York", {Utc(2024, 3, 10, 7), Utc(2024, 11, 3, 6)}},
      {"Australia/Lord_Howe", {Utc(2024, 10, 5, 15, 30), Utc(2024, 4, 6, 15)}},
  };
  std::mt19937 rng(11);
  int compared = 0;
  for (int i = 0; i < 250; ++i) {
    const ZoneCase& zc = zones[i % std::size(zones)];
    const std::string zone_name = zc.zone;
    absl::TimeZone zone;
    ASSERT_TRUE(absl::LoadTimeZone(zone_name, &zone));
    const reference::RefSpec ref = reference::RandomSpec(rng);
    Scheduler s;
    const int64_t now =
        zc.transitions[(i / std::size(zones)) % 2] +
        std::uniform_int_distribution<int64_t>(-3 * kHour, 3 * kHour)(rng) / kSecond * kSecond;
    const int64_t anchor = now - 3 * kDay;
    if (!s.Upsert(Cron("p", ref.text, "svc", 0, zone_name), anchor, 0).ok()) continue;
    const std::vector<int64_t> fires = reference::RefFires(ref, zone, anchor, now);
    std::vector<DueRun> runs = s.Tick(now, kNothingRuns);
    if (fires.empty()) {
      EXPECT_TRUE(runs.empty()) << ref.text;
      continue;
    }
    ASSERT_EQ(runs.size(), 1u) << ref.text;
    EXPECT_EQ(Show(runs[0].scheduled_unix_nanos), Show(fires.back()))
        << "'" << ref.text << "' in " << zone_name << " at " << Show(now);
    EXPECT_GT(s.NextDue(), now);
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

// The test: 1,000 policies falling due at once, runs that often take longer than
// the interval, ticks more often than slots. Every slot of every policy must come out
// exactly once, as a run or as skipped; a run never starts while the policy's previous
// run is going; and a skipped slot is reported only when it really was going.
TEST(SchedulerTest, ThousandPoliciesDueAtOnceAllRunNoneOverlapNoneLost) {
  constexpr int kPolicies = 1000;
  const char* zones[] = {"", "Europe/Paris", "America/New_York", "Asia/Kolkata"};
  Scheduler s;
  const int64_t t0 = Utc(2024, 3, 31, 0, 30);  // spans Paris's spring forward (01:00 UTC)
  std::vector<std::string> names;
  for (int i = 0; i < kPolicies; ++i) {
    names.push_back("policy-" + std::to_string(i));
    v1::Policy p =
        i % 2 == 0 ? Every(names.back(), 60) : Cron(names.back(), "* * * * *", "", 0, zones[i % 4]);
    p.set_service("svc-" + std::to_string(i % 37));
    p.set_priority(i % 3);
    ASSERT_TRUE(s.Upsert(p, t0, 0).ok());
  }
  ASSERT_EQ(s.size(), static_cast<size_t>(kPolicies));

  std::mt19937 rng(1000);
  std::uniform_int_distribution<int64_t> duration(10 * kSecond, 200 * kSecond);
  std::map<std::string, int64_t> running;  // policy -> when its run ends
  std::map<std::string, std::set<int64_t>> accounted;
  int started = 0;
  int skipped = 0;
  const int64_t step = 17 * kSecond;  // several ticks per slot, not aligned with slots
  const int64_t end = t0 + 90 * kMinute + step;
  int64_t now = t0;
  bool first_due_tick = true;
  for (; now <= end; now += step) {
    for (auto it = running.begin(); it != running.end();) {
      it = it->second <= now ? running.erase(it) : std::next(it);
    }
    std::vector<DueRun> runs =
        s.Tick(now, [&](const std::string& p) { return running.count(p) > 0; });
    if (!runs.empty() && first_due_tick) {
      EXPECT_EQ(runs.size(), static_cast<size_t>(kPolicies));  // all at once
      first_due_tick = false;
    }
    for (size_t i = 0; i < runs.size(); ++i) {
      const DueRun& r = runs[i];
      if (i > 0) {
        EXPECT_GE(std::stoi(runs[i - 1].policy.substr(7)) % 3, std::stoi(r.policy.substr(7)) % 3)
            << "priority order";
      }
      // Reported at the first tick at or after its slot, and the slot is on the minute.
      EXPECT_LE(r.scheduled_unix_nanos, now);
      EXPECT_GT(r.scheduled_unix_nanos, now - step);
      EXPECT_EQ((r.scheduled_unix_nanos - t0) % kMinute, 0);
      EXPECT_TRUE(accounted[r.policy].insert(r.scheduled_unix_nanos).second)
          << r.policy << " slot " << Show(r.scheduled_unix_nanos) << " twice";
      if (r.skipped) {
        EXPECT_TRUE(running.count(r.policy)) << r.policy << " skipped but not running";
        ++skipped;
      } else {
        EXPECT_FALSE(running.count(r.policy)) << r.policy << " started twice at once";
        running[r.policy] = now + duration(rng);
        ++started;
      }
    }
  }
  const int64_t last_tick = now - step;
  const int64_t slots = (last_tick - t0) / kMinute;
  ASSERT_EQ(slots, 90);
  for (const std::string& name : names) {
    std::set<int64_t> expected;
    for (int64_t k = 1; k <= slots; ++k) expected.insert(t0 + k * kMinute);
    EXPECT_EQ(accounted[name], expected) << name << ": a slot was lost or invented";
  }
  EXPECT_EQ(started + skipped, kPolicies * slots);
  EXPECT_GT(started, kPolicies * 10);  // every policy ran, many times
  EXPECT_GT(skipped, kPolicies * 10);  // and runs longer than a minute were skipped over
}

}  // namespace
}  // namespace lifeboat::core
