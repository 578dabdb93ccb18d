// Lifting a fence by hand: the way out of the state a restore into a demoted cluster parks in
// (its data sets refuse writes until a controller with the current epoch says otherwise).
#include <lifeboat/core/engine.h>
#include <lifeboat/core/op_ids.h>
#include <lifeboat/v1/plugin.pb.h>

#include <algorithm>
#include <map>

#include "engine_util.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;

}  // namespace

StatusOr<std::vector<std::string>> Engine::Unfence(const std::string& service,
                                                   const std::string& cluster, bool dry_run,
                                                   const std::string& actor) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::ServiceRoles roles, Roles(service));  // NOT_FOUND names it
  LIFEBOAT_ASSIGN_OR_RETURN(v1::Service svc, store_->Read<v1::Service>(Kind::kServices, service));
  if (cluster != roles.primary_cluster() && cluster != roles.secondary_cluster()) {
    return InvalidArgumentError("cluster '" + cluster + "' is not one of service " + service +
                                "'s (primary " + roles.primary_cluster() + ", secondary " +
                                roles.secondary_cluster() + ")");
  }
  if (std::find(roles.fence_owed().begin(), roles.fence_owed().end(), cluster) !=
      roles.fence_owed().end()) {
    return FailedPreconditionError(
        "cluster " + cluster + " owes a fence for " + service +
        " (it was demoted while unreachable) and is fenced again as soon as it answers; "
        "there is nothing to lift that would stay lifted");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
  for (const auto& j : jobs) {
    const bool running = j.state() == v1::JOB_PENDING || j.state() == v1::JOB_RUNNING;
    const bool moves_it =
        std::find(j.switch_spec().services().begin(), j.switch_spec().services().end(), service) !=
        j.switch_spec().services().end();
    if ((j.kind() == v1::JOB_FAILOVER || j.kind() == v1::JOB_FAILBACK) && running && moves_it &&
        !j.switch_spec().dry_run()) {
      return FailedPreconditionError("switch job " + j.id() + " of " + service +
                                     " is under way; let it end first");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Agent * agent, AgentFor(cluster));

  // What is fenced now, per component (one probe each).
  std::map<std::string, std::map<std::string, pb::FencedDataSet>> fenced;
  for (const auto& ds : svc.data_sets()) {
    if (fenced.count(ds.component())) continue;
    auto& sets = fenced[ds.component()];
    auto probe = agent->Invoke<LB_OP_PROBE>(ds.component(), pb::ProbeRequest{});
    if (!probe.ok()) {
      return probe.status().WithContext("asking cluster " + cluster + " what is fenced");
    }
    for (const auto& f : probe->fenced()) sets[f.data_set().selector()] = f;
  }

  std::vector<std::string> lines;
  const bool secondary = cluster == roles.secondary_cluster();
  if (secondary) {
    lines.push_back("warning: " + cluster + " is the secondary of " + service + " (primary " +
                    roles.primary_cluster() + ", epoch " + std::to_string(roles.epoch()) +
                    "): unfenced, applications can write there, and nothing copies those "
                    "writes to the primary");
  }
  uint64_t seq = 0;
  if (!dry_run) {
    LIFEBOAT_ASSIGN_OR_RETURN(seq, store_->NextSequence("unfence"));
  }
  int lifted = 0;
  for (int i = 0; i < svc.data_sets_size(); ++i) {
    const v1::DataSetSpec& ds = svc.data_sets(i);
    auto it = fenced[ds.component()].find(ds.selector());
    if (it == fenced[ds.component()].end()) {
      lines.push_back(Name(ds) + " is not fenced on " + cluster);
      continue;
    }
    const pb::FencedDataSet& f = it->second;
    const std::string was = "fenced at epoch " + std::to_string(f.epoch()) +
                            (f.reason().empty() ? "" : ": " + f.reason());
    if (dry_run) {
      lines.push_back("would unfence " + Name(ds) + " on " + cluster + " (" + was + ")");
      continue;
    }
    pb::FenceRequest req;
    // Its own op id: a late repeat of an old unfence must not lift a fence made after it.
    req.set_op_id(op_ids::ManualUnfence(seq, service, cluster, i));
    *req.mutable_data_set() = ToPlugin(ds);
    req.set_reason("unfenced by " + actor);
    req.set_epoch(std::max<uint64_t>(roles.epoch(), f.epoch()));
    auto r = agent->Invoke<LB_OP_UNFENCE>(ds.component(), req);
    if (!r.ok()) {
      return r.status().WithContext("unfence " + Name(ds) + " on " + cluster +
                                    (lifted > 0 ? " (the data sets before it are unfenced)" : ""));
    }
    ++lifted;
    lines.push_back("unfenced " + Name(ds) + " on " + cluster + " (was " + was + ")" +
                    (r->detail().empty() ? "" : ": " + r->detail()));
  }
  StateStore::Batch batch;
  std::string detail = cluster;
  for (const auto& l : lines) detail += "; " + l;
  LIFEBOAT_RETURN_IF_ERROR(
      Audit(batch, actor, dry_run ? "unfence.dry_run" : "unfence", service, detail));
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  if (!dry_run && lifted > 0) {
    (void)RecordEvent(v1::SEVERITY_WARNING, v1::EVENT_UNFENCED, service,
                      actor + " unfenced " + std::to_string(lifted) + " data set(s) of " + service +
                          " on " + cluster +
                          (secondary ? " (the secondary: writes there are not replicated)" : ""));
  }
  return lines;
}

}  // namespace lifeboat::core
