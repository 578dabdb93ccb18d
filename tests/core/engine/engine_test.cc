// The engine with the real localfs plugin loaded through the real host: a service of two
// data sets, backups full and incremental, restore of an older point, retention, RPO, and
// resumption of a job stopped half-way.
#include <gtest/gtest.h>
#include <lifeboat/core/engine.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include "tree_capture.h"

#include <lifeboat_test/remove_tree.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

void Write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

using lifeboat::testing::CaptureTree;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-engine-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "primary");
    fs::create_directories(base_ / "secondary");
    Write(Sales() / "orders.csv", "id,amount\n1,10\n");
    Write(Sales() / "part" / "big.bin", Random(3 << 20, 1));
    Write(Meta() / "schema.json", "{\"v\": 1}\n");
    fs::create_directories(Meta() / "empty");
    ASSERT_TRUE(OpenEngine().ok());
  }
  void TearDown() override {
    engine_.reset();
    lifeboat::test::RemoveTestTree(base_);
  }

  Status OpenEngine() {
    engine_.reset();
    EngineOptions o;
    if (fake_now_ != 0) o.now = [this] { return fake_now_.load(); };
    o.state_dir = base_ / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    o.make_agent = make_agent_;
    auto e = Engine::Open(o);
    if (!e.ok()) return e.status();
    engine_ = std::move(e).value();
    return OkStatus();
  }

  fs::path Sales() const { return base_ / "primary" / "warehouse" / "sales"; }
  fs::path Meta() const { return base_ / "primary" / "meta"; }

  static v1::Cluster Cluster(const std::string& name, const fs::path& root) {
    v1::Cluster c;
    c.set_name(name);
    auto* comp = c.add_components();
    comp->set_component("localfs");
    comp->set_config_json("{\"root\": \"" + root.string() + "\", \"chunk_bytes\": 65536}");
    return c;
  }

  std::vector<YamlDocument> Config(int keep = 0) const {
    v1::Service svc;
    svc.set_name("sales");
    svc.set_primary_cluster("primary");
    svc.set_secondary_cluster("dr");
    auto* d1 = svc.add_data_sets();
    d1->set_component("localfs");
    d1->set_selector("/warehouse/sales");
    auto* d2 = svc.add_data_sets();
    d2->set_component("localfs");
    d2->set_selector("/meta");
    d2->set_commit_stage(1);
    v1::Policy p;
    p.set_name("sales-hourly");
    p.set_service("sales");
    p.mutable_schedule()->set_interval_seconds(3600);
    p.set_rpo_seconds(7200);
    p.mutable_retention()->set_keep_count(keep);
    p.set_consistency(v1::CRASH);
    p.set_parallelism(2);
    p.set_verification(v1::VERIFY_DIGEST);
    std::vector<YamlDocument> docs(4);
    docs[0].value = Cluster("primary", base_ / "primary");
    docs[1].value = Cluster("dr", base_ / "secondary");
    docs[2].value = svc;
    docs[3].value = p;
    for (auto& d : docs) d.file = "test.yaml";
    return docs;
  }

  // Restores `point` of "sales" with `spec`'s destination or cluster (set by the caller).
  void Restore(const std::string& point, v1::RestoreSpec spec) {
    spec.set_restore_point_id(point);
    auto restore = engine_->StartRestore("sales", spec, "test");
    ASSERT_TRUE(restore.ok()) << restore.status().ToString();
    Status s = engine_->RunJob(*restore);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string Backup() {
    auto id = engine_->StartBackup("sales-hourly", "manual", "test");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    Status s = engine_->RunJob(*id);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto job = engine_->GetJob(*id);
    EXPECT_TRUE(job.ok());
    return job.ok() ? job->restore_point_id() : "";
  }

  fs::path base_;
  std::unique_ptr<Engine> engine_;
  std::atomic<int64_t> fake_now_{0};  // 0: the real clock
  std::function<StatusOr<std::unique_ptr<Agent>>(const v1::Cluster&, const PluginHost&)>
      make_agent_;
};

TEST_F(EngineTest, ApplyIsIdempotentAndVersioned) {
  auto first = engine_->Apply(Config(), "test");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = engine_->Apply(Config(), "test");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  for (const auto& line : *again) EXPECT_NE(line.find("unchanged"), std::string::npos) << line;
  auto changed = Config(5);
  ASSERT_TRUE(engine_->Apply(changed, "test").ok());
  auto p = engine_->GetPolicy("sales-hourly");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->revision(), 2u);
  EXPECT_EQ(p->retention().keep_count(), 5u);
}

TEST_F(EngineTest, ApplyRefusesWhatDoesNotResolve) {
  auto docs = Config();
  std::get<v1::Service>(docs[2].value).mutable_data_sets(0)->set_selector("/no/such/dir");
  auto r = engine_->Apply(docs, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("/no/such/dir"), std::string::npos);
  EXPECT_FALSE(engine_->GetPolicy("sales-hourly").ok()) << "nothing may be applied";

  docs = Config();
  std::get<v1::Policy>(docs[3].value).set_service("nope");
  r = engine_->Apply(docs, "test");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().ToString().find("nope"), std::string::npos);

  docs = Config();
  std::get<v1::Cluster>(docs[1].value).mutable_components(0)->set_plugin("no_such_plugin");
  r = engine_->Apply(docs, "test");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("no_such_plugin"), std::string::npos)
      << r.status().ToString();
}

