// Scheduler: policies indexed by their next due time.
//
// Each entry keeps `handled_through`, the instant up to which its slots are accounted for,
// and `next_due`, its first slot after that instant. Unpaused entries sit in `due_`, a
// multimap keyed by next_due, so a tick reads only the entries that are due: a tick where
// nothing is due costs one map lookup, whatever the number of policies.
#include <lifeboat/core/scheduler.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <unordered_map>
#include <utility>

namespace lifeboat::core {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// A service that never started counts as having waited longest.
constexpr int64_t kNeverStarted = std::numeric_limits<int64_t>::min();

}  // namespace

// Fields a tick reads come first, so that they share the entry's first cache line.
struct Scheduler::Entry {
  Entry(std::string name_in, Schedule schedule_in)
      : schedule(std::move(schedule_in)), name(std::move(name_in)) {}

  Schedule schedule;
  int64_t anchor = 0;
  // Every slot at or before this instant is accounted for: run, skipped, or folded into
  // the one run after downtime.
  int64_t handled_through = 0;
  // schedule.NextAfter(handled_through, anchor).
  int64_t next_due = kNever;
  // Valid while `indexed`: the entry's place in due_ (only when not paused and next_due is
  // not kNever).
  std::multimap<int64_t, Entry*>::iterator due_it;
  // The service's node in service_last_start_ (nodes of a std::map stay put; services are
  // never erased from it). Also the service's identity for grouping, cheaper than its name.
  int64_t* last_start = nullptr;
  int32_t priority = 0;
  bool paused = false;
  bool indexed = false;
  std::string name;
  std::string service;
};

Scheduler::Scheduler() = default;
Scheduler::~Scheduler() = default;
Scheduler::Scheduler(Scheduler&&) noexcept = default;
Scheduler& Scheduler::operator=(Scheduler&&) noexcept = default;

Status Scheduler::Upsert(const v1::Policy& policy, int64_t anchor_unix_nanos,
                         int64_t last_run_unix_nanos) {
  if (policy.name().empty()) return InvalidArgumentError("a policy needs a name", "policy.name");
  StatusOr<Schedule> schedule = Schedule::Create(policy.schedule());
  if (!schedule.ok()) return schedule.status().WithContext("policy '" + policy.name() + "'");

  // Slots after the anchor and after the last run are owed; so are slots after whatever
  // this scheduler already returned for the policy (the engine's `last_run` may lag behind
  // a tick it has not recorded yet, and must not make a slot fire twice).
  int64_t through = std::max(anchor_unix_nanos, last_run_unix_nanos);
  Entry* entry = nullptr;
  auto it = entries_.find(policy.name());
  if (it == entries_.end()) {
    auto owned = std::make_unique<Entry>(policy.name(), std::move(schedule).value());
    entry = owned.get();
    entries_.emplace(policy.name(), std::move(owned));
  } else {
    entry = it->second.get();
    if (entry->indexed) {
      due_.erase(entry->due_it);
      entry->indexed = false;
    }
    entry->schedule = std::move(schedule).value();
    through = std::max(through, entry->handled_through);
  }
  entry->service = policy.service();
  entry->last_start =
      &service_last_start_.try_emplace(policy.service(), kNeverStarted).first->second;
  entry->priority = policy.priority();
  entry->paused = policy.paused();
  entry->anchor = anchor_unix_nanos;
  // A changed schedule (or anchor) gives a new next slot here; an unchanged one gives the
  // same slot as before. A paused policy keeps its slot but is not indexed: once resumed,
  // a slot that passed meanwhile runs once, as after downtime.
  entry->handled_through = through;
  entry->next_due = entry->schedule.NextAfter(through, anchor_unix_nanos);
  if (!entry->paused && entry->next_due != kNever) {
    entry->due_it = due_.emplace(entry->next_due, entry);
    entry->indexed = true;
  }
  return OkStatus();
}

void Scheduler::Remove(const std::string& policy) {
  auto it = entries_.find(policy);
  if (it == entries_.end()) return;
  if (it->second->indexed) due_.erase(it->second->due_it);
  entries_.erase(it);
}

size_t Scheduler::size() const { return entries_.size(); }

