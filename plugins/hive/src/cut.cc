// The cut: the data set's objects as the metastore held them at one event id E.
//
// The state is built from the newest cut this cluster holds of the data set (same metastore):
// the events since its id name the objects that changed, and only those are read again —
// what an incremental costs is proportional to the events. Without such a cut, or when the
// log has a hole since it (the event cleaner ran), or the metastore is another one (a new
// database UUID, or ids that went backwards), every object is read: an export, and the
// record says why.
//
// Reading takes time while applications keep writing, so the state is reconciled to one id:
// after reading, the events logged meanwhile name what to read again, round after round,
// until a round finds no event about the data set. The cut is then the metastore's state at
// the id read last (E): every object was read after its last change before E, and nothing
// changed after that up to E. A data set that never stands still within max_rounds is ABORTED
// (the engine cuts again).
//
// Also here: release (the cut's record goes; objects no record names go with it).
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>

#include <atomic>
#include <chrono>

#include "events.h"
#include "hive_plugin.h"

namespace lifeboat::hive {
namespace {

// One table's objects after a read: nothing when it is gone.
struct TableResult {
  std::string name;
  bool gone = false;
  bool transactional = false;
  std::vector<v1::Entry> entries;
};

v1::Entry EntryFor(const std::string& path, const std::string& digest, uint64_t size) {
  v1::Entry e;
  e.set_path(path);
  e.set_type(v1::ENTRY_FILE);
  e.set_size(size);
  e.set_digest(digest);
  return e;
}

// Builds the state of one data set: entries by path, objects in the store.
class StateBuilder {
 public:
  StateBuilder(HivePlugin& plugin, SetStore& store, const Selector& sel, sdk::Call& call)
      : plugin_(plugin), store_(store), sel_(sel), call_(call) {}

  void Load(const v1::MemberManifest& m) {
    for (const auto& e : m.entries()) entries_[e.path()] = e;
  }

  // Reads again what `touched` names (everything when `everything`).
  Status Apply(const Touched& touched, bool everything) {
    struct Work {
      std::string table;
      bool full = false;
      std::set<std::string> partitions;  // when not full: these, or none (header only)
    };
    std::map<std::string, Work> work;
    auto want = [&](const std::string& t, bool full) {
      if (!sel_.Holds(sel_.db, t)) return;
      Work& w = work[t];
      w.table = t;
      // A table this state does not hold yet is read whole.
      w.full = w.full || full || entries_.count(sel_.db + "/" + t) == 0;
    };
    if (everything) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto lease, plugin_.pool().Acquire());
      std::vector<std::string> names;
      if (sel_.whole_db()) {
        LIFEBOAT_ASSIGN_OR_RETURN(names, lease->GetAllTables(sel_.db));
      } else {
        names = {sel_.table};
      }
      for (const auto& t : names) want(t, true);
    }
    for (const auto& t : touched.tables) want(t, false);
    for (const auto& t : touched.full_tables) want(t, true);
    for (const auto& [t, names] : touched.partitions) {
      want(t, false);
      if (work.count(t)) work[t].partitions.insert(names.begin(), names.end());
    }
    if (everything || touched.database || entries_.count(sel_.db) == 0) {
      LIFEBOAT_RETURN_IF_ERROR(ReadDatabaseObject());
    }
    std::vector<Work> items;
    for (auto& [t, w] : work) items.push_back(std::move(w));
    std::vector<TableResult> results(items.size());
    sdk::ProgressReporter progress(call_, "cut", 0, items.size());
    Status s = sdk::ParallelFor(items.size(), plugin_.pool().size(), [&](size_t i) -> Status {
      if (call_.Cancelled()) {
        return CancelledError("cut of hive:" + sel_.text() + " cancelled");
      }
      LIFEBOAT_ASSIGN_OR_RETURN(auto lease, plugin_.pool().Acquire());
      LIFEBOAT_ASSIGN_OR_RETURN(
          results[i], ReadOne(*lease, items[i].table, items[i].full, items[i].partitions));
      progress.Add(0, 1, sel_.db + "." + items[i].table);
      return OkStatus();
    });
    LIFEBOAT_RETURN_IF_ERROR(s);
    for (auto& r : results) {
      objects_read_ += 1;
      const std::string prefix = sel_.db + "/" + r.name;
      for (auto it = entries_.lower_bound(prefix); it != entries_.end();) {
        const std::string& p = it->first;
        if (p == prefix || p.rfind(prefix + "/", 0) == 0) {
          it = entries_.erase(it);
        } else if (p.compare(0, prefix.size(), prefix) == 0) {
          ++it;  // "db/tablex" after "db/table": keep looking
        } else {
          break;
        }
      }
      // A table that is (or turned) transactional is refused at the end of the cut.
      if (r.transactional) {
        acid_.insert(r.name);
      } else {
        acid_.erase(r.name);
      }
      if (r.gone || r.transactional) continue;
      for (auto& e : r.entries) entries_[e.path()] = std::move(e);
    }
    return OkStatus();
  }

