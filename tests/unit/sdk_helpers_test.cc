// The SDK's helpers (sdk/include/lifeboat/sdk/): what every plugin used to write for itself.
#include <gtest/gtest.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/fence.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/journal.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/serve.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/sdk/verify.h>
#include <lifeboat/testing/fake_host.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace lifeboat::sdk {
namespace {

namespace fs = std::filesystem;
using testing::FakeHost;

class SdkHelpersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sdk-helpers-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Call MakeCall() {
    return Call(fake_.table(), fake_.call_handle(), Host(fake_.table(), fake_.context_handle()));
  }

  static std::string Pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    return s;
  }

  FakeHost fake_;
  fs::path dir_;
};

// --- digest -----------------------------------------------------------------------------

TEST_F(SdkHelpersTest, Sha256MatchesTheKnownDigestAndStreamsLikeOneShot) {
  EXPECT_EQ(Hex(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 sha;
  sha.Update("a");
  sha.Update("bc");
  EXPECT_EQ(sha.Finish(), Sha256Of("abc"));
  // Finish starts over.
  sha.Update("abc");
  EXPECT_EQ(sha.FinishHex(), Hex(Sha256Of("abc")));
}

TEST_F(SdkHelpersTest, UnhexInvertsHexAndRefusesWhatIsNotHex) {
  const std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(Hex(bytes), "0001abff");
  EXPECT_EQ(Unhex("0001abff"), bytes);
  EXPECT_EQ(Unhex("0001ABFF"), bytes);
  EXPECT_EQ(Unhex(""), std::string());
  EXPECT_EQ(Unhex("abc"), std::nullopt) << "odd length";
  EXPECT_EQ(Unhex("zz"), std::nullopt) << "not a hex digit";
}

// --- parallel ---------------------------------------------------------------------------

TEST_F(SdkHelpersTest, ParallelForRunsEveryIndexOnce) {
  std::vector<std::atomic<int>> seen(500);
  Status s = ParallelFor(seen.size(), 4, [&](size_t i) {
    seen[i]++;
    return OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].load(), 1) << i;
}

TEST_F(SdkHelpersTest, ParallelForStopsAtTheFirstErrorAndPrefersARealOne) {
  std::atomic<bool> stop{false};
  std::atomic<int> ran{0};
  Status s = ParallelFor(
      10000, 3,
      [&](size_t i) -> Status {
        ran++;
        if (i == 5) return DataLossError("item 5 is bad");
        if (stop.load()) return CancelledError("gave up");
        return OkStatus();
      },
      &stop);
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_TRUE(stop.load());
  EXPECT_LT(ran.load(), 10000);
}

TEST_F(SdkHelpersTest, AnExceptionInParallelForIsAnInternalFailureNotATerminate) {
  std::atomic<bool> stop{false};
  Status s = ParallelFor(
      100, 3,
      [&](size_t i) -> Status {
        if (i == 7) throw std::runtime_error("boom at 7");
        return OkStatus();
      },
      &stop);
  EXPECT_EQ(s.code(), Code::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("boom at 7"), std::string::npos) << s.message();
  EXPECT_TRUE(stop.load());
}

// --- throttle ---------------------------------------------------------------------------

TEST_F(SdkHelpersTest, AJobsTransfersShareOneBucket) {
  JobThrottle throttles;
  std::shared_ptr<Throttle> a = throttles.For("rp-1", 40'000'000);
  std::shared_ptr<Throttle> b = throttles.For("rp-1", 40'000'000);
  std::shared_ptr<Throttle> other = throttles.For("rp-2", 40'000'000);
  EXPECT_EQ(a.get(), b.get()) << "two transfers of one job must share the job's bandwidth";
  EXPECT_NE(a.get(), other.get());
  // The whole rate, not a share: the bucket is the policy's bandwidth.
  EXPECT_EQ(a->rate(), 40'000'000u);
  // A new bandwidth for the job changes the shared bucket.
  throttles.For("rp-1", 10'000'000);
  EXPECT_EQ(a->rate(), 10'000'000u);
}

TEST_F(SdkHelpersTest, AThrottledWaitEndsOnCancel) {
  Throttle slow(1);  // one byte a second: a megabyte would take days
  fake_.CancelNow();
  Call call = MakeCall();
  Status s = slow.Acquire(1 << 20, &call);
  EXPECT_EQ(s.code(), Code::kCancelled) << s.ToString();
  Throttle unlimited(0);
  EXPECT_TRUE(unlimited.Acquire(1ULL << 40, &call).ok());
}

// --- files ------------------------------------------------------------------------------

TEST_F(SdkHelpersTest, AtomicWritesReplaceWholeAndLeaveNoTemporaryFile) {
  const fs::path f = dir_ / "record";
  ASSERT_TRUE(WriteFileAtomically(f, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(f, "second, longer").ok());
  StatusOr<std::string> got = ReadWholeFile(f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "second, longer");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    files++;
    EXPECT_EQ(e.path().filename(), "record");
  }
  EXPECT_EQ(files, 1u);
  Status missing_dir = WriteFileAtomically(dir_ / "no" / "such" / "dir", "x");
  EXPECT_EQ(missing_dir.code(), Code::kNotFound) << missing_dir.ToString();
  EXPECT_NE(missing_dir.message().find("no/such/dir"), std::string::npos) << missing_dir.message();
  EXPECT_EQ(ReadWholeFile(dir_ / "absent").status().code(), Code::kNotFound);
}

TEST_F(SdkHelpersTest, ANonDurableAtomicWriteStillReplacesWhole) {
  const fs::path f = dir_ / "plan";
  ASSERT_TRUE(WriteFileAtomically(f, "old plan", /*durable=*/false).ok());
  ASSERT_TRUE(WriteFileAtomically(f, "new", /*durable=*/false).ok());
  EXPECT_EQ(*ReadWholeFile(f), "new");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    files++;
    EXPECT_EQ(e.path().filename(), "plan");
  }
  EXPECT_EQ(files, 1u) << "no temporary file is left behind";
  EXPECT_EQ(WriteFileAtomically(dir_ / "no" / "dir" / "x", "x", false).code(), Code::kNotFound);
}

TEST_F(SdkHelpersTest, ErrnoErrorsSayWhatToDo) {
  Status full = ErrnoError("/data/x", "write", ENOSPC);
  EXPECT_EQ(full.code(), Code::kResourceExhausted);
  EXPECT_NE(full.message().find("write /data/x: No space left"), std::string::npos)
      << full.message();
  EXPECT_NE(full.message().find("free space"), std::string::npos) << full.message();
  Status denied = ErrnoError("/data/x", "open", EACCES);
  EXPECT_EQ(denied.code(), Code::kPermissionDenied);
  EXPECT_NE(denied.message().find("give the agent's user access"), std::string::npos);
  Status hinted = ErrnoError("/data/x", "create", EEXIST, "move it aside");
  EXPECT_EQ(hinted.code(), Code::kAlreadyExists);
  EXPECT_NE(hinted.message().find("; move it aside"), std::string::npos) << hinted.message();
  EXPECT_EQ(ErrnoError("/ro", "create", EROFS).code(), Code::kFailedPrecondition);
  EXPECT_EQ(ErrnoError("/d", "read", EIO).code(), Code::kUnavailable);
}

// --- journal ----------------------------------------------------------------------------

TEST_F(SdkHelpersTest, TheJournalAnswersARepeatWithTheFirstAnswer) {
  OpJournal journal(std::make_unique<FileJournalStore>(dir_ / "journal"));
  int runs = 0;
  auto cut = [&]() -> StatusOr<v1::ReleaseResponse> {
    runs++;
    v1::ReleaseResponse r;
    r.set_released(runs == 1);  // a second run would answer differently
    return r;
  };
  auto first = journal.FindOrRun<v1::ReleaseResponse>("op-1", "release", cut);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = journal.FindOrRun<v1::ReleaseResponse>("op-1", "release", cut);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(again->released());
  // A journal opened anew (a restarted agent) still knows it.
  OpJournal reopened(std::make_unique<FileJournalStore>(dir_ / "journal"));
  auto after_restart = reopened.FindOrRun<v1::ReleaseResponse>("op-1", "release", cut);
  ASSERT_TRUE(after_restart.ok());
  EXPECT_EQ(runs, 1);
  // The same op id for another operation is a caller's mistake, said plainly.
  auto misuse = reopened.FindOrRun<v1::ReleaseResponse>("op-1", "expire", cut);
  EXPECT_EQ(misuse.status().code(), Code::kInvalidArgument);
  EXPECT_NE(misuse.status().message().find("already used by release"), std::string::npos)
      << misuse.status().message();
}

TEST_F(SdkHelpersTest, TheJournalRecordsNoFailureAndKeepsOnlyTheNewestAnswers) {
  OpJournal journal(std::make_unique<FileJournalStore>(dir_ / "journal"), /*capacity=*/3);
  int runs = 0;
  auto failing = [&]() -> StatusOr<v1::ReleaseResponse> {
    runs++;
    return UnavailableError("cluster away");
  };
  EXPECT_FALSE(journal.FindOrRun<v1::ReleaseResponse>("op-f", "release", failing).ok());
  EXPECT_FALSE(journal.FindOrRun<v1::ReleaseResponse>("op-f", "release", failing).ok());
  EXPECT_EQ(runs, 2) << "a failure must not be replayed: the engine retries it";
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(journal.Record("op-" + std::to_string(i), "release", "x").ok());
  }
  auto oldest = journal.Find("op-0", "release");
  ASSERT_TRUE(oldest.ok());
  EXPECT_FALSE(oldest->has_value()) << "the oldest answer beyond the capacity is dropped";
  auto newest = journal.Find("op-3", "release");
  ASSERT_TRUE(newest.ok());
  EXPECT_TRUE(newest->has_value());
  ASSERT_TRUE(journal.Forget("op-3").ok());
  EXPECT_FALSE(journal.Find("op-3", "release")->has_value());
}

