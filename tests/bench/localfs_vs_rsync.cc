// Benchmark: the localfs plugin against rsync, in the same run, on the same tree.
//
//   1. generates a tree (default ~1 GiB in 10,000 files of mixed sizes),
//   2. full copy:   rsync -a SRC/ DST/            vs  a localfs backup (cut, plan, transfer,
//                                                      commit) through the real plugin host,
//   3. changes 1% of the files (modify, create, delete, rename),
//   4. incremental: rsync -a --link-dest=FULL SRC/ DST2/  vs  an incremental localfs backup,
// over several rounds (tools alternating who goes first), and prints the median times,
// the phases of each localfs backup, and the ratio rsync_time / localfs_time (> 1 means
// localfs is faster). localfs is timed from the cut until its commit has made the point
// durable; the release of the source-side snapshot after that is printed apart. localfs
// syncs the target filesystem once at commit, rsync never does; so rsync is reported
// alone and with the `sync` that makes its copy durable, and both ratios are printed.
//
// Usage: localfs_bench [--mib N] [--files N] [--rounds N] [--dir D] [--plugin-dir D] [--keep]
#include <lifeboat/core/plugin_host.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  int rounds = 3;
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
uint64_t ChangeOnePercent(const fs::path& src, const Options& o, int round) {
  std::mt19937_64 gen(7 + round);
  const std::string tag = "r" + std::to_string(round) + "-";
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
        fs::path q =
            src / ("d" + std::to_string(k % 100)) / (tag + "new" + std::to_string(k) + ".bin");
        WriteRandom(q, 64 * 1024, gen);
        bytes += 64 * 1024;
        break;
      }
      case 3:
        fs::remove(p);
        break;
      default:
        fs::rename(p, src / ("d" + std::to_string(k % 100)) / (tag + "moved" + std::to_string(k)));
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
  double cut = 0, plan = 0, transfer = 0, commit = 0, release = 0;
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
  result.cut = Seconds(start);
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
  result.plan = Seconds(start) - result.cut;
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
  result.transfer = Seconds(start) - result.cut - result.plan;
  v1::CommitRequest commit;
  commit.set_op_id("commit-" + rp);
  *commit.mutable_snapshot() = cut->snapshot();
  commit.set_base_restore_point_id(base);
  auto committed = dst->Commit(commit);
  if (!committed.ok()) Die(committed.status().ToString());
  result.commit = Seconds(start) - result.cut - result.plan - result.transfer;
  v1::ReleaseRequest release;
  release.set_op_id("release-" + rp);
  *release.mutable_snapshot() = cut->snapshot();
  if (!src->Release(release).ok()) Die("release failed");
  result.release = Seconds(start) - result.cut - result.plan - result.transfer - result.commit;
  // The compared time ends when the restore point is durable on the target, as rsync's
  // ends when its copy is written (and synced). Releasing the source-side snapshot is
  // clean-up after that moment; it is printed, not hidden.
  result.seconds = result.cut + result.plan + result.transfer + result.commit;
  std::printf("  localfs %s: cut %.2fs plan %.2fs transfer %.2fs commit %.2fs release %.2fs\n",
              rp.c_str(), result.cut, result.plan, result.transfer, result.commit, result.release);
  return result;
}

struct Times {
  std::vector<double> rsync, rsync_sync, localfs;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void Row(const char* what, const Times& t) {
  double r = Median(t.rsync), rs = Median(t.rsync_sync), l = Median(t.localfs);
  std::printf(
      "%-12s median of %zu: rsync %6.2fs  rsync+sync %6.2fs  localfs %6.2fs  "
      "ratio %4.2f  (vs rsync+sync %4.2f)\n",
      what, t.localfs.size(), r, rs, l, r / l, rs / l);
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
    else if (a == "--rounds")
      o.rounds = std::max(1, std::stoi(next()));
    else if (a == "--keep")
      o.keep = true;
    else
      Die("unknown argument " + a + " (see the header of localfs_vs_rsync.cc)");
  }
  if (std::system("rsync --version >/dev/null 2>&1") != 0) Die("rsync is not installed");
  // A fresh directory of its own inside --dir: what --dir already holds (it may be a user's
  // folder: bench.sh passes LIFEBOAT_BENCH_DIR) is never touched, let alone removed.
  {
    std::error_code ec;
    fs::create_directories(o.dir, ec);
    std::string templ = (o.dir / "localfs-bench-XXXXXX").string();
    if (ec || ::mkdtemp(templ.data()) == nullptr) {
      Die("cannot create a work directory in " + o.dir.string() + ": " +
          (ec ? ec.message() : std::string(std::strerror(errno))));
    }
    o.dir = templ;
  }
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

  // Each round: a full copy by both tools into fresh targets, then 1% of the tree changes
  // and both make an incremental against their own full copy. The order of the tools
  // alternates between rounds, and dirty pages are flushed before every timed step, so
  // that neither tool pays for the other's writes. rsync is timed alone and with the
  // `sync` that makes its copy durable; localfs syncs once inside its commit.
  const std::string s = src.string() + "/";
  Times full, incr;
  uint64_t changed = 0, copied = 0;
  for (int round = 0; round < o.rounds; ++round) {
    const fs::path rfull = o.dir / "rsync" / "full", rincr = o.dir / "rsync" / "incr";
    fs::remove_all(o.dir / "rsync");
    fs::remove_all(secondary);
    fs::remove_all(primary / ".lifeboat");  // no digests cached from the last round
    fs::create_directories(secondary);
    fs::create_directories(o.dir / "rsync");
    Run("sync");
    auto rsync_step = [&](const std::string& link_dest, const fs::path& to, Times& t) {
      Run("sync");
      std::string cmd = "rsync -a " +
                        (link_dest.empty() ? "" : "--link-dest='" + link_dest + "' ") + "'" + s +
                        "' '" + to.string() + "/'";
      double alone = Run(cmd);
      double flush = Run("sync");
      t.rsync.push_back(alone);
      t.rsync_sync.push_back(alone + flush);
    };
    auto localfs_step = [&](const std::string& rp, const std::string& base, Times& t) {
      Run("sync");
      Backup b = LocalfsBackup(host, primary, secondary, rp, base);
      if (!base.empty() && !b.incremental)
        Die("the localfs backup of " + rp + " was not incremental");
      t.localfs.push_back(b.seconds);
      return b;
    };
    bool rsync_first = round % 2 == 0;
    if (rsync_first) rsync_step("", rfull, full);
    localfs_step("rp1", "", full);
    if (!rsync_first) rsync_step("", rfull, full);

    changed = ChangeOnePercent(src, o, round);
    if (rsync_first) rsync_step(rfull.string(), rincr, incr);
    copied = localfs_step("rp2", "rp1", incr).bytes_copied;
    if (!rsync_first) rsync_step(rfull.string(), rincr, incr);
    std::printf(
        "round %d: full rsync %.2fs (+sync %.2fs) localfs %.2fs; incremental rsync "
        "%.2fs (+sync %.2fs) localfs %.2fs\n",
        round + 1, full.rsync.back(), full.rsync_sync.back(), full.localfs.back(),
        incr.rsync.back(), incr.rsync_sync.back(), incr.localfs.back());
  }
  Row("full", full);
  Row("incremental", incr);
  std::printf("incremental: %llu bytes changed, localfs copied %llu bytes\n",
              static_cast<unsigned long long>(changed), static_cast<unsigned long long>(copied));
  if (o.keep) {
    std::printf("kept %s\n", o.dir.c_str());
  } else {
    fs::remove_all(o.dir);
  }
  return 0;
}
