// Apply: clusters, services and policies from YAML into the state store — checked first
// (references, plugins, selectors, roles), reported object by object with what changed, and in
// a dry run only reported.
//
// Roles are the one thing apply never moves once data has moved: a service's active side
// changes by failover or failback (switch.cc), which fence, apply the newest point and bump
// the epoch; rewriting `primary:` would do none of that (issue 11, finding 1).
#include <google/protobuf/util/message_differencer.h>
#include <lifeboat/core/engine.h>

#include <algorithm>
#include <set>

#include "engine_util.h"

namespace lifeboat::core {
namespace {

namespace pb = ::lifeboat::v1;

// Equal apart from the fields the store sets.
template <typename M>
bool SameContent(M a, M b) {
  a.set_revision(0);
  b.set_revision(0);
  if constexpr (std::is_same_v<M, v1::Policy>) {
    a.set_applied_unix_nanos(0);
    b.set_applied_unix_nanos(0);
    a.clear_source();
    b.clear_source();
  }
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

int Indent(const std::string& line) {
  const size_t n = line.find_first_not_of(' ');
  return n == std::string::npos ? 0 : static_cast<int>(n);
}

// The lines that differ between two YAML texts, "- " for a line only in `before` and "+ " for
// one only in `after`, in order (a longest common subsequence of lines is kept out); a changed
// line that is nested is preceded by its unchanged parents ("  schedule:"), once. Objects are
// a few dozen lines; past a few thousand the whole of each side is shown.
std::vector<std::string> LineDiff(const std::string& before, const std::string& after) {
  const std::vector<std::string> a = SplitLines(before);
  const std::vector<std::string> b = SplitLines(after);
  std::vector<std::string> out;
  const size_t n = a.size();
  const size_t m = b.size();
  if (n * m > 4'000'000) {
    for (const auto& l : a) out.push_back("- " + l);
    for (const auto& l : b) out.push_back("+ " + l);
    return out;
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::set<size_t> shown;  // lines of `before` printed as context
  // For each line of `after` that both texts share, its index in `before` (else -1).
  std::vector<long> a_of_b(m, -1);
  for (size_t i = 0, j = 0; i < n && j < m;) {
    if (a[i] == b[j]) {
      a_of_b[j++] = static_cast<long>(i++);
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
  // Prints the unchanged parents of line `k` of `text` (`before` when in_a) not yet shown.
  auto context = [&](const std::vector<std::string>& text, size_t k, bool in_a) {
    std::vector<size_t> parents;  // indexes in `a`, innermost first
    int indent = Indent(text[k]);
    for (size_t p = k; p-- > 0 && indent > 0;) {
      if (Indent(text[p]) >= indent) continue;
      indent = Indent(text[p]);
      const long in_before = in_a ? static_cast<long>(p) : a_of_b[p];
      if (in_before >= 0) parents.push_back(static_cast<size_t>(in_before));
    }
    for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
      if (shown.insert(*it).second) out.push_back("  " + a[*it]);
    }
  };
  size_t i = 0;
  size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      context(a, i, true);
      out.push_back("- " + a[i++]);  // what goes before what comes, as diff shows it
    } else {
      context(b, j, false);
      out.push_back("+ " + b[j++]);
    }
  }
  return out;
}

// Fills `obj` for `next` against the stored `old` (null: none) and sets next's revision.
// Returns whether `next` must be written.
template <typename M>
bool Compare(const M* old, M& next, AppliedObject& obj) {
  if (old == nullptr) {
    obj.action = "created";
    next.set_revision(1);
    obj.revision = 1;
    return true;
  }
  obj.previous_revision = old->revision();
  if (SameContent(*old, next)) {
    obj.action = "unchanged";
    next.set_revision(old->revision());
    obj.revision = old->revision();
    return false;
  }
  obj.action = "changed";
  next.set_revision(old->revision() + 1);
  obj.revision = next.revision();
  obj.changes = LineDiff(ToYaml(*old), ToYaml(next));
  return true;
}

template <typename M>
const M* Find(const std::map<std::string, M>& stored, const std::string& name) {
  auto it = stored.find(name);
  return it == stored.end() ? nullptr : &it->second;
}

// `s` at `field` of `doc` when the object came from a document, else prefixed by `context`.
Status At(const YamlDocument* doc, const std::string& field, const std::string& context,
          const Status& s) {
  if (doc == nullptr) return s.WithContext(context);
  return doc->Error(s.code(), field, context + ": " + s.message());
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// 604800 -> "7d", 5400 -> "90m": the largest exact unit, as policy files write durations.
std::string Seconds(int64_t s) {
  for (const auto& [unit, size] : {std::pair{"d", 86400}, {"h", 3600}, {"m", 60}}) {
    if (s % size == 0) return std::to_string(s / size) + unit;
  }
  return std::to_string(s) + "s";
}

}  // namespace

std::vector<std::string> ApplyReport::Lines() const {
  std::vector<std::string> out;
  for (const AppliedObject& o : objects) {
    std::string line = o.kind + " " + o.name + " ";
    const std::string rev = std::to_string(o.revision);
    if (o.action == "unchanged") {
      line += "unchanged (revision " + rev + ")";
    } else if (!dry_run) {
      line += "applied (revision " + rev + ")";
    } else if (o.action == "created") {
      line += "would be created (revision " + rev + ")";
    } else {
      line += "would change (revision " + std::to_string(o.previous_revision) + " -> " + rev + ")";
    }
    out.push_back(line);
    for (const std::string& c : o.changes) out.push_back("    " + c);
    if (o.kind != "service") continue;
    for (const AppliedRoles& r : roles) {
      if (r.service != o.name || (!dry_run && r.agrees && !r.changed)) continue;
      std::string roles_line = "    roles: primary " + r.primary + ", secondary " + r.secondary +
                               ", epoch " + std::to_string(r.epoch);
      if (!r.note.empty()) roles_line += " — " + r.note;
      out.push_back(roles_line);
    }
  }
  for (const std::string& n : notes) out.push_back(n);
  if (dry_run) out.push_back("dry run: nothing was changed");
  return out;
}

StatusOr<std::vector<std::string>> Engine::Apply(const std::vector<YamlDocument>& docs,
                                                 const std::string& actor) {
  LIFEBOAT_ASSIGN_OR_RETURN(ApplyReport report, ApplyConfig(docs, actor, ApplyOptions{}));
  return report.Lines();
}

Status Engine::CheckClusterPlugins(const v1::Cluster& cluster, const YamlDocument* doc,
                                   std::vector<std::string>& notes) {
  const bool remote = options_.make_agent && !cluster.agent().address().empty();
  std::unique_ptr<Agent> agent;
  if (remote) {
    LIFEBOAT_ASSIGN_OR_RETURN(agent, options_.make_agent(cluster, *host_));
  } else {
    agent = std::make_unique<LocalAgent>(*host_, cluster);
  }
  agent = Retrying(std::move(agent));
  for (int i = 0; i < cluster.components_size(); ++i) {
    const v1::ClusterComponent& c = cluster.components(i);
    const std::string item = "components[" + std::to_string(i) + "]";
    const std::string context = "cluster " + cluster.name() + ", component " + c.component();
    if (remote) {
      // Describing makes the plugin instance there, which refuses a bad configuration.
      auto described = agent->Describe(c.component());
      if (described.ok()) continue;
      const Code code = described.status().code();
      if (code == Code::kUnavailable || code == Code::kDeadlineExceeded) {
        // The cluster may be the one that is down; its configuration must still be fixable.
        notes.push_back("cluster " + cluster.name() + ": the agent did not answer; component " +
                        c.component() + " was not checked");
        continue;
      }
      return At(doc, item, context, described.status());
    }
    LIFEBOAT_ASSIGN_OR_RETURN(pb::PluginConfig config, agent->PeerConfig(c.component()));
    Status valid = host_->Validate(config);
    if (valid.ok()) continue;
    if (valid.code() == Code::kNotFound) {
      return At(doc, item + (c.plugin() != c.component() ? ".plugin" : ".component"), context,
                Status(Code::kFailedPrecondition,
                       valid.message() + "; put the plugin " + Quoted(config.plugin()) +
                           " in a trusted plugin directory (--plugin-dir) or name a loaded one "
                           "under plugin:"));
    }
    // The plugin names the setting it refuses (its status subject) when it can.
    const std::string& key = valid.subject();
    const bool simple_key = !key.empty() && key.find_first_of(".[ ") == std::string::npos;
    return At(doc, item + ".config" + (simple_key ? "." + key : ""), context,
              Status(valid.code(), valid.message()));
  }
  return OkStatus();
}

StatusOr<ApplyReport> Engine::ApplyConfig(const std::vector<YamlDocument>& docs,
                                          const std::string& actor, const ApplyOptions& options) {
  LIFEBOAT_RETURN_IF_ERROR(CheckDistinct(docs));
  // The configuration as it will be: the store overlaid with the documents.
  std::map<std::string, v1::Cluster> clusters;
  std::map<std::string, v1::Service> services;
  std::map<std::string, v1::Policy> policies;
  LIFEBOAT_ASSIGN_OR_RETURN(auto stored_clusters, store_->List<v1::Cluster>(Kind::kClusters));
  for (auto& c : stored_clusters) clusters[c.name()] = c;
  LIFEBOAT_ASSIGN_OR_RETURN(auto stored_services, store_->List<v1::Service>(Kind::kServices));
  for (auto& s : stored_services) services[s.name()] = s;
  LIFEBOAT_ASSIGN_OR_RETURN(auto stored_policies, store_->List<v1::Policy>(Kind::kPolicies));
  for (auto& p : stored_policies) policies[p.name()] = p;
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, Jobs());

  ApplyReport report;
  report.dry_run = options.dry_run;
  StateStore::Batch batch;
  std::set<std::string> touched_services;
  std::set<std::string> changed_clusters;
  std::map<std::string, const YamlDocument*> service_docs, cluster_docs;
  std::map<std::string, v1::Policy> stored;  // the policies as they were, by name
  for (const auto& p : stored_policies) stored[p.name()] = p;
  std::vector<v1::Policy> retention_changed;

  for (const YamlDocument& doc : docs) {
    AppliedObject obj;
    obj.name = doc.Name();
    obj.where = doc.file + ":" + std::to_string(doc.line);
    if (const auto* c = std::get_if<v1::Cluster>(&doc.value)) {
      obj.kind = "cluster";
      cluster_docs[c->name()] = &doc;
      v1::Cluster next = *c;
      if (Compare(Find(clusters, c->name()), next, obj)) {
        clusters[c->name()] = next;
        changed_clusters.insert(c->name());
        batch.Put(Kind::kClusters, c->name(), next);
      }
    } else if (const auto* s = std::get_if<v1::Service>(&doc.value)) {
      obj.kind = "service";
      service_docs[s->name()] = &doc;
      touched_services.insert(s->name());
      LIFEBOAT_ASSIGN_OR_RETURN(AppliedRoles roles,
                                CheckRoles(doc, *s, Find(services, s->name()), jobs));
      report.roles.push_back(std::move(roles));
      v1::Service next = *s;
      if (Compare(Find(services, s->name()), next, obj)) {
        services[s->name()] = next;
        batch.Put(Kind::kServices, s->name(), next);
      }
    } else if (const auto* p = std::get_if<v1::Policy>(&doc.value)) {
      obj.kind = "policy";
      // ParseYaml checked the schedule; documents made otherwise are checked here.
      auto schedule = Schedule::Create(p->schedule());
      if (!schedule.ok()) {
        return doc.Error(schedule.status().code(), schedule.status().subject(),
                         schedule.status().message());
      }
      v1::Policy next = *p;
      next.set_source(doc.file);
      touched_services.insert(p->service());
      if (Compare(Find(policies, p->name()), next, obj)) {
        next.set_applied_unix_nanos(Now());
        policies[p->name()] = next;
        const v1::Policy* before = Find(stored, p->name());
        if (before == nullptr || !google::protobuf::util::MessageDifferencer::Equals(
                                     before->retention(), next.retention())) {
          retention_changed.push_back(next);
        }
        batch.Put(Kind::kPolicies, p->name(), next);
        batch.Put(Kind::kPolicyRevisions, Key(p->name(), PaddedNumber(next.revision())), next);
      }
    }
    report.objects.push_back(std::move(obj));
  }

  // References: policy → service → clusters → components; selectors resolve on the primary.
  for (const YamlDocument& doc : docs) {
    const auto* p = std::get_if<v1::Policy>(&doc.value);
    if (p == nullptr || services.count(p->service())) continue;
    return doc.Error(Code::kNotFound, "service",
                     "policy " + p->name() + ": service " + Quoted(p->service()) +
                         " is not defined; apply a `kind: Service` named so (`lifeboat service "
                         "list` shows those defined)");
  }
  for (const auto& [name, policy] : policies) {
    if (!services.count(policy.service())) {
      return NotFoundError("policy " + name + ": service '" + policy.service() +
                           "' is not defined; apply a `kind: Service` named so");
    }
  }
  for (const std::string& name : touched_services) {
    const v1::Service& svc = services.at(name);
    const YamlDocument* doc = service_docs.count(name) ? service_docs.at(name) : nullptr;
    for (const char* field : {"primary", "secondary"}) {
      const std::string& cl = field[0] == 'p' ? svc.primary_cluster() : svc.secondary_cluster();
      if (clusters.count(cl)) continue;
      return At(doc, field, "service " + name,
                NotFoundError("cluster " + Quoted(cl) +
                              " is not defined; apply a `kind: Cluster` named so (`lifeboat "
                              "cluster list` shows those defined)"));
    }
  }
  // Every changed cluster's components, checked by their plugins as they would run.
  for (const std::string& name : changed_clusters) {
    LIFEBOAT_RETURN_IF_ERROR(
        CheckClusterPlugins(clusters.at(name), cluster_docs.at(name), report.notes));
  }
  for (const std::string& name : touched_services) {
    LIFEBOAT_RETURN_IF_ERROR(
        CheckDataSets(services.at(name), service_docs.count(name) ? service_docs.at(name) : nullptr,
                      clusters, report));
  }

  // What the change lets go of, said before it happens: points a new retention expires at the
  // next backup, points out of reach of a changed cluster configuration.
  for (const v1::Policy& p : retention_changed) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto victims, RetentionVictims(p, ""));
    if (victims.empty()) continue;
    report.notes.push_back("note: policy " + p.name() + ": under its retention (keep " +
                           std::to_string(p.retention().keep_count()) +
                           (p.retention().keep_age_seconds() > 0
                                ? ", max_age " + Seconds(p.retention().keep_age_seconds())
                                : "") +
                           ") the next backup of " + p.service() + " expires " +
                           std::to_string(victims.size()) + " restore point(s), " +
                           victims.back().id() + " to " + victims.front().id());
  }
  for (const std::string& name : changed_clusters) {
    if (cluster_docs.count(name) == 0) continue;
    const YamlDocument& doc = *cluster_docs.at(name);
    const v1::Cluster* before = nullptr;
    for (const auto& c : stored_clusters) before = c.name() == name ? &c : before;
    if (before == nullptr) continue;
    v1::Cluster a = *before, b = std::get<v1::Cluster>(doc.value);
    a.clear_description();
    b.clear_description();
    a.set_revision(0);
    b.set_revision(0);
    if (google::protobuf::util::MessageDifferencer::Equals(a, b)) continue;
    size_t held = 0;
    for (const auto& [svc_name, svc] : services) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(svc_name));
      for (const auto& p : points) {
        held += p.state() == v1::RP_COMMITTED && p.target_cluster() == name ? 1 : 0;
      }
    }
    if (held == 0) continue;
    report.notes.push_back("note: cluster " + name + " holds " + std::to_string(held) +
                           " committed restore point(s); if its changed configuration no "
                           "longer reaches where they are, they can be neither restored nor "
                           "expired (`lifeboat points list SERVICE` shows them)");
  }

  if (options.dry_run || batch.size() == 0) return report;
  LIFEBOAT_RETURN_IF_ERROR(
      Audit(batch, actor, "apply", "", std::to_string(docs.size()) + " documents"));
  LIFEBOAT_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& name : changed_clusters) agents_.erase(name);
  return report;
}

