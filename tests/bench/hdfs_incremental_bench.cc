// Benchmark: what an incremental backup of the hdfs plugin costs when a handful of files
// changed in a directory of many (issue 13), on the HDFS rig (tools/scripts/rig.sh start hdfs).
//
//   1. generates N small files on the primary (`--files`, `--bytes` each, default 16; 0 makes
//      empty files, much faster to write on the rig: no block to complete; `--per-dir` to a
//      directory), written over WebHDFS by 8 threads,
//   2. full backup: cut, plan_transfer, transfer (the plan's tasks `--parallelism` at a time,
//      as the engine runs them), commit, as the host calls the plugin,
//   3. changes `--changed` files (half overwritten, a quarter created, a quarter deleted; one
//      more renamed),
//   4. incremental backup with the full one as its base,
//   5. prints per phase: seconds, the NameNode operations this process sent (the WebHDFS
//      client counts them: NameNodeOpCounts), and the process's peak RSS during the phase
//      (VmHWM after resetting it through /proc/self/clear_refs; the whole process's peak when
//      the kernel refuses the reset).
//
// What to look at: the incremental's plan. Its listing calls (LISTSTATUS_BATCH) and status
// calls should follow the change, not N; compare --files 2000 and 20000, and `--listing full`
// (the plugin's `incremental_listing: "full"`: the whole new snapshot listed and compared, as
// every incremental did before issue 13, and the plugin's default) with `diff` (this benchmark's
// default); `--listing both` makes two
// incrementals in one run, the first planned with `full`, the second with `diff`.
//
// Usage: hdfs_incremental_bench [--files N] [--per-dir N] [--bytes N] [--changed N]
//        [--parallelism N] [--listing diff|full|both] [--keep] [--endpoints FILE]
// Without a rig (no LIFEBOAT_RIG_HDFS and no --endpoints) it exits 77 (skipped), unless
// LIFEBOAT_RIG_REQUIRED=1, where that is an error.
#include <lifeboat/abi.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rig_endpoints.h"
#include "webhdfs.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace v1 = lifeboat::v1;
using lifeboat::StatusOr;
using lifeboat::hdfs::WebHdfsClient;

namespace {

struct Options {
  int files = 2000;
  int per_dir = 100;
  int changed = 10;
  int parallelism = 8;
  int bytes = 16;
  std::string listing = "diff";
  bool keep = false;
  std::string endpoints;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "hdfs_incremental_bench: " << what << "\n";
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Parallel(int threads, int count, const std::function<void(int)>& job) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < count;) job(i);
    });
  }
  for (auto& t : pool) t.join();
}

// The process's peak RSS in KiB since the last ResetPeak (VmHWM).
long PeakKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

bool ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// One phase's figures: time, NameNode operations sent during it, peak RSS.
class Phase {
 public:
  explicit Phase(std::string name) : name_(std::move(name)) {
    reset_ = ResetPeak();
    before_ = lifeboat::hdfs::NameNodeOpCounts();
    start_ = std::chrono::steady_clock::now();
  }
  void Print() const {
    const double s = Seconds(start_);
    std::map<std::string, uint64_t> after = lifeboat::hdfs::NameNodeOpCounts();
    uint64_t total = 0;
    std::string ops;
    for (const auto& [op, n] : after) {
      uint64_t d = n - (before_.count(op) ? before_.at(op) : 0);
      if (d == 0) continue;
      total += d;
      ops += " " + op + "=" + std::to_string(d);
    }
    std::printf("  %-18s %7.2fs  peak RSS %6.1f MiB%s  NameNode ops %llu:%s\n", name_.c_str(), s,
                PeakKiB() / 1024.0, reset_ ? "" : " (process)",
                static_cast<unsigned long long>(total), ops.c_str());
    std::fflush(stdout);
  }

 private:
  std::string name_;
  bool reset_ = false;
  std::map<std::string, uint64_t> before_;
  std::chrono::steady_clock::time_point start_;
};

class Bench {
 public:
  Bench(Options o, nlohmann::json primary, nlohmann::json secondary)
      : o_(std::move(o)), primary_(std::move(primary)), secondary_(std::move(secondary)) {
    data_ = "/lifeboat-incr-bench-" + std::to_string(::getpid());
    src_ = std::make_unique<WebHdfsClient>(ClientOptions(primary_));
    dst_ = std::make_unique<WebHdfsClient>(ClientOptions(secondary_));
    api_ = lifeboat_plugin_init(host_.table());
    plugin_src_ = Instance("primary", primary_);
    plugin_dst_ = Instance("secondary", secondary_, o_.listing == "full" ? "full" : "diff");
    plugin_dst_full_ = Instance("secondary", secondary_, "full");
  }
  ~Bench() {
    api_->destroy(plugin_src_);
    api_->destroy(plugin_dst_);
    api_->destroy(plugin_dst_full_);
  }

