// The configuration's commands: apply (and its dry run), delete -f, cluster list | delete,
// service list | delete, points delete. Each goes through the API (api_session.h).
#include <lifeboat/core/policy_yaml.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "api_session.h"
#include "output.h"

namespace lifeboat::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kStdin = "(stdin)";

Status TooLarge(const std::string& name, uint64_t size) {
  return InvalidArgumentError(
      name + ": " + std::to_string(size) + " bytes is too large for a policy file (the limit is " +
      std::to_string(core::kMaxYamlFileBytes) + " bytes, 16 MiB); is this the file you meant?");
}

// Reads up to the limit; past it, refuses without reading the rest.
StatusOr<std::string> ReadBounded(std::istream& in, const std::string& name) {
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > core::kMaxYamlFileBytes) return TooLarge(name, text.size());
  }
  if (in.bad()) return UnavailableError(name + ": read failed");
  return text;
}

StatusOr<std::string> ReadYamlFile(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  // Checked before reading: a mistaken path (a log, an image) is not read into memory.
  if (!ec && size > core::kMaxYamlFileBytes) return TooLarge(path, size);
  std::ifstream in(path, std::ios::binary);
  if (!in) return PermissionDeniedError(path + ": cannot be read");
  return ReadBounded(in, path);
}

// The YAML texts that -f names, each with the name its errors use: a file; "-", standard
// input; a directory, each *.yaml and *.yml file in it (not below), in name order.
StatusOr<json> ReadInputs(const std::vector<std::string>& args) {
  json files = json::array();
  bool stdin_read = false;
  std::map<fs::path, std::string> seen;  // canonical path -> as named
  auto add = [&](const std::string& name, std::string text) {
    files.push_back({{"name", name}, {"yaml", std::move(text)}});
  };
  // A file named twice (a.yaml, and again through its directory) is one mistake, said once.
  auto once = [&](const std::string& name) -> Status {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(name, ec);
    if (ec) canonical = name;
    auto [first, inserted] = seen.emplace(canonical, name);
    if (inserted) return OkStatus();
    return InvalidArgumentError(name + ": given twice (also as " + first->second +
                                "); each file is applied once");
  };
  for (const std::string& arg : args) {
    if (arg == "-") {
      if (stdin_read)
        return InvalidArgumentError("-f - is given twice; standard input is read once");
      stdin_read = true;
      LIFEBOAT_ASSIGN_OR_RETURN(std::string text, ReadBounded(std::cin, kStdin));
      add(kStdin, std::move(text));
      continue;
    }
    std::error_code ec;
    const fs::file_status st = fs::status(arg, ec);
    if (st.type() == fs::file_type::not_found) {
      return NotFoundError(arg + ": no such file or directory");
    }
    if (ec) return UnavailableError(arg + ": " + ec.message());
    if (!fs::is_directory(st)) {
      LIFEBOAT_RETURN_IF_ERROR(once(arg));
      LIFEBOAT_ASSIGN_OR_RETURN(std::string text, ReadYamlFile(arg));
      add(arg, std::move(text));
      continue;
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(arg, ec)) {
      const std::string ext = entry.path().extension().string();
      if ((ext == ".yaml" || ext == ".yml") && entry.is_regular_file()) {
        names.push_back(entry.path().string());
      }
    }
    if (ec) return UnavailableError(arg + ": cannot list: " + ec.message());
    if (names.empty()) {
      return InvalidArgumentError(arg +
                                  ": holds no *.yaml or *.yml file (subdirectories are "
                                  "not read)");
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      LIFEBOAT_RETURN_IF_ERROR(once(name));
      LIFEBOAT_ASSIGN_OR_RETURN(std::string text, ReadYamlFile(name));
      add(name, std::move(text));
    }
  }
  return files;
}

void PrintLines(const json& body) {
  for (const auto& line : body.value("results", json::array())) {
    std::cout << line.get<std::string>() << "\n";
  }
}

// "?dry_run=true&force=false"
std::string Flags(bool dry_run, bool force) {
  return std::string("?dry_run=") + (dry_run ? "true" : "false") +
         "&force=" + (force ? "true" : "false");
}

