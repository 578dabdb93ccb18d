// When policies run: schedules (5-field cron or an interval, in UTC or an IANA time zone)
// and the scheduler that turns them into runs.
//
// Rules: after downtime a missed run is run once, not once per missed slot; a run of a
// policy that falls due while that policy's previous run is still going is skipped and
// reported as skipped; runs that fall due together start in priority order (higher
// first), then by how long their service has waited (fairness), then by name.
//
// Thread-safety: Schedule is immutable. Scheduler is not thread-safe; the engine calls it
// from one thread.
#ifndef LIFEBOAT_CORE_SCHEDULER_H_
#define LIFEBOAT_CORE_SCHEDULER_H_

#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lifeboat::core {

class Schedule {
 public:
  // INVALID_ARGUMENT naming the field ("schedule.cron", "schedule.time_zone", ...), the
  // offending text and why: "minute field '61' is out of range 0-59". A cron spec that can
  // never fire ("0 0 30 2 *") is refused too.
  //
  // Cron follows Vixie cron: when day-of-month and day-of-week are both restricted (neither
  // starts with '*'), a day matches if either does. Fields are matched against the wall
  // clock of the zone: a time skipped by a DST change fires once, at the first instant
  // after the gap; a time that occurs twice fires once, at its first occurrence.
  static StatusOr<Schedule> Create(const v1::Schedule& spec);

  // The first fire time strictly after `after_unix_nanos` (nanoseconds since the epoch), or
  // INT64_MAX when there is none that fits int64 nanoseconds (after April 2262).
  // For an interval, fires are anchor + k * interval; `anchor_unix_nanos` is when the policy
  // was first applied.
  int64_t NextAfter(int64_t after_unix_nanos, int64_t anchor_unix_nanos) const;

  // Two consecutive fires, and the time between them.
  struct Gap {
    int64_t from_unix_nanos = 0;
    int64_t to_unix_nanos = 0;  // INT64_MAX: it never fires again
  };
  // The first gap between consecutive fires that is longer than `limit_nanos`, among the
  // fires from the first one after `from_unix_nanos` up to `until_unix_nanos`; nullopt when
  // every gap there is at most the limit. (An RPO of `limit` is breached in such a gap by the
  // schedule alone.) Steps from fire to the last fire within `limit` of it, so it costs about
  // (until - from) / limit steps, not one per fire.
  std::optional<Gap> FirstGapLongerThan(int64_t limit_nanos, int64_t from_unix_nanos,
                                        int64_t until_unix_nanos, int64_t anchor_unix_nanos) const;

  Schedule(const Schedule&);
  Schedule& operator=(const Schedule&);
  Schedule(Schedule&&) noexcept;
  Schedule& operator=(Schedule&&) noexcept;
  ~Schedule();

 private:
  friend class Scheduler;
  // For the scheduler after downtime: the last fire time at or before `now_unix_nanos`
  // (INT64_MIN when there is none) and the first one after it, found without stepping
  // through every missed slot.
  struct Around {
    int64_t latest;
    int64_t next;
  };
  Around SlotsAround(int64_t now_unix_nanos, int64_t anchor_unix_nanos) const;

  struct Rep;
  explicit Schedule(std::shared_ptr<const Rep> rep);
  std::shared_ptr<const Rep> rep_;
};

class Scheduler {
 public:
  struct Run {
    std::string policy;
    std::string service;
    int64_t scheduled_unix_nanos = 0;  // the slot this run is for
    bool skipped = false;              // the previous run was still going: record, do not start
  };

  // Declared here and defined where Entry is complete (Entry is private to scheduler.cc).
  Scheduler();
  ~Scheduler();
  Scheduler(Scheduler&&) noexcept;
  Scheduler& operator=(Scheduler&&) noexcept;

  // Adds or replaces a policy. `last_run_unix_nanos` is the slot of its last run (0 if
  // never), so that a restart after downtime runs a missed slot once.
  // The next slot is the first one after the anchor, the last run and any slot this
  // scheduler already returned for the policy, so re-applying an unchanged policy never
  // repeats a slot, and a changed schedule takes effect from its next slot. A paused
  // policy that is resumed runs once for the slots it missed, as after downtime.
  // INVALID_ARGUMENT (the policy is left as it was) for an empty name or a bad schedule.
  Status Upsert(const v1::Policy& policy, int64_t anchor_unix_nanos, int64_t last_run_unix_nanos);
  void Remove(const std::string& policy);
  size_t size() const;

  // The runs due at `now`, in the order they should start. `is_running(policy)` says whether
  // a run of that policy is still going; it is called once per due policy. Advances each
  // returned policy to its next slot after `now`. Paused policies never fall due.
  // Costs O(log n) per due policy; nothing more when none is due.
  std::vector<Run> Tick(int64_t now_unix_nanos,
                        const std::function<bool(const std::string& policy)>& is_running);

  // Earliest next due time over all policies (for sleeping), or INT64_MAX when none.
  int64_t NextDue() const;

 private:
  struct Entry;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::map<std::string, int64_t> service_last_start_;  // fairness
  // Unpaused entries by next due time, so that a tick looks only at what is due.
  std::multimap<int64_t, Entry*> due_;
};

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_SCHEDULER_H_
