// The engine's commands: apply, policy, service, run, jobs, points, restore, events.
// Each opens the engine on --state-dir (one process at a time: the store is locked).
#include <google/protobuf/util/json_util.h>
#include <lifeboat/core/engine.h>
#include <lifeboat/core/policy_yaml.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>

#include "cli.h"
#include "progress.h"

namespace lifeboat::cli {
namespace {

namespace v1 = ::lifeboat::core::v1;
using core::Engine;

std::atomic<bool> g_stop{false};
extern "C" void OnStop(int) { g_stop = true; }

struct EngineArgs {
  std::string state_dir = ".lifeboat";
};

int Fail(const Status& s) {
  std::cerr << "error: " << s.ToString() << "\n";
  return ExitCodeFor(s);
}

StatusOr<std::unique_ptr<Engine>> OpenEngine(const GlobalOptions& g, const EngineArgs& a) {
  core::EngineOptions o;
  o.state_dir = a.state_dir;
  o.plugin_dirs = g.plugin_dirs;
  return Engine::Open(o);
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  return out;
}

template <typename M>
void PrintJsonList(const std::vector<M>& items) {
  std::cout << "[";
  for (size_t i = 0; i < items.size(); ++i) std::cout << (i ? ",\n" : "\n") << Json(items[i]);
  std::cout << "]\n";
}

std::string Time(int64_t unix_nanos) {
  if (unix_nanos == 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_nanos / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Short(const std::string& enum_name, const std::string& prefix) {
  std::string s = enum_name.rfind(prefix, 0) == 0 ? enum_name.substr(prefix.size()) : enum_name;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Runs a job in the foreground with a progress bar; Ctrl-C cancels it.
int RunWithProgress(Engine& engine, const std::string& job_id) {
  std::signal(SIGINT, OnStop);
  std::signal(SIGTERM, OnStop);
  std::unique_ptr<ProgressBar> bar;
  v1::Phase shown = v1::PHASE_UNSPECIFIED;
  std::mutex mu;
  Status s = engine.RunJob(job_id, &g_stop, [&](const core::JobProgress& p) {
    std::lock_guard<std::mutex> lock(mu);
    if (p.phase != shown) {
      if (bar) bar->Finish();
      bar.reset();
      shown = p.phase;
      if (p.phase != v1::PHASE_PLAN && p.phase != v1::PHASE_TRANSFER) {
        std::cerr << Short(v1::Phase_Name(p.phase), "PHASE_") << "\n";
      }
    }
    // The transfer's bar appears once its totals are known (after planning).
    if (!bar && p.phase == v1::PHASE_TRANSFER && (p.bytes_total > 0 || p.items_total > 0)) {
      bar = std::make_unique<ProgressBar>(stderr, ::isatty(STDERR_FILENO) != 0, "transfer",
                                          p.bytes_total, p.items_total);
    }
    if (bar) {
      bar->SetTotals(p.bytes_total, p.items_total);
      bar->Update(p.bytes_done, p.items_done);
    }
  });
  if (bar) bar->Finish();
  auto job = engine.GetJob(job_id);
  if (job.ok()) {
    std::cout << job->id() << " " << Short(v1::JobState_Name(job->state()), "JOB_");
    if (!job->restore_point_id().empty()) std::cout << " " << job->restore_point_id();
    std::cout << "\n";
    for (const auto& line : job->log()) std::cout << "  " << line << "\n";
  }
  return s.ok() ? kExitOk : Fail(s);
}

}  // namespace

void AddEngineCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  static EngineArgs a;
  app.add_option("--state-dir", a.state_dir,
                 "The engine's state directory (RocksDB); one process at a time")
      ->envname("LIFEBOAT_STATE_DIR")
      ->capture_default_str();

  // apply
  static std::vector<std::string> files;
  CLI::App* apply = app.add_subcommand("apply", "Apply clusters, services and policies (YAML)");
  apply->add_option("-f,--file", files, "YAML file(s)")->required()->check(CLI::ExistingFile);
  apply->footer(
      "Example:\n  lifeboat apply -f sales.yaml\nApplying again changes nothing; a changed "
      "policy gets a new revision\n(running jobs keep theirs). See docs/policies.md.");
  apply->callback([&global, exit_code] {
    std::vector<core::YamlDocument> docs;
    for (const auto& f : files) {
      auto parsed = core::LoadYamlFile(f);
      if (!parsed.ok()) {
        *exit_code = Fail(parsed.status());
        return;
      }
      docs.insert(docs.end(), parsed->begin(), parsed->end());
    }
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) {
      *exit_code = Fail(engine.status());
      return;
    }
    auto report = (*engine)->Apply(docs, "cli");
    if (!report.ok()) {
      *exit_code = Fail(report.status());
      return;
    }
    for (const auto& line : *report) std::cout << line << "\n";
    *exit_code = kExitOk;
  });

  // policy list | show | delete
  static std::string name;
  CLI::App* policy = app.add_subcommand("policy", "List, show or delete policies");
  policy->require_subcommand(1);
  policy->add_subcommand("list", "List policies")->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto list = (*engine)->Policies();
    if (!list.ok()) return void(*exit_code = Fail(list.status()));
    if (global.output == "json") {
      PrintJsonList(*list);
    } else {
      std::printf("%-24s %-16s %-24s %-10s %s\n", "NAME", "SERVICE", "SCHEDULE", "RPO", "REVISION");
      for (const auto& p : *list) {
        std::string sched = p.schedule().has_cron()
                                ? p.schedule().cron()
                                : "every " + std::to_string(p.schedule().interval_seconds()) + "s";
        std::printf("%-24s %-16s %-24s %-10s %llu\n", p.name().c_str(), p.service().c_str(),
                    sched.c_str(), (std::to_string(p.rpo_seconds()) + "s").c_str(),
                    static_cast<unsigned long long>(p.revision()));
      }
    }
    *exit_code = kExitOk;
  });
  CLI::App* show = policy->add_subcommand("show", "Show one policy as YAML");
  show->add_option("NAME", name)->required();
  show->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto p = (*engine)->GetPolicy(name);
    if (!p.ok()) return void(*exit_code = Fail(p.status()));
    std::cout << (global.output == "json" ? Json(*p) : core::ToYaml(*p)) << "\n";
    *exit_code = kExitOk;
  });
  static bool dry_run = false;
  CLI::App* del = policy->add_subcommand("delete", "Delete a policy (its restore points stay)");
  del->add_option("NAME", name)->required();
  del->add_flag("--dry-run", dry_run, "Say what would be deleted, delete nothing");
  del->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto p = (*engine)->GetPolicy(name);
    if (!p.ok()) return void(*exit_code = Fail(p.status()));
    if (dry_run) {
      std::cout << "would delete policy " << name << " (revision " << p->revision() << ")\n";
      return void(*exit_code = kExitOk);
    }
    Status s = (*engine)->DeletePolicy(name, "cli");
    if (!s.ok()) return void(*exit_code = Fail(s));
    std::cout << "deleted policy " << name << "\n";
    *exit_code = kExitOk;
  });

  // service status
  CLI::App* service = app.add_subcommand("service", "Services and their RPO");
  service->require_subcommand(1);
  CLI::App* status = service->add_subcommand("status", "RPO of every service (or one)");
  status->add_option("NAME", name);
  status->footer("Exit code 6 when a service's RPO is breached.");
  status->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto services = (*engine)->Services();
    if (!services.ok()) return void(*exit_code = Fail(services.status()));
    bool breached = false;
    const bool json = global.output == "json";
    if (json) {
      std::cout << "[";
    } else {
      std::printf("%-16s %-40s %-10s %-10s %s\n", "SERVICE", "NEWEST POINT", "AGE", "RPO", "STATE");
    }
    bool first = true;
    for (const auto& svc : *services) {
      if (!name.empty() && svc.name() != name) continue;
      auto st = (*engine)->GetServiceStatus(svc.name());
      if (!st.ok()) return void(*exit_code = Fail(st.status()));
      breached |= st->rpo_breached;
      if (json) {
        std::cout << (first ? "\n" : ",\n") << "  {\"service\": \"" << svc.name()
                  << "\", \"newest_point\": \"" << st->newest_point
                  << "\", \"age_seconds\": " << st->age_seconds
                  << ", \"rpo_seconds\": " << st->rpo_seconds
                  << ", \"rpo_breached\": " << (st->rpo_breached ? "true" : "false") << "}";
        first = false;
        continue;
      }
      std::printf("%-16s %-40s %-10s %-10s %s\n", svc.name().c_str(),
                  st->newest_point.empty() ? "-" : st->newest_point.c_str(),
                  st->age_seconds < 0 ? "-" : (std::to_string(st->age_seconds) + "s").c_str(),
                  st->rpo_seconds == 0 ? "-" : (std::to_string(st->rpo_seconds) + "s").c_str(),
                  st->rpo_breached ? "BREACHED" : "ok");
    }
    if (json) std::cout << "\n]\n";
    *exit_code = breached ? kExitRpoBreached : kExitOk;
  });

  // run
  static std::string policy_name;
  CLI::App* run = app.add_subcommand("run", "Back up a policy's service now");
  run->add_option("POLICY", policy_name)->required();
  run->footer(
      "Example:\n  lifeboat run sales-hourly\nCtrl-C cancels the job; its partial work "
      "is cleaned up.");
  run->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto id = (*engine)->StartBackup(policy_name, "manual", "cli");
    if (!id.ok()) return void(*exit_code = Fail(id.status()));
    *exit_code = RunWithProgress(**engine, *id);
  });

  // jobs list | show | resume
  CLI::App* jobs = app.add_subcommand("jobs", "Jobs: list, show, resume");
  jobs->require_subcommand(1);
  jobs->add_subcommand("list", "List jobs")->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto list = (*engine)->Jobs();
    if (!list.ok()) return void(*exit_code = Fail(list.status()));
    if (global.output == "json") {
      PrintJsonList(*list);
      return void(*exit_code = kExitOk);
    }
    std::printf("%-12s %-8s %-12s %-10s %-9s %-36s %s\n", "JOB", "KIND", "SERVICE", "STATE",
                "PHASE", "RESTORE POINT", "STARTED");
    for (const auto& j : *list) {
      std::printf("%-12s %-8s %-12s %-10s %-9s %-36s %s\n", j.id().c_str(),
                  Short(v1::JobKind_Name(j.kind()), "JOB_").c_str(), j.service().c_str(),
                  Short(v1::JobState_Name(j.state()), "JOB_").c_str(),
                  Short(v1::Phase_Name(j.phase()), "PHASE_").c_str(), j.restore_point_id().c_str(),
                  Time(j.started_unix_nanos()).c_str());
    }
    *exit_code = kExitOk;
  });
  static std::string job_id;
  CLI::App* jshow = jobs->add_subcommand("show", "Show a job and its tasks");
  jshow->add_option("JOB", job_id)->required();
  jshow->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto j = (*engine)->GetJob(job_id);
    if (!j.ok()) return void(*exit_code = Fail(j.status()));
    std::cout << Json(*j) << "\n";
    auto tasks = (*engine)->Tasks(job_id);
    if (tasks.ok() && global.output != "json") {
      for (const auto& t : *tasks) {
        std::cout << "  task " << t.id() << " " << Short(v1::TaskState_Name(t.state()), "TASK_")
                  << " " << HumanBytes(static_cast<double>(t.bytes())) << "\n";
      }
    }
    *exit_code = kExitOk;
  });
  CLI::App* resume = jobs->add_subcommand(
      "resume", "Resume unfinished jobs (after a crash), or one job (also a parked one)");
  resume->add_option("JOB", job_id);
  resume->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    if (!job_id.empty()) return void(*exit_code = RunWithProgress(**engine, job_id));
    std::signal(SIGINT, OnStop);
    auto ran = (*engine)->ResumeAll(&g_stop);
    if (!ran.ok()) return void(*exit_code = Fail(ran.status()));
    int rc = kExitOk;
    for (const auto& id : *ran) {
      auto j = (*engine)->GetJob(id);
      if (!j.ok()) continue;
      std::cout << id << " " << Short(v1::JobState_Name(j->state()), "JOB_") << "\n";
      if (j->state() != v1::JOB_SUCCEEDED) rc = kExitFailure;
    }
    if (ran->empty()) std::cout << "no unfinished jobs\n";
    *exit_code = rc;
  });

  // points list | show | verify
  static std::string svc_name, point;
  CLI::App* points = app.add_subcommand("points", "Restore points: list, show, verify");
  points->require_subcommand(1);
  CLI::App* plist = points->add_subcommand("list", "List a service's restore points");
  plist->add_option("SERVICE", svc_name)->required();
  plist->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto list = (*engine)->RestorePoints(svc_name);
    if (!list.ok()) return void(*exit_code = Fail(list.status()));
    if (global.output == "json") {
      PrintJsonList(*list);
      return void(*exit_code = kExitOk);
    }
    std::printf("%-36s %-10s %-21s %-10s %-9s %s\n", "RESTORE POINT", "STATE", "CUT AT (UTC)",
                "SIZE", "SPREAD", "BASE");
    for (const auto& p : *list) {
      uint64_t bytes = 0;
      for (const auto& m : p.members()) bytes += m.total_bytes();
      char spread[32];
      std::snprintf(spread, sizeof spread, "%.3fs", p.spread_nanos() / 1e9);
      std::printf("%-36s %-10s %-21s %-10s %-9s %s\n", p.id().c_str(),
                  Short(v1::RestorePointState_Name(p.state()), "RP_").c_str(),
                  Time(p.cut_unix_nanos()).c_str(), HumanBytes(static_cast<double>(bytes)).c_str(),
                  spread,
                  p.base_restore_point_id().empty() ? "-" : p.base_restore_point_id().c_str());
    }
    *exit_code = kExitOk;
  });
  CLI::App* pshow = points->add_subcommand("show", "Members, cut times, spread, digests");
  pshow->add_option("SERVICE", svc_name)->required();
  pshow->add_option("POINT", point)->required();
  pshow->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto p = (*engine)->GetRestorePoint(svc_name, point);
    if (!p.ok()) return void(*exit_code = Fail(p.status()));
    std::cout << Json(*p) << "\n";
    *exit_code = kExitOk;
  });
  CLI::App* pverify = points->add_subcommand("verify", "Re-read a point on the target");
  pverify->add_option("SERVICE", svc_name)->required();
  pverify->add_option("POINT", point)->required();
  pverify->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    auto mismatches = (*engine)->VerifyRestorePoint(svc_name, point);
    if (!mismatches.ok()) return void(*exit_code = Fail(mismatches.status()));
    for (const auto& m : *mismatches) std::cout << "mismatch " << m << "\n";
    std::cout << (mismatches->empty() ? "OK" : "DIFFERENT") << "\n";
    *exit_code = mismatches->empty() ? kExitOk : kExitVerifyFailed;
  });

  // restore
  static std::string destination, cluster;
  static bool restore_dry_run = false;
  CLI::App* restore = app.add_subcommand("restore", "Restore a committed restore point");
  restore->add_option("SERVICE", svc_name)->required();
  restore->add_option("POINT", point)->required();
  restore->add_option("--destination", destination,
                      "A new location (each data set lands below it at its own selector); "
                      "default: the data sets themselves");
  restore->add_option("--cluster", cluster, "Where to restore (default: the point's target)");
  restore->add_flag("--dry-run", restore_dry_run, "List what would change, change nothing");
  restore->footer(
      "Examples:\n  lifeboat restore sales rp-20261125T094500Z-000003 --destination /restored "
      "--dry-run\n  lifeboat restore sales rp-20261125T094500Z-000003 --destination /restored");
  restore->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    v1::RestoreSpec spec;
    spec.set_restore_point_id(point);
    spec.set_destination(destination);
    spec.set_cluster(cluster);
    spec.set_dry_run(restore_dry_run);
    auto id = (*engine)->StartRestore(svc_name, spec, "cli");
    if (!id.ok()) return void(*exit_code = Fail(id.status()));
    *exit_code = RunWithProgress(**engine, *id);
  });

  // daemon
  CLI::App* daemon = app.add_subcommand(
      "daemon",
      "Run the scheduler: resume unfinished jobs, then back up policies as they fall due");
  daemon->footer(
      "Runs in the foreground until Ctrl-C or SIGTERM (the job then running is cancelled and\n"
      "cleaned up). A slot missed while it was down runs once; a slot that falls due while\n"
      "the previous backup of its policy is unfinished is recorded as skipped.");
  daemon->callback([&global, exit_code] {
    auto engine = OpenEngine(global, a);
    if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
    std::signal(SIGINT, OnStop);
    std::signal(SIGTERM, OnStop);
    std::cerr << "lifeboat daemon: scheduling (state " << a.state_dir << ")\n";
    Status s = (*engine)->Serve(&g_stop);
    *exit_code = s.ok() ? kExitOk : Fail(s);
  });

  // events
  app.add_subcommand("events", "Events: RPO breaches, failed jobs, full copies")
      ->callback([&global, exit_code] {
        auto engine = OpenEngine(global, a);
        if (!engine.ok()) return void(*exit_code = Fail(engine.status()));
        auto list = (*engine)->Events();
        if (!list.ok()) return void(*exit_code = Fail(list.status()));
        if (global.output == "json") return void((PrintJsonList(*list), *exit_code = kExitOk));
        for (const auto& e : *list) {
          std::cout << Time(e.time_unix_nanos()) << " " << e.severity() << " " << e.service() << " "
                    << e.kind() << ": " << e.message() << "\n";
        }
        *exit_code = kExitOk;
      });
}

}  // namespace lifeboat::cli
