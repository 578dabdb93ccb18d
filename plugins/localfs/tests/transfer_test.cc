// The target side: plan, transfer, verify and commit, full and incremental, with the
// failures that matter: changes after the cut, cancellations, crash leftovers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "localfs_test_util.h"

namespace lifeboat::localfs::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr int64_t kPast = 1600000000LL * 1000000000;

class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = &h_.AddCluster("east", config_);
    dst_ = &h_.AddCluster("west", config_);
  }
  std::string PointTree(const std::string& rp) {
    return dst_->root / (".lifeboat/points/%2Fds/" + rp + "/tree");
  }
  std::string StagingTree(const std::string& rp) {
    return dst_->root / (".lifeboat/staging/%2Fds/" + rp + "/tree");
  }

  std::string config_;
  Harness h_;
  Cluster* src_ = nullptr;
  Cluster* dst_ = nullptr;
};

TEST_F(TransferTest, FullRoundTripRestoresTheTreeExactly) {
  BuildSampleTree(src_->root / "ds");
  const auto before = Picture(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  auto rep = h_.Replicate(*dst_, *src_, cut->snapshot(), "", "r1");
  EXPECT_FALSE(rep.plan.incremental());
  EXPECT_EQ(rep.plan.full_reason(), "");
  ASSERT_GE(rep.plan.tasks_size(), 2);
  EXPECT_EQ(rep.plan.tasks(0).kind(), "tree");
  for (int i = 1; i < rep.plan.tasks_size(); ++i) EXPECT_EQ(rep.plan.tasks(i).kind(), "copy");
  EXPECT_EQ(rep.plan.bytes_to_copy(), cut->manifest().total_bytes());
  EXPECT_EQ(rep.plan.items_to_copy(), 7u);
  EXPECT_EQ(rep.bytes_copied, cut->manifest().total_bytes());
  EXPECT_EQ(rep.commit.manifest().manifest_digest(), cut->manifest().manifest_digest());
  // Counts across the boundary, the entries in the point's manifest.pb (issue 13).
  EXPECT_EQ(rep.commit.manifest().entries_size(), 0);
  EXPECT_GT(cut->manifest().entry_count(), 7u);
  EXPECT_EQ(rep.commit.manifest().entry_count(), cut->manifest().entry_count());
  EXPECT_GT(rep.commit.manifest().committed_unix_nanos(), 0);
  EXPECT_EQ(ReadFile(dst_->root / ".lifeboat/points/%2Fds/CURRENT"), "rp1\n");
  // The committed point holds the tree as it was (directory mtimes included).
  EXPECT_EQ(Describe(Picture(PointTree("rp1"))), Describe(before));
  EXPECT_EQ(Picture(PointTree("rp1")), before);
  EXPECT_FALSE(fs::exists(dst_->root / ".lifeboat/staging/%2Fds/rp1"));

  // Restore into a fresh directory of the target cluster: an exact, independent copy, below
  // the destination at the data set's own selector.
  auto restored = h_.Restore(*dst_, "/ds", "rp1", "/restored", false, "restore1");
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->bytes_written(), cut->manifest().total_bytes());
  EXPECT_EQ(Describe(Picture(dst_->root / "restored/ds")), Describe(before));
  EXPECT_EQ(Picture(dst_->root / "restored/ds"), before);
  EXPECT_NE(InodeOf(dst_->root / "restored/ds/big.bin"), InodeOf(PointTree("rp1") + "/big.bin"));
  struct stat st;
  ASSERT_EQ(::stat((dst_->root / "restored/ds/big.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(TransferTest, EmptyDataSetRoundTrips) {
  MakeDir(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut->manifest().entries_size(), 0);
  EXPECT_EQ(cut->manifest().entry_count(), 0u);
  auto rep = h_.Replicate(*dst_, *src_, cut->snapshot(), "", "r1");
  ASSERT_EQ(rep.plan.tasks_size(), 1);  // the tree task alone
  EXPECT_TRUE(fs::is_directory(PointTree("rp1")));
  WriteFile(dst_->root / "restored/ds/stale.txt", "to be removed");
  // Not without the operator's consent: refused, naming it, nothing changed.
  auto refused = h_.Restore(*dst_, "/ds", "rp1", "/restored", false, "restore0");
  ASSERT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("stale.txt"));
  EXPECT_TRUE(fs::exists(dst_->root / "restored/ds/stale.txt"));
  auto restored =
      h_.Restore(*dst_, "/ds", "rp1", "/restored", false, "restore1", /*overwrite=*/true);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_THAT(std::vector<std::string>(restored->changes().begin(), restored->changes().end()),
              ::testing::ElementsAre("delete stale.txt"));
  EXPECT_TRUE(fs::is_empty(dst_->root / "restored/ds"));
}

TEST_F(TransferTest, ReplacedAndDeletedFilesAreRestoredAsAtTheCut) {
  BuildSampleTree(src_->root / "ds");
  const auto at_cut = Picture(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  // After the cut: a file replaced the safe way (temporary + rename), one deleted.
  WriteFile(src_->root / "ds/a.tmp", "a new alpha, longer than before\n");
  fs::rename(src_->root / "ds/a.tmp", src_->root / "ds/a.txt");
  fs::remove(src_->root / "ds/big.bin");
  auto rep = h_.Replicate(*dst_, *src_, cut->snapshot(), "", "r1");
  EXPECT_EQ(Picture(PointTree("rp1")), at_cut);
  // Restoring over the live data set brings the cut's state back.
  auto restored = h_.Restore(*src_, "/ds", "rp1", "", false, "restore1");
  ASSERT_FALSE(restored.ok());  // the source holds no committed point: it is the target's
  EXPECT_EQ(restored.status().code(), Code::kNotFound);
  EXPECT_THAT(restored.status().message(), HasSubstr("available: none"));
  auto on_target = h_.Restore(*dst_, "/ds", "rp1", "", false, "restore2");
  ASSERT_TRUE(on_target.ok()) << on_target.status().ToString();
  EXPECT_EQ(Picture(dst_->root / "ds"), at_cut);
}

TEST_F(TransferTest, InPlaceWriteAfterTheCutAbortsTheTransferAndNeverCommits) {
  WriteFile(src_->root / "ds/db.bin", Bytes(100000, 1));
  WriteFile(src_->root / "ds/ok.txt", "fine");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  {
    // The snapshot shares the inode: this write shows through it.
    std::fstream io(src_->root / "ds/db.bin", std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(5000);
    io << "torn";
  }
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  Status failure;
  for (const auto& task : plan->tasks()) {
    auto t = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id());
    if (!t.ok()) failure = t.status();
  }
  EXPECT_EQ(failure.code(), Code::kAborted);
  EXPECT_THAT(failure.message(),
              HasSubstr("db.bin changed on the source since the cut; cut the restore point again"));
  EXPECT_FALSE(fs::exists(StagingTree("rp1") + "/db.bin"));
  EXPECT_FALSE(fs::exists(StagingTree("rp1") + "/db.bin.lbpart"));
  auto commit = h_.Commit(*dst_, cut->snapshot(), "", "commit1");
  EXPECT_EQ(commit.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(commit.status().message(), HasSubstr("files not transferred yet: first db.bin"));
  EXPECT_FALSE(fs::exists(dst_->root / ".lifeboat/points/%2Fds/rp1"));
}

TEST_F(TransferTest, RepeatedCallsAreIdempotent) {
  BuildSampleTree(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  auto plan_again = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan_again.ok());
  EXPECT_EQ(plan_again->SerializeAsString(), plan->SerializeAsString());
  std::set<std::string> ids;
  for (const auto& task : plan->tasks()) {
    EXPECT_TRUE(ids.insert(task.task_id()).second) << task.task_id();
    auto t = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->bytes_copied(), task.bytes());
    auto again = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->bytes_copied(), 0u);
    EXPECT_EQ(again->bytes_skipped(), task.bytes());
    // A task naming a range of the cut lists no paths: the same items are done both times.
    EXPECT_EQ(again->items_done(), t->items_done());
  }
  auto c1 = h_.Commit(*dst_, cut->snapshot(), "", "commit1");
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  auto c2 = h_.Commit(*dst_, cut->snapshot(), "", "commit1");
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->SerializeAsString(), c1->SerializeAsString());
  // Planning a committed point again has nothing left to do, and a task repeated after the
  // commit (the engine lost track of it) finds it done.
  auto after = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan2");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->tasks_size(), 0);
  const v1::TransferTask& last = plan->tasks(plan->tasks_size() - 1);
  auto late = h_.Transfer(*dst_, *src_, cut->snapshot(), last, "t-" + last.task_id());
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->bytes_copied(), 0u);
  EXPECT_EQ(late->bytes_skipped(), last.bytes());
}