StatusOr<AppliedRoles> Engine::CheckRoles(const YamlDocument& doc, const v1::Service& next,
                                          const v1::Service* old,
                                          const std::vector<v1::Job>& jobs) {
  const std::string& name = next.name();
  AppliedRoles r;
  r.service = name;
  r.file_primary = next.primary_cluster();
  r.file_secondary = next.secondary_cluster();
  // The stored roles: the record a switch wrote, else those of the stored service (epoch 1).
  std::optional<v1::ServiceRoles> record;
  auto raw = store_->GetRaw(Kind::kMeta, RolesKey(name));
  if (raw.ok()) {
    v1::ServiceRoles roles;
    if (!roles.ParseFromString(*raw)) {
      return DataLossError("the roles record of service " + name + " is unreadable");
    }
    record = roles;
  } else if (raw.status().code() != Code::kNotFound) {
    return raw.status();
  }
  if (!record && old == nullptr) {
    // A new service: the file decides.
    r.primary = r.file_primary;
    r.secondary = r.file_secondary;
    r.epoch = 1;
    return r;
  }
  r.primary = record ? record->primary_cluster() : old->primary_cluster();
  r.secondary = record ? record->secondary_cluster() : old->secondary_cluster();
  r.epoch = record ? record->epoch() : 1;
  const bool moves = old == nullptr || old->primary_cluster() != next.primary_cluster() ||
                     old->secondary_cluster() != next.secondary_cluster();
  if (moves) {
    for (const auto& j : jobs) {
      if (j.service() != name || !Unfinished(j)) continue;
      return doc.Error(Code::kFailedPrecondition, "primary",
                       "service " + name + ": its clusters cannot change while job " + j.id() +
                           " (" + v1::JobKind_Name(j.kind()) +
                           ") is unfinished; let it end or cancel it (`lifeboat jobs cancel " +
                           j.id() + "`)");
    }
  }
  r.agrees = r.file_primary == r.primary && r.file_secondary == r.secondary;
  if (r.agrees) return r;

  LIFEBOAT_ASSIGN_OR_RETURN(auto points, RestorePoints(name));
  size_t kept = 0;
  for (const auto& p : points) kept += p.state() != v1::RP_FAILED ? 1 : 0;
  const std::string stored = "the roles are primary " + r.primary + ", secondary " + r.secondary +
                             " (epoch " + std::to_string(r.epoch) + ")";
  const bool same_pair = r.file_primary == r.secondary && r.file_secondary == r.primary;
  if (same_pair && record) {
    // Switched already: the file may keep the configured (home) orientation; the roles stay.
    r.note = "the file names " + r.file_primary + " primary, but the service was switched (" +
             (record->reason().empty() ? "by " + record->changed_by() : record->reason()) +
             "): the roles stay until `lifeboat failover " + name + "` or `lifeboat failback " +
             name + "`; write primary: " + r.primary + " to make the file say so";
    return r;
  }
  if (kept == 0 && !record) {
    // Nothing has moved between the clusters yet: the file still decides.
    r.primary = r.file_primary;
    r.secondary = r.file_secondary;
    r.changed = true;
    r.note = "set by this file: the service has no restore point yet";
    return r;
  }
  const std::string why =
      record ? "has been switched" : "has " + std::to_string(kept) + " restore point(s)";
  if (same_pair) {
    return doc.Error(Code::kFailedPrecondition, "primary",
                     "service " + name + " " + why + "; apply never switches its active side: " +
                         stored + " and this file names " + r.file_primary +
                         " primary. To move the service, run `lifeboat failover " + name +
                         "` (the primary is lost) or `lifeboat failback " + name +
                         "` (planned, no data loss), then write primary: " + r.file_primary +
                         " here; to keep the roles, write primary: " + r.primary +
                         ", secondary: " + r.secondary);
  }
  const bool primary_differs = r.file_primary != r.primary && r.file_primary != r.secondary;
  if (old == nullptr) {
    // Deleted after a switch: its roles record stays, since epochs only grow.
    return doc.Error(Code::kFailedPrecondition, primary_differs ? "primary" : "secondary",
                     "a service named " + name +
                         " was switched and deleted; its roles stay so that epochs only grow: " +
                         stored + ". Apply it with those clusters, or under another name");
  }
  return doc.Error(Code::kFailedPrecondition, primary_differs ? "primary" : "secondary",
                   "service " + name + " " + why + " on its clusters; apply does not move it " +
                       "to other clusters: " + stored + ". Write primary: " + r.primary +
                       ", secondary: " + r.secondary +
                       "; to protect the data on other clusters, apply a new service (or "
                       "delete this one first: `lifeboat service delete " +
                       name + " --force`, its restore points stay)");
}