TEST_F(EngineTest, BackupIncrementalAndRestoreOfAnOlderPoint) {
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto sales_1 = CaptureTree(Sales());
  auto meta_1 = CaptureTree(Meta());
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());

  Write(Sales() / "orders.csv", "id,amount\n1,10\n2,20\n");
  Write(Meta() / "schema.json", "{\"v\": 2}\n");
  std::string rp2 = Backup();
  ASSERT_FALSE(rp2.empty());
  ASSERT_NE(rp1, rp2);

  auto point = engine_->GetRestorePoint("sales", rp2);
  ASSERT_TRUE(point.ok());
  EXPECT_EQ(point->state(), v1::RP_COMMITTED);
  EXPECT_EQ(point->base_restore_point_id(), rp1);
  ASSERT_EQ(point->members_size(), 2);
  for (const auto& m : point->members()) {
    EXPECT_TRUE(m.committed());
    EXPECT_GT(m.cut_end_unix_nanos(), 0);
  }
  // The item counts come from the cut's entry_count: localfs sends no entries (issue 13).
  std::map<std::string, uint64_t> items;
  for (const auto& m : point->members()) items[m.data_set().selector()] = m.items();
  EXPECT_EQ(items["/warehouse/sales"], CaptureTree(Sales()).size());
  EXPECT_EQ(items["/meta"], CaptureTree(Meta()).size());
  // The incremental moved only the changed files, far less than the 3 MiB one.
  uint64_t copied = 0;
  for (const auto& m : point->members()) copied += m.bytes_copied();
  EXPECT_LT(copied, 1024u);
  EXPECT_GT(copied, 0u);

  v1::RestoreSpec spec;
  spec.set_restore_point_id(rp1);
  spec.set_destination("/restored");
  auto job = engine_->StartRestore("sales", spec, "test");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(engine_->RunJob(*job).ok());
  fs::path restored = base_ / "secondary" / "restored";
  EXPECT_EQ(CaptureTree(restored / "warehouse" / "sales"), sales_1);
  EXPECT_EQ(CaptureTree(restored / "meta"), meta_1);

  auto verified = engine_->VerifyRestorePoint("sales", rp2);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->empty());

  auto status = engine_->GetServiceStatus("sales");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->newest_point, rp2);
  EXPECT_FALSE(status->rpo_breached);
}

TEST_F(EngineTest, RunsOfOnePolicyNeverOverlap) {
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto first = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(first.ok());
  auto second = engine_->StartBackup("sales-hourly", "manual", "test");
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(*first), std::string::npos);
}

TEST_F(EngineTest, RetentionKeepsTheNewestAndExpiresTheRest) {
  ASSERT_TRUE(engine_->Apply(Config(/*keep=*/2), "test").ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    Write(Sales() / ("f" + std::to_string(i)), std::to_string(i));
    ids.push_back(Backup());
  }
  auto points = engine_->RestorePoints("sales");
  ASSERT_TRUE(points.ok());
  std::map<std::string, v1::RestorePointState> state;
  for (const auto& p : *points) state[p.id()] = p.state();
  EXPECT_EQ(state[ids[0]], v1::RP_EXPIRED);
  EXPECT_EQ(state[ids[1]], v1::RP_EXPIRED);
  EXPECT_EQ(state[ids[2]], v1::RP_COMMITTED);
  EXPECT_EQ(state[ids[3]], v1::RP_COMMITTED);
  // The expired point is gone from the target, the kept ones restore.
  v1::RestoreSpec spec;
  spec.set_restore_point_id(ids[0]);
  EXPECT_FALSE(engine_->StartRestore("sales", spec, "test").ok());
  spec.set_restore_point_id(ids[2]);
  spec.set_destination("/r2");
  auto job = engine_->StartRestore("sales", spec, "test");
  ASSERT_TRUE(job.ok());
  EXPECT_TRUE(engine_->RunJob(*job).ok());
}

TEST_F(EngineTest, ACancelledJobLeavesNoSnapshotBehind) {
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  std::atomic<bool> cancel{false};
  Status s = engine_->RunJob(*id, &cancel, [&](const JobProgress& p) {
    if (p.phase == v1::PHASE_TRANSFER && p.bytes_done > 0) cancel = true;
  });
  EXPECT_EQ(s.code(), Code::kCancelled) << s.ToString();
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_CANCELLED);
  auto rp = engine_->GetRestorePoint("sales", job->restore_point_id());
  ASSERT_TRUE(rp.ok());
  EXPECT_EQ(rp->state(), v1::RP_FAILED);
  // No source snapshot and no staging left for the abandoned point.
  for (const char* area : {"primary/.lifeboat/snapshots", "secondary/.lifeboat/staging"}) {
    if (!fs::exists(base_ / area)) continue;
    for (auto it = fs::recursive_directory_iterator(base_ / area);
         it != fs::recursive_directory_iterator(); ++it) {
      EXPECT_EQ(it->path().filename().string().find(job->restore_point_id()), std::string::npos)
          << "left behind: " << it->path();
    }
  }
  // And the next run works.
  EXPECT_FALSE(Backup().empty());
}

TEST_F(EngineTest, AJobKilledMidTransferResumesAfterReopen) {
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto sales = CaptureTree(Sales());
  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  // Run the job in a child process and kill it in the middle of the transfer.
  engine_.reset();  // the child takes the store's lock
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!OpenEngine().ok()) ::_exit(2);
    (void)engine_->RunJob(*id, nullptr, [&](const JobProgress& p) {
      if (p.phase == v1::PHASE_TRANSFER && p.bytes_done > 0) ::raise(SIGKILL);
    });
    ::_exit(3);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the child was meant to die mid-transfer";
  ASSERT_TRUE(OpenEngine().ok());
  auto before = engine_->GetJob(*id);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->state(), v1::JOB_RUNNING);
  auto ran = engine_->ResumeAll();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  ASSERT_EQ(ran->size(), 1u);
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_SUCCEEDED) << job->error();
  v1::RestoreSpec spec;
  spec.set_restore_point_id(job->restore_point_id());
  spec.set_destination("/after-crash");
  auto restore = engine_->StartRestore("sales", spec, "test");
  ASSERT_TRUE(restore.ok());
  ASSERT_TRUE(engine_->RunJob(*restore).ok());
  EXPECT_EQ(CaptureTree(base_ / "secondary" / "after-crash" / "warehouse" / "sales"), sales);
}

TEST_F(EngineTest, SchedulerRunsDueSlotsOnceSkipsOverlapsAndCatchesUpOnce) {
  constexpr int64_t kHour = 3600LL * 1000000000LL;
  const int64_t t0 = 1'800'000'000LL * 1000000000LL;  // 2027-01-15, a fixed point in time
  fake_now_ = t0;
  ASSERT_TRUE(OpenEngine().ok());
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());  // every hour from t0

  fake_now_ = t0 + 10LL * 1000000000LL;
  auto none = engine_->TickOnce();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty()) << "nothing is due ten seconds after the anchor";

  fake_now_ = t0 + kHour + 1;
  auto first = engine_->TickOnce();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 1u);
  auto job = engine_->GetJob(first->at(0));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_SUCCEEDED) << job->error();
  EXPECT_EQ(job->trigger(), "schedule");

  // Five hours of downtime: one run, not five; and the engine restarted in between.
  fake_now_ = t0 + 6 * kHour + 1;
  ASSERT_TRUE(OpenEngine().ok());
  auto caught_up = engine_->TickOnce();
  ASSERT_TRUE(caught_up.ok());
  EXPECT_EQ(caught_up->size(), 1u);

  // A slot that falls due while the previous backup is unfinished is recorded as skipped.
  auto pending = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(pending.ok());
  fake_now_ = t0 + 7 * kHour + 1;
  auto skipped = engine_->TickOnce();
  ASSERT_TRUE(skipped.ok());
  ASSERT_EQ(skipped->size(), 1u);
  auto sj = engine_->GetJob(skipped->at(0));
  ASSERT_TRUE(sj.ok());
  EXPECT_EQ(sj->state(), v1::JOB_SKIPPED);
  auto still = engine_->GetJob(*pending);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state(), v1::JOB_PENDING) << "the skipped slot must not touch the running job";
}

