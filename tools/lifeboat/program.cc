#include "program.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <system_error>

#include "cli.h"

namespace lifeboat::cli {

void SetUpServiceLogging(CLI::App& app, const char* program) {
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      program, std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  spdlog::set_level(spdlog::level::info);
  app.add_option_function<std::string>(
         "--log-level",
         [](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); },
         "trace, debug, info (default), warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

int ParseAndRun(CLI::App& app, int argc, char** argv, const char* program,
                const std::function<Status()>& check, const std::function<StatusOr<int>()>& run) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (Status bad = check(); !bad.ok()) {
    std::cerr << program << ": error: " << bad.ToString() << "\n";
    return kExitUsage;
  }
  StatusOr<int> rc = run();
  if (!rc.ok()) {
    std::cerr << program << ": error: " << rc.status().ToString() << "\n";
    return ExitCodeFor(rc.status());
  }
  return *rc;
}

std::string DefaultPluginDir(const char* build_tree_dir, const char* installed_relative_dir) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // <prefix>/bin/lifeboat -> <prefix>/<libdir>/lifeboat/plugins
    const std::filesystem::path installed =
        exe.parent_path().parent_path() / installed_relative_dir;
    if (std::filesystem::is_directory(installed, ec)) return installed.string();
  }
  return build_tree_dir;
}

}  // namespace lifeboat::cli
