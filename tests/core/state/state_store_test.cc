// StateStore in one process: records per kind, batches, reopen, refusals, sequences.
#include <gtest/gtest.h>
#include <lifeboat/core/state_store.h>
#include <lifeboat/core/v1/model.pb.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.h"

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;
using ::lifeboat::core::testing::TempDir;

constexpr Kind kKinds[] = {
    Kind::kClusters, Kind::kServices, Kind::kPolicies,      Kind::kPolicyRevisions,
    Kind::kJobs,     Kind::kTasks,    Kind::kRestorePoints, Kind::kAudit,
    Kind::kEvents,   Kind::kMeta,     Kind::kTokens,
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class StateStoreTest : public ::testing::Test {
 protected:
  fs::path dir() const { return tmp_.path() / "state"; }

  std::unique_ptr<StateStore> OpenStore() {
    StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  TempDir tmp_;
};

v1::Job MakeJob(const std::string& id, uint64_t items_done) {
  v1::Job job;
  job.set_id(id);
  job.set_service("sales");
  job.set_state(v1::JOB_RUNNING);
  job.set_phase(v1::PHASE_TRANSFER);
  job.set_items_done(items_done);
  return job;
}

v1::Task MakeTask(const std::string& job_id, const std::string& id, int32_t attempts) {
  v1::Task task;
  task.set_job_id(job_id);
  task.set_id(id);
  task.set_state(v1::TASK_RUNNING);
  task.set_attempts(attempts);
  task.set_op_id(job_id + "/" + id + "/op");
  return task;
}

TEST(KindNameTest, NamesAreTheStoredColumnFamilyNames) {
  std::vector<std::string> names;
  for (Kind kind : kKinds) names.push_back(KindName(kind));
  EXPECT_EQ(names, (std::vector<std::string>{"clusters", "services", "policies", "policy_revisions",
                                             "jobs", "tasks", "restore_points", "audit", "events",
                                             "meta", "tokens"}));
}

TEST(PaddedNumberTest, TwentyDigitsThatSortNumerically) {
  EXPECT_EQ(PaddedNumber(0), "00000000000000000000");
  EXPECT_EQ(PaddedNumber(42), "00000000000000000042");
  EXPECT_EQ(PaddedNumber(UINT64_MAX), "18446744073709551615");
  EXPECT_LT(PaddedNumber(9), PaddedNumber(10));
}

// ---- every kind: put, get, scan, delete -------------------------------------------------

class KindTest : public StateStoreTest, public ::testing::WithParamInterface<Kind> {};

TEST_P(KindTest, PutGetScanDelete) {
  const Kind kind = GetParam();
  const Kind other = kind == Kind::kJobs ? Kind::kTasks : Kind::kJobs;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);

  const std::vector<std::string> keys = {"a", "a/1", "a/2", "a0", "b/1", "\xff", "\xff\xff"};
  StateStore::Batch batch;
  // Each value names its key by index (keys need not be UTF-8; proto3 strings must).
  for (size_t i = 0; i < keys.size(); ++i) {
    v1::Event e;
    e.set_message("value " + std::to_string(i));
    e.set_time_unix_nanos(static_cast<int64_t>(i));
    batch.Put(kind, keys[i], e);
  }
  EXPECT_EQ(batch.size(), keys.size());
  ASSERT_TRUE(store->Write(batch, /*sync=*/false).ok());

  v1::Event got;
  ASSERT_TRUE(store->Get(kind, "a/1", &got).ok());
  EXPECT_EQ(got.message(), "value 1");
  EXPECT_EQ(got.time_unix_nanos(), 1);
  // Kinds are separate key spaces.
  EXPECT_EQ(store->Get(other, "a/1", &got).code(), Code::kNotFound);

  auto scan = [&](std::string_view prefix, size_t stop_after = SIZE_MAX) {
    std::vector<std::string> seen;
    Status s = store->Scan(kind, prefix, [&](std::string_view key, std::string_view value) {
      seen.emplace_back(key);
      if (key == "format_version") return seen.size() < stop_after;  // the store's own
      v1::Event e;
      EXPECT_TRUE(e.ParseFromArray(value.data(), static_cast<int>(value.size())));
      EXPECT_EQ(keys.at(static_cast<size_t>(e.time_unix_nanos())), key);
      return seen.size() < stop_after;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  };
  EXPECT_EQ(scan("a/"), (std::vector<std::string>{"a/1", "a/2"}));
  EXPECT_EQ(scan("a"), (std::vector<std::string>{"a", "a/1", "a/2", "a0"}));
  EXPECT_EQ(scan("\xff"), (std::vector<std::string>{"\xff", "\xff\xff"}));
  EXPECT_EQ(scan("c"), std::vector<std::string>{});
  EXPECT_EQ(scan("a", /*stop_after=*/2), (std::vector<std::string>{"a", "a/1"}));
  std::vector<std::string> all = scan("");
  std::vector<std::string> expected_all = keys;
  if (kind == Kind::kMeta) expected_all.push_back("format_version");  // the store's own
  std::sort(expected_all.begin(), expected_all.end());
  EXPECT_EQ(all, expected_all);

  StatusOr<std::vector<v1::Event>> listed = store->List<v1::Event>(kind, "a/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].message(), "value 2");

  StateStore::Batch del;
  del.Delete(kind, "a/1");
  ASSERT_TRUE(store->Write(del, /*sync=*/true).ok());
  Status missing = store->Get(kind, "a/1", &got);
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_TRUE(Contains(missing.message(), KindName(kind))) << missing.ToString();
  EXPECT_TRUE(Contains(missing.message(), "a/1")) << missing.ToString();
  EXPECT_EQ(scan("a/"), (std::vector<std::string>{"a/2"}));
  EXPECT_EQ(store->GetRaw(kind, "a/1").status().code(), Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, KindTest, ::testing::ValuesIn(kKinds),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return std::string(KindName(info.param));
                         });

TEST_F(StateStoreTest, OneColumnFamilyPerKind) {
  { ASSERT_NE(OpenStore(), nullptr); }
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir().string(), &names).ok());
  for (Kind kind : kKinds) {
    EXPECT_NE(std::find(names.begin(), names.end(), KindName(kind)), names.end()) << KindName(kind);
  }
}

// A column family this build does not know (a later format, or a tool) must not stop Open.
TEST_F(StateStoreTest, OpensAStoreWithAnExtraColumnFamily) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    StateStore::Batch b;
    b.Put(Kind::kJobs, "j1", MakeJob("j1", 1));
    ASSERT_TRUE(store->Write(b, true).ok());
  }
  {
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir().string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(), dir().string(), descriptors, &handles, &raw).ok());
    rocksdb::ColumnFamilyHandle* extra = nullptr;
    ASSERT_TRUE(raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "extra", &extra).ok());
    handles.push_back(extra);
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Read<v1::Job>(Kind::kJobs, "j1")->items_done(), 1u);
}

