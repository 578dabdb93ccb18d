// The SDK's streamed manifests (sdk/manifest.h): sorted runs on disk, merged; read back in
// order and from a path; the canonical digest; the diff of two sorted streams.
#include <gtest/gtest.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/manifest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace lifeboat::sdk {
namespace {

namespace fs = std::filesystem;

class SdkManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sdk-manifest-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static v1::Entry File(std::string path, uint64_t size) {
    v1::Entry e;
    e.set_path(std::move(path));
    e.set_type(v1::ENTRY_FILE);
    e.set_size(size);
    e.set_mode(0644);
    e.set_digest(std::string(32, static_cast<char>(size & 0xff)));
    return e;
  }

  static std::vector<v1::Entry> ReadAll(ManifestReader& r) {
    std::vector<v1::Entry> out;
    v1::Entry e;
    while (true) {
      auto more = r.Next(&e);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      out.push_back(e);
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(SdkManifestTest, SpilledRunsMergeSortedByteOrderWithSummaryAndDigest) {
  // Paths whose byte order differs from a tree walk's ("a.b" < "a/b"), given shuffled.
  std::vector<std::string> paths;
  for (int i = 0; i < 3000; ++i) {
    paths.push_back("d" + std::to_string(i % 7) + "/f" + std::to_string(i));
    if (i % 100 == 0) paths.push_back("d" + std::to_string(i % 7) + ".x" + std::to_string(i));
  }
  std::vector<v1::Entry> entries;
  for (size_t i = 0; i < paths.size(); ++i) entries.push_back(File(paths[i], i));
  std::shuffle(entries.begin(), entries.end(), std::mt19937(7));

  ManifestWriterOptions opts;
  opts.buffer_bytes = 40'000;  // forces many runs
  opts.index_every = 16;
  opts.durable = false;
  ManifestWriter w(dir_ / "m", opts);
  uint64_t total = 0;
  for (const v1::Entry& e : entries) {
    total += e.size();
    ASSERT_TRUE(w.Add(e).ok());
  }
  EXPECT_GT(w.runs(), 5u);
  auto summary = w.Finish();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->entry_count, paths.size());
  EXPECT_EQ(summary->total_bytes, total);

  // The runs are gone; only the manifest is left.
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(f.path().filename(), "m");
  }
  EXPECT_EQ(files, 1u);

  auto reader = ManifestReader::Open(dir_ / "m");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->summary().entry_count, paths.size());
  EXPECT_EQ((*reader)->summary().digest, summary->digest);
  std::vector<v1::Entry> got = ReadAll(**reader);
  ASSERT_EQ(got.size(), paths.size());
  std::sort(entries.begin(), entries.end(),
            [](const v1::Entry& a, const v1::Entry& b) { return a.path() < b.path(); });
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].path(), entries[i].path());
  google::protobuf::RepeatedPtrField<v1::Entry> sorted(entries.begin(), entries.end());
  EXPECT_EQ(summary->digest, CanonicalManifestDigest(sorted));
}

TEST_F(SdkManifestTest, CanonicalDigestIsTheLocalfsFormAndTakesAclsIntoAccount) {
  // The bytes of the documented form, built here by hand for one entry.
  v1::Entry e = File("a", 3);
  e.set_mtime_unix_nanos(5);
  e.set_uid(1);
  e.set_gid(2);
  e.set_owner("u");
  auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [](uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  std::string canon = "x.v1\n" + u32(1) + "a" + std::string(1, '\1') + u64(3) + u64(5) + u32(0644) +
                      u32(1) + u32(2) + u32(1) + "u" + u32(0) + u32(0) + u32(32) + e.digest();
  google::protobuf::RepeatedPtrField<v1::Entry> one;
  *one.Add() = e;
  Sha256 sha;
  sha.Update(canon);
  EXPECT_EQ(CanonicalManifestDigest(one, "x"), sha.Finish());
  // An ACL switches to the v2 form: the digest changes.
  one.Mutable(0)->set_acl_access("u::rw-,g::r--,o::---");
  EXPECT_NE(CanonicalManifestDigest(one, "x"), Sha256Of(canon));
  EXPECT_EQ(CanonicalManifestDigest(one, "x").size(), kSha256Bytes);
}

TEST_F(SdkManifestTest, DuplicatePathIsRefusedWithinAndAcrossRunsAndNoFileIsLeft) {
  for (size_t buffer : {size_t{1} << 20, size_t{300}}) {
    ManifestWriterOptions opts;
    opts.buffer_bytes = buffer;
    opts.durable = false;
    ManifestWriter w(dir_ / "dup", opts);
    Status s;
    for (int i = 0; i < 20 && s.ok(); ++i) s = w.Add(File("f" + std::to_string(i), 1));
    if (s.ok()) s = w.Add(File("f7", 2));
    if (s.ok()) s = w.Finish().status();
    ASSERT_FALSE(s.ok()) << "buffer " << buffer;
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("'f7' twice"), std::string::npos) << s.ToString();
    EXPECT_FALSE(fs::exists(dir_ / "dup"));
  }
  // The destructor removed the runs and the temporary file.
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SdkManifestTest, SeekStartsAtThePathOrTheNextOne) {
  ManifestWriterOptions opts;
  opts.index_every = 10;
  opts.durable = false;
  ManifestWriter w(dir_ / "m", opts);
  for (int i = 0; i < 1000; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%04d", i * 2);  // even numbers only
    ASSERT_TRUE(w.Add(File(name, 1)).ok());
  }
  ASSERT_TRUE(w.Finish().ok());
  auto r = ManifestReader::Open(dir_ / "m");
  ASSERT_TRUE(r.ok());
  v1::Entry e;
  for (const auto& [at, want] : std::vector<std::pair<std::string, std::string>>{
           {"p0500", "p0500"}, {"p0501", "p0502"}, {"", "p0000"}, {"p1998", "p1998"}}) {
    ASSERT_TRUE((*r)->Seek(at).ok());
    auto more = (*r)->Next(&e);
    ASSERT_TRUE(more.ok() && *more) << at;
    EXPECT_EQ(e.path(), want) << at;
  }
  ASSERT_TRUE((*r)->Seek("p1999").ok());
  auto end = (*r)->Next(&e);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  // From a seek the stream continues in order to the end.
  ASSERT_TRUE((*r)->Seek("p1000").ok());
  EXPECT_EQ(ReadAll(**r).size(), 500u);
}