TEST_F(TransferTest, ExpiredBaseBetweenPlanAndTransferAsksForANewPlan) {
  WriteFile(src_->root / "ds/same.bin", Bytes(3000, 1));
  SetMtime(src_->root / "ds/same.bin", kPast);
  WriteFile(src_->root / "ds/v.txt", "1");
  auto cut1 = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut1.ok());
  h_.Replicate(*dst_, *src_, cut1->snapshot(), "", "r1");
  WriteFile(src_->root / "ds/v.txt", "2");
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok());
  auto plan = h_.Plan(*dst_, *src_, cut2->snapshot(), "rp1", "plan2");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->tasks(1).kind(), "link");
  // rp1 goes away (here by hand: it is CURRENT, which expire refuses).
  fs::rename(dst_->root / ".lifeboat/points/%2Fds/rp1", dst_->root / "gone");
  auto t = h_.Transfer(*dst_, *src_, cut2->snapshot(), plan->tasks(1), "t-link");
  EXPECT_EQ(t.status().code(), Code::kAborted);
  EXPECT_THAT(t.status().message(), HasSubstr("plan the transfer of restore point rp2 again"));
  fs::rename(dst_->root / "gone", dst_->root / ".lifeboat/points/%2Fds/rp1");
}

TEST_F(TransferTest, ADamagedBaseManifestCostsAFullCopyNotAWrongPoint) {
  WriteFile(src_->root / "ds/a.txt", "a");
  WriteFile(src_->root / "ds/b.txt", "b");
  auto cut1 = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut1.ok());
  h_.Replicate(*dst_, *src_, cut1->snapshot(), "", "r1");
  // The base's manifest.pb is read as a stream: damage in its middle shows only there.
  const std::string base = dst_->root / ".lifeboat/points/%2Fds/rp1/manifest.pb";
  std::string bytes = ReadFile(base);
  bytes.resize(bytes.size() / 2);
  WriteFile(base, bytes);
  WriteFile(src_->root / "ds/c.txt", "c");
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok());
  auto plan = h_.Plan(*dst_, *src_, cut2->snapshot(), "rp1", "plan2");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->incremental());
  EXPECT_THAT(plan->full_reason(), HasSubstr("base point rp1 cannot be read"));
  EXPECT_EQ(plan->items_to_copy(), 3u);
  EXPECT_EQ(plan->items_deleted(), 0u);
}

