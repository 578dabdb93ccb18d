// Removing a test's scratch tree whatever the test left in it.
//
// A fence run as root sets the immutable attribute (FS_IMMUTABLE_FL) on a data set's items,
// and a fence without root takes their write bits; a test that fails, or ends, while a data
// set is fenced leaves items that std::filesystem::remove_all cannot delete. Such trees piled
// up in /tmp run after run until the disk was full and a CI build failed with "No space left
// on device". RemoveTestTree lifts both before removing.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_TESTS_COMMON_LIFEBOAT_TEST_REMOVE_TREE_H_
#define LIFEBOAT_TESTS_COMMON_LIFEBOAT_TEST_REMOVE_TREE_H_

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace lifeboat::test {

// Clears the immutable and append-only attributes of `path` (not following a symlink); a
// file system without attributes or an item that cannot be opened is left as it is.
inline void ClearImmutableAttribute(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
      (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) != 0) {
    flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
    (void)::ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  ::close(fd);
}

// Removes `root` and everything below it: attributes lifted and owner permissions given back
// to every directory and file first. True when nothing is left.
inline bool RemoveTestTree(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(root, ec))) return true;
  ClearImmutableAttribute(root);
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code item_ec;
    if (it->is_symlink(item_ec)) continue;
    ClearImmutableAttribute(it->path());
    if (it->is_directory(item_ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, item_ec);
    }
  }
  fs::remove_all(root, ec);
  return !fs::exists(fs::symlink_status(root, ec));
}

}  // namespace lifeboat::test

#endif  // LIFEBOAT_TESTS_COMMON_LIFEBOAT_TEST_REMOVE_TREE_H_
