// Jobs and what they leave behind: `jobs list | show | resume | cancel | logs`, `events`,
// `audit`.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "api_session.h"
#include "describe.h"
#include "output.h"
#include "progress.h"

namespace lifeboat::cli {
namespace {

using json = nlohmann::json;

struct ListArgs {
  std::string service, state, kind, severity, since, job;
  int limit = 0;
};

// "?service=..&state=.." from the flags given.
std::string Query(const ListArgs& l, bool events) {
  std::string q;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    q += (q.empty() ? "?" : "&") + std::string(key) + "=" + Seg(value);
  };
  add("service", l.service);
  add("kind", l.kind);
  add("since", l.since);
  if (events) {
    add("severity", l.severity);
    add("job", l.job);
  } else {
    add("state", l.state);
  }
  if (l.limit > 0) add("limit", std::to_string(l.limit));
  return q;
}

void AddListFlags(CLI::App* cmd, ListArgs& l, bool events) {
  cmd->add_option("--service", l.service, "Only this service's");
  cmd->add_option("--since", l.since,
                  "Only those since a time (2026-11-25T09:45:00Z) or an age (30m, 12h, 7d)");
  cmd->add_option("--limit", l.limit, "Only the newest N")->check(CLI::Range(1, 100000));
  if (events) {
    cmd->add_option("--severity", l.severity,
                    "Only these severities: info, notice, warning, critical (comma-separated)");
    cmd->add_option("--kind", l.kind, "Only these kinds, e.g. job_failed,rpo_breach");
    cmd->add_option("--job", l.job, "Only those about this job");
  } else {
    cmd->add_option("--state", l.state,
                    "Only jobs in these states: pending, running, succeeded, failed, cancelled, "
                    "parked, skipped (comma-separated)");
    cmd->add_option("--kind", l.kind, "Only these kinds: backup, restore, failover, failback");
  }
}

void PrintJobTable(const std::vector<model::Job>& list) {
  std::printf("%-12s %-18s %-12s %-10s %-9s %-36s %s\n", "JOB", "KIND", "SERVICE", "STATE", "PHASE",
              "RESTORE POINT", "STARTED");
  for (const auto& j : list) {
    std::string kind = Short(model::JobKind_Name(j.kind()), "JOB_");
    if (IsDryRunJob(j)) kind += " (dry run)";
    std::printf("%-12s %-18s %-12s %-10s %-9s %-36s %s\n", j.id().c_str(), kind.c_str(),
                j.service().empty() ? "-" : j.service().c_str(),
                Short(model::JobState_Name(j.state()), "JOB_").c_str(),
                Short(model::Phase_Name(j.phase()), "PHASE_").c_str(),
                j.restore_point_id().empty() ? "-" : j.restore_point_id().c_str(),
                Time(j.started_unix_nanos()).c_str());
  }
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Ended(model::JobState s) {
  return s == model::JOB_SUCCEEDED || s == model::JOB_FAILED || s == model::JOB_CANCELLED ||
         s == model::JOB_SKIPPED;
}

// `jobs show JOB [--watch]`.
StatusOr<int> ShowJob(Session& s, const GlobalOptions& global, const std::string& id, bool watch) {
  const std::string target = "/v1/jobs/" + Seg(id);
  LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", target));
  model::Job job;
  LIFEBOAT_RETURN_IF_ERROR(FromJson(body.value("job", json::object()), &job));
  LIFEBOAT_ASSIGN_OR_RETURN(auto tasks, ListFromJson<model::Task>(body, "tasks"));
  if (!watch) {
    if (Structured(global)) {
      PrintStructured(global, ToJson(job));
    } else {
      std::cout << DescribeJob(job, tasks);
    }
    return kExitOk;
  }
  // --watch: the description now, a line at each change, the description again at the end;
  // the exit code is the job's, as if it had been run here.
  if (!Structured(global)) std::cout << DescribeJob(job, tasks) << std::flush;
  InstallStopHandlers();
  std::string last;
  int idle_polls = 0;  // polls that found the job unfinished and run by no engine
  while (!Ended(job.state()) && job.state() != model::JOB_PARKED && !g_stop) {
    if (body.value("live", false)) {
      idle_polls = 0;
    } else if (++idle_polls > 2) {
      return FailedPreconditionError(
          "job " + id + " is " + Short(model::JobState_Name(job.state()), "JOB_") +
          " but no engine runs it; `lifeboat jobs resume " + id + "` runs it");
    }
    for (int i = 0; i < 10 && !g_stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    LIFEBOAT_ASSIGN_OR_RETURN(body, s.client->Call("GET", target));
    LIFEBOAT_RETURN_IF_ERROR(FromJson(body.value("job", json::object()), &job));
    const json p = body.value("progress", json::object());
    model::Phase phase = job.phase();
    model::Phase_Parse(p.value("phase", ""), &phase);
    std::string line = Short(model::JobState_Name(job.state()), "JOB_") + " " +
                       Short(model::Phase_Name(phase), "PHASE_");
    const uint64_t total = p.value("bytes_total", job.bytes_total());
    if (total > 0) {
      line += "  " + HumanBytes(static_cast<double>(p.value("bytes_done", job.bytes_done()))) +
              "/" + HumanBytes(static_cast<double>(total));
    }
    if (line != last && !Structured(global))
      std::cout << Time(NowNanos()) << "  " << line << "\n" << std::flush;
    last = line;
  }
  if (g_stop) return kExitCancelled;  // the watcher was interrupted, not the job
  LIFEBOAT_ASSIGN_OR_RETURN(tasks, ListFromJson<model::Task>(body, "tasks"));
  if (Structured(global)) {
    PrintStructured(global, ToJson(job));
  } else {
    std::cout << "\n" << DescribeJob(job, tasks);
  }
  return job.state() == model::JOB_SUCCEEDED
             ? kExitOk
             : ExitCodeFor(Status(static_cast<Code>(job.error_code()), job.error()));
}

}  // namespace

void AddJobCommands(CLI::App& app, GlobalOptions& global, ApiArgs& a, int* exit_code) {
  CLI::App* jobs = app.add_subcommand("jobs", "Jobs: list, show, logs, resume, cancel");
  jobs->require_subcommand(1);

  static ListArgs list_args;
  CLI::App* list = jobs->add_subcommand("list", "List jobs, oldest first");
  AddListFlags(list, list_args, /*events=*/false);
  list->footer(
      "Examples:\n  lifeboat jobs list --service sales --state failed,parked --since 7d\n"
      "  lifeboat jobs list --limit 5 -o json");
  list->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body,
                                s.client->Call("GET", "/v1/jobs" + Query(list_args, false)));
      LIFEBOAT_ASSIGN_OR_RETURN(auto list, ListFromJson<model::Job>(body, "jobs"));
      if (Structured(global)) {
        PrintStructured(global, ToJsonList(list));
      } else {
        PrintJobTable(list);
      }
      return kExitOk;
    });
  });

  static std::string job_id;
  static bool watch = false;
  CLI::App* show = jobs->add_subcommand("show", "Describe a job: times, transfer, tasks, steps");
  show->add_option("JOB", job_id)->required();
  show->add_flag("-w,--watch", watch,
                 "Follow the job until it ends (a line per change), then exit with its code");
  show->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      return ShowJob(s, global, job_id, watch);
    });
  });

  CLI::App* logs = jobs->add_subcommand("logs", "A job's log lines and its events");
  logs->add_option("JOB", job_id)->required();
  logs->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/jobs/" + Seg(job_id)));
      model::Job job;
      LIFEBOAT_RETURN_IF_ERROR(FromJson(body.value("job", json::object()), &job));
      LIFEBOAT_ASSIGN_OR_RETURN(json ev, s.client->Call("GET", "/v1/events?job=" + Seg(job_id)));
      LIFEBOAT_ASSIGN_OR_RETURN(auto events, ListFromJson<model::Event>(ev, "events"));
      if (Structured(global)) {
        PrintStructured(
            global, {{"job_id", job.id()},
                     {"log", json(std::vector<std::string>(job.log().begin(), job.log().end()))},
                     {"events", ToJsonList(events)}});
        return kExitOk;
      }
      for (const auto& line : job.log()) std::cout << line << "\n";
      for (const auto& e : events) {
        std::cout << Time(e.time_unix_nanos()) << " " << e.severity() << " " << e.kind() << ": "
                  << e.message() << "\n";
      }
      if (job.log_size() == 0 && events.empty())
        std::cerr << "job " << job.id() << " logged nothing\n";
      return kExitOk;
    });
  });

  CLI::App* resume = jobs->add_subcommand(
      "resume", "Resume unfinished jobs (after a crash), or one job (also a parked one)");
  resume->add_option("JOB", job_id);
  resume->footer(
      "A cancelled, failed or succeeded job has ended and is not resumed (exit 4); run its\n"
      "policy or restore again instead.");
  resume->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      if (!job_id.empty()) {
        const std::string target = "/v1/jobs/" + Seg(job_id);
        auto r = s.client->Call("POST", target + "/resume");
        // ALREADY_EXISTS: it runs already (on the daemon); follow it all the same. An ended
        // job is refused by the server (FAILED_PRECONDITION, exit 4) with what to do.
        if (!r.ok() && r.status().code() != Code::kAlreadyExists) return r.status();
        return FollowJob(*s.client, job_id, global);
      }
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("POST", "/v1/jobs/resume"));
      std::vector<std::string> ids;
      for (const auto& id : body.value("job_ids", json::array())) ids.push_back(id);
      if (ids.empty() && !Structured(global)) {
        std::cout << "no unfinished jobs\n";
        return kExitOk;
      }
      int rc = kExitOk;
      std::vector<model::Job> done;
      for (const auto& id : ids) {
        LIFEBOAT_ASSIGN_OR_RETURN(model::Job j, WaitForJob(*s.client, id, nullptr));
        if (!Structured(global)) {
          std::cout << id << " " << Short(model::JobState_Name(j.state()), "JOB_") << "\n";
        }
        if (j.state() != model::JOB_SUCCEEDED) rc = kExitFailure;
        done.push_back(std::move(j));
      }
      if (Structured(global)) PrintStructured(global, ToJsonList(done));
      return rc;
    });
  });

  CLI::App* cancel = jobs->add_subcommand("cancel", "Cancel a job; its partial work is cleaned up");
  cancel->add_option("JOB", job_id)->required();
  cancel->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_RETURN_IF_ERROR(
          s.client->Call("POST", "/v1/jobs/" + Seg(job_id) + "/cancel").status());
      LIFEBOAT_ASSIGN_OR_RETURN(model::Job j, WaitForJob(*s.client, job_id, nullptr));
      if (Structured(global)) {
        PrintStructured(global, ToJson(j));
      } else {
        std::cout << j.id() << " " << Short(model::JobState_Name(j.state()), "JOB_") << "\n";
        if (j.state() == model::JOB_CANCELLED) std::cout << "  " << j.error() << "\n";
      }
      return j.state() == model::JOB_CANCELLED ? kExitOk : JobExitCode(j);
    });
  });

  static ListArgs event_args;
  CLI::App* events = app.add_subcommand("events", "Events: RPO breaches, failed jobs, full copies");
  AddListFlags(events, event_args, /*events=*/true);
  events->footer(
      "Examples:\n  lifeboat events --severity warning,critical --since 1d\n"
      "  lifeboat events --service sales --kind job_failed,rpo_breach");
  events->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body,
                                s.client->Call("GET", "/v1/events" + Query(event_args, true)));
      LIFEBOAT_ASSIGN_OR_RETURN(auto list, ListFromJson<model::Event>(body, "events"));
      if (Structured(global)) {
        PrintStructured(global, ToJsonList(list));
        return kExitOk;
      }
      for (const auto& e : list) {
        std::cout << Time(e.time_unix_nanos()) << " " << e.severity() << " "
                  << (e.service().empty() ? "-" : e.service()) << " " << e.kind() << ": "
                  << e.message() << "\n";
      }
      return kExitOk;
    });
  });

  static ListArgs audit_args;
  CLI::App* audit = app.add_subcommand("audit", "The audit trail: who changed what, when (admin)");
  audit->add_option("--since", audit_args.since,
                    "Only since a time (2026-11-25T09:45:00Z) or an age (30m, 12h, 7d)");
  audit->add_option("--limit", audit_args.limit, "Only the newest N")->check(CLI::Range(1, 100000));
  audit->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      std::string q;
      if (!audit_args.since.empty()) q += "?since=" + Seg(audit_args.since);
      if (audit_args.limit > 0) {
        q += (q.empty() ? "?" : "&") + std::string("limit=") + std::to_string(audit_args.limit);
      }
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/audit" + q));
      LIFEBOAT_ASSIGN_OR_RETURN(auto list, ListFromJson<model::AuditEvent>(body, "audit"));
      if (Structured(global)) {
        PrintStructured(global, ToJsonList(list));
        return kExitOk;
      }
      std::printf("%-20s %-14s %-22s %-24s %s\n", "TIME (UTC)", "ACTOR", "ACTION", "SUBJECT",
                  "DETAIL");
      for (const auto& e : list) {
        std::printf("%-20s %-14s %-22s %-24s %s\n", Time(e.time_unix_nanos()).c_str(),
                    e.actor().c_str(), e.action().c_str(),
                    e.subject().empty() ? "-" : e.subject().c_str(), e.detail().c_str());
      }
      return kExitOk;
    });
  });
}

}  // namespace lifeboat::cli
