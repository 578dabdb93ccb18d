// Committed points over time: verify findings, restore as a mirror, expire and CURRENT.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "localfs_test_util.h"

namespace lifeboat::localfs::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr int64_t kPast = 1600000000LL * 1000000000;

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = &h_.AddCluster("east");
    dst_ = &h_.AddCluster("west");
  }
  // Cuts /ds on the source and replicates it to the target as `rp` (incremental on `base`).
  v1::SnapshotRef Point(const std::string& rp, const std::string& base) {
    auto cut = h_.Cut(*src_, "/ds", rp, "cut-" + rp);
    EXPECT_TRUE(cut.ok()) << cut.status().ToString();
    if (!cut.ok()) return {};
    h_.Replicate(*dst_, *src_, cut->snapshot(), base, "rep-" + rp);
    return cut->snapshot();
  }
  std::string PointDir(const std::string& rp) {
    return dst_->root / (".lifeboat/points/%2Fds/" + rp);
  }

  Harness h_;
  Cluster* src_ = nullptr;
  Cluster* dst_ = nullptr;
};

TEST_F(LifecycleTest, VerifyReportsFindingsNotErrors) {
  BuildSampleTree(src_->root / "ds");
  v1::SnapshotRef ref = Point("rp1", "");
  auto clean = h_.Verify(*dst_, ref, v1::VERIFY_DIGEST);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_TRUE(clean->ok());
  EXPECT_EQ(clean->items_checked(), 14u);
  EXPECT_EQ(clean->bytes_checked(), 305026u);

  // Damage the committed point (which nobody should ever do): same size, mtime put back.
  const std::string file = PointDir("rp1") + "/tree/big.bin";
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  {
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(10);
    io << "damage";
  }
  SetMtime(file, int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec);
  fs::remove(PointDir("rp1") + "/tree/sub/b.txt");
  ::chmod((PointDir("rp1") + "/tree/a.txt").c_str(), 0600);
  // Extras, whatever their names: one that sorts between a directory and its content in
  // byte order ("sub" < "sub.x" < "sub/b.txt": the tree is merged with the manifest as a
  // sorted stream), and one that is not UTF-8 (no manifest can hold it).
  WriteFile(PointDir("rp1") + "/tree/sub.x", "x");
  WriteFile(PointDir("rp1") + "/tree/bad\xff", "y");

  auto by_size = h_.Verify(*dst_, ref, v1::VERIFY_SIZE);
  ASSERT_TRUE(by_size.ok()) << by_size.status().ToString();
  EXPECT_FALSE(by_size->ok());
  std::vector<std::string> found;
  for (const auto& m : by_size->mismatches()) found.push_back(m.path() + ":" + m.what());
  EXPECT_THAT(found, ::testing::ElementsAre("a.txt:mode", "bad\\xff:extra", "sub.x:extra",
                                            "sub/b.txt:missing"));

  auto by_digest = h_.Verify(*dst_, ref, v1::VERIFY_DIGEST);
  ASSERT_TRUE(by_digest.ok());
  found.clear();
  for (const auto& m : by_digest->mismatches()) found.push_back(m.path() + ":" + m.what());
  EXPECT_THAT(found, ::testing::ElementsAre("a.txt:mode", "bad\\xff:extra", "big.bin:digest",
                                            "sub.x:extra", "sub/b.txt:missing"));
  EXPECT_EQ(by_digest->items_checked(), 14u);
  // The sorted walk's scratch file is gone.
  EXPECT_TRUE(fs::is_empty(dst_->root / ".lifeboat/scratch"));

  v1::SnapshotRef absent = ref;
  absent.set_restore_point_id("rp9");
  EXPECT_EQ(h_.Verify(*dst_, absent, v1::VERIFY_SIZE).status().code(), Code::kNotFound);
}

TEST_F(LifecycleTest, VerifyComparesLinkTargetsAndCommittedDirectoryModes) {
  BuildSampleTree(src_->root / "ds");
  v1::SnapshotRef ref = Point("rp1", "");
  const std::string tree = PointDir("rp1") + "/tree";
  fs::remove(tree + "/link-to-a");
  fs::create_symlink("sub/b.txt", tree + "/link-to-a");
  ::chmod((tree + "/emptydir").c_str(), 0700);  // a committed point's directory keeps its mode

  auto verified = h_.Verify(*dst_, ref, v1::VERIFY_NONE);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  std::vector<std::string> found;
  for (const auto& m : verified->mismatches()) {
    found.push_back(m.path() + ":" + m.what() + ":" + m.expected() + "->" + m.found());
  }
  EXPECT_THAT(found, ::testing::ElementsAre("emptydir:mode:0750->0700",
                                            "link-to-a:symlink_target:a.txt->sub/b.txt"));
  EXPECT_FALSE(verified->ok());
  EXPECT_EQ(verified->bytes_checked(), 0u);
}

