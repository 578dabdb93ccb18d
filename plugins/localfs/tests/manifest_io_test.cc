// Reading one field of a point's manifest without parsing its entries (issue 13): the same
// answer as a full parse, for every shape a manifest file can have.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "localfs_test_util.h"
#include "manifest_io.h"

namespace lifeboat::localfs::testing {
namespace {

v1::MemberManifest Manifest(int entries, int64_t committed) {
  v1::MemberManifest m;
  m.mutable_snapshot()->set_restore_point_id("rp1");
  m.set_digest_algorithm("sha256");
  for (int i = 0; i < entries; ++i) {
    v1::Entry* e = m.add_entries();
    e->set_path("d/f" + std::to_string(i));
    e->set_type(v1::ENTRY_FILE);
    e->set_size(static_cast<uint64_t>(i));
    e->set_digest(std::string(32, static_cast<char>(i)));
    e->set_mtime_unix_nanos(1700000000000000000 + i);
  }
  m.set_total_bytes(12345);
  m.set_base_restore_point_id("rp0");
  if (committed != 0) m.set_committed_unix_nanos(committed);
  (*m.mutable_user_names())[1000] = "alice";
  (*m.mutable_group_names())[1000] = "staff";
  return m;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(ReadCommittedUnixNanosTest, AnswersAsAFullParseDoes) {
  TempDir dir;
  const std::string path = dir / "manifest.pb";
  for (int64_t committed : {int64_t{1796672985258116000}, int64_t{0}, int64_t{-5}, int64_t{1}}) {
    for (int entries : {0, 1, 3000}) {
      const v1::MemberManifest m = Manifest(entries, committed);
      WriteBytes(path, m.SerializeAsString());
      auto read = ReadCommittedUnixNanos(path);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_EQ(*read, committed) << entries << " entries";
    }
  }
  // Two messages one after the other merge; the later value wins, in a parse and here.
  const std::string both = Manifest(2, 111).SerializeAsString() +
                           Manifest(2, 222).SerializeAsString() +
                           Manifest(1, 0).SerializeAsString();
  WriteBytes(path, both);
  v1::MemberManifest parsed;
  ASSERT_TRUE(parsed.ParseFromString(both));
  auto read = ReadCommittedUnixNanos(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, parsed.committed_unix_nanos());
  EXPECT_EQ(*read, 222);
}

TEST(ReadCommittedUnixNanosTest, MissingAndDamagedFiles) {
  TempDir dir;
  EXPECT_EQ(ReadCommittedUnixNanos(dir / "none.pb").status().code(), Code::kNotFound);
  const std::string whole = Manifest(50, 42).SerializeAsString();
  const std::string path = dir / "manifest.pb";
  WriteBytes(path, whole.substr(0, whole.size() / 2));  // cut inside an entry
  EXPECT_EQ(ReadCommittedUnixNanos(path).status().code(), Code::kDataLoss);
  WriteBytes(path, std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11));
  EXPECT_EQ(ReadCommittedUnixNanos(path).status().code(), Code::kDataLoss);
}

std::vector<v1::Entry> StreamAll(const std::string& path, bool in_cut, Status* status) {
  std::vector<v1::Entry> out;
  auto r = ManifestFileEntries::Open(path, in_cut);
  if (!r.ok()) {
    *status = r.status();
    return out;
  }
  v1::Entry e;
  while (true) {
    auto more = (*r)->Next(&e);
    if (!more.ok()) {
      *status = more.status();
      return out;
    }
    if (!*more) break;
    out.push_back(e);
  }
  *status = OkStatus();
  return out;
}

TEST(ManifestFileEntriesTest, StreamsTheEntriesOfAPointAndOfACutRecord) {
  TempDir dir;
  const std::string path = dir / "state.pb";
  for (int entries : {0, 1, 3000}) {
    const v1::MemberManifest m = Manifest(entries, 42);
    v1::CutResponse cut;
    cut.mutable_snapshot()->set_restore_point_id("rp1");
    *cut.mutable_manifest() = m;
    for (bool in_cut : {false, true}) {
      WriteBytes(path, in_cut ? cut.SerializeAsString() : m.SerializeAsString());
      Status s;
      std::vector<v1::Entry> got = StreamAll(path, in_cut, &s);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(got.size(), static_cast<size_t>(entries));
      for (int i = 0; i < entries; ++i) {
        EXPECT_EQ(got[i].SerializeAsString(), m.entries(i).SerializeAsString());
      }
    }
  }
  Status s;
  StreamAll(dir / "none.pb", false, &s);
  EXPECT_EQ(s.code(), Code::kNotFound);
  // Cut short inside an entry, or inside the cut record's manifest: DATA_LOSS, not an end.
  v1::CutResponse cut;
  *cut.mutable_manifest() = Manifest(50, 1);
  for (bool in_cut : {false, true}) {
    const std::string whole =
        in_cut ? cut.SerializeAsString() : Manifest(50, 1).SerializeAsString();
    WriteBytes(path, whole.substr(0, whole.size() / 2));
    StreamAll(path, in_cut, &s);
    EXPECT_EQ(s.code(), Code::kDataLoss) << in_cut;
  }
}

TEST(WithoutEntriesTest, KeepsEveryOtherFieldAndCountsTheEntries) {
  v1::MemberManifest m = Manifest(3, 77);
  m.set_manifest_digest("digest");
  v1::MemberManifest expected = m;
  expected.clear_entries();
  expected.set_entry_count(3);
  const v1::MemberManifest got = WithoutEntries(m);
  EXPECT_EQ(got.SerializeAsString(), expected.SerializeAsString());
  // Already without entries: the count it carries stays.
  EXPECT_EQ(WithoutEntries(got).entry_count(), 3u);
}

}  // namespace
}  // namespace lifeboat::localfs::testing
