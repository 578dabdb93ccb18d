// lifeboat: the command line of Lifeboat.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli.h"
#include "program.h"

int main(int argc, char** argv) {
  using namespace lifeboat::cli;
  // Logs of the host and of plugins go to stderr, so that stdout carries only the answer
  // (a table, or JSON that a script parses).
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "lifeboat", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  CLI::App app{
      "lifeboat - consistent restore points across HDFS, Hive, HBase and Kafka, replicated\n"
      "to a secondary cluster.\n\n"
      "Exit codes: 0 done, 1 failed, 2 bad usage, 3 not found, 4 refused,\n"
      "            5 verification found a difference, 6 RPO breached, 130 interrupted."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lifeboat ") + LIFEBOAT_VERSION);
  GlobalOptions global;
  global.plugin_dirs.push_back(
      DefaultPluginDir(LIFEBOAT_DEFAULT_PLUGIN_DIR, LIFEBOAT_INSTALL_PLUGIN_DIR));
  app.add_option("--plugin-dir", global.plugin_dirs,
                 "Trusted plugin directory (repeatable; default: this build's plugins)")
      ->capture_default_str();
  app.add_option("-o,--output", global.output,
                 "Output format: text, or json / yaml (the records as the API returns them)")
      ->check(CLI::IsMember({"text", "json", "yaml"}))
      ->capture_default_str();
  // Plugins' and the host's own log lines are for diagnosis; the command's output says
  // what happened. --log-level info shows them.
  spdlog::set_level(spdlog::level::warn);
  app.add_option_function<std::string>(
         "--log-level",
         [](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); },
         "Log level of the host and plugins: trace, debug, info, warn (default), error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.fallthrough();
  int exit_code = kExitOk;
  AddPluginsCommands(app, global, &exit_code);
  AddEngineCommands(app, global, &exit_code);
  AddCompletionCommand(app, &exit_code);  // last: it lists the commands added before it
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}
