// Roles and switches: failover, failback, roles, endpoints, doctor.
#include <cstdio>
#include <iostream>

#include "api_session.h"
#include "consent.h"
#include "output.h"

namespace lifeboat::cli {
namespace {

using nlohmann::json;

struct SwitchArgs {
  std::string service;
  std::string cluster;
  std::string reason;
  bool dry_run = false;
  bool force = false;
  bool yes = false;
  bool discard_writes = false;
};

// What the operator agrees to before a switch (consent.h): the service(s), the point the new
// primary gets and its age, the writes that will not come along, the primary's health.
StatusOr<Consent> SwitchConsent(Session& s, const SwitchArgs& a, bool failback) {
  Consent c;
  if (!a.cluster.empty()) {
    c.action = "fail over every service whose primary " + a.cluster + " is";
    c.name = a.cluster;
    LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/services"));
    LIFEBOAT_ASSIGN_OR_RETURN(auto services, ListFromJson<model::Service>(body, "services"));
    for (const auto& svc : services) {
      LIFEBOAT_ASSIGN_OR_RETURN(
          json r, s.client->Call("GET", "/v1/services/" + Seg(svc.name()) + "/roles"));
      model::ServiceRoles roles;
      LIFEBOAT_RETURN_IF_ERROR(FromJson(r, &roles));
      if (roles.primary_cluster() != a.cluster) continue;
      c.facts.push_back(svc.name() + ": to " + roles.secondary_cluster());
      AddPointFacts(s, svc.name(), roles.secondary_cluster(), "", c, "  " + svc.name() + ": ");
    }
    AddPrimaryHealth(s, a.cluster, c);
    return c;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(json r,
                            s.client->Call("GET", "/v1/services/" + Seg(a.service) + "/roles"));
  model::ServiceRoles roles;
  LIFEBOAT_RETURN_IF_ERROR(FromJson(r, &roles));
  c.name = a.service;
  const std::string& from = roles.primary_cluster();
  const std::string& to = roles.secondary_cluster();
  if (failback) {
    c.action = "fail " + a.service + " back from " + from + " to " + to;
    c.facts.push_back("its writers on " + from + " are stopped (fenced) while the last changes " +
                      "are copied to " + to + "; nothing written to " + from + " is lost");
    c.facts.push_back(to + "'s data sets become " + from + "'s");
    if (a.discard_writes) {
      c.warnings.push_back("--discard-writes: whatever " + to + " took since the last point " +
                           "both share (" + roles.common_restore_point_id() +
                           ") is replaced, not kept");
    } else {
      c.facts.push_back("first, " + to + " is checked for writes it took since the last point " +
                        "both share; any stops the failback, named");
    }
    return c;
  }
  c.action = "fail " + a.service + " over from " + from + " to " + to;
  c.facts.push_back("endpoint lookups answer " + to + "; " + from + " is fenced (or owes it)");
  AddPointFacts(s, a.service, to, "", c);
  AddPrimaryHealth(s, from, c);
  return c;
}

// Runs a switch job and prints its steps (what would be done, or what was).
StatusOr<int> RunSwitch(Session& s, const GlobalOptions& global, const std::string& path,
                        const SwitchArgs& a, bool failback) {
  std::string target = path + "?dry_run=" + (a.dry_run ? "true" : "false") +
                       "&force=" + (a.force ? "true" : "false");
  if (a.discard_writes) target += "&discard_writes=true";
  if (!a.reason.empty()) target += "&reason=" + Seg(a.reason);
  json body = json::object();
  if (!a.dry_run) {
    LIFEBOAT_ASSIGN_OR_RETURN(Consent consent, SwitchConsent(s, a, failback));
    LIFEBOAT_RETURN_IF_ERROR(Ask(consent, a.yes));
    body["confirm"] = consent.name;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(json started, s.client->CallJson("POST", target, body));
  const std::string id = started.value("job_id", "");
  LIFEBOAT_ASSIGN_OR_RETURN(model::Job job,
                            WaitForJob(*s.client, id, [](const model::Job&, const json&) {}));
  if (Structured(global)) {
    PrintStructured(global, ToJson(job));
    return JobExitCode(job);
  }
  std::cout << (a.dry_run ? "dry run of " : "") << id << ":\n";
  for (const auto& step : job.steps()) {
    const char* mark = a.dry_run ? "would" : step.done() ? "done " : "todo ";
    std::printf("  %s  %-10s %-16s %s\n", mark, step.service().c_str(), step.name().c_str(),
                (step.done() ? step.outcome() : step.detail()).c_str());
  }
  return JobExitCode(job);
}

void AddSwitch(CLI::App& app, GlobalOptions& global, ApiArgs& api, int* exit_code, bool failback) {
  static SwitchArgs over, back;
  SwitchArgs& a = failback ? back : over;
  CLI::App* cmd = app.add_subcommand(
      failback ? "failback" : "failover",
      failback ? "Move a service back to its other cluster, planned, with no data loss (admin)"
               : "Move a service (or every service of a cluster) to its secondary now (admin)");
  cmd->add_option("SERVICE", a.service, "The service to move");
  if (!failback) {
    cmd->add_option("--cluster", a.cluster,
                    "Instead of SERVICE: every service whose primary this cluster is, in one job");
  }
  cmd->add_option("--reason", a.reason, "Why, for the audit trail and the events");
  cmd->add_flag("--dry-run", a.dry_run,
                "List every step and check what the real run checks first; do none");
  cmd->add_flag("-y,--yes", a.yes,
                "Agree without being asked (scripts); otherwise it asks on the terminal");
  if (failback) {
    cmd->add_flag("--discard-writes", a.discard_writes,
                  "Go on although the cluster it goes back to took writes since the last point "
                  "both share (the first step finds and names them): they are replaced");
  }
  cmd->add_flag("--force", a.force,
                failback ? "Go on although a plugin cannot fence (stop the writers yourself)"
                         : "Go on although a reachable old primary cannot be fenced, or the "
                           "secondary holds no committed point");
  cmd->footer(
      failback
          ? "Steps: stop backups; check that the other cluster took no writes since the last\n"
            "common point (they stop it, named, unless --discard-writes); replicate what changed\n"
            "since; fence the current primary; replicate the rest; unfence and apply the newest\n"
            "point on the other cluster; swap roles (next epoch). Endpoint lookups follow.\n"
            "It asks you to type the service's name first (--yes agrees in advance).\n"
            "Examples:\n  lifeboat failback sales --dry-run\n  lifeboat failback sales"
          : "Steps: stop backups; fence the old primary (owed until it answers, if unreachable);\n"
            "unfence the secondary; apply its newest committed point; swap roles (next epoch).\n"
            "Endpoint lookups then name the secondary. Nothing is done with --dry-run.\n"
            "It shows the point the secondary gets, its age and the writes that will not come\n"
            "along, and asks you to type the service's name (--yes agrees in advance).\n"
            "Examples:\n  lifeboat failover sales --dry-run\n"
            "  lifeboat failover sales --reason 'primary data centre down'\n"
            "  lifeboat failover --cluster primary --yes");
  cmd->callback([&global, &api, &a, exit_code, failback] {
    if (a.service.empty() == a.cluster.empty()) {
      std::cerr << "error: name a SERVICE" << (failback ? "" : " or give --cluster, not both")
                << "\n";
      return void(*exit_code = kExitUsage);
    }
    *exit_code = WithApi(global, api, [&](Session& s) -> StatusOr<int> {
      const std::string path = a.cluster.empty() ? "/v1/services/" + Seg(a.service) +
                                                       (failback ? "/failback" : "/failover")
                                                 : "/v1/clusters/" + Seg(a.cluster) + "/failover";
      return RunSwitch(s, global, path, a, failback);
    });
  });
}

// `lifeboat unfence SERVICE --cluster C`: the way out of the state a restore into a demoted
// cluster parks in.
void AddUnfence(CLI::App& app, GlobalOptions& global, ApiArgs& api, int* exit_code) {
  static std::string service, cluster;
  static bool dry_run = false, yes = false;
  CLI::App* cmd = app.add_subcommand(
      "unfence", "Let applications write a service's data sets on a cluster again (admin)");
  cmd->add_option("SERVICE", service)->required();
  cmd->add_option("--cluster", cluster, "The cluster whose fences to lift")->required();
  cmd->add_flag("--dry-run", dry_run, "Say what would be lifted, lift nothing");
  cmd->add_flag("-y,--yes", yes, "Agree without being asked (scripts)");
  cmd->footer(
      "A failover fences the old primary's data sets (writes refused, restores into them\n"
      "too) at the new epoch. Lift them to restore into them, or once that cluster is to be\n"
      "written again: writes on a secondary are not copied anywhere. Audited.\n"
      "Examples:\n  lifeboat unfence sales --cluster primary --dry-run\n"
      "  lifeboat unfence sales --cluster primary");
  cmd->callback([&global, &api, exit_code] {
    *exit_code = WithApi(global, api, [&global](Session& s) -> StatusOr<int> {
      std::string target = "/v1/services/" + Seg(service) + "/unfence?cluster=" + Seg(cluster) +
                           "&dry_run=" + (dry_run ? "true" : "false");
      json body = json::object();
      if (!dry_run) {
        LIFEBOAT_ASSIGN_OR_RETURN(json r,
                                  s.client->Call("GET", "/v1/services/" + Seg(service) + "/roles"));
        model::ServiceRoles roles;
        LIFEBOAT_RETURN_IF_ERROR(FromJson(r, &roles));
        Consent c;
        c.action = "unfence " + service + " on " + cluster;
        c.name = service;
        c.facts.push_back("applications can write " + service + "'s data sets on " + cluster +
                          " again");
        if (cluster == roles.secondary_cluster()) {
          c.warnings.push_back(cluster + " is the secondary (the primary is " +
                               roles.primary_cluster() +
                               "): nothing copies what is written there to the primary");
        }
        LIFEBOAT_RETURN_IF_ERROR(Ask(c, yes));
        body["confirm"] = service;
      }
      LIFEBOAT_ASSIGN_OR_RETURN(json answer, s.client->CallJson("POST", target, body));
      if (global.output == "json") {
        std::cout << answer.dump(2) << "\n";
        return kExitOk;
      }
      for (const auto& line : answer.value("lines", json::array())) {
        std::cout << line.get<std::string>() << "\n";
      }
      return kExitOk;
    });
  });
}

}  // namespace

void AddSwitchCommands(CLI::App& app, GlobalOptions& global, ApiArgs& api, int* exit_code) {
  AddSwitch(app, global, api, exit_code, /*failback=*/false);
  AddSwitch(app, global, api, exit_code, /*failback=*/true);
  AddUnfence(app, global, api, exit_code);

  static std::string roles_service;
  CLI::App* roles = app.add_subcommand("roles", "Which cluster holds PRIMARY for a service");
  roles->add_option("SERVICE", roles_service)->required();
  roles->footer("Example:\n  lifeboat roles sales");
  roles->callback([&global, &api, exit_code] {
    *exit_code = WithApi(global, api, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(
          json body, s.client->Call("GET", "/v1/services/" + Seg(roles_service) + "/roles"));
      model::ServiceRoles r;
      LIFEBOAT_RETURN_IF_ERROR(FromJson(body, &r));
      if (Structured(global)) {
        PrintStructured(global, ToJson(r));
        return kExitOk;
      }
      std::cout << "service   " << r.service() << "\nprimary   " << r.primary_cluster()
                << "\nsecondary " << r.secondary_cluster() << "\nepoch     " << r.epoch()
                << "\nchanged   " << Time(r.changed_unix_nanos())
                << (r.changed_by().empty() ? "" : " by " + r.changed_by())
                << (r.reason().empty() ? "" : " (" + r.reason() + ")") << "\n";
      if (!r.common_restore_point_id().empty()) {
        std::cout << "common    " << r.common_restore_point_id() << "\n";
      }
      for (const auto& c : r.fence_owed()) std::cout << "owed      fence of " << c << "\n";
      return kExitOk;
    });
  });

  static std::string ep_service;
  CLI::App* endpoints =
      app.add_subcommand("endpoints", "Where applications should reach a service now");
  endpoints->add_option("SERVICE", ep_service)->required();
  endpoints->footer("Example:\n  lifeboat endpoints sales");
  endpoints->callback([&global, &api, exit_code] {
    *exit_code = WithApi(global, api, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(
          json body, s.client->Call("GET", "/v1/services/" + Seg(ep_service) + "/endpoints"));
      model::EndpointAnswer e;
      LIFEBOAT_RETURN_IF_ERROR(FromJson(body, &e));
      if (Structured(global)) {
        PrintStructured(global, ToJson(e));
        return kExitOk;
      }
      std::cout << e.service() << " is active on " << e.active_cluster() << " (epoch " << e.epoch()
                << ")\n";
      for (const auto& ep : e.endpoints()) {
        std::printf("  %-12s %s\n", ep.name().c_str(), ep.address().c_str());
      }
      return kExitOk;
    });
  });

