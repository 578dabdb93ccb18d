// Benchmark: real namespaces (issue 13). Many small files through the real `lifeboat` CLI on
// the embedded default (engine and localfs plugin in the CLI's process, state in RocksDB),
// against rsync on the same trees in the same run:
//
//   1. a tree of N files of 1-4 KiB in nested directories (100 files per directory),
//   2. full copy:   `lifeboat run` (cut, plan, transfer, verify at digest, commit, expire)
//                   vs `rsync -a SRC/ FULL/` (and the `sync` that makes it durable),
//   3. 0.1% of the files change (40% rewritten, 20% created, 20% deleted, 20% renamed),
//   4. incremental: `lifeboat run` vs `rsync -a --delete --link-dest=FULL SRC/ INC/` (a new
//                   tree per backup, what a point per backup is comparable to) and
//                   `rsync -a --delete SRC/ FULL/` (in place),
//   5. history (`--history=K`): K more backups of a small tree with nothing changed, and the
//      growth of a backup's time with the number of stored points (least squares).
//
// Each command runs as a child process: wall time, CPU time (user + system) and peak RSS
// (the largest of its processes: rusage of its waited-for descendants, through an
// intermediate process, so each figure is that command's alone). Lifeboat's phases come from
// its job record (`lifeboat --output json jobs show JOB`: Job.phase_times). Ratios are
// lifeboat / rsync (> 1: lifeboat takes longer or holds more memory). The load average is
// printed with every size: the machine is shared.
//
// Everything lives in a fresh directory made below --dir (mkdtemp) and removed at the end
// (unless --keep); nothing else under --dir is touched.
//
// Usage: namespace_bench [--files=2000,25000,...] [--history=K] [--history-files=N]
//                        [--dir=D] [--keep] [--no-rsync] [--lifeboat=PATH] [--plugin-dir=D]
// --keep leaves the work directory (trees, state) for profiling a further `lifeboat run`;
// --no-rsync measures lifeboat alone.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct Options {
  std::vector<int> files = {2000};
  int history = 0;
  int history_files = 100;
  fs::path dir = "/tmp";
  bool keep = false;
  bool rsync = true;
  fs::path lifeboat = LIFEBOAT_CLI_PATH;
  fs::path plugin_dir = LIFEBOAT_DEFAULT_PLUGIN_DIR;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "namespace_bench: " << what << "\n";
  std::exit(1);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// What one command cost.
struct Cost {
  double wall = 0;    // seconds
  double cpu = 0;     // user + system seconds, all its processes
  double rss_mb = 0;  // peak resident set of its largest process, MB (10^6 bytes)
};

