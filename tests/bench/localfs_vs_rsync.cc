// Benchmark: the localfs plugin against rsync, in the same run, on the same tree.
//
//   1. generates a tree (default ~1 GiB in 10,000 files of mixed sizes),
//   2. full copy:   rsync -a SRC/ DST/            vs  a localfs backup (cut, plan, transfer,
//                                                      commit) through the real plugin host,
//   3. changes 1% of the files (modify, create, delete, rename),
//   4. incremental: rsync -a --link-dest=FULL SRC/ DST2/  vs  an incremental localfs backup,
// and prints both times and the ratio rsync_time / localfs_time (> 1 means localfs is
// faster). localfs syncs the target filesystem once at commit, rsync never does; so rsync
// is timed twice, alone and followed by `sync`, and both ratios are printed.
//
// Usage: localfs_bench [--mib N] [--files N] [--dir D] [--plugin-dir D] [--keep]
#include <lifeboat/core/plugin_host.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using lifeboat::v1::PluginConfig;
namespace core = lifeboat::core;
namespace v1 = lifeboat::v1;

namespace {

struct Options {
  uint64_t mib = 1024;
  int files = 10000;
  fs::path dir = "/tmp/lifeboat-bench";
  fs::path plugin_dir = LIFEBOAT_DEFAULT_PLUGIN_DIR;
  bool keep = false;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "localfs_bench: " << what << "\n";
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Incompressible content, fast enough not to dominate generation.
void WriteRandom(const fs::path& path, uint64_t size, std::mt19937_64& gen) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint64_t> buf(1 << 14);
  while (size > 0) {
    for (auto& w : buf) w = gen();
    uint64_t n = std::min<uint64_t>(size, buf.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    size -= n;
  }
  if (!out) Die("cannot write " + path.string());
}

// Sizes log-uniform between 512 B and 4 MiB, scaled so that they add up to `total`.
std::vector<uint64_t> Sizes(int files, uint64_t total, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> u(std::log(512.0), std::log(4.0 * 1024 * 1024));
  std::vector<double> raw(files);
  double sum = 0;
  for (auto& r : raw) sum += (r = std::exp(u(gen)));
  std::vector<uint64_t> sizes;
  for (double r : raw) sizes.push_back(static_cast<uint64_t>(r * total / sum));
  return sizes;
}

std::string FileName(int i) {
  return "d" + std::to_string(i % 100) + "/f" + std::to_string(i) + ".bin";
}

void Generate(const fs::path& src, const Options& o) {
  std::mt19937_64 gen(42);
  auto sizes = Sizes(o.files, o.mib * 1024 * 1024, gen);
  for (int i = 0; i < o.files; ++i) {
    fs::path p = src / FileName(i);
    fs::create_directories(p.parent_path());
    WriteRandom(p, sizes[i], gen);
  }
}

// Changes 1% of the files: 40% of those modified, 20% created, 20% deleted, 20% renamed.
uint64_t ChangeOnePercent(const fs::path& src, const Options& o) {
  std::mt19937_64 gen(7);
  int n = std::max(5, o.files / 100);
  uint64_t bytes = 0;
  for (int k = 0; k < n; ++k) {
    int i = static_cast<int>(gen() % o.files);
    fs::path p = src / FileName(i);
    if (!fs::exists(p)) continue;
    switch (k % 5) {
      case 0:
      case 1: {
        uint64_t size = fs::file_size(p);
        WriteRandom(p, size, gen);
        bytes += size;
        break;
      }
      case 2: {
        fs::path q = src / ("d" + std::to_string(k % 100)) / ("new" + std::to_string(k) + ".bin");
        WriteRandom(q, 64 * 1024, gen);
        bytes += 64 * 1024;
        break;
      }
      case 3:
        fs::remove(p);
        break;
      default:
        fs::rename(p, src / ("d" + std::to_string(k % 100)) / ("moved" + std::to_string(k)));
        break;
    }
  }
  return bytes;
}

double Run(const std::string& command) {
  auto start = std::chrono::steady_clock::now();
  int rc = std::system(command.c_str());
  if (rc != 0) Die("command failed (" + std::to_string(rc) + "): " + command);
  return Seconds(start);
}

struct Backup {
  double seconds = 0;
  uint64_t bytes_copied = 0;
  bool incremental = false;
};

Backup LocalfsBackup(core::PluginHost& host, const fs::path& primary, const fs::path& secondary,
                     const std::string& rp, const std::string& base) {
  auto make = [&](const std::string& cluster, const fs::path& root) {
    PluginConfig c;
    c.set_plugin("localfs");
    c.set_cluster(cluster);
    c.set_config_json(nlohmann::json{{"root", root.string()}}.dump());
    auto inst = host.Instantiate(c);
    if (!inst.ok()) Die(inst.status().ToString());
    return std::move(inst).value();
  };
  auto src = make("primary", primary);
  auto dst = make("secondary", secondary);
  v1::DataSet ds;
  ds.set_component("localfs");
  ds.set_selector("/data");

  Backup result;
  auto start = std::chrono::steady_clock::now();
  v1::CutRequest cut_req;
  cut_req.set_op_id("cut-" + rp);
  *cut_req.mutable_data_set() = ds;
  cut_req.set_restore_point_id(rp);
  auto cut = src->Cut(cut_req);
  if (!cut.ok()) Die(cut.status().ToString());
  v1::Peer peer;
  *peer.mutable_config() = src->config();
  v1::PlanTransferRequest plan_req;
  plan_req.set_op_id("plan-" + rp);
  *plan_req.mutable_source() = peer;
  *plan_req.mutable_snapshot() = cut->snapshot();
  plan_req.set_base_restore_point_id(base);
  auto plan = dst->PlanTransfer(plan_req);
  if (!plan.ok()) Die(plan.status().ToString());
  result.incremental = plan->incremental();
  for (const auto& task : plan->tasks()) {
    v1::TransferRequest req;
    req.set_op_id("transfer-" + rp + "-" + task.task_id());
    *req.mutable_source() = peer;
    *req.mutable_snapshot() = cut->snapshot();
    *req.mutable_task() = task;
    auto done = dst->Transfer(req);
    if (!done.ok()) Die(done.status().ToString());
    result.bytes_copied += done->bytes_copied();
  }
  v1::CommitRequest commit;
  commit.set_op_id("commit-" + rp);
  *commit.mutable_snapshot() = cut->snapshot();
  commit.set_base_restore_point_id(base);
  auto committed = dst->Commit(commit);
  if (!committed.ok()) Die(committed.status().ToString());
  v1::ReleaseRequest release;
  release.set_op_id("release-" + rp);
  *release.mutable_snapshot() = cut->snapshot();
  if (!src->Release(release).ok()) Die("release failed");
  result.seconds = Seconds(start);
  return result;
}

void Row(const char* what, double rsync_s, double rsync_sync_s, double localfs_s) {
  std::printf(
      "%-12s rsync %7.2fs  rsync+sync %7.2fs  localfs %7.2fs  ratio %5.2f  (vs +sync %5.2f)\n",
      what, rsync_s, rsync_sync_s, localfs_s, rsync_s / localfs_s, rsync_sync_s / localfs_s);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--mib")
      o.mib = std::stoull(next());
    else if (a == "--files")
      o.files = std::stoi(next());
    else if (a == "--dir")
      o.dir = next();
    else if (a == "--plugin-dir")
      o.plugin_dir = next();
    else if (a == "--keep")
      o.keep = true;
    else
      Die("unknown argument " + a + " (see the header of localfs_vs_rsync.cc)");
  }
  if (std::system("rsync --version >/dev/null 2>&1") != 0) Die("rsync is not installed");
  fs::remove_all(o.dir);
  fs::path primary = o.dir / "primary", secondary = o.dir / "secondary";
  fs::path src = primary / "data";
  fs::create_directories(src);
  fs::create_directories(secondary);
  fs::create_directories(o.dir / "rsync");