TEST_F(SdkHelpersTest, ADamagedJournalIsDataLossUnlessItMayStartOver) {
  ASSERT_TRUE(WriteFileAtomically(dir_ / "journal", "\xff\xff\xff not a record").ok());
  int runs = 0;
  auto fence = [&]() -> StatusOr<v1::ReleaseResponse> {
    runs++;
    return v1::ReleaseResponse();
  };
  OpJournal strict(std::make_unique<FileJournalStore>(dir_ / "journal"));
  EXPECT_EQ(strict.FindOrRun<v1::ReleaseResponse>("op-1", "fence", fence).status().code(),
            Code::kDataLoss);
  EXPECT_EQ(runs, 0);
  OpJournal lenient(std::make_unique<FileJournalStore>(dir_ / "journal"));
  lenient.set_start_over_when_damaged(true);
  ASSERT_TRUE(lenient.FindOrRun<v1::ReleaseResponse>("op-1", "fence", fence).ok());
  ASSERT_TRUE(lenient.FindOrRun<v1::ReleaseResponse>("op-1", "fence", fence).ok());
  EXPECT_EQ(runs, 1) << "the damaged record was replaced by one holding the new answer";
  // The replaced record is whole again: even a strict journal reads it.
  StatusOr<std::optional<std::string>> found = strict.Find("op-1", "fence");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(found->has_value());
}

