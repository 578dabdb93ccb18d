// `lifeboat backup | points | verify | restore`: the embedded main job until the engine
// exists. One data set of one plugin, primary and secondary given on the command line,
// driven through the real plugin host. Restore points made here are listed in a small
// state file; an interrupted backup is resumed by the next run (every step is idempotent
// per operation id, so resuming repeats no finished work).
#include <unistd.h>

#include <lifeboat/core/plugin_host.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "progress.h"

namespace lifeboat::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted = true; }

struct PairOptions {
  std::string plugin = "localfs";
  std::string primary;         // localfs shortcut: root directory of the primary
  std::string secondary;       // localfs shortcut: root directory of the secondary
  std::string primary_config;  // plugin config JSON (overrides --primary)
  std::string secondary_config;
  std::string data_set = "/data";
  std::string state_dir = ".lifeboat-state";
};

void AddPairOptions(CLI::App* cmd, PairOptions& o) {
  cmd->add_option("--plugin", o.plugin, "Component plugin to use")->capture_default_str();
  cmd->add_option("--primary", o.primary, "Primary cluster root directory (localfs)");
  cmd->add_option("--secondary", o.secondary, "Secondary cluster root directory (localfs)");
  cmd->add_option("--primary-config", o.primary_config, "Primary plugin config as JSON");
  cmd->add_option("--secondary-config", o.secondary_config, "Secondary plugin config as JSON");
  cmd->add_option("--data-set", o.data_set, "Data set selector")->capture_default_str();
  cmd->add_option("--state-dir", o.state_dir, "Where the list of restore points is kept")
      ->capture_default_str();
}

StatusOr<std::string> ConfigJson(const std::string& json_text, const std::string& root,
                                 const char* side) {
  if (!json_text.empty()) return json_text;
  if (root.empty()) {
    return InvalidArgumentError(std::string("give --") + side + " DIR or --" + side +
                                "-config JSON");
  }
  return json{{"root", fs::absolute(root).lexically_normal().string()}}.dump();
}

// The state file: restore points per data set, and the backup in progress if any.
class StateFile {
 public:
  explicit StateFile(fs::path dir) : path_(std::move(dir) / "restore-points.json") {}

  Status Load() {
    if (!fs::exists(path_)) {
      doc_ = json{{"data_sets", json::object()}};
      return OkStatus();
    }
    std::ifstream in(path_);
    doc_ = json::parse(in, nullptr, false);
    if (doc_.is_discarded() || !doc_.contains("data_sets")) {
      return DataLossError("state file is not valid; move it away to start afresh", path_.string());
    }
    return OkStatus();
  }

  Status Save() const {
    std::error_code ec;
    fs::create_directories(path_.parent_path(), ec);
    fs::path tmp = path_;
    tmp += ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << doc_.dump(2) << "\n";
      out.flush();
      if (!out) return InternalError("cannot write the state file", tmp.string());
    }
    fs::rename(tmp, path_, ec);
    if (ec) return InternalError("cannot replace the state file: " + ec.message(), path_.string());
    return OkStatus();
  }

  json& DataSet(const std::string& key) {
    json& sets = doc_["data_sets"];
    if (!sets.contains(key)) sets[key] = json{{"points", json::array()}};
    return sets[key];
  }

 private:
  fs::path path_;
  json doc_;
};

std::string NewRestorePointId() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "rp-%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

struct Pair {
  std::unique_ptr<core::PluginHost> host;
  std::unique_ptr<core::PluginInstance> primary;
  std::unique_ptr<core::PluginInstance> secondary;
  v1::DataSet data_set;
};

StatusOr<Pair> OpenPair(const GlobalOptions& global, const PairOptions& o, bool need_primary) {
  Pair pair;
  pair.host = std::make_unique<core::PluginHost>(global.plugin_dirs);
  for (const auto& report : pair.host->LoadAll()) {
    if (!report.status.ok()) {
      std::cerr << "warning: plugin refused: " << report.status.ToString() << "\n";
    }
  }
  auto open = [&](const std::string& cluster, const std::string& cfg_json,
                  const std::string& root) -> StatusOr<std::unique_ptr<core::PluginInstance>> {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string body, ConfigJson(cfg_json, root, cluster.c_str()));
    v1::PluginConfig config;
    config.set_plugin(o.plugin);
    config.set_cluster(cluster);
    config.set_config_json(body);
    return pair.host->Instantiate(config);
  };
  if (need_primary) {
    LIFEBOAT_ASSIGN_OR_RETURN(pair.primary, open("primary", o.primary_config, o.primary));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(pair.secondary, open("secondary", o.secondary_config, o.secondary));
  pair.data_set.set_component(pair.secondary->descriptor().component());
  pair.data_set.set_selector(o.data_set);
  return pair;
}

