// The engine's commands: policy, service status, run, jobs, points, restore, events, daemon.
// Each goes through the API (api_session.h): in-process on --state-dir by default (one
// process at a time: the store is locked), or to a running daemon with --server.
#include <lifeboat/core/policy_yaml.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api_session.h"
#include "cli.h"
#include "consent.h"
#include "daemon.h"
#include "describe.h"
#include "output.h"
#include "progress.h"

namespace lifeboat::cli {
namespace {

namespace api = ::lifeboat::core::api;
using json = nlohmann::json;
constexpr int64_t kNanosPerSecond = 1000000000;

}  // namespace

void AddEngineCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  static ApiArgs a;
  a.state_dir_option = app.add_option("--state-dir", a.state_dir,
                                      "The engine's state directory (RocksDB); one process at a "
                                      "time. Not given: ./.lifeboat, and a notice says so")
                           ->envname("LIFEBOAT_STATE_DIR")
                           ->capture_default_str();
  app.add_option("--server", a.server,
                 "A running `lifeboat daemon --listen` to talk to (http(s)://host:port) instead "
                 "of opening --state-dir here")
      ->envname("LIFEBOAT_SERVER");
  app.add_option("--token-file", a.token_file,
                 "File holding the API token for --server (or set LIFEBOAT_TOKEN)")
      ->envname("LIFEBOAT_TOKEN_FILE");
  app.add_option("--ca-file", a.ca_file, "PEM CA bundle to verify an https:// --server with")
      ->envname("LIFEBOAT_CA_FILE");

  // apply, delete -f, cluster, and service/points list and delete: cmd_config.cc.

