// The localfs rig for the conformance suite: two directories stand for the primary and
// the secondary cluster.
#include <fcntl.h>
#include <grp.h>
#include <lifeboat/testing/conformance.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

namespace lifeboat::localfs {
namespace {

namespace fs = std::filesystem;
using testing::BadConfig;
using testing::ChangeSet;
using testing::ContentMap;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

void WriteFile(const fs::path& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
  ::chmod(path.c_str(), mode);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void ClearImmutable(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL) != 0) {
    flags &= ~FS_IMMUTABLE_FL;
    ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  ::close(fd);
}

Status AppendByte(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return PermissionDeniedError("cannot open " + path.string() + " for writing");
  bool written = ::write(fd, "x", 1) == 1;
  ::close(fd);
  if (!written) return PermissionDeniedError("cannot write " + path.string());
  return OkStatus();
}

std::string Octal(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

ContentMap Capture(const fs::path& root) {
  ContentMap map;
  if (!fs::exists(root)) return map;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).generic_string();
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      map[rel] = "link -> " + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      map[rel] = "dir mode=" + Octal(st.st_mode);
    } else if (S_ISREG(st.st_mode)) {
      std::string content = ReadFile(it->path());
      map[rel] = "file size=" + std::to_string(st.st_size) + " mode=" + Octal(st.st_mode) +
                 " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
                 std::to_string(st.st_mtim.tv_nsec) +
                 " hash=" + std::to_string(std::hash<std::string>()(content));
    }
  }
  return map;
}

