// Shared pieces of the lifeboat command line: exit codes and the subcommand registrars.
#ifndef LIFEBOAT_TOOLS_CLI_H_
#define LIFEBOAT_TOOLS_CLI_H_

#include <lifeboat/status.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace lifeboat::cli {

// Exit codes scripts can rely on (also listed by `lifeboat --help`).
enum ExitCode : int {
  kExitOk = 0,            // everything asked for was done
  kExitFailure = 1,       // the operation failed; the message says why
  kExitUsage = 2,         // bad usage or bad input: a command line, file or value that is wrong
  kExitNotFound = 3,      // a named service, policy, job, plugin or restore point does not exist
  kExitRefused = 4,       // refused: the state does not allow it now, or the caller may not
  kExitVerifyFailed = 5,  // verification found a difference
  kExitRpoBreached = 6,   // `service status`: a service's RPO is breached
  kExitCancelled = 130,   // interrupted (Ctrl-C)
};

// Maps a failed Status to the exit code above.
int ExitCodeFor(const Status& status);

// Options shared by every command.
struct GlobalOptions {
  std::vector<std::filesystem::path> plugin_dirs;  // trusted plugin directories
  std::string output = "text";                     // "text", "json" or "yaml"
};

// Each registrar adds its subcommands to `app`; the callback stores the exit code in
// `*exit_code`.
void AddPluginsCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddEngineCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
// `lifeboat completion bash|zsh`, made from the commands registered on `app` so far.
void AddCompletionCommand(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_CLI_H_