  // policy list | show | delete
  static std::string name;
  CLI::App* policy = app.add_subcommand("policy", "List, show or delete policies");
  policy->require_subcommand(1);
  policy->add_subcommand("list", "List policies")->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/policies"));
      LIFEBOAT_ASSIGN_OR_RETURN(auto list, ListFromJson<model::Policy>(body, "policies"));
      if (Structured(global)) {
        PrintStructured(global, ToJsonList(list));
        return kExitOk;
      }
      std::printf("%-24s %-16s %-24s %-10s %s\n", "NAME", "SERVICE", "SCHEDULE", "RPO", "REVISION");
      for (const auto& p : list) {
        std::string sched = p.schedule().has_cron()
                                ? p.schedule().cron()
                                : "every " + std::to_string(p.schedule().interval_seconds()) + "s";
        std::printf("%-24s %-16s %-24s %-10s %llu\n", p.name().c_str(), p.service().c_str(),
                    sched.c_str(), HumanDuration(p.rpo_seconds() * kNanosPerSecond).c_str(),
                    static_cast<unsigned long long>(p.revision()));
      }
      return kExitOk;
    });
  });
  CLI::App* show = policy->add_subcommand(
      "show", "Show one policy as the YAML apply takes (-o json / yaml: the record)");
  show->add_option("NAME", name)->required();
  show->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      const std::string target = "/v1/policies/" + Seg(name);
      if (Structured(global)) {
        LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", target));
        PrintStructured(global, body);
      } else {
        LIFEBOAT_ASSIGN_OR_RETURN(api::Response yaml,
                                  s.client->CallRaw("GET", target, "application/yaml"));
        std::cout << yaml.body << "\n";
      }
      return kExitOk;
    });
  });
  static bool dry_run = false;
  CLI::App* del = policy->add_subcommand("delete", "Delete a policy (its restore points stay)");
  del->add_option("NAME", name)->required();
  del->add_flag("--dry-run", dry_run, "Say what would be deleted, delete nothing");
  del->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(
          json body,
          s.client->Call("DELETE", "/v1/policies/" + Seg(name) + (dry_run ? "?dry_run=true" : "")));
      if (Structured(global)) {
        PrintStructured(global, body);
        return kExitOk;
      }
      std::cout << body.value("message", "") << "\n";
      return kExitOk;
    });
  });

  // service status
  CLI::App* service = app.add_subcommand("service", "Services and their RPO");
  service->require_subcommand(1);
  CLI::App* status = service->add_subcommand("status", "RPO of every service (or one)");
  status->add_option("NAME", name);
  status->footer("Exit code 6 when a service's RPO is breached; 3 for an unknown service.");
  status->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      std::vector<json> statuses;
      if (name.empty()) {
        LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/status"));
        for (const auto& st : body.value("services", json::array())) statuses.push_back(st);
      } else {
        LIFEBOAT_ASSIGN_OR_RETURN(json st,
                                  s.client->Call("GET", "/v1/services/" + Seg(name) + "/status"));
        statuses.push_back(st);
      }
      bool breached = false;
      for (const auto& st : statuses) breached |= st.value("rpo_breached", false);
      if (Structured(global)) {
        PrintStructured(global, json(statuses));
        return breached ? kExitRpoBreached : kExitOk;
      }
      std::printf("%-16s %-40s %-10s %-10s %s\n", "SERVICE", "NEWEST POINT", "AGE", "RPO", "STATE");
      for (const auto& st : statuses) {
        const std::string svc = st.value("service", "");
        const std::string newest = st.value("newest_point", "");
        const int64_t age = st.value("age_seconds", int64_t{-1});
        const int64_t rpo = st.value("rpo_seconds", int64_t{0});
        const bool bad = st.value("rpo_breached", false);
        std::printf(
            "%-16s %-40s %-10s %-10s %s\n", svc.c_str(), newest.empty() ? "-" : newest.c_str(),
            age < 0 ? "-" : HumanDuration(age * kNanosPerSecond).c_str(),
            rpo == 0 ? "-" : HumanDuration(rpo * kNanosPerSecond).c_str(), bad ? "BREACHED" : "ok");
      }
      return breached ? kExitRpoBreached : kExitOk;
    });
  });

  // run
  static std::string policy_name;
  CLI::App* run = app.add_subcommand("run", "Back up a policy's service now");
  run->add_option("POLICY", policy_name)->required();
  static bool force_full = false;
  run->add_flag("--force-full", force_full,
                "Compare full listings instead of copying the change since the last point, "
                "overwriting whatever changed on the secondary since then (a plugin that finds "
                "the secondary changed refuses an incremental and says to use this)");
  run->footer(
      "Examples:\n  lifeboat run sales-hourly\n  lifeboat run sales-hourly --force-full   # "
      "the secondary was changed by hand: overwrite it\nCtrl-C cancels the job; its partial "
      "work is cleaned up. A full copy done instead of an incremental is noted in the job "
      "(`lifeboat jobs show JOB`) with its reason.");
  run->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json started,
                                s.client->Call("POST", "/v1/policies/" + Seg(policy_name) + "/run" +
                                                           (force_full ? "?force_full=true" : "")));
      return FollowJob(*s.client, started.value("job_id", ""), global);
    });
  });

  // points list | show | verify
  static std::string svc_name, point;
  CLI::App* points = app.add_subcommand("points", "Restore points: list, show, verify, delete");
  points->require_subcommand(1);
  CLI::App* plist = points->add_subcommand("list", "List a service's restore points");
  plist->add_option("SERVICE", svc_name)->required();
  plist->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body,
                                s.client->Call("GET", "/v1/services/" + Seg(svc_name) + "/points"));
      LIFEBOAT_ASSIGN_OR_RETURN(auto list,
                                ListFromJson<model::RestorePoint>(body, "restore_points"));
      if (Structured(global)) {
        PrintStructured(global, ToJsonList(list));
        return kExitOk;
      }
      std::printf("%-36s %-10s %-21s %-10s %-9s %s\n", "RESTORE POINT", "STATE", "CUT AT (UTC)",
                  "SIZE", "SPREAD", "BASE");
      for (const auto& p : list) {
        uint64_t bytes = 0;
        for (const auto& m : p.members()) bytes += m.total_bytes();
        char spread[32];
        std::snprintf(spread, sizeof spread, "%.3fs", p.spread_nanos() / 1e9);
        std::printf("%-36s %-10s %-21s %-10s %-9s %s\n", p.id().c_str(),
                    Short(model::RestorePointState_Name(p.state()), "RP_").c_str(),
                    Time(p.cut_unix_nanos()).c_str(),
                    HumanBytes(static_cast<double>(bytes)).c_str(), spread,
                    p.base_restore_point_id().empty() ? "-" : p.base_restore_point_id().c_str());
      }
      return kExitOk;
    });
  });
  CLI::App* pshow = points->add_subcommand("show", "Members, cut times, spread, digests");
  pshow->add_option("SERVICE", svc_name)->required();
  pshow->add_option("POINT", point)->required();
  pshow->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/services/" + Seg(svc_name) +
                                                                     "/points/" + Seg(point)));
      model::RestorePoint p;
      LIFEBOAT_RETURN_IF_ERROR(FromJson(body, &p));
      if (Structured(global)) {
        PrintStructured(global, ToJson(p));
      } else {
        std::cout << DescribePoint(p);
      }
      return kExitOk;
    });
  });
  CLI::App* pverify = points->add_subcommand("verify", "Re-read a point on the target");
  pverify->add_option("SERVICE", svc_name)->required();
  pverify->add_option("POINT", point)->required();
  pverify->callback([&global, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(
          json body, s.client->Call("POST", "/v1/services/" + Seg(svc_name) + "/points/" +
                                                Seg(point) + "/verify"));
      const json mismatches = body.value("mismatches", json::array());
      if (Structured(global)) {
        PrintStructured(global, body);
        return mismatches.empty() ? kExitOk : kExitVerifyFailed;
      }
      for (const auto& m : mismatches) std::cout << "mismatch " << m.get<std::string>() << "\n";
      std::cout << (mismatches.empty() ? "OK" : "DIFFERENT") << "\n";
      return mismatches.empty() ? kExitOk : kExitVerifyFailed;
    });
  });

  // restore
  static std::vector<std::string> destinations;
  static std::string cluster;
  static bool restore_dry_run = false, overwrite = false, restore_yes = false;
  CLI::App* restore = app.add_subcommand("restore", "Restore a committed restore point (admin)");
  restore->add_option("SERVICE", svc_name)->required();
  restore->add_option("POINT", point)->required();
  restore->add_option(
      "--destination", destinations,
      "Where to restore instead of the data sets themselves: one for every member (a path "
      "prefix for files, from which a topic prefix is made for streams), or COMPONENT=WHERE per "
      "component (repeat it), e.g. --destination hdfs=/restore --destination kafka=restored-");
  restore->add_option("--cluster", cluster, "Where to restore (default: the point's target)");
  restore->add_flag("--dry-run", restore_dry_run,
                    "Say what would change (a summary per data set) and check what the real "
                    "run checks; change nothing");
  static bool details = false;
  restore->add_flag("--details", details, "List every item changed (or, dry, to be changed)");
  restore->add_flag("--overwrite", overwrite,
                    "Agree that the restore deletes or replaces what its destination holds "
                    "and the point does not (without it such a restore is refused, naming them)");
  restore->add_flag("-y,--yes", restore_yes,
                    "Agree without being asked (scripts); otherwise it asks on the terminal");
  restore->footer(
      "Examples:\n  lifeboat restore sales rp-20261125T094500Z-000003 --destination /restored "
      "--dry-run\n  lifeboat restore sales rp-20261125T094500Z-000003 --destination /restored\n"
      "  lifeboat restore acc rp-20261125T094500Z-000003 --destination hdfs=/restore "
      "--destination kafka=restored-\n"
      "  lifeboat restore sales rp-20261125T094500Z-000003 --cluster primary --overwrite   "
      "# back over the live data\nEvery member is checked before any is written; a restore "
      "that stops part-way\nsays what it left, and `lifeboat jobs resume JOB` finishes it.");
  restore->callback([&global, exit_code] {
    // COMPONENT=WHERE (a component name before the first '=') or one WHERE for all.
    json per_component = json::object();
    std::string for_all;
    for (const auto& d : destinations) {
      const size_t eq = d.find('=');
      const std::string head = eq == std::string::npos ? "" : d.substr(0, eq);
      const bool named =
          !head.empty() &&
          head.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
      if (named) {
        if (per_component.contains(head)) {
          std::cerr << "error: --destination names " << head << " twice\n";
          return void(*exit_code = kExitUsage);
        }
        per_component[head] = d.substr(eq + 1);
      } else if (!for_all.empty()) {
        std::cerr << "error: give one --destination for every member, or COMPONENT=WHERE per "
                     "component; '"
                  << for_all << "' and '" << d << "' are both for every member\n";
        return void(*exit_code = kExitUsage);
      } else {
        for_all = d;
      }
    }
    *exit_code = WithApi(global, a, [&](Session& s) -> StatusOr<int> {
      json body = {{"restore_point", point},
                   {"destination", for_all},
                   {"cluster", cluster},
                   {"dry_run", restore_dry_run},
                   {"overwrite", overwrite}};
      if (!per_component.empty()) body["destinations"] = per_component;
      if (!restore_dry_run) {
        // An unknown service or point is said as such (exit 3), before anything is asked.
        LIFEBOAT_RETURN_IF_ERROR(
            s.client->Call("GET", "/v1/services/" + Seg(svc_name) + "/points/" + Seg(point))
                .status());
        Consent c;
        c.action = "restore " + svc_name + " from " + point;
        c.name = svc_name;
        std::string where = for_all;
        for (const auto& [comp, dest] : per_component.items()) {
          where += (where.empty() ? "" : ", ") + comp + "=" + dest.get<std::string>();
        }
        c.facts.push_back(
            where.empty() ? "into the data sets themselves" +
                                (cluster.empty() ? std::string() : " on cluster " + cluster)
                          : "into " + where + (cluster.empty() ? "" : " on cluster " + cluster));
        AddPointFacts(s, svc_name, "", point, c);
        if (overwrite) {
          c.warnings.push_back(
              "--overwrite: what the destination holds and the point does "
              "not is deleted or replaced");
        }
        if (where.empty() && !cluster.empty()) {
          auto r = s.client->Call("GET", "/v1/services/" + Seg(svc_name) + "/roles");
          model::ServiceRoles roles;
          if (r.ok() && FromJson(*r, &roles).ok() && roles.primary_cluster() == cluster) {
            c.warnings.push_back("into the live data sets of the primary " + cluster +
                                 ": applications read and write them now");
          }
        }
        LIFEBOAT_RETURN_IF_ERROR(Ask(c, restore_yes));
        body["confirm"] = svc_name;
      }
      LIFEBOAT_ASSIGN_OR_RETURN(
          json started,
          s.client->CallJson("POST", "/v1/services/" + Seg(svc_name) + "/restore", body));
      return FollowJob(*s.client, started.value("job_id", ""), global, details);
    });
  });

  // daemon: the flags it shares with lifeboatd are spelled as there (AddServeFlags).
  static ServeFlags serve;
  CLI::App* daemon = app.add_subcommand(
      "daemon",
      "Run the scheduler: resume unfinished jobs, then back up policies as they fall due; "
      "with --listen, serve the HTTP/JSON API too");
  AddServeFlags(*daemon, serve, /*listen_required=*/false);
  // The spelling before lifeboatd's was adopted; kept for scripts, not shown.
  daemon->add_option("--tls-cert", serve.api_tls_cert)->check(CLI::ExistingFile)->group("");
  daemon->add_option("--tls-key", serve.api_tls_key)->check(CLI::ExistingFile)->group("");
  daemon->footer(
      "Runs in the foreground until Ctrl-C or SIGTERM (the job then running is cancelled and\n"
      "cleaned up). A slot missed while it was down runs once; a slot that falls due while\n"
      "the previous backup of its policy is unfinished is recorded as skipped.\n"
      "Example:\n  lifeboat token create ops --role operator --out ops.token   # before starting\n"
      "  lifeboat daemon --listen 127.0.0.1:7340\n"
      "  lifeboat --server http://127.0.0.1:7340 --token-file ops.token run sales-hourly");
  daemon->callback([&global, exit_code] {
    if (!a.server.empty()) {
      std::cerr << "error: the daemon runs the engine on --state-dir here; --server does not "
                   "apply to it\n";
      return void(*exit_code = kExitUsage);
    }
    if (serve.api_tls_cert.empty() != serve.api_tls_key.empty()) {
      std::cerr << "error: give both --api-tls-cert and --api-tls-key, or neither\n";
      return void(*exit_code = kExitUsage);
    }
    a.public_metrics = serve.public_metrics;
    a.webhooks = serve.webhooks;
    a.health_interval_millis = static_cast<int64_t>(serve.health_interval_seconds * 1000);
    a.max_concurrent_jobs = serve.max_concurrent_jobs;
    *exit_code = WithApi(global, a, [](Session& s) -> StatusOr<int> {
      InstallStopHandlers();
      DaemonOptions o;
      o.listen = serve.listen;
      o.tls_cert_file = serve.api_tls_cert;
      o.tls_key_file = serve.api_tls_key;
      o.state_dir = a.state_dir;
      LIFEBOAT_RETURN_IF_ERROR(RunDaemon(*s.engine, *s.handler, o, &g_stop));
      return kExitOk;
    });
  });

  AddJobCommands(app, global, a, exit_code);
  AddTokenCommands(app, global, a, exit_code);
  AddSwitchCommands(app, global, a, exit_code);
  AddConfigCommands(app, global, a, exit_code);  // after service and points: it extends them
}

}  // namespace lifeboat::cli
