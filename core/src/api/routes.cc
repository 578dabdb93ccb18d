// The engine's routes: /healthz, /v1/... and the engine's /metrics samples.
#include "routes.h"

#include <lifeboat/core/engine.h>
#include <lifeboat/core/policy_yaml.h>

#include <cassert>
#include <charconv>

#include "consent.h"
#include "filters.h"
#include "http_text.h"

namespace lifeboat::core::api {
namespace {

namespace model = ::lifeboat::core::v1;
using json = nlohmann::json;

// "JOB_SUCCEEDED" -> "succeeded", as the CLI shows enum names.
std::string Short(const std::string& enum_name, const std::string& prefix) {
  std::string s = enum_name.rfind(prefix, 0) == 0 ? enum_name.substr(prefix.size()) : enum_name;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <typename M>
json ProtoList(const std::vector<M>& items) {
  json out = json::array();
  for (const auto& m : items) out.push_back(ProtoToJson(m));
  return out;
}

// A list route: `list()` -> {"<key>": [...]}.
template <typename Fn>
Response ListResponse(const char* key, Fn list) {
  auto items = list();
  if (!items.ok()) return ErrorResponse(items.status());
  return JsonResponse(200, {{key, ProtoList(*items)}});
}

constexpr uint64_t kMaxLimit = 100000;

// A list of records in the order they were made, those `keep` keeps (the route's filters,
// filters.h), cut to the newest `?limit=N` when given.
template <typename Fn, typename Keep>
Response NewestResponse(const RouteRequest& r, const char* key, Fn list, Keep keep) {
  size_t limit = 0;
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || n == 0 ||
        n > kMaxLimit) {
      return ErrorResponse(
          InvalidArgumentError("query parameter limit='" + it->second.substr(0, 40) +
                               "' must be a number from 1 to " + std::to_string(kMaxLimit)));
    }
    limit = static_cast<size_t>(n);
  }
  auto items = list();
  if (!items.ok()) return ErrorResponse(items.status());
  std::erase_if(*items, [&](const auto& item) { return !keep(item); });
  if (limit > 0 && items->size() > limit) {
    items->erase(items->begin(), items->end() - static_cast<std::ptrdiff_t>(limit));
  }
  return JsonResponse(200, {{key, ProtoList(*items)}});
}

bool Ended(model::JobState s) {
  return s == model::JOB_SUCCEEDED || s == model::JOB_FAILED || s == model::JOB_CANCELLED ||
         s == model::JOB_SKIPPED;
}

Response Accepted(const std::string& job_id, json extra = json::object()) {
  extra["job_id"] = job_id;
  Response r = JsonResponse(202, extra);
  r.headers["Location"] = "/v1/jobs/" + job_id;
  return r;
}

json StatusJson(const ServiceStatus& st) {
  json policies = json::array();
  for (const auto& p : st.policies) policies.push_back(p.name());
  return {{"service", st.service.name()},
          {"newest_point", st.newest_point},
          {"newest_point_unix_nanos", st.newest_point_unix_nanos},
          {"age_seconds", st.age_seconds},
          {"rpo_seconds", st.rpo_seconds},
          {"rpo_breached", st.rpo_breached},
          {"policies", policies}};
}

json ProgressJson(const JobProgress& p) {
  return {{"phase", model::Phase_Name(p.phase)},
          {"bytes_done", p.bytes_done},
          {"bytes_total", p.bytes_total},
          {"items_done", p.items_done},
          {"items_total", p.items_total}};
}

bool WantsYaml(const Request& request) {
  std::string accept = request.Header("accept");
  for (auto& c : accept) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* type : {"application/yaml", "application/x-yaml", "text/yaml"}) {
    if (accept.find(type) != std::string::npos) return true;
  }
  return false;
}

// A string field of a JSON body: absent -> `fallback`; not a string -> INVALID_ARGUMENT.
StatusOr<std::string> StringField(const json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required)
      return InvalidArgumentError(std::string("the body needs a string '") + name + "'");
    return std::string();
  }
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("field '") + name + "' must be a string, not " +
                                it->type_name());
  }
  return it->get<std::string>();
}

StatusOr<bool> BoolField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return InvalidArgumentError(std::string("field '") + name + "' must be true or false, not " +
                                it->type_name());
  }
  return it->get<bool>();
}

Status OnlyFields(const json& body, std::initializer_list<const char*> known) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return InvalidArgumentError("unknown field '" + key.substr(0, 80) +
                                  "' in the body; known: " + list);
    }
  }
  return OkStatus();
}

