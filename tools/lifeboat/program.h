// What the service programs (lifeboatd, lifeboat-agent) share around their own work: the
// stderr logger, --log-level, and parse → check flags → run → exit code.
//
// Thread-safety: call from main() only.
#ifndef LIFEBOAT_TOOLS_PROGRAM_H_
#define LIFEBOAT_TOOLS_PROGRAM_H_

#include <lifeboat/status.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace lifeboat::cli {

// Logs to stderr as `program`, at info until --log-level says otherwise (the option is added
// to `app`).
void SetUpServiceLogging(CLI::App& app, const char* program);

// Parses the command line (exit 0 for --help, 2 for a bad one), then `check` (a failure is
// bad usage: exit 2), then `run`, whose failure is printed as "<program>: error: ..." and
// exits with its code (cli.h).
int ParseAndRun(CLI::App& app, int argc, char** argv, const char* program,
                const std::function<Status()>& check, const std::function<StatusOr<int>()>& run);

// The trusted plugin directory when none is given: <prefix>/<libdir>/lifeboat/plugins next to
// an installed program (`cmake --install`), else `build_tree_dir` (the build's own plugins).
std::string DefaultPluginDir(const char* build_tree_dir, const char* installed_relative_dir);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_PROGRAM_H_