TEST_F(TransferTest, CraftedCutRecordCannotWriteOutsideTheStagingTree) {
  WriteFile(src_->root / "ds/a.txt", "a");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  // Someone with write access to the source's state rewrites the cut record: a symbolic link
  // to a directory outside, and a file "below" it.
  TempDir outside;
  v1::CutResponse crafted = *cut;
  v1::MemberManifest* m = crafted.mutable_manifest();
  m->clear_entries();
  v1::Entry* link = m->add_entries();
  link->set_path("escape");
  link->set_type(v1::ENTRY_SYMLINK);
  link->set_symlink_target(outside.path());
  v1::Entry* file = m->add_entries();
  *file = h_.CutRecord(*src_, "/ds", "rp1").entries(0);
  file->set_path("escape/pwned.txt");
  {
    std::ofstream out(src_->root / ".lifeboat/snapshots/%2Fds/rp1/cut.pb",
                      std::ios::binary | std::ios::trunc);
    out << crafted.SerializeAsString();
  }
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  EXPECT_EQ(plan.status().code(), Code::kDataLoss);
  EXPECT_THAT(plan.status().message(), HasSubstr("escape/pwned.txt"));
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_FALSE(fs::exists(dst_->root / ".lifeboat/staging/%2Fds/rp1/cut.pb"));
}

