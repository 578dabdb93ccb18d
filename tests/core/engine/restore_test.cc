// A restore destroys nothing it was not told to: into a place that holds something, it is
// refused unless the operator agrees (overwrite), naming what would go; dry runs check what the
// real run checks (the fence, the consent, the destination); every member is checked before
// any writes; a member's destination is handed to its plugin as given, apart from the
// selector; a restore that stops part-way says what it left and `jobs resume` finishes it.
#include <mutex>
#include <vector>

#include "engine_fixture.h"

namespace lifeboat::core::testing {
namespace {

class RestoreTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    ApplyConfig();
    rp_ = Backup();
    ASSERT_FALSE(rp_.empty());
  }
  v1::RestoreSpec Spec(const std::string& destination = "", bool overwrite = false,
                       bool dry_run = false) const {
    v1::RestoreSpec spec;
    spec.set_restore_point_id(rp_);
    spec.set_destination(destination);
    spec.set_overwrite(overwrite);
    spec.set_dry_run(dry_run);
    return spec;
  }
  std::string rp_;
};

TEST_F(RestoreTest, IntoAPlaceHoldingFilesItIsRefusedUnlessTheOperatorAgrees) {
  const fs::path notes = Secondary() / "restored" / "warehouse" / "sales" / "my-notes.txt";
  WriteFile(notes, "not Lifeboat's\n");
  const fs::path old_orders = Secondary() / "restored" / "warehouse" / "sales" / "orders.csv";
  WriteFile(old_orders, "someone's older orders\n");

  // The dry run is refused as the real run would be, and names what would go.
  v1::Job dry;
  Status s = RunRestore(Spec("/restored", false, /*dry_run=*/true), &dry);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("my-notes.txt"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("--overwrite"), std::string::npos) << s.ToString();
  EXPECT_EQ(dry.state(), v1::JOB_FAILED) << "a dry run has nothing to resume: it does not park";

  v1::Job job;
  s = RunRestore(Spec("/restored"), &job);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("delete 1 item"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("my-notes.txt"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("overwrite 1 item"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("orders.csv"), std::string::npos) << s.ToString();
  EXPECT_EQ(ReadFile(notes), "not Lifeboat's\n") << "refused, yet deleted";
  EXPECT_EQ(ReadFile(old_orders), "someone's older orders\n");
  // Checked before any member wrote: the other member's place was not even made.
  EXPECT_FALSE(fs::exists(Secondary() / "restored" / "meta"));

  // With consent it replaces them, and says so.
  s = RunRestore(Spec("/restored", /*overwrite=*/true), &job);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(fs::exists(notes));
  EXPECT_EQ(ReadFile(old_orders), "id,amount\n1,10\n");
  EXPECT_NE(Log(job).find("delete my-notes.txt"), std::string::npos) << Log(job);
}

TEST_F(RestoreTest, IntoAnEmptyPlaceOrOneThatAlreadyMatchesItNeedsNoConsent) {
  ASSERT_TRUE(RunRestore(Spec("/fresh")).ok());
  EXPECT_EQ(ReadFile(Secondary() / "fresh" / "warehouse" / "sales" / "orders.csv"),
            "id,amount\n1,10\n");
  // The same point again: nothing there would change.
  Status again = RunRestore(Spec("/fresh"));
  EXPECT_TRUE(again.ok()) << again.ToString();
}

TEST_F(RestoreTest, OverTheLivePrimaryDataSetItNeedsConsent) {
  WriteFile(Sales() / "junk.tmp", "written after the point\n");
  WriteFile(Sales() / "orders.csv", "id,amount\n1,10\n2,99\n");
  v1::RestoreSpec spec = Spec();
  spec.set_cluster("primary");
  Status s = RunRestore(spec);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("junk.tmp"), std::string::npos) << s.ToString();
  EXPECT_TRUE(fs::exists(Sales() / "junk.tmp"));
  EXPECT_EQ(ReadFile(Sales() / "orders.csv"), "id,amount\n1,10\n2,99\n");

  spec.set_overwrite(true);
  ASSERT_TRUE(RunRestore(spec).ok());
  EXPECT_FALSE(fs::exists(Sales() / "junk.tmp"));
  EXPECT_EQ(ReadFile(Sales() / "orders.csv"), "id,amount\n1,10\n");
}

TEST_F(RestoreTest, ADryRunIntoAFencedDataSetIsRefusedAsTheRealRunAndUnfenceLiftsIt) {
  // A failover fences the old primary.
  v1::SwitchSpec over;
  over.add_services("sales");
  v1::Job failover;
  ASSERT_TRUE(RunSwitch(/*failback=*/false, over, &failover).ok()) << Log(failover);

  v1::RestoreSpec spec = Spec("", /*overwrite=*/true, /*dry_run=*/true);
  spec.set_cluster("primary");
  v1::Job dry;
  Status s = RunRestore(spec, &dry);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString() << "\n" << Log(dry);
  EXPECT_NE(s.message().find("fenced"), std::string::npos) << s.ToString();

  // unfence --dry-run says what it would lift and lifts nothing.
  auto lines = engine_->Unfence("sales", "primary", /*dry_run=*/true, "test");
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  std::string said;
  for (const auto& l : *lines) said += l + "\n";
  EXPECT_NE(said.find("would unfence localfs:/warehouse/sales on primary"), std::string::npos)
      << said;
  EXPECT_NE(said.find("secondary"), std::string::npos) << "the warning is missing:\n" << said;
  EXPECT_EQ(RunRestore(spec).code(), Code::kFailedPrecondition);

  lines = engine_->Unfence("sales", "primary", /*dry_run=*/false, "test");
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  s = RunRestore(spec, &dry);
  EXPECT_TRUE(s.ok()) << s.ToString();
  spec.set_dry_run(false);
  EXPECT_TRUE(RunRestore(spec).ok());

  // Bad input: a cluster that is not the service's, a service that does not exist.
  EXPECT_EQ(engine_->Unfence("sales", "atlantis", true, "test").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(engine_->Unfence("nope", "primary", true, "test").status().code(), Code::kNotFound);
  // Audited.
  auto audit = engine_->store().List<v1::AuditEvent>(Kind::kAudit);
  ASSERT_TRUE(audit.ok());
  int unfences = 0;
  for (const auto& a : *audit) unfences += a.action() == "unfence" ? 1 : 0;
  EXPECT_EQ(unfences, 1);
}

// Records the RestoreRequest of every restore call (a fake around the real agent); fails the
// real (not dry-run) restore of the member whose selector is `fail_selector`, once.
class RecordingAgentFake : public AgentWrapper {
 public:
  RecordingAgentFake(std::unique_ptr<Agent> real, std::string fail_selector)
      : AgentWrapper(std::move(real)), fail_selector_(std::move(fail_selector)) {}
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    if (op == LB_OP_RESTORE) {
      lifeboat::v1::RestoreRequest req;
      req.ParseFromString(request);
      std::lock_guard<std::mutex> lock(mu_);
      requests.push_back(req);
      if (!req.dry_run() && req.data_set().selector() == fail_selector_) {
        fail_selector_.clear();
        return DataLossError("the disk under " + req.data_set().selector() + " gave up");
      }
    }
    return AgentWrapper::Call(component, op, request, response, opts);
  }
  std::vector<lifeboat::v1::RestoreRequest> requests;

 private:
  std::mutex mu_;
  std::string fail_selector_;
};

class RestoreRecordedTest : public RestoreTest {
 protected:
  void SetUp() override {
    make_agent_ = [this](const v1::Cluster& c,
                         const PluginHost& host) -> StatusOr<std::unique_ptr<Agent>> {
      auto real = std::make_unique<LocalAgent>(host, c);
      if (c.name() != "dr") return std::unique_ptr<Agent>(std::move(real));
      auto fake = std::make_unique<RecordingAgentFake>(std::move(real), fail_selector_);
      dr_ = fake.get();
      return std::unique_ptr<Agent>(std::move(fake));
    };
    RestoreTest::SetUp();
  }
  std::string fail_selector_;
  RecordingAgentFake* dr_ = nullptr;
};

TEST_F(RestoreRecordedTest, EachPluginGetsItsComponentsDestinationAsGivenAndTheSelectorApart) {
  v1::RestoreSpec spec = Spec();
  (*spec.mutable_destinations())["localfs"] = "/by-component";
  ASSERT_TRUE(RunRestore(spec).ok());
  ASSERT_NE(dr_, nullptr);
  ASSERT_FALSE(dr_->requests.empty());
  for (const auto& req : dr_->requests) {
    EXPECT_EQ(req.destination(), "/by-component") << req.data_set().selector();
    EXPECT_FALSE(req.overwrite());
  }
  EXPECT_EQ(ReadFile(Secondary() / "by-component" / "warehouse" / "sales" / "orders.csv"),
            "id,amount\n1,10\n");
  EXPECT_TRUE(fs::exists(Secondary() / "by-component" / "meta" / "schema.json"));

  // A component the point does not have, an empty one: refused before anything is recorded.
  v1::RestoreSpec bad = Spec();
  (*bad.mutable_destinations())["kafka"] = "restored-";
  auto refused = engine_->StartRestore("sales", bad, "test");
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("kafka"), std::string::npos);
  v1::RestoreSpec empty = Spec();
  (*empty.mutable_destinations())["localfs"] = "";
  EXPECT_EQ(engine_->StartRestore("sales", empty, "test").status().code(), Code::kInvalidArgument);
}