TEST_F(EngineTest, AFullDiskOnTheTargetFailsClearlyAndHarmsNothing) {
  // The secondary on a 2 MiB file system; the service holds a 3 MiB file.
  fs::path small = base_ / "secondary";
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{small};
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  Status s = engine_->RunJob(*id);
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("free space"), std::string::npos) << s.ToString();
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_FAILED);
  auto rp = engine_->GetRestorePoint("sales", job->restore_point_id());
  ASSERT_TRUE(rp.ok());
  EXPECT_EQ(rp->state(), v1::RP_FAILED);
  // The staged copy was removed, so the space is back; with the big file gone the next
  // backup fits and succeeds; the state is intact across a reopen.
  fs::remove(Sales() / "part" / "big.bin");
  ASSERT_TRUE(OpenEngine().ok());
  std::string rp2 = Backup();
  ASSERT_FALSE(rp2.empty());
  auto points = engine_->RestorePoints("sales");
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), 2u);
}

// Quiesced: hooks pause the writers around the cut, and resume always runs — after success,
// after a failed cut, and after a crash while the writers were paused.
std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(EngineTest, QuiescedHooksPauseAndAlwaysResume) {
  const fs::path log = base_ / "hooks.log";
  auto docs = Config();
  auto& policy = std::get<v1::Policy>(docs[3].value);
  policy.set_consistency(v1::QUIESCED);
  auto* hook = policy.add_hooks();
  hook->set_name("app");
  hook->set_kind("command");
  hook->set_pause("echo pause >> " + log.string() +
                  " && sleep ${PAUSE_SLEEP:-0} && test -z \"$PAUSE_FAIL\"");
  hook->set_resume("echo resume >> " + log.string());
  hook->set_timeout_seconds(30);
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());

  // 1. Success: pause, cut, resume, in that order, once each.
  std::string rp = Backup();
  ASSERT_FALSE(rp.empty());
  EXPECT_EQ(ReadAll(log), "pause\nresume\n");

  // 2. A pause that fails fails the cut, and the writers are resumed all the same.
  fs::remove(log);
  ::setenv("PAUSE_FAIL", "1", 1);
  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  Status failed = engine_->RunJob(*id);
  ::unsetenv("PAUSE_FAIL");
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.ToString().find("pausing writers"), std::string::npos) << failed.ToString();
  EXPECT_EQ(ReadAll(log), "pause\nresume\n");

  // 3. A crash while the writers are paused: the restarted engine resumes them first.
  fs::remove(log);
  id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  engine_.reset();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("PAUSE_SLEEP", "30", 1);  // the pause hook hangs; the engine dies meanwhile
    if (!OpenEngine().ok()) ::_exit(2);
    (void)engine_->RunJob(*id);
    ::_exit(3);
  }
  for (int i = 0; i < 200 && ReadAll(log).empty(); ++i) ::usleep(20000);
  ASSERT_EQ(ReadAll(log), "pause\n");
  ::kill(pid, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(OpenEngine().ok());
  auto paused = engine_->GetJob(*id);
  ASSERT_TRUE(paused.ok());
  EXPECT_TRUE(paused->writers_paused()) << "the job must remember that a resume is owed";
  ASSERT_TRUE(engine_->ResumeAll().ok());
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_SUCCEEDED) << job->error();
  EXPECT_FALSE(job->writers_paused());
  // The owed resume came first, then the resumed cut paused and resumed again.
  EXPECT_EQ(ReadAll(log), "pause\nresume\npause\nresume\n");
}

// A one-thread HTTP server on loopback that records each request line and answers 200, or
// 503 for paths listed in `fail`.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::set<std::string> fail) : fail_(std::move(fail)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string line = req.substr(0, req.find("\r\n"));
      std::string path = line.substr(line.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(line.substr(0, line.find(' ')) + " " + path);
      }
      std::string answer = fail_.count(path) ? "HTTP/1.1 503 Busy\r\n" : "HTTP/1.1 200 OK\r\n";
      answer += "Content-Length: 0\r\nConnection: close\r\n\r\n";
      (void)::write(c, answer.data(), answer.size());
      ::close(c);
    }
  }
  std::set<std::string> fail_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

