// plan_transfer and transfer, on the target.
//
// The plan reads the cut's record from the source (peer stream, item "cut") and lists the
// objects of the cut this cluster lacks: everything a point shares with the points and cuts
// already here (an unchanged table, a partition run) costs nothing. Copy tasks fetch the
// missing objects, resumable, each checked against its digest.
//
// Whether the commit may apply only what changed since the base point (incremental) is
// decided here: the base must be held on this cluster (committed here, or cut here: the
// point a failback builds on), and the target must not have changed since — its own writes
// are read from its notification log since the base (Lifeboat's own commits, restores and
// fences excepted). A target that changed is refused (FAILED_PRECONDITION naming the events)
// unless force_full, which makes the commit compare and overwrite the whole data set. When the
// log cannot tell (a hole, another metastore), the live data set is compared with the base.
#include <lifeboat/sdk/digest.h>

#include <sstream>

#include "apply.h"
#include "hive_plugin.h"
#include "peer.h"

namespace lifeboat::hive {
namespace {

constexpr uint64_t kAloneBytes = 4 << 20;
constexpr uint64_t kTaskBytes = 8 << 20;
constexpr size_t kTaskObjects = 500;

std::string Opaque(const std::vector<ObjectRef>& objects) {
  std::string out;
  for (const auto& o : objects) out += o.hex + " " + std::to_string(o.size) + " " + o.path + "\n";
  return out;
}

StatusOr<std::vector<ObjectRef>> FromOpaque(const std::string& opaque) {
  std::vector<ObjectRef> out;
  std::istringstream in(opaque);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream parts(line);
    ObjectRef o;
    parts >> o.hex >> o.size;
    std::getline(parts >> std::ws, o.path);
    if (o.hex.size() != 64 || o.hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return InvalidArgumentError("a hive transfer task names '" + o.hex +
                                  "', which is not an object; plan the transfer again");
    }
    out.push_back(std::move(o));
  }
  return out;
}

// The refusal of a target that changed since the base point.
Status TargetChanged(const Selector& sel, const std::string& cluster, const std::string& base,
                     const std::string& what) {
  return FailedPreconditionError(
      "hive:" + sel.text() + " changed on cluster " + cluster + " since the point " + base +
          " it holds, and not by Lifeboat: " + what +
          ". Nothing was overwritten. Save what matters there, then run the policy with "
          "--force-full: the point then replaces the data set on " +
          cluster + " whole",
      "hive:" + sel.text());
}

}  // namespace

