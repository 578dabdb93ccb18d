// fence / unfence: what really stops a write (by root, by an unprivileged process, through
// a descriptor opened before the fence), exact undo, epochs, op ids, and the plugin's own
// operations on a fenced data set.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iterator>
#include <map>

#include <lifeboat/localfs/state/v1/state.pb.h>

#include "acl.h"
#include "localfs_test_util.h"

namespace lifeboat::localfs::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;
namespace lfstate = ::lifeboat::localfs::state::v1;

bool HasEffectiveCap(int cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0;
}

// Lowers CAP_LINUX_IMMUTABLE from this thread's effective set while it lives, as for an
// agent that does not hold it. It stays permitted, so it is raised again at the end.
class WithoutImmutableCapability {
 public:
  WithoutImmutableCapability() {
    ::syscall(SYS_capget, &header_, saved_);
    struct __user_cap_data_struct lowered[_LINUX_CAPABILITY_U32S_3];
    std::copy(std::begin(saved_), std::end(saved_), std::begin(lowered));
    lowered[CAP_TO_INDEX(CAP_LINUX_IMMUTABLE)].effective &= ~CAP_TO_MASK(CAP_LINUX_IMMUTABLE);
    ok_ = ::syscall(SYS_capset, &header_, lowered) == 0 && !HasEffectiveCap(CAP_LINUX_IMMUTABLE);
  }
  ~WithoutImmutableCapability() { ::syscall(SYS_capset, &header_, saved_); }
  bool ok() const { return ok_; }

 private:
  struct __user_cap_header_struct header_ = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct saved_[_LINUX_CAPABILITY_U32S_3] = {};
  bool ok_ = false;
};

// Appends one byte to `path`: 0 when it worked, the errno of the open or write otherwise.
int AppendByte(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::write(fd, "x", 1) == 1 ? 0 : errno;
  ::close(fd);
  return err;
}

// Creates (and removes again) a file in `dir`: 0 when it worked, the errno otherwise.
int CreateIn(const std::string& dir) {
  std::string path = dir + "/created-by-test";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return errno;
  ::close(fd);
  ::unlink(path.c_str());
  return 0;
}

// Runs `fn` in a child process that dropped to uid and gid 65534 (nobody), as an
// application without privileges; returns what `fn` returned (an errno or 0).
int AsNobody(int (*fn)(const std::string&), const std::string& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(250);
    _exit(fn(path) & 0xff);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

uint32_t ModeOf(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0xffffffff;
}

class FenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "these measurements run as root (and drop to nobody)";
    src_ = &h_.AddCluster("east");
    dst_ = &h_.AddCluster("west");
    ds_ = dst_->root / "ds";
    BuildSampleTree(ds_);
    // What an unprivileged application may write when nothing is fenced.
    WriteFile(ds_ + "/shared.txt", "shared\n", 0666);
    MakeDir(ds_ + "/dropbox", 0777);
    WriteFile(ds_ + "/scratch.txt", "scratch\n", 0666);
    // mkdtemp makes the root 0700; an unprivileged process must be able to reach the data.
    ::chmod(dst_->root.path().c_str(), 0755);
  }

  // The tree as it must come back after an unfence (scratch.txt is written during tests).
  std::map<std::string, Node> Settled() {
    auto p = Picture(ds_);
    p.erase("scratch.txt");
    return p;
  }

  std::vector<std::string> FencedItems() {
    std::vector<std::string> out;
    if (IsImmutable(ds_).value_or(false)) out.push_back(".");
    for (const auto& e : fs::recursive_directory_iterator(ds_)) {
      if (!e.is_symlink() && IsImmutable(e.path().string()).value_or(false)) {
        out.push_back(fs::relative(e.path(), ds_).string());
      }
    }
    return out;
  }

  Harness h_;
  Cluster* src_ = nullptr;
  Cluster* dst_ = nullptr;
  std::string ds_;
};

