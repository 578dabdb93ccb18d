// Benchmark: the hdfs plugin against DistCp, in the same run, on the same data, between the
// two clusters of the HDFS rig (tools/scripts/rig.sh start hdfs).
//
//   1. generates a tree on the primary (default ~1 GiB in 1,000 files, 0.5-1.5 MiB each, in
//      10 directories), written over WebHDFS by 4 threads,
//   2. full copy: a plugin backup (cut = snapshot lifeboat-rp1, plan, transfer with the
//      plan's tasks `--parallelism` at a time as the engine runs them, commit; verify is
//      timed apart, at both levels: `size`, which vouches for the bytes by the digests the
//      transfer streamed and the HDFS checksums the DataNodes compute, and `digest`, which
//      reads the point back) into the secondary's /<base>/data, then DistCp of the same snapshot
//      (`-update -pugpbrtax`, checksums compared as DistCp does by default) into
//      /<base>/distcp, whose snapshot lifeboat-rp1 is then taken (untimed) for -diff,
//   3. changes 1% of the files (a quarter overwritten, a quarter appended to, a quarter
//      created, a quarter deleted, and two renamed),
//   4. incremental: a plugin backup with base rp1 (plan from the snapshot diff), then
//      `distcp -update -diff lifeboat-rp1 lifeboat-rp2 -pugpbrtax`,
//   5. prints the times, the full copy's throughput ratio (plugin MB/s / DistCp MB/s) and the
//      incremental's time ratio (plugin s / DistCp s), without verify and with it (at `size`,
//      DistCp's own check being a checksum comparison; `digest` apart); target: >= 1 and <= 1.
//
// DistCp runs as its own JVM (tests/rig/distcp: hadoop-distcp 3.5.0, the local job runner,
// --maps = --parallelism map tasks at once), started from the jar rig.sh built beside the
// rig's endpoints file. Its time is the process's (JVM start included) and, apart, the job's
// own time as DistCp reports it. The plugin runs in this process through its C table, as
// the host calls it (no JVM). The plugin goes first each time, so DistCp reads blocks the
// plugin has just read (a warm page cache on the DataNodes: in DistCp's favour).
//
// Usage: hdfs_distcp_bench [--mib N] [--files N] [--parallelism N] [--keep]
//        [--endpoints FILE] [--distcp-jar JAR] [--java JAVA] [--work DIR]
// Without a rig (no LIFEBOAT_RIG_HDFS and no --endpoints) it exits 77 (skipped), unless
// LIFEBOAT_RIG_REQUIRED=1, where that is an error.
#include <lifeboat/abi.h>
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rig_endpoints.h"
#include "webhdfs.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace fs = std::filesystem;
namespace v1 = lifeboat::v1;
using lifeboat::StatusOr;
using lifeboat::hdfs::FileStatus;
using lifeboat::hdfs::WebHdfsClient;

namespace {

struct Options {
  uint64_t mib = 1024;
  int files = 1000;
  int parallelism = 4;
  bool keep = false;
  std::string endpoints;
  std::string distcp_jar;
  std::string java;
  std::string work = "/tmp/lifeboat-hdfs-bench";
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "hdfs_distcp_bench: " << what << "\n";
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string RandomBytes(uint64_t size, std::mt19937_64& gen) {
  std::string out(size, '\0');
  for (uint64_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = gen();
    std::memcpy(&out[i], &v, 8);
  }
  for (uint64_t i = size - size % 8; i < size; ++i) out[i] = static_cast<char>(gen());
  return out;
}

// Runs `count` jobs on `threads` threads; the first error stops the program.
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

struct Cluster {
  std::string namenode_http;  // host:port
  std::string fs_uri;         // hdfs://host:port
  std::string user;
};

class Bench {
 public:
  Bench(Options o, Cluster primary, Cluster secondary)
      : o_(std::move(o)), primary_(std::move(primary)), secondary_(std::move(secondary)) {
    base_ = "/lifeboat-bench-" + std::to_string(::getpid());
    data_ = base_ + "/data";
    distcp_ = base_ + "/distcp";
    src_ = std::make_unique<WebHdfsClient>(ClientOptions(primary_));
    dst_ = std::make_unique<WebHdfsClient>(ClientOptions(secondary_));
    api_ = lifeboat_plugin_init(host_.table());
    plugin_src_ = Instance("primary", primary_);
    plugin_dst_ = Instance("secondary", secondary_);
  }
  ~Bench() {
    api_->destroy(plugin_src_);
    api_->destroy(plugin_dst_);
  }

