// StateStore writes against a file system that fails on demand: the sync flag reaches the
// WAL, a disk-full or torn write changes nothing (also after reopen), and the store takes
// writes again once the fault is gone.
#include <gtest/gtest.h>
#include <lifeboat/core/state_store.h>
#include <lifeboat/core/v1/model.pb.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/io_status.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "state_store_internal.h"
#include "temp_dir.h"

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;
using ::lifeboat::core::testing::TempDir;

enum class Fault { kNone, kNoSpace, kTornNoSpace, kIoError };

// Wraps the default file system; WAL files ("*.log") count their syncs and fail appends as
// `fault` says.
class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  FaultFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(f, options, r, dbg);
    if (s.ok() && f.ends_with(".log")) *r = std::make_unique<WalFile>(std::move(*r), *this);
    return s;
  }

  std::atomic<Fault> fault{Fault::kNone};
  std::atomic<int> wal_syncs{0};
  std::atomic<int> failed_appends{0};
  // Appends that still succeed once `fault` is armed.
  std::atomic<int> appends_before_fault{0};

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultFs& fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = Inject(data, options, dbg);
      return s.ok() ? target()->Append(data, options, dbg) : s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = Inject(data, options, dbg);
      return s.ok() ? target()->Append(data, options, info, dbg) : s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      ++fs_.wal_syncs;
      return target()->Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      ++fs_.wal_syncs;
      return target()->Fsync(options, dbg);
    }

   private:
    // OK to go ahead; otherwise the injected failure (a torn write lands half the bytes
    // first, as a real disk-full write can).
    rocksdb::IOStatus Inject(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) {
      const Fault fault = fs_.fault.load();
      if (fault != Fault::kNone && fs_.appends_before_fault.fetch_sub(1) > 0) {
        return rocksdb::IOStatus::OK();
      }
      switch (fault) {
        case Fault::kNone:
          return rocksdb::IOStatus::OK();
        case Fault::kNoSpace:
          ++fs_.failed_appends;
          return rocksdb::IOStatus::NoSpace("injected", "no space left on device");
        case Fault::kTornNoSpace: {
          ++fs_.failed_appends;
          rocksdb::IOStatus s =
              target()->Append(rocksdb::Slice(data.data(), data.size() / 2), options, dbg);
          if (!s.ok()) return s;
          target()->Flush(options, dbg).PermitUncheckedError();
          return rocksdb::IOStatus::NoSpace("injected", "no space left on device (torn)");
        }
        case Fault::kIoError:
        default:
          ++fs_.failed_appends;
          return rocksdb::IOStatus::IOError("injected", "input/output error");
      }
    }
    FaultFs& fs_;
  };
};

class StateStoreFaultTest : public ::testing::Test {
 protected:
  StateStoreFaultTest() : fs_(std::make_shared<FaultFs>()), env_(rocksdb::NewCompositeEnv(fs_)) {}

  fs::path dir() const { return tmp_.path() / "state"; }