TEST_F(FenceTest, ImmutableFenceStopsRootAndOthersAndUnfenceUndoesIt) {
  if (!HasEffectiveCap(CAP_LINUX_IMMUTABLE)) GTEST_SKIP() << "needs CAP_LINUX_IMMUTABLE";
  // Without a fence both may write: what follows is the fence's doing.
  ASSERT_EQ(AppendByte(ds_ + "/scratch.txt"), 0);
  ASSERT_EQ(AsNobody(AppendByte, ds_ + "/scratch.txt"), 0);
  ASSERT_EQ(AsNobody(CreateIn, ds_ + "/dropbox"), 0);
  const auto before = Settled();
  int held = ::open((ds_ + "/scratch.txt").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(held, 0);

  auto fenced = h_.Fence(*dst_, "/ds", 5, "fence1", "failover to east");
  ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
  EXPECT_TRUE(fenced->fenced());
  EXPECT_EQ(fenced->epoch(), 5u);
  EXPECT_THAT(fenced->detail(), HasSubstr("immutable"));
  // The data set's directory and its 14 directories and files (links have no attributes).
  EXPECT_EQ(fenced->items_changed(), 15u);

  EXPECT_EQ(AppendByte(ds_ + "/scratch.txt"), EPERM);  // root
  EXPECT_EQ(AppendByte(ds_ + "/a.txt"), EPERM);
  EXPECT_EQ(CreateIn(ds_ + "/dropbox"), EPERM);
  EXPECT_EQ(CreateIn(ds_), EPERM);
  EXPECT_EQ(::unlink((ds_ + "/a.txt").c_str()), -1);
  EXPECT_EQ(::chmod((ds_ + "/a.txt").c_str(), 0777), -1);
  EXPECT_EQ(AsNobody(AppendByte, ds_ + "/shared.txt"), EPERM);  // an application
  EXPECT_EQ(AsNobody(CreateIn, ds_ + "/dropbox"), EPERM);
  // Even a descriptor opened for writing before the fence can no longer write.
  EXPECT_EQ(::write(held, "y", 1), -1);
  EXPECT_EQ(errno, EPERM);
  ::close(held);
  EXPECT_EQ(FencedItems().size(), 15u);

  auto probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->fenced_size(), 1);
  EXPECT_EQ(probe->fenced(0).data_set().selector(), "/ds");
  EXPECT_EQ(probe->fenced(0).epoch(), 5u);
  EXPECT_EQ(probe->fenced(0).reason(), "failover to east");
  EXPECT_EQ(probe->fenced(0).mechanism(), "immutable");
  EXPECT_GT(probe->fenced(0).fenced_unix_nanos(), 0);
  EXPECT_EQ(probe->health(), v1::HEALTHY);

  auto unfenced = h_.Unfence(*dst_, "/ds", 6, "unfence1");
  ASSERT_TRUE(unfenced.ok()) << unfenced.status().ToString();
  EXPECT_FALSE(unfenced->fenced());
  EXPECT_EQ(unfenced->epoch(), 0u) << "no fence is in force after an unfence";
  EXPECT_TRUE(FencedItems().empty());
  EXPECT_EQ(Describe(Settled()), Describe(before));
  EXPECT_EQ(AsNobody(AppendByte, ds_ + "/shared.txt"), 0);
  EXPECT_EQ(AppendByte(ds_ + "/scratch.txt"), 0);
  probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->fenced_size(), 0);
}