// A boolean query parameter; absent: false.
StatusOr<bool> QueryFlag(const RouteRequest& r, const char* name) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return false;
  return ParseBoolParam(name, it->second);
}

// {"results": [lines], "dry_run": bool}: the answer of every delete.
Response DeleteResponse(const StatusOr<std::vector<std::string>>& lines, bool dry_run) {
  if (!lines.ok()) return ErrorResponse(lines.status());
  return JsonResponse(200, {{"results", *lines}, {"dry_run", dry_run}});
}

// A delete route's ?dry_run and ?force, then `fn(options)`.
template <typename Fn>
Response WithDeleteOptions(const RouteRequest& r, Fn fn) {
  auto dry_run = QueryFlag(r, "dry_run");
  if (!dry_run.ok()) return ErrorResponse(dry_run.status());
  auto force = QueryFlag(r, "force");
  if (!force.ok()) return ErrorResponse(force.status());
  DeleteOptions options;
  options.dry_run = *dry_run;
  options.force = *force;
  return DeleteResponse(fn(options), options.dry_run);
}

json ApplyReportJson(const ApplyReport& report) {
  json objects = json::array();
  for (const AppliedObject& o : report.objects) {
    objects.push_back({{"kind", o.kind},
                       {"name", o.name},
                       {"action", o.action},
                       {"revision", o.revision},
                       {"previous_revision", o.previous_revision},
                       {"changes", o.changes},
                       {"where", o.where}});
  }
  json roles = json::array();
  for (const AppliedRoles& r : report.roles) {
    roles.push_back({{"service", r.service},
                     {"primary", r.primary},
                     {"secondary", r.secondary},
                     {"epoch", r.epoch},
                     {"file_primary", r.file_primary},
                     {"file_secondary", r.file_secondary},
                     {"agrees", r.agrees},
                     {"changed", r.changed},
                     {"note", r.note}});
  }
  return {{"results", report.Lines()},
          {"dry_run", report.dry_run},
          {"objects", objects},
          {"roles", roles},
          {"notes", report.notes}};
}

// POST /v1/apply: YAML documents from the body.
StatusOr<std::vector<YamlDocument>> ApplyDocuments(const RouteRequest& r) {
  std::string type = r.request.Header("content-type");
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::vector<YamlDocument> docs;
  if (type == "application/json") {
    // {"files": [{"name": "sales.yaml", "yaml": "..."}]}: several files applied as one, each
    // parsed under its own name, so that errors say FILE:LINE:COLUMN.
    LIFEBOAT_ASSIGN_OR_RETURN(json body, JsonObjectBody(r.request));
    LIFEBOAT_RETURN_IF_ERROR(OnlyFields(body, {"files"}));
    auto files = body.find("files");
    if (files == body.end() || !files->is_array()) {
      return InvalidArgumentError(
          "the body needs \"files\": [{\"name\": ..., \"yaml\": ...}, ...]");
    }
    for (const json& f : *files) {
      if (!f.is_object()) return InvalidArgumentError("each of \"files\" must be an object");
      LIFEBOAT_RETURN_IF_ERROR(OnlyFields(f, {"name", "yaml"}));
      LIFEBOAT_ASSIGN_OR_RETURN(std::string name, StringField(f, "name", false));
      LIFEBOAT_ASSIGN_OR_RETURN(std::string yaml, StringField(f, "yaml", true));
      if (name.empty()) name = "request";
      LIFEBOAT_ASSIGN_OR_RETURN(auto parsed, ParseYaml(yaml, name));
      docs.insert(docs.end(), parsed.begin(), parsed.end());
    }
  } else if (type.empty() || type == "application/yaml" || type == "application/x-yaml" ||
             type == "text/yaml" || type == "text/x-yaml" || type == "text/plain") {
    auto source = r.query.find("source");
    const std::string name = source == r.query.end() ? "request" : source->second;
    LIFEBOAT_ASSIGN_OR_RETURN(docs, ParseYaml(r.request.body, name));
  } else {
    return InvalidArgumentError(
        "this route takes YAML (Content-Type: application/yaml) or "
        "JSON {\"files\": [...]}, not '" +
        type + "'");
  }
  if (docs.empty()) {
    return InvalidArgumentError(
        "no document found in the request; expected at least one with kind Cluster, Service "
        "or Policy");
  }
  return docs;
}

