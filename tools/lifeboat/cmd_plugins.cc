// `lifeboat plugins list | check`: what the plugin host would load, and why not.
#include <lifeboat/core/plugin_host.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "output.h"

namespace lifeboat::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "CAP_CUT_AT_TIME" -> "cut_at_time", as in manifests.
std::string CapabilityName(int value) {
  std::string name = v1::Capability_Name(static_cast<v1::Capability>(value));
  if (name.empty()) return "capability_" + std::to_string(value);
  if (name.rfind("CAP_", 0) == 0) name = name.substr(4);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::vector<std::string> Capabilities(const v1::PluginDescriptor& d) {
  std::vector<std::string> out;
  for (int c : d.capabilities()) out.push_back(CapabilityName(c));
  return out;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string Abi(const v1::PluginDescriptor& d) {
  return std::to_string(d.abi_major()) + "." + std::to_string(d.abi_minor());
}

json ReportJson(const core::LoadReport& r) {
  json j = {{"path", r.path.string()}, {"name", r.name}};
  if (r.status.ok()) {
    const v1::PluginDescriptor& d = r.descriptor;
    j["status"] = "loaded";
    j["version"] = d.version();
    j["component"] = d.component();
    j["capabilities"] = Capabilities(d);
    j["abi"] = Abi(d);
    j["sdk_version"] = d.sdk_version();
    j["config_type"] = d.config_type();
    j["description"] = d.description();
  } else {
    j["status"] = "refused";
    j["code"] = CodeName(r.status.code());
    j["reason"] = r.status.message();
  }
  return j;
}

// Prints rows as columns padded to the widest cell.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

int RunList(const GlobalOptions& global) {
  core::PluginHost host(global.plugin_dirs);
  std::vector<core::LoadReport> reports = host.LoadAll();
  const bool all_loaded = std::all_of(reports.begin(), reports.end(),
                                      [](const core::LoadReport& r) { return r.status.ok(); });

  if (Structured(global)) {
    json out = json::array();
    for (const auto& r : reports) out.push_back(ReportJson(r));
    PrintStructured(global, out);
    return all_loaded ? kExitOk : kExitRefused;
  }

  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "COMPONENT", "CAPABILITIES", "ABI", "PATH"}};
  std::vector<const core::LoadReport*> refused;
  for (const auto& r : reports) {
    if (!r.status.ok()) {
      refused.push_back(&r);
      continue;
    }
    const v1::PluginDescriptor& d = r.descriptor;
    std::string caps = Join(Capabilities(d), ",");
    rows.push_back(
        {d.name(), d.version(), d.component(), caps.empty() ? "-" : caps, Abi(d), r.path.string()});
  }
  if (rows.size() > 1) {
    PrintTable(rows);
  } else {
    std::vector<std::string> dirs;
    for (const auto& d : global.plugin_dirs) dirs.push_back(d.string());
    std::cout << "No plugin loaded from " << Join(dirs, ", ") << ".\n";
  }
  if (!refused.empty()) {
    std::cout << "\nREFUSED (" << refused.size() << "):\n";
    for (const core::LoadReport* r : refused) {
      std::cout << "  " << r->path.string() << "\n    " << CodeName(r->status.code()) << ": "
                << r->status.message() << "\n";
    }
  }
  return all_loaded ? kExitOk : kExitRefused;
}

int RunCheck(const GlobalOptions& global, const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  core::LoadReport r = core::PluginHost::Check(ec ? path : absolute);

  if (Structured(global)) {
    PrintStructured(global, ReportJson(r));
    return r.status.ok() ? kExitOk : kExitRefused;
  }
  if (!r.status.ok()) {
    std::cout << "REFUSED " << r.path.string() << "\n  " << CodeName(r.status.code()) << ": "
              << r.status.message() << "\n";
    return kExitRefused;
  }
  const v1::PluginDescriptor& d = r.descriptor;
  std::string caps = Join(Capabilities(d), ", ");
  std::cout << "OK " << d.name() << " " << d.version() << " would load from " << r.path.string()
            << "\n"
            << "  component:    " << d.component() << "\n"
            << "  ABI:          " << Abi(d) << " (host " << LIFEBOAT_ABI_MAJOR << "."
            << LIFEBOAT_ABI_MINOR << ")\n"
            << "  capabilities: " << (caps.empty() ? "-" : caps) << "\n";
  if (!d.config_type().empty()) std::cout << "  config type:  " << d.config_type() << "\n";
  if (!d.sdk_version().empty()) std::cout << "  SDK:          " << d.sdk_version() << "\n";
  if (!d.description().empty()) std::cout << "  description:  " << d.description() << "\n";
  return kExitOk;
}

}  // namespace

void AddPluginsCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  CLI::App* plugins = app.add_subcommand("plugins", "List and check component plugins");
  plugins->require_subcommand(1);
  plugins->fallthrough();
  plugins->footer(
      "Plugins are loaded only from trusted directories (--plugin-dir), and only when the\n"
      "library's SHA-256 matches its <name>.plugin.json manifest and its ABI fits this host.\n\n"
      "Examples:\n"
      "  lifeboat plugins list\n"
      "  lifeboat plugins check /opt/lifeboat/plugins/acme.plugin.json");

  CLI::App* list = plugins->add_subcommand(
      "list",
      "Load every plugin of the trusted directories; show what loaded and what was "
      "refused, and why");
  list->fallthrough();
  list->footer(
      "Exit codes: 0 every plugin loaded, 4 at least one was refused.\n\n"
      "Examples:\n"
      "  lifeboat plugins list\n"
      "  lifeboat --plugin-dir /opt/lifeboat/plugins plugins list\n"
      "  lifeboat plugins list --output json   # one object per plugin, with \"status\"");
  list->callback([&global, exit_code] { *exit_code = RunList(global); });

  auto path = std::make_shared<std::string>();
  CLI::App* check = plugins->add_subcommand(
      "check", "Check one plugin (its manifest, hash, ABI and descriptor) without registering it");
  check->fallthrough();
  check->add_option("PATH", *path, "A plugin manifest (*.plugin.json) or a plugin library")
      ->required();
  check->footer(
      "The plugin need not be in a trusted directory: check is how to vet one before\n"
      "installing it. Exit codes: 0 it would load, 4 it would be refused.\n\n"
      "Examples:\n"
      "  lifeboat plugins check build/plugins/localfs.plugin.json\n"
      "  lifeboat plugins check ./liblifeboat_acme.so\n"
      "  lifeboat plugins check acme.plugin.json --output json");
  check->callback([&global, exit_code, path] { *exit_code = RunCheck(global, *path); });
}

}  // namespace lifeboat::cli
