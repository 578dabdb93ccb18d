// commit (the point becomes the target metastore's state), verify and expire, on the target.
//
// Commit applies the point (apply.h): an incremental plan only the tables whose objects differ
// from the base point's, and drops the ones the point lost; a full plan compares the whole
// data set. The log positions around the commit are recorded (the point record, and the
// data set's own_writes): those events are Lifeboat's, not the target's, which is how a later
// plan — a failback's included — tells the target's own changes apart.
//
// Per table the metastore has no transaction across calls: a table is made equal by several
// calls (alter, partitions, statistics). A commit interrupted half-way leaves some tables at
// the new point and some at the old; its repeat (the engine retries the same op id) compares
// again and finishes. The point is visible in the engine only once every member committed.
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/verify.h>

#include <optional>

#include "apply.h"
#include "hive_plugin.h"
#include "peer.h"
#include "references.h"

namespace lifeboat::hive {
namespace {

// A point's objects in the data set's store, for sdk::VerifyEntries: an entry is there when
// the object its digest names is, of its size; at DIGEST the object is read back, and a
// store object whose bytes are not the ones its name says is a digest mismatch.
class PointObjects : public sdk::VerifyTarget {
 public:
  explicit PointObjects(const SetStore& store) : store_(store) {}

  StatusOr<std::optional<sdk::TargetItem>> Find(const sdk::Call&, const v1::Entry& want) override {
    if (!store_.HasObject(sdk::Hex(want.digest()), want.size())) {
      return std::optional<sdk::TargetItem>();
    }
    sdk::TargetItem item;
    item.path = want.path();
    item.size = want.size();
    return std::optional<sdk::TargetItem>(std::move(item));
  }

  Status CheckFile(const sdk::Call&, v1::VerifyLevel level, const v1::Entry& want,
                   const sdk::TargetItem&, sdk::VerifyFindings& findings) override {
    if (level != v1::VERIFY_DIGEST) return OkStatus();
    const std::string hex = sdk::Hex(want.digest());
    StatusOr<std::string> bytes = store_.ReadObject(hex);
    if (!bytes.ok()) {
      if (bytes.status().code() != Code::kDataLoss) return bytes.status();
      findings.Mismatch(want.path(), "digest", hex, "other bytes");
    }
    findings.AddBytesRead(want.size());
    return OkStatus();
  }

 private:
  const SetStore& store_;
};

// Whether point `rp` is the newest one committed here (the one the live data set should hold).
bool IsNewestPoint(const SetStore& store, const std::string& rp) {
  std::vector<std::string> points = store.Points();
  return !points.empty() && points.back() == rp;
}

}  // namespace

StatusOr<v1::CommitResponse> HivePlugin::Commit(sdk::Call& call, const v1::CommitRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(req.snapshot().restore_point_id()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  return store->journal().FindOrRun<v1::CommitResponse>(req.op_id(), "commit",
                                                        [&] { return RunCommit(call, req); });
}

StatusOr<v1::CommitResponse> HivePlugin::RunCommit(sdk::Call& call, const v1::CommitRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  const std::string& rp = req.snapshot().restore_point_id();
  auto answer = [&](const hstate::PointRecord& point) -> StatusOr<v1::CommitResponse> {
    LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest m, ManifestOf(point.cut()));
    m.set_base_restore_point_id(point.base_restore_point_id());
    m.set_committed_unix_nanos(point.committed_unix_nanos());
    v1::CommitResponse resp;
    *resp.mutable_manifest() = std::move(m);
    return resp;
  };
  LIFEBOAT_ASSIGN_OR_RETURN(auto done, store->ReadPoint(rp));
  if (done) return answer(*done);
  LIFEBOAT_ASSIGN_OR_RETURN(auto plan, store->ReadPlan(rp));
  if (!plan) {
    return FailedPreconditionError("hive:" + sel.text() + ": no plan of " + rp + " on cluster " +
                                       config_.cluster + ": plan and transfer it before the commit",
                                   "hive:" + sel.text());
  }
  hstate::CutRecord cut;
  if (!cut.ParseFromString(plan->cut())) return DataLossError("the plan of " + rp + " is damaged");
  LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest manifest, ManifestOf(cut));
  for (const auto& e : manifest.entries()) {
    if (!store->HasObject(sdk::Hex(e.digest()), e.size())) {
      return FailedPreconditionError("hive:" + sel.text() + ": object " + e.path() + " of " + rp +
                                         " was not transferred to cluster " + config_.cluster +
                                         "; run the transfer before the commit",
                                     e.path());
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
  if (plan->commit_start().metastore_uuid() != uuid) {
    LIFEBOAT_ASSIGN_OR_RETURN(int64_t now, c.GetCurrentNotificationEventId());
    plan->mutable_commit_start()->set_metastore_uuid(uuid);
    plan->mutable_commit_start()->set_event_id(now);
    LIFEBOAT_RETURN_IF_ERROR(store->WritePlan(rp, *plan));
  }

  ApplyOptions opts;
  opts.selector = sel;
  opts.rewriter = RewriterFor(cut);
  opts.writer = "commit " + rp;
  Applier applier(*this, call, opts);
  bool full = plan->full();
  if (!full) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto base, store->StateOf(plan->base_restore_point_id()));
    if (!base) {
      full = true;  // the base went since the plan (expired): compare everything
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest base_manifest, ManifestOf(*base));
      LIFEBOAT_ASSIGN_OR_RETURN(ManifestDiff diff, DiffManifests(base_manifest, manifest));
      LIFEBOAT_ASSIGN_OR_RETURN(PointState state, LoadState(*store, manifest, &diff.tables));
      if (!diff.database) state.database.reset();
      LIFEBOAT_RETURN_IF_ERROR(applier.Run(state, /*all_tables=*/false, diff.dropped));
    }
  }
  if (full) {
    LIFEBOAT_ASSIGN_OR_RETURN(PointState state, LoadState(*store, manifest));
    LIFEBOAT_RETURN_IF_ERROR(applier.Run(state, sel.whole_db(), {}));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t end, c.GetCurrentNotificationEventId());
  LIFEBOAT_RETURN_IF_ERROR(
      store->AddOwnWrites(uuid, plan->commit_start().event_id() + 1, end, "commit " + rp));

  hstate::PointRecord point;
  *point.mutable_cut() = cut;
  point.set_base_restore_point_id(plan->base_restore_point_id());
  *point.mutable_commit_start() = plan->commit_start();
  point.mutable_commit_end()->set_metastore_uuid(uuid);
  point.mutable_commit_end()->set_event_id(end);
  point.set_committed_unix_nanos(host_.NowUnixNanos());
  point.set_changes(applier.changes().size());
  point.set_full(full);
  point.set_rewrite(opts.rewriter.Describe());
  LIFEBOAT_RETURN_IF_ERROR(store->WritePoint(rp, point));
  LIFEBOAT_RETURN_IF_ERROR(store->DeletePlan(rp));
  host_.Info("commit hive:" + sel.text() + " " + rp + " on " + config_.cluster + ": " +
             std::to_string(applier.changes().size()) + " change(s)" +
             (full ? " (compared whole)" : " (incremental)") + ", events " +
             std::to_string(plan->commit_start().event_id() + 1) + ".." + std::to_string(end) +
             " are Lifeboat's");
  return answer(point);
}