TEST_F(SdkManifestTest, HalfWrittenOrDamagedManifestIsRefused) {
  ManifestWriterOptions opts;
  opts.durable = false;
  ManifestWriter w(dir_ / "m", opts);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(w.Add(File("f" + std::to_string(i), 1)).ok());
  ASSERT_TRUE(w.Finish().ok());
  const auto size = fs::file_size(dir_ / "m");
  // Cut at every length: never read as a (shorter) manifest.
  for (uintmax_t len = 0; len < size; len += 97) {
    fs::copy_file(dir_ / "m", dir_ / "cut", fs::copy_options::overwrite_existing);
    fs::resize_file(dir_ / "cut", len);
    auto r = ManifestReader::Open(dir_ / "cut");
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
  }
  // A record's bytes damaged: the read stops with DATA_LOSS, not a wrong entry.
  fs::copy_file(dir_ / "m", dir_ / "bad", fs::copy_options::overwrite_existing);
  {
    std::fstream f(dir_ / "bad", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("\xff\xff\xff\x7f", 4);  // the first record's length becomes huge
  }
  // (The reader reads one record ahead: the damage may already show at Open.)
  auto r = ManifestReader::Open(dir_ / "bad");
  Status read = r.status();
  v1::Entry e;
  if (r.ok()) read = (*r)->Next(&e).status();
  EXPECT_EQ(read.code(), Code::kDataLoss) << read.ToString();
  EXPECT_EQ(ManifestReader::Open(dir_ / "absent").status().code(), Code::kNotFound);
}

TEST_F(SdkManifestTest, DiffIsAMergeOfTwoSortedStreams) {
  google::protobuf::RepeatedPtrField<v1::Entry> base, next;
  *base.Add() = File("a", 1);
  *base.Add() = File("b", 1);
  *base.Add() = File("c", 1);
  *next.Add() = File("b", 1);
  *next.Add() = File("c", 2);
  *next.Add() = File("d", 1);
  std::string log;
  ManifestDiff diff;
  diff.added = [&](const v1::Entry& e) { return log += "+" + e.path(), OkStatus(); };
  diff.removed = [&](const v1::Entry& e) { return log += "-" + e.path(), OkStatus(); };
  diff.changed = [&](const v1::Entry& b, const v1::Entry&) {
    return log += "~" + b.path(), OkStatus();
  };
  diff.unchanged = [&](const v1::Entry& b, const v1::Entry&) {
    return log += "=" + b.path(), OkStatus();
  };
  ASSERT_TRUE(DiffManifests(EntriesStream(base), EntriesStream(next), diff).ok());
  EXPECT_EQ(log, "-a=b~c+d");

  // A stream out of order is refused, not diffed wrongly.
  *next.Add() = File("c2", 1);
  Status s = DiffManifests(EntriesStream(base), EntriesStream(next), diff);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
}

TEST_F(SdkManifestTest, ReaderIsAnEntryStreamForVerify) {
  ManifestWriterOptions opts;
  opts.durable = false;
  ManifestWriter w(dir_ / "m", opts);
  ASSERT_TRUE(w.Add(File("z", 1)).ok());
  ASSERT_TRUE(w.Add(File("y", 1)).ok());
  ASSERT_TRUE(w.Finish().ok());
  auto r = ManifestReader::Open(dir_ / "m");
  ASSERT_TRUE(r.ok());
  EntryStream stream = (*r)->AsStream();
  v1::Entry e;
  std::string order;
  while (true) {
    auto more = stream(&e);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    order += e.path();
  }
  EXPECT_EQ(order, "yz");
}

}  // namespace
}  // namespace lifeboat::sdk