  void Run();

 private:
  static WebHdfsClient::Options ClientOptions(const Cluster& c) {
    WebHdfsClient::Options w;
    w.namenodes = {"http://" + c.namenode_http};
    w.user = c.user;
    w.timeout_seconds = 300;
    return w;
  }
  v1::PluginConfig Config(const std::string& name, const Cluster& c) const {
    v1::PluginConfig config;
    config.set_plugin("hdfs");
    config.set_cluster(name);
    config.set_config_json(nlohmann::json{
        {"namenodes", {c.namenode_http}}, {"user", c.user}, {"parallelism", o_.parallelism}}
                               .dump());
    return config;
  }
  lb_instance* Instance(const std::string& name, const Cluster& c) {
    StatusOr<lb_instance*> made = host_.Create(api_, Config(name, c));
    if (!made.ok()) Die(made.status().ToString());
    return *made;
  }
  template <typename Resp, typename Req>
  Resp Call(lb_instance* i, lb_op op, const Req& req, const char* what) {
    StatusOr<Resp> r = host_.Call<Resp>(api_, i, op, req);
    if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
    return *std::move(r);
  }

  void Generate();
  uint64_t Change();
  struct Backup {
    double cut = 0, plan = 0, transfer = 0, commit = 0, verify = 0, verify_digest = 0, seconds = 0;
    uint64_t bytes = 0;
    bool incremental = false;
  };
  Backup PluginBackup(const std::string& rp, const std::string& base);
  struct DistCpRun {
    double process = 0, job = 0;
    uint64_t bytes = 0, files = 0;
  };
  DistCpRun DistCp(const std::vector<std::string>& args);
  void Cleanup();

