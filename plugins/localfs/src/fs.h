// Small POSIX file-system helpers of the localfs plugin, returning Status values whose
// message names the path and says what to do.
//
// Thread-safety: free functions without shared state, safe from any thread.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_FS_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_FS_H_

#include <lifeboat/status.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lifeboat::localfs {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A Status for a failed system call: the code follows errno (ENOENT is NOT_FOUND, ENOSPC is
// RESOURCE_EXHAUSTED, EACCES is PERMISSION_DENIED, ...), the message reads
// "<action> <path>: <strerror>[; <hint>]" and the subject is `path`.
Status ErrnoError(int err, std::string_view action, const std::string& path,
                  std::string_view hint = {});

int64_t MtimeNs(const struct stat& st);
int64_t CtimeNs(const struct stat& st);

// "a" + "b" = "a/b"; an empty `b` gives `a`.
std::string JoinPath(std::string_view a, std::string_view b);
// "/x/y/z" -> "/x/y"; "z" -> "".
std::string ParentOf(std::string_view path);

// lstat(2): the stat of `path`, std::nullopt when it does not exist, an error otherwise.
StatusOr<std::optional<struct stat>> LstatIfExists(const std::string& path);

// mkdir -p; directories created get `mode` (less the umask).
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// rm -rf; an absent path is fine. Directories that deny their owner access are opened up
// first (never files: files of restore points share inodes with other points).
Status RemoveTree(const std::string& path);

// Writes all of `data` to `fd` (retrying short writes and EINTR); errors name `path`.
Status WriteAll(int fd, std::string_view data, const std::string& path);

StatusOr<std::string> ReadLink(const std::string& path);

// One item below a walked directory: its path relative to that directory ('/'-separated)
// and its lstat.
struct WalkEntry {
  std::string rel;
  struct stat st;
};

// Every item below `dir` (not following symbolic links), sorted by relative path (bytewise,
// which puts each directory before its content). NOT_FOUND when `dir` does not exist.
StatusOr<std::vector<WalkEntry>> WalkTree(const std::string& dir);

// Hands every item below `dir` (not following symbolic links) to `each`, a directory before
// its content but in no other order, holding one directory's names at a time (issue 13: a
// tree of a million files is not collected). `each` may remove the item it is given. A
// non-OK status from `each` stops the walk and is returned; NOT_FOUND when `dir` does not
// exist.
Status ForEachInTree(
    const std::string& dir,
    const std::function<Status(const std::string& rel, const struct stat& st)>& each);

// A name unique within this host and process: "<prefix><pid>.<time>.<counter>".
std::string UniqueName(std::string_view prefix);

bool RunningAsRoot();

// The kernel's boot id, or "" when it cannot be read. Data written without fsync is only
// trusted after a crash of the process, not after a restart of the machine; the boot id
// tells the two apart.
std::string BootId();

// Sets owner (only when running as root; EPERM is ignored), permission bits and mtime of an
// open regular file.
Status ApplyFileMetadata(int fd, const std::string& path, uint32_t uid, uint32_t gid, uint32_t mode,
                         int64_t mtime_ns);
// The same for a path, not following a final symbolic link (for which only owner and mtime
// apply).
Status ApplyPathMetadata(const std::string& path, bool is_symlink, uint32_t uid, uint32_t gid,
                         uint32_t mode, int64_t mtime_ns);

// Nanoseconds since the epoch from CLOCK_REALTIME_COARSE, the clock the kernel stamps inode
// times with (so never later than a ctime set after it was read), and from CLOCK_REALTIME.
int64_t CoarseNowNs();
int64_t FineNowNs();

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_FS_H_