class LocalfsRig : public testing::ConformanceRig {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-localfs-conformance-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    base_ = tmpl;
    fs::create_directories(base_ / "primary");
    fs::create_directories(base_ / "secondary");
    // mkdtemp makes it 0700; an application that is not root must reach the data sets.
    ::chmod(base_.c_str(), 0755);
    changes_ = 0;
    renamed_ = "a.txt";
  }
  void TearDown() override {
    std::error_code ec;
    if (base_.empty()) return;
    // A check that failed while the target was fenced leaves immutable items behind.
    for (auto it = fs::recursive_directory_iterator(base_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_symlink(ec)) ClearImmutable(it->path());
    }
    fs::remove_all(base_, ec);
  }

  std::string PluginName() const override { return "localfs"; }

  v1::PluginConfig SourceConfig() const override { return Config("primary", base_ / "primary"); }
  v1::PluginConfig TargetConfig() const override {
    return Config("secondary", base_ / "secondary");
  }

  std::vector<BadConfig> BadConfigs() const override {
    return {
        {"missing root", "{}", "root"},
        {"relative root", R"({"root": "relative/dir"})", "root"},
        {"root that does not exist", R"({"root": "/nonexistent/lifeboat/root"})", "root"},
        {"root of the wrong type", R"({"root": 42})", "root"},
        {"parallelism out of range",
         R"({"root": ")" + (base_ / "primary").string() + R"(", "parallelism": 0})", "parallelism"},
        {"not JSON", "{root:", "JSON"},
    };
  }

  v1::DataSet DataSet() const override {
    v1::DataSet ds;
    ds.set_component("localfs");
    ds.set_selector("/data");
    return ds;
  }

  void Populate(uint64_t large_bytes) override {
    fs::path d = Data();
    WriteFile(d / "a.txt", "alpha\n");
    WriteFile(d / "dir1" / "b.bin", RandomBytes(10000, 1));
    WriteFile(d / "dir1" / "sub" / "c.txt", "charlie charlie\n");
    WriteFile(d / "run.sh", "#!/bin/sh\necho hi\n", 0755);
    WriteFile(d / "private.txt", "secret-ish\n", 0600);
    WriteFile(d / "shared.txt", "anyone may append\n", 0666);
    WriteFile(d / "empty_file", "");
    WriteFile(d / "large.bin", RandomBytes(large_bytes, 2));
    fs::create_directories(d / "empty_dir");
    ::chmod((d / "empty_dir").c_str(), 0750);
    fs::create_symlink("a.txt", d / "link_to_a");
    fs::create_symlink("/nonexistent/target", d / "dangling_link");
  }

  ChangeSet ApplyChanges() override {
    ++changes_;
    const uint32_t n = changes_;
    fs::path d = Data();
    ChangeSet cs;
    std::string created = RandomBytes(5000 + n, 100 + n);
    WriteFile(d / ("new_" + std::to_string(n) + ".txt"), created);
    std::string modified = RandomBytes(12000 + n, 200 + n);
    WriteFile(d / "dir1" / "b.bin", modified);  // in place, as most writers do
    cs.changed_bytes = created.size() + modified.size();
    cs.changed_items = 2;
    if (n == 1) {
      fs::remove(d / "dir1" / "sub" / "c.txt");
    } else {
      fs::remove(d / ("new_" + std::to_string(n - 1) + ".txt"));
    }
    std::string renamed = "renamed_" + std::to_string(n) + ".txt";
    fs::rename(d / renamed_, d / renamed);
    renamed_ = renamed;
    return cs;
  }

  ContentMap CaptureSource() const override { return Capture(Data()); }
  fs::path Foreign(const std::string& destination) const {
    return base_ / "secondary" / destination.substr(1) / "data" / "foreign.txt";
  }

  std::string RestoreDestination(int n) const override { return "/restored_" + std::to_string(n); }
  // The data set lands below the destination, at its own selector (/data).
  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(base_ / "secondary" / destination.substr(1) / "data");
  }

  std::string PlantForeignItem(const std::string& destination) override {
    WriteFile(Foreign(destination), "not Lifeboat's\n");
    return "foreign.txt";
  }
  bool ForeignItemIntact(const std::string& destination) const override {
    std::ifstream in(Foreign(destination), std::ios::binary);
    return in && std::string(std::istreambuf_iterator<char>(in), {}) == "not Lifeboat's\n";
  }
  std::string BadRestoreDestination() const override { return "/restored/../data"; }

  // Appends to shared.txt (mode 0666) of the target's live data set as uid/gid 65534 in a
  // child process when running as root (an application, not the agent), else as this user.
  Status ApplicationWriteOnTarget() override {
    const fs::path file = base_ / "secondary" / "data" / "shared.txt";
    if (::geteuid() != 0) return AppendByte(file);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
        _exit(250);
      }
      Status s = AppendByte(file);
      _exit(s.ok() ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      return InternalError("the application process did not finish");
    }
    if (WEXITSTATUS(status) == 0) return OkStatus();
    return PermissionDeniedError("uid 65534 cannot append to " + file.string());
  }

  // a.txt gets mode 0600, and owner daemon:bin (ids 1:2) when running as root.
  std::string ChangeSourceSecurity() override {
    const fs::path file = Data() / "a.txt";
    ::chmod(file.c_str(), 0600);
    if (::geteuid() == 0 && ::lchown(file.c_str(), 1, 2) != 0) {
      throw std::runtime_error("cannot chown " + file.string());
    }
    return "a.txt";
  }

  std::string CaptureSecurity(bool target, const std::string& path) const override {
    const fs::path file = base_ / (target ? "secondary" : "primary") / "data" / path;
    struct stat st;
    if (::lstat(file.c_str(), &st) != 0) return "missing";
    return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " + Octal(st.st_mode);
  }

  std::string CorruptTarget(const std::string& restore_point_id, bool staged) override {
    fs::path area = base_ / "secondary" / ".lifeboat" / (staged ? "staging" : "points");
    for (const auto& key : fs::directory_iterator(area)) {
      fs::path file = key.path() / restore_point_id / "tree" / "large.bin";
      if (!fs::exists(file)) continue;
      struct stat st;
      if (::stat(file.c_str(), &st) != 0) break;
      int fd = ::open(file.c_str(), O_RDWR);
      if (fd < 0) break;
      off_t at = st.st_size / 2;
      unsigned char byte = 0;
      bool ok = ::pread(fd, &byte, 1, at) == 1;
      byte ^= 0x01;
      ok = ok && ::pwrite(fd, &byte, 1, at) == 1;
      // Put the times back, so that only the content tells.
      struct timespec times[2] = {st.st_atim, st.st_mtim};
      ::futimens(fd, times);
      ::close(fd);
      if (ok) return "large.bin";
      break;
    }
    throw std::runtime_error("no large.bin of " + restore_point_id + " under " + area.string());
  }

 private:
  static v1::PluginConfig Config(const std::string& cluster, const fs::path& root) {
    v1::PluginConfig c;
    c.set_plugin("localfs");
    c.set_cluster(cluster);
    // Small chunks so that a transfer of the large file takes many units of work.
    c.set_config_json(R"({"root": ")" + root.string() + R"(", "chunk_bytes": 262144})");
    return c;
  }
  fs::path Data() const { return base_ / "primary" / "data"; }

  fs::path base_;
  uint32_t changes_ = 0;
  std::string renamed_;
};

LIFEBOAT_CONFORMANCE_RIG("localfs", LocalfsRig);

}  // namespace
}  // namespace lifeboat::localfs