// --- copy -------------------------------------------------------------------------------

TEST_F(SdkHelpersTest, ACancelledCopyResumesWhereItStopped) {
  const std::string content = Pattern(5 * (1 << 20) + 123);
  const fs::path src = dir_ / "src";
  ASSERT_TRUE(WriteFileAtomically(src, content).ok());
  const fs::path partial = dir_ / "dst.partial";
  Call call = MakeCall();
  // Cancel once two chunks are in.
  CopyOptions opts;
  opts.on_bytes = [&](uint64_t moved) {
    if (moved >= 2u << 20) fake_.CancelNow();
  };
  StatusOr<CopyResult> first =
      CopyResumable(call, LocalFileReader(src), content.size(), partial, opts);
  ASSERT_EQ(first.status().code(), Code::kCancelled) << first.status().ToString();
  const uint64_t kept = fs::file_size(partial);
  EXPECT_GE(kept, 2u << 20);
  EXPECT_LT(kept, content.size());

  fake_.ClearCancel();
  StatusOr<CopyResult> second = CopyResumable(call, LocalFileReader(src), content.size(), partial);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->bytes_skipped, kept);
  EXPECT_EQ(second->bytes_copied, content.size() - kept);
  EXPECT_EQ(second->sha256, Sha256Of(content)) << "the digest covers the resumed prefix too";
  EXPECT_EQ(*ReadWholeFile(partial), content);

  // A partial file longer than the item is no prefix of it: the copy starts over.
  ASSERT_TRUE(WriteFileAtomically(partial, content + "garbage").ok());
  StatusOr<CopyResult> third = CopyResumable(call, LocalFileReader(src), content.size(), partial);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->bytes_skipped, 0u);
  EXPECT_EQ(*ReadWholeFile(partial), content);
}

TEST_F(SdkHelpersTest, ACopyFromAShortSourceFailsOutOfRange) {
  const fs::path src = dir_ / "src";
  ASSERT_TRUE(WriteFileAtomically(src, "short").ok());
  Call call = MakeCall();
  StatusOr<CopyResult> r = CopyResumable(call, LocalFileReader(src), 100, dir_ / "p");
  EXPECT_EQ(r.status().code(), Code::kOutOfRange) << r.status().ToString();
}

TEST_F(SdkHelpersTest, ACopysChunkCallbackStopsItAndAResumeIsReportedFirst) {
  const std::string content = Pattern(3 * (1 << 20) + 5);
  const fs::path src = dir_ / "src";
  ASSERT_TRUE(WriteFileAtomically(src, content).ok());
  const fs::path partial = dir_ / "dst.partial";
  Call call = MakeCall();
  CopyOptions stopping;
  stopping.sync = false;
  stopping.write_back = true;
  stopping.create_mode = 0600;
  uint64_t seen = 0;
  stopping.on_chunk = [&](uint64_t n) -> Status {
    seen += n;
    return seen >= (1u << 20) ? CancelledError("another worker failed") : OkStatus();
  };
  StatusOr<CopyResult> first =
      CopyResumable(call, LocalFileReader(src, 1 << 20), content.size(), partial, stopping);
  ASSERT_EQ(first.status().code(), Code::kCancelled) << first.status().ToString();
  EXPECT_NE(first.status().message().find("another worker failed"), std::string::npos);
  EXPECT_EQ(fs::file_size(partial), seen) << "what was written stays for the next call";
  EXPECT_EQ(fs::status(partial).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  std::vector<std::string> events;
  CopyOptions resuming;
  resuming.on_resumed = [&](uint64_t n) { events.push_back("resumed " + std::to_string(n)); };
  resuming.on_chunk = [&](uint64_t n) -> Status {
    events.push_back("chunk " + std::to_string(n));
    return OkStatus();
  };
  int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  StatusOr<CopyResult> second =
      CopyResumable(call, FdRangeReader(fd, src), content.size(), partial, resuming);
  ::close(fd);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front(), "resumed " + std::to_string(seen));
  EXPECT_EQ(second->sha256, Sha256Of(content));
  EXPECT_EQ(*ReadWholeFile(partial), content);
}

TEST_F(SdkHelpersTest, AReaderGivingMoreThanTheSizeIsRefusedBeforeTheExcessIsWritten) {
  Call call = MakeCall();
  RangeReader chatty = [](uint64_t, uint64_t, const ChunkSink& sink) -> Status {
    LIFEBOAT_RETURN_IF_ERROR(sink("0123456789"));
    return sink("too much");
  };
  const fs::path partial = dir_ / "p";
  StatusOr<CopyResult> r = CopyResumable(call, chatty, 12, partial);
  EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
  EXPECT_EQ(fs::file_size(partial), 10u);
}

TEST_F(SdkHelpersTest, HashingAFileReportsEveryChunkAndStopsWhenTold) {
  const std::string content = Pattern((1 << 20) * 2 + 77);
  const fs::path f = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(f, content).ok());
  uint64_t reported = 0;
  int calls = 0;
  StatusOr<std::string> digest = Sha256OfFile(f, 1 << 20, [&](uint64_t n) -> Status {
    reported += n;
    calls++;
    return OkStatus();
  });
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, Sha256Of(content));
  EXPECT_EQ(reported, content.size());
  EXPECT_EQ(calls, 3);
  StatusOr<std::string> stopped =
      Sha256OfFile(f, 1 << 20, [](uint64_t) -> Status { return CancelledError("stop"); });
  EXPECT_EQ(stopped.status().code(), Code::kCancelled);
  EXPECT_EQ(Sha256OfFile(dir_ / "absent", 1 << 20, {}).status().code(), Code::kNotFound);
  // HashFd feeds a caller's Sha256 (e.g. one that already holds a header).
  int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Sha256 sha;
  StatusOr<uint64_t> n = HashFd(fd, f, 1 << 20, sha, {});
  ::close(fd);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, content.size());
  EXPECT_EQ(sha.Finish(), Sha256Of(content));
}