TEST_F(EngineTest, HttpHooksPauseAndResumeTheWriters) {
  for (bool pause_fails : {false, true}) {
    TinyHttpServer server(pause_fails ? std::set<std::string>{"/pause"} : std::set<std::string>{});
    auto docs = Config();
    auto& policy = std::get<v1::Policy>(docs[3].value);
    policy.set_consistency(v1::QUIESCED);
    auto* hook = policy.add_hooks();
    hook->set_name("app");
    hook->set_kind("http");
    hook->set_pause(server.Url("/pause"));
    hook->set_resume(server.Url("/resume"));
    hook->set_timeout_seconds(10);
    ASSERT_TRUE(engine_->Apply(docs, "test").ok());
    auto id = engine_->StartBackup("sales-hourly", "manual", "test");
    ASSERT_TRUE(id.ok());
    Status s = engine_->RunJob(*id);
    if (pause_fails) {
      EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
      EXPECT_NE(s.ToString().find("HTTP 503"), std::string::npos) << s.ToString();
    } else {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    // Resume is posted in both cases.
    EXPECT_EQ(server.Requests(), (std::vector<std::string>{"POST /pause", "POST /resume"}));
  }
}

TEST_F(EngineTest, RestoresBackToThePrimaryFromTheSecondarysPoints) {
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto sales_1 = CaptureTree(Sales());
  auto meta_1 = CaptureTree(Meta());
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());
  // The primary's data goes bad after the point: changed, deleted, and something added.
  Write(Sales() / "orders.csv", "corrupted\n");
  fs::remove(Meta() / "schema.json");
  Write(Sales() / "junk.tmp", "x");

  // A dry run lists what would change and changes nothing.
  v1::RestoreSpec spec;
  spec.set_restore_point_id(rp1);
  spec.set_cluster("primary");
  spec.set_dry_run(true);
  spec.set_overwrite(true);  // the operator agrees to replace what the primary holds now
  auto dry = engine_->StartRestore("sales", spec, "test");
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  ASSERT_TRUE(engine_->RunJob(*dry).ok());
  auto dry_job = engine_->GetJob(*dry);
  ASSERT_TRUE(dry_job.ok());
  std::string log;
  for (const auto& line : dry_job->log()) log += line + "\n";
  EXPECT_NE(log.find("update orders.csv"), std::string::npos) << log;
  EXPECT_NE(log.find("delete junk.tmp"), std::string::npos) << log;
  EXPECT_NE(log.find("create schema.json"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(Sales() / "junk.tmp"));

  spec.set_dry_run(false);
  auto job = engine_->StartRestore("sales", spec, "test");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  Status s = engine_->RunJob(*job);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(CaptureTree(Sales()), sales_1);
  EXPECT_EQ(CaptureTree(Meta()), meta_1);
}

// An agent whose clock runs `offset` ahead of the control service's (a fake: it wraps the
// real local agent and only lies about the time).
class SkewedClockAgentFake : public Agent {
 public:
  SkewedClockAgentFake(std::unique_ptr<Agent> real, int64_t offset_nanos)
      : real_(std::move(real)), offset_(offset_nanos) {}
  const std::string& cluster() const override { return real_->cluster(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    return real_->Call(component, op, request, response, opts);
  }
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& c) override {
    return real_->PeerConfig(c);
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& c) override {
    return real_->Describe(c);
  }
  StatusOr<int64_t> ClockNow() override {
    auto t = real_->ClockNow();
    if (!t.ok()) return t;
    return *t + offset_;
  }

 private:
  std::unique_ptr<Agent> real_;
  int64_t offset_;
};

TEST_F(EngineTest, ACutIsRefusedWhenAnAgentsClockIsTooFarOff) {
  std::atomic<int64_t> primary_offset{int64_t{5} * 1000000000};  // 5 s ahead
  make_agent_ = [&](const v1::Cluster& c,
                    const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
    auto real = std::make_unique<LocalAgent>(host, c);
    if (c.name() != "primary") return std::unique_ptr<Agent>(std::move(real));
    return std::unique_ptr<Agent>(
        std::make_unique<SkewedClockAgentFake>(std::move(real), primary_offset.load()));
  };
  ASSERT_TRUE(OpenEngine().ok());
  auto docs = Config();
  std::get<v1::Policy>(docs[3].value).set_max_clock_skew_millis(500);
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());

  auto sample = engine_->MeasureClock("primary");
  ASSERT_TRUE(sample.ok()) << sample.status().ToString();
  EXPECT_GT(sample->offset_nanos(), int64_t{4} * 1000000000);
  EXPECT_LT(sample->offset_nanos(), int64_t{6} * 1000000000);

  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  Status s = engine_->RunJob(*id);
  EXPECT_EQ(s.code(), Code::kAborted) << s.ToString();
  EXPECT_NE(s.message().find("clock skew"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("primary"), std::string::npos) << s.ToString();
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_FAILED) << "not parked: the next slot must try again";
  auto rp = engine_->GetRestorePoint("sales", job->restore_point_id());
  ASSERT_TRUE(rp.ok());
  EXPECT_NE(rp->state(), v1::RP_COMMITTED);
  for (const auto& m : rp->members()) EXPECT_TRUE(m.snapshot().empty()) << "nothing was cut";
  auto events = engine_->Events();
  ASSERT_TRUE(events.ok());
  bool skew_event = false;
  for (const auto& e : *events) skew_event = skew_event || e.kind() == "clock_skew";
  EXPECT_TRUE(skew_event);

  // Within the bound, the cut goes ahead and the point records the clock it measured.
  primary_offset = 100 * 1000000;  // 100 ms
  ASSERT_TRUE(OpenEngine().ok());
  std::string point = Backup();
  ASSERT_FALSE(point.empty());
  auto committed = engine_->GetRestorePoint("sales", point);
  ASSERT_TRUE(committed.ok());
  ASSERT_EQ(committed->clocks_size(), 1);
  EXPECT_EQ(committed->clocks(0).cluster(), "primary");
  EXPECT_GT(committed->clocks(0).offset_nanos(), 50 * 1000000);
}

