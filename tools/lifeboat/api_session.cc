#include "api_session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "describe.h"
#include "output.h"
#include "progress.h"

namespace lifeboat::cli {

namespace api = ::lifeboat::core::api;
using nlohmann::json;

std::atomic<bool> g_stop{false};

namespace {

extern "C" void OnStop(int) { g_stop = true; }

bool Ended(model::JobState s) {
  return s == model::JOB_SUCCEEDED || s == model::JOB_FAILED || s == model::JOB_CANCELLED ||
         s == model::JOB_SKIPPED;
}

StatusOr<std::string> ReadToken(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return NotFoundError("token file " + path + " cannot be read (" + std::strerror(errno) + ")");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    std::cerr << "warning: token file " << path << " is readable by others; `chmod 600 " << path
              << "`\n";
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) {
    token.erase(0, 1);
  }
  if (token.empty()) return InvalidArgumentError("token file " + path + " is empty");
  return token;
}

}  // namespace

void InstallStopHandlers() {
  std::signal(SIGINT, OnStop);
  std::signal(SIGTERM, OnStop);
}

int Fail(const Status& s) {
  std::cerr << "error: " << s.ToString() << "\n";
  return ExitCodeFor(s);
}

StatusOr<std::unique_ptr<Session>> OpenSession(const GlobalOptions& global, const ApiArgs& args) {
  auto session = std::make_unique<Session>();
  if (!args.server.empty()) {
    api::HttpTransportOptions o;
    o.base_url = args.server;
    o.ca_file = args.ca_file;
    if (!args.token_file.empty()) {
      LIFEBOAT_ASSIGN_OR_RETURN(o.token, ReadToken(args.token_file));
    } else if (const char* env = std::getenv("LIFEBOAT_TOKEN"); env != nullptr) {
      o.token = env;
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto transport, api::HttpTransport::Create(std::move(o)));
    session->client = std::make_unique<api::ApiClient>(std::move(transport));
    session->remote = true;
    return session;
  }
  if (args.state_dir_option != nullptr && args.state_dir_option->count() == 0) {
    // Not chosen: say where the state is, rather than silently making ./.lifeboat.
    std::error_code ec;
    const std::filesystem::path where = std::filesystem::absolute(args.state_dir, ec);
    const bool exists = std::filesystem::exists(where, ec);
    std::cerr << "lifeboat: " << (exists ? "using the state in " : "making a new state in ")
              << (ec ? args.state_dir : where.string())
              << " (choose with --state-dir or LIFEBOAT_STATE_DIR)\n";
  }
  core::EngineOptions o;
  o.state_dir = args.state_dir;
  o.plugin_dirs = global.plugin_dirs;
  o.webhooks = args.webhooks;
  o.health_interval_millis = args.health_interval_millis;
  o.max_concurrent_jobs = args.max_concurrent_jobs;
  LIFEBOAT_ASSIGN_OR_RETURN(session->engine, core::Engine::Open(o));
  api::ApiOptions handler_options;
  handler_options.public_metrics = args.public_metrics;
  session->handler = std::make_unique<api::ApiHandler>(*session->engine, handler_options);
  session->client = std::make_unique<api::ApiClient>(
      std::make_unique<api::InProcessTransport>(*session->handler));
  return session;
}

int WithApi(const GlobalOptions& global, const ApiArgs& args,
            const std::function<StatusOr<int>(Session&)>& body) {
  auto session = OpenSession(global, args);
  if (!session.ok()) return Fail(session.status());
  StatusOr<int> rc = body(**session);
  return rc.ok() ? *rc : Fail(rc.status());
}

Status FromJson(const json& j, google::protobuf::Message* out) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto s = google::protobuf::util::JsonStringToMessage(
      j.dump(-1, ' ', false, json::error_handler_t::replace), out, opts);
  if (!s.ok()) {
    return Status(Code::kInternal, "the answer does not parse as " + out->GetTypeName() + ": " +
                                       std::string(s.message()));
  }
  return OkStatus();
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