// A store written before a kind existed (format 1 without "tokens") opens: the kind's column
// family is added, the old records stay, and no format version change is needed.
TEST_F(StateStoreTest, OpensAStoreWrittenBeforeTheTokensKind) {
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (Kind kind : kKinds) {
      if (kind != Kind::kTokens)
        descriptors.emplace_back(KindName(kind), rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir().string(), descriptors, &handles, &raw).ok());
    std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
    for (auto* h : handles) by_name[h->GetName()] = h;
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), by_name["meta"], "format_version", "1").ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), by_name["jobs"], "j1",
                         MakeJob("j1", 7).SerializeAsString())
                    .ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Read<v1::Job>(Kind::kJobs, "j1")->items_done(), 7u);
  StateStore::Batch b;
  b.PutRaw(Kind::kTokens, "t1", "x");
  ASSERT_TRUE(store->Write(b, true).ok());
  EXPECT_EQ(*store->GetRaw(Kind::kTokens, "t1"), "x");
  EXPECT_EQ(*store->GetRaw(Kind::kMeta, "format_version"), "1");
}

// ---- batches and reopen ------------------------------------------------------------------

TEST_F(StateStoreTest, BatchAcrossKindsSurvivesReopen) {
  v1::RestorePoint rp;
  rp.set_id("rp1");
  rp.set_service("sales");
  rp.set_state(v1::RP_COMMITTED);
  v1::AuditEvent audit;
  audit.set_action("job.run");
  audit.set_subject("j1");
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    StateStore::Batch batch;
    batch.Put(Kind::kJobs, "j1", MakeJob("j1", 2));
    batch.Put(Kind::kTasks, "j1/t1", MakeTask("j1", "t1", 1));
    batch.Put(Kind::kTasks, "j1/t2", MakeTask("j1", "t2", 3));
    batch.Put(Kind::kRestorePoints, "sales/rp1", rp);
    batch.Put(Kind::kAudit, PaddedNumber(1), audit);
    ASSERT_TRUE(store->Write(batch, /*sync=*/true).ok());
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Read<v1::Job>(Kind::kJobs, "j1")->SerializeAsString(),
            MakeJob("j1", 2).SerializeAsString());
  StatusOr<std::vector<v1::Task>> tasks = store->List<v1::Task>(Kind::kTasks, "j1/");
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[1].attempts(), 3);
  EXPECT_EQ(store->Read<v1::RestorePoint>(Kind::kRestorePoints, "sales/rp1")->SerializeAsString(),
            rp.SerializeAsString());
  EXPECT_EQ(store->Read<v1::AuditEvent>(Kind::kAudit, PaddedNumber(1))->action(), "job.run");
}