  CLI::App* doctor = app.add_subcommand(
      "doctor",
      "Check every cluster: agent reachable, clock offset, plugin health and version, fences");
  doctor->footer(
      "Exit code 0 when every cluster is healthy, 1 otherwise.\nExample:\n  lifeboat doctor");
  doctor->callback([&global, &api, exit_code] {
    *exit_code = WithApi(global, api, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/health?check=true"));
      if (Structured(global)) PrintStructured(global, body);
      int code = kExitOk;
      for (const auto& item : body.value("clusters", json::array())) {
        model::ClusterHealth h;
        LIFEBOAT_RETURN_IF_ERROR(FromJson(item, &h));
        if (h.state() != model::CLUSTER_HEALTHY) code = kExitFailure;
        if (Structured(global)) continue;
        std::printf("%-12s %-12s", h.cluster().c_str(),
                    Short(model::ClusterHealthState_Name(h.state()), "CLUSTER_").c_str());
        if (h.state() != model::CLUSTER_UNREACHABLE) {
          std::printf(" clock %+.1f ms (round trip %.1f ms)", h.clock().offset_nanos() / 1e6,
                      h.clock().round_trip_nanos() / 1e6);
        }
        std::printf("\n");
        for (const auto& c : h.components()) {
          std::string facts;
          if (!c.component_version().empty()) facts += " version " + c.component_version();
          if (c.fenced_data_sets() > 0) {
            facts += ", " + std::to_string(c.fenced_data_sets()) + " data set(s) fenced";
          }
          std::printf("  %-10s %s%s%s%s\n", c.component().c_str(), c.health().c_str(),
                      facts.c_str(), c.detail().empty() ? "" : ": ", c.detail().c_str());
        }
        // The detail of a degraded cluster repeats its components' lines above; only an
        // unreachable one (no component lines) needs it.
        if (h.components_size() == 0 && !h.detail().empty()) {
          std::printf("  %s\n", h.detail().c_str());
        }
      }
      return code;
    });
  });
}

}  // namespace lifeboat::cli