// --- serve ------------------------------------------------------------------------------

TEST_F(SdkHelpersTest, ServingARangeEmitsExactlyItsBytes) {
  const std::string content = Pattern(3 * (1 << 20) + 17);
  const fs::path f = dir_ / "item";
  ASSERT_TRUE(WriteFileAtomically(f, content).ok());
  Call call = MakeCall();
  StatusOr<v1::ReadResponse> r = ServeFileRange(call, f, 1000, 2 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(fake_.Emitted(), content.substr(1000, 2 << 20));
  EXPECT_EQ(r->bytes(), 2u << 20);
  EXPECT_EQ(r->item_size(), content.size());
  fake_.ClearEmitted();
  ASSERT_TRUE(ServeFileRange(call, f, 10, 0).ok());
  EXPECT_EQ(fake_.Emitted(), content.substr(10)) << "length 0 reads to the end";
  EXPECT_EQ(ServeFileRange(call, f, content.size() + 1, 0).status().code(), Code::kOutOfRange);
  EXPECT_EQ(ServeFileRange(call, f, 0, content.size() + 1).status().code(), Code::kOutOfRange);
  EXPECT_EQ(ServeFileRange(call, dir_ / "gone", 0, 0).status().code(), Code::kNotFound);
}

TEST_F(SdkHelpersTest, ServingAnOpenFileCanClampARangeToItsEnd) {
  const std::string content = Pattern(10000);
  const fs::path f = dir_ / "served";
  ASSERT_TRUE(WriteFileAtomically(f, content).ok());
  int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Call call = MakeCall();
  StatusOr<v1::ReadResponse> clamped = ServeFdRange(call, fd, f, 9000, 5000, /*clamp=*/true);
  ASSERT_TRUE(clamped.ok()) << clamped.status().ToString();
  EXPECT_EQ(clamped->bytes(), 1000u);
  EXPECT_EQ(fake_.Emitted(), content.substr(9000));
  EXPECT_EQ(ServeFdRange(call, fd, f, 9000, 5000, /*clamp=*/false).status().code(),
            Code::kOutOfRange);
  EXPECT_EQ(ServeFdRange(call, fd, f, 10001, 0, /*clamp=*/true).status().code(), Code::kOutOfRange)
      << "an offset past the end is refused even when clamping";
  ::close(fd);
}

// --- verify -----------------------------------------------------------------------------

// A target held in memory: a fake of a component's copy, for the verify loop alone.
class FakeTarget : public VerifyTarget {
 public:
  std::map<std::string, std::pair<v1::EntryType, std::string>> items;  // path -> type, content
  Status List(const std::function<Status(const TargetItem&)>& each) override {
    for (const auto& [path, item] : items) {
      LIFEBOAT_RETURN_IF_ERROR(each({path, item.first, item.second.size()}));
    }
    return OkStatus();
  }
  // Called from several threads at once (VerifyOptions::threads).
  StatusOr<std::string> Digest(const Call&, const std::string& path) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      digested.insert(path);
    }
    return Sha256Of(items.at(path).second);
  }
  std::mutex mu;
  std::set<std::string> digested;
};

v1::Entry FileEntry(const std::string& path, const std::string& content) {
  v1::Entry e;
  e.set_path(path);
  e.set_type(v1::ENTRY_FILE);
  e.set_size(content.size());
  e.set_digest(Sha256Of(content));
  return e;
}

EntryStream StreamOf(std::vector<v1::Entry> entries) {
  auto next = std::make_shared<size_t>(0);
  auto all = std::make_shared<std::vector<v1::Entry>>(std::move(entries));
  return [next, all](v1::Entry* e) -> StatusOr<bool> {
    if (*next >= all->size()) return false;
    *e = (*all)[(*next)++];
    return true;
  };
}

TEST_F(SdkHelpersTest, VerifyFindsMissingExtraSizeAndDigestDifferences) {
  FakeTarget target;
  target.items["a.txt"] = {v1::ENTRY_FILE, "alpha"};
  target.items["b.txt"] = {v1::ENTRY_FILE, "bravO"};      // one byte flipped
  target.items["c.txt"] = {v1::ENTRY_FILE, "charlie!!"};  // longer
  target.items["dir"] = {v1::ENTRY_DIRECTORY, ""};
  target.items["zz-extra"] = {v1::ENTRY_FILE, "not in the point"};
  std::vector<v1::Entry> manifest = {FileEntry("a.txt", "alpha"), FileEntry("b.txt", "bravo"),
                                     FileEntry("c.txt", "charlie"), FileEntry("d.txt", "delta")};
  v1::Entry dir;
  dir.set_path("dir");
  dir.set_type(v1::ENTRY_DIRECTORY);
  manifest.insert(manifest.begin() + 3, dir);
  Call call = MakeCall();
  VerifyOptions opts;
  StatusOr<v1::VerifyResponse> r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok());
  std::map<std::string, std::string> found;
  for (const auto& m : r->mismatches()) found[m.path()] = m.what();
  EXPECT_EQ(
      found,
      (std::map<std::string, std::string>{
          {"b.txt", "digest"}, {"c.txt", "size"}, {"d.txt", "missing"}, {"zz-extra", "extra"}}));
  EXPECT_EQ(r->items_checked(), 5u);
  EXPECT_EQ(r->bytes_checked(), 10u);  // a.txt and b.txt read back

  // At size level nothing is read back, and the flipped byte goes unseen.
  target.digested.clear();
  opts.level = v1::VERIFY_SIZE;
  r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(target.digested.empty());
  found.clear();
  for (const auto& m : r->mismatches()) found[m.path()] = m.what();
  EXPECT_EQ(found.count("b.txt"), 0u);
  EXPECT_EQ(found.count("c.txt"), 1u);
}