void Add(ApiHandler& h, const char* method, const char* pattern, std::optional<Role> role,
         const char* summary, RouteFn fn, std::vector<std::string> query = {}) {
  Route r;
  r.method = method;
  r.pattern = pattern;
  r.min_role = role;
  r.summary = summary;
  r.fn = std::move(fn);
  r.query_params = std::move(query);
  Status s = h.AddRoute(std::move(r));
  assert(s.ok() && "the built-in routes are distinct and well formed");
  (void)s;
}

}  // namespace

void RegisterEngineRoutes(ApiHandler& h) {
  Engine& e = h.engine();
  constexpr Role kViewer = Role::kViewer;
  constexpr Role kOperator = Role::kOperator;
  constexpr Role kAdmin = Role::kAdmin;

  Add(h, "GET", "/healthz", std::nullopt, "Liveness: the state store answers",
      [&e](const RouteRequest&) {
        auto v = e.store().GetRaw(Kind::kMeta, "format_version");
        if (!v.ok()) {
          return JsonResponse(503, {{"status", "unavailable"}, {"error", v.status().ToString()}});
        }
        return JsonResponse(200, {{"status", "ok"}});
      });

  // ---- configuration ---------------------------------------------------------------------
  Add(h, "GET", "/v1/clusters", kViewer, "Clusters",
      [&e](const RouteRequest&) { return ListResponse("clusters", [&] { return e.Clusters(); }); });
  Add(h, "GET", "/v1/services", kViewer, "Services",
      [&e](const RouteRequest&) { return ListResponse("services", [&] { return e.Services(); }); });
  Add(h, "GET", "/v1/status", kViewer, "RPO status of every service", [&e](const RouteRequest&) {
    auto services = e.Services();
    if (!services.ok()) return ErrorResponse(services.status());
    json out = json::array();
    for (const auto& svc : *services) {
      auto st = e.GetServiceStatus(svc.name());
      if (!st.ok()) return ErrorResponse(st.status());
      out.push_back(StatusJson(*st));
    }
    return JsonResponse(200, {{"services", out}});
  });
  Add(h, "GET", "/v1/services/{service}/status", kViewer, "RPO status of one service",
      [&e](const RouteRequest& r) {
        auto st = e.GetServiceStatus(r.path.at("service"));
        if (!st.ok()) return ErrorResponse(st.status());
        return JsonResponse(200, StatusJson(*st));
      });
  Add(h, "GET", "/v1/policies", kViewer, "Policies",
      [&e](const RouteRequest&) { return ListResponse("policies", [&] { return e.Policies(); }); });
  Add(h, "GET", "/v1/policies/{policy}", kViewer,
      "One policy (JSON; YAML with Accept: application/yaml)", [&e](const RouteRequest& r) {
        auto p = e.GetPolicy(r.path.at("policy"));
        if (!p.ok()) return ErrorResponse(p.status());
        if (WantsYaml(r.request)) {
          Response y;
          y.content_type = "application/yaml";
          y.body = ToYaml(*p);
          return y;
        }
        return JsonResponse(200, ProtoToJson(*p));
      });
  Add(h, "POST", "/v1/apply", kOperator,
      "Apply clusters, services and policies (YAML body, or JSON {files: [{name, yaml}]}); "
      "?dry_run=true: the difference with what is stored, nothing written",
      [&e](const RouteRequest& r) {
        auto dry_run = QueryFlag(r, "dry_run");
        if (!dry_run.ok()) return ErrorResponse(dry_run.status());
        auto docs = ApplyDocuments(r);
        if (!docs.ok()) return ErrorResponse(docs.status());
        // Audited by the engine when it changes something.
        auto report = e.ApplyConfig(*docs, r.caller.name, ApplyOptions{*dry_run});
        if (!report.ok()) return ErrorResponse(report.status());
        return JsonResponse(200, ApplyReportJson(*report));
      },
      {"source", "dry_run"});
  Add(h, "POST", "/v1/delete", kAdmin,
      "Delete the clusters, services and policies a YAML body (or JSON {files}) defines; "
      "?dry_run=true, ?force=true",
      [&e](const RouteRequest& r) {
        auto docs = ApplyDocuments(r);
        if (!docs.ok()) return ErrorResponse(docs.status());
        return WithDeleteOptions(r, [&](const DeleteOptions& o) {
          return e.DeleteObjects(*docs, o, r.caller.name);  // audited by the engine
        });
      },
      {"source", "dry_run", "force"});
  Add(h, "DELETE", "/v1/clusters/{cluster}", kAdmin,
      "Delete a cluster no service uses; ?dry_run=true; ?force=true when restore points live "
      "on it",
      [&e](const RouteRequest& r) {
        return WithDeleteOptions(r, [&](const DeleteOptions& o) {
          return e.DeleteCluster(r.path.at("cluster"), o, r.caller.name);
        });
      },
      {"dry_run", "force"});
  Add(h, "DELETE", "/v1/services/{service}", kAdmin,
      "Delete a service; ?dry_run=true; ?force=true when it has policies (they go too) or "
      "restore points (they stay)",
      [&e](const RouteRequest& r) {
        return WithDeleteOptions(r, [&](const DeleteOptions& o) {
          return e.DeleteService(r.path.at("service"), o, r.caller.name);
        });
      },
      {"dry_run", "force"});
  Add(h, "DELETE", "/v1/policies/{policy}", kAdmin,
      "Delete a policy (its restore points stay); ?dry_run=true says what would go",
      [&e](const RouteRequest& r) {
        const std::string& name = r.path.at("policy");
        bool dry_run = false;
        if (auto it = r.query.find("dry_run"); it != r.query.end()) {
          auto b = ParseBoolParam("dry_run", it->second);
          if (!b.ok()) return ErrorResponse(b.status());
          dry_run = *b;
        }
        auto p = e.GetPolicy(name);
        if (!p.ok()) return ErrorResponse(p.status());
        if (dry_run) {
          return JsonResponse(200, {{"policy", name},
                                    {"revision", p->revision()},
                                    {"dry_run", true},
                                    {"deleted", false},
                                    {"message", "would delete policy " + name + " (revision " +
                                                    std::to_string(p->revision()) + ")"}});
        }
        Status s = e.DeletePolicy(name, r.caller.name);  // audited by the engine
        if (!s.ok()) return ErrorResponse(s);
        return JsonResponse(200, {{"policy", name},
                                  {"revision", p->revision()},
                                  {"dry_run", false},
                                  {"deleted", true},
                                  {"message", "deleted policy " + name}});
      },
      {"dry_run"});

  // ---- jobs ------------------------------------------------------------------------------
  Add(h, "POST", "/v1/policies/{policy}/run", kOperator,
      "Back up a policy's service now (202 + job id); ?force_full=true: full comparisons, "
      "overwriting changes made on the target since the base point",
      [&e](const RouteRequest& r) {
        bool force_full = false;
        if (auto it = r.query.find("force_full"); it != r.query.end()) {
          auto b = ParseBoolParam("force_full", it->second);
          if (!b.ok()) return ErrorResponse(b.status());
          force_full = *b;
        }
        auto id = e.StartBackup(r.path.at("policy"), "manual", r.caller.name,  // audited
                                force_full);
        if (!id.ok()) return ErrorResponse(id.status());
        Status s = e.Submit(*id);
        if (!s.ok() && s.code() != Code::kAlreadyExists) {
          return ErrorResponse(s.WithContext("job " + *id +
                                             " is recorded but did not start; "
                                             "`lifeboat jobs resume " +
                                             *id + "` starts it"));
        }
        return Accepted(*id);
      },
      {"force_full"});
  Add(h, "GET", "/v1/jobs", kViewer,
      "Jobs, oldest first; ?service=, ?state=, ?kind=, ?since= filter; ?limit=N: the newest N",
      [&e, &h](const RouteRequest& r) {
        auto filter = JobFilter(r.query, h.Now());
        if (!filter.ok()) return ErrorResponse(filter.status());
        return NewestResponse(
            r, "jobs", [&] { return e.Jobs(); },
            [&](const model::Job& j) { return Matches(*filter, j); });
      },
      {"limit", "service", "state", "kind", "since"});
  Add(h, "POST", "/v1/jobs/resume", kOperator,
      "Resume every unfinished (pending or running) job; 202 + their ids",
      [&e, &h](const RouteRequest& r) {
        auto jobs = e.Jobs();
        if (!jobs.ok()) return ErrorResponse(jobs.status());
        json ids = json::array();
        for (const auto& j : *jobs) {
          if (j.state() != model::JOB_PENDING && j.state() != model::JOB_RUNNING) continue;
          Status s = e.Submit(j.id());
          if (!s.ok() && s.code() != Code::kAlreadyExists) return ErrorResponse(s);
          ids.push_back(j.id());
        }
        if (!ids.empty()) {
          Status a = h.Audit(r.caller.name, "jobs.resume", "", ids.dump());
          if (!a.ok()) return ErrorResponse(a);
        }
        return JsonResponse(202, {{"job_ids", ids}});
      });
  Add(h, "GET", "/v1/jobs/{job}", kViewer,
      "A job, its tasks and its live progress; ?tasks=false: without the tasks (what a "
      "client polling for progress needs)",
      [&e](const RouteRequest& r) {
        const std::string& id = r.path.at("job");
        bool with_tasks = true;
        if (auto it = r.query.find("tasks"); it != r.query.end()) {
          auto b = ParseBoolParam("tasks", it->second);
          if (!b.ok()) return ErrorResponse(b.status());
          with_tasks = *b;
        }
        auto job = e.GetJob(id);
        if (!job.ok()) return ErrorResponse(job.status());
        json out = {{"job", ProtoToJson(*job)}};
        if (with_tasks) {
          auto tasks = e.Tasks(id);
          if (!tasks.ok()) return ErrorResponse(tasks.status());
          // A task's payload and result are plugin messages (a plan lists every file): opaque
          // to a reader, and what made this answer grow with the data set. Left out, not
          // sent empty (JSON here carries every field, defaults too).
          for (auto& t : *tasks) {
            t.clear_payload();
            t.clear_result();
          }
          json list = ProtoList(*tasks);
          for (auto& t : list) {
            t.erase("payload");
            t.erase("result");
          }
          out["tasks"] = std::move(list);
        }
        if (auto progress = e.LiveProgress(id)) out["progress"] = ProgressJson(*progress);
        out["live"] = out.contains("progress");
        return JsonResponse(200, out);
      },
      {"tasks"});
  Add(h, "POST", "/v1/jobs/{job}/resume", kOperator, "Resume one unfinished or parked job (202)",
      [&e, &h](const RouteRequest& r) {
        const std::string& id = r.path.at("job");
        auto job = e.GetJob(id);
        if (!job.ok()) return ErrorResponse(job.status());
        if (Ended(job->state())) {
          const std::string again =
              job->kind() == model::JOB_BACKUP && !job->policy().name().empty()
                  ? "`lifeboat run " + job->policy().name() + "` starts a new backup"
              : job->kind() == model::JOB_RESTORE ? "run the restore again for a new one"
                                                  : "start a new job for it";
          return ErrorResponse(FailedPreconditionError(
              "job " + id + " has ended (" + Short(model::JobState_Name(job->state()), "JOB_") +
              ") and is not resumed; " + again));
        }
        Status s = e.Submit(id);
        if (s.code() == Code::kAlreadyExists) {
          return ErrorResponse(AlreadyExistsError("job " + id + " is queued or running already"));
        }
        if (!s.ok()) return ErrorResponse(s);
        Status a = h.Audit(r.caller.name, "job.resume", id, "");
        if (!a.ok()) return ErrorResponse(a);
        return Accepted(id);
      });
  Add(h, "POST", "/v1/jobs/{job}/cancel", kOperator,
      "Cancel a job; it ends CANCELLED, its partial work cleaned up (202)",
      [&e, &h](const RouteRequest& r) {
        const std::string& id = r.path.at("job");
        auto job = e.GetJob(id);
        if (!job.ok()) return ErrorResponse(job.status());
        Status s = e.CancelJob(id);
        if (!s.ok()) return ErrorResponse(s);
        Status a = h.Audit(r.caller.name, "job.cancel", id, "");
        if (!a.ok()) return ErrorResponse(a);
        return Accepted(id, {{"cancel_requested", true}});
      });

  // ---- restore points --------------------------------------------------------------------
  Add(h, "GET", "/v1/services/{service}/points", kViewer,
      "A service's restore points (404 for a service that is not defined and has none)",
      [&e](const RouteRequest& r) {
        const std::string& service = r.path.at("service");
        auto points = e.RestorePoints(service);
        if (!points.ok()) return ErrorResponse(points.status());
        if (points->empty()) {
          // An empty list would read as "no points yet" for a name that means nothing.
          auto svc = e.store().Read<model::Service>(Kind::kServices, service);
          if (!svc.ok() && svc.status().code() == Code::kNotFound) {
            return ErrorResponse(NotFoundError("no service named '" + service +
                                               "'; `lifeboat service status` lists them"));
          }
          if (!svc.ok()) return ErrorResponse(svc.status());
        }
        return JsonResponse(200, {{"restore_points", ProtoList(*points)}});
      });
  Add(h, "GET", "/v1/services/{service}/points/{point}", kViewer,
      "One restore point: members, cut times, spread, digests", [&e](const RouteRequest& r) {
        auto p = e.GetRestorePoint(r.path.at("service"), r.path.at("point"));
        if (!p.ok()) return ErrorResponse(p.status());
        return JsonResponse(200, ProtoToJson(*p));
      });
  Add(h, "DELETE", "/v1/services/{service}/points/{point}", kAdmin,
      "Delete a restore point on its cluster (the plugins' expire); ?dry_run=true; ?force=true "
      "for one retention always keeps (the newest on a cluster)",
      [&e](const RouteRequest& r) {
        return WithDeleteOptions(r, [&](const DeleteOptions& o) {
          return e.DeleteRestorePoint(r.path.at("service"), r.path.at("point"), o, r.caller.name);
        });
      },
      {"dry_run", "force"});
  Add(h, "POST", "/v1/services/{service}/points/{point}/verify", kOperator,
      "Re-read a committed point on the target; the mismatches", [&e, &h](const RouteRequest& r) {
        const std::string& service = r.path.at("service");
        const std::string& point = r.path.at("point");
        auto mismatches = e.VerifyRestorePoint(service, point);
        if (!mismatches.ok()) return ErrorResponse(mismatches.status());
        Status a =
            h.Audit(r.caller.name, "restore_point.verify", service + "/" + point,
                    mismatches->empty() ? std::string("ok")
                                        : std::to_string(mismatches->size()) + " mismatches");
        if (!a.ok()) return ErrorResponse(a);
        return JsonResponse(200, {{"service", service},
                                  {"restore_point", point},
                                  {"ok", mismatches->empty()},
                                  {"mismatches", *mismatches}});
      });
  Add(h, "POST", "/v1/services/{service}/restore", kAdmin,
      "Restore a committed point {restore_point, destination, destinations, cluster, dry_run, "
      "overwrite, confirm} (202); confirm (the service) unless a dry run",
      [&e](const RouteRequest& r) {
        auto body = JsonObjectBody(r.request);
        if (!body.ok()) return ErrorResponse(body.status());
        Status known = OnlyFields(*body, {"restore_point", "destination", "destinations", "cluster",
                                          "dry_run", "overwrite", "confirm"});
        if (!known.ok()) return ErrorResponse(known);
        auto point = StringField(*body, "restore_point", true);
        if (!point.ok()) return ErrorResponse(point.status());
        auto destination = StringField(*body, "destination", false);
        if (!destination.ok()) return ErrorResponse(destination.status());
        auto cluster = StringField(*body, "cluster", false);
        if (!cluster.ok()) return ErrorResponse(cluster.status());
        auto dry_run = BoolField(*body, "dry_run");
        if (!dry_run.ok()) return ErrorResponse(dry_run.status());
        auto overwrite = BoolField(*body, "overwrite");
        if (!overwrite.ok()) return ErrorResponse(overwrite.status());
        model::RestoreSpec spec;
        spec.set_restore_point_id(*point);
        spec.set_destination(*destination);
        spec.set_cluster(*cluster);
        spec.set_dry_run(*dry_run);
        spec.set_overwrite(*overwrite);
        // {"destinations": {"hdfs": "/restore", "kafka": "restored-"}}: per component.
        if (auto d = body->find("destinations"); d != body->end() && !d->is_null()) {
          if (!d->is_object()) {
            return ErrorResponse(InvalidArgumentError(
                "field 'destinations' must be an object of component: destination"));
          }
          for (const auto& [component, where] : d->items()) {
            if (!where.is_string()) {
              return ErrorResponse(InvalidArgumentError("destinations." + component.substr(0, 40) +
                                                        " must be a string"));
            }
            (*spec.mutable_destinations())[component] = where.get<std::string>();
          }
        }
        const std::string& service = r.path.at("service");
        if (!*dry_run) {
          // An unknown service or point is said as such (404) before consent is asked.
          auto known_point = e.GetRestorePoint(service, *point);
          if (!known_point.ok()) return ErrorResponse(known_point.status());
          Status agreed =
              RequireConfirm(*body, service,
                             "POST /v1/services/" + service + "/restore writes restore point " +
                                 *point + (*overwrite ? " over what its destination holds" : ""));
          if (!agreed.ok()) return ErrorResponse(agreed);
        }
        auto id = e.StartRestore(r.path.at("service"), spec, r.caller.name);  // audited
        if (!id.ok()) return ErrorResponse(id.status());
        Status s = e.Submit(*id);
        if (!s.ok() && s.code() != Code::kAlreadyExists) {
          return ErrorResponse(s.WithContext("job " + *id +
                                             " is recorded but did not start; "
                                             "`lifeboat jobs resume " +
                                             *id + "` starts it"));
        }
        return Accepted(*id);
      });

  // ---- events and audit ------------------------------------------------------------------
  Add(h, "GET", "/v1/events", kViewer,
      "Events (RPO breaches, failed jobs, full copies), oldest first; ?service=, ?severity=, "
      "?kind=, ?job=, ?since= filter; ?limit=N: the newest N",
      [&e, &h](const RouteRequest& r) {
        auto filter = EventFilter(r.query, h.Now());
        if (!filter.ok()) return ErrorResponse(filter.status());
        return NewestResponse(
            r, "events", [&] { return e.Events(); },
            [&](const model::Event& ev) { return Matches(*filter, ev); });
      },
      {"limit", "service", "severity", "kind", "job", "since"});
  Add(h, "GET", "/v1/audit", kAdmin,
      "The audit trail (who changed what, when), oldest first; ?since= filters; ?limit=N: "
      "the newest N",
      [&e, &h](const RouteRequest& r) {
        auto filter = AuditFilter(r.query, h.Now());
        if (!filter.ok()) return ErrorResponse(filter.status());
        return NewestResponse(
            r, "audit", [&] { return e.store().List<model::AuditEvent>(Kind::kAudit); },
            [&](const model::AuditEvent& a) { return Matches(*filter, a); });
      },
      {"limit", "since"});
}