TEST_F(TransferTest, PlanRefusesAStaleSnapshotReference) {
  BuildSampleTree(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  v1::SnapshotRef stale = cut->snapshot();
  stale.set_cut_op_id("cut0");
  auto plan = h_.Plan(*dst_, *src_, stale, "", "plan1");
  EXPECT_EQ(plan.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(plan.status().message(), HasSubstr("cut1"));
  v1::SnapshotRef other = cut->snapshot();
  other.set_restore_point_id("rp-none");
  EXPECT_EQ(h_.Plan(*dst_, *src_, other, "", "plan2").status().code(), Code::kNotFound);
  // A transfer with nothing planned says so.
  v1::TransferTask task;
  task.set_task_id("copy-1");
  task.set_kind("copy");
  task.add_paths("a.txt");
  auto t = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t1");
  EXPECT_EQ(t.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(t.status().message(), HasSubstr("plan_transfer"));
}

// With the default configuration a big file reports its progress at least once per MiB
// (it was once per 8 MiB chunk: a 4 MiB file showed 0% until it was done).
TEST_F(TransferTest, ABigFileReportsProgressAtLeastOncePerMiB) {
  const std::string content = Bytes(4 << 20, 5);
  WriteFile(src_->root / "ds/big.bin", content);
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  size_t before = 0;
  for (const auto& task : plan->tasks()) {
    before = h_.host().ProgressReports().size();
    auto t = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
  }
  std::set<uint64_t> partial;  // distinct amounts reported before the end of the copy
  auto reports = h_.host().ProgressReports();
  for (size_t i = before; i < reports.size(); ++i) {
    if (reports[i].bytes_done() < content.size()) partial.insert(reports[i].bytes_done());
  }
  EXPECT_GE(partial.size(), 3u) << "progress came in steps coarser than a MiB";
}

class ChunkedTransferTest : public TransferTest {
 protected:
  ChunkedTransferTest() { config_ = "\"chunk_bytes\": 4096, \"parallelism\": 1"; }
};

TEST_F(ChunkedTransferTest, CancelledTransferResumesAndCopiesOnlyTheRest) {
  const std::string content = Bytes(64 * 4096 + 123, 9);
  WriteFile(src_->root / "ds/big.bin", content);
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->tasks_size(), 2);
  ASSERT_TRUE(h_.Transfer(*dst_, *src_, cut->snapshot(), plan->tasks(0), "t-tree").ok());
  const v1::TransferTask& copy = plan->tasks(1);
  ASSERT_EQ(copy.kind(), "copy");
  ASSERT_EQ(copy.bytes(), content.size());

  h_.host().CancelWhen(
      [](const v1::Progress& p) { return p.phase() == "transfer" && p.bytes_done() >= 10 * 4096; });
  auto first = h_.Transfer(*dst_, *src_, cut->snapshot(), copy, "t-copy");
  h_.host().ClearCancel();
  EXPECT_EQ(first.status().code(), Code::kCancelled);
  const std::string part = StagingTree("rp1") + "/big.bin.lbpart";
  ASSERT_TRUE(fs::exists(part));
  const uint64_t have = fs::file_size(part);
  EXPECT_GE(have, 10u * 4096);
  EXPECT_LT(have, content.size());
  EXPECT_FALSE(fs::exists(StagingTree("rp1") + "/big.bin"));

  size_t reports_before = h_.host().ProgressReports().size();
  auto second = h_.Transfer(*dst_, *src_, cut->snapshot(), copy, "t-copy");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->bytes_copied(), content.size() - have);
  EXPECT_EQ(ReadFile(StagingTree("rp1") + "/big.bin"), content);
  EXPECT_FALSE(fs::exists(part));
  // At least one progress report per chunk, ending at the task's total.
  auto reports = h_.host().ProgressReports();
  EXPECT_GE(reports.size() - reports_before, (content.size() - have) / 4096);
  EXPECT_EQ(reports.back().bytes_total(), content.size());
  EXPECT_EQ(reports.back().bytes_done(), content.size());
  auto verified = h_.Verify(*dst_, cut->snapshot(), v1::VERIFY_DIGEST);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok()) << verified->DebugString();
}