  const std::set<std::string>& acid() const { return acid_; }
  uint64_t objects_read() const { return objects_read_; }

  v1::MemberManifest Manifest() const {
    v1::MemberManifest m;
    m.set_digest_algorithm(sdk::kSha256Algorithm);
    sdk::Sha256 all;
    uint64_t total = 0;
    for (const auto& [path, e] : entries_) {
      *m.add_entries() = e;
      total += e.size();
      all.Update(path);
      all.Update("\n");
      all.Update(e.digest());
    }
    m.set_total_bytes(total);
    m.set_manifest_digest(all.Finish());
    return m;
  }

 private:
  Status ReadDatabaseObject() {
    LIFEBOAT_ASSIGN_OR_RETURN(auto lease, plugin_.pool().Acquire());
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<store::DatabaseObject> db,
                              ReadDatabase(*lease, sel_.db));
    if (!db) {
      return NotFoundError("database " + sel_.db + " is gone from metastore " + lease->endpoint() +
                               "; the data set hive:" + sel_.text() + " cannot be cut",
                           "hive:" + sel_.text());
    }
    // A table's data set carries its database only so that the table has one to live in.
    if (!sel_.whole_db()) db->functions.clear();
    LIFEBOAT_ASSIGN_OR_RETURN(v1::Entry e, Put(sel_.db, *db));
    entries_[sel_.db] = std::move(e);
    ++objects_read_;
    return OkStatus();
  }

  template <typename T>
  StatusOr<v1::Entry> Put(const std::string& path, const T& object) {
    std::string bytes = Encode(object);
    LIFEBOAT_ASSIGN_OR_RETURN(std::string digest, store_.PutObject(bytes));
    return EntryFor(path, digest, bytes.size());
  }

  StatusOr<TableResult> ReadOne(MetastoreClient& c, const std::string& table, bool full,
                                const std::set<std::string>& names) {
    TableResult r;
    r.name = table;
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<TableState> state,
                              ReadTable(c, sel_.db, table, /*with_partitions=*/full));
    if (!state) {
      r.gone = true;
      return r;
    }
    if (IsTransactional(state->header.table)) {
      r.transactional = true;
      return r;
    }
    if (!full) {
      // Partitions as this state holds them, with the named ones read again.
      std::map<std::string, store::PartitionEntry> have;
      const std::string prefix = sel_.db + "/" + table + "/";
      for (auto it = entries_.lower_bound(prefix);
           it != entries_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
        LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, store_.ReadEntry(it->second));
        LIFEBOAT_ASSIGN_OR_RETURN(store::PartitionChunk chunk,
                                  Decode<store::PartitionChunk>(bytes, it->first));
        for (auto& p : chunk.partitions) have[p.name] = std::move(p);
      }
      if (!names.empty()) {
        LIFEBOAT_ASSIGN_OR_RETURN(
            std::vector<store::PartitionEntry> fresh,
            ReadPartitions(c, state->header.table, {names.begin(), names.end()}));
        for (const auto& n : names) have.erase(n);
        for (auto& p : fresh) have[p.name] = std::move(p);
      }
      state->partitions.clear();
      for (auto& [n, p] : have) state->partitions.push_back(std::move(p));
    }
    LIFEBOAT_ASSIGN_OR_RETURN(v1::Entry header, Put(sel_.db + "/" + table, state->header));
    r.entries.push_back(std::move(header));
    for (auto& chunk : ChunkPartitions(sel_.db, table, std::move(state->partitions))) {
      const std::string path = sel_.db + "/" + table + "/" + chunk.partitions.front().name;
      LIFEBOAT_ASSIGN_OR_RETURN(v1::Entry e, Put(path, chunk));
      r.entries.push_back(std::move(e));
    }
    return r;
  }

  HivePlugin& plugin_;
  SetStore& store_;
  const Selector& sel_;
  sdk::Call& call_;
  std::map<std::string, v1::Entry> entries_;
  std::set<std::string> acid_;
  uint64_t objects_read_ = 0;
};

