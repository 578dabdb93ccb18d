// Deletes: clusters, services and the objects a YAML file defines (planned together, so that
// objects removed in one call do not count as users of each other), and restore points
// (removed on the target by the plugins' expire op, the path retention takes); and what
// retention keeps and lets go, shared by backups, deletes and apply's report.
//
// What a delete would destroy is named before it happens: a refusal lists it and says how to
// agree (force); a dry run says what would go and what would stay.
#include <lifeboat/core/engine.h>
#include <lifeboat/core/op_ids.h>

#include <algorithm>
#include <set>

#include "engine_util.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;

std::string Join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string Count(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

// ---- configuration ------------------------------------------------------------------------

StatusOr<std::vector<std::string>> Engine::DeleteCluster(const std::string& name,
                                                         const DeleteOptions& options,
                                                         const std::string& actor) {
  auto c = store_->Read<v1::Cluster>(Kind::kClusters, name);
  if (!c.ok() && c.status().code() == Code::kNotFound) {
    return NotFoundError("no cluster named '" + name + "'; `lifeboat cluster list` shows them");
  }
  LIFEBOAT_RETURN_IF_ERROR(c.status());
  Removal r;
  r.clusters.insert(name);
  return DeleteConfig(r, {}, options, actor);
}

StatusOr<std::vector<std::string>> Engine::DeleteService(const std::string& name,
                                                         const DeleteOptions& options,
                                                         const std::string& actor) {
  auto s = store_->Read<v1::Service>(Kind::kServices, name);
  if (!s.ok() && s.status().code() == Code::kNotFound) {
    return NotFoundError("no service named '" + name + "'; `lifeboat service list` shows them");
  }
  LIFEBOAT_RETURN_IF_ERROR(s.status());
  Removal r;
  r.services.insert(name);
  return DeleteConfig(r, {}, options, actor);
}

StatusOr<std::vector<std::string>> Engine::DeleteObjects(const std::vector<YamlDocument>& docs,
                                                         const DeleteOptions& options,
                                                         const std::string& actor) {
  Removal r;
  std::vector<std::string> absent;
  for (const YamlDocument& doc : docs) {
    Kind kind = Kind::kPolicies;
    std::set<std::string>* into = &r.policies;
    if (std::holds_alternative<v1::Cluster>(doc.value)) {
      kind = Kind::kClusters;
      into = &r.clusters;
    } else if (std::holds_alternative<v1::Service>(doc.value)) {
      kind = Kind::kServices;
      into = &r.services;
    }
    auto raw = store_->GetRaw(kind, doc.Name());
    if (raw.ok()) {
      into->insert(doc.Name());
      continue;
    }
    if (raw.status().code() != Code::kNotFound) return raw.status();
    std::string kind_name = doc.Kind();
    std::transform(kind_name.begin(), kind_name.end(), kind_name.begin(), ::tolower);
    absent.push_back(kind_name + " " + doc.Name() + " is not stored (" + doc.Place("name") +
                     "); nothing to delete");
  }
  return DeleteConfig(r, absent, options, actor);
}

StatusOr<std::vector<std::string>> Engine::DeleteConfig(const Removal& want,
                                                        const std::vector<std::string>& absent,
                                                        const DeleteOptions& options,
                                                        const std::string& actor) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto services, Services());
  LIFEBOAT_ASSIGN_OR_RETURN(auto policies, Policies());
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
  const std::string would = options.dry_run ? "would delete " : "deleted ";
  std::vector<std::string> lines;
  std::vector<std::string> needs_force, refusals;
  std::set<std::string> policy_names = want.policies;
  StateStore::Batch batch;
  // Each deleted object: a line, a store delete and an audit record.
  auto remove = [&](Kind kind, const char* what, const std::string& name,
                    const std::string& detail) -> Status {
    lines.push_back(would + what + " " + name + (detail.empty() ? "" : " (" + detail + ")"));
    batch.Delete(kind, name);
    return Audit(batch, actor, std::string(what) + ".delete", name,
                 (options.force ? "forced; " : "") + detail);
  };

  std::map<std::string, std::vector<std::string>> stays;  // service -> what stays of it
  for (const std::string& s : want.services) {
    for (const auto& j : jobs) {
      if (j.service() != s || !Unfinished(j)) continue;
      refusals.push_back("service " + s + " has an unfinished job " + j.id() + " (" +
                         v1::JobKind_Name(j.kind()) + ", " + v1::JobState_Name(j.state()) +
                         "): let it end or cancel it (`lifeboat jobs cancel " + j.id() + "`)");
    }
    std::vector<std::string> its_policies;
    for (const auto& p : policies) {
      if (p.service() == s && !want.policies.count(p.name())) its_policies.push_back(p.name());
    }
    if (!its_policies.empty()) {
      needs_force.push_back("service " + s + " has " +
                            Count(its_policies.size(), "policy", "policies") + " (" +
                            Join(its_policies) + ") that would go with it: its backups stop");
      policy_names.insert(its_policies.begin(), its_policies.end());
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(s));
    std::map<std::string, size_t> committed;  // cluster -> committed points there
    for (const auto& p : points) {
      if (p.state() == v1::RP_COMMITTED) ++committed[p.target_cluster()];
    }
    std::vector<std::string> where;
    size_t total = 0;
    for (const auto& [cluster, n] : committed) {
      where.push_back(std::to_string(n) + " on " + cluster);
      total += n;
    }
    if (total > 0) {
      needs_force.push_back("service " + s + " has " +
                            Count(total, "committed restore point", "committed restore points") +
                            " (" + Join(where) +
                            "): they stay, restorable once the service is applied again, and "
                            "`lifeboat points delete " +
                            s + " POINT` removes them");
      stays[s].push_back("its " + Count(total, "restore point", "restore points") + " (" +
                         Join(where) + ")");
    }
    if (store_->GetRaw(Kind::kMeta, RolesKey(s)).ok()) {
      stays[s].push_back(
          "its roles record (epochs only grow, so a service applied again under "
          "this name continues from it)");
    }
  }

  for (const std::string& c : want.clusters) {
    for (const auto& s : services) {
      if (want.services.count(s.name())) continue;
      if (s.primary_cluster() != c && s.secondary_cluster() != c) continue;
      refusals.push_back("cluster " + c + " is used by service " + s.name() + " (as its " +
                         (s.primary_cluster() == c ? "primary" : "secondary") +
                         "): delete the service first (`lifeboat service delete " + s.name() +
                         "`), or apply it with other clusters");
    }
    // Restore points kept on this cluster, of every service (deleted ones' included).
    std::set<std::string> names;
    for (const auto& s : services) names.insert(s.name());
    for (const auto& j : jobs) names.insert(j.service());
    size_t held = 0;
    std::set<std::string> of;
    for (const std::string& s : names) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(s));
      for (const auto& p : points) {
        if (p.state() != v1::RP_COMMITTED || p.target_cluster() != c) continue;
        ++held;
        of.insert(s);
      }
    }
    if (held > 0) {
      needs_force.push_back(
          "cluster " + c + " holds " +
          Count(held, "committed restore point", "committed restore points") + " of " +
          Join(std::vector<std::string>(of.begin(), of.end())) +
          ": without the cluster Lifeboat can neither restore nor remove them (their data "
          "stays there); `lifeboat points delete SERVICE POINT` removes them first");
    }
  }

  if (!refusals.empty()) {
    return FailedPreconditionError("nothing was deleted: " + Join(refusals, "; "));
  }
  if (!needs_force.empty() && !options.force) {
    return FailedPreconditionError("nothing was deleted: " + Join(needs_force, "; ") +
                                   ". Give --force (API: force=true) to delete anyway");
  }
  for (const std::string& p : policy_names) {
    LIFEBOAT_RETURN_IF_ERROR(remove(Kind::kPolicies, "policy", p, ""));
  }
  for (const std::string& s : want.services) {
    LIFEBOAT_RETURN_IF_ERROR(remove(Kind::kServices, "service", s, ""));
    for (const std::string& stay : stays[s]) lines.push_back("    stays: " + stay);
  }
  for (const std::string& c : want.clusters) {
    LIFEBOAT_RETURN_IF_ERROR(remove(Kind::kClusters, "cluster", c, ""));
  }
  for (const std::string& a : absent) lines.push_back(a);
  if (options.dry_run) {
    lines.push_back("dry run: nothing was deleted");
    return lines;
  }
  if (batch.size() == 0) return lines;
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& c : want.clusters) agents_.erase(c);
  return lines;
}