TEST_F(ChunkedTransferTest, DamagedPartLeftByACrashIsCopiedAgain) {
  const std::string content = Bytes(20 * 4096, 4);
  WriteFile(src_->root / "ds/f.bin", content);
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  // A part whose prefix is not the source's (a torn write before a crash).
  WriteFile(StagingTree("rp1") + "/f.bin.lbpart", std::string(8192, 'Z'), 0600);
  uint64_t copied = 0;
  for (const auto& task : plan->tasks()) {
    auto t = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    copied += t->bytes_copied();
  }
  EXPECT_EQ(ReadFile(StagingTree("rp1") + "/f.bin"), content);
  EXPECT_GE(copied, content.size());
}

TEST_F(TransferTest, LeftoverPartIsExtraForVerifyAndRemovedByCommit) {
  BuildSampleTree(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  for (const auto& task : plan->tasks()) {
    ASSERT_TRUE(h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id()).ok());
  }
  WriteFile(StagingTree("rp1") + "/sub/ghost.lbpart", "left by a crash");
  auto verified = h_.Verify(*dst_, cut->snapshot(), v1::VERIFY_SIZE);
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified->ok());
  ASSERT_EQ(verified->mismatches_size(), 1);
  EXPECT_EQ(verified->mismatches(0).path(), "sub/ghost.lbpart");
  EXPECT_EQ(verified->mismatches(0).what(), "extra");
  ASSERT_TRUE(h_.Commit(*dst_, cut->snapshot(), "", "commit1").ok());
  EXPECT_FALSE(fs::exists(PointTree("rp1") + "/sub/ghost.lbpart"));
  verified = h_.Verify(*dst_, cut->snapshot(), v1::VERIFY_DIGEST);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok()) << verified->DebugString();
}

