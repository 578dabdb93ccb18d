// StateStore across processes: the directory lock names its holder, and batches a killed
// writer reported committed are all there after a reopen, each whole or not at all.
//
// This file holds the test binary's main(): run as `state_store_test --state-child=<mode>
// <dir>`, it is the child process of these tests (fork + exec of itself, so that the child
// starts with fresh RocksDB threads and locks).
//
// What the crash test covers: SIGKILL of the writing process at a random moment. It does not
// cut power, so it shows atomicity and that an acknowledged batch is in the WAL, not that
// the WAL reached the platters (the fault test checks that sync reaches the WAL file).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lifeboat/core/state_store.h>
#include <lifeboat/core/v1/model.pb.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.h"

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;
using ::lifeboat::core::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr char kChildFlag[] = "--state-child=";
constexpr uint64_t kWriterBatches = 1'000'000;  // more than any kill delay lets through

// ---- the child -----------------------------------------------------------------------------

void Say(const std::string& line) {
  std::string out = line + "\n";
  // One write(2) per line: below PIPE_BUF, so the parent never reads half a line.
  ssize_t n = ::write(STDOUT_FILENO, out.data(), out.size());
  (void)n;
}

std::string TaskKey(uint64_t i, int t) {
  return "job-" + PaddedNumber(i) + "/t" + std::to_string(t);
}

// Batch i of the crash test: a job, two tasks, an audit record and the meta "progress" key,
// every value carrying i.
StateStore::Batch CrashBatch(uint64_t i) {
  StateStore::Batch b;
  v1::Job job;
  job.set_id("job-" + PaddedNumber(i));
  job.set_items_done(i);
  b.Put(Kind::kJobs, job.id(), job);
  for (int t = 0; t < 2; ++t) {
    v1::Task task;
    task.set_job_id(job.id());
    task.set_id("t" + std::to_string(t));
    task.set_bytes(i);
    b.Put(Kind::kTasks, TaskKey(i, t), task);
  }
  v1::AuditEvent audit;
  audit.set_detail(std::to_string(i));
  b.Put(Kind::kAudit, PaddedNumber(i), audit);
  b.PutRaw(Kind::kMeta, "progress", std::to_string(i));
  return b;
}

int RunChild(std::string_view mode, const fs::path& dir) {
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir);
  if (mode == "probe") {
    Say(store.ok() ? "opened" : store.status().ToString());
    return 0;
  }
  if (!store.ok()) {
    Say("error " + store.status().ToString());
    return 2;
  }
  Say("ready");
  if (mode == "hold") {
    char c;
    while (::read(STDIN_FILENO, &c, 1) > 0) {
    }
    return 0;
  }
  if (mode == "writer") {
    for (uint64_t i = 0; i < kWriterBatches; ++i) {
      StateStore::Batch b = CrashBatch(i);
      Status s = (*store)->Write(b, /*sync=*/true);
      if (!s.ok()) {
        Say("error " + s.ToString());
        return 3;
      }
      Say(std::to_string(i));
    }
    return 0;
  }
  Say("error unknown mode");
  return 4;
}

// ---- the parent ----------------------------------------------------------------------------

class ChildProcess {
 public:
  ChildProcess(std::string_view mode, const fs::path& dir) {
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string flag = std::string(kChildFlag) + std::string(mode);
    const std::string dir_arg = dir.string();
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec: the parent may run RocksDB threads.
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      char* argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>(flag.c_str()),
                      const_cast<char*>(dir_arg.c_str()), nullptr};
      ::execv(self.c_str(), argv);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    out_ = out[0];
    in_ = in[1];
  }
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ >= 0) ::close(out_);
    if (in_ >= 0) ::close(in_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of the child's output; nullopt at end of output or after `deadline`.
  std::optional<std::string> ReadLine(Clock::time_point deadline) {
    while (true) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Closes the child's stdin: a "hold" child closes its store and exits.
  void CloseInput() {
    ::close(in_);
    in_ = -1;
  }
  void Kill() { ::kill(pid_, SIGKILL); }
  // The wait status.
  int Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

Clock::time_point In(std::chrono::milliseconds d) { return Clock::now() + d; }

TEST(StateStoreProcessTest, OpenWhileAnotherProcessHoldsItNamesThatProcess) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "state";
  ChildProcess child("hold", dir);
  ASSERT_GT(child.pid(), 0);
  std::optional<std::string> ready = child.ReadLine(In(std::chrono::seconds(30)));
  ASSERT_EQ(ready, "ready");

  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            dir.string() + ": the state directory is in use by another process (pid " +
                std::to_string(child.pid()) + ")");

  child.CloseInput();
  int status = child.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  StatusOr<std::unique_ptr<StateStore>> after = StateStore::Open(dir);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST(StateStoreProcessTest, ChildOpeningOurStoreIsRefusedWithOurPid) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "state";
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  ChildProcess child("probe", dir);
  ASSERT_GT(child.pid(), 0);
  std::optional<std::string> line = child.ReadLine(In(std::chrono::seconds(30)));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "FAILED_PRECONDITION: " + dir.string() +
                       ": the state directory is in use by another process (pid " +
                       std::to_string(::getpid()) + ")");
  child.Wait();
}