// Two services whose pause hooks wait for each other: both backups can only finish when
// the executor runs them at the same time.
TEST_F(EngineTest, JobsOfDifferentServicesRunAtOnceAndOfOneServiceOneAfterAnother) {
  auto docs = Config();
  const fs::path a_paused = base_ / "a-paused", b_paused = base_ / "b-paused";
  auto& sales_policy = std::get<v1::Policy>(docs[3].value);
  sales_policy.set_consistency(v1::QUIESCED);
  auto* hook = sales_policy.add_hooks();
  hook->set_name("rendezvous");
  hook->set_kind("command");
  hook->set_pause("touch " + a_paused.string() + "; i=0; while [ ! -f " + b_paused.string() +
                  " ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; test -f " +
                  b_paused.string());
  hook->set_resume("true");
  hook->set_timeout_seconds(60);
  Write(base_ / "primary" / "hr" / "people.csv", "id\n1\n");
  v1::Service hr;
  hr.set_name("hr");
  hr.set_primary_cluster("primary");
  hr.set_secondary_cluster("dr");
  auto* ds = hr.add_data_sets();
  ds->set_component("localfs");
  ds->set_selector("/hr");
  v1::Policy hr_policy = sales_policy;
  hr_policy.set_name("hr-hourly");
  hr_policy.set_service("hr");
  hr_policy.mutable_hooks(0)->set_pause(
      "touch " + b_paused.string() + "; i=0; while [ ! -f " + a_paused.string() +
      " ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; test -f " + a_paused.string());
  docs.push_back({});
  docs.back().value = hr;
  docs.push_back({});
  docs.back().value = hr_policy;
  for (auto& d : docs) d.file = "test.yaml";
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());

  auto sales_job = engine_->StartBackup("sales-hourly", "manual", "test");
  auto hr_job = engine_->StartBackup("hr-hourly", "manual", "test");
  ASSERT_TRUE(sales_job.ok() && hr_job.ok());
  ASSERT_TRUE(engine_->Submit(*sales_job).ok());
  ASSERT_TRUE(engine_->Submit(*hr_job).ok());
  EXPECT_EQ(engine_->Submit(*hr_job).code(), Code::kAlreadyExists);
  engine_->WaitIdle();
  for (const auto& id : {*sales_job, *hr_job}) {
    auto job = engine_->GetJob(id);
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->state(), v1::JOB_SUCCEEDED) << id << ": " << job->error();
  }

  // One service: a restore submitted behind a backup starts only after the backup ended.
  auto hr_points = engine_->RestorePoints("hr");
  ASSERT_TRUE(hr_points.ok() && !hr_points->empty());
  fs::remove(a_paused);  // the hr hook now waits for a file nobody makes, then fails
  hr_policy.mutable_hooks(0)->set_pause("touch " + b_paused.string());
  docs.back().value = hr_policy;
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());
  auto backup = engine_->StartBackup("hr-hourly", "manual", "test");
  ASSERT_TRUE(backup.ok());
  v1::RestoreSpec spec;
  spec.set_restore_point_id(hr_points->front().id());
  spec.set_destination("/hr-restored");
  auto restore = engine_->StartRestore("hr", spec, "test");
  ASSERT_TRUE(restore.ok());
  ASSERT_TRUE(engine_->Submit(*backup).ok());
  ASSERT_TRUE(engine_->Submit(*restore).ok());
  engine_->WaitIdle();
  auto b = engine_->GetJob(*backup);
  auto r = engine_->GetJob(*restore);
  ASSERT_TRUE(b.ok() && r.ok());
  EXPECT_EQ(b->state(), v1::JOB_SUCCEEDED) << b->error();
  EXPECT_EQ(r->state(), v1::JOB_SUCCEEDED) << r->error();
  EXPECT_GE(r->started_unix_nanos(), b->finished_unix_nanos());
}

TEST_F(EngineTest, CancellingARecordedJobThatNoOneRunsEndsItCancelled) {
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(engine_->CancelJob(*id).ok());
  engine_->Wait(*id);
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_CANCELLED);
  EXPECT_EQ(engine_->CancelJob(*id).code(), Code::kFailedPrecondition);
  EXPECT_EQ(engine_->CancelJob("job-nope").code(), Code::kNotFound);
  // The policy is free again.
  EXPECT_FALSE(Backup().empty());
}

// An agent that can be cut off: while `down` is set every call fails UNAVAILABLE, as a
// lost cluster's agent would (a fake: it wraps the real local agent).
class CutOffAgentFake : public Agent {
 public:
  CutOffAgentFake(std::unique_ptr<Agent> real, const std::atomic<bool>& down)
      : real_(std::move(real)), down_(down) {}
  const std::string& cluster() const override { return real_->cluster(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    if (down_) return Lost();
    return real_->Call(component, op, request, response, opts);
  }
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& c) override {
    return real_->PeerConfig(c);
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& c) override {
    if (down_) return Lost();
    return real_->Describe(c);
  }
  StatusOr<int64_t> ClockNow() override {
    if (down_) return Lost();
    return real_->ClockNow();
  }

 private:
  Status Lost() const { return UnavailableError("agent of " + cluster() + " does not answer"); }
  std::unique_ptr<Agent> real_;
  const std::atomic<bool>& down_;
};

bool HasEvent(Engine& engine, const std::string& kind) {
  auto events = engine.Events();
  if (!events.ok()) return false;
  for (const auto& e : *events) {
    if (e.kind() == kind) return true;
  }
  return false;
}

