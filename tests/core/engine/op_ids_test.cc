// The op ids the engine sends are persisted (plugins journal them; a job resumed after an
// upgrade repeats them): their formats must never change. Each is pinned here.
#include <lifeboat/core/op_ids.h>

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace lifeboat::core::op_ids {
namespace {

TEST(OpIdsTest, EveryFormatIsPinned) {
  const std::string rp = "rp-20261207T101500Z-000004";
  EXPECT_EQ(ForMember(PointStep::kPrepare, rp, 0), "prepare-" + rp + "-0");
  EXPECT_EQ(ForMember(PointStep::kCut, rp, 1), "cut-" + rp + "-1");
  EXPECT_EQ(ForMember(PointStep::kPlan, rp, 2), "plan-" + rp + "-2");
  EXPECT_EQ(ForMember(PointStep::kVerify, rp, 0), "verify-" + rp + "-0");
  EXPECT_EQ(ForMember(PointStep::kVerifyHeld, rp, 1), "verify-held-" + rp + "-1");
  EXPECT_EQ(ForMember(PointStep::kCommit, rp, 0), "commit-" + rp + "-0");
  EXPECT_EQ(ForMember(PointStep::kSecurity, rp, 3), "security-" + rp + "-3");
  EXPECT_EQ(ForMember(PointStep::kRelease, rp, 0), "release-" + rp + "-0");
  EXPECT_EQ(ForMember(PointStep::kAbandon, rp, 0), "abandon-" + rp + "-0");
  EXPECT_EQ(ForMember(PointStep::kExpire, rp, 4), "expire-" + rp + "-4");
  EXPECT_EQ(Transfer(rp, 1, "copy-00002"), "transfer-" + rp + "-1-copy-00002");
  EXPECT_EQ(Reverify(rp, 0, 1765100000000000000), "reverify-" + rp + "-0-1765100000000000000");
  EXPECT_EQ(Restore("job-000007", 2, false), "restore-job-000007-2");
  EXPECT_EQ(Restore("job-000007", 2, true), "restore-check-job-000007-2");
  EXPECT_EQ(Fence(LB_OP_FENCE, "job-000009", "sales", 0), "fence-job-000009-sales-0");
  EXPECT_EQ(Fence(LB_OP_UNFENCE, "job-000009", "sales", 1), "unfence-job-000009-sales-1");
  EXPECT_EQ(Apply("job-000009", "sales", 1), "apply-job-000009-sales-1");
  EXPECT_EQ(FailbackCheck("job-000009", "sales", rp, 0), "check-job-000009-sales-" + rp + "-0");
  EXPECT_EQ(OwedFence("sales", 3, 1), "owed-fence-sales-3-1");
  EXPECT_EQ(ManualUnfence(12, "sales", "paris", 0), "unfence-manual-12-sales-paris-0");
}

TEST(OpIdsTest, StepsOfOneMemberNeverShareAnId) {
  std::set<std::string> seen;
  for (PointStep step : {PointStep::kPrepare, PointStep::kCut, PointStep::kPlan, PointStep::kVerify,
                         PointStep::kVerifyHeld, PointStep::kCommit, PointStep::kSecurity,
                         PointStep::kRelease, PointStep::kAbandon, PointStep::kExpire}) {
    EXPECT_TRUE(seen.insert(ForMember(step, "rp-1", 0)).second) << ForMember(step, "rp-1", 0);
  }
  EXPECT_TRUE(seen.insert(Restore("job-1", 0, true)).second);
  EXPECT_TRUE(seen.insert(Restore("job-1", 0, false)).second);
}

}  // namespace
}  // namespace lifeboat::core::op_ids