namespace {

// Dry runs change nothing: they are left out of every job metric.
bool DryRun(const model::Job& j) { return j.restore().dry_run() || j.switch_spec().dry_run(); }

// Upper bounds of the job duration buckets, in seconds: a second to a day.
const std::vector<double>& DurationBuckets() {
  static const std::vector<double> kBounds = {1,    5,    15,   60,    300,  900,
                                              1800, 3600, 7200, 21600, 86400};
  return kBounds;
}

Status CollectJobMetrics(const std::vector<model::Job>& jobs,
                         const std::vector<model::Policy>& policies, MetricsWriter& out) {
  // Every kind x state, zeros included, so that a series exists before its first job.
  std::map<std::pair<int, int>, double> by_kind_state;
  std::map<int, double> bytes_by_kind;
  for (int k = model::JobKind_MIN; k <= model::JobKind_MAX; ++k) {
    if (!model::JobKind_IsValid(k) || k == model::JOB_KIND_UNSPECIFIED) continue;
    bytes_by_kind[k] = 0;
    for (int s = model::JobState_MIN; s <= model::JobState_MAX; ++s) {
      if (model::JobState_IsValid(s) && s != model::JOB_STATE_UNSPECIFIED)
        by_kind_state[{k, s}] = 0;
    }
  }
  std::map<std::pair<std::string, std::string>, Histogram> durations;  // (kind, policy)
  std::map<std::string, int64_t> last_success;                         // policy -> finished
  for (const auto& j : jobs) {
    if (DryRun(j)) continue;
    const std::string kind = Short(model::JobKind_Name(j.kind()), "JOB_");
    by_kind_state[{j.kind(), j.state()}] += 1;
    // The backups a failback runs to replicate are counted in the failback's bytes.
    const bool switch_child =
        j.kind() == model::JOB_BACKUP && (j.trigger() == "failback" || j.trigger() == "failover");
    if (!switch_child) bytes_by_kind[j.kind()] += static_cast<double>(j.bytes_done());
    const bool ended = Ended(j.state()) && j.state() != model::JOB_SKIPPED;
    if (ended && j.started_unix_nanos() > 0 && j.finished_unix_nanos() >= j.started_unix_nanos()) {
      const std::string policy = j.kind() == model::JOB_BACKUP ? j.policy().name() : "";
      durations.try_emplace({kind, policy}, DurationBuckets())
          .first->second.Observe(
              static_cast<double>(j.finished_unix_nanos() - j.started_unix_nanos()) / 1e9);
    }
    if (j.kind() == model::JOB_BACKUP && j.state() == model::JOB_SUCCEEDED) {
      int64_t& t = last_success[j.policy().name()];
      t = std::max(t, j.finished_unix_nanos());
    }
  }
  std::vector<MetricSample> job_samples;
  for (const auto& [ks, n] : by_kind_state) {
    job_samples.push_back(
        {{{"kind", Short(model::JobKind_Name(static_cast<model::JobKind>(ks.first)), "JOB_")},
          {"state", Short(model::JobState_Name(static_cast<model::JobState>(ks.second)), "JOB_")}},
         n});
  }
  LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_jobs",
                                   "Jobs in the state store by kind and state (dry runs left out)",
                                   MetricType::kGauge, std::move(job_samples)));
  std::vector<MetricSample> byte_samples;
  for (const auto& [k, n] : bytes_by_kind) {
    byte_samples.push_back(
        {{{"kind", Short(model::JobKind_Name(static_cast<model::JobKind>(k)), "JOB_")}}, n});
  }
  LIFEBOAT_RETURN_IF_ERROR(out.Add(
      "lifeboat_job_bytes_transferred_total",
      "Bytes moved by the jobs in the state store, by job kind (a failback counts the backups "
      "it runs; dry runs left out)",
      MetricType::kCounter, std::move(byte_samples)));
  std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, Histogram>> series;
  for (const auto& [key, histogram] : durations) {
    series.push_back({{{"kind", key.first}, {"policy", key.second}}, histogram});
  }
  LIFEBOAT_RETURN_IF_ERROR(out.AddHistogram(
      "lifeboat_job_duration_seconds",
      "Run time of the ended jobs in the state store (started to finished), by kind and policy "
      "(backups; \"\" for others; dry runs left out)",
      series));
  std::vector<MetricSample> success;
  for (const auto& p : policies) {
    auto it = last_success.find(p.name());
    // No success yet: no sample (an absent series, not a made-up time).
    if (it == last_success.end() || it->second == 0) continue;
    success.push_back({{{"policy", p.name()}, {"service", p.service()}},
                       static_cast<double>(it->second / 1000000) / 1e3});
  }
  return out.Add("lifeboat_policy_last_success_timestamp_seconds",
                 "When the newest successful backup of the policy finished (Unix seconds)",
                 MetricType::kGauge, std::move(success));
}

}  // namespace