TEST_F(EngineTest, FailoverToTheSecondaryThenFailBackWithOnlyTheDelta) {
  std::atomic<bool> primary_down{false};
  make_agent_ = [&](const v1::Cluster& c,
                    const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
    auto real = std::make_unique<LocalAgent>(host, c);
    if (c.name() != "primary") return std::unique_ptr<Agent>(std::move(real));
    return std::unique_ptr<Agent>(std::make_unique<CutOffAgentFake>(std::move(real), primary_down));
  };
  ASSERT_TRUE(OpenEngine().ok());
  auto docs = Config();
  auto& svc = std::get<v1::Service>(docs[2].value);
  for (const char* cluster : {"primary", "dr"}) {
    auto* e = svc.add_endpoints();
    e->set_cluster(cluster);
    e->set_name("api");
    e->set_address(std::string("http://sales.") + cluster + ":8080");
  }
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());
  auto sales_1 = CaptureTree(Sales());
  auto meta_1 = CaptureTree(Meta());
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());
  auto ep = engine_->Endpoints("sales");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->active_cluster(), "primary");
  ASSERT_EQ(ep->endpoints_size(), 1);
  EXPECT_EQ(ep->endpoints(0).address(), "http://sales.primary:8080");
  auto health = engine_->CheckClusters();
  ASSERT_TRUE(health.ok());
  for (const auto& h : *health) EXPECT_EQ(h.state(), v1::CLUSTER_HEALTHY) << h.cluster();

  // The primary is lost: the health check says so, and tells which service to move.
  primary_down = true;
  health = engine_->CheckClusters();
  ASSERT_TRUE(health.ok());
  for (const auto& h : *health) {
    EXPECT_EQ(h.state(), h.cluster() == "primary" ? v1::CLUSTER_UNREACHABLE : v1::CLUSTER_HEALTHY)
        << h.cluster();
  }
  EXPECT_TRUE(HasEvent(*engine_, "primary_unreachable"));

  // A dry run lists every step and changes nothing.
  v1::SwitchSpec spec;
  spec.add_services("sales");
  spec.set_dry_run(true);
  auto dry = engine_->StartFailover(spec, "admin");
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  ASSERT_TRUE(engine_->RunJob(*dry).ok());
  auto dry_job = engine_->GetJob(*dry);
  ASSERT_TRUE(dry_job.ok());
  std::vector<std::string> steps;
  for (const auto& st : dry_job->steps()) {
    steps.push_back(st.name());
    EXPECT_FALSE(st.done());
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"stop-backups", "fence", "unfence", "apply", "swap"}));
  EXPECT_EQ(engine_->Roles("sales")->epoch(), 1u);
  EXPECT_FALSE(fs::exists(base_ / "secondary" / "warehouse"));

  // Bad input: an unknown service, an unknown cluster.
  v1::SwitchSpec nope;
  nope.add_services("nope");
  EXPECT_EQ(engine_->StartFailover(nope, "admin").status().code(), Code::kNotFound);
  v1::SwitchSpec nocluster;
  nocluster.set_from_cluster("atlantis");
  EXPECT_EQ(engine_->StartFailover(nocluster, "admin").status().code(), Code::kNotFound);

  // The failover of every service on the lost cluster.
  v1::SwitchSpec all;
  all.set_from_cluster("primary");
  all.set_reason("drill");
  auto failover = engine_->StartFailover(all, "admin");
  ASSERT_TRUE(failover.ok()) << failover.status().ToString();
  Status s = engine_->RunJob(*failover);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto roles = engine_->Roles("sales");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->primary_cluster(), "dr");
  EXPECT_EQ(roles->secondary_cluster(), "primary");
  EXPECT_EQ(roles->epoch(), 2u);
  EXPECT_EQ(roles->common_restore_point_id(), rp1);
  ASSERT_EQ(roles->fence_owed_size(), 1);
  EXPECT_EQ(roles->fence_owed(0), "primary");
  ep = engine_->Endpoints("sales");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->active_cluster(), "dr");
  ASSERT_EQ(ep->endpoints_size(), 1);
  EXPECT_EQ(ep->endpoints(0).address(), "http://sales.dr:8080");
  // The newest point is applied on the new primary.
  const fs::path dr_sales = base_ / "secondary" / "warehouse" / "sales";
  EXPECT_EQ(CaptureTree(dr_sales), sales_1);
  EXPECT_EQ(CaptureTree(base_ / "secondary" / "meta"), meta_1);

  // The service runs on dr and changes a little there.
  Write(dr_sales / "orders.csv", "id,amount\n1,10\n2,20\n3,30\n");
  auto sales_on_dr = CaptureTree(dr_sales);

  // The old primary answers again: it is fenced at once, so it cannot act as primary.
  primary_down = false;
  health = engine_->CheckClusters();
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(HasEvent(*engine_, "fence_paid"));
  EXPECT_EQ(engine_->Roles("sales")->fence_owed_size(), 0);
  EXPECT_EQ(engine_->Roles("sales")->primary_cluster(), "dr");
  v1::RestoreSpec into_old;
  into_old.set_restore_point_id(rp1);
  into_old.set_cluster("primary");
  auto refused = engine_->StartRestore("sales", into_old, "test");
  ASSERT_TRUE(refused.ok());
  Status refused_run = engine_->RunJob(*refused);
  EXPECT_EQ(refused_run.code(), Code::kFailedPrecondition) << refused_run.ToString();

  // Failback: a planned move with only what changed since the failover copied.
  v1::SwitchSpec back;
  back.add_services("sales");
  auto failback = engine_->StartFailback(back, "admin");
  ASSERT_TRUE(failback.ok()) << failback.status().ToString();
  s = engine_->RunJob(*failback);
  ASSERT_TRUE(s.ok()) << s.ToString();
  roles = engine_->Roles("sales");
  EXPECT_EQ(roles->primary_cluster(), "primary");
  EXPECT_EQ(roles->epoch(), 3u);
  EXPECT_EQ(engine_->Endpoints("sales")->active_cluster(), "primary");
  EXPECT_EQ(CaptureTree(Sales()), sales_on_dr);
  auto fb = engine_->GetJob(*failback);
  ASSERT_TRUE(fb.ok());
  std::string log;
  for (const auto& line : fb->log()) log += line + "\n";
  // The first replication moved the changed file, not the 3 MiB one.
  uint64_t copied = UINT64_MAX;
  for (const auto& st : fb->steps()) {
    if (st.name() != "replicate") continue;
    auto child = engine_->GetJob(st.outcome().substr(0, st.outcome().find(':')));
    ASSERT_TRUE(child.ok()) << st.outcome();
    auto point = engine_->GetRestorePoint("sales", child->restore_point_id());
    ASSERT_TRUE(point.ok());
    EXPECT_EQ(point->source_cluster(), "dr");
    EXPECT_EQ(point->target_cluster(), "primary");
    copied = 0;
    for (const auto& m : point->members()) copied += m.bytes_copied();
  }
  EXPECT_LT(copied, 1024u) << log;
  // And backups go from the primary to dr again.
  std::string after = Backup();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(engine_->GetRestorePoint("sales", after)->target_cluster(), "dr");
}

// The primary's agent of the test below: cut off while `down` is set, and its first fence
// after `hold_fence` is set waits until `release` is fulfilled, after saying so on `entered`
// (a fake around the real local agent).
class HeldFenceAgentFake : public CutOffAgentFake {
 public:
  HeldFenceAgentFake(std::unique_ptr<Agent> real, const std::atomic<bool>& down,
                     std::atomic<bool>& hold_fence, std::promise<void>& entered,
                     std::shared_future<void> release)
      : CutOffAgentFake(std::move(real), down),
        hold_fence_(hold_fence),
        entered_(entered),
        release_(std::move(release)) {}
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    if (op == LB_OP_FENCE && hold_fence_.exchange(false)) {
      entered_.set_value();
      release_.wait();
    }
    return CutOffAgentFake::Call(component, op, request, response, opts);
  }

 private:
  std::atomic<bool>& hold_fence_;
  std::promise<void>& entered_;
  std::shared_future<void> release_;
};

