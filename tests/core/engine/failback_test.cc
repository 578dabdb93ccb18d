// A failback never replaces what the old primary took after its last point without being
// told to: its first step compares the old primary's data sets with the last point both
// clusters share; a difference parks the job naming it (and fails the dry run the same way);
// --discard-writes goes on and replaces it. No false alarm when nothing was written there.
#include "engine_fixture.h"

namespace lifeboat::core::testing {
namespace {

class FailbackTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    down_ = false;
    make_agent_ = [this](const v1::Cluster& c,
                         const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
      auto real = std::make_unique<LocalAgent>(host, c);
      if (c.name() != "primary") return std::unique_ptr<Agent>(std::move(real));
      return std::unique_ptr<Agent>(std::make_unique<FlakyAgentFake>(std::move(real), down_));
    };
    ASSERT_TRUE(OpenEngine().ok());
    ApplyConfig();
    rp1_ = Backup();
    ASSERT_FALSE(rp1_.empty());
  }

  // The primary is lost, the service fails over to dr, and the primary comes back (and is
  // fenced by the health check). `while_down` runs while it is away.
  void FailOverWhileThePrimaryIsDown(const std::function<void()>& while_down) {
    down_ = true;
    v1::SwitchSpec over;
    over.add_services("sales");
    v1::Job job;
    ASSERT_TRUE(RunSwitch(/*failback=*/false, over, &job).ok()) << Log(job);
    if (while_down) while_down();
    down_ = false;
    ASSERT_TRUE(engine_->CheckClusters().ok());
    ASSERT_EQ(engine_->Roles("sales")->fence_owed_size(), 0) << "the owed fence was not paid";
  }

  v1::SwitchSpec Back(bool dry_run = false, bool discard = false) const {
    v1::SwitchSpec spec;
    spec.add_services("sales");
    spec.set_dry_run(dry_run);
    spec.set_discard_writes(discard);
    return spec;
  }

  std::atomic<bool> down_{false};
  std::string rp1_;
};

TEST_F(FailbackTest, AWriteTheOldPrimaryTookAfterItsLastPointParksItNamed) {
  // Written on the primary after its last point, before it was lost (the RPO window).
  FailOverWhileThePrimaryIsDown(
      [&] { WriteFile(Sales() / "my-notes.txt", "taken after the last point\n"); });
  const fs::path dr_orders = Secondary() / "warehouse" / "sales" / "orders.csv";
  WriteFile(dr_orders, "id,amount\n1,10\n2,20\n");  // the service runs on dr meanwhile

  // The dry run finds it, as the real run will.
  v1::Job dry;
  Status s = RunSwitch(/*failback=*/true, Back(/*dry_run=*/true), &dry);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString() << "\n" << Log(dry);
  EXPECT_NE(s.message().find("my-notes.txt"), std::string::npos) << s.ToString();
  EXPECT_EQ(dry.state(), v1::JOB_FAILED) << "a dry run does not park";

  v1::Job job;
  s = RunSwitch(/*failback=*/true, Back(), &job);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString() << "\n" << Log(job);
  EXPECT_EQ(job.state(), v1::JOB_PARKED);
  EXPECT_NE(job.error().find("my-notes.txt"), std::string::npos) << job.error();
  EXPECT_NE(job.error().find("took writes after " + rp1_), std::string::npos) << job.error();
  EXPECT_NE(job.error().find("--discard-writes"), std::string::npos) << job.error();
  // Nothing was moved: the write is there, the service still runs on dr.
  EXPECT_EQ(ReadFile(Sales() / "my-notes.txt"), "taken after the last point\n");
  EXPECT_EQ(engine_->Roles("sales")->primary_cluster(), "dr");
  for (const auto& step : job.steps()) {
    if (step.name() == "replicate" || step.name() == "fence") {
      EXPECT_FALSE(step.done()) << step.name();
    }
  }

  // The operator saved it and lets the failback replace it.
  ASSERT_TRUE(engine_->CancelJob(job.id()).ok());
  engine_->Wait(job.id());
  s = RunSwitch(/*failback=*/true, Back(/*dry_run=*/false, /*discard=*/true), &job);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << Log(job);
  EXPECT_EQ(engine_->Roles("sales")->primary_cluster(), "primary");
  EXPECT_FALSE(fs::exists(Sales() / "my-notes.txt"));
  EXPECT_EQ(ReadFile(Sales() / "orders.csv"), "id,amount\n1,10\n2,20\n");
  EXPECT_NE(Log(job).find("discarded: --discard-writes"), std::string::npos) << Log(job);
}

TEST_F(FailbackTest, AChangedFileOnTheOldPrimaryIsFoundToo) {
  FailOverWhileThePrimaryIsDown(
      [&] { WriteFile(Sales() / "orders.csv", "id,amount\n1,10\n7,70\n"); });
  v1::Job job;
  Status s = RunSwitch(/*failback=*/true, Back(/*dry_run=*/true), &job);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("orders.csv"), std::string::npos) << s.ToString();
}

TEST_F(FailbackTest, NoAlarmWhenTheOldPrimaryTookNothingAlsoAfterBackupsBackToIt) {
  FailOverWhileThePrimaryIsDown(nullptr);
  const fs::path dr_orders = Secondary() / "warehouse" / "sales" / "orders.csv";
  WriteFile(dr_orders, "id,amount\n1,10\n3,30\n");
  // Scheduled backups run from dr to the old primary meanwhile.
  ASSERT_FALSE(Backup().empty());

  v1::Job dry;
  Status s = RunSwitch(/*failback=*/true, Back(/*dry_run=*/true), &dry);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << Log(dry);
  EXPECT_NE(Log(dry).find("no writes on primary since"), std::string::npos) << Log(dry);
  v1::Job job;
  s = RunSwitch(/*failback=*/true, Back(), &job);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << Log(job);
  EXPECT_EQ(ReadFile(Sales() / "orders.csv"), "id,amount\n1,10\n3,30\n");
}

TEST_F(FailbackTest, AFailoverDryRunRefusesWhatTheRealRunWould) {
  // dr holds no committed point of a new service: the real failover refuses at "apply".
  auto docs = Config();
  auto& svc = std::get<v1::Service>(docs[2].value);
  svc.set_name("empty");
  svc.mutable_data_sets()->RemoveLast();
  std::get<v1::Policy>(docs[3].value).set_name("empty-hourly");
  std::get<v1::Policy>(docs[3].value).set_service("empty");
  ASSERT_TRUE(engine_->Apply(docs, "test").ok());
  v1::SwitchSpec over;
  over.add_services("empty");
  over.set_dry_run(true);
  v1::Job dry;
  Status s = RunSwitch(/*failback=*/false, over, &dry);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString() << "\n" << Log(dry);
  EXPECT_NE(s.message().find("holds no committed restore point"), std::string::npos)
      << s.ToString();
  EXPECT_EQ(engine_->Roles("empty")->epoch(), 1u);
}

}  // namespace
}  // namespace lifeboat::core::testing