// Runs `argv` with stdout and stderr into `log`; dies when it fails.
Cost Run(const std::vector<std::string>& argv, const fs::path& log) {
  int fds[2];
  if (::pipe(fds) != 0) Die("pipe failed");
  const auto t0 = std::chrono::steady_clock::now();
  pid_t mid = ::fork();
  if (mid < 0) Die("fork failed");
  if (mid == 0) {
    // The intermediate process: its RUSAGE_CHILDREN is exactly the command's processes.
    ::close(fds[0]);
    pid_t child = ::fork();
    if (child == 0) {
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0) ::_exit(126);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    rusage ru{};
    ::getrusage(RUSAGE_CHILDREN, &ru);
    struct {
      int status;
      rusage ru;
    } msg{status, ru};
    ssize_t n = ::write(fds[1], &msg, sizeof msg);
    ::_exit(n == static_cast<ssize_t>(sizeof msg) ? 0 : 1);
  }
  ::close(fds[1]);
  struct {
    int status;
    rusage ru;
  } msg{};
  ssize_t n = ::read(fds[0], &msg, sizeof msg);
  ::close(fds[0]);
  int mid_status = 0;
  ::waitpid(mid, &mid_status, 0);
  Cost c;
  c.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (n != static_cast<ssize_t>(sizeof msg)) Die("lost the rusage of " + argv[0]);
  if (!WIFEXITED(msg.status) || WEXITSTATUS(msg.status) != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    Die(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed (status " +
        std::to_string(msg.status) + "), output in " + log.string() + ":\n" + text.str());
  }
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  c.cpu = sec(msg.ru.ru_utime) + sec(msg.ru.ru_stime);
  c.rss_mb = msg.ru.ru_maxrss * 1024.0 / 1e6;
  return c;
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 1-4 KiB of bytes that do not repeat (xorshift), written with one write(2).
void WriteSmallFile(const fs::path& p, std::mt19937_64& gen) {
  const size_t size = 1024 + gen() % (3 * 1024 + 1);
  std::string bytes(size, '\0');
  uint64_t x = gen() | 1;
  for (size_t i = 0; i + 8 <= size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(bytes.data() + i, &x, 8);
  }
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::write(fd, bytes.data(), size) != static_cast<ssize_t>(size) || ::close(fd) != 0) {
    Die("cannot write " + p.string());
  }
}

// File i of a tree: 100 files per directory, 100 directories per group.
fs::path FilePath(const fs::path& data, int i) {
  char name[64];
  std::snprintf(name, sizeof name, "g%03d/d%03d/f%07d.bin", i / 10000, (i / 100) % 100, i);
  return data / name;
}

void Generate(const fs::path& data, int files, uint64_t seed) {
  std::mt19937_64 gen(seed);
  for (int i = 0; i < files; ++i) {
    fs::path p = FilePath(data, i);
    if (i % 100 == 0) fs::create_directories(p.parent_path());
    WriteSmallFile(p, gen);
  }
}

// Changes 0.1% of the files (at least 5): 40% rewritten, 20% created, 20% deleted, 20% renamed.
int ChangeOnePermille(const fs::path& data, int files) {
  std::mt19937_64 gen(7);
  const int n = std::max(5, files / 1000);
  std::vector<int> picked;
  while (static_cast<int>(picked.size()) < n) {
    int i = static_cast<int>(gen() % files);
    if (std::find(picked.begin(), picked.end(), i) == picked.end()) picked.push_back(i);
  }
  for (int k = 0; k < n; ++k) {
    fs::path p = FilePath(data, picked[k]);
    switch (k % 5) {
      case 0:
      case 1:
        WriteSmallFile(p, gen);
        break;
      case 2:
        WriteSmallFile(p.parent_path() / ("new" + std::to_string(k) + ".bin"), gen);
        break;
      case 3:
        fs::remove(p);
        break;
      default:
        fs::rename(p, p.parent_path() / ("renamed" + std::to_string(k) + ".bin"));
        break;
    }
  }
  return n;
}

// One size's work directory: the clusters' roots, the CLI's state, rsync's copies.
struct Bench {
  const Options& o;
  fs::path work;
  fs::path primary() const { return work / "primary"; }
  fs::path secondary() const { return work / "secondary"; }
  fs::path data() const { return primary() / "data"; }
  fs::path state() const { return work / "state"; }
  fs::path logs() const { return work / "logs"; }

  std::vector<std::string> Cli(std::vector<std::string> args) const {
    std::vector<std::string> argv = {o.lifeboat.string(), "--plugin-dir", o.plugin_dir.string(),
                                     "--state-dir", state().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  void Apply() const {
    fs::create_directories(data());
    fs::create_directories(secondary());
    fs::create_directories(logs());
    std::ofstream yaml(work / "bench.yaml");
    yaml << "kind: Cluster\nname: primary\ncomponents:\n  - component: localfs\n"
         << "    config: {root: \"" << primary().string() << "\"}\n---\n"
         << "kind: Cluster\nname: dr\ncomponents:\n  - component: localfs\n"
         << "    config: {root: \"" << secondary().string() << "\"}\n---\n"
         << "kind: Service\nname: bench\nprimary: primary\nsecondary: dr\n"
         << "data_sets:\n  - localfs:/data\n---\n"
         << "kind: Policy\nname: bench\nservice: bench\nschedule: {cron: \"0 * * * *\"}\n"
         << "rpo: 2h\nretention: {keep: 100000}\nconsistency: crash\nverification: digest\n";
    yaml.close();
    Run(Cli({"apply", "-f", (work / "bench.yaml").string()}), logs() / "apply.log");
  }

  // A backup through the CLI: its cost and its job record.
  std::pair<Cost, json> Backup(const std::string& label) const {
    fs::path log = logs() / (label + ".log");
    Cost c = Run(Cli({"run", "bench"}), log);
    std::string out = ReadText(log);
    size_t at = out.rfind("job-");
    if (at == std::string::npos) Die("no job id in the output of lifeboat run: " + out);
    std::string job = out.substr(at, out.find_first_of(" \n", at) - at);
    fs::path show = logs() / (label + "-job.json");
    Run(Cli({"--output", "json", "jobs", "show", job}), show);
    json j = json::parse(ReadText(show));
    if (j.value("state", "") != "JOB_SUCCEEDED") Die(label + ": job " + job + " did not succeed");
    return {c, j};
  }
};

double Nanos(const json& v) {
  return v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
}

// Seconds per phase (and step: "transfer.plan") of a job record.
std::map<std::string, double> PhaseSeconds(const json& job) {
  std::map<std::string, double> out;
  for (const auto& t : job.value("phase_times", json::array())) {
    std::string name = t.value("phase", "PHASE_UNSPECIFIED").substr(6);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (!t.value("step", "").empty()) name += "." + t.value("step", "");
    double s = (Nanos(t.value("finished_unix_nanos", json(0))) -
                Nanos(t.value("started_unix_nanos", json(0)))) /
               1e9;
    out[name] += s;
  }
  return out;
}

std::string PhaseLine(const std::map<std::string, double>& p) {
  // Phases in order, each followed by the steps inside it in brackets.
  static const std::vector<std::pair<const char*, std::vector<const char*>>> kOrder = {
      {"plan", {}},
      {"prepare", {}},
      {"cut", {}},
      {"transfer", {"plan"}},
      {"verify", {}},
      {"commit", {}},
      {"expire", {"security", "release"}}};
  std::string line;
  char buf[64];
  for (const auto& [phase, steps] : kOrder) {
    auto it = p.find(phase);
    if (it == p.end()) continue;
    std::snprintf(buf, sizeof buf, "%s %.2fs", phase, it->second);
    line += buf;
    std::string inner;
    for (const char* step : steps) {
      auto s = p.find(std::string(phase) + "." + step);
      if (s == p.end()) continue;
      std::snprintf(buf, sizeof buf, "%s%s %.2fs", inner.empty() ? "" : ", ", step, s->second);
      inner += buf;
    }
    line += inner.empty() ? "  " : " (" + inner + ")  ";
  }
  return line.empty() ? "(no phase times in the job record)" : line;
}

void PrintCost(const char* what, const Cost& c, int files) {
  std::printf("  %-42s %8.2fs  cpu %7.2fs  peak RSS %8.1f MB  %8.0f files/s\n", what, c.wall, c.cpu,
              c.rss_mb, files / c.wall);
}

json CostJson(const std::string& tool, const std::string& run, int files, const Cost& c) {
  return {{"tool", tool},     {"run", run},     {"files", files},
          {"wall_s", c.wall}, {"cpu_s", c.cpu}, {"peak_rss_mb", c.rss_mb}};
}

void OneSize(const Options& o, const fs::path& work, int files) {
  Bench b{o, work};
  b.Apply();
  const auto t0 = std::chrono::steady_clock::now();
  Generate(b.data(), files, 42);
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\n== %d files of 1-4 KiB in %d directories (generated in %.1fs); load average %s\n",
              files, (files + 99) / 100, gen_s, LoadAverage().c_str());
  const std::string src = b.data().string() + "/";
  const fs::path full = work / "rsync-full", inc = work / "rsync-inc";
  std::vector<json> lines;
  auto rsync = [&](const std::string& run, const std::string& label,
                   const std::vector<std::string>& argv) -> std::optional<Cost> {
    if (!o.rsync) return std::nullopt;
    Cost c = Run(argv, b.logs() / ("rsync-" + run + ".log"));
    lines.push_back(CostJson(label, run, files, c));
    return c;
  };
  auto lifeboat = [&](const std::string& run) {
    auto [c, job] = b.Backup(run);
    json line = CostJson("lifeboat", run, files, c);
    line["phases"] = PhaseSeconds(job);
    lines.push_back(line);
    PrintCost(run == "full" ? "lifeboat run (to the commit's syncfs)" : "lifeboat run", c, files);
    std::printf("    phases: %s\n", PhaseLine(PhaseSeconds(job)).c_str());
    return c;
  };

  // Full copies. rsync first: both read the tree just written (in the page cache).
  auto rsync_full = rsync("full", "rsync -a", {"rsync", "-a", src, full.string() + "/"});
  std::optional<Cost> sync_after;
  if (rsync_full) sync_after = Run({"sync"}, b.logs() / "sync.log");
  std::printf("full copy\n");
  Cost lb_full = lifeboat("full");
  if (rsync_full) {
    PrintCost("rsync -a", *rsync_full, files);
    Cost synced{rsync_full->wall + sync_after->wall, rsync_full->cpu + sync_after->cpu,
                rsync_full->rss_mb};
    PrintCost("rsync -a + sync", synced, files);
    std::printf("  ratio lifeboat/rsync: time %.2f (vs rsync+sync %.2f), peak RSS %.1f\n",
                lb_full.wall / rsync_full->wall, lb_full.wall / synced.wall,
                lb_full.rss_mb / rsync_full->rss_mb);
  }

  // Incrementals. --link-dest first: it needs the full copy as it was.
  const int changed = ChangeOnePermille(b.data(), files);
  auto rsync_link =
      rsync("link-dest", "rsync --link-dest",
            {"rsync", "-a", "--delete", "--link-dest=" + full.string(), src, inc.string() + "/"});
  auto rsync_inplace =
      rsync("in-place", "rsync in place", {"rsync", "-a", "--delete", src, full.string() + "/"});
  std::printf("incremental, %d files changed (0.1%%)\n", changed);
  Cost lb_inc = lifeboat("incremental");
  if (rsync_link && rsync_inplace) {
    PrintCost("rsync -a --delete --link-dest (new tree)", *rsync_link, files);
    PrintCost("rsync -a --delete (in place)", *rsync_inplace, files);
    std::printf(
        "  ratio lifeboat/rsync: time %.2f vs --link-dest, %.2f vs in place; peak RSS %.1f vs "
        "--link-dest\n",
        lb_inc.wall / rsync_link->wall, lb_inc.wall / rsync_inplace->wall,
        lb_inc.rss_mb / rsync_link->rss_mb);
  }
  std::printf("load average after: %s\n", LoadAverage().c_str());
  for (const json& line : lines) std::printf("%s\n", line.dump().c_str());
}

// Least-squares slope of y over x = 1..n.
double Slope(const std::vector<double>& y) {
  const double n = static_cast<double>(y.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double x = static_cast<double>(i + 1);
    sx += x;
    sy += y[i];
    sxx += x * x;
    sxy += x * y[i];
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

void History(const Options& o, const fs::path& work) {
  Bench b{o, work};
  b.Apply();
  Generate(b.data(), o.history_files, 43);
  std::printf("\n== history: %d backups of %d files with nothing changed; load average %s\n",
              o.history, o.history_files, LoadAverage().c_str());
  std::vector<double> wall, cpu;
  std::map<std::string, std::vector<double>> phases;
  for (int k = 1; k <= o.history; ++k) {
    auto [c, job] = b.Backup("history-" + std::to_string(k));
    wall.push_back(c.wall);
    cpu.push_back(c.cpu);
    for (const auto& [name, s] : PhaseSeconds(job)) phases[name].push_back(s);
    if (k <= 3 || k == o.history || k % std::max(1, o.history / 10) == 0) {
      std::printf("  backup %4d (%4d points stored before it): %.3fs  cpu %.3fs\n", k, k - 1,
                  c.wall, c.cpu);
    }
  }
  std::printf(
      "  growth per stored point (least squares over %d backups): wall %+.3f ms, cpu "
      "%+.3f ms\n",
      o.history, Slope(wall) * 1e3, Slope(cpu) * 1e3);
  std::string line = "    by phase (ms per point):";
  char buf[64];
  for (const auto& [name, ys] : phases) {
    if (ys.size() != wall.size()) continue;
    std::snprintf(buf, sizeof buf, " %s %+.3f", name.c_str(), Slope(ys) * 1e3);
    line += buf;
  }
  std::printf("%s\n", line.c_str());
  std::printf("%s\n", json({{"tool", "lifeboat"},
                            {"run", "history"},
                            {"backups", o.history},
                            {"files", o.history_files},
                            {"wall_ms_per_point", Slope(wall) * 1e3},
                            {"cpu_ms_per_point", Slope(cpu) * 1e3},
                            {"first_wall_s", wall.front()},
                            {"last_wall_s", wall.back()}})
                          .dump()
                          .c_str());
}

std::vector<int> ParseSizes(const std::string& v) {
  std::vector<int> out;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) {
    int n = std::atoi(item.c_str());
    if (n < 100) Die("--files takes sizes of at least 100, comma-separated: " + v);
    out.push_back(n);
  }
  if (out.empty()) Die("--files takes at least one size");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows while a long size runs
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& key) -> const char* {
      return a.rfind(key, 0) == 0 ? argv[i] + key.size() : nullptr;
    };
    if (const char* v = value("--files=")) {
      o.files = ParseSizes(v);
    } else if (const char* v = value("--history=")) {
      o.history = std::atoi(v);
    } else if (const char* v = value("--history-files=")) {
      o.history_files = std::max(1, std::atoi(v));
    } else if (const char* v = value("--dir=")) {
      o.dir = v;
    } else if (const char* v = value("--lifeboat=")) {
      o.lifeboat = v;
    } else if (const char* v = value("--plugin-dir=")) {
      o.plugin_dir = v;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--no-rsync") {
      o.rsync = false;
    } else {
      Die("unknown argument " + a +
          "; usage: namespace_bench [--files=N,N,...] [--history=K] [--history-files=N] "
          "[--dir=D] [--keep] [--no-rsync] [--lifeboat=PATH] [--plugin-dir=D]");
    }
  }
  fs::create_directories(o.dir);
  std::string tmpl = (o.dir / "namespace-bench.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) Die("cannot make a directory below " + o.dir.string());
  const fs::path top = tmpl;
  std::printf("namespace_bench: lifeboat %s, work in %s\n", o.lifeboat.c_str(), top.c_str());
  for (int n : o.files) {
    const fs::path work = top / ("files-" + std::to_string(n));
    OneSize(o, work, n);
    if (!o.keep) fs::remove_all(work);
  }
  if (o.history > 0) History(o, top / "history");
  if (!o.keep) fs::remove_all(top);
  std::fflush(stdout);
  return 0;
}