  Options o_;
  Cluster primary_, secondary_;
  std::string base_, data_, distcp_;
  std::unique_ptr<WebHdfsClient> src_, dst_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  lb_instance* plugin_src_ = nullptr;
  lb_instance* plugin_dst_ = nullptr;
  std::vector<std::string> names_;  // relative paths of the generated files
  std::vector<uint64_t> sizes_;
};

void Bench::Generate() {
  const uint64_t total = o_.mib << 20;
  const uint64_t avg = std::max<uint64_t>(1, total / static_cast<uint64_t>(o_.files));
  std::mt19937_64 gen(42);
  for (int i = 0; i < o_.files; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "d%02d/file-%05d.bin", i % 10, i);
    names_.push_back(name);
    sizes_.push_back(avg / 2 + gen() % (avg + 1));
  }
  for (int d = 0; d < 10 && d < o_.files; ++d) {
    char dir[32];
    std::snprintf(dir, sizeof dir, "/d%02d", d);
    if (!src_->Mkdirs(data_ + dir).ok()) Die("mkdir " + data_ + dir);
  }
  Parallel(4, o_.files, [&](int i) {
    std::mt19937_64 g(static_cast<uint64_t>(i) * 7919 + 1);
    lifeboat::Status s = src_->Create(data_ + "/" + names_[i], RandomBytes(sizes_[i], g),
                                      WebHdfsClient::CreateOptions());
    if (!s.ok()) Die(s.ToString());
  });
}

uint64_t Bench::Change() {
  const int k = std::max(4, o_.files / 100);
  std::mt19937_64 gen(7);
  uint64_t changed = 0;
  WebHdfsClient::CreateOptions overwrite;
  overwrite.overwrite = true;
  for (int j = 0; j < k; ++j) {
    const int i = (j * 97 + 13) % o_.files;
    const std::string path = data_ + "/" + names_[i];
    switch (j % 4) {
      case 0: {  // overwritten, same size, new content
        if (!src_->Create(path, RandomBytes(sizes_[i], gen), overwrite).ok()) Die("overwrite");
        changed += sizes_[i];
        break;
      }
      case 1: {  // appended to
        if (!src_->Append(path, RandomBytes(64 << 10, gen)).ok()) Die("append " + path);
        changed += 64 << 10;
        break;
      }
      case 2: {  // a new file beside it
        uint64_t size = sizes_[i];
        if (!src_->Create(path + ".new", RandomBytes(size, gen), overwrite).ok()) Die("create");
        changed += size;
        break;
      }
      default:
        if (!src_->Delete(path, false).ok()) Die("delete " + path);
    }
  }
  // Two renames: a file into another directory, and a whole directory's file under a new name.
  const std::string a = data_ + "/" + names_[1 % o_.files];
  if (!src_->Rename(a, a + ".renamed").ok()) Die("rename " + a);
  const std::string b = data_ + "/" + names_[2 % o_.files];
  if (!src_->Rename(b, data_ + "/d00/moved-here.bin").ok()) Die("rename " + b);
  return changed;
}

Bench::Backup Bench::PluginBackup(const std::string& rp, const std::string& base) {
  Backup r;
  v1::DataSet ds;
  ds.set_component("hdfs");
  ds.set_selector(data_);
  auto start = std::chrono::steady_clock::now();
  v1::CutRequest cut_req;
  cut_req.set_op_id("cut-" + rp);
  *cut_req.mutable_data_set() = ds;
  cut_req.set_restore_point_id(rp);
  v1::CutResponse cut = Call<v1::CutResponse>(plugin_src_, LB_OP_CUT, cut_req, "cut");
  r.cut = Seconds(start);
  v1::Peer peer;
  *peer.mutable_config() = Config("primary", primary_);
  v1::PlanTransferRequest plan_req;
  plan_req.set_op_id("plan-" + rp);
  *plan_req.mutable_source() = peer;
  *plan_req.mutable_snapshot() = cut.snapshot();
  plan_req.set_base_restore_point_id(base);
  v1::PlanTransferResponse plan =
      Call<v1::PlanTransferResponse>(plugin_dst_, LB_OP_PLAN_TRANSFER, plan_req, "plan");
  r.incremental = plan.incremental();
  r.plan = Seconds(start) - r.cut;
  // As the engine runs them: the tasks in plan order, `parallelism` at a time.
  std::atomic<uint64_t> bytes{0};
  Parallel(o_.parallelism, plan.tasks_size(), [&](int i) {
    v1::TransferRequest req;
    req.set_op_id("transfer-" + rp + "-" + plan.tasks(i).task_id());
    *req.mutable_source() = peer;
    *req.mutable_snapshot() = cut.snapshot();
    *req.mutable_task() = plan.tasks(i);
    v1::TransferResponse done =
        Call<v1::TransferResponse>(plugin_dst_, LB_OP_TRANSFER, req, "transfer");
    bytes += done.bytes_copied();
  });
  r.bytes = bytes.load();
  r.transfer = Seconds(start) - r.cut - r.plan;
  // Verify as the engine runs it, before the commit: at `size` (counted), then at `digest`
  // (apart; it reads the point back).
  auto verify_at = [&](v1::VerifyLevel level) {
    auto verify_start = std::chrono::steady_clock::now();
    v1::VerifyRequest verify;
    verify.set_op_id("verify-" + rp + "-" + v1::VerifyLevel_Name(level));
    *verify.mutable_snapshot() = cut.snapshot();
    verify.set_level(level);
    v1::VerifyResponse verified =
        Call<v1::VerifyResponse>(plugin_dst_, LB_OP_VERIFY, verify, "verify");
    if (!verified.ok()) Die("verify of " + rp + " found mismatches");
    return Seconds(verify_start);
  };
  r.verify = verify_at(v1::VERIFY_SIZE);
  r.verify_digest = verify_at(v1::VERIFY_DIGEST);
  auto commit_start = std::chrono::steady_clock::now();
  v1::CommitRequest commit;
  commit.set_op_id("commit-" + rp);
  *commit.mutable_snapshot() = cut.snapshot();
  commit.set_base_restore_point_id(base);
  Call<v1::CommitResponse>(plugin_dst_, LB_OP_COMMIT, commit, "commit");
  r.commit = Seconds(commit_start);
  r.seconds = r.cut + r.plan + r.transfer + r.commit;
  std::printf(
      "  plugin %s (%s): cut %.2fs plan %.2fs transfer %.2fs commit %.2fs = %.2fs, %.1f MiB "
      "copied; verify at size (recorded digests, HDFS checksums) %.2fs, at digest (read "
      "back) %.2fs\n",
      rp.c_str(), r.incremental ? "incremental" : "full", r.cut, r.plan, r.transfer, r.commit,
      r.seconds, r.bytes / 1048576.0, r.verify, r.verify_digest);
  std::fflush(stdout);
  return r;
}

Bench::DistCpRun Bench::DistCp(const std::vector<std::string>& args) {
  std::string flags;
  std::ifstream in(LIFEBOAT_DISTCP_FLAGS);
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    flags += " " + line;
  }
  std::string cmd = o_.java + flags + " -jar '" + o_.distcp_jar + "' --work-dir '" + o_.work +
                    "' --maps " + std::to_string(o_.parallelism) + " --";
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " 2>'" + o_.work + "/distcp.log'";
  auto start = std::chrono::steady_clock::now();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) Die("cannot run " + cmd);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int rc = ::pclose(p);
  DistCpRun r;
  r.process = Seconds(start);
  nlohmann::json j = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
  if (rc != 0 || j.is_discarded() || !j.value("ok", false)) {
    Die("DistCp failed (" + out + "); command: " + cmd + "; log: " + o_.work + "/distcp.log");
  }
  r.job = j.value("seconds", 0.0);
  r.bytes = j.value("bytes_copied", uint64_t{0});
  r.files = j.value("files_copied", uint64_t{0});
  std::printf("  distcp: %.2fs (job %.2fs, JVM start and exit %.2fs), %.1f MiB in %llu files\n",
              r.process, r.job, r.process - r.job, r.bytes / 1048576.0,
              static_cast<unsigned long long>(r.files));
  std::fflush(stdout);
  return r;
}