TEST_F(SdkHelpersTest, VerifyOfAnEqualCopyIsOk) {
  FakeTarget target;
  std::vector<v1::Entry> manifest;
  for (int i = 0; i < 300; ++i) {  // more than one batch of read-backs
    std::string path = "f" + std::to_string(1000 + i);
    target.items[path] = {v1::ENTRY_FILE, Pattern(static_cast<size_t>(i))};
    manifest.push_back(FileEntry(path, Pattern(static_cast<size_t>(i))));
  }
  Call call = MakeCall();
  StatusOr<v1::VerifyResponse> r = VerifyEntries(call, StreamOf(manifest), target, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok()) << r->mismatches(0).path() << " " << r->mismatches(0).what();
  EXPECT_EQ(target.digested.size(), 300u);
}

// A target that cannot list its copy (a fake of a store that spreads items over several
// places): each entry is looked up.
class FakeLookupTarget : public VerifyTarget {
 public:
  std::map<std::string, std::string> items;  // path -> content
  StatusOr<std::optional<TargetItem>> Find(const Call&, const v1::Entry& want) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      looked_up.insert(want.path());
    }
    auto it = items.find(want.path());
    if (it == items.end()) return std::optional<TargetItem>();
    TargetItem t;
    t.path = it->first;
    t.size = it->second.size();
    t.location = "store/" + it->first;
    return std::optional<TargetItem>(std::move(t));
  }
  StatusOr<std::string> Digest(const Call&, const std::string& path) override {
    return Sha256Of(items.at(path));
  }
  std::mutex mu;
  std::set<std::string> looked_up;
};

TEST_F(SdkHelpersTest, VerifyLooksEachEntryUpWhenTheTargetCannotList) {
  FakeLookupTarget target;
  target.items["a"] = "alpha";
  target.items["c"] = "charlie!!";  // longer
  target.items["d"] = "deltA";      // one byte flipped
  target.items["z"] = "nobody asks for this one";
  std::vector<v1::Entry> manifest = {FileEntry("a", "alpha"), FileEntry("b", "bravo"),
                                     FileEntry("c", "charlie"), FileEntry("d", "delta")};
  for (int i = 0; i < 100; ++i) {  // more than one batch of lookups
    std::string path = "f" + std::to_string(1000 + i);
    target.items[path] = Pattern(static_cast<size_t>(i));
    manifest.push_back(FileEntry(path, Pattern(static_cast<size_t>(i))));
  }
  Call call = MakeCall();
  VerifyOptions opts;
  opts.find_each = true;
  StatusOr<v1::VerifyResponse> r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok());
  std::map<std::string, std::string> found;
  for (const auto& m : r->mismatches()) found[m.path()] = m.what();
  EXPECT_EQ(found,
            (std::map<std::string, std::string>{{"b", "missing"}, {"c", "size"}, {"d", "digest"}}))
      << "nothing is extra when the target is only asked for the entries";
  EXPECT_EQ(r->items_checked(), 104u);
  EXPECT_EQ(target.looked_up.size(), 104u);
  EXPECT_EQ(target.looked_up.count("z"), 0u);

  // At NONE a target that cannot list is not asked: the entries are counted.
  target.looked_up.clear();
  opts.level = v1::VERIFY_NONE;
  r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->items_checked(), 104u);
  EXPECT_TRUE(target.looked_up.empty());

  // A target that lists nothing but is merged fails clearly rather than calling all missing.
  opts.find_each = false;
  opts.level = v1::VERIFY_SIZE;
  r = VerifyEntries(call, StreamOf(manifest), target, opts);
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_NE(r.status().message().find("find_each"), std::string::npos) << r.status().message();
}

// A listed target with metadata, whose files are vouched for by a record of its own (as a
// target that keeps a checksum per file does) rather than by reading them back.
class FakeRecordedTarget : public VerifyTarget {
 public:
  std::map<std::string, TargetItem> items;
  std::map<std::string, std::string> records;  // path -> checksum the target keeps
  Status List(const std::function<Status(const TargetItem&)>& each) override {
    for (const auto& [path, item] : items) LIFEBOAT_RETURN_IF_ERROR(each(item));
    return OkStatus();
  }
  Status CheckFile(const Call&, v1::VerifyLevel level, const v1::Entry& want, const TargetItem& got,
                   VerifyFindings& findings) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      checked[got.path] = level;
    }
    if (records.at(got.path) != Hex(want.digest())) {
      findings.Mismatch(got.path, "checksum", Hex(want.digest()), records.at(got.path));
      findings.Mismatch(got.path, "digest", Hex(want.digest()), "(read back)");
    }
    findings.AddBytesRead(1);
    return OkStatus();
  }
  std::mutex mu;
  std::map<std::string, v1::VerifyLevel> checked;
};