Status CollectEngineMetrics(const ApiHandler& h, MetricsWriter& out) {
  Engine& e = h.engine();
  LIFEBOAT_ASSIGN_OR_RETURN(auto jobs, e.Jobs());
  LIFEBOAT_ASSIGN_OR_RETURN(auto policies, e.Policies());
  LIFEBOAT_RETURN_IF_ERROR(CollectJobMetrics(jobs, policies, out));

  LIFEBOAT_ASSIGN_OR_RETURN(auto services, e.Services());
  std::vector<MetricSample> rpo, age, breached, points;
  for (const auto& svc : services) {
    LIFEBOAT_ASSIGN_OR_RETURN(ServiceStatus st, e.GetServiceStatus(svc.name()));
    std::vector<std::pair<std::string, std::string>> label = {{"service", svc.name()}};
    rpo.push_back({label, static_cast<double>(st.rpo_seconds)});
    // No committed point yet: no age sample (an absent series, not a made-up number).
    if (st.age_seconds >= 0) age.push_back({label, static_cast<double>(st.age_seconds)});
    breached.push_back({label, st.rpo_breached ? 1.0 : 0.0});
    LIFEBOAT_ASSIGN_OR_RETURN(auto rps, e.RestorePoints(svc.name()));
    std::map<std::string, double> by_state = {{"pending", 0}, {"committed", 0}};
    for (const auto& rp : rps) by_state[Short(model::RestorePointState_Name(rp.state()), "RP_")]++;
    for (const auto& [state, n] : by_state) {
      points.push_back({{{"service", svc.name()}, {"state", state}}, n});
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_service_rpo_target_seconds",
                                   "The tightest RPO of the service's policies (0: none)",
                                   MetricType::kGauge, std::move(rpo)));
  LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_service_newest_point_age_seconds",
                                   "Age of the service's newest committed restore point",
                                   MetricType::kGauge, std::move(age)));
  LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_service_rpo_breached",
                                   "1 when the newest committed point is older than the RPO",
                                   MetricType::kGauge, std::move(breached)));
  LIFEBOAT_RETURN_IF_ERROR(out.Add("lifeboat_restore_points",
                                   "Restore points of the service by state", MetricType::kGauge,
                                   std::move(points)));
  return OkStatus();
}

}  // namespace lifeboat::core::api
