// How a command reaches Lifeboat: through the API, in-process on --state-dir (the default;
// the engine is opened here and the caller is the local admin) or over HTTP(S) to a running
// `lifeboat daemon --listen` (--server URL, with a token from --token-file or LIFEBOAT_TOKEN).
// Both go through the same ApiHandler.
//
// Thread-safety: one command, one thread (the signal flag aside).
#ifndef LIFEBOAT_TOOLS_API_SESSION_H_
#define LIFEBOAT_TOOLS_API_SESSION_H_

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/api/client.h>
#include <lifeboat/core/engine.h>
#include <lifeboat/core/v1/model.pb.h>

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"

namespace lifeboat::cli {

namespace model = ::lifeboat::core::v1;

struct ApiArgs {
  std::string state_dir = ".lifeboat";
  std::string server;           // "" = in-process on state_dir
  std::string token_file;       // the token, for --server
  std::string ca_file;          // PEM CA bundle for an https:// server
  bool public_metrics = false;  // in-process handler: /metrics without a token (daemon)
  // The in-process engine's (`lifeboat daemon` sets them from its flags).
  std::vector<std::string> webhooks;
  int64_t health_interval_millis = 5000;
  int max_concurrent_jobs = 4;
  // The --state-dir option: not given (nor LIFEBOAT_STATE_DIR), the state directory used is
  // announced on stderr.
  const CLI::Option* state_dir_option = nullptr;
};

// One command's way in. Members are destroyed client first, engine last.
struct Session {
  std::unique_ptr<core::Engine> engine;            // in-process only
  std::unique_ptr<core::api::ApiHandler> handler;  // in-process only
  std::unique_ptr<core::api::ApiClient> client;
  bool remote = false;
};

// Opens the session the arguments ask for. In-process: FAILED_PRECONDITION when another
// process holds the state directory. Remote: INVALID_ARGUMENT for a bad URL, NOT_FOUND for a
// missing token file; no request is sent yet.
StatusOr<std::unique_ptr<Session>> OpenSession(const GlobalOptions& global, const ApiArgs& args);

// Set by SIGINT/SIGTERM once InstallStopHandlers() ran.
extern std::atomic<bool> g_stop;
void InstallStopHandlers();

// Prints "error: ..." and returns the exit code of `s`.
int Fail(const Status& s);

// Connects, runs `body` and returns its exit code, or the failure's.
int WithApi(const GlobalOptions& global, const ApiArgs& args,
            const std::function<StatusOr<int>(Session&)>& body);

// A protobuf message from its JSON (unknown fields ignored: a newer server may add some).
Status FromJson(const nlohmann::json& j, google::protobuf::Message* out);
template <typename M>
StatusOr<std::vector<M>> ListFromJson(const nlohmann::json& body, const char* key) {
  std::vector<M> out;
  if (!body.is_object() || !body.contains(key) || !body[key].is_array()) {
    return Status(Code::kInternal, std::string("the answer has no list '") + key + "'");
  }
  for (const auto& item : body[key]) {
    M m;
    LIFEBOAT_RETURN_IF_ERROR(FromJson(item, &m));
    out.push_back(std::move(m));
  }
  return out;
}

// "2026-11-25T09:45:00Z", or "-" for 0.
std::string Time(int64_t unix_nanos);
// "JOB_SUCCEEDED" -> "succeeded".
std::string Short(const std::string& enum_name, const std::string& prefix);
// A path segment for a target.
inline std::string Seg(const std::string& s) { return core::api::UrlEncode(s); }

// Follows a job by polling GET /v1/jobs/{id} until it ends; `on_progress` sees the job's
// record and its live progress (the "progress" object of the answer) on each poll. The first
// SIGINT/SIGTERM asks the server to cancel the job (and keeps waiting for it to end).
// FAILED_PRECONDITION when the job is recorded unfinished but no engine runs it.
StatusOr<model::Job> WaitForJob(
    core::api::ApiClient& client, const std::string& job_id,
    const std::function<void(const model::Job&, const nlohmann::json&)>& on_progress);

// Follows a job with a progress bar on stderr, prints its outcome (with -o json/yaml the
// job record; else its state, a restore's changes per data set, and its log lines — a
// restore's items only with `details`), and returns the exit code: 0 when it succeeded,
// 130 when cancelled, else the code of its error.
StatusOr<int> FollowJob(core::api::ApiClient& client, const std::string& job_id,
                        const GlobalOptions& global, bool details = false);
// The exit code of an ended job, printing its error (if any) to stderr.
int JobExitCode(const model::Job& job);

// `lifeboat token create | list | revoke`.
// `lifeboat failover | failback | roles | endpoints | doctor`.
void AddSwitchCommands(CLI::App& app, GlobalOptions& global, ApiArgs& args, int* exit_code);
void AddTokenCommands(CLI::App& app, GlobalOptions& global, ApiArgs& args, int* exit_code);
// `lifeboat apply | delete | cluster | service list, delete | points delete` (after the
// engine's `service` and `points` exist).
void AddConfigCommands(CLI::App& app, GlobalOptions& global, ApiArgs& args, int* exit_code);
// `lifeboat jobs list | show | logs | resume | cancel`, `events`, `audit`.
void AddJobCommands(CLI::App& app, GlobalOptions& global, ApiArgs& args, int* exit_code);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_API_SESSION_H_
