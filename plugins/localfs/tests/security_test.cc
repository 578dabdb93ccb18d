// sync_security: owners, groups, modes and POSIX ACLs made equal to the source's, through
// the name maps; dry run, unknown names, idempotency. ACLs are set and read back with libacl,
// independently of the plugin's own attribute codec.
#include <acl/libacl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "acl.h"
#include "localfs_test_util.h"

namespace lifeboat::localfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Sets the ACL of `type` on `path` from libacl's text form (names resolved by libacl).
void SetAclText(const std::string& path, acl_type_t type, const std::string& text) {
  acl_t acl = ::acl_from_text(text.c_str());
  ASSERT_NE(acl, nullptr) << "libacl cannot parse " << text;
  ASSERT_EQ(::acl_set_file(path.c_str(), type, acl), 0)
      << path << ": " << text << ": " << std::strerror(errno);
  ::acl_free(acl);
}

// The ACL of `type` on `path` as libacl prints it: abbreviated, numeric ids, comma-separated.
// An item without an access ACL prints its mode as one ("u::rw-,g::r--,o::r--"); one without
// a default ACL prints "".
std::string AclText(const std::string& path, acl_type_t type) {
  acl_t acl = ::acl_get_file(path.c_str(), type);
  if (acl == nullptr) return "error: " + std::string(std::strerror(errno));
  char* text = ::acl_to_any_text(acl, nullptr, ',', TEXT_ABBREVIATE | TEXT_NUMERIC_IDS);
  std::string out = text == nullptr ? "error" : text;
  ::acl_free(text);
  ::acl_free(acl);
  return out;
}

void Chown(const std::string& path, uid_t uid, gid_t gid) {
  ASSERT_EQ(::lchown(path.c_str(), uid, gid), 0) << path << ": " << std::strerror(errno);
}

// Owner, group, mode and ACLs of every item below (and of) `dir`, for before/after checks.
std::map<std::string, std::string> SecurityPicture(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::vector<std::string> paths = {dir};
  if (fs::is_directory(fs::symlink_status(dir))) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) paths.push_back(e.path().string());
  }
  for (const auto& p : paths) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    std::string v = std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
    if (!S_ISLNK(st.st_mode)) {
      v += " " + std::to_string(st.st_mode & 07777) + " " + AclText(p, ACL_TYPE_ACCESS);
      if (S_ISDIR(st.st_mode)) v += " default " + AclText(p, ACL_TYPE_DEFAULT);
    }
    out[p.substr(dir.size())] = v;
  }
  return out;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "changing owners needs root";
    src_ = &h_.AddCluster("east");
    dst_ = &h_.AddCluster("west");
    src_ds_ = src_->root / "ds";
    dst_ds_ = dst_->root / "ds";
  }

  // The same paths on both sides, owned by root with plain modes; the source then gets
  // the security the tests expect to see copied.
  void BuildBoth() {
    for (const std::string& d : {src_ds_, dst_ds_}) {
      MakeDir(d, 0755);
      WriteFile(d + "/a.txt", "a", 0644);
      MakeDir(d + "/sub", 0755);
      WriteFile(d + "/sub/b.txt", "b", 0644);
      WriteFile(d + "/sub/c.txt", "c", 0644);
      fs::create_symlink("a.txt", d + "/link");
    }
    WriteFile(src_ds_ + "/only-src.txt", "s", 0600);
    WriteFile(dst_ds_ + "/only-dst.txt", "d", 0600);
  }

  Harness h_;
  Cluster* src_ = nullptr;
  Cluster* dst_ = nullptr;
  std::string src_ds_, dst_ds_;
};