TEST_F(TransferTest, IncrementalCopiesOnlyWhatChangedAndLinksTheRest) {
  const std::string ds = src_->root / "ds";
  for (int i = 0; i < 10; ++i) {
    WriteFile(ds + "/keep" + std::to_string(i) + ".bin", Bytes(10000 + i, i));
    SetMtime(ds + "/keep" + std::to_string(i) + ".bin", kPast + i);
  }
  WriteFile(ds + "/modify.txt", "before");
  WriteFile(ds + "/delete.txt", "to be deleted");
  WriteFile(ds + "/rename-me.bin", Bytes(50000, 77));
  SetMtime(ds + "/rename-me.bin", kPast);
  auto cut1 = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut1.ok());
  auto rep1 = h_.Replicate(*dst_, *src_, cut1->snapshot(), "", "r1");

  WriteFile(ds + "/modify.txt", "after, and longer");
  fs::remove(ds + "/delete.txt");
  fs::create_directories(ds + "/moved");
  fs::rename(ds + "/rename-me.bin", ds + "/moved/renamed.bin");
  WriteFile(ds + "/created.txt", "brand new");
  const auto at_cut2 = Picture(ds);
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok());
  auto rep2 = h_.Replicate(*dst_, *src_, cut2->snapshot(), "rp1", "r2");
  const v1::PlanTransferResponse& plan = rep2.plan;
  EXPECT_TRUE(plan.incremental());
  EXPECT_EQ(plan.full_reason(), "");
  const uint64_t changed =
      std::string("after, and longer").size() + std::string("brand new").size();
  EXPECT_EQ(plan.bytes_to_copy(), changed);
  EXPECT_EQ(plan.items_to_copy(), 2u);
  EXPECT_EQ(plan.items_unchanged(), 11u);  // ten kept files and the renamed one
  EXPECT_EQ(plan.items_deleted(), 2u);     // delete.txt and rename-me.bin's old path
  EXPECT_EQ(rep2.bytes_copied, changed);
  std::vector<std::string> kinds;
  for (const auto& t : plan.tasks()) kinds.push_back(t.kind());
  // The kept files by a range of the cut, the renamed one by its source path, the copies.
  EXPECT_THAT(kinds, ::testing::ElementsAre("tree", "link", "link", "copy"));
  EXPECT_EQ(plan.tasks(1).paths_size(), 0);
  EXPECT_THAT(plan.tasks(2).paths(), ::testing::ElementsAre("moved/renamed.bin"));
  EXPECT_EQ(rep2.commit.manifest().base_restore_point_id(), "rp1");
  // The renamed file and the kept ones share inodes with the base point.
  EXPECT_EQ(InodeOf(PointTree("rp2") + "/moved/renamed.bin"),
            InodeOf(PointTree("rp1") + "/rename-me.bin"));
  EXPECT_EQ(InodeOf(PointTree("rp2") + "/keep3.bin"), InodeOf(PointTree("rp1") + "/keep3.bin"));
  EXPECT_NE(InodeOf(PointTree("rp2") + "/modify.txt"), InodeOf(PointTree("rp1") + "/modify.txt"));
  EXPECT_EQ(Picture(PointTree("rp2")), at_cut2);
  EXPECT_EQ(ReadFile(PointTree("rp1") + "/modify.txt"), "before");
  EXPECT_EQ(ReadFile(dst_->root / ".lifeboat/points/%2Fds/CURRENT"), "rp2\n");
}

// Issue 13: a plan lists the paths of what changed, never every file of the cut: unchanged
// files are linked by ranges of the cut, a full copy is planned by ranges too. (Before, the
// link tasks listed every unchanged path and its source, and crossed the boundary to the
// engine, which stored them: ~100 bytes per file of the data set for every backup.)
TEST_F(TransferTest, PlansListOnlyWhatChanged) {
  const std::string ds = src_->root / "ds";
  constexpr int kFiles = 3000;
  for (int i = 0; i < kFiles; ++i) {
    WriteFile(ds + "/d" + std::to_string(i % 7) + "/f" + std::to_string(i), Bytes(20 + i % 50, i));
  }
  auto paths_listed = [](const v1::PlanTransferResponse& plan) {
    int n = 0;
    for (const auto& t : plan.tasks()) n += t.paths_size();
    return n;
  };
  auto cut1 = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut1.ok());
  auto rep1 = h_.Replicate(*dst_, *src_, cut1->snapshot(), "", "r1");
  EXPECT_EQ(rep1.plan.items_to_copy(), static_cast<uint64_t>(kFiles));
  EXPECT_EQ(paths_listed(rep1.plan), 0);
  // 256 files per copy task at most, as before.
  EXPECT_GE(rep1.plan.tasks_size(), 1 + kFiles / 256);
  EXPECT_EQ(Picture(PointTree("rp1")), Picture(ds));

  WriteFile(ds + "/d6/f1000", "changed");  // 1000 % 7 == 6
  WriteFile(ds + "/d0/new", "new");
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok());
  auto rep2 = h_.Replicate(*dst_, *src_, cut2->snapshot(), "rp1", "r2");
  EXPECT_TRUE(rep2.plan.incremental());
  EXPECT_EQ(rep2.plan.items_to_copy(), 2u);
  EXPECT_EQ(rep2.plan.items_unchanged(), static_cast<uint64_t>(kFiles - 1));
  EXPECT_EQ(paths_listed(rep2.plan), 2);
  EXPECT_LT(rep2.plan.ByteSizeLong(), 2000u);
  EXPECT_EQ(Picture(PointTree("rp2")), Picture(ds));
  EXPECT_EQ(InodeOf(PointTree("rp2") + "/d5/f5"), InodeOf(PointTree("rp1") + "/d5/f5"));
}

