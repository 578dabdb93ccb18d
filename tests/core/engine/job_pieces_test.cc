// Pieces of the job runner that need no plugin: the job's shared bandwidth, and what a job
// that did not succeed records (its cancel message, its event, a restore's change counts).
#include <gtest/gtest.h>

#include <chrono>

#include "bandwidth.h"
#include "job_outcome.h"

namespace lifeboat::core {
namespace {

using std::chrono::milliseconds;
using Clock = JobBandwidth::Clock;

// One worker moving one big file after another gets the whole rate: it never waits.
TEST(JobBandwidthTest, OneWorkerGetsTheWholeRate) {
  JobBandwidth b(40'000'000);  // 40 MB/s
  EXPECT_EQ(b.per_call(), 40'000'000u);
  const Clock::time_point t0{};
  EXPECT_EQ(b.Reserve(40'000'000, t0), t0);  // 1 s of transfer
  // The next file starts when the first ended (1 s later at the full rate): no wait.
  const Clock::time_point t1 = t0 + std::chrono::seconds(1);
  EXPECT_EQ(b.Reserve(40'000'000, t1), t1);
}

// Workers share it: calls drawn at once start one after another, so that together they move
// no more than the rate.
TEST(JobBandwidthTest, WorkersShareTheRateInsteadOfEachGettingIt) {
  JobBandwidth b(40'000'000);
  const Clock::time_point t0{};
  EXPECT_EQ(b.Reserve(20'000'000, t0), t0);
  EXPECT_EQ(b.Reserve(20'000'000, t0), t0 + milliseconds(500));
  EXPECT_EQ(b.Reserve(40'000'000, t0), t0 + milliseconds(1000));
  // Calls that move no bytes never wait.
  EXPECT_EQ(b.Reserve(0, t0), t0);
}

TEST(JobBandwidthTest, UnlimitedNeverWaits) {
  JobBandwidth b(0);
  const Clock::time_point t0{};
  EXPECT_EQ(b.Reserve(1'000'000'000, t0), t0);
  EXPECT_EQ(b.Reserve(1'000'000'000, t0), t0);
}

v1::Job Backup(v1::JobState state) {
  v1::Job job;
  job.set_id("job-000007");
  job.set_kind(v1::JOB_BACKUP);
  job.set_service("sales");
  job.mutable_policy()->set_name("sales-hourly");
  job.set_state(state);
  job.set_phase(v1::PHASE_TRANSFER);
  return job;
}

TEST(JobOutcomeTest, ACancelledBackupSaysItIsNotResumedAndWhatToRun) {
  v1::Job job = Backup(v1::JOB_CANCELLED);
  v1::RestorePoint rp;
  rp.set_id("rp-1");
  rp.set_state(v1::RP_FAILED);
  const std::string msg = CancelledMessage(job, rp);
  EXPECT_NE(msg.find("rp-1 was removed from both clusters"), std::string::npos) << msg;
  EXPECT_NE(msg.find("`lifeboat run sales-hourly`"), std::string::npos) << msg;
  rp.set_state(v1::RP_COMMITTED);
  EXPECT_NE(CancelledMessage(job, rp).find("the point stays"), std::string::npos);
}

TEST(JobOutcomeTest, SeveritiesFollowWhatIsAtRisk) {
  v1::Job job = Backup(v1::JOB_CANCELLED);
  job.set_error("CANCELLED: x");
  JobEndEvent ev = EndEvent(job);
  EXPECT_EQ(ev.kind, v1::EVENT_JOB_CANCELLED);
  EXPECT_EQ(ev.severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(ev.message, "CANCELLED: x");

  job = Backup(v1::JOB_FAILED);
  ev = EndEvent(job);
  EXPECT_EQ(ev.kind, v1::EVENT_JOB_FAILED);
  EXPECT_EQ(ev.severity, v1::SEVERITY_CRITICAL);

  job = Backup(v1::JOB_PARKED);
  ev = EndEvent(job);
  EXPECT_EQ(ev.kind, v1::EVENT_JOB_PARKED);
  EXPECT_EQ(ev.severity, v1::SEVERITY_WARNING);
  EXPECT_NE(ev.message.find("lifeboat jobs resume job-000007"), std::string::npos);

  job.set_kind(v1::JOB_RESTORE);
  job.set_state(v1::JOB_FAILED);
  ev = EndEvent(job);
  EXPECT_EQ(ev.kind, v1::EVENT_RESTORE_FAILED);
  EXPECT_EQ(ev.severity, v1::SEVERITY_CRITICAL);
  job.mutable_restore()->set_dry_run(true);
  EXPECT_EQ(EndEvent(job).severity, v1::SEVERITY_NOTICE) << "a dry run put nothing at risk";

  job.set_kind(v1::JOB_FAILOVER);
  job.clear_restore();
  EXPECT_EQ(EndEvent(job).kind, v1::EVENT_SWITCH_FAILED);
}

TEST(JobOutcomeTest, ACancelledSwitchSaysWhichStepsWereDoneAndWhetherRolesMoved) {
  v1::Job job;
  job.set_id("job-000009");
  job.set_kind(v1::JOB_FAILOVER);
  for (const char* name : {"stop-backups", "fence", "unfence", "apply", "swap"}) {
    auto* step = job.add_steps();
    step->set_service("sales");
    step->set_name(name);
    step->set_done(std::string(name) == "stop-backups" || std::string(name) == "fence");
  }
  const std::string msg = CancelledMessage(job, v1::RestorePoint{});
  EXPECT_NE(msg.find("before step 'unfence of sales'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the roles did not change"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("resume it"), std::string::npos) << msg;
}

TEST(JobOutcomeTest, RestoreChangesAreCountedByVerb) {
  ::lifeboat::v1::RestoreResponse r;
  for (const char* line : {"create a", "create b", "update c", "delete d", "group g: offsets"}) {
    r.add_changes(line);
  }
  r.set_bytes_written(1234);
  v1::DataSetChanges c = CountChanges("localfs:/data", r);
  EXPECT_EQ(c.data_set(), "localfs:/data");
  EXPECT_EQ(c.creates(), 2u);
  EXPECT_EQ(c.updates(), 1u);
  EXPECT_EQ(c.deletes(), 1u);
  EXPECT_EQ(c.other(), 1u);
  EXPECT_EQ(c.bytes(), 1234u);
}

}  // namespace
}  // namespace lifeboat::core