TEST_F(SecurityTest, MakesOwnersModesAndAclsMatch) {
  BuildBoth();
  ::chmod(src_ds_.c_str(), 0750);
  Chown(src_ds_ + "/a.txt", 1, 2);  // daemon:bin
  ::chmod((src_ds_ + "/a.txt").c_str(), 0640);
  Chown(src_ds_ + "/sub", 2, 1);  // bin:daemon
  ::chmod((src_ds_ + "/sub").c_str(), 0750);
  SetAclText(src_ds_ + "/sub", ACL_TYPE_DEFAULT, "u::rwx,g::r-x,g:mail:r-x,m::r-x,o::---");
  ::chmod((src_ds_ + "/sub/b.txt").c_str(), 0600);
  SetAclText(src_ds_ + "/sub/b.txt", ACL_TYPE_ACCESS, "u::rw-,u:lp:r--,g::---,m::r--,o::---");
  Chown(src_ds_ + "/link", 1, 1);
  // An ACL the source does not have goes away.
  SetAclText(dst_ds_ + "/sub/c.txt", ACL_TYPE_ACCESS, "u::rw-,u:mail:rw-,g::r--,m::rw-,o::---");
  const auto only_dst_before = SecurityPicture(dst_ds_ + "/only-dst.txt");

  auto resp = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1");
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_THAT(
      std::vector<std::string>(resp->changes().begin(), resp->changes().end()),
      ElementsAre("update .: mode 0755 -> 0750",
                  "update a.txt: owner root -> daemon; group root -> bin; mode 0644 -> 0640",
                  "update link: owner root -> daemon; group root -> daemon",
                  "update sub: owner root -> bin; group root -> daemon; mode 0755 -> 0750; "
                  "default ACL none -> u::rwx,g::r-x,g:mail:r-x,m::r-x,o::---",
                  "update sub/b.txt: mode 0644 -> 0640; access ACL none -> "
                  "u::rw-,u:lp:r--,g::---,m::r--,o::---",
                  "update sub/c.txt: mode 0660 -> 0644; access ACL "
                  "u::rw-,u:mail:rw-,g::r--,m::rw-,o::--- -> none"));
  EXPECT_EQ(resp->items_compared(), 6u);  // ., a.txt, link, sub, sub/b.txt, sub/c.txt
  EXPECT_EQ(resp->items_only_on_source(), 1u);

  // Every item of the target now carries the source's security, read back with libacl.
  auto want = SecurityPicture(src_ds_);
  want.erase("/only-src.txt");
  auto got = SecurityPicture(dst_ds_);
  got.erase("/only-dst.txt");
  EXPECT_EQ(got, want);
  EXPECT_EQ(AclText(dst_ds_ + "/sub/b.txt", ACL_TYPE_ACCESS),
            "u::rw-,u:7:r--,g::---,m::r--,o::---");
  EXPECT_EQ(AclText(dst_ds_ + "/sub", ACL_TYPE_DEFAULT), "u::rwx,g::r-x,g:8:r-x,m::r-x,o::---");
  EXPECT_EQ(SecurityPicture(dst_ds_ + "/only-dst.txt"), only_dst_before);
  EXPECT_FALSE(fs::exists(dst_ds_ + "/only-src.txt"));  // moving data is not this call's job

  // Idempotent by state: nothing left to change.
  auto again = h_.SyncSecurity(*dst_, *src_, "/ds", "sync2");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->changes_size(), 0);
  EXPECT_EQ(again->items_compared(), 6u);
  // And by op id: the first answer again.
  auto repeated = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1");
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_EQ(repeated->SerializeAsString(), resp->SerializeAsString());
}