TEST_F(StateStoreTest, UnsyncedWritesSurviveACleanReopen) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i) {
      StateStore::Batch b;
      b.Put(Kind::kTasks, "j/" + PaddedNumber(i), MakeTask("j", std::to_string(i), i));
      ASSERT_TRUE(store->Write(b, /*sync=*/false).ok());
    }
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  StatusOr<std::vector<v1::Task>> tasks = store->List<v1::Task>(Kind::kTasks, "j/");
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((*tasks)[i].attempts(), i);
}

// A batch that names an unknown kind is refused whole: none of its good records lands.
TEST_F(StateStoreTest, BatchWithAnUnknownKindChangesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  StateStore::Batch batch;
  batch.Put(Kind::kJobs, "j1", MakeJob("j1", 1));
  batch.PutRaw(static_cast<Kind>(99), "x", "y");
  EXPECT_EQ(store->Write(batch, true).code(), Code::kInvalidArgument);
  EXPECT_EQ(store->GetRaw(Kind::kJobs, "j1").status().code(), Code::kNotFound);
  EXPECT_EQ(store->GetRaw(static_cast<Kind>(99), "x").status().code(), Code::kInvalidArgument);
}

TEST_F(StateStoreTest, MovedBatchWritesItsRecords) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  StateStore::Batch a;
  a.Put(Kind::kJobs, "j1", MakeJob("j1", 7));
  StateStore::Batch b = std::move(a);
  EXPECT_EQ(b.size(), 1u);
  ASSERT_TRUE(store->Write(b, false).ok());
  EXPECT_EQ(store->Read<v1::Job>(Kind::kJobs, "j1")->items_done(), 7u);
  // The moved-from batch is empty and still usable.
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): on purpose
  EXPECT_TRUE(store->Write(a, true).ok());
  a.Delete(Kind::kJobs, "j1");
  ASSERT_TRUE(store->Write(a, false).ok());
  EXPECT_EQ(store->GetRaw(Kind::kJobs, "j1").status().code(), Code::kNotFound);
}

// ---- bytes that do not parse -------------------------------------------------------------

