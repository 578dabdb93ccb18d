// One retry policy for every plugin call the engine makes (RetryingAgent): a failover whose
// fence, unfence and apply each meet a short network fault goes through; an owed fence is
// paid through one; codes that are final are not retried; a cancel ends a backoff.
#include <lifeboat/core/agent_wrapper.h>

#include <map>
#include <mutex>
#include <set>

#include "engine_fixture.h"

namespace lifeboat::core::testing {
namespace {

class RetryTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    down_["primary"] = false;
    down_["dr"] = false;
    make_agent_ = [this](const v1::Cluster& c,
                         const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
      auto fake =
          std::make_unique<FlakyAgentFake>(std::make_unique<LocalAgent>(host, c), down_[c.name()]);
      fakes_[c.name()] = fake.get();
      return std::unique_ptr<Agent>(std::move(fake));
    };
    ASSERT_TRUE(OpenEngine().ok());
    ApplyConfig();
  }
  // The fake of `cluster` (made by the engine on first use).
  FlakyAgentFake& Fake(const std::string& cluster) {
    (void)engine_->MeasureClock(cluster);  // makes the agent
    return *fakes_.at(cluster);
  }

  std::map<std::string, std::atomic<bool>> down_;
  std::map<std::string, FlakyAgentFake*> fakes_;
};

TEST_F(RetryTest, AFailoverGoesThroughShortNetworkFaultsInFenceUnfenceAndApply) {
  const std::string rp = Backup();
  ASSERT_FALSE(rp.empty());
  Fake("primary").FailNext({LB_OP_FENCE}, 2);
  Fake("dr").FailNext({LB_OP_UNFENCE, LB_OP_RESTORE}, 2);

  v1::SwitchSpec spec;
  spec.add_services("sales");
  v1::Job job;
  Status s = RunSwitch(/*failback=*/false, spec, &job);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << Log(job);
  EXPECT_EQ(Fake("primary").Failed(LB_OP_FENCE), 2);
  EXPECT_EQ(Fake("dr").Failed(LB_OP_UNFENCE), 2);
  EXPECT_EQ(Fake("dr").Failed(LB_OP_RESTORE), 2);
  auto roles = engine_->Roles("sales");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->primary_cluster(), "dr");
  // The reachable old primary was fenced, not left owing a fence over a dropped packet.
  EXPECT_EQ(roles->fence_owed_size(), 0) << Log(job);
  for (const auto& step : job.steps()) {
    if (step.name() == "fence") {
      EXPECT_EQ(step.outcome().find("owed"), std::string::npos);
    }
  }
  EXPECT_NE(Log(job).find("retry 1"), std::string::npos) << Log(job);
  EXPECT_EQ(ReadFile(Secondary() / "warehouse" / "sales" / "orders.csv"), "id,amount\n1,10\n");
}

TEST_F(RetryTest, AnOwedFenceIsPaidThroughAShortNetworkFault) {
  ASSERT_FALSE(Backup().empty());
  down_["primary"] = true;
  v1::SwitchSpec spec;
  spec.add_services("sales");
  v1::Job job;
  ASSERT_TRUE(RunSwitch(/*failback=*/false, spec, &job).ok()) << Log(job);
  ASSERT_EQ(engine_->Roles("sales")->fence_owed_size(), 1);

  down_["primary"] = false;
  Fake("primary").FailNext({LB_OP_FENCE}, 2);
  ASSERT_TRUE(engine_->CheckClusters().ok());
  EXPECT_EQ(engine_->Roles("sales")->fence_owed_size(), 0) << "the owed fence was not paid";
  EXPECT_GT(Fake("primary").Failed(LB_OP_FENCE), 0);
}

TEST_F(RetryTest, FinalCodesAreNotRetriedAndTheAttemptsAreBounded) {
  ASSERT_FALSE(Backup().empty());
  // More failures than the policy's attempts (5): the restore fails UNAVAILABLE after 5.
  Fake("dr").FailNext({LB_OP_RESTORE}, 100);
  auto points = engine_->RestorePoints("sales");
  ASSERT_TRUE(points.ok() && !points->empty());
  v1::RestoreSpec spec;
  spec.set_restore_point_id(points->back().id());
  spec.set_destination("/restored");
  Status s = RunRestore(spec);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_EQ(Fake("dr").Failed(LB_OP_RESTORE), 5);
}