TEST_F(LifecycleTest, VerifyReportsAFileItCannotReadAsADigestMismatch) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a file whatever its mode";
  BuildSampleTree(src_->root / "ds");
  v1::SnapshotRef ref = Point("rp1", "");
  const std::string file = PointDir("rp1") + "/tree/sub/b.txt";
  ::chmod(file.c_str(), 0);

  auto verified = h_.Verify(*dst_, ref, v1::VERIFY_DIGEST);
  ::chmod(file.c_str(), 0755);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  std::vector<std::string> found;
  for (const auto& m : verified->mismatches()) found.push_back(m.path() + ":" + m.what());
  EXPECT_THAT(found, ::testing::ElementsAre("sub/b.txt:mode", "sub/b.txt:digest"));
  EXPECT_THAT(verified->mismatches(1).found(), HasSubstr("ermission"));
  EXPECT_EQ(verified->items_checked(), 14u) << "the verify went on after it";
}

TEST_F(LifecycleTest, RestoreMakesAnExactMirrorAndListsChanges) {
  BuildSampleTree(src_->root / "ds");
  const auto at_cut = Picture(src_->root / "ds");
  Point("rp1", "");
  // A destination that differs in every way restore must handle (/live/ds: the data set
  // lands below the destination at its selector).
  const std::string dest = dst_->root / "live/ds";
  BuildSampleTree(dest);
  WriteFile(dest + "/a.txt", "edited");                       // content
  ::chmod((dest + "/sub/b.txt").c_str(), 0600);               // mode only
  fs::remove(dest + "/big.bin");                              // missing
  WriteFile(dest + "/extra/deep/x.txt", "not in the point");  // extras
  fs::remove(dest + "/link-to-a");
  fs::create_symlink("elsewhere", dest + "/link-to-a");  // symlink target
  fs::remove_all(dest + "/emptydir");
  WriteFile(dest + "/emptydir", "a file where a directory belongs");  // type

  // Without consent even the dry run is refused (as the real run would be), naming items.
  auto asks = h_.Restore(*dst_, "/ds", "rp1", "/live", /*dry_run=*/true, "dry0");
  ASSERT_EQ(asks.status().code(), Code::kFailedPrecondition) << asks.status().ToString();
  EXPECT_THAT(asks.status().message(), HasSubstr("delete 3 item(s)"));
  EXPECT_THAT(asks.status().message(), HasSubstr("extra/deep/x.txt"));
  EXPECT_THAT(asks.status().message(), HasSubstr("overwrite 4 item(s)"));
  auto dry = h_.Restore(*dst_, "/ds", "rp1", "/live", /*dry_run=*/true, "dry1", /*overwrite=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  std::vector<std::string> changes(dry->changes().begin(), dry->changes().end());
  EXPECT_THAT(changes, ::testing::UnorderedElementsAre("delete extra", "delete extra/deep",
                                                       "delete extra/deep/x.txt", "update a.txt",
                                                       "create big.bin", "update emptydir",
                                                       "update link-to-a", "update sub/b.txt"));
  EXPECT_EQ(dry->bytes_written(), 6u + 300000u) << "a dry run says what it would write";
  EXPECT_TRUE(fs::exists(dest + "/extra/deep/x.txt"));  // nothing changed
  EXPECT_EQ(ReadFile(dest + "/a.txt"), "edited");

  auto real = h_.Restore(*dst_, "/ds", "rp1", "/live", false, "restore1", /*overwrite=*/true);
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_EQ(std::vector<std::string>(real->changes().begin(), real->changes().end()), changes);
  EXPECT_EQ(real->bytes_written(), 6u + 300000u);
  EXPECT_EQ(Describe(Picture(dest)), Describe(at_cut));
  EXPECT_EQ(Picture(dest), at_cut);

  auto again = h_.Restore(*dst_, "/ds", "rp1", "/live", false, "restore1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes_size(), 0);
  EXPECT_EQ(again->bytes_written(), 0u);
}

TEST_F(LifecycleTest, RestoredFilesAreIndependentOfThePoint) {
  WriteFile(src_->root / "ds/f.txt", "original");
  Point("rp1", "");
  ASSERT_TRUE(h_.Restore(*dst_, "/ds", "rp1", "", false, "restore1").ok());
  WriteFile(dst_->root / "ds/f.txt", "edited in place");  // truncates and writes in place
  EXPECT_EQ(ReadFile(PointDir("rp1") + "/tree/f.txt"), "original");
}

TEST_F(LifecycleTest, RestoreOfAnUnknownPointListsTheAvailableOnes) {
  WriteFile(src_->root / "ds/f.txt", "x");
  Point("rp1", "");
  Point("rp2", "rp1");
  auto r = h_.Restore(*dst_, "/ds", "rp7", "", false, "restore1");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("rp7"));
  EXPECT_THAT(r.status().message(), HasSubstr("available: rp1, rp2"));
}