TEST_F(SecurityTest, MapsTranslateOwnersAndAclEntries) {
  BuildBoth();
  Chown(src_ds_ + "/a.txt", 1, 2);  // daemon:bin
  SetAclText(src_ds_ + "/sub/b.txt", ACL_TYPE_ACCESS,
             "u::rw-,u:daemon:r--,u:sys:rw-,g::---,g:bin:r--,m::rw-,o::---");
  SetAclText(src_ds_ + "/sub", ACL_TYPE_DEFAULT, "u::rwx,g::r-x,g:bin:r-x,m::r-x,o::---");
  Chown(src_ds_ + "/sub/c.txt", 0, 2);  // root:bin: root is not in the map and stays root

  v1::SyncSecurityRequest req;
  (*req.mutable_user_map())["daemon"] = "lp";  // 1 -> 7
  (*req.mutable_group_map())["bin"] = "mail";  // 2 -> 8
  auto resp = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1", req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_THAT(std::vector<std::string>(resp->changes().begin(), resp->changes().end()),
              ElementsAre("update a.txt: owner root -> lp; group root -> mail",
                          "update sub: default ACL none -> u::rwx,g::r-x,g:mail:r-x,m::r-x,o::---",
                          "update sub/b.txt: mode 0644 -> 0660; access ACL none -> "
                          "u::rw-,u:sys:rw-,u:lp:r--,g::---,g:mail:r--,m::rw-,o::---",
                          "update sub/c.txt: group root -> mail"));

  struct stat st;
  ASSERT_EQ(::stat((dst_ds_ + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  ASSERT_EQ(::stat((dst_ds_ + "/sub/c.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 8u);
  // Entries are kept sorted by id, as the kernel wants them: sys (3) before lp (7).
  EXPECT_EQ(AclText(dst_ds_ + "/sub/b.txt", ACL_TYPE_ACCESS),
            "u::rw-,u:3:rw-,u:7:r--,g::---,g:8:r--,m::rw-,o::---");
  EXPECT_EQ(AclText(dst_ds_ + "/sub", ACL_TYPE_DEFAULT), "u::rwx,g::r-x,g:8:r-x,m::r-x,o::---");

  auto again = h_.SyncSecurity(*dst_, *src_, "/ds", "sync2", req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes_size(), 0);
  // Without the maps the names go back to the source's own.
  auto unmapped = h_.SyncSecurity(*dst_, *src_, "/ds", "sync3");
  ASSERT_TRUE(unmapped.ok());
  ASSERT_EQ(::stat((dst_ds_ + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1u);
  EXPECT_EQ(st.st_gid, 2u);
}

TEST_F(SecurityTest, DryRunReportsWithoutChanging) {
  BuildBoth();
  Chown(src_ds_ + "/a.txt", 1, 2);
  ::chmod((src_ds_ + "/sub").c_str(), 0700);
  SetAclText(src_ds_ + "/sub/b.txt", ACL_TYPE_ACCESS, "u::rw-,u:lp:r--,g::---,m::r--,o::---");
  const auto before = SecurityPicture(dst_ds_);

  v1::SyncSecurityRequest dry;
  dry.set_dry_run(true);
  auto reported = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1", dry);
  ASSERT_TRUE(reported.ok()) << reported.status().ToString();
  EXPECT_EQ(reported->changes_size(), 3);
  EXPECT_EQ(SecurityPicture(dst_ds_), before);

  // The same op id without dry_run does the work: a dry run is not recorded as an answer.
  auto done = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(std::vector<std::string>(done->changes().begin(), done->changes().end()),
            std::vector<std::string>(reported->changes().begin(), reported->changes().end()));
  EXPECT_NE(SecurityPicture(dst_ds_), before);
}

TEST_F(SecurityTest, UnknownNameStopsBeforeAnyChange) {
  BuildBoth();
  ::chmod((src_ds_ + "/a.txt").c_str(), 0600);  // a change that must not happen
  SetAclText(src_ds_ + "/sub/b.txt", ACL_TYPE_ACCESS, "u::rw-,u:daemon:r--,g::---,m::r--,o::---");
  const auto before = SecurityPicture(dst_ds_);

  v1::SyncSecurityRequest req;
  (*req.mutable_user_map())["daemon"] = "no-such-user-lifeboat";
  auto resp = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1", req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(resp.status().message(), HasSubstr("user 'no-such-user-lifeboat'"));
  EXPECT_THAT(resp.status().message(), HasSubstr("mapped from source user 'daemon'"));
  EXPECT_THAT(resp.status().message(), HasSubstr("access ACL of 'sub/b.txt'"));
  EXPECT_EQ(SecurityPicture(dst_ds_), before);

  v1::SyncSecurityRequest groups;
  (*groups.mutable_group_map())["root"] = "no-such-group-lifeboat";
  resp = h_.SyncSecurity(*dst_, *src_, "/ds", "sync2", groups);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(resp.status().message(), HasSubstr("group 'no-such-group-lifeboat'"));
  EXPECT_THAT(resp.status().message(), HasSubstr("is the group of '.'"));
  EXPECT_EQ(SecurityPicture(dst_ds_), before);

  v1::SyncSecurityRequest empty_name;
  (*empty_name.mutable_user_map())["daemon"] = "";
  EXPECT_EQ(h_.SyncSecurity(*dst_, *src_, "/ds", "sync3", empty_name).status().code(),
            Code::kInvalidArgument);
}

TEST_F(SecurityTest, IdsWithoutNamesStayOrAreMappedByNumber) {
  BuildBoth();
  Chown(src_ds_ + "/a.txt", 4242, 4343);  // no user or group has these ids here
  auto resp = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1");
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_THAT(std::vector<std::string>(resp->changes().begin(), resp->changes().end()),
              ElementsAre("update a.txt: owner root -> 4242; group root -> 4343"));
  struct stat st;
  ASSERT_EQ(::stat((dst_ds_ + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);

  v1::SyncSecurityRequest req;
  (*req.mutable_user_map())["4242"] = "daemon";
  resp = h_.SyncSecurity(*dst_, *src_, "/ds", "sync2", req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(::stat((dst_ds_ + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1u);
  EXPECT_EQ(st.st_gid, 4343u);
}

TEST_F(SecurityTest, MissingDataSetAndFencedTargetAreRefused) {
  BuildBoth();
  EXPECT_EQ(h_.SyncSecurity(*dst_, *src_, "/nope", "sync0").status().code(), Code::kNotFound);
  ::chmod((src_ds_ + "/a.txt").c_str(), 0600);
  ASSERT_TRUE(h_.Fence(*dst_, "/ds", 9, "fence1", "demoted").ok());
  auto refused = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("fenced at epoch 9"));
  v1::SyncSecurityRequest dry;
  dry.set_dry_run(true);
  auto reported = h_.SyncSecurity(*dst_, *src_, "/ds", "sync2", dry);
  ASSERT_TRUE(reported.ok()) << reported.status().ToString();
  EXPECT_EQ(reported->changes_size(), 1);
  ASSERT_TRUE(h_.Unfence(*dst_, "/ds", 10, "unfence1").ok());
  auto done = h_.SyncSecurity(*dst_, *src_, "/ds", "sync1");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->changes_size(), 1);
}

const v1::Entry* EntryOf(const v1::MemberManifest& m, const std::string& path) {
  for (const auto& e : m.entries()) {
    if (e.path() == path) return &e;
  }
  return nullptr;
}

TEST_F(SecurityTest, AclsTravelThroughABackupAndRestore) {
  MakeDir(src_ds_, 0755);
  WriteFile(src_ds_ + "/f.txt", "f", 0640);
  SetAclText(src_ds_ + "/f.txt", ACL_TYPE_ACCESS, "u::rw-,u:lp:r--,g::r--,m::r--,o::---");
  MakeDir(src_ds_ + "/d", 0770);
  WriteFile(src_ds_ + "/d/g.txt", "g", 0644);  // before the default ACL: it inherits nothing
  SetAclText(src_ds_ + "/d", ACL_TYPE_ACCESS, "u::rwx,u:lp:rwx,g::r-x,m::rwx,o::---");
  SetAclText(src_ds_ + "/d", ACL_TYPE_DEFAULT, "u::rwx,g::r-x,g:mail:r-x,m::r-x,o::---");

  auto cut = h_.Cut(*src_, "/ds", "rp1", "cut1");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  const v1::MemberManifest m = h_.CutRecord(*src_, "/ds", "rp1");
  ASSERT_NE(EntryOf(m, "f.txt"), nullptr);
  EXPECT_EQ(EntryOf(m, "f.txt")->acl_access(), "u::rw-,u:7:r--,g::r--,m::r--,o::---");
  EXPECT_EQ(EntryOf(m, "d")->acl_access(), "u::rwx,u:7:rwx,g::r-x,m::rwx,o::---");
  EXPECT_EQ(EntryOf(m, "d")->acl_default(), "u::rwx,g::r-x,g:8:r-x,m::r-x,o::---");
  EXPECT_EQ(EntryOf(m, "d/g.txt")->acl_access(), "");
  h_.Replicate(*dst_, *src_, cut->snapshot(), "", "rep1");

  auto restored = h_.Restore(*dst_, "/ds", "rp1", "/copy", false, "restore1");
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  const std::string copy = dst_->root / "copy/ds";
  EXPECT_EQ(SecurityPicture(copy), SecurityPicture(src_ds_));
  EXPECT_EQ(AclText(copy + "/f.txt", ACL_TYPE_ACCESS), "u::rw-,u:7:r--,g::r--,m::r--,o::---");
  EXPECT_EQ(AclText(copy + "/d", ACL_TYPE_DEFAULT), "u::rwx,g::r-x,g:8:r-x,m::r-x,o::---");
  // g.txt was created in a directory with a default ACL but has no ACL in the point.
  EXPECT_EQ(AclText(copy + "/d/g.txt", ACL_TYPE_ACCESS), "u::rw-,g::r--,o::r--");
  auto again = h_.Restore(*dst_, "/ds", "rp1", "/copy", false, "restore2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes_size(), 0);

  // An ACL added on the target is one restore takes away, and verify notices on a point.
  SetAclText(copy + "/d/g.txt", ACL_TYPE_ACCESS, "u::rw-,u:daemon:rw-,g::r--,m::rw-,o::r--");
  auto undone = h_.Restore(*dst_, "/ds", "rp1", "/copy", false, "restore3", /*overwrite=*/true);
  ASSERT_TRUE(undone.ok());
  EXPECT_THAT(std::vector<std::string>(undone->changes().begin(), undone->changes().end()),
              ElementsAre("update d/g.txt"));
  EXPECT_EQ(AclText(copy + "/d/g.txt", ACL_TYPE_ACCESS), "u::rw-,g::r--,o::r--");

  // An ACL-only change on the source moves the file again: a link to the base point's inode
  // would carry the old ACL (and give the new one to the old point).
  SetAclText(src_ds_ + "/d/g.txt", ACL_TYPE_ACCESS, "u::rw-,u:lp:r--,g::r--,m::r--,o::r--");
  auto cut2 = h_.Cut(*src_, "/ds", "rp2", "cut2");
  ASSERT_TRUE(cut2.ok()) << cut2.status().ToString();
  EXPECT_NE(cut2->manifest().manifest_digest(), m.manifest_digest());
  auto rep2 = h_.Replicate(*dst_, *src_, cut2->snapshot(), "rp1", "rep2");
  EXPECT_EQ(rep2.plan.items_to_copy(), 1u);
  const std::string points = dst_->root / ".lifeboat/points/%2Fds";
  EXPECT_EQ(AclText(points + "/rp2/tree/d/g.txt", ACL_TYPE_ACCESS),
            "u::rw-,u:7:r--,g::r--,m::r--,o::r--");
  EXPECT_EQ(AclText(points + "/rp1/tree/d/g.txt", ACL_TYPE_ACCESS), "u::rw-,g::r--,o::r--");

  SetAclText(points + "/rp1/tree/f.txt", ACL_TYPE_ACCESS, "u::rw-,g::r--,o::---");
  auto verified = h_.Verify(*dst_, cut->snapshot(), v1::VERIFY_SIZE);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  ASSERT_EQ(verified->mismatches_size(), 1);
  EXPECT_EQ(verified->mismatches(0).path(), "f.txt");
  EXPECT_EQ(verified->mismatches(0).what(), "acl");
}

TEST(AclCodecTest, TextRoundTripsAndBadTextIsNamed) {
  auto acl = Acl::FromText("u::rw-,g:8:r-x,u:1001:r--,g::r--,m::r-x,o::---");
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  // Sorted by tag, then id, as the kernel keeps them.
  EXPECT_EQ(acl->ToText(), "u::rw-,u:1001:r--,g::r--,g:8:r-x,m::r-x,o::---");
  EXPECT_FALSE(acl->IsMinimal());
  auto back = Acl::FromXattr(acl->ToXattr());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *acl);
  EXPECT_TRUE(Acl::FromText("u::rwx,g::r-x,o::r-x")->IsMinimal());
  // What chmod does to an ACL: the mask (or the owning group without one) follows the group
  // bits, the owner and other entries theirs; named entries stay.
  EXPECT_EQ(Acl::FromText("u::rw-,u:7:rw-,g::rw-,m::rw-,o::rw-")->WithMode(0444).ToText(),
            "u::r--,u:7:rw-,g::rw-,m::r--,o::r--");
  EXPECT_EQ(Acl::FromText("u::rwx,g::r-x,o::r-x")->WithMode(0640).ToText(), "u::rw-,g::r--,o::---");
  EXPECT_TRUE(Acl::FromText("")->empty());
  for (const char* bad : {"u::rw", "x::rw-", "m:5:r--", "u:abc:r--", "u::rw-,", "u::rwz"}) {
    auto parsed = Acl::FromText(bad);
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Acl::FromXattr(std::string("\x01\x00\x00\x00", 4)).status().code(),
            Code::kInvalidArgument);
}

TEST(AclCodecTest, ReadsAndWritesWhatLibaclDoes) {
  TempDir dir;
  const std::string file = dir / "f";
  WriteFile(file, "x", 0640);
  SetAclText(file, ACL_TYPE_ACCESS, "u::rw-,u:lp:r--,g::r--,g:mail:rw-,m::rw-,o::---");
  auto read = ReadAcl(file, AclKind::kAccess);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->ToText(), "u::rw-,u:7:r--,g::r--,g:8:rw-,m::rw-,o::---");
  EXPECT_EQ(read->ToText(), AclText(file, ACL_TYPE_ACCESS));
  auto none = ReadAcl(file, AclKind::kDefault);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  const std::string other = dir / "g";
  WriteFile(other, "y", 0600);
  ASSERT_TRUE(WriteAcl(other, AclKind::kAccess, *read).ok());
  EXPECT_EQ(AclText(other, ACL_TYPE_ACCESS), "u::rw-,u:7:r--,g::r--,g:8:rw-,m::rw-,o::---");
  struct stat st;
  ASSERT_EQ(::stat(other.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);  // the group bits follow the mask
  ASSERT_TRUE(WriteAcl(other, AclKind::kAccess, Acl()).ok());
  auto gone = ReadAcl(other, AclKind::kAccess);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->empty());
  EXPECT_EQ(AclText(other, ACL_TYPE_ACCESS), "u::rw-,g::rw-,o::---");
}

}  // namespace
}  // namespace lifeboat::localfs::testing