// A base agent for the RetryingAgent alone: answers every call with `code`, counting them.
class ConstantAgentFake : public Agent {
 public:
  explicit ConstantAgentFake(Code code) : code_(code) {}
  const std::string& cluster() const override { return name_; }
  Status Call(const std::string&, lb_op, const std::string&, std::string*,
              const CallOptions&) override {
    ++calls;
    return Status(code_, "fake failure");
  }
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string&) override {
    ++calls;
    return Status(code_, "fake failure");
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string&) override {
    ++calls;
    return Status(code_, "fake failure");
  }
  StatusOr<int64_t> ClockNow() override {
    ++calls;
    return Status(code_, "fake failure");
  }
  std::atomic<int> calls{0};

 private:
  Code code_;
  std::string name_ = "fake";
};

TEST(RetryingAgentTest, RetriesOnlyTheCodesThatSayTryAgain) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.first_backoff_millis = 1;
  for (Code code : {Code::kUnavailable, Code::kDeadlineExceeded, Code::kResourceExhausted}) {
    auto base = std::make_unique<ConstantAgentFake>(code);
    ConstantAgentFake* fake = base.get();
    RetryingAgent agent(std::move(base), policy);
    std::string out;
    EXPECT_EQ(agent.Call("c", LB_OP_CUT, "", &out, {}).code(), code);
    EXPECT_EQ(fake->calls.load(), 3) << CodeName(code);
    EXPECT_EQ(agent.Describe("c").status().code(), code);
    EXPECT_EQ(fake->calls.load(), 6) << CodeName(code);
  }
  for (Code code : {Code::kFailedPrecondition, Code::kDataLoss, Code::kUnimplemented,
                    Code::kInvalidArgument, Code::kAborted, Code::kNotFound}) {
    auto base = std::make_unique<ConstantAgentFake>(code);
    ConstantAgentFake* fake = base.get();
    RetryingAgent agent(std::move(base), policy);
    std::string out;
    EXPECT_EQ(agent.Call("c", LB_OP_TRANSFER, "", &out, {}).code(), code);
    EXPECT_EQ(fake->calls.load(), 1) << CodeName(code);
  }
  // Health is measured, not retried: a probe and a clock reading answer at once.
  auto base = std::make_unique<ConstantAgentFake>(Code::kUnavailable);
  ConstantAgentFake* fake = base.get();
  RetryingAgent agent(std::move(base), policy);
  std::string out;
  EXPECT_EQ(agent.Call("c", LB_OP_PROBE, "", &out, {}).code(), Code::kUnavailable);
  EXPECT_EQ(agent.ClockNow().status().code(), Code::kUnavailable);
  EXPECT_EQ(fake->calls.load(), 2);
}

TEST(RetryingAgentTest, ACancelEndsTheBackoffAndSaysWhatItWaitedFor) {
  RetryPolicy policy;
  policy.max_attempts = 5;
  policy.first_backoff_millis = 600000;  // ten minutes: only the cancel can end it
  auto base = std::make_unique<ConstantAgentFake>(Code::kUnavailable);
  ConstantAgentFake* fake = base.get();
  RetryingAgent agent(std::move(base), policy);
  std::atomic<bool> cancel{false};
  CallOptions opts;
  opts.cancel = &cancel;
  int retries = 0;
  opts.on_retry = [&](const Status& failure, int attempt, int64_t backoff) {
    ++retries;
    EXPECT_EQ(failure.code(), Code::kUnavailable);
    EXPECT_EQ(attempt, 1);
    EXPECT_EQ(backoff, 600000);
    cancel = true;  // the operator cancels the job while it waits
  };
  std::string out;
  Status s = agent.Call("c", LB_OP_FENCE, "", &out, opts);
  EXPECT_EQ(s.code(), Code::kCancelled) << s.ToString();
  EXPECT_NE(s.message().find("fake failure"), std::string::npos) << s.ToString();
  EXPECT_EQ(retries, 1);
  EXPECT_EQ(fake->calls.load(), 1);
}

}  // namespace
}  // namespace lifeboat::core::testing
