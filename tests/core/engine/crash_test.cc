// The crash test: 20+ backup jobs of a real tree, each run by a child process that is
// killed with SIGKILL at a random moment; after each kill the engine is reopened and
// ResumeAll() must finish the job, and the restored point must equal the source as of the
// cut, byte for byte. At the end no snapshot or staged copy may be left behind.
#include <gtest/gtest.h>
#include <lifeboat/core/engine.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tree_capture.h"

#include <lifeboat_test/remove_tree.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;

using lifeboat::testing::CaptureTree;

void WriteRandom(const fs::path& p, size_t n, std::mt19937& gen) {
  fs::create_directories(p.parent_path());
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

TEST(CrashTest, SigkillAtRandomPointsAcrossTwentyBackups) {
  char tmpl[] = "/tmp/lifeboat-crash-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path base = tmpl;
  const fs::path data = base / "primary" / "data";
  fs::create_directories(base / "secondary");
  std::mt19937 gen(static_cast<uint32_t>(::getpid()));
  for (int i = 0; i < 40; ++i)
    WriteRandom(data / ("d" + std::to_string(i % 5)) / std::to_string(i), 1 + gen() % 200000, gen);
  fs::create_symlink("d0/0", data / "link");

  EngineOptions options;
  options.state_dir = base / "state";
  options.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
  options.first_backoff_millis = 1;
  std::vector<YamlDocument> docs(4);
  for (const char* name : {"primary", "secondary"}) {
    v1::Cluster c;
    c.set_name(name);
    auto* comp = c.add_components();
    comp->set_component("localfs");
    comp->set_config_json("{\"root\": \"" + (base / name).string() + "\", \"chunk_bytes\": 65536}");
    docs[std::string(name) == "primary" ? 0 : 1].value = c;
  }
  v1::Service svc;
  svc.set_name("svc");
  svc.set_primary_cluster("primary");
  svc.set_secondary_cluster("secondary");
  svc.add_data_sets()->set_component("localfs");
  svc.mutable_data_sets(0)->set_selector("/data");
  docs[2].value = svc;
  v1::Policy policy;
  policy.set_name("p");
  policy.set_service("svc");
  policy.mutable_schedule()->set_interval_seconds(3600);
  policy.mutable_retention()->set_keep_count(3);
  policy.set_parallelism(2);
  policy.set_verification(v1::VERIFY_DIGEST);
  policy.set_bandwidth_bytes_per_second(10 << 20);  // slow enough to be killed in transfer too
  docs[3].value = policy;
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ASSERT_TRUE((*engine)->Apply(docs, "test").ok());
  }

  int killed = 0;
  std::map<std::string, int> killed_in;  // phase the job had reached when its process died
  constexpr int kJobs = 21;
  for (int round = 0; round < kJobs; ++round) {
    // Change the source a little: modify, create, delete, rename.
    WriteRandom(data / "d1" / ("new" + std::to_string(round)), 500000 + gen() % 2000000, gen);
    WriteRandom(data / "d2" / "12", 1 + gen() % 100000, gen);
    if (round > 0) fs::remove(data / "d1" / ("new" + std::to_string(round - 1)));
    if (fs::exists(data / "d3" / "13"))
      fs::rename(data / "d3" / "13", data / "d4" / "13");
    else if (fs::exists(data / "d4" / "13"))
      fs::rename(data / "d4" / "13", data / "d3" / "13");
    auto at_cut = CaptureTree(data);

    std::string job_id;
    {
      auto engine = Engine::Open(options);
      ASSERT_TRUE(engine.ok()) << engine.status().ToString();
      auto id = (*engine)->StartBackup("p", "test", "test");
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      job_id = *id;
    }
    // Two rounds in three die at a random moment; the third dies right after the checkpoint
    // of a chosen phase (the job reports progress once each phase is recorded), so that
    // every phase boundary is hit, not only the long transfer.
    static const v1::Phase kBoundaries[] = {v1::PHASE_PREPARE, v1::PHASE_CUT,    v1::PHASE_TRANSFER,
                                            v1::PHASE_VERIFY,  v1::PHASE_COMMIT, v1::PHASE_EXPIRE,
                                            v1::PHASE_DONE};
    const bool at_boundary = round % 3 == 2;
    const v1::Phase boundary = kBoundaries[(round / 3) % 7];
    const int delay_ms = static_cast<int>(gen() % 400);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto engine = Engine::Open(options);
      if (!engine.ok()) ::_exit(2);
      Status s = (*engine)->RunJob(job_id, nullptr, [&](const JobProgress& p) {
        if (at_boundary && p.phase == boundary) ::raise(SIGKILL);
      });
      ::_exit(s.ok() ? 0 : 1);
    }
    if (!at_boundary) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ::kill(pid, SIGKILL);
    }
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    if (WIFSIGNALED(wstatus)) ++killed;

    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    auto before = (*engine)->GetJob(job_id);
    ASSERT_TRUE(before.ok());
    ++killed_in[v1::Phase_Name(before->phase())];
    auto ran = (*engine)->ResumeAll();
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    auto job = (*engine)->GetJob(job_id);
    ASSERT_TRUE(job.ok());
    ASSERT_EQ(job->state(), v1::JOB_SUCCEEDED) << "round " << round << ": " << job->error();
    v1::RestoreSpec spec;
    spec.set_restore_point_id(job->restore_point_id());
    spec.set_destination("/check" + std::to_string(round));
    auto restore = (*engine)->StartRestore("svc", spec, "test");
    ASSERT_TRUE(restore.ok()) << restore.status().ToString();
    ASSERT_TRUE((*engine)->RunJob(*restore).ok());
    fs::path restored = base / "secondary" / ("check" + std::to_string(round)) / "data";
    ASSERT_EQ(CaptureTree(restored), at_cut) << "round " << round << " restored something else";
    fs::remove_all(restored.parent_path());
  }
  std::printf("%d of %d runs were killed before they finished; phases reached:", killed, kJobs);
  for (const auto& [phase, n] : killed_in) std::printf(" %s=%d", phase.c_str(), n);
  std::printf("\n");
  EXPECT_GE(killed, kJobs / 2) << "too few runs were killed before they finished";
  // Nothing orphaned: no source snapshot, no staged copy.
  for (const char* area : {"primary/.lifeboat/snapshots", "secondary/.lifeboat/staging"}) {
    if (!fs::exists(base / area)) continue;
    for (auto it = fs::recursive_directory_iterator(base / area);
         it != fs::recursive_directory_iterator(); ++it) {
      EXPECT_EQ(it->path().filename().string().rfind("rp-", 0), std::string::npos)
          << "left behind: " << it->path();
    }
  }
  lifeboat::test::RemoveTestTree(base);
}

}  // namespace
}  // namespace lifeboat::core
