// Cost of the scheduler's tick with 10,000 policies loaded (mixed cron and interval
// schedules in several time zones), and of Schedule::NextAfter.
//
// Target: a tick costs well under 5 ms; a tick where nothing is due should cost next to
// nothing, since the engine ticks often. Full run: scheduler_bench. The suite runs each case
// briefly (label "bench").
#include <benchmark/benchmark.h>
#include <lifeboat/core/scheduler.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace lifeboat::core {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kDay = 1440 * kMinute;
constexpr int kPolicies = 10'000;
// 2024-01-01 00:00:00 UTC.
constexpr int64_t kBase = 1'704'067'200 * kSecond;

const char* const kZones[] = {"",           "Europe/Paris",     "America/New_York",
                              "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"};

const auto kNothingRuns = [](const std::string&) { return false; };

void MustUpsert(Scheduler& s, const v1::Policy& p, int64_t anchor) {
  Status st = s.Upsert(p, anchor, 0);
  if (!st.ok()) {
    std::cerr << "Upsert " << p.name() << ": " << st.ToString() << "\n";
    std::abort();
  }
}

v1::Policy Policy(int i) {
  v1::Policy p;
  p.set_name("policy-" + std::to_string(i));
  p.set_service("service-" + std::to_string(i % 500));
  p.set_priority(i % 3);
  return p;
}

// A realistic mix: a third intervals (5 min to a day, anchors spread out), a third daily
// crons at random times, a third weekday / twice-monthly / every-few-hours crons; zones vary.
std::vector<v1::Policy> MixedPolicies() {
  std::mt19937 rng(42);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int64_t intervals[] = {300, 900, 3600, 4 * 3600, 86400};
  std::vector<v1::Policy> out;
  for (int i = 0; i < kPolicies; ++i) {
    v1::Policy p = Policy(i);
    v1::Schedule* s = p.mutable_schedule();
    s->set_time_zone(kZones[i % std::size(kZones)]);
    const std::string m = std::to_string(pick(0, 59));
    switch (i % 3) {
      case 0:
        s->set_interval_seconds(intervals[pick(0, 4)]);
        break;
      case 1:
        s->set_cron(m + " " + std::to_string(pick(0, 23)) + " * * *");
        break;
      default:
        switch (pick(0, 2)) {
          case 0:
            s->set_cron(m + " " + std::to_string(pick(6, 20)) + " * * MON-FRI");
            break;
          case 1:
            s->set_cron(m + " " + std::to_string(pick(0, 23)) + " 1,15 * *");
            break;
          default:
            s->set_cron(m + " */" + std::to_string(pick(2, 6)) + " * * *");
            break;
        }
    }
    out.push_back(std::move(p));
  }
  return out;
}

void LoadMixed(Scheduler& s, const std::vector<v1::Policy>& policies) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> spread(0, kDay / kSecond);
  for (const v1::Policy& p : policies) MustUpsert(s, p, kBase - spread(rng) * kSecond);
}

// Every policy falls due every minute: intervals of 60 s anchored on the minute, and
// "* * * * *" in zones whose offsets are whole minutes.
void LoadAllEveryMinute(Scheduler& s) {
  for (int i = 0; i < kPolicies; ++i) {
    v1::Policy p = Policy(i);
    if (i % 2 == 0) {
      p.mutable_schedule()->set_interval_seconds(60);
    } else {
      p.mutable_schedule()->set_cron("* * * * *");
      p.mutable_schedule()->set_time_zone(kZones[i % std::size(kZones)]);
    }
    MustUpsert(s, p, kBase);
  }
}

void BM_Upsert10k(benchmark::State& state) {
  const std::vector<v1::Policy> policies = MixedPolicies();
  for (auto _ : state) {
    Scheduler s;
    LoadMixed(s, policies);
    benchmark::DoNotOptimize(s.NextDue());
  }
  state.SetItemsProcessed(state.iterations() * kPolicies);
}
BENCHMARK(BM_Upsert10k)->Unit(benchmark::kMillisecond);

void BM_TickNoneDue(benchmark::State& state) {
  Scheduler s;
  LoadMixed(s, MixedPolicies());
  const int64_t now = s.NextDue() - 1;
  for (auto _ : state) {
    std::vector<Scheduler::Run> runs = s.Tick(now, kNothingRuns);
    if (!runs.empty()) state.SkipWithError("something fell due");
    benchmark::DoNotOptimize(runs);
  }
}
BENCHMARK(BM_TickNoneDue);