TEST_F(LifecycleTest, ExpireKeepsOtherPointsAndRefusesCurrent) {
  const std::string ds = src_->root / "ds";
  WriteFile(ds + "/shared.bin", Bytes(20000, 1));
  SetMtime(ds + "/shared.bin", kPast);
  WriteFile(ds + "/v.txt", "one");
  Point("rp1", "");
  WriteFile(ds + "/v.txt", "two");
  Point("rp2", "rp1");
  WriteFile(ds + "/v.txt", "three");
  v1::SnapshotRef ref3 = Point("rp3", "rp2");
  ASSERT_EQ(ReadFile(dst_->root / ".lifeboat/points/%2Fds/CURRENT"), "rp3\n");
  ASSERT_EQ(InodeOf(PointDir("rp1") + "/tree/shared.bin"),
            InodeOf(PointDir("rp3") + "/tree/shared.bin"));

  auto refused = h_.Expire(*dst_, "/ds", {"rp1", "rp3"}, "exp0");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("rp3"));
  EXPECT_TRUE(fs::exists(PointDir("rp1")));  // nothing was done

  auto expired = h_.Expire(*dst_, "/ds", {"rp1", "rp2", "rp-never"}, "exp1");
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_THAT(std::vector<std::string>(expired->removed().begin(), expired->removed().end()),
              ::testing::ElementsAre("rp1", "rp2"));
  EXPECT_THAT(
      std::vector<std::string>(expired->already_absent().begin(), expired->already_absent().end()),
      ::testing::ElementsAre("rp-never"));
  EXPECT_FALSE(fs::exists(PointDir("rp1")));
  EXPECT_FALSE(fs::exists(PointDir("rp2")));
  // rp3 shared inodes with them and is intact.
  EXPECT_EQ(ReadFile(PointDir("rp3") + "/tree/shared.bin"), Bytes(20000, 1));
  auto verified = h_.Verify(*dst_, ref3, v1::VERIFY_DIGEST);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok()) << verified->DebugString();
  auto again = h_.Expire(*dst_, "/ds", {"rp1"}, "exp1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->already_absent_size(), 1);
  EXPECT_TRUE(fs::is_empty(dst_->root / ".lifeboat/trash"));
}

TEST_F(LifecycleTest, ExpireRemovesAStagedButUncommittedPoint) {
  WriteFile(src_->root / "ds/f.txt", "x");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  ASSERT_TRUE(h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1").ok());
  ASSERT_TRUE(fs::exists(dst_->root / ".lifeboat/staging/%2Fds/rp1"));
  auto expired = h_.Expire(*dst_, "/ds", {"rp1"}, "exp1");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->already_absent_size(), 1);
  EXPECT_FALSE(fs::exists(dst_->root / ".lifeboat/staging/%2Fds/rp1"));
}

TEST_F(LifecycleTest, CommitRefusesUntilEverythingIsTransferred) {
  WriteFile(src_->root / "ds/a.txt", "a");
  WriteFile(src_->root / "ds/b.txt", "b");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto nothing = h_.Commit(*dst_, cut->snapshot(), "", "commit0");
  EXPECT_EQ(nothing.status().code(), Code::kFailedPrecondition);
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(h_.Transfer(*dst_, *src_, cut->snapshot(), plan->tasks(0), "t0").ok());
  auto early = h_.Commit(*dst_, cut->snapshot(), "", "commit1");
  EXPECT_EQ(early.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(early.status().message(), HasSubstr("2 files not transferred yet: first a.txt"));
  EXPECT_FALSE(fs::exists(dst_->root / ".lifeboat/points/%2Fds/CURRENT"));
}

}  // namespace
}  // namespace lifeboat::localfs::testing