TEST_F(FenceTest, WithoutTheCapabilityWriteBitsStopOthersButNotRoot) {
  // chmod moves an access ACL's mask with the group bits; the point must not see that.
  const char* kAcl = "u::rw-,u:7:rw-,g::rw-,m::rw-,o::rw-";
  ASSERT_TRUE(WriteAcl(ds_ + "/shared.txt", AclKind::kAccess, *Acl::FromText(kAcl)).ok());
  const auto before = Settled();
  {
    WithoutImmutableCapability lowered;
    ASSERT_TRUE(lowered.ok()) << "cannot lower CAP_LINUX_IMMUTABLE for the test";
    auto fenced = h_.Fence(*dst_, "/ds", 3, "fence1", "maintenance");
    ASSERT_TRUE(fenced.ok()) << fenced.status().ToString();
    EXPECT_THAT(fenced->detail(), HasSubstr("write_bits"));
  }
  EXPECT_TRUE(FencedItems().empty());
  EXPECT_EQ(ModeOf(ds_ + "/a.txt"), 0444u);
  EXPECT_EQ(ModeOf(ds_ + "/shared.txt"), 0444u);
  EXPECT_EQ(ModeOf(ds_ + "/dropbox"), 0555u);
  EXPECT_EQ(ModeOf(ds_ + "/sub/b.txt"), 0555u);
  EXPECT_EQ(ModeOf(ds_), 0555u);
  EXPECT_EQ(AsNobody(AppendByte, ds_ + "/shared.txt"), EACCES);
  EXPECT_EQ(AsNobody(CreateIn, ds_ + "/dropbox"), EACCES);
  // The measured limit of this mechanism (README, "Fencing"): root ignores permission bits.
  EXPECT_EQ(AppendByte(ds_ + "/scratch.txt"), 0);
  auto probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->fenced_size(), 1);
  EXPECT_EQ(probe->fenced(0).mechanism(), "write_bits");

  // A cut of the fenced data set records the modes without the fence.
  auto cut = h_.Cut(*dst_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  std::map<std::string, uint32_t> modes;
  const v1::MemberManifest recorded = h_.CutRecord(*dst_, "/ds", "rp1");
  for (const auto& e : recorded.entries()) modes[e.path()] = e.mode();
  EXPECT_EQ(modes["a.txt"], 0644u);
  EXPECT_EQ(modes["dropbox"], 0777u);
  EXPECT_EQ(modes["sub/b.txt"], 0755u);
  EXPECT_EQ(modes["sub/deeper/c.dat"], 0444u);
  EXPECT_EQ(modes["shared.txt"], 0666u);
  EXPECT_EQ(ReadAcl(ds_ + "/shared.txt", AclKind::kAccess)->ToText(),
            "u::r--,u:7:rw-,g::rw-,m::r--,o::r--");
  std::map<std::string, std::string> acls;
  for (const auto& e : recorded.entries()) acls[e.path()] = e.acl_access();
  EXPECT_EQ(acls["shared.txt"], kAcl);

  auto unfenced = h_.Unfence(*dst_, "/ds", 3, "unfence1");
  ASSERT_TRUE(unfenced.ok()) << unfenced.status().ToString();
  EXPECT_EQ(Describe(Settled()), Describe(before));  // every mode exactly as it was
  EXPECT_EQ(ReadAcl(ds_ + "/shared.txt", AclKind::kAccess)->ToText(), kAcl);
  EXPECT_EQ(AsNobody(AppendByte, ds_ + "/shared.txt"), 0);
}

TEST_F(FenceTest, StaleUnfenceIsRefused) {
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 7, "fence1", "demoted").ok());
  auto stale = h_.Unfence(*dst_, "/ds", 6, "unfence1");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(), HasSubstr("epoch 6"));
  EXPECT_THAT(stale.status().message(), HasSubstr("epoch 7"));
  auto probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->fenced_size(), 1);  // still fenced
  EXPECT_NE(AsNobody(AppendByte, ds_ + "/shared.txt"), 0);
  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 7, "unfence2").ok());  // the same epoch may
  EXPECT_EQ(AsNobody(AppendByte, ds_ + "/shared.txt"), 0);
}

