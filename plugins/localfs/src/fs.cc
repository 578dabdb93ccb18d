#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <lifeboat/sdk/files.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace lifeboat::localfs {

Status ErrnoError(int err, std::string_view action, const std::string& path,
                  std::string_view hint) {
  return sdk::ErrnoError(path, action, err, hint);
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

int64_t CtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  if (b.empty()) return out;
  if (out.empty() || out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string ParentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return "";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

StatusOr<std::optional<struct stat>> LstatIfExists(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return std::optional<struct stat>(st);
  if (errno == ENOENT) return std::optional<struct stat>();
  return ErrnoError(errno, "cannot inspect", path);
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  return std::string(prefix) + std::to_string(::getpid()) + "." + std::to_string(FineNowNs()) +
         "." + std::to_string(counter.fetch_add(1));
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return OkStatus();
  if (::mkdir(path.c_str(), mode) == 0) return OkStatus();
  int err = errno;
  if (err == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return OkStatus();
    return ErrnoError(ENOTDIR, "cannot create directory", path,
                      "something that is not a directory is in the way; move it aside");
  }
  if (err != ENOENT) return ErrnoError(err, "cannot create directory", path);
  std::string parent = ParentOf(path);
  if (parent.empty() || parent == path) return ErrnoError(err, "cannot create directory", path);
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(parent, mode));
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return OkStatus();
  return ErrnoError(errno, "cannot create directory", path);
}

namespace {

Status RemoveTreeAt(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoError(errno, "cannot inspect", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(errno, "cannot remove", path);
    }
    return OkStatus();
  }
  // A directory the owner cannot list or write (mode 0555 copied from a source) would stop
  // the removal of what it holds. Directories are never shared between points, so opening
  // one up is harmless.
  if ((st.st_mode & S_IRWXU) != S_IRWXU) ::chmod(path.c_str(), (st.st_mode & 07777) | S_IRWXU);
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoError(errno, "cannot list", path);
  }
  std::vector<std::string> names;
  while (struct dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    names.emplace_back(d->d_name);
  }
  ::closedir(dir);
  for (const auto& name : names) LIFEBOAT_RETURN_IF_ERROR(RemoveTreeAt(JoinPath(path, name)));
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "cannot remove directory", path);
  }
  return OkStatus();
}

}  // namespace

Status RemoveTree(const std::string& path) { return RemoveTreeAt(path); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

StatusOr<std::string> ReadLink(const std::string& path) {
  std::string buf(256, '\0');
  while (true) {
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return ErrnoError(errno, "cannot read symbolic link", path);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Status ForEachInTree(
    const std::string& dir,
    const std::function<Status(const std::string& rel, const struct stat& st)>& each) {
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    std::string abs = JoinPath(dir, rel);
    DIR* d = ::opendir(abs.c_str());
    if (d == nullptr) {
      if (errno == ENOENT && !rel.empty()) continue;  // vanished while walking
      return ErrnoError(errno, "cannot list", abs);
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    for (auto& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (::lstat(JoinPath(dir, child).c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoError(errno, "cannot inspect", JoinPath(dir, child));
      }
      LIFEBOAT_RETURN_IF_ERROR(each(child, st));
      if (S_ISDIR(st.st_mode)) pending.push_back(std::move(child));
    }
  }
  return OkStatus();
}

StatusOr<std::vector<WalkEntry>> WalkTree(const std::string& dir) {
  std::vector<WalkEntry> out;
  LIFEBOAT_RETURN_IF_ERROR(ForEachInTree(dir, [&](const std::string& rel, const struct stat& st) {
    out.push_back(WalkEntry{rel, st});
    return OkStatus();
  }));
  std::sort(out.begin(), out.end(),
            [](const WalkEntry& a, const WalkEntry& b) { return a.rel < b.rel; });
  return out;
}

bool RunningAsRoot() { return ::geteuid() == 0; }

std::string BootId() {
  StatusOr<std::string> id = sdk::ReadWholeFile("/proc/sys/kernel/random/boot_id");
  if (!id.ok()) return "";
  std::string s = std::move(id).value();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

namespace {

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

}  // namespace

Status ApplyFileMetadata(int fd, const std::string& path, uint32_t uid, uint32_t gid, uint32_t mode,
                         int64_t mtime_ns) {
  // chown first: it clears set-user-ID bits that the chmod below then restores.
  if (RunningAsRoot() && ::fchown(fd, uid, gid) != 0 && errno != EPERM) {
    return ErrnoError(errno, "cannot set the owner of", path);
  }
  if (::fchmod(fd, mode & 07777) != 0) return ErrnoError(errno, "cannot set the mode of", path);
  struct timespec times[2] = {{0, UTIME_OMIT}, ToTimespec(mtime_ns)};
  if (::futimens(fd, times) != 0) return ErrnoError(errno, "cannot set the mtime of", path);
  return OkStatus();
}

Status ApplyPathMetadata(const std::string& path, bool is_symlink, uint32_t uid, uint32_t gid,
                         uint32_t mode, int64_t mtime_ns) {
  if (RunningAsRoot() && ::lchown(path.c_str(), uid, gid) != 0 && errno != EPERM) {
    return ErrnoError(errno, "cannot set the owner of", path);
  }
  if (!is_symlink && ::chmod(path.c_str(), mode & 07777) != 0) {
    return ErrnoError(errno, "cannot set the mode of", path);
  }
  struct timespec times[2] = {{0, UTIME_OMIT}, ToTimespec(mtime_ns)};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, "cannot set the mtime of", path);
  }
  return OkStatus();
}

int64_t CoarseNowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t FineNowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace lifeboat::localfs