// Paying an owed fence takes as long as the fence; a failback that completes meanwhile moves
// the roles to a new epoch. The payment used to write back the roles it had read before the
// fence, turning the service back to epoch 2 with dr as primary after the failback had made
// the primary primary again at epoch 3.
TEST_F(EngineTest, AnOwedFencePaidDuringAFailbackNeverTurnsTheRolesBack) {
  std::atomic<bool> primary_down{false};
  std::atomic<bool> hold_fence{false};
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  make_agent_ = [&](const v1::Cluster& c,
                    const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
    auto real = std::make_unique<LocalAgent>(host, c);
    if (c.name() != "primary") return std::unique_ptr<Agent>(std::move(real));
    return std::unique_ptr<Agent>(std::make_unique<HeldFenceAgentFake>(
        std::move(real), primary_down, hold_fence, entered, released));
  };
  ASSERT_TRUE(OpenEngine().ok());
  ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  ASSERT_FALSE(Backup().empty());

  primary_down = true;
  v1::SwitchSpec over;
  over.add_services("sales");
  auto failover = engine_->StartFailover(over, "admin");
  ASSERT_TRUE(failover.ok()) << failover.status().ToString();
  ASSERT_TRUE(engine_->RunJob(*failover).ok());
  ASSERT_EQ(engine_->Roles("sales")->epoch(), 2u);
  ASSERT_EQ(engine_->Roles("sales")->fence_owed_size(), 1);

  // The old primary answers again; the health check starts paying the fence and is held in it.
  primary_down = false;
  hold_fence = true;
  std::thread health([&] { (void)engine_->CheckClusters(); });
  entered.get_future().wait();

  // Meanwhile the operators fail back.
  v1::SwitchSpec back;
  back.add_services("sales");
  auto failback = engine_->StartFailback(back, "admin");
  ASSERT_TRUE(failback.ok()) << failback.status().ToString();
  Status ran = engine_->RunJob(*failback);
  release.set_value();
  health.join();
  ASSERT_TRUE(ran.ok()) << ran.ToString();

  auto roles = engine_->Roles("sales");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->epoch(), 3u);
  EXPECT_EQ(roles->primary_cluster(), "primary");
  EXPECT_EQ(engine_->Endpoints("sales")->active_cluster(), "primary");
}

TEST_F(EngineTest, EachJobSyncsOwnersAndModesWithTheNameMap) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing owners needs root";
  auto docs = Config();
  auto& policy = std::get<v1::Policy>(docs[3].value);
  policy.set_sync_security(true);
  (*policy.mutable_user_map())["bin"] = "daemon";  // the secondary knows "bin" as "daemon"
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());
  // The secondary's live copy, as after a drill.
  v1::RestoreSpec on_dr;
  on_dr.set_cluster("dr");
  ASSERT_NO_FATAL_FAILURE(Restore(rp1, on_dr));
  const fs::path dr_orders = base_ / "secondary" / "warehouse" / "sales" / "orders.csv";
  ASSERT_TRUE(fs::exists(dr_orders));

  // On the primary the file changes hands and mode; the next job carries that over.
  const fs::path orders = Sales() / "orders.csv";
  ASSERT_EQ(::chown(orders.c_str(), 2 /* bin */, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::chmod(orders.c_str(), 0640), 0);
  std::string rp2 = Backup();
  ASSERT_FALSE(rp2.empty());
  struct stat st {};
  ASSERT_EQ(::stat(dr_orders.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1u) << "bin (2) on the primary is daemon (1) on the secondary";
  auto job = engine_->Jobs();
  ASSERT_TRUE(job.ok());
  std::string log;
  for (const auto& j : *job) {
    if (j.restore_point_id() != rp2) continue;
    for (const auto& line : j.log()) log += line + "\n";
  }
  EXPECT_NE(log.find("security of localfs:/warehouse/sales"), std::string::npos) << log;
}

// A primary agent that may declare CAP_DIFF_FROM_BASE_CUT for its plugins (as the hdfs plugin
// does) and may lose the connection exactly when the engine releases a cut (a fake: it wraps
// the real local agent, whose localfs does the work).
class CutReleaseAgentFake : public Agent {
 public:
  CutReleaseAgentFake(std::unique_ptr<Agent> real, bool keeps_base_cut,
                      const std::atomic<bool>& release_lost, std::atomic<int>& releases)
      : real_(std::move(real)),
        keeps_base_cut_(keeps_base_cut),
        release_lost_(release_lost),
        releases_(releases) {}
  const std::string& cluster() const override { return real_->cluster(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    if (op == LB_OP_RELEASE) {
      if (release_lost_) return UnavailableError("agent of " + cluster() + " does not answer");
      ++releases_;
    }
    return real_->Call(component, op, request, response, opts);
  }
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& c) override {
    return real_->PeerConfig(c);
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& c) override {
    auto d = real_->Describe(c);
    if (d.ok() && keeps_base_cut_) d->add_capabilities(lifeboat::v1::CAP_DIFF_FROM_BASE_CUT);
    return d;
  }
  StatusOr<int64_t> ClockNow() override { return real_->ClockNow(); }

 private:
  std::unique_ptr<Agent> real_;
  bool keeps_base_cut_;
  const std::atomic<bool>& release_lost_;
  std::atomic<int>& releases_;
};

class CutReleaseTest : public EngineTest {
 protected:
  void Open(bool keeps_base_cut) {
    make_agent_ = [this, keeps_base_cut](
                      const v1::Cluster& c,
                      const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
      auto real = std::make_unique<LocalAgent>(host, c);
      const bool primary = c.name() == "primary";
      return std::unique_ptr<Agent>(std::make_unique<CutReleaseAgentFake>(
          std::move(real), keeps_base_cut, primary ? release_lost_ : never_lost_,
          primary ? releases_ : dr_releases_));
    };
    ASSERT_TRUE(OpenEngine().ok());
    ASSERT_TRUE(engine_->Apply(Config(), "test").ok());
  }

  // The restore points whose cuts localfs still holds on the primary (either data set).
  std::set<std::string> CutsOnThePrimary() const { return CutsOn("primary"); }
  std::set<std::string> CutsOn(const std::string& root) const {
    std::set<std::string> out;
    const fs::path dir = base_ / root / ".lifeboat" / "snapshots";
    if (!fs::exists(dir)) return out;
    for (const auto& key : fs::directory_iterator(dir)) {
      for (const auto& cut : fs::directory_iterator(key.path())) {
        const std::string name = cut.path().filename().string();
        if (name.rfind("rp-", 0) == 0) out.insert(name);
      }
    }
    return out;
  }

  std::atomic<bool> release_lost_{false};
  std::atomic<bool> never_lost_{false};
  std::atomic<int> releases_{0};
  std::atomic<int> dr_releases_{0};
};

// A plugin that plans from the base's cut (hdfs: a snapshot diff) needs the newest committed
// point's cut on the source for the next backup; the engine used to release every cut right
// after its commit, so every HDFS backup after the first was a full comparison.
TEST_F(CutReleaseTest, TheNewestCommittedCutIsKeptForAPluginThatDiffsFromIt) {
  Open(/*keeps_base_cut=*/true);
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());
  EXPECT_EQ(CutsOnThePrimary(), std::set<std::string>{rp1});
  EXPECT_EQ(releases_, 0);

  Write(Sales() / "orders.csv", "id,amount\n1,10\n2,20\n");
  std::string rp2 = Backup();
  ASSERT_FALSE(rp2.empty());
  EXPECT_EQ(CutsOnThePrimary(), std::set<std::string>{rp2}) << "rp1's cut is superseded";
  auto p1 = engine_->GetRestorePoint("sales", rp1);
  auto p2 = engine_->GetRestorePoint("sales", rp2);
  ASSERT_TRUE(p1.ok() && p2.ok());
  EXPECT_EQ(p2->base_restore_point_id(), rp1);
  for (const auto& m : p1->members()) EXPECT_TRUE(m.source_released()) << m.data_set().selector();
  for (const auto& m : p2->members()) EXPECT_FALSE(m.source_released()) << m.data_set().selector();
}