  void Run() {
    auto start = std::chrono::steady_clock::now();
    Generate();
    std::printf("tree: %d files of %d bytes in %d directories, generated in %.1fs\n", o_.files,
                o_.bytes, (o_.files + o_.per_dir - 1) / o_.per_dir, Seconds(start));
    Backup("rp1", "", plugin_dst_);
    if (o_.listing == "both") {
      // The same kind of change twice: planned from the full listing, then from the diff.
      Change(0);
      Backup("rp2", "rp1", plugin_dst_full_);
      Change(1);
      Backup("rp3", "rp2", plugin_dst_);
    } else {
      Change(0);
      Backup("rp2", "rp1", plugin_dst_);
    }
    if (!o_.keep) Cleanup();
  }

 private:
  static WebHdfsClient::Options ClientOptions(const nlohmann::json& c) {
    WebHdfsClient::Options w;
    w.namenodes = {"http://" + c.value("namenode_http", "")};
    w.user = c.value("user", "");
    w.timeout_seconds = 300;
    return w;
  }
  v1::PluginConfig Config(const std::string& name, const nlohmann::json& c,
                          const std::string& listing = "diff") const {
    v1::PluginConfig config;
    config.set_plugin("hdfs");
    config.set_cluster(name);
    config.set_config_json(nlohmann::json{
        {"namenodes", {c.value("namenode_http", "")}},
        {"user", c.value("user", "")},
        {"parallelism", o_.parallelism},
        {"incremental_listing",
         listing}}.dump());
    return config;
  }
  lb_instance* Instance(const std::string& name, const nlohmann::json& c,
                        const std::string& listing = "diff") {
    StatusOr<lb_instance*> made = host_.Create(api_, Config(name, c, listing));
    if (!made.ok()) Die(made.status().ToString());
    return *made;
  }
  template <typename Resp, typename Req>
  Resp Call(lb_instance* i, lb_op op, const Req& req, const char* what) {
    StatusOr<Resp> r = host_.Call<Resp>(api_, i, op, req);
    if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
    return *std::move(r);
  }
  std::string File(int i) const {
    char name[64];
    std::snprintf(name, sizeof name, "d%05d/f%07d", i / o_.per_dir, i);
    return data_ + "/" + name;
  }

  void Generate() {
    const int dirs = (o_.files + o_.per_dir - 1) / o_.per_dir;
    Parallel(8, dirs, [&](int d) {
      char name[32];
      std::snprintf(name, sizeof name, "/d%05d", d);
      if (!src_->Mkdirs(data_ + name).ok()) Die("mkdirs");
    });
    Parallel(8, o_.files, [&](int i) {
      lifeboat::Status s = src_->Create(File(i), std::string(o_.bytes, 'x'), {});
      if (!s.ok()) Die("create " + File(i) + ": " + s.ToString());
    });
  }

  // Round `round` of changes: different files each round.
  void Change(int round) {
    WebHdfsClient::CreateOptions overwrite;
    overwrite.overwrite = true;
    const int k = std::max(4, o_.changed);
    for (int j = 0; j < k; ++j) {
      const int i =
          static_cast<int>((static_cast<int64_t>(j + round * k) * 7919 + 13 + round) % o_.files);
      lifeboat::Status s;
      if (j % 4 < 2) {
        s = src_->Create(File(i), "changed " + std::to_string(j), overwrite);
      } else if (j % 4 == 2) {
        s = src_->Create(File(i) + ".new", "new " + std::to_string(j), overwrite);
      } else {
        s = src_->Delete(File(i), false).status();
      }
      if (!s.ok()) Die("change: " + s.ToString());
    }
    if (!src_->Rename(File(1 + round), File(1 + round) + ".renamed").ok()) Die("rename");
    std::printf("changed %d files and renamed one\n", k);
  }