  auto gen_start = std::chrono::steady_clock::now();
  Generate(src, o);
  std::printf("tree: %d files, %llu MiB, generated in %.1fs\n", o.files,
              static_cast<unsigned long long>(o.mib), Seconds(gen_start));
  Run("sync");

  core::PluginHost host({o.plugin_dir});
  for (const auto& r : host.LoadAll()) {
    if (!r.status.ok()) Die(r.status.ToString());
  }

  const std::string s = src.string() + "/";
  const fs::path r1 = o.dir / "rsync" / "full", r1s = o.dir / "rsync" / "full-sync";
  double rsync_full = Run("rsync -a '" + s + "' '" + r1.string() + "/'");
  Run("sync");
  double rsync_full_sync = Run("rsync -a '" + s + "' '" + r1s.string() + "/' && sync");
  Run("sync");
  Backup full = LocalfsBackup(host, primary, secondary, "rp1", "");
  Row("full", rsync_full, rsync_full_sync, full.seconds);

  uint64_t changed = ChangeOnePercent(src, o);
  Run("sync");
  const fs::path r2 = o.dir / "rsync" / "incr", r2s = o.dir / "rsync" / "incr-sync";
  double rsync_incr =
      Run("rsync -a --link-dest='" + r1.string() + "' '" + s + "' '" + r2.string() + "/'");
  Run("sync");
  double rsync_incr_sync = Run("rsync -a --link-dest='" + r1s.string() + "' '" + s + "' '" +
                               r2s.string() + "/' && sync");
  Run("sync");
  Backup incr = LocalfsBackup(host, primary, secondary, "rp2", "rp1");
  if (!incr.incremental) Die("the second localfs backup was not incremental");
  Row("incremental", rsync_incr, rsync_incr_sync, incr.seconds);
  std::printf("incremental: %llu bytes changed, localfs copied %llu bytes\n",
              static_cast<unsigned long long>(changed),
              static_cast<unsigned long long>(incr.bytes_copied));
  if (!o.keep) fs::remove_all(o.dir);
  return 0;
}