class RestorePartWayTest : public RestoreRecordedTest {
 protected:
  void SetUp() override {
    fail_selector_ = "/meta";
    RestoreRecordedTest::SetUp();
  }
};

TEST_F(RestorePartWayTest, ARestoreThatStopsPartWaySaysWhatItLeftAndResumeFinishesIt) {
  auto id = engine_->StartRestore("sales", Spec("/r"), "test");
  ASSERT_TRUE(id.ok());
  Status s = engine_->RunJob(*id);
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  auto job = engine_->GetJob(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_PARKED) << job->error();
  EXPECT_NE(job->error().find("restored whole: localfs:/warehouse/sales (into /r)"),
            std::string::npos)
      << job->error();
  EXPECT_NE(job->error().find("localfs:/meta perhaps written in part"), std::string::npos)
      << job->error();
  EXPECT_NE(job->error().find("lifeboat jobs resume " + *id), std::string::npos) << job->error();

  // The resume restores what is left; the member done is not restored again.
  s = engine_->RunJob(*id);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(fs::exists(Secondary() / "r" / "meta" / "schema.json"));
  int real_sales = 0;
  for (const auto& req : dr_->requests) {
    if (!req.dry_run() && req.data_set().selector() == "/warehouse/sales") ++real_sales;
  }
  EXPECT_EQ(real_sales, 1);
}

}  // namespace
}  // namespace lifeboat::core::testing