// Runs one backup of the data set: cut, plan, transfer, verify, commit, release.
Status RunBackup(const GlobalOptions& global, const PairOptions& o, bool force_full,
                 uint64_t bandwidth, json* summary) {
  LIFEBOAT_ASSIGN_OR_RETURN(Pair pair, OpenPair(global, o, /*need_primary=*/true));
  StateFile state(o.state_dir);
  LIFEBOAT_RETURN_IF_ERROR(state.Load());
  json& ds_state = state.DataSet(o.plugin + ":" + o.data_set);
  std::string base;
  if (!ds_state["points"].empty()) base = ds_state["points"].back()["id"].get<std::string>();
  std::string rp;
  bool resumed = false;
  if (ds_state.contains("in_progress")) {
    rp = ds_state["in_progress"]["id"].get<std::string>();
    base = ds_state["in_progress"]["base"].get<std::string>();
    resumed = true;
    std::cerr << "resuming interrupted backup " << rp << "\n";
  } else {
    rp = NewRestorePointId();
    if (!ds_state["points"].empty() && ds_state["points"].back()["id"] == rp) rp += "-2";
    ds_state["in_progress"] = json{{"id", rp}, {"base", base}};
    LIFEBOAT_RETURN_IF_ERROR(state.Save());
  }

  core::CallOptions cancel_only;
  cancel_only.cancel = &g_interrupted;
  v1::PrepareRequest prep;
  prep.set_op_id("prepare-" + rp);
  *prep.mutable_data_set() = pair.data_set;
  auto prepared = pair.primary->Prepare(prep, cancel_only);
  if (!prepared.ok() && prepared.status().code() != Code::kUnimplemented) {
    return prepared.status().WithContext("prepare on primary");
  }

  v1::CutRequest cut_req;
  cut_req.set_op_id("cut-" + rp);
  *cut_req.mutable_data_set() = pair.data_set;
  cut_req.set_restore_point_id(rp);
  std::cerr << "cutting " << o.plugin << ":" << o.data_set << " on primary as " << rp << "\n";
  auto cut = pair.primary->Cut(cut_req, cancel_only);
  if (!cut.ok()) return cut.status().WithContext("cut on primary");

  v1::Peer source;
  *source.mutable_config() = pair.primary->config();
  v1::PlanTransferRequest plan_req;
  plan_req.set_op_id("plan-" + rp);
  *plan_req.mutable_source() = source;
  *plan_req.mutable_snapshot() = cut->snapshot();
  plan_req.set_base_restore_point_id(base);
  plan_req.set_force_full(force_full);
  auto plan = pair.secondary->PlanTransfer(plan_req, cancel_only);
  if (!plan.ok()) return plan.status().WithContext("plan on secondary");
  if (!plan->incremental() && !plan->full_reason().empty()) {
    std::cerr << "full copy: " << plan->full_reason() << "\n";
  }
  std::cerr << (plan->incremental() ? "incremental" : "full") << " plan: " << plan->items_to_copy()
            << " items to copy (" << HumanBytes(plan->bytes_to_copy()) << "), "
            << plan->items_unchanged() << " unchanged, " << plan->items_deleted() << " deleted\n";

  ProgressBar bar(stderr, ::isatty(STDERR_FILENO) != 0, "transfer", plan->bytes_to_copy(),
                  plan->items_to_copy());
  uint64_t bytes_before = 0, items_before = 0, copied = 0, skipped = 0;
  std::mutex mu;
  for (const auto& task : plan->tasks()) {
    v1::TransferRequest req;
    req.set_op_id("transfer-" + rp + "-" + task.task_id());
    *req.mutable_source() = source;
    *req.mutable_snapshot() = cut->snapshot();
    *req.mutable_task() = task;
    req.set_bandwidth_bytes_per_second(bandwidth);
    core::CallOptions opts;
    opts.cancel = &g_interrupted;
    opts.on_progress = [&](const v1::Progress& p) {
      std::lock_guard<std::mutex> lock(mu);
      bar.Update(bytes_before + p.bytes_done(), items_before + p.items_done());
    };
    auto done = pair.secondary->Transfer(req, opts);
    if (!done.ok()) {
      bar.Finish();
      return done.status().WithContext("transfer task " + task.task_id());
    }
    copied += done->bytes_copied();
    skipped += done->bytes_skipped();
    if (task.kind() == "copy") {
      bytes_before += task.bytes();
      items_before += task.paths_size();
    }
    bar.Update(bytes_before, items_before);
  }
  bar.Finish();

  v1::VerifyRequest verify_req;
  verify_req.set_op_id("verify-" + rp);
  *verify_req.mutable_snapshot() = cut->snapshot();
  verify_req.set_level(v1::VERIFY_DIGEST);
  auto verified = pair.secondary->Verify(verify_req, cancel_only);
  if (!verified.ok()) return verified.status().WithContext("verify on secondary");
  if (!verified->ok()) {
    for (const auto& m : verified->mismatches()) {
      std::cerr << "  mismatch " << m.path() << ": " << m.what() << " expected " << m.expected()
                << " found " << m.found() << "\n";
    }
    return DataLossError("verification found " + std::to_string(verified->mismatches_size()) +
                         " differences; the restore point was not committed");
  }

  v1::CommitRequest commit_req;
  commit_req.set_op_id("commit-" + rp);
  *commit_req.mutable_snapshot() = cut->snapshot();
  commit_req.set_base_restore_point_id(base);
  auto committed = pair.secondary->Commit(commit_req, cancel_only);
  if (!committed.ok()) return committed.status().WithContext("commit on secondary");

  v1::ReleaseRequest release;
  release.set_op_id("release-" + rp);
  *release.mutable_snapshot() = cut->snapshot();
  auto released = pair.primary->Release(release);
  if (!released.ok()) {
    std::cerr << "warning: could not release the snapshot on primary: "
              << released.status().ToString() << "\n";
  }

  ds_state["points"].push_back(
      json{{"id", rp},
           {"base", base},
           {"incremental", plan->incremental()},
           {"bytes_copied", copied},
           {"total_bytes", committed->manifest().total_bytes()},
           {"items", committed->manifest().entries_size()},
           {"cut_start_unix_nanos", cut->snapshot().cut_start_unix_nanos()},
           {"cut_end_unix_nanos", cut->snapshot().cut_end_unix_nanos()}});
  ds_state.erase("in_progress");
  LIFEBOAT_RETURN_IF_ERROR(state.Save());
  *summary = ds_state["points"].back();
  (*summary)["resumed"] = resumed;
  (*summary)["bytes_skipped"] = skipped;
  (*summary)["verified_items"] = verified->items_checked();
  return OkStatus();
}