// ---- restore points -------------------------------------------------------------------------

StatusOr<std::map<std::string, std::string>> Engine::AlwaysKeptPoints(const std::string& service) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(service));
  std::vector<v1::RestorePoint> committed;
  for (auto& p : points) {
    if (p.state() == v1::RP_COMMITTED) committed.push_back(std::move(p));
  }
  std::sort(committed.begin(), committed.end(),
            [](const auto& a, const auto& b) { return a.id() > b.id(); });  // newest first
  std::map<std::string, std::string> kept;
  std::set<std::string> holders;
  for (const auto& p : committed) {
    if (holders.insert(p.target_cluster()).second) {
      kept[p.id()] = "the newest committed point on cluster " + p.target_cluster();
    }
  }
  auto roles = Roles(service);
  if (roles.ok() && !roles->common_restore_point_id().empty()) {
    kept.emplace(roles->common_restore_point_id(),
                 "the last point both clusters hold (a failback replicates only what changed "
                 "after it)");
  }
  return kept;
}

StatusOr<std::vector<v1::RestorePoint>> Engine::RetentionVictims(const v1::Policy& policy,
                                                                 const std::string& running_job) {
  const v1::Retention& keep = policy.retention();
  if (keep.keep_count() == 0 && keep.keep_age_seconds() == 0) {
    return std::vector<v1::RestorePoint>{};
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(policy.service()));
  std::vector<v1::RestorePoint> committed;
  for (auto& p : points) {
    if (p.state() == v1::RP_COMMITTED) committed.push_back(p);
  }
  std::sort(committed.begin(), committed.end(),
            [](const auto& a, const auto& b) { return a.id() > b.id(); });  // newest first
  std::set<std::string> needed;
  // The newest point on each cluster that holds points (after a failover both do), and the
  // last common point of the roles (failback replicates from it).
  LIFEBOAT_ASSIGN_OR_RETURN(auto kept, AlwaysKeptPoints(policy.service()));
  for (const auto& [id, why] : kept) needed.insert(id);
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
  for (const auto& j : jobs) {
    if (j.id() == running_job || !Unfinished(j)) continue;
    needed.insert(j.base_restore_point_id());
    needed.insert(j.restore_point_id());
  }
  std::vector<v1::RestorePoint> victims;
  const int64_t now = Now();
  for (size_t k = 1; k < committed.size(); ++k) {  // k = 0: the newest, always kept
    const auto& p = committed[k];
    bool by_count = keep.keep_count() > 0 && k < keep.keep_count();
    bool by_age = keep.keep_age_seconds() > 0 &&
                  (now - p.cut_unix_nanos()) / 1000000000 < keep.keep_age_seconds();
    if (by_count || by_age || needed.count(p.id())) continue;
    victims.push_back(p);
  }
  return victims;
}