// The fence journal moved onto the SDK's OpJournal; its file must still be read as the
// plugin's own OpJournal was written by older agents (same field numbers and types).
TEST_F(FenceTest, AJournalWrittenByAnOlderAgentStillAnswersARepeat) {
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 3, "fence-a", "first").ok());
  std::string journal;
  for (const auto& e : fs::recursive_directory_iterator(dst_->root.path())) {
    if (e.path().filename() == "ops.pb" &&
        e.path().string().find("/fences/") != std::string::npos) {
      journal = e.path().string();
    }
  }
  ASSERT_FALSE(journal.empty()) << "the fence wrote no journal";

  v1::FenceResponse old_answer;
  old_answer.set_fenced(true);
  old_answer.set_epoch(9);
  old_answer.set_detail("answered by an older agent");
  lfstate::OpJournal old_format;
  lfstate::OpRecord* op = old_format.add_ops();
  op->set_op_id("fence-old");
  op->set_operation("fence");
  op->set_response(old_answer.SerializeAsString());
  op->set_unix_nanos(1);
  WriteFile(journal, old_format.SerializeAsString(), 0600);
  auto replayed = h_.Fence(*dst_, "/ds", 9, "fence-old", "again");
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_EQ(replayed->detail(), "answered by an older agent");
  auto probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->fenced_size(), 1);
  EXPECT_EQ(probe->fenced(0).epoch(), 3u) << "a replayed answer must not run the fence again";

  // A journal damaged outside Lifeboat does not block a fence: it starts over.
  WriteFile(journal, std::string("\xff\xff\xff\xff damaged"), 0600);
  auto after_damage = h_.Fence(*dst_, "/ds", 4, "fence-new", "after damage");
  ASSERT_TRUE(after_damage.ok()) << after_damage.status().ToString();
  EXPECT_EQ(after_damage->epoch(), 4u);
  auto repeat = h_.Fence(*dst_, "/ds", 4, "fence-new", "after damage");
  ASSERT_TRUE(repeat.ok()) << repeat.status().ToString();
  EXPECT_EQ(repeat->SerializeAsString(), after_damage->SerializeAsString());
  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 4, "unfence-all").ok());
}

TEST_F(FenceTest, FencingTwiceIsOneFenceWithTheHigherEpoch) {
  const auto before = Settled();
  auto first = h_.Fence(*dst_, "/ds", 3, "fence-a", "first");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto higher = h_.Fence(*dst_, "/ds", 5, "fence-b", "second");
  ASSERT_TRUE(higher.ok()) << higher.status().ToString();
  EXPECT_EQ(higher->epoch(), 5u);
  EXPECT_EQ(higher->items_changed(), 0u);  // nothing left to fence
  auto lower = h_.Fence(*dst_, "/ds", 4, "fence-c", "late");
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(lower->epoch(), 5u);
  // A repeated op id gets its first answer.
  auto repeated = h_.Fence(*dst_, "/ds", 3, "fence-a", "first");
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->SerializeAsString(), first->SerializeAsString());
  auto probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->fenced_size(), 1);
  EXPECT_EQ(probe->fenced(0).epoch(), 5u);
  EXPECT_EQ(probe->fenced(0).reason(), "second");
  EXPECT_EQ(h_.Unfence(*dst_, "/ds", 4, "unfence0").status().code(), Code::kFailedPrecondition);

  auto unfenced = h_.Unfence(*dst_, "/ds", 5, "unfence1");
  ASSERT_TRUE(unfenced.ok()) << unfenced.status().ToString();
  EXPECT_TRUE(FencedItems().empty());
  EXPECT_EQ(Describe(Settled()), Describe(before));
  // Unfencing what is not fenced is fine (by state)...
  auto again = h_.Unfence(*dst_, "/ds", 5, "unfence2");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->fenced());
  // ...and a late retry of an unfence does not lift a fence made after it (by op id).
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 5, "fence-d", "demoted again").ok());
  auto retried = h_.Unfence(*dst_, "/ds", 5, "unfence1");
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->SerializeAsString(), unfenced->SerializeAsString());
  probe = h_.Probe(*dst_);
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->fenced_size(), 1);
  // An op id names one operation.
  EXPECT_EQ(h_.Unfence(*dst_, "/ds", 5, "fence-d").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 5, "unfence3").ok());
}

TEST_F(FenceTest, AnItemImmutableBeforeTheFenceStaysImmutable) {
  if (!HasEffectiveCap(CAP_LINUX_IMMUTABLE)) GTEST_SKIP() << "needs CAP_LINUX_IMMUTABLE";
  int fd = ::open((ds_ + "/a.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int flags = 0;
  ASSERT_EQ(::ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
  flags |= FS_IMMUTABLE_FL;
  ASSERT_EQ(::ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
  ::close(fd);
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 1, "fence1").ok());
  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 1, "unfence1").ok());
  EXPECT_EQ(FencedItems(), std::vector<std::string>{"a.txt"});
}