  std::unique_ptr<StateStore> OpenFaulty() {
    StateStoreOpenOptions options;
    options.env = env_.get();
    StatusOr<std::unique_ptr<StateStore>> store = OpenStateStore(dir(), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::unique_ptr<StateStore> OpenPlain() {
    StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Three kinds in one batch: a job, its task and an audit record, all tagged `tag`.
  static StateStore::Batch JobBatch(const std::string& tag) {
    StateStore::Batch b;
    v1::Job job;
    job.set_id(tag);
    b.Put(Kind::kJobs, tag, job);
    v1::Task task;
    task.set_job_id(tag);
    task.set_id("t1");
    b.Put(Kind::kTasks, tag + "/t1", task);
    v1::AuditEvent audit;
    audit.set_subject(tag);
    b.Put(Kind::kAudit, "audit/" + tag, audit);
    return b;
  }
  // How many of JobBatch(tag)'s three records `store` holds.
  static int Present(const StateStore& store, const std::string& tag) {
    int n = 0;
    n += store.GetRaw(Kind::kJobs, tag).ok();
    n += store.GetRaw(Kind::kTasks, tag + "/t1").ok();
    n += store.GetRaw(Kind::kAudit, "audit/" + tag).ok();
    return n;
  }

  TempDir tmp_;
  std::shared_ptr<FaultFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

TEST_F(StateStoreFaultTest, SyncFlagReachesTheWal) {
  auto store = OpenFaulty();
  ASSERT_NE(store, nullptr);
  StateStore::Batch a = JobBatch("a");
  int before = fs_->wal_syncs.load();
  ASSERT_TRUE(store->Write(a, /*sync=*/false).ok());
  EXPECT_EQ(fs_->wal_syncs.load(), before);
  StateStore::Batch b = JobBatch("b");
  before = fs_->wal_syncs.load();
  ASSERT_TRUE(store->Write(b, /*sync=*/true).ok());
  EXPECT_GT(fs_->wal_syncs.load(), before);
  before = fs_->wal_syncs.load();
  ASSERT_TRUE(store->NextSequence("jobs").ok());
  EXPECT_GT(fs_->wal_syncs.load(), before) << "NextSequence must be synced";
}

TEST_F(StateStoreFaultTest, DiskFullChangesNothingAndARetryWorks) {
  auto store = OpenFaulty();
  ASSERT_NE(store, nullptr);
  StateStore::Batch a = JobBatch("a");
  ASSERT_TRUE(store->Write(a, true).ok());

  fs_->fault = Fault::kNoSpace;
  StateStore::Batch b = JobBatch("b");
  Status s = store->Write(b, true);
  EXPECT_GT(fs_->failed_appends.load(), 0);
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("disk full at " + dir().string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("free space, then retry"), std::string::npos) << s.message();
  EXPECT_EQ(Present(*store, "b"), 0);
  EXPECT_EQ(Present(*store, "a"), 3);

  // Space is back: the same batch goes through without reopening the store.
  fs_->fault = Fault::kNone;
  Status retry = store->Write(b, true);
  ASSERT_TRUE(retry.ok()) << retry.ToString();
  EXPECT_EQ(Present(*store, "b"), 3);
  store.reset();

  auto reopened = OpenPlain();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Present(*reopened, "a"), 3);
  EXPECT_EQ(Present(*reopened, "b"), 3);
}

// Half of the batch's WAL record reaches the disk before the failure. After a reopen, the
// torn record is dropped whole, and batches acknowledged after it (the retry) are kept.
TEST_F(StateStoreFaultTest, TornWriteIsAllOrNothingAfterReopen) {
  auto store = OpenFaulty();
  ASSERT_NE(store, nullptr);
  StateStore::Batch a = JobBatch("a");
  ASSERT_TRUE(store->Write(a, true).ok());

  fs_->fault = Fault::kTornNoSpace;
  StateStore::Batch b = JobBatch("b");
  EXPECT_EQ(store->Write(b, true).code(), Code::kResourceExhausted);
  EXPECT_GT(fs_->failed_appends.load(), 0);
  EXPECT_EQ(Present(*store, "b"), 0);

  fs_->fault = Fault::kNone;
  StateStore::Batch c = JobBatch("c");
  Status s = store->Write(c, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  store.reset();

  auto reopened = OpenPlain();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Present(*reopened, "a"), 3);
  EXPECT_EQ(Present(*reopened, "b"), 0);
  EXPECT_EQ(Present(*reopened, "c"), 3);
  StateStore::Batch d = JobBatch("d");
  ASSERT_TRUE(reopened->Write(d, true).ok());
  reopened.reset();
  auto again = OpenPlain();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Present(*again, "c"), 3);
  EXPECT_EQ(Present(*again, "d"), 3);
}

// The WAL fails after 0, 1, 2 or 3 more appends: whatever the store writes per batch, the
// batch is all there when Write() said OK and not there at all when it failed, before and
// after a reopen.
TEST_F(StateStoreFaultTest, BatchFailingPartWayIsAllOrNothing) {
  std::vector<std::pair<std::string, bool>> outcomes;
  {
    auto store = OpenFaulty();
    ASSERT_NE(store, nullptr);
    for (int allowed = 0; allowed < 4; ++allowed) {
      const std::string tag = "batch" + std::to_string(allowed);
      fs_->appends_before_fault = allowed;
      fs_->fault = Fault::kNoSpace;
      StateStore::Batch b = JobBatch(tag);
      const bool ok = store->Write(b, true).ok();
      fs_->fault = Fault::kNone;
      EXPECT_EQ(Present(*store, tag), ok ? 3 : 0) << tag;
      outcomes.emplace_back(tag, ok);
      // Let the store recover before the next round.
      StateStore::Batch probe;
      probe.PutRaw(Kind::kMeta, "probe", tag);
      ASSERT_TRUE(store->Write(probe, true).ok());
    }
  }
  EXPECT_FALSE(outcomes[0].second);
  auto reopened = OpenPlain();
  ASSERT_NE(reopened, nullptr);
  for (const auto& [tag, ok] : outcomes) EXPECT_EQ(Present(*reopened, tag), ok ? 3 : 0) << tag;
}

// The store is closed while the fault lasts (the service gives up); nothing of the failed
// batch appears after a reopen.
TEST_F(StateStoreFaultTest, TornWriteThenCloseDropsTheBatch) {
  auto store = OpenFaulty();
  ASSERT_NE(store, nullptr);
  StateStore::Batch a = JobBatch("a");
  ASSERT_TRUE(store->Write(a, true).ok());
  fs_->fault = Fault::kTornNoSpace;
  StateStore::Batch b = JobBatch("b");
  EXPECT_EQ(store->Write(b, true).code(), Code::kResourceExhausted);
  store.reset();
  fs_->fault = Fault::kNone;

  auto reopened = OpenPlain();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Present(*reopened, "a"), 3);
  EXPECT_EQ(Present(*reopened, "b"), 0);
}

TEST_F(StateStoreFaultTest, OtherWriteErrorsAreUnavailable) {
  auto store = OpenFaulty();
  ASSERT_NE(store, nullptr);
  fs_->fault = Fault::kIoError;
  StateStore::Batch b = JobBatch("b");
  Status s = store->Write(b, true);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("input/output error"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(dir().string()), std::string::npos) << s.message();
  EXPECT_EQ(Present(*store, "b"), 0);
  EXPECT_EQ(store->NextSequence("jobs").status().code(), Code::kUnavailable);

  // RocksDB counts a plain I/O error on the WAL as fatal: the store takes no more writes,
  // says so, and a reopen brings it back without the failed batch.
  fs_->fault = Fault::kNone;
  Status again = store->Write(b, true);
  EXPECT_EQ(again.code(), Code::kUnavailable) << again.ToString();
  EXPECT_NE(again.message().find("reopen"), std::string::npos) << again.message();
  store.reset();
  auto reopened = OpenPlain();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Present(*reopened, "b"), 0);
  Status retry = reopened->Write(b, true);
  ASSERT_TRUE(retry.ok()) << retry.ToString();
  EXPECT_EQ(Present(*reopened, "b"), 3);
}

}  // namespace
}  // namespace lifeboat::core