std::string JsonNumber(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// A delete's flags and its callback: `path` is the API target without the query.
void AddDelete(CLI::App* cmd, const GlobalOptions& global, ApiArgs& a, int* exit_code,
               std::function<std::string()> path, bool* dry_run, bool* force) {
  cmd->add_flag("--dry-run", *dry_run,
                "Say what would be deleted and what would stay; delete nothing");
  cmd->add_flag("--force", *force, "Delete although the refusal named what would be lost");
  cmd->callback([&global, &a, exit_code, path, dry_run, force] {
    *exit_code = WithApi(global, a, [&](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body,
                                s.client->Call("DELETE", path() + Flags(*dry_run, *force)));
      if (Structured(global)) {
        PrintStructured(global, body);
      } else {
        PrintLines(body);
      }
      return kExitOk;
    });
  });
}

}  // namespace

void AddConfigCommands(CLI::App& app, GlobalOptions& global, ApiArgs& a, int* exit_code) {
  // apply
  static std::vector<std::string> files;
  static bool apply_dry_run = false;
  CLI::App* apply = app.add_subcommand("apply", "Apply clusters, services and policies (YAML)");
  apply
      ->add_option("-f,--file", files,
                   "YAML file, directory (its *.yaml and *.yml, sorted) or - (standard input); "
                   "repeatable")
      ->required();
  apply->add_flag("--dry-run", apply_dry_run,
                  "Check everything and show the difference with what is stored (fields, "
                  "revisions, roles); change nothing");
  apply->footer(
      "Examples:\n  lifeboat apply -f sales.yaml --dry-run\n  lifeboat apply -f sales.yaml\n"
      "  lifeboat apply -f /etc/lifeboat/\n  generate-config | lifeboat apply -f -\n"
      "All files are applied as one, all or nothing; the same object in two places is refused.\n"
      "Applying again changes nothing; a changed object gets a new revision (running jobs keep\n"
      "theirs). Apply never switches a service's primary once it has a restore point: that is\n"
      "`lifeboat failover` / `failback`. See docs/policies.md.");
  apply->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json inputs, ReadInputs(files));
      LIFEBOAT_ASSIGN_OR_RETURN(
          json report,
          s.client->CallJson("POST",
                             std::string("/v1/apply") + (apply_dry_run ? "?dry_run=true" : ""),
                             {{"files", inputs}}));
      if (Structured(global)) {
        report.erase("results");  // the lines are for people; the objects say it all
        PrintStructured(global, report);
      } else {
        PrintLines(report);
      }
      return kExitOk;
    });
  });

  // delete -f
  static std::vector<std::string> delete_files;
  static bool delete_dry_run = false, delete_force = false;
  CLI::App* del = app.add_subcommand(
      "delete", "Delete the clusters, services and policies that YAML files define (admin)");
  del->add_option("-f,--file", delete_files, "YAML file, directory or - (as for apply)")
      ->required();
  del->add_flag("--dry-run", delete_dry_run,
                "Say what would be deleted and what would stay; delete nothing");
  del->add_flag("--force", delete_force,
                "Delete although the refusal named what would be lost (a service's policies "
                "and restore points, the restore points on a cluster)");
  del->footer(
      "Policies go first, then services, then clusters, in one step. Refused: a cluster a\n"
      "remaining service uses, a service with an unfinished job. Needs --force: a service\n"
      "with policies or restore points (the points stay), a cluster holding restore points.\n"
      "Examples:\n  lifeboat delete -f sales.yaml --dry-run\n  lifeboat delete -f sales.yaml");
  del->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json inputs, ReadInputs(delete_files));
      LIFEBOAT_ASSIGN_OR_RETURN(
          json body, s.client->CallJson("POST", "/v1/delete" + Flags(delete_dry_run, delete_force),
                                        {{"files", inputs}}));
      if (Structured(global)) {
        PrintStructured(global, body);
      } else {
        PrintLines(body);
      }
      return kExitOk;
    });
  });

  // cluster list | delete
  static std::string cluster_name;
  static bool cluster_dry_run = false, cluster_force = false;
  CLI::App* cluster = app.add_subcommand("cluster", "Clusters: list, delete");
  cluster->require_subcommand(1);
  cluster->add_subcommand("list", "List clusters")->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/clusters"));
      LIFEBOAT_ASSIGN_OR_RETURN(auto list, ListFromJson<model::Cluster>(body, "clusters"));
      if (Structured(global)) {
        PrintStructured(global, ToJsonList(list));
        return kExitOk;
      }
      std::printf("%-16s %-24s %-40s %s\n", "NAME", "AGENT", "COMPONENTS", "REVISION");
      for (const auto& c : list) {
        std::string components;
        for (const auto& comp : c.components()) {
          components += (components.empty() ? "" : ", ") + comp.component();
          if (!comp.plugin().empty() && comp.plugin() != comp.component()) {
            components += " (" + comp.plugin() + ")";
          }
        }
        std::printf("%-16s %-24s %-40s %llu\n", c.name().c_str(),
                    c.agent().address().empty() ? "in-process" : c.agent().address().c_str(),
                    components.empty() ? "-" : components.c_str(),
                    static_cast<unsigned long long>(c.revision()));
      }
      return kExitOk;
    });
  });
  CLI::App* cdel = cluster->add_subcommand("delete", "Delete a cluster no service uses (admin)");
  cdel->add_option("NAME", cluster_name)->required();
  AddDelete(
      cdel, global, a, exit_code, [] { return "/v1/clusters/" + Seg(cluster_name); },
      &cluster_dry_run, &cluster_force);

  // service list | delete (service status is in cmd_engine.cc)
  static std::string service_name;
  static bool service_dry_run = false, service_force = false;
  CLI::App* service = app.get_subcommand("service");
  service->add_subcommand("list", "List services with their roles")
      ->callback([&global, &a, exit_code] {
        *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
          LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/services"));
          LIFEBOAT_ASSIGN_OR_RETURN(auto list, ListFromJson<model::Service>(body, "services"));
          if (Structured(global)) {
            PrintStructured(global, ToJsonList(list));
            return kExitOk;
          }
          LIFEBOAT_ASSIGN_OR_RETURN(json pbody, s.client->Call("GET", "/v1/policies"));
          LIFEBOAT_ASSIGN_OR_RETURN(auto policies, ListFromJson<model::Policy>(pbody, "policies"));
          std::printf("%-16s %-14s %-14s %-6s %-10s %-9s %s\n", "NAME", "PRIMARY", "SECONDARY",
                      "EPOCH", "DATA SETS", "POLICIES", "REVISION");
          for (const auto& svc : list) {
            // The roles in effect (after a switch they differ from the configured ones).
            LIFEBOAT_ASSIGN_OR_RETURN(
                json roles, s.client->Call("GET", "/v1/services/" + Seg(svc.name()) + "/roles"));
            size_t n = 0;
            for (const auto& p : policies) n += p.service() == svc.name() ? 1 : 0;
            std::string epoch = JsonNumber(roles, "epoch");
            std::printf("%-16s %-14s %-14s %-6s %-10d %-9zu %llu\n", svc.name().c_str(),
                        roles.value("primary_cluster", "").c_str(),
                        roles.value("secondary_cluster", "").c_str(),
                        epoch.empty() ? "1" : epoch.c_str(), svc.data_sets_size(), n,
                        static_cast<unsigned long long>(svc.revision()));
          }
          return kExitOk;
        });
      });
  CLI::App* sdel = service->add_subcommand(
      "delete", "Delete a service (admin); with --force its policies go too, its points stay");
  sdel->add_option("NAME", service_name)->required();
  AddDelete(
      sdel, global, a, exit_code, [] { return "/v1/services/" + Seg(service_name); },
      &service_dry_run, &service_force);

  // points delete
  static std::string point_service, point_id;
  static bool point_dry_run = false, point_force = false;
  CLI::App* points = app.get_subcommand("points");
  CLI::App* pdel = points->add_subcommand(
      "delete", "Delete a restore point on its cluster (admin); never the newest without --force");
  pdel->add_option("SERVICE", point_service)->required();
  pdel->add_option("POINT", point_id)->required();
  pdel->footer(
      "The point's members are removed on the cluster that holds it (the plugins' expire, as\n"
      "retention does) and it is recorded expired. Refused while a job of the service is\n"
      "unfinished. --force: also a point retention always keeps (the newest on a cluster,\n"
      "the last point both clusters hold); a plugin may still refuse.\n"
      "Example:\n  lifeboat points delete sales rp-20261125T094500Z-000003 --dry-run");
  AddDelete(
      pdel, global, a, exit_code,
      [] { return "/v1/services/" + Seg(point_service) + "/points/" + Seg(point_id); },
      &point_dry_run, &point_force);
}

}  // namespace lifeboat::cli