Status Engine::ExpireMembers(const v1::RestorePoint& point, const ExpireCall& call, int* removed) {
  *removed = 0;
  auto holder = AgentFor(point.target_cluster());
  for (int i = 0; i < point.members_size(); ++i) {
    const v1::Member& m = point.members(i);
    pb::ExpireRequest req;
    req.set_op_id(op_ids::ForMember(op_ids::PointStep::kExpire, point.id(), i));
    *req.mutable_data_set() = ToPlugin(m.data_set());
    req.add_restore_point_ids(point.id());
    auto r = holder.ok() ? call(*holder, m.data_set().component(), req)
                         : StatusOr<pb::ExpireResponse>(holder.status());
    if (!r.ok()) {
      return r.status().WithContext("expire " + Name(m.data_set()) + " of " + point.id() + " on " +
                                    point.target_cluster());
    }
    ++*removed;
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> Engine::DeleteRestorePoint(const std::string& service,
                                                              const std::string& id,
                                                              const DeleteOptions& options,
                                                              const std::string& actor) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::RestorePoint rp, GetRestorePoint(service, id));
  const std::string what = "restore point " + id + " of service " + service;
  if (rp.state() == v1::RP_PENDING) {
    return FailedPreconditionError(what + " is being made by job " + rp.job_id() +
                                   "; let it end or cancel it (`lifeboat jobs cancel " +
                                   rp.job_id() + "`)");
  }
  if (rp.state() == v1::RP_FAILED) {
    return FailedPreconditionError(what +
                                   " was abandoned and its partial members were "
                                   "cleaned up then; there is nothing to delete");
  }
  const bool again = rp.state() == v1::RP_EXPIRED;
  const std::string members = Count(rp.members_size(), "member", "members");
  std::vector<std::string> lines;
  {
    // Under the lock that job starts take: no job starts between the checks and the mark.
    std::lock_guard<std::mutex> lock(mu_);
    LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());
    for (const auto& j : jobs) {
      if (j.service() != service || !Unfinished(j)) continue;
      return FailedPreconditionError("nothing was deleted: job " + j.id() + " (" +
                                     v1::JobKind_Name(j.kind()) + ", " +
                                     v1::JobState_Name(j.state()) + ") of service " + service +
                                     " is unfinished and may use " + id +
                                     "; let it end or cancel it (`lifeboat jobs "
                                     "cancel " +
                                     j.id() + "`)");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto kept, AlwaysKeptPoints(service));
    auto k = kept.find(id);
    if (!again && k != kept.end()) {
      if (!options.force) {
        return FailedPreconditionError(
            "nothing was deleted: " + what + " is " + k->second +
            "; retention never removes it. Give --force (API: force=true) to delete it anyway "
            "(the next backup to that cluster is then a full copy)");
      }
      lines.push_back("warning: " + id + " is " + k->second);
    }
    const std::string verb = again ? "remove the members of " : "delete ";
    const std::string how = "(expire " + members + " on cluster " + rp.target_cluster() + ")";
    if (options.dry_run) {
      if (again) lines.push_back(id + " is expired already; its members would be removed again");
      lines.push_back("would " + verb + what + " " + how);
      lines.push_back("dry run: nothing was deleted");
      return lines;
    }
    if (!again) {
      // Marked first, so that no job started from now on builds on it or restores it.
      v1::RestorePoint marked = rp;
      marked.set_state(v1::RP_EXPIRED);
      StateStore::Batch batch;
      batch.Put(Kind::kRestorePoints, Key(service, id), marked);
      LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
    }
  }
  int removed = 0;
  Status s = ExpireMembers(
      rp,
      [](Agent* agent, const std::string& component, const pb::ExpireRequest& req) {
        return agent->Invoke<LB_OP_EXPIRE>(component, req);
      },
      &removed);
  StateStore::Batch batch;
  if (!s.ok() && removed == 0 && !again) {
    // Refused before anything went (localfs keeps a data set's current point): whole again.
    batch.Put(Kind::kRestorePoints, Key(service, id), rp);
    LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
    return s.WithContext("nothing was deleted; " + id + " stays committed");
  }
  LIFEBOAT_RETURN_IF_ERROR(Audit(batch, actor, "restore_point.delete", service + "/" + id,
                                 (options.force ? "forced; " : "") + std::to_string(removed) +
                                     " of " + members + " removed on " + rp.target_cluster() +
                                     (s.ok() ? "" : "; " + s.ToString())));
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  if (!s.ok()) {
    return s.WithContext(what + " is recorded expired (it can no longer be restored); " +
                         std::to_string(removed) + " of " + members +
                         " were removed; `lifeboat points delete " + service + " " + id +
                         "` again removes the rest");
  }
  lines.push_back((again ? "removed the members of " : "deleted ") + what + " (" +
                  std::to_string(removed) + " of " + members + " expired on cluster " +
                  rp.target_cluster() + ")");
  return lines;
}

}  // namespace lifeboat::core