TEST_F(CutReleaseTest, OtherPluginsCutsAreReleasedAtTheirCommit) {
  Open(/*keeps_base_cut=*/false);
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());
  EXPECT_TRUE(CutsOnThePrimary().empty());
  auto p1 = engine_->GetRestorePoint("sales", rp1);
  ASSERT_TRUE(p1.ok());
  for (const auto& m : p1->members()) EXPECT_TRUE(m.source_released()) << m.data_set().selector();
}

// The primary lost just after a commit, before its cut was released: the release failed, the
// job failed, and the failure path treated the committed point as abandoned — it expired the
// newest restore point on the secondary, the one a failover needs.
TEST_F(CutReleaseTest, ACommittedPointSurvivesAPrimaryLostBeforeItsCutIsReleased) {
  Open(/*keeps_base_cut=*/false);
  auto sales_1 = CaptureTree(Sales());
  release_lost_ = true;
  auto id = engine_->StartBackup("sales-hourly", "manual", "test");
  ASSERT_TRUE(id.ok());
  Status s = engine_->RunJob(*id);
  EXPECT_TRUE(s.ok()) << "the point is committed; the cut is released later: " << s.ToString();
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  const std::string rp1 = job->restore_point_id();
  auto p1 = engine_->GetRestorePoint("sales", rp1);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->state(), v1::RP_COMMITTED);
  EXPECT_EQ(CutsOnThePrimary(), std::set<std::string>{rp1}) << "left for the next backup";
  std::string log;
  for (const auto& line : job->log()) log += line + "\n";
  EXPECT_NE(log.find("stays on primary until the next backup"), std::string::npos) << log;

  // The point restores whole.
  v1::RestoreSpec into_check;
  into_check.set_destination("/check");
  ASSERT_NO_FATAL_FAILURE(Restore(rp1, into_check));
  EXPECT_EQ(CaptureTree(base_ / "secondary" / "check" / "warehouse" / "sales"), sales_1);

  // The primary answers again: the next backup releases what was left, and its own cut.
  release_lost_ = false;
  std::string rp2 = Backup();
  ASSERT_FALSE(rp2.empty());
  EXPECT_TRUE(CutsOnThePrimary().empty());
  p1 = engine_->GetRestorePoint("sales", rp1);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->state(), v1::RP_COMMITTED);
  for (const auto& m : p1->members()) EXPECT_TRUE(m.source_released()) << m.data_set().selector();
}

// After a failback the newest point went dr -> primary, and dr still holds its cut: the next
// primary -> dr backup of a plugin that diffs from the base's cut builds on that point (both
// clusters hold it), not on the last primary -> dr point from before the failover, which dr
// has long changed since (the hdfs plugin would refuse it as "target changed").
TEST_F(CutReleaseTest, AfterAFailbackTheNextBackupBuildsOnThePointThatCameBack) {
  Open(/*keeps_base_cut=*/true);
  std::string rp1 = Backup();
  ASSERT_FALSE(rp1.empty());
  v1::SwitchSpec move;
  move.add_services("sales");
  auto failover = engine_->StartFailover(move, "admin");
  ASSERT_TRUE(failover.ok());
  ASSERT_TRUE(engine_->RunJob(*failover).ok());
  const fs::path dr_sales = base_ / "secondary" / "warehouse" / "sales";
  Write(dr_sales / "orders.csv", "id,amount\n1,10\n2,20\n3,30\n");

  // dr -> primary: the first backup in this direction has no point on primary to build on.
  std::string rp2 = Backup();
  ASSERT_FALSE(rp2.empty());
  auto p2 = engine_->GetRestorePoint("sales", rp2);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->source_cluster(), "dr");
  EXPECT_EQ(CutsOn("secondary"), std::set<std::string>{rp2});
  EXPECT_TRUE(CutsOnThePrimary().empty()) << "rp1's cut is superseded by rp2";

  auto failback = engine_->StartFailback(move, "admin");
  ASSERT_TRUE(failback.ok());
  Status s = engine_->RunJob(*failback);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(engine_->Roles("sales")->primary_cluster(), "primary");
  auto points = engine_->RestorePoints("sales");
  ASSERT_TRUE(points.ok());
  std::string came_back;  // the failback's final point, dr -> primary
  for (const auto& p : *points) {
    if (p.state() == v1::RP_COMMITTED && p.id() > came_back) came_back = p.id();
  }
  ASSERT_GT(came_back, rp2);
  EXPECT_EQ(CutsOn("secondary"), std::set<std::string>{came_back});

  std::string rp5 = Backup();
  ASSERT_FALSE(rp5.empty());
  auto p5 = engine_->GetRestorePoint("sales", rp5);
  ASSERT_TRUE(p5.ok());
  EXPECT_EQ(p5->target_cluster(), "dr");
  EXPECT_EQ(p5->base_restore_point_id(), rp1) << "the newest point committed on dr";
  for (const auto& m : p5->members()) {
    EXPECT_EQ(m.base_restore_point_id(), came_back) << m.data_set().selector();
  }
  EXPECT_EQ(CutsOnThePrimary(), std::set<std::string>{rp5});
  EXPECT_TRUE(CutsOn("secondary").empty()) << "the point that came back is superseded";
  auto restored_on_dr = CaptureTree(dr_sales);
  EXPECT_EQ(restored_on_dr, CaptureTree(Sales()));
}

}  // namespace
}  // namespace lifeboat::core