TEST_F(FenceTest, RestoreIntoAFencedDataSetIsRefused) {
  BuildSampleTree(src_->root / "ds");
  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  h_.Replicate(*dst_, *src_, cut->snapshot(), "", "rep1");
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 11, "fence1", "demoted").ok());
  const auto fenced_picture = Picture(ds_);

  auto refused = h_.Restore(*dst_, "/ds", "rp1", "", false, "restore1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("fenced at epoch 11"));
  EXPECT_THAT(refused.status().message(), HasSubstr("restore into /ds"));
  // Below a fenced data set is inside it.
  EXPECT_EQ(h_.Restore(*dst_, "/ds", "rp1", "/ds/inner", false, "restore2").status().code(),
            Code::kFailedPrecondition);
  // A dry run says what the real run will: refused. A comparison only reads, and lists.
  auto dry = h_.Restore(*dst_, "/ds", "rp1", "", true, "restore3", /*overwrite=*/true);
  EXPECT_EQ(dry.status().code(), Code::kFailedPrecondition) << dry.status().ToString();
  EXPECT_THAT(dry.status().message(), HasSubstr("fenced at epoch 11"));
  v1::RestoreRequest compare;
  compare.set_op_id("compare1");
  compare.mutable_data_set()->set_component("localfs");
  compare.mutable_data_set()->set_selector("/ds");
  compare.set_restore_point_id("rp1");
  compare.set_dry_run(true);
  compare.set_compare_only(true);
  auto compared = h_.Call<v1::RestoreResponse>(*dst_, LB_OP_RESTORE, compare);
  ASSERT_TRUE(compared.ok()) << compared.status().ToString();
  // Other destinations are not fenced.
  auto elsewhere = h_.Restore(*dst_, "/ds", "rp1", "/copy", false, "restore4");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  EXPECT_EQ(Picture(ds_), fenced_picture);

  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 12, "unfence1").ok());
  auto restored = h_.Restore(*dst_, "/ds", "rp1", "", false, "restore1", /*overwrite=*/true);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(Picture(ds_), Picture(src_->root / "ds"));
}

TEST_F(FenceTest, AFencedDataSetCanBeCutAndItsSnapshotReleased) {
  if (!HasEffectiveCap(CAP_LINUX_IMMUTABLE)) GTEST_SKIP() << "needs CAP_LINUX_IMMUTABLE";
  // A snapshot cut before the fence shares inodes with the live files.
  auto before_fence = h_.Cut(*dst_, "/ds", "rp0", "cut0");
  ASSERT_TRUE(before_fence.ok()) << before_fence.status().ToString();
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 2, "fence1", "demoted").ok());
  const auto at_fence = Picture(ds_);

  // The cut copies (links to immutable files are refused) and the data cannot change under
  // it: the point is the data set as the fence froze it.
  auto cut = h_.Cut(*dst_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  h_.Replicate(*src_, *dst_, cut->snapshot(), "", "rep1");
  ASSERT_TRUE(h_.Restore(*src_, "/ds", "rp1", "/back", false, "restore1").ok());
  EXPECT_EQ(Picture(src_->root / "back/ds"), at_fence);

  // Releasing the earlier snapshot cannot unlink its (now immutable) files yet: they wait
  // in the trash until the unfence.
  ASSERT_TRUE(h_.Release(*dst_, before_fence->snapshot(), "release0").ok());
  ASSERT_TRUE(h_.Release(*dst_, cut->snapshot(), "release1").ok());
  const std::string trash = dst_->root / ".lifeboat/trash";
  EXPECT_FALSE(fs::is_empty(trash));
  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 2, "unfence1").ok());
  EXPECT_TRUE(fs::is_empty(trash));
}

}  // namespace
}  // namespace lifeboat::localfs::testing