Status Engine::CheckDataSets(const v1::Service& svc, const YamlDocument* doc,
                             const std::map<std::string, v1::Cluster>& clusters,
                             ApplyReport& report) {
  const std::string& name = svc.name();
  // The active side resolves the selectors: the stored roles' primary once the service was
  // switched (the file may name its home side), else the file's.
  std::string active = svc.primary_cluster();
  for (const AppliedRoles& r : report.roles) {
    if (r.service == name && clusters.count(r.primary)) active = r.primary;
  }
  // One agent per cluster of the configuration being applied: its plugin instances serve
  // every data set checked below. A cluster with a remote agent is checked there: the plugins
  // (and the configuration they run with) are the agent's, not this process's.
  auto agent_for = [&](const v1::Cluster& c) -> StatusOr<std::unique_ptr<Agent>> {
    if (options_.make_agent && !c.agent().address().empty()) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto remote, options_.make_agent(c, *host_));
      return Retrying(std::move(remote));
    }
    return Retrying(std::make_unique<LocalAgent>(*host_, c));
  };
  const std::string passive =
      active == svc.primary_cluster() ? svc.secondary_cluster() : svc.primary_cluster();
  LIFEBOAT_ASSIGN_OR_RETURN(auto primary, agent_for(clusters.at(active)));
  LIFEBOAT_ASSIGN_OR_RETURN(auto secondary, agent_for(clusters.at(passive)));
  std::set<std::string> unchecked;  // remote secondaries that did not answer
  for (int i = 0; i < svc.data_sets_size(); ++i) {
    const v1::DataSetSpec& ds = svc.data_sets(i);
    const std::string field = "data_sets[" + std::to_string(i) + "]";
    for (Agent* agent : {primary.get(), secondary.get()}) {
      const std::string& cl = agent->cluster();
      const std::string where =
          "service " + name + ": cluster " + cl + ", component " + ds.component();
      if (options_.make_agent && !clusters.at(cl).agent().address().empty()) {
        auto described = agent->Describe(ds.component());
        if (described.ok()) continue;
        const Code code = described.status().code();
        if (agent == secondary.get() &&
            (code == Code::kUnavailable || code == Code::kDeadlineExceeded)) {
          // The secondary may be the cluster that is down; a configuration change must
          // still be possible then. The primary is checked below (resolve) regardless.
          unchecked.insert(cl);
          continue;
        }
        return At(doc, field, where, described.status());
      }
      auto peer = agent->PeerConfig(ds.component());
      if (!peer.ok()) return At(doc, field, "service " + name, peer.status());
      Status valid = host_->Validate(*peer);
      if (!valid.ok()) return At(doc, field, where, valid);
    }
    pb::ResolveRequest req;
    req.set_selector(ds.selector());
    auto resolved = primary->Invoke<LB_OP_RESOLVE>(ds.component(), req);
    if (!resolved.ok()) {
      return At(doc, field, "service " + name + ": data set " + Name(ds) + " on cluster " + active,
                resolved.status());
    }
    if (resolved->data_sets_size() == 0) {
      return At(doc, field, "service " + name,
                NotFoundError("data set " + Name(ds) + " matches nothing on cluster " + active));
    }
  }
  for (const auto& cl : unchecked) {
    report.notes.push_back("service " + name + ": the agent of cluster " + cl +
                           " did not answer; its components were not checked");
  }
  return OkStatus();
}

}  // namespace lifeboat::core