TEST_F(SdkHelpersTest, VerifyComparesMetadataAndHandsFilesToTheTargetsCheck) {
  FakeRecordedTarget target;
  std::vector<v1::Entry> manifest;
  auto add = [&](const std::string& path, v1::EntryType type, const std::string& content) {
    v1::Entry e = FileEntry(path, content);
    e.set_type(type);
    e.set_mtime_unix_nanos(1000);
    e.set_mode(0644);
    e.set_owner("hdfs");
    e.set_group("hadoop");
    manifest.push_back(e);
    TargetItem t;
    t.path = path;
    t.type = type;
    t.size = content.size();
    t.mtime_unix_nanos = 1000;
    t.mode = 0644;
    t.owner = "hdfs";
    t.group = "hadoop";
    target.items[path] = t;
    target.records[path] = Hex(Sha256Of(content));
  };
  add("dir", v1::ENTRY_DIRECTORY, "");
  add("dir/meta", v1::ENTRY_FILE, "meta");  // (a manifest is sorted by path)
  add("dir/rotten", v1::ENTRY_FILE, "rotten");
  add("dir/same", v1::ENTRY_FILE, "same");
  add("dir/short", v1::ENTRY_FILE, "short");
  target.items["dir"].mtime_unix_nanos = 2000;  // a directory's time moves: not compared
  target.items["dir/meta"].mtime_unix_nanos = 3000;
  target.items["dir/meta"].mode = 0600;
  target.items["dir/meta"].owner = "mallory";
  target.items["dir/rotten"].mode = 0444;
  target.records["dir/rotten"] = "0bad";
  target.items["dir/short"].size = 2;

  Call call = MakeCall();
  VerifyOptions opts;
  opts.level = v1::VERIFY_SIZE;
  StatusOr<v1::VerifyResponse> r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> found;
  for (const auto& m : r->mismatches()) found.push_back(m.path() + " " + m.what());
  EXPECT_EQ(found, (std::vector<std::string>{"dir/rotten checksum", "dir/rotten digest",
                                             "dir/short size"}))
      << "metadata is compared only when asked; a path's own mismatches keep their order";
  // Every file whose type and size held was checked, at SIZE too; no directory, no short file.
  EXPECT_EQ(target.checked,
            (std::map<std::string, v1::VerifyLevel>{{"dir/meta", v1::VERIFY_SIZE},
                                                    {"dir/rotten", v1::VERIFY_SIZE},
                                                    {"dir/same", v1::VERIFY_SIZE}}));
  EXPECT_EQ(r->bytes_checked(), 3u) << "the bytes the target says it read";

  opts.compare_mtime = opts.compare_mode = opts.compare_owner = true;
  r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> detail;
  for (const auto& m : r->mismatches()) {
    detail.push_back(m.path() + " " + m.what() + " " + m.expected() + " -> " + m.found());
  }
  EXPECT_EQ(detail,
            (std::vector<std::string>{
                "dir/meta mtime 1000 -> 3000", "dir/meta mode 0644 -> 0600",
                "dir/meta owner hdfs:hadoop -> mallory:hadoop", "dir/rotten mode 0644 -> 0444",
                "dir/rotten checksum " + Hex(manifest[2].digest()) + " -> 0bad",
                "dir/rotten digest " + Hex(manifest[2].digest()) + " -> (read back)",
                "dir/short size 5 -> 2"}));
  EXPECT_FALSE(r->ok());

  // NONE is the listing alone: sizes and metadata, no file handed to the target's check.
  target.checked.clear();
  opts.level = v1::VERIFY_NONE;
  r = VerifyEntries(call, StreamOf(manifest), target, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  found.clear();
  for (const auto& m : r->mismatches()) found.push_back(m.path() + " " + m.what());
  EXPECT_EQ(found, (std::vector<std::string>{"dir/meta mtime", "dir/meta mode", "dir/meta owner",
                                             "dir/rotten mode", "dir/short size"}));
  EXPECT_TRUE(target.checked.empty());
  EXPECT_EQ(r->bytes_checked(), 0u);
}

// A listed target that also compares something of its own (as an ACL), item by item.
class FakeOwnCheckTarget : public FakeRecordedTarget {
 public:
  std::map<std::string, std::string> own;  // path -> what only this target keeps
  Status CheckItem(const v1::Entry& want, const TargetItem& got,
                   VerifyFindings& findings) override {
    seen.push_back(got.path);
    if (own[got.path] != want.acl_access())
      findings.Mismatch(got.path, "acl", want.acl_access(), own[got.path]);
    return OkStatus();
  }
  std::vector<std::string> seen;
};

TEST_F(SdkHelpersTest, VerifyComparesLinksDirectoriesOnRequestAndTheTargetsOwnChecks) {
  FakeOwnCheckTarget target;
  std::vector<v1::Entry> manifest;
  auto add = [&](const std::string& path, v1::EntryType type, const std::string& link) {
    v1::Entry e = FileEntry(path, "");
    e.set_type(type);
    e.set_mode(0755);
    e.set_owner("hdfs");
    e.set_symlink_target(link);
    e.set_acl_access("u::rwx");
    manifest.push_back(e);
    TargetItem t;
    t.path = path;
    t.type = type;
    t.mode = 0755;
    t.owner = "hdfs";
    t.symlink_target = link;
    target.items[path] = t;
    target.records[path] = Hex(e.digest());
    target.own[path] = "u::rwx";
  };
  add("d", v1::ENTRY_DIRECTORY, "");
  add("d/f", v1::ENTRY_FILE, "");
  add("d/link", v1::ENTRY_SYMLINK, "f");
  add("d/moved", v1::ENTRY_SYMLINK, "f");
  target.items["d"].mode = 0700;  // a staged directory: commit sets its mode and owner
  target.items["d"].owner = "root";
  target.items["d/moved"].symlink_target = "elsewhere";
  target.own["d/f"] = "u::r--";
  target.items["d/gone"] = {"d/gone", v1::ENTRY_FILE, 0};  // extra: not the target's to check

  Call call = MakeCall();
  VerifyOptions opts;
  opts.level = v1::VERIFY_NONE;
  auto found = [&]() {
    StatusOr<v1::VerifyResponse> r = VerifyEntries(call, StreamOf(manifest), target, opts);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    for (const auto& m : r->mismatches()) {
      out.push_back(m.path() + " " + m.what() + " " + m.expected() + " -> " + m.found());
    }
    return out;
  };
  EXPECT_EQ(found(),
            (std::vector<std::string>{"d/f acl u::rwx -> u::r--", "d/gone extra  -> file"}))
      << "a link's target is compared only when asked";
  EXPECT_EQ(target.seen, (std::vector<std::string>{"d", "d/f", "d/link", "d/moved"}));

  opts.compare_mode = opts.compare_owner = opts.compare_symlink_target = true;
  EXPECT_EQ(found(), (std::vector<std::string>{"d mode 0755 -> 0700", "d owner hdfs: -> root:",
                                               "d/f acl u::rwx -> u::r--", "d/gone extra  -> file",
                                               "d/moved symlink_target f -> elsewhere"}));

  opts.compare_directories = false;
  EXPECT_EQ(found(), (std::vector<std::string>{"d/f acl u::rwx -> u::r--", "d/gone extra  -> file",
                                               "d/moved symlink_target f -> elsewhere"}))
      << "a directory's mode and owner are left out, a file's and a link's kept";
}

// --- fence ------------------------------------------------------------------------------

// A fake of a component's fence: a marker (epoch, reason) and a count of its fenced items,
// with the steps RunFence/RunUnfence are given; records what they were asked.
class FakeFencedComponent {
 public:
  std::optional<FenceInPlace> marker;
  uint64_t items = 3;
  std::vector<std::string> calls;  // "apply raise=1 epoch=5", "lift 7", "tidy"

  FenceSteps Steps() {
    FenceSteps s;
    s.name = "fake:/data";
    s.in_place = [this]() -> StatusOr<std::optional<FenceInPlace>> { return marker; };
    s.apply = [this](const FenceOrder& o) -> StatusOr<FenceWork> {
      calls.push_back("apply raise=" + std::to_string(o.raise) +
                      " epoch=" + std::to_string(o.epoch));
      if (o.raise) marker = FenceInPlace{o.req.epoch(), o.req.reason()};
      return FenceWork{o.was ? 0 : items, "by fake bits"};
    };
    s.lift = [this](const FenceInPlace& was) -> StatusOr<FenceWork> {
      calls.push_back("lift " + std::to_string(was.epoch));
      marker.reset();
      return FenceWork{items, "by fake bits; all released"};
    };
    s.tidy_unfenced = [this]() {
      calls.push_back("tidy");
      return OkStatus();
    };
    return s;
  }
};

v1::FenceRequest FenceReq(const std::string& op, uint64_t epoch) {
  v1::FenceRequest r;
  r.set_op_id(op);
  r.set_epoch(epoch);
  r.set_reason("failover " + op);
  return r;
}

TEST_F(SdkHelpersTest, FenceKeepsTheHigherEpochAndAnswersARepeatFromTheJournal) {
  FakeFencedComponent c;
  OpJournal journal(std::make_unique<FileJournalStore>(dir_ / "fence-ops"));
  Call call = MakeCall();
  StatusOr<v1::FenceResponse> first = RunFence(call, journal, FenceReq("f1", 5), c.Steps());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->fenced());
  EXPECT_EQ(first->epoch(), 5u);
  EXPECT_EQ(first->items_changed(), 3u);
  EXPECT_EQ(first->detail(), "fake:/data fenced at epoch 5 by fake bits");

  // The same op id: the first answer, nothing run again.
  StatusOr<v1::FenceResponse> repeat = RunFence(call, journal, FenceReq("f1", 5), c.Steps());
  ASSERT_TRUE(repeat.ok()) << repeat.status().ToString();
  EXPECT_EQ(repeat->SerializeAsString(), first->SerializeAsString());
  EXPECT_EQ(c.calls, (std::vector<std::string>{"apply raise=1 epoch=5"}));

  StatusOr<v1::FenceResponse> higher = RunFence(call, journal, FenceReq("f2", 7), c.Steps());
  ASSERT_TRUE(higher.ok()) << higher.status().ToString();
  EXPECT_EQ(higher->epoch(), 7u);
  EXPECT_EQ(c.marker->epoch, 7u);
  // A lower epoch is one fence that keeps the higher: the component finishes, records nothing.
  StatusOr<v1::FenceResponse> lower = RunFence(call, journal, FenceReq("f3", 6), c.Steps());
  ASSERT_TRUE(lower.ok()) << lower.status().ToString();
  EXPECT_TRUE(lower->fenced());
  EXPECT_EQ(lower->epoch(), 7u);
  EXPECT_EQ(c.marker->epoch, 7u);
  EXPECT_EQ(c.marker->reason, "failover f2");
  EXPECT_NE(lower->detail().find("already fenced at epoch 7"), std::string::npos)
      << lower->detail();
  EXPECT_EQ(c.calls, (std::vector<std::string>{"apply raise=1 epoch=5", "apply raise=1 epoch=7",
                                               "apply raise=0 epoch=7"}));
  // The same epoch again: not raised either (the reason of the fence in place stays).
  ASSERT_TRUE(RunFence(call, journal, FenceReq("f4", 7), c.Steps()).ok());
  EXPECT_EQ(c.calls.back(), "apply raise=0 epoch=7");
  EXPECT_EQ(c.marker->reason, "failover f2");
}