void Bench::Cleanup() {
  for (WebHdfsClient* c : {src_.get(), dst_.get()}) {
    for (const std::string& dir : {data_, distcp_}) {
      StatusOr<FileStatus> st = c->GetFileStatus(dir);
      if (st.ok() && st->snapshot_enabled) {
        StatusOr<std::vector<lifeboat::hdfs::SnapshotInfo>> snaps = c->GetSnapshotList(dir);
        if (snaps.ok()) {
          for (const auto& s : *snaps) (void)c->DeleteSnapshot(dir, s.name);
        }
      }
    }
    (void)c->Delete(base_, /*recursive=*/true);
    (void)c->Delete("/.lifeboat/state" + data_, /*recursive=*/true);
  }
}

void Bench::Run() {
  fs::create_directories(o_.work);
  auto gen_start = std::chrono::steady_clock::now();
  Generate();
  uint64_t total = 0;
  for (uint64_t s : sizes_) total += s;
  std::printf("tree: %d files, %.1f MiB, generated on the primary in %.1fs\n", o_.files,
              total / 1048576.0, Seconds(gen_start));

  const std::string src_uri = primary_.fs_uri + data_;
  const std::string dp = "-pugpbrtax";
  Backup full = PluginBackup("rp1", "");
  DistCpRun dfull =
      DistCp({"-update", dp, src_uri + "/.snapshot/lifeboat-rp1", secondary_.fs_uri + distcp_});
  // DistCp's -diff needs the base snapshot on its target too (not timed).
  if (!dst_->AllowSnapshot(distcp_).ok() || !dst_->CreateSnapshot(distcp_, "lifeboat-rp1").ok()) {
    Die("cannot snapshot " + distcp_ + " on the secondary");
  }

  uint64_t changed = Change();
  std::printf("changed 1%% of the files: %.1f MiB of new data\n", changed / 1048576.0);
  Backup incr = PluginBackup("rp2", "rp1");
  DistCpRun dincr = DistCp({"-update", "-diff", "lifeboat-rp1", "lifeboat-rp2", dp, src_uri,
                            secondary_.fs_uri + distcp_});
  if (!incr.incremental) Die("the plugin's second backup was not incremental");

  const double mib = total / 1048576.0;
  std::printf(
      "full         plugin %6.2fs (%6.1f MiB/s)  distcp %6.2fs (%6.1f MiB/s; job %6.2fs)  "
      "throughput ratio plugin/distcp %4.2f (vs the job alone %4.2f)\n",
      full.seconds, mib / full.seconds, dfull.process, mib / dfull.process, dfull.job,
      dfull.process / full.seconds, dfull.job / full.seconds);
  std::printf(
      "incremental  plugin %6.2fs  distcp %6.2fs (job %6.2fs)  time ratio plugin/distcp %4.2f "
      "(vs the job alone %4.2f)\n",
      incr.seconds, dincr.process, dincr.job, incr.seconds / dincr.process,
      incr.seconds / dincr.job);
  std::printf("incremental: plugin copied %.1f MiB, distcp %.1f MiB\n", incr.bytes / 1048576.0,
              dincr.bytes / 1048576.0);
  // The engine verifies every backup; DistCp's time includes its own checksum comparison. So
  // the plugin with its verify, too: at `size`, the same kind of check (no bytes read back),
  // and at `digest`, which reads the whole point back.
  std::printf(
      "with the plugin's verify at size: full %.2fs, throughput ratio %4.2f; incremental "
      "%.2fs, time ratio %4.2f\n",
      full.seconds + full.verify, dfull.process / (full.seconds + full.verify),
      incr.seconds + incr.verify, (incr.seconds + incr.verify) / dincr.process);
  std::printf(
      "with the plugin's verify at digest: full %.2fs, throughput ratio %4.2f; incremental "
      "%.2fs, time ratio %4.2f\n",
      full.seconds + full.verify_digest, dfull.process / (full.seconds + full.verify_digest),
      incr.seconds + incr.verify_digest, (incr.seconds + incr.verify_digest) / dincr.process);
  if (!o_.keep) Cleanup();
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
      o.files = std::max(4, std::stoi(next()));
    else if (a == "--parallelism")
      o.parallelism = std::max(1, std::stoi(next()));
    else if (a == "--keep")
      o.keep = true;
    else if (a == "--endpoints")
      o.endpoints = next();
    else if (a == "--distcp-jar")
      o.distcp_jar = next();
    else if (a == "--java")
      o.java = next();
    else if (a == "--work")
      o.work = next();
    else
      Die("unknown argument " + a + " (see the header of hdfs_vs_distcp.cc)");
  }
  std::optional<nlohmann::json> endpoints = lifeboat::bench::HdfsRigEndpoints(&o.endpoints);
  if (!endpoints) return 77;
  const nlohmann::json& ep = *endpoints;
  if (o.distcp_jar.empty()) {
    o.distcp_jar =
        (fs::path(o.endpoints).parent_path() / "jars/rig-distcp/rig-distcp.jar").string();
  }
  if (!fs::exists(o.distcp_jar)) {
    Die(o.distcp_jar + " is missing: tools/scripts/rig.sh build makes it (tests/rig/distcp)");
  }
  if (o.java.empty()) {
    const char* home = std::getenv("JAVA_HOME");
    o.java = home != nullptr ? std::string(home) + "/bin/java"
             : fs::exists("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")
                 ? "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
                 : "java";
  }
  auto cluster = [&](const char* name) {
    const nlohmann::json& c = ep["clusters"][name];
    return Cluster{c.value("namenode_http", ""), c.value("fs_uri", ""), c.value("user", "")};
  };
  std::printf(
      "hdfs plugin vs DistCp: %llu MiB in %d files, parallelism %d (plugin tasks and "
      "files at once; DistCp maps)\n",
      static_cast<unsigned long long>(o.mib), o.files, o.parallelism);
  Bench bench(o, cluster("primary"), cluster("secondary"));
  bench.Run();
  return 0;
}
