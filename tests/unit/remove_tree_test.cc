// RemoveTestTree (tests/common/lifeboat_test/remove_tree.h) removes what a fence leaves: items
// with the immutable attribute and directories without write permission. Before it, fixtures
// called std::filesystem::remove_all, which left every fenced tree in /tmp; they piled up
// until a CI build failed with "No space left on device".
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <lifeboat_test/remove_tree.h>

namespace {

namespace fs = std::filesystem;

fs::path MakeTemp() {
  char tmpl[] = "/tmp/lifeboat-remove-tree-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return {};
  return tmpl;
}

// Sets the immutable attribute of `path`; false when this process or file system cannot.
bool SetImmutable(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  flags |= FS_IMMUTABLE_FL;
  ok = ok && ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  ::close(fd);
  return ok;
}

TEST(RemoveTestTreeTest, RemovesImmutableItemsAsAFenceLeavesThem) {
  const fs::path root = MakeTemp();
  ASSERT_FALSE(root.empty());
  fs::create_directories(root / "data" / "part");
  std::ofstream(root / "data" / "part" / "a.bin") << "alpha";
  std::ofstream(root / "data" / "b.txt") << "beta";
  fs::create_symlink("part/a.bin", root / "data" / "link");
  if (!SetImmutable(root / "data" / "part" / "a.bin") || !SetImmutable(root / "data" / "part") ||
      !SetImmutable(root / "data")) {
    lifeboat::test::RemoveTestTree(root);
    GTEST_SKIP() << "cannot set the immutable attribute here (needs CAP_LINUX_IMMUTABLE and a "
                    "file system with inode flags)";
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  ASSERT_TRUE(fs::exists(root / "data" / "part" / "a.bin"))
      << "remove_all removed an immutable file: the test would not show the difference";

  EXPECT_TRUE(lifeboat::test::RemoveTestTree(root));
  EXPECT_FALSE(fs::exists(root));
}

TEST(RemoveTestTreeTest, RemovesDirectoriesWithoutPermissions) {
  const fs::path root = MakeTemp();
  ASSERT_FALSE(root.empty());
  fs::create_directories(root / "locked" / "inner");
  std::ofstream(root / "locked" / "inner" / "c.txt") << "gamma";
  fs::permissions(root / "locked" / "inner", fs::perms::owner_read | fs::perms::owner_exec);
  fs::permissions(root / "locked", fs::perms::none);

  EXPECT_TRUE(lifeboat::test::RemoveTestTree(root));
  EXPECT_FALSE(fs::exists(root));
}

TEST(RemoveTestTreeTest, AMissingTreeIsAlreadyRemoved) {
  EXPECT_TRUE(lifeboat::test::RemoveTestTree("/tmp/lifeboat-remove-tree-test-never-made"));
}

}  // namespace