TEST_F(StateStoreTest, GarbageBytesAreDataLoss) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  // Field 1, length-delimited, claims 5 bytes and has 2.
  const std::string garbage(
      "\x0a\x05"
      "ab",
      4);
  StateStore::Batch batch;
  batch.PutRaw(Kind::kJobs, "bad", garbage);
  batch.Put(Kind::kJobs, "good", MakeJob("good", 1));
  ASSERT_TRUE(store->Write(batch, false).ok());

  v1::Job job;
  Status s = store->Get(Kind::kJobs, "bad", &job);
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "jobs")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "bad")) << s.ToString();
  EXPECT_EQ(store->Read<v1::Job>(Kind::kJobs, "bad").status().code(), Code::kDataLoss);
  EXPECT_EQ(store->List<v1::Job>(Kind::kJobs).status().code(), Code::kDataLoss);
  EXPECT_EQ(*store->GetRaw(Kind::kJobs, "bad"), garbage);
  EXPECT_TRUE(store->Get(Kind::kJobs, "good", &job).ok());
}

// ---- refusals ------------------------------------------------------------------------------

TEST_F(StateStoreTest, SecondOpenInTheSameProcessIsRefused) {
  auto first = OpenStore();
  ASSERT_NE(first, nullptr);
  StatusOr<std::unique_ptr<StateStore>> second = StateStore::Open(dir());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  const std::string m = second.status().message();
  EXPECT_TRUE(Contains(m, dir().string())) << m;
  EXPECT_TRUE(Contains(m, "(pid " + std::to_string(::getpid()) + ")")) << m;
  // The refused Open must not have released the first store's lock.
  StatusOr<std::unique_ptr<StateStore>> third = StateStore::Open(dir());
  EXPECT_EQ(third.status().code(), Code::kFailedPrecondition);
  StateStore::Batch b;
  b.Put(Kind::kJobs, "j1", MakeJob("j1", 1));
  EXPECT_TRUE(first->Write(b, true).ok());
  first.reset();
  EXPECT_NE(OpenStore(), nullptr);
}

using Listing = std::map<std::string, std::pair<uintmax_t, fs::file_time_type>>;
Listing ListDir(const fs::path& dir) {
  Listing out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out[e.path().filename().string()] = {e.file_size(), e.last_write_time()};
  }
  return out;
}

TEST_F(StateStoreTest, NewerFormatIsRefusedAndLeftUntouched) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    StateStore::Batch b;
    b.Put(Kind::kJobs, "j1", MakeJob("j1", 5));
    b.PutRaw(Kind::kMeta, "format_version", std::to_string(StateStore::kFormatVersion + 1));
    ASSERT_TRUE(store->Write(b, true).ok());
  }
  const Listing before = ListDir(dir());
  // Let a rewrite of any file show in its modification time.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            dir().string() + ": written by state format 2, this build reads up to 1; use a " +
                "newer lifeboat");
  EXPECT_EQ(ListDir(dir()), before);

  // The records are all still there.
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir().string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir().string(), descriptors,
                                           &handles, &raw)
                  .ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (auto* h : handles) by_name[h->GetName()] = h;
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), by_name["meta"], "format_version", &value).ok());
  EXPECT_EQ(value, "2");
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), by_name["jobs"], "j1", &value).ok());
  v1::Job job;
  ASSERT_TRUE(job.ParseFromString(value));
  EXPECT_EQ(job.items_done(), 5u);
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

TEST_F(StateStoreTest, UnreadableFormatVersionIsDataLoss) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    StateStore::Batch b;
    b.PutRaw(Kind::kMeta, "format_version", "one");
    ASSERT_TRUE(store->Write(b, true).ok());
  }
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
  EXPECT_EQ(store.status().code(), Code::kDataLoss) << store.status().ToString();
}

TEST_F(StateStoreTest, DirectoryWithOtherFilesIsRefused) {
  fs::create_directories(dir());
  std::ofstream(dir() / "notes.txt") << "not a store\n";
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(store.status().message(), dir().string())) << store.status().ToString();
  EXPECT_TRUE(Contains(store.status().message(), "notes.txt")) << store.status().ToString();
  // Nothing was written into it.
  EXPECT_EQ(ListDir(dir()).size(), 1u);
}