StatusOr<model::Job> WaitForJob(
    api::ApiClient& client, const std::string& job_id,
    const std::function<void(const model::Job&, const json&)>& on_progress) {
  InstallStopHandlers();
  const std::string target = "/v1/jobs/" + Seg(job_id);
  // Without the tasks: a poll every 100 ms must not cost what the job's plan weighs.
  const std::string poll = target + "?tasks=false";
  bool cancel_sent = false;
  int idle_polls = 0;
  for (;;) {
    if (g_stop && !cancel_sent) {
      cancel_sent = true;
      auto r = client.Call("POST", target + "/cancel");
      // FAILED_PRECONDITION: it ended meanwhile; the next poll shows how.
      if (!r.ok() && r.status().code() != Code::kFailedPrecondition) return r.status();
    }
    LIFEBOAT_ASSIGN_OR_RETURN(json detail, client.Call("GET", poll));
    model::Job job;
    LIFEBOAT_RETURN_IF_ERROR(FromJson(detail.value("job", json::object()), &job));
    const bool live = detail.value("live", false);
    if (on_progress && detail.contains("progress")) on_progress(job, detail["progress"]);
    if (Ended(job.state())) return job;
    if (!live) {
      // Parked: it waits for an operator. Unfinished yet run by nobody: the record was read
      // just before the job ended and left the executor, or nobody will run it; read twice.
      if (job.state() == model::JOB_PARKED) return job;
      if (++idle_polls >= 2) {
        return FailedPreconditionError(
            "job " + job_id + " is " + Short(model::JobState_Name(job.state()), "JOB_") +
            " but no engine runs it; `lifeboat jobs resume " + job_id + "` runs it");
      }
      continue;
    }
    idle_polls = 0;
    for (int i = 0; i < 10 && !(g_stop && !cancel_sent); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

int JobExitCode(const model::Job& job) {
  if (job.state() == model::JOB_SUCCEEDED) return kExitOk;
  Status s(static_cast<Code>(job.error_code()), job.error());
  if (job.error_code() == 0) {
    s = Status(Code::kUnknown,
               "job " + job.id() + " ended " + Short(model::JobState_Name(job.state()), "JOB_"));
  }
  // The job's error already reads "CODE: message".
  std::cerr << "error: " << (job.error().empty() ? s.ToString() : job.error()) << "\n";
  return ExitCodeFor(s);
}

StatusOr<int> FollowJob(api::ApiClient& client, const std::string& job_id,
                        const GlobalOptions& global, bool details) {
  std::unique_ptr<ProgressBar> bar;
  model::Phase shown = model::PHASE_UNSPECIFIED;
  uint64_t bytes_total = 0, items_total = 0;
  // Phases go to stderr with the bar: stdout carries only the answer.
  auto print = [](model::Phase phase) {
    if (phase != model::PHASE_PLAN && phase != model::PHASE_TRANSFER &&
        phase != model::PHASE_DONE && phase != model::PHASE_UNSPECIFIED) {
      std::cerr << Short(model::Phase_Name(phase), "PHASE_") << "\n";
    }
  };
  // Polling may miss a short phase; a backup goes through them in order, so the ones between
  // two that were seen happened, and are shown too. Leaving the transfer means it completed.
  auto enter = [&](const model::Job& job, model::Phase phase) {
    if (phase == shown) return;
    if (bar) {
      if (phase > model::PHASE_TRANSFER) bar->Update(bytes_total, items_total);
      bar->Finish(/*completed=*/phase > model::PHASE_TRANSFER);
      bar.reset();
    }
    if (job.kind() == model::JOB_BACKUP && shown != model::PHASE_UNSPECIFIED && phase > shown) {
      for (int p = shown + 1; p < phase; ++p) print(static_cast<model::Phase>(p));
    }
    print(phase);
    shown = phase;
  };
  auto job = WaitForJob(client, job_id, [&](const model::Job& record, const json& p) {
    model::Phase phase = model::PHASE_UNSPECIFIED;
    model::Phase_Parse(p.value("phase", ""), &phase);
    // Queued, or not yet reported: it is where its record says (PLAN for a new backup).
    if (phase == model::PHASE_UNSPECIFIED) phase = record.phase();
    bytes_total = p.value("bytes_total", uint64_t{0});
    items_total = p.value("items_total", uint64_t{0});
    enter(record, phase);
    // The transfer's bar appears once its totals are known (after planning).
    if (!bar && phase == model::PHASE_TRANSFER && (bytes_total > 0 || items_total > 0)) {
      bar = std::make_unique<ProgressBar>(stderr, ::isatty(STDERR_FILENO) != 0, "transfer",
                                          bytes_total, items_total);
    }
    if (bar) {
      bar->SetTotals(bytes_total, items_total);
      bar->Update(p.value("bytes_done", uint64_t{0}), p.value("items_done", uint64_t{0}));
    }
  });
  if (job.ok() && job->state() == model::JOB_SUCCEEDED) enter(*job, job->phase());
  // Cut short (cancelled, failed): the bar says where the transfer stopped, never 100%.
  if (bar) bar->Finish(/*completed=*/job.ok() && job->state() == model::JOB_SUCCEEDED);
  if (!job.ok()) return job.status();
  if (Structured(global)) {
    PrintStructured(global, ToJson(*job));
    return JobExitCode(*job);
  }
  std::cout << job->id() << " " << Short(model::JobState_Name(job->state()), "JOB_")
            << (IsDryRunJob(*job) ? " (dry run)" : "");
  if (!job->restore_point_id().empty()) std::cout << " " << job->restore_point_id();
  std::cout << "\n";
  if (job->changes_size() > 0) {
    // A restore: the summary per data set; the items (its log) only when asked for.
    std::cout << (IsDryRunJob(*job) ? "would change:\n" : "changed:\n") << DryRunSummary(*job);
    if (!details && job->log_size() > 0) {
      std::cout << "(the " << job->log_size() << (job->log_size() >= 200 ? " newest" : "")
                << " lines of detail: --details)\n";
    }
  }
  if (job->changes_size() == 0 || details) {
    for (const auto& line : job->log()) std::cout << "  " << line << "\n";
  }
  return JobExitCode(*job);
}

}  // namespace lifeboat::cli