// Reads back what a killed writer left: returns the number of whole batches (0..k-1), and
// fails the test when a batch is partial or the batches are not a prefix.
uint64_t CheckCrashBatches(const StateStore& store) {
  std::set<uint64_t> jobs;
  std::set<std::string> tasks;
  std::set<uint64_t> audits;
  Status s = store.Scan(Kind::kJobs, "job-", [&](std::string_view key, std::string_view value) {
    v1::Job job;
    EXPECT_TRUE(job.ParseFromArray(value.data(), static_cast<int>(value.size())));
    uint64_t i = std::stoull(std::string(key.substr(4)));
    EXPECT_EQ(job.items_done(), i);
    jobs.insert(i);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = store.Scan(Kind::kTasks, "job-", [&](std::string_view key, std::string_view) {
    tasks.emplace(key);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = store.Scan(Kind::kAudit, "", [&](std::string_view key, std::string_view value) {
    v1::AuditEvent audit;
    EXPECT_TRUE(audit.ParseFromArray(value.data(), static_cast<int>(value.size())));
    EXPECT_EQ(std::to_string(std::stoull(std::string(key))), audit.detail());
    audits.insert(std::stoull(std::string(key)));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();

  const uint64_t k = jobs.size();
  // A prefix: 0..k-1, since each batch is written after the previous one committed.
  EXPECT_TRUE(k == 0 || *jobs.rbegin() == k - 1) << "batches are not a prefix";
  // Whole batches: every kind holds exactly the same batches.
  EXPECT_EQ(audits, jobs);
  EXPECT_EQ(tasks.size(), 2 * k);
  for (uint64_t i : jobs) {
    EXPECT_TRUE(tasks.count(TaskKey(i, 0)) && tasks.count(TaskKey(i, 1))) << "batch " << i;
  }
  StatusOr<std::string> progress = store.GetRaw(Kind::kMeta, "progress");
  if (k == 0) {
    EXPECT_EQ(progress.status().code(), Code::kNotFound);
  } else {
    EXPECT_EQ(progress.ok() ? *progress : progress.status().ToString(), std::to_string(k - 1));
  }
  return k;
}

TEST(StateStoreProcessTest, BatchesReportedCommittedSurviveSigkill) {
  std::random_device rd;
  const unsigned seed = rd();
  std::mt19937 rng(seed);
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uniform_int_distribution<int> delay_ms(20, 300);

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TempDir tmp;
    const fs::path dir = tmp.path() / "state";
    ChildProcess child("writer", dir);
    ASSERT_GT(child.pid(), 0);
    ASSERT_EQ(child.ReadLine(In(std::chrono::seconds(30))), "ready");

    const Clock::time_point kill_at = In(std::chrono::milliseconds(delay_ms(rng)));
    std::optional<uint64_t> last_reported;
    while (std::optional<std::string> line = child.ReadLine(kill_at)) {
      ASSERT_FALSE(line->starts_with("error")) << *line;
      last_reported = std::stoull(*line);
    }
    child.Kill();
    // Lines already in the pipe were committed before the kill.
    while (std::optional<std::string> line = child.ReadLine(In(std::chrono::seconds(30)))) {
      last_reported = std::stoull(*line);
    }
    int status = child.Wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer ended on its own: " << status;
    ASSERT_TRUE(last_reported.has_value()) << "the writer committed nothing before the kill";

    StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const uint64_t k = CheckCrashBatches(**store);
    // Every reported batch is there; at most one more (committed, killed before reporting).
    EXPECT_GE(k, *last_reported + 1);
    EXPECT_LE(k, *last_reported + 2);
    std::cout << "round " << round << ": writer reported " << *last_reported + 1
              << " batches, store holds " << k << "\n";
  }
}

}  // namespace
}  // namespace lifeboat::core

int main(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[1]).starts_with(lifeboat::core::kChildFlag)) {
    const std::string_view mode =
        std::string_view(argv[1]).substr(std::strlen(lifeboat::core::kChildFlag));
    return lifeboat::core::RunChild(mode, argv[2]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