StatusOr<v1::PlanTransferResponse> HivePlugin::PlanTransfer(sdk::Call& call,
                                                            const v1::PlanTransferRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(req.snapshot().restore_point_id()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  return store->journal().FindOrRun<v1::PlanTransferResponse>(req.op_id(), "plan_transfer",
                                                              [&] { return RunPlan(call, req); });
}

StatusOr<v1::PlanTransferResponse> HivePlugin::RunPlan(sdk::Call& call,
                                                       const v1::PlanTransferRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  const std::string& rp = req.snapshot().restore_point_id();
  LIFEBOAT_ASSIGN_OR_RETURN(std::string cut_bytes,
                            ReadPeerItem(call, req.source(), req.snapshot(), "cut"));
  hstate::CutRecord cut;
  if (!cut.ParseFromString(cut_bytes)) {
    return DataLossError("the cut record of " + rp + " from cluster " +
                         req.source().config().cluster() + " does not parse");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest manifest, ManifestOf(cut));
  const LocationRewriter rewriter = RewriterFor(cut);

  std::string reason;
  std::optional<v1::MemberManifest> base_manifest;
  const std::string& base = req.base_restore_point_id();
  if (base.empty()) {
    reason = "no base point on this cluster yet";
  } else if (req.force_full()) {
    reason = "forced (--force-full): the whole data set is compared and overwritten";
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(auto base_state, store->StateOf(base));
    LIFEBOAT_ASSIGN_OR_RETURN(auto base_point, store->ReadPoint(base));
    LIFEBOAT_ASSIGN_OR_RETURN(auto position, PositionOf(*store, base));
    if (!base_state || !position) {
      reason = "the base point " + base + " is not held on cluster " + config_.cluster;
    } else if (base_point && base_point->rewrite() != rewriter.Describe()) {
      reason = "the location rewrite changed since the base point (" + base_point->rewrite() +
               " -> " + rewriter.Describe() + ")";
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
      std::string why;
      LIFEBOAT_ASSIGN_OR_RETURN(std::optional<Touched> own,
                                OwnChangesSince(*lease, *store, sel, *position, &why));
      if (own && !own->empty()) {
        std::string lines;
        for (size_t i = 0; i < own->lines.size() && i < 5; ++i) {
          lines += (i == 0 ? "" : "; ") + own->lines[i];
        }
        return TargetChanged(sel, config_.cluster, base,
                             std::to_string(own->events) + " event(s) of its log (" + lines +
                                 (own->events > 5 ? "; ..." : "") + ")");
      }
      if (!own) {
        // The log cannot say: compare the live data set with the base point.
        host_.Warn("hive:" + sel.text() + ": " + why +
                   "; comparing the live data set with the base point " + base);
        LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest bm, ManifestOf(*base_state));
        LIFEBOAT_ASSIGN_OR_RETURN(PointState state, LoadState(*store, bm));
        ApplyOptions opts;
        opts.selector = sel;
        opts.rewriter = RewriterFor(*base_state);
        opts.mode = ApplyOptions::Mode::kCompare;
        Applier compare(*this, call, opts);
        LIFEBOAT_RETURN_IF_ERROR(compare.Run(state, sel.whole_db(), {}));
        if (!compare.changes().empty()) {
          std::string lines;
          for (size_t i = 0; i < compare.changes().size() && i < 5; ++i) {
            const Change& ch = compare.changes()[i];
            lines += (i == 0 ? "" : "; ") + ch.path + " " + ch.kind;
          }
          return TargetChanged(sel, config_.cluster, base,
                               std::to_string(compare.changes().size()) +
                                   " difference(s) from the base point (" + lines + ")");
        }
      }
      LIFEBOAT_ASSIGN_OR_RETURN(base_manifest, ManifestOf(*base_state));
    }
  }

  v1::PlanTransferResponse resp;
  resp.set_incremental(base_manifest.has_value());
  resp.set_full_reason(reason);
  auto add_task = [&](const std::vector<ObjectRef>& objects, uint64_t bytes) {
    v1::TransferTask* t = resp.add_tasks();
    t->set_task_id("objects-" + std::to_string(resp.tasks_size()));
    t->set_kind("copy");
    for (const auto& o : objects) t->add_paths(o.path);
    t->set_bytes(bytes);
    t->set_items(objects.size());
    t->set_opaque(Opaque(objects));
  };
  std::vector<ObjectRef> task;
  uint64_t task_bytes = 0;
  for (const auto& e : manifest.entries()) {
    ObjectRef o{sdk::Hex(e.digest()), e.size(), e.path()};
    if (store->HasObject(o.hex, o.size)) {
      resp.set_items_unchanged(resp.items_unchanged() + 1);
      continue;
    }
    resp.set_items_to_copy(resp.items_to_copy() + 1);
    resp.set_bytes_to_copy(resp.bytes_to_copy() + o.size);
    if (o.size >= kAloneBytes) {  // a large object gets a task of its own
      add_task({o}, o.size);
      continue;
    }
    task.push_back(o);
    task_bytes += o.size;
    if (task_bytes >= kTaskBytes || task.size() >= kTaskObjects) {
      add_task(task, task_bytes);
      task.clear();
      task_bytes = 0;
    }
  }
  if (!task.empty()) add_task(task, task_bytes);
  if (base_manifest) {
    std::set<std::string> now;
    for (const auto& e : manifest.entries()) now.insert(e.path());
    for (const auto& e : base_manifest->entries()) {
      if (!now.count(e.path())) resp.set_items_deleted(resp.items_deleted() + 1);
    }
  }

  std::lock_guard<std::mutex> lock(store->mutex());
  hstate::PlanRecord record;
  record.set_cut(cut_bytes);
  record.set_response(resp.SerializeAsString());
  record.set_base_restore_point_id(base);
  record.set_full(!base_manifest.has_value());
  record.set_source_cluster(req.source().config().cluster());
  LIFEBOAT_RETURN_IF_ERROR(store->WritePlan(rp, record));
  host_.Info("plan hive:" + sel.text() + " for " + rp + ": " +
             (base_manifest ? "incremental from " + base : "full (" + reason + ")") + ", " +
             std::to_string(resp.items_to_copy()) + " object(s) to copy (" +
             std::to_string(resp.bytes_to_copy()) + " bytes), " +
             std::to_string(resp.items_unchanged()) + " held here already; locations " +
             rewriter.Describe());
  return resp;
}

StatusOr<v1::TransferResponse> HivePlugin::Transfer(sdk::Call& call,
                                                    const v1::TransferRequest& req) {
  if (call.Cancelled()) {
    return CancelledError("transfer " + req.task().task_id() + " cancelled before it started");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.snapshot().data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<ObjectRef> objects, FromOpaque(req.task().opaque()));
  std::shared_ptr<sdk::Throttle> throttle =
      throttles_.For(req.snapshot().restore_point_id(), req.bandwidth_bytes_per_second());
  FetchCount count;
  LIFEBOAT_RETURN_IF_ERROR(FetchObjects(call, req.source(), req.snapshot(), objects, *store,
                                        req.bandwidth_bytes_per_second(), throttle.get(), count));
  v1::TransferResponse resp;
  resp.set_bytes_copied(count.bytes_copied);
  resp.set_bytes_skipped(count.bytes_skipped);
  resp.set_items_done(count.objects);
  return resp;
}

}  // namespace lifeboat::hive