  void Backup(const std::string& rp, const std::string& base, lb_instance* target) {
    v1::DataSet ds;
    ds.set_component("hdfs");
    ds.set_selector(data_);
    std::printf("%s (%s):\n", rp.c_str(),
                base.empty() ? "full"
                             : ("base " + base + ", incremental_listing " +
                                (target == plugin_dst_full_ ? "full" : "diff"))
                                   .c_str());
    v1::CutRequest cut_req;
    cut_req.set_op_id("cut-" + rp);
    *cut_req.mutable_data_set() = ds;
    cut_req.set_restore_point_id(rp);
    Phase cut_phase("cut");
    v1::CutResponse cut = Call<v1::CutResponse>(plugin_src_, LB_OP_CUT, cut_req, "cut");
    cut_phase.Print();
    v1::Peer peer;
    *peer.mutable_config() = Config("primary", primary_);
    v1::PlanTransferRequest plan_req;
    plan_req.set_op_id("plan-" + rp);
    *plan_req.mutable_source() = peer;
    *plan_req.mutable_snapshot() = cut.snapshot();
    plan_req.set_base_restore_point_id(base);
    Phase plan_phase("plan_transfer");
    v1::PlanTransferResponse plan =
        Call<v1::PlanTransferResponse>(target, LB_OP_PLAN_TRANSFER, plan_req, "plan");
    plan_phase.Print();
    std::printf("  plan: %s, %llu files to copy, %llu unchanged, %llu deleted, %d tasks\n",
                plan.incremental() ? "incremental" : "full",
                static_cast<unsigned long long>(plan.items_to_copy()),
                static_cast<unsigned long long>(plan.items_unchanged()),
                static_cast<unsigned long long>(plan.items_deleted()), plan.tasks_size());
    Phase transfer_phase("transfer");
    // The tree task first (the copies wait for it anyway), then the copies in parallel.
    std::vector<int> copies;
    for (int i = 0; i < plan.tasks_size(); ++i) {
      if (plan.tasks(i).kind() == "tree") {
        Transfer(target, rp, peer, cut, plan.tasks(i));
      } else {
        copies.push_back(i);
      }
    }
    Parallel(std::min<int>(o_.parallelism, 4), static_cast<int>(copies.size()),
             [&](int j) { Transfer(target, rp, peer, cut, plan.tasks(copies[j])); });
    transfer_phase.Print();
    v1::VerifyRequest verify;
    verify.set_op_id("verify-" + rp);
    *verify.mutable_snapshot() = cut.snapshot();
    verify.set_level(v1::VERIFY_SIZE);
    Phase verify_phase("verify (size)");
    v1::VerifyResponse verified = Call<v1::VerifyResponse>(target, LB_OP_VERIFY, verify, "verify");
    verify_phase.Print();
    if (!verified.ok()) Die("verify of " + rp + " found mismatches");
    v1::CommitRequest commit;
    commit.set_op_id("commit-" + rp);
    *commit.mutable_snapshot() = cut.snapshot();
    commit.set_base_restore_point_id(base);
    Phase commit_phase("commit");
    Call<v1::CommitResponse>(target, LB_OP_COMMIT, commit, "commit");
    commit_phase.Print();
  }

  void Transfer(lb_instance* target, const std::string& rp, const v1::Peer& peer,
                const v1::CutResponse& cut, const v1::TransferTask& task) {
    v1::TransferRequest req;
    req.set_op_id("transfer-" + rp + "-" + task.task_id());
    *req.mutable_source() = peer;
    *req.mutable_snapshot() = cut.snapshot();
    *req.mutable_task() = task;
    Call<v1::TransferResponse>(target, LB_OP_TRANSFER, req, "transfer");
  }

  void Cleanup() {
    for (WebHdfsClient* c : {src_.get(), dst_.get()}) {
      StatusOr<std::vector<lifeboat::hdfs::SnapshotInfo>> snaps = c->GetSnapshotList(data_);
      if (snaps.ok()) {
        for (const auto& s : *snaps) (void)c->DeleteSnapshot(data_, s.name);
      }
      (void)c->Delete(data_, /*recursive=*/true);
      (void)c->Delete("/.lifeboat/state" + data_, /*recursive=*/true);
    }
  }

  Options o_;
  nlohmann::json primary_, secondary_;
  std::string data_;
  std::unique_ptr<WebHdfsClient> src_, dst_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  lb_instance* plugin_src_ = nullptr;
  lb_instance* plugin_dst_ = nullptr;
  lb_instance* plugin_dst_full_ = nullptr;  // incremental_listing "full"
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--files")
      o.files = std::max(8, std::stoi(next()));
    else if (a == "--per-dir")
      o.per_dir = std::max(1, std::stoi(next()));
    else if (a == "--changed")
      o.changed = std::max(4, std::stoi(next()));
    else if (a == "--parallelism")
      o.parallelism = std::max(1, std::stoi(next()));
    else if (a == "--bytes")
      o.bytes = std::max(0, std::stoi(next()));
    else if (a == "--listing")
      o.listing = next();
    else if (a == "--keep")
      o.keep = true;
    else if (a == "--endpoints")
      o.endpoints = next();
    else
      Die("unknown argument " + a + " (see the header of hdfs_incremental_bench.cc)");
  }
  std::optional<nlohmann::json> endpoints = lifeboat::bench::HdfsRigEndpoints(&o.endpoints);
  if (!endpoints) return 77;
  const nlohmann::json& ep = *endpoints;
  std::printf("hdfs incremental: %d files, %d per directory, %d changed, parallelism %d\n", o.files,
              o.per_dir, o.changed, o.parallelism);
  Bench bench(o, ep["clusters"]["primary"], ep["clusters"]["secondary"]);
  bench.Run();
  return 0;
}