v1::CutResponse ResponseOf(const v1::SnapshotRef& snap, v1::MemberManifest manifest) {
  v1::CutResponse resp;
  *resp.mutable_snapshot() = snap;
  *manifest.mutable_snapshot() = snap;
  *resp.mutable_manifest() = std::move(manifest);
  return resp;
}

}  // namespace

StatusOr<v1::CutResponse> HivePlugin::Cut(sdk::Call& call, const v1::CutRequest& req) {
  if (call.Cancelled()) {
    return CancelledError("cut of hive:" + req.data_set().selector() +
                          " cancelled before it started");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(req.restore_point_id()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  return store->journal().FindOrRun<v1::CutResponse>(req.op_id(), "cut",
                                                     [&] { return RunCut(call, req); });
}

StatusOr<v1::CutResponse> HivePlugin::RunCut(sdk::Call& call, const v1::CutRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  const std::string& rp = req.restore_point_id();
  LIFEBOAT_ASSIGN_OR_RETURN(auto existing, store->ReadCut(rp));
  if (existing) {
    // The same point cut again (another op id, a retry after a lost answer): the same cut.
    LIFEBOAT_ASSIGN_OR_RETURN(v1::SnapshotRef snap, SnapshotOf(*existing));
    LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest manifest, ManifestOf(*existing));
    return ResponseOf(snap, std::move(manifest));
  }
  const int64_t start = host_.NowUnixNanos();
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t from, c.GetCurrentNotificationEventId());

  hstate::CutRecord record;
  record.set_fs_uri(OwnFileSystem());
  int64_t events_read = 0;
  StateBuilder state(*this, *store, sel, call);

  // The newest cut of this data set here, in this metastore, at or before the log now.
  std::optional<hstate::CutRecord> base;
  for (const std::string& other : store->Cuts()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto cut, store->ReadCut(other));
    if (!cut || cut->position().metastore_uuid() != uuid || cut->position().event_id() > from) {
      continue;
    }
    if (!base || cut->position().event_id() > base->position().event_id()) base = cut;
  }
  std::string reason;
  bool everything = true;
  Touched first;
  if (!base) {
    reason = store->Cuts().empty() ? "no earlier cut of the data set on this cluster"
                                   : "no earlier cut of the data set from this metastore (its "
                                     "database UUID changed, or its log went back)";
  } else {
    LogGap gap;
    StatusOr<Touched> touched =
        TouchedBetween(c, sel, base->position().event_id(), from, &gap, &events_read);
    if (touched.ok()) {
      LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest m, ManifestOf(*base));
      LIFEBOAT_ASSIGN_OR_RETURN(v1::SnapshotRef base_snap, SnapshotOf(*base));
      state.Load(m);
      first = std::move(*touched);
      everything = false;
      record.set_chained_from(base_snap.restore_point_id());
    } else if (gap.first_missing != 0) {
      StatusOr<v1::SnapshotRef> base_snap = SnapshotOf(*base);
      reason = gap.Describe() + " since the earlier cut " +
               (base_snap.ok() ? base_snap->restore_point_id() : std::string("?")) + " (event " +
               std::to_string(base->position().event_id()) +
               "): what changed then is unknown, so every object is read again";
      host_.Warn("hive:" + sel.text() + ": " + reason);
    } else {
      return touched.status();
    }
  }
  record.set_method(everything ? "export" : "events");
  record.set_export_reason(reason);
  int64_t applied = first.events;
  LIFEBOAT_RETURN_IF_ERROR(state.Apply(first, everything));

  // Reconcile: read again what changed while reading, until a round finds nothing.
  int round = 1;
  int64_t to = from;
  for (;; ++round) {
    if (call.Cancelled()) return CancelledError("cut of hive:" + sel.text() + " cancelled");
    LIFEBOAT_ASSIGN_OR_RETURN(to, c.GetCurrentNotificationEventId());
    LogGap gap;
    StatusOr<Touched> touched = TouchedBetween(c, sel, from, to, &gap, &events_read);
    if (!touched.ok()) {
      return AbortedError("cut of hive:" + sel.text() + ": the log changed under the cut: " +
                          touched.status().message() + "; cut again");
    }
    if (touched->empty()) break;
    if (round >= config_.max_rounds) {
      return AbortedError("hive:" + sel.text() + " kept changing through " + std::to_string(round) +
                          " rounds of reading (last: " +
                          (touched->lines.empty() ? std::string("?") : touched->lines.front()) +
                          "); cut again when it is quieter, or raise max_rounds");
    }
    applied += touched->events;
    LIFEBOAT_RETURN_IF_ERROR(state.Apply(*touched, false));
    from = to;
  }
  if (!state.acid().empty()) {
    return AcidRefusal(sel, {state.acid().begin(), state.acid().end()});
  }
  const int64_t end = host_.NowUnixNanos();

  hstate::LogPosition* pos = record.mutable_position();
  pos->set_metastore_uuid(uuid);
  pos->set_event_id(to);
  if (to > 0) {
    auto at = c.GetNextNotifications(to - 1, 1);
    if (at.ok() && !at->empty() && at->front().eventId == to) {
      pos->set_event_time(at->front().eventTime);
    }
  }
  record.set_events_read(events_read);
  record.set_events_applied(applied);
  record.set_rounds(round);
  record.set_objects_read(state.objects_read());

  v1::SnapshotRef snap;
  snap.set_plugin(kPluginName);
  snap.set_cluster(config_.cluster);
  snap.mutable_data_set()->set_component(kComponent);
  snap.mutable_data_set()->set_selector(sel.text());
  snap.set_restore_point_id(rp);
  snap.set_snapshot_id("event-" + std::to_string(to) + "@" + uuid);
  snap.set_cut_start_unix_nanos(start);
  snap.set_cut_end_unix_nanos(std::max(start, end));
  snap.set_cut_op_id(req.op_id());
  snap.set_opaque(pos->SerializeAsString());
  v1::MemberManifest manifest = state.Manifest();
  *manifest.mutable_snapshot() = snap;
  record.set_snapshot(snap.SerializeAsString());
  record.set_manifest(manifest.SerializeAsString());
  LIFEBOAT_RETURN_IF_ERROR(store->WriteCut(rp, record));
  host_.Info(
      "cut hive:" + sel.text() + " for " + rp + " at event " + std::to_string(to) + ": " +
      (everything
           ? "exported (" + reason + ")"
           : "replayed " + std::to_string(applied) + " event(s) since " + record.chained_from()) +
      ", " + std::to_string(state.objects_read()) + " object(s) read in " + std::to_string(round) +
      " round(s), " + std::to_string(manifest.entries_size()) + " object(s) in the point");
  return ResponseOf(snap, std::move(manifest));
}

StatusOr<v1::ReleaseResponse> HivePlugin::Release(sdk::Call& call, const v1::ReleaseRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(req.snapshot().restore_point_id()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  LIFEBOAT_RETURN_IF_ERROR(store->DeleteCut(req.snapshot().restore_point_id()));
  LIFEBOAT_RETURN_IF_ERROR(store->CollectGarbage().status());
  v1::ReleaseResponse resp;
  resp.set_released(true);
  return resp;
}

}  // namespace lifeboat::hive