TEST_F(SdkHelpersTest, UnfenceRefusesAStaleEpochAndLiftsOnlyWithTheFencesOrHigher) {
  FakeFencedComponent c;
  OpJournal journal(std::make_unique<FileJournalStore>(dir_ / "fence-ops"));
  Call call = MakeCall();
  ASSERT_TRUE(RunFence(call, journal, FenceReq("f1", 7), c.Steps()).ok());

  StatusOr<v1::FenceResponse> stale = RunUnfence(call, journal, FenceReq("u1", 6), c.Steps());
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(stale.status().message().find("epoch 6"), std::string::npos)
      << stale.status().message();
  EXPECT_NE(stale.status().message().find("epoch 7"), std::string::npos)
      << stale.status().message();
  ASSERT_TRUE(c.marker.has_value()) << "a stale unfence lifted the fence";

  StatusOr<v1::FenceResponse> lifted = RunUnfence(call, journal, FenceReq("u2", 7), c.Steps());
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_FALSE(lifted->fenced());
  EXPECT_EQ(lifted->epoch(), 0u) << "no fence is in force after an unfence";
  EXPECT_EQ(lifted->items_changed(), 3u);
  EXPECT_EQ(lifted->detail(), "fake:/data unfenced (fenced at epoch 7 by fake bits; all released)");
  EXPECT_FALSE(c.marker.has_value());

  // A new fence, then a late retry of the old unfence: its recorded answer, the fence stays.
  ASSERT_TRUE(RunFence(call, journal, FenceReq("f2", 8), c.Steps()).ok());
  StatusOr<v1::FenceResponse> late = RunUnfence(call, journal, FenceReq("u2", 7), c.Steps());
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->SerializeAsString(), lifted->SerializeAsString());
  EXPECT_TRUE(c.marker.has_value()) << "a late retry of an old unfence lifted a newer fence";
  ASSERT_TRUE(RunUnfence(call, journal, FenceReq("u3", 9), c.Steps()).ok());

  // Not fenced: OK, and what an interrupted unfence left is tidied.
  c.calls.clear();
  StatusOr<v1::FenceResponse> none = RunUnfence(call, journal, FenceReq("u4", 9), c.Steps());
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->fenced());
  EXPECT_EQ(none->detail(), "fake:/data was not fenced");
  EXPECT_EQ(c.calls, (std::vector<std::string>{"tidy"}));
}