int Report(const Status& status) {
  if (status.ok()) return kExitOk;
  std::cerr << "error: " << status.ToString() << "\n";
  return ExitCodeFor(status);
}

}  // namespace

void AddBackupCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  static PairOptions o;
  static bool force_full = false;
  static uint64_t bandwidth = 0;

  CLI::App* backup = app.add_subcommand(
      "backup", "Take a restore point of a data set on the primary and replicate it");
  AddPairOptions(backup, o);
  backup->add_flag("--force-full", force_full, "Copy everything, ignoring the last point");
  backup->add_option("--bandwidth", bandwidth, "Limit in bytes per second (0 = none)");
  backup->footer(
      "Examples:\n"
      "  lifeboat backup --primary /srv/a --secondary /srv/b --data-set /data\n"
      "  lifeboat backup --primary /srv/a --secondary /srv/b --force-full --bandwidth 50000000\n"
      "An interrupted backup (Ctrl-C, crash) is resumed by the next run; finished files are\n"
      "not copied again.");
  backup->callback([&global, exit_code] {
    std::signal(SIGINT, OnInterrupt);
    std::signal(SIGTERM, OnInterrupt);
    json summary;
    Status s = RunBackup(global, o, force_full, bandwidth, &summary);
    if (s.ok()) {
      if (global.output == "json") {
        std::cout << summary.dump(2) << "\n";
      } else {
        std::cout << "committed " << summary["id"].get<std::string>() << " ("
                  << (summary["incremental"].get<bool>() ? "incremental" : "full") << ", "
                  << HumanBytes(summary["bytes_copied"].get<double>()) << " copied, "
                  << summary["items"] << " items, "
                  << HumanBytes(summary["total_bytes"].get<double>()) << " in the point)\n";
      }
    }
    *exit_code = Report(s);
  });

  CLI::App* points = app.add_subcommand("points", "List the restore points of a data set");
  AddPairOptions(points, o);
  points->footer("Example:\n  lifeboat points --data-set /data --output json");
  points->callback([&global, exit_code] {
    StateFile state(o.state_dir);
    Status s = state.Load();
    if (!s.ok()) {
      *exit_code = Report(s);
      return;
    }
    json& ds = state.DataSet(o.plugin + ":" + o.data_set);
    if (global.output == "json") {
      std::cout << ds.dump(2) << "\n";
    } else {
      for (const auto& p : ds["points"]) {
        std::cout << p["id"].get<std::string>() << "  "
                  << (p["incremental"].get<bool>() ? "incremental" : "full       ") << "  "
                  << HumanBytes(p["total_bytes"].get<double>()) << "  " << p["items"] << " items\n";
      }
      if (ds.contains("in_progress")) {
        std::cout << ds["in_progress"]["id"].get<std::string>() << "  (interrupted; the next "
                  << "backup resumes it)\n";
      }
    }
    *exit_code = kExitOk;
  });

  static std::string point;
  static std::string destination;
  static bool dry_run = false;
  CLI::App* restore = app.add_subcommand(
      "restore", "Restore a restore point on the secondary, to the data set or elsewhere");
  AddPairOptions(restore, o);
  restore->add_option("--point", point, "Restore point id (see `lifeboat points`)")->required();
  restore->add_option("--destination", destination,
                      "Where to restore, as a selector on the secondary (default: the data "
                      "set itself)");
  restore->add_flag("--dry-run", dry_run, "List what would change, change nothing");
  restore->footer(
      "Examples:\n"
      "  lifeboat restore --secondary /srv/b --point rp-20261125T080000Z --destination /check "
      "--dry-run\n"
      "  lifeboat restore --secondary /srv/b --point rp-20261125T080000Z --destination /check");
  restore->callback([&global, exit_code] {
    auto pair = OpenPair(global, o, /*need_primary=*/false);
    if (!pair.ok()) {
      *exit_code = Report(pair.status());
      return;
    }
    v1::RestoreRequest req;
    req.set_op_id("restore-" + point + "-" + destination + (dry_run ? "-dry" : ""));
    *req.mutable_data_set() = pair->data_set;
    req.set_restore_point_id(point);
    req.set_destination(destination);
    req.set_dry_run(dry_run);
    auto resp = pair->secondary->Restore(req);
    if (resp.ok()) {
      if (global.output == "json") {
        std::cout << json{{"changes", std::vector<std::string>(resp->changes().begin(),
                                                               resp->changes().end())},
                          {"bytes_written", resp->bytes_written()},
                          {"dry_run", dry_run}}
                         .dump(2)
                  << "\n";
      } else {
        for (const auto& c : resp->changes()) std::cout << (dry_run ? "would " : "") << c << "\n";
        std::cout << resp->changes_size() << " changes, " << HumanBytes(resp->bytes_written())
                  << " written" << (dry_run ? " (dry run: nothing changed)" : "") << "\n";
      }
    }
    *exit_code = Report(resp.status());
  });

  CLI::App* verify = app.add_subcommand(
      "verify", "Re-read a committed restore point on the secondary and check every digest");
  AddPairOptions(verify, o);
  verify->add_option("--point", point, "Restore point id")->required();
  verify->footer("Example:\n  lifeboat verify --secondary /srv/b --point rp-20261125T080000Z");
  verify->callback([&global, exit_code] {
    auto pair = OpenPair(global, o, /*need_primary=*/false);
    if (!pair.ok()) {
      *exit_code = Report(pair.status());
      return;
    }
    v1::VerifyRequest req;
    req.set_op_id("verify-again-" + point);
    req.mutable_snapshot()->set_plugin(o.plugin);
    *req.mutable_snapshot()->mutable_data_set() = pair->data_set;
    req.mutable_snapshot()->set_restore_point_id(point);
    req.mutable_snapshot()->set_snapshot_id(point);
    req.set_level(v1::VERIFY_DIGEST);
    auto resp = pair->secondary->Verify(req);
    if (!resp.ok()) {
      *exit_code = Report(resp.status());
      return;
    }
    for (const auto& m : resp->mismatches()) {
      std::cout << "mismatch " << m.path() << ": " << m.what() << " expected " << m.expected()
                << " found " << m.found() << "\n";
    }
    std::cout << (resp->ok() ? "OK" : "DIFFERENT") << ": " << resp->items_checked() << " items, "
              << HumanBytes(resp->bytes_checked()) << " checked\n";
    *exit_code = resp->ok() ? kExitOk : kExitVerifyFailed;
  });
}

}  // namespace lifeboat::cli