// A point committed before points had an index (index.lbm) is still a base: the plan writes
// its index first.
TEST_F(TransferTest, APointWithoutAnIndexIsStillABase) {
  const std::string ds = src_->root / "ds";
  for (int i = 0; i < 20; ++i) WriteFile(ds + "/f" + std::to_string(i), Bytes(100 + i, i));
  auto cut1 = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut1.ok());
  h_.Replicate(*dst_, *src_, cut1->snapshot(), "", "r1");
  const fs::path index = dst_->root / ".lifeboat/points/%2Fds/rp1/index.lbm";
  ASSERT_TRUE(fs::exists(index));
  fs::remove(index);
  WriteFile(ds + "/f3", "changed");
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok());
  auto rep2 = h_.Replicate(*dst_, *src_, cut2->snapshot(), "rp1", "r2");
  EXPECT_TRUE(rep2.plan.incremental());
  EXPECT_EQ(rep2.plan.items_to_copy(), 1u);
  EXPECT_TRUE(fs::exists(index));
  EXPECT_EQ(Picture(PointTree("rp2")), Picture(ds));
  EXPECT_EQ(InodeOf(PointTree("rp2") + "/f7"), InodeOf(PointTree("rp1") + "/f7"));
}

// Files whose names look like partial copies ("x.lbpart", "x.lbpart1") are data like any
// other: a copy of "x" is staged under a name the cut does not hold.
TEST_F(TransferTest, FilesNamedLikePartialCopiesAreCopiedIntact) {
  const std::string ds = src_->root / "ds";
  WriteFile(ds + "/x", "the file");
  WriteFile(ds + "/x.lbpart", "not a part");
  WriteFile(ds + "/x.lbpart1", "not a part either");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  h_.Replicate(*dst_, *src_, cut->snapshot(), "", "r1");
  EXPECT_EQ(Picture(PointTree("rp1")), Picture(ds));
  EXPECT_EQ(ReadFile(PointTree("rp1") + "/x.lbpart"), "not a part");
}