TEST_F(SdkHelpersTest, FenceChecksTheRequestAndTheJournalBeforeTheComponent) {
  FakeFencedComponent c;
  OpJournal journal(std::make_unique<FileJournalStore>(dir_ / "fence-ops"));
  Call call = MakeCall();
  StatusOr<v1::FenceResponse> no_op = RunFence(call, journal, FenceReq("", 5), c.Steps());
  EXPECT_EQ(no_op.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_op.status().message().find("op_id"), std::string::npos);
  StatusOr<v1::FenceResponse> no_epoch = RunUnfence(call, journal, FenceReq("u0", 0), c.Steps());
  EXPECT_EQ(no_epoch.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_epoch.status().message().find("epoch"), std::string::npos);
  // One op id is one call: an unfence may not reuse a fence's.
  ASSERT_TRUE(RunFence(call, journal, FenceReq("f1", 5), c.Steps()).ok());
  StatusOr<v1::FenceResponse> reused = RunUnfence(call, journal, FenceReq("f1", 5), c.Steps());
  EXPECT_EQ(reused.status().code(), Code::kInvalidArgument) << reused.status().ToString();
  EXPECT_EQ(c.calls, (std::vector<std::string>{"apply raise=1 epoch=5"}));
}

// A journal whose writes fail (a fenced store, a full disk): a fake.
class FakeFailingJournalStore : public JournalStore {
 public:
  StatusOr<std::optional<std::string>> Load() override { return std::optional<std::string>(); }
  Status Save(std::string_view) override { return UnavailableError("fake store refuses writes"); }
};

TEST_F(SdkHelpersTest, AFenceWhoseAnswerCannotBeRecordedFailsOrWarnsAsThePluginChose) {
  FakeFencedComponent c;
  OpJournal journal(std::make_unique<FakeFailingJournalStore>());
  Call call = MakeCall();
  EXPECT_EQ(RunFence(call, journal, FenceReq("f1", 5), c.Steps()).status().code(),
            Code::kUnavailable);
  StatusOr<v1::FenceResponse> warned =
      RunFence(call, journal, FenceReq("f2", 5), c.Steps(), UnrecordedAnswer::kWarn);
  ASSERT_TRUE(warned.ok()) << warned.status().ToString();
  bool logged = false;
  for (const std::string& line : fake_.Logs()) {
    logged |= line.find("fence answer of op_id f2 not recorded") != std::string::npos;
  }
  EXPECT_TRUE(logged) << "the unrecorded answer is not logged";
}

// --- progress ---------------------------------------------------------------------------

TEST_F(SdkHelpersTest, ProgressIsCoalescedByBytes) {
  Call call = MakeCall();
  ProgressReporter p(call, "transfer", 100, 10);
  p.set_interval(std::chrono::hours(1));  // only the byte step may report here
  p.set_every_bytes(10);
  for (int i = 0; i < 25; ++i) p.Add(1, 0);
  std::vector<v1::Progress> reports = fake_.ProgressReports();
  ASSERT_EQ(reports.size(), 2u);  // at 10 and at 20 bytes
  EXPECT_EQ(reports[0].bytes_done(), 10u);
  EXPECT_EQ(reports[1].bytes_done(), 20u);
  p.Add(0, 1, "x", /*force=*/true);
  reports = fake_.ProgressReports();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[2].bytes_done(), 25u);
  EXPECT_EQ(reports[2].items_done(), 1u);
  EXPECT_EQ(reports[2].phase(), "transfer");
}

}  // namespace
}  // namespace lifeboat::sdk