StatusOr<v1::VerifyResponse> HivePlugin::Verify(sdk::Call& call, const v1::VerifyRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  const std::string& rp = req.snapshot().restore_point_id();
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  LIFEBOAT_ASSIGN_OR_RETURN(auto point, store->ReadPoint(rp));
  hstate::CutRecord cut;
  if (point) {
    cut = point->cut();
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(auto plan, store->ReadPlan(rp));
    if (!plan) {
      return FailedPreconditionError("hive:" + sel.text() + ": " + rp +
                                         " is neither committed nor planned on cluster " +
                                         config_.cluster,
                                     "hive:" + sel.text());
    }
    if (!cut.ParseFromString(plan->cut()))
      return DataLossError("the plan of " + rp + " is damaged");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest manifest, ManifestOf(cut));
  const v1::VerifyLevel level =
      req.level() == v1::VERIFY_LEVEL_UNSPECIFIED ? v1::VERIFY_SIZE : req.level();
  // The point's objects here, as the cut made them.
  PointObjects objects(*store);
  sdk::VerifyOptions options;
  options.level = level;
  options.threads = 1;  // objects are small local files
  options.find_each = true;
  LIFEBOAT_ASSIGN_OR_RETURN(v1::VerifyResponse resp,
                            sdk::VerifyEntries(call, sdk::EntriesOf(manifest), objects, options));
  // What the point's tables name in HDFS, for the engine to check against the point's hdfs
  // members (references.h).
  if (level != v1::VERIFY_NONE && resp.mismatches().empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(PointState named, LoadState(*store, manifest));
    AddReferences(named, RewriterFor(cut), resp);
  }
  // A committed point that is the data set's newest here: the live metastore must hold it.
  if (point && level != v1::VERIFY_NONE && IsNewestPoint(*store, rp) && resp.mismatches().empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(PointState state, LoadState(*store, manifest));
    ApplyOptions opts;
    opts.selector = sel;
    opts.rewriter = RewriterFor(cut);
    opts.mode = ApplyOptions::Mode::kCompare;
    Applier compare(*this, call, opts);
    LIFEBOAT_RETURN_IF_ERROR(compare.Run(state, sel.whole_db(), {}));
    for (const Change& ch : compare.changes()) {
      sdk::AddMismatch(resp, ch.path, ch.kind, "as the point holds it", ch.what);
    }
  }
  resp.set_ok(resp.mismatches().empty());
  return resp;
}

StatusOr<v1::ExpireResponse> HivePlugin::Expire(sdk::Call& call, const v1::ExpireRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  v1::ExpireResponse resp;
  for (const std::string& rp : req.restore_point_ids()) {
    LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
    LIFEBOAT_ASSIGN_OR_RETURN(auto point, store->ReadPoint(rp));
    LIFEBOAT_ASSIGN_OR_RETURN(auto plan, store->ReadPlan(rp));
    if (plan) LIFEBOAT_RETURN_IF_ERROR(store->DeletePlan(rp));
    if (point) {
      LIFEBOAT_RETURN_IF_ERROR(store->DeletePoint(rp));
      resp.add_removed(rp);
    } else {
      resp.add_already_absent(rp);
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t gone, store->CollectGarbage());
  if (gone > 0) {
    host_.Info("expire hive:" + sel.text() + ": " + std::to_string(gone) +
               " object(s) no point names any more removed");
  }
  return resp;
}

}  // namespace lifeboat::hive