TEST_F(StateStoreTest, RegularFileIsRefused) {
  std::ofstream(dir()) << "a file\n";
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(store.status().message(), dir().string())) << store.status().ToString();
}

TEST_F(StateStoreTest, RocksDbOfSomeoneElseIsRefused) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir().string(), &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "their", "data").ok());
    delete raw;
  }
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(store.status().message(), "not a Lifeboat state store"))
      << store.status().ToString();
}

// A first Open that stopped early leaves RocksDB's LOCK and LOG behind; that is still ours.
TEST_F(StateStoreTest, LeftoversOfAnInterruptedCreateAreAccepted) {
  fs::create_directories(dir());
  std::ofstream(dir() / "LOCK");
  std::ofstream(dir() / "LOG") << "x\n";
  EXPECT_NE(OpenStore(), nullptr);
}

TEST_F(StateStoreTest, EmptyExistingDirectoryIsAccepted) {
  fs::create_directories(dir());
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->GetRaw(Kind::kMeta, "format_version"),
            std::to_string(StateStore::kFormatVersion));
}

// ---- sequences -----------------------------------------------------------------------------

// Table files of the store at `dir` (every column family), read with RocksDB directly.
uint64_t TableFiles(const fs::path& dir) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir.string(), descriptors, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return 0;
  uint64_t n = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    rocksdb::ColumnFamilyMetaData meta;
    raw->GetColumnFamilyMetaData(h, &meta);
    n += meta.file_count;
    raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  delete raw;
  return n;
}

// Issue 13: each `lifeboat` command opens the store, writes a job, a point, an event and
// closes it; the next open flushes those into small tables that RocksDB never merged, so
// every open and every scan of all jobs or points touched one more file per command ever
// run. The count of tables must stay bounded however many commands ran.
TEST_F(StateStoreTest, TablesStayFewAcrossManyShortRuns) {
  constexpr int kRuns = 60;
  for (int run = 0; run < kRuns; ++run) {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    StateStore::Batch batch;
    const std::string id = "job-" + PaddedNumber(static_cast<uint64_t>(run));
    batch.Put(Kind::kJobs, id, MakeJob(id, 1));
    batch.Put(Kind::kTasks, id + "/t", MakeTask(id, "t", 1));
    batch.PutRaw(Kind::kEvents, PaddedNumber(static_cast<uint64_t>(run)), "event");
    ASSERT_TRUE(store->Write(batch, /*sync=*/true).ok());
  }
  const uint64_t tables = TableFiles(dir());
  // Three kinds written per run, each merged once it holds more than 8 tables, and the
  // meta column family's format version and sequences.
  EXPECT_LE(tables, 3u * 9u + 2u) << "tables after " << kRuns << " runs";
  // Nothing was lost by merging.
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto jobs = store->List<v1::Job>(Kind::kJobs);
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), static_cast<size_t>(kRuns));
  EXPECT_EQ(jobs->back().id(), "job-" + PaddedNumber(kRuns - 1));
}

TEST_F(StateStoreTest, SequenceIsMonotonicAcrossReopen) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->NextSequence("audit"), 1u);
    EXPECT_EQ(*store->NextSequence("audit"), 2u);
    EXPECT_EQ(*store->NextSequence("audit"), 3u);
    EXPECT_EQ(*store->NextSequence("events"), 1u);
    EXPECT_EQ(store->NextSequence("").status().code(), Code::kInvalidArgument);
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->NextSequence("audit"), 4u);
  EXPECT_EQ(*store->NextSequence("events"), 2u);
}

TEST_F(StateStoreTest, SequenceIsUniqueAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::vector<uint64_t> all;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    std::vector<std::vector<uint64_t>> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          StatusOr<uint64_t> n = store->NextSequence("jobs");
          if (n.ok()) got[t].push_back(*n);
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_TRUE(std::is_sorted(got[t].begin(), got[t].end()));
      all.insert(all.end(), got[t].begin(), got[t].end());
    }
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i + 1);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->NextSequence("jobs"), all.size() + 1);
}

}  // namespace
}  // namespace lifeboat::core
