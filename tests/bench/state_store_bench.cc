// state_store_bench: task state updates per second on the real StateStore with synced writes.
//
// What it measures: the cost the job engine pays to record a task's progress durably. One
// task update is a Task put plus a Job put (the task's record and its job's progress); a
// batch holds N updates (2N records) and is written with sync=true, i.e. one WAL fsync before
// Write() returns. items_per_second counts task updates per second of wall-clock time, summed
// over writer threads.
//   BM_SyncedTaskUpdates/updates_per_batch:N/threads:T
//       T threads each write batches of N updates. Concurrent synced writes are grouped by
//       RocksDB (group commit: one WAL write and one fsync for the whole group), so threads
//       raise throughput even on one disk.
//   BM_UnsyncedTaskUpdates: the same single update without sync, for scale.
//
// The store lives in a fresh directory under $LIFEBOAT_BENCH_DIR, else the system temp
// directory. It must be a real disk: on tmpfs an fsync costs nothing (the bench warns).
#include <benchmark/benchmark.h>
#include <lifeboat/core/state_store.h>
#include <lifeboat/core/v1/model.pb.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;
using lifeboat::Status;
using lifeboat::StatusOr;
using lifeboat::core::Kind;
using lifeboat::core::StateStore;
namespace v1 = lifeboat::core::v1;

constexpr long kTmpfsMagic = 0x01021994;
constexpr int kTasksPerJob = 1000;  // task keys a thread cycles through

fs::path BenchBase() {
  const char* env = std::getenv("LIFEBOAT_BENCH_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::temp_directory_path();
}

// Shared by the threads of one run; set up and torn down by thread 0 (Google Benchmark starts
// and stops the timed loops of all threads together).
fs::path g_dir;
std::unique_ptr<StateStore> g_store;
// A case that could not run makes the whole run fail (it once skipped every case and exited 0).
std::atomic<bool> g_failed{false};

bool SetUpStore(benchmark::State& state) {
  if (state.thread_index() != 0) return true;
  std::string templ = (BenchBase() / "lifeboat-state-bench-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    g_failed = true;
    state.SkipWithError(
        ("cannot create a directory in " + BenchBase().string() + ": " + std::strerror(errno))
            .c_str());
    return false;
  }
  g_dir = templ;
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(g_dir / "state");
  if (!store.ok()) {
    g_failed = true;
    state.SkipWithError(store.status().ToString().c_str());
    return false;
  }
  g_store = std::move(store).value();
  return true;
}

void TearDownStore(benchmark::State& state) {
  if (state.thread_index() != 0) return;
  g_store.reset();
  std::error_code ec;
  fs::remove_all(g_dir, ec);
}

// Records of realistic size: a running transfer task and its job with the policy it runs.
v1::Task MakeTask(const std::string& job_id) {
  v1::Task task;
  task.set_job_id(job_id);
  task.set_phase(v1::PHASE_TRANSFER);
  task.mutable_data_set()->set_component("hdfs");
  task.mutable_data_set()->set_selector("/warehouse/sales/orders");
  task.set_state(v1::TASK_RUNNING);
  task.set_payload(std::string(96, 'p'));
  return task;
}

v1::Job MakeJob(const std::string& job_id) {
  v1::Job job;
  job.set_id(job_id);
  job.set_kind(v1::JOB_BACKUP);
  job.set_service("sales");
  job.mutable_policy()->set_name("sales-hourly");
  job.mutable_policy()->set_service("sales");
  job.mutable_policy()->mutable_schedule()->set_cron("0 * * * *");
  job.mutable_policy()->set_rpo_seconds(3600);
  job.set_state(v1::JOB_RUNNING);
  job.set_phase(v1::PHASE_TRANSFER);
  job.set_trigger("schedule");
  job.set_bytes_total(1ull << 40);
  job.set_items_total(kTasksPerJob);
  return job;
}

void RunTaskUpdates(benchmark::State& state, int per_batch, bool sync) {
  if (!SetUpStore(state)) return;
  const std::string job_id = "bench-job-" + std::to_string(state.thread_index());
  v1::Task task = MakeTask(job_id);
  v1::Job job = MakeJob(job_id);
  uint64_t n = 0;
  for (auto _ : state) {
    if (!g_store) {
      state.SkipWithError("no store");
      break;
    }
    StateStore::Batch batch;
    for (int i = 0; i < per_batch; ++i, ++n) {
      const std::string task_id = "task-" + std::to_string(n % kTasksPerJob);
      task.set_id(task_id);
      task.set_attempts(static_cast<int32_t>(n / kTasksPerJob) + 1);
      task.set_bytes(n);
      batch.Put(Kind::kTasks, job_id + "/" + task_id, task);
      job.set_items_done(n);
      job.set_bytes_done(n << 20);
      batch.Put(Kind::kJobs, job_id, job);
    }
    Status s = g_store->Write(batch, sync);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * per_batch);
  TearDownStore(state);
}

void BM_SyncedTaskUpdates(benchmark::State& state) {
  RunTaskUpdates(state, static_cast<int>(state.range(0)), /*sync=*/true);
}
BENCHMARK(BM_SyncedTaskUpdates)
    ->ArgName("updates_per_batch")
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Arg(64)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();

void BM_UnsyncedTaskUpdates(benchmark::State& state) { RunTaskUpdates(state, 1, /*sync=*/false); }
BENCHMARK(BM_UnsyncedTaskUpdates)->Threads(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const fs::path base = BenchBase();
  std::error_code ec;
  fs::create_directories(base, ec);
  if (ec) {
    std::cerr << "state_store_bench: cannot create " << base << ": " << ec.message()
              << "; set LIFEBOAT_BENCH_DIR to a writable directory\n";
    return 2;
  }
  benchmark::AddCustomContext("state_dir", base.string());
  struct statfs sfs {};
  if (::statfs(base.c_str(), &sfs) == 0 && static_cast<long>(sfs.f_type) == kTmpfsMagic) {
    std::cerr << "warning: " << base
              << " is tmpfs; fsync costs nothing there and these figures mean little. Set "
                 "LIFEBOAT_BENCH_DIR to a directory on a real disk.\n";
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_failed) {
    std::cerr << "state_store_bench: some cases could not run (see their errors above)\n";
    return 1;
  }
  return 0;
}