// Issue 13: the verify of an incremental reads what the transfer wrote, not the files that
// are hard links to the base point's verified files; a staged file that is not such a link
// (here: replaced by one of the same size) is read and its damage found.
TEST_F(TransferTest, VerifyOfAnIncrementalReadsOnlyWhatIsNotTheBasesFile) {
  const std::string ds = src_->root / "ds";
  for (int i = 0; i < 10; ++i) WriteFile(ds + "/f" + std::to_string(i), Bytes(500 + i, i));
  auto cut1 = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut1.ok());
  h_.Replicate(*dst_, *src_, cut1->snapshot(), "", "r1");
  WriteFile(ds + "/f0", "changed");
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok());
  auto plan = h_.Plan(*dst_, *src_, cut2->snapshot(), "rp1", "plan2");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& task : plan->tasks()) {
    ASSERT_TRUE(h_.Transfer(*dst_, *src_, cut2->snapshot(), task, "t-" + task.task_id()).ok());
  }
  auto skipped = [&] {
    std::string line;
    for (const auto& l : h_.host().Logs()) {
      if (l.find("hard links to the verified files of the base point") != std::string::npos) {
        line = l;
      }
    }
    return line;
  };
  auto ok = h_.Verify(*dst_, cut2->snapshot(), v1::VERIFY_DIGEST);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->ok());
  EXPECT_THAT(skipped(), HasSubstr(": 9 files are hard links"));
  // A linked file replaced in the staged tree by another inode of the same size.
  const std::string f5 = StagingTree("rp2") + "/f5";
  const std::string content = ReadFile(f5);
  struct stat before;
  ASSERT_EQ(::lstat(f5.c_str(), &before), 0);
  fs::remove(f5);
  WriteFile(f5, std::string(content.size(), 'X'));
  ASSERT_EQ(::chmod(f5.c_str(), before.st_mode & 07777), 0);
  SetMtime(f5, before.st_mtim.tv_sec * 1000000000LL + before.st_mtim.tv_nsec);
  auto bad = h_.Verify(*dst_, cut2->snapshot(), v1::VERIFY_DIGEST);
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  EXPECT_FALSE(bad->ok());
  ASSERT_EQ(bad->mismatches_size(), 1);
  EXPECT_EQ(bad->mismatches(0).path(), "f5");
  EXPECT_EQ(bad->mismatches(0).what(), "digest");
}

// A plan that cannot read the source's cut record for a reason other than its absence (here
// a directory where the record should be: the source's state damaged or unreachable) fails
// without discarding what an earlier plan of the same cut staged.
TEST_F(TransferTest, APlanThatCannotReadTheSourceKeepsWhatIsStaged) {
  WriteFile(src_->root / "ds/a.bin", Bytes(5000, 1));
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& task : plan->tasks()) {
    ASSERT_TRUE(h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id()).ok());
  }
  ASSERT_TRUE(fs::exists(StagingTree("rp1") + "/a.bin"));
  const fs::path record = src_->root / ".lifeboat/snapshots/%2Fds/rp1/cut.pb";
  fs::rename(record, record.string() + ".aside");
  fs::create_directory(record);
  auto failed = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan2");
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.status().code(), Code::kNotFound);
  EXPECT_TRUE(fs::exists(StagingTree("rp1") + "/a.bin"));
  fs::remove(record);
  fs::rename(record.string() + ".aside", record);
  auto again = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan3");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  for (const auto& task : again->tasks()) {
    auto t = h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t3-" + task.task_id());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->bytes_copied(), 0u) << task.task_id();
  }
}

TEST_F(TransferTest, FullPlanReasons) {
  WriteFile(src_->root / "ds/a.txt", "a");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto missing_base = h_.Plan(*dst_, *src_, cut->snapshot(), "rp0", "plan1");
  ASSERT_TRUE(missing_base.ok()) << missing_base.status().ToString();
  EXPECT_FALSE(missing_base->incremental());
  EXPECT_EQ(missing_base->full_reason(), "base point rp0 not found on target");
  auto forced = h_.Plan(*dst_, *src_, cut->snapshot(), "rp0", "plan2", /*force_full=*/true);
  ASSERT_TRUE(forced.ok());
  EXPECT_FALSE(forced->incremental());
  EXPECT_EQ(forced->full_reason(), "forced full");
}

TEST_F(TransferTest, BandwidthIsHonoured) {
  WriteFile(src_->root / "ds/f.bin", Bytes(512 * 1024, 5));
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok());
  auto plan = h_.Plan(*dst_, *src_, cut->snapshot(), "", "plan1");
  ASSERT_TRUE(plan.ok());
  auto start = std::chrono::steady_clock::now();
  for (const auto& task : plan->tasks()) {
    ASSERT_TRUE(
        h_.Transfer(*dst_, *src_, cut->snapshot(), task, "t-" + task.task_id(), 2 * 1024 * 1024)
            .ok());
  }
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(200));  // 512 KiB at 2 MiB/s is 250 ms
}

}  // namespace
}  // namespace lifeboat::localfs::testing