// Time moves from one due time to the next, so each tick finds the few policies due then.
void BM_TickFewDue(benchmark::State& state) {
  Scheduler s;
  LoadMixed(s, MixedPolicies());
  int64_t runs_total = 0;
  for (auto _ : state) {
    std::vector<Scheduler::Run> runs = s.Tick(s.NextDue(), kNothingRuns);
    runs_total += static_cast<int64_t>(runs.size());
    benchmark::DoNotOptimize(runs);
  }
  state.counters["runs_per_tick"] =
      benchmark::Counter(static_cast<double>(runs_total), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TickFewDue);

// All 10,000 due at each tick; state.range(0) percent of them still running (skipped).
void BM_TickAllDue(benchmark::State& state) {
  Scheduler s;
  LoadAllEveryMinute(s);
  const int running_percent = static_cast<int>(state.range(0));
  auto is_running = [&](const std::string& p) {
    return std::hash<std::string>()(p) % 100 < static_cast<size_t>(running_percent);
  };
  int64_t now = kBase;
  for (auto _ : state) {
    now += kMinute;
    std::vector<Scheduler::Run> runs = s.Tick(now, is_running);
    if (runs.size() != static_cast<size_t>(kPolicies)) state.SkipWithError("not all were due");
    benchmark::DoNotOptimize(runs);
  }
  state.SetItemsProcessed(state.iterations() * kPolicies);
}
BENCHMARK(BM_TickAllDue)->Arg(0)->Arg(50)->Unit(benchmark::kMillisecond);

// The engine comes back after 30 days: every policy has missed slots and runs once.
void BM_TickAllDueAfter30DaysDown(benchmark::State& state) {
  const std::vector<v1::Policy> policies = MixedPolicies();
  for (auto _ : state) {
    state.PauseTiming();
    Scheduler s;
    LoadMixed(s, policies);
    state.ResumeTiming();
    std::vector<Scheduler::Run> runs = s.Tick(kBase + 30 * kDay, kNothingRuns);
    if (runs.size() != static_cast<size_t>(kPolicies)) state.SkipWithError("not all were due");
    benchmark::DoNotOptimize(runs);
  }
  state.SetItemsProcessed(state.iterations() * kPolicies);
}
BENCHMARK(BM_TickAllDueAfter30DaysDown)->Unit(benchmark::kMillisecond);

// NextAfter, chained from its own result (restarting when it runs off the end).
void NextAfterLoop(benchmark::State& state, const v1::Schedule& spec) {
  StatusOr<Schedule> schedule = Schedule::Create(spec);
  if (!schedule.ok()) {
    state.SkipWithError(schedule.status().ToString().c_str());
    return;
  }
  int64_t t = kBase;
  for (auto _ : state) {
    t = schedule->NextAfter(t, kBase);
    if (t >= kBase + 200LL * 365 * kDay) t = kBase;
    benchmark::DoNotOptimize(t);
  }
}

v1::Schedule Cron(const std::string& cron, const std::string& zone) {
  v1::Schedule s;
  s.set_cron(cron);
  s.set_time_zone(zone);
  return s;
}

void BM_NextAfterCronEvery15MinUtc(benchmark::State& state) {
  NextAfterLoop(state, Cron("*/15 * * * *", ""));
}
BENCHMARK(BM_NextAfterCronEvery15MinUtc);

void BM_NextAfterCronWeekdaysParis(benchmark::State& state) {
  NextAfterLoop(state, Cron("0 9 * * MON-FRI", "Europe/Paris"));
}
BENCHMARK(BM_NextAfterCronWeekdaysParis);

void BM_NextAfterCronDailyInDstGapNewYork(benchmark::State& state) {
  NextAfterLoop(state, Cron("30 2 * * *", "America/New_York"));
}
BENCHMARK(BM_NextAfterCronDailyInDstGapNewYork);

// Years between fires: the search skips by month, never by minute.
void BM_NextAfterCronLeapDayUtc(benchmark::State& state) {
  NextAfterLoop(state, Cron("0 0 29 2 *", ""));
}
BENCHMARK(BM_NextAfterCronLeapDayUtc);

void BM_NextAfterInterval(benchmark::State& state) {
  v1::Schedule s;
  s.set_interval_seconds(3600);
  NextAfterLoop(state, s);
}
BENCHMARK(BM_NextAfterInterval);

}  // namespace
}  // namespace lifeboat::core

BENCHMARK_MAIN();