std::vector<Scheduler::Run> Scheduler::Tick(
    int64_t now_unix_nanos, const std::function<bool(const std::string& policy)>& is_running) {
  // Each due entry is read once, here, into `found`: with thousands due at once, going back
  // to the entries (scattered in memory) after sorting costs more than the rest of the tick.
  struct Due {
    int32_t priority;
    int64_t* service;  // Entry::last_start: the service's identity and its last start
    size_t index;      // into `found`
  };
  // Counting first sizes the vectors exactly: growing them through a burst of thousands
  // (fresh pages each time) costs more than this walk, which also brings the index's nodes
  // into the cache for the loop below.
  size_t count = 0;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now_unix_nanos; ++it) ++count;
  if (count == 0) return {};
  std::vector<Run> found;
  found.reserve(count);
  std::vector<Due> due;
  due.reserve(count);
  // Policies that share a schedule fall due together and get the same next slot: the node
  // inserted last is then the place for the next one too (a hint makes that insert O(1)).
  auto last_insert = due_.end();
  while (!due_.empty() && due_.begin()->first <= now_unix_nanos) {
    // Re-keying the extracted node moves the entry without allocating. Its new key is after
    // `now`, so the loop ends.
    auto node = due_.extract(due_.begin());
    Entry& e = *node.mapped();
    // Entries and their schedules are scattered in memory, and with thousands due, waiting
    // for each to load is most of the tick: fetch the entry two ahead, and the schedule of
    // the next one (whose entry was fetched during the previous turn), while this one is
    // worked on.
    if (!due_.empty()) {
      __builtin_prefetch(due_.begin()->second->schedule.rep_.get());
      if (auto two_ahead = std::next(due_.begin()); two_ahead != due_.end()) {
        const char* bytes = reinterpret_cast<const char*>(two_ahead->second);
        for (size_t line = 0; line < sizeof(Entry); line += 64) {  // 64-byte cache lines
          __builtin_prefetch(bytes + line);
        }
      }
    }
    int64_t slot = e.next_due;
    int64_t next = e.schedule.NextAfter(slot, e.anchor);
    if (next <= now_unix_nanos) {
      // Several slots passed (downtime, or ticks further apart than the schedule): one run,
      // for the latest of them.
      const Schedule::Around around = e.schedule.SlotsAround(now_unix_nanos, e.anchor);
      slot = std::max(slot, around.latest);
      next = around.next;
    }
    e.handled_through = now_unix_nanos;
    e.next_due = next;
    if (next != kNever) {
      node.key() = next;
      const bool same_key = last_insert != due_.end() && last_insert->first == next;
      e.due_it =
          same_key ? due_.insert(last_insert, std::move(node)) : due_.insert(std::move(node));
      last_insert = e.due_it;
    } else {
      e.indexed = false;
    }
    due.push_back(Due{e.priority, e.last_start, found.size()});
    found.push_back(Run{e.name, e.service, slot, false});
  }
  // Asked once the index is consistent again, in case the callback looks at the scheduler.
  for (Run& r : found) r.skipped = is_running(r.policy);

  // Priority first (higher first); within a priority, the service that started least
  // recently goes next, one run at a time, so that a service with many due policies does
  // not hold the others back; within a service, by policy name. A skipped run starts
  // nothing and does not count as a start. Services are grouped by identity (any order
  // will do), which spares comparing their names.
  std::sort(due.begin(), due.end(), [&found](const Due& a, const Due& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.service != b.service) return std::less<int64_t*>()(a.service, b.service);
    return found[a.index].policy < found[b.index].policy;
  });
  // When a service last started: the tick's time, then the order of starts within this tick
  // (0 for starts at earlier ticks), so that services take turns inside one tick too.
  struct Group {
    size_t next;  // index in `due` of the service's next run
    size_t end;
    int64_t last_start;
    uint64_t start_order;
  };
  auto waits_less = [&due, &found](const Group& a, const Group& b) {
    if (a.last_start != b.last_start) return a.last_start > b.last_start;
    if (a.start_order != b.start_order) return a.start_order > b.start_order;
    return found[due[a.next].index].policy > found[due[b.next].index].policy;
  };
  std::unordered_map<const int64_t*, uint64_t> started_now;  // service -> order of last start
  uint64_t starts = 0;
  std::vector<size_t> order;  // indexes into `found`, in start order
  order.reserve(found.size());
  std::vector<Group> groups;
  for (size_t begin = 0; begin < due.size();) {
    const int32_t priority = due[begin].priority;
    size_t end = begin;
    while (end < due.size() && due[end].priority == priority) ++end;
    groups.clear();
    for (size_t i = begin; i < end;) {
      const int64_t* service = due[i].service;
      size_t j = i;
      while (j < end && due[j].service == service) ++j;
      Group g{i, j, *service, 0};
      if (auto started = started_now.find(service); started != started_now.end()) {
        g.start_order = started->second;
      }
      groups.push_back(g);
      i = j;
    }
    std::priority_queue<Group, std::vector<Group>, decltype(waits_less)> queue(waits_less,
                                                                               std::move(groups));
    while (!queue.empty()) {
      Group g = queue.top();
      queue.pop();
      const Due& d = due[g.next];
      order.push_back(d.index);
      if (!found[d.index].skipped) {
        g.last_start = now_unix_nanos;
        g.start_order = ++starts;
        *d.service = now_unix_nanos;
        started_now[d.service] = g.start_order;
      }
      if (++g.next < g.end) queue.push(g);
    }
    begin = end;
  }
  // Put `found` in that order in place (following the permutation's cycles), rather than
  // moving every run into a second large vector.
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] == i) continue;
    Run held = std::move(found[i]);
    size_t hole = i;
    while (order[hole] != i) {
      found[hole] = std::move(found[order[hole]]);
      const size_t from = order[hole];
      order[hole] = hole;
      hole = from;
    }
    found[hole] = std::move(held);
    order[hole] = hole;
  }
  return found;
}

int64_t Scheduler::NextDue() const { return due_.empty() ? kNever : due_.begin()->first; }

}  // namespace lifeboat::core
