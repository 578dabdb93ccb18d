// Status, StatusOr and the error-propagation macros of <lifeboat/status.h>.
#include <gtest/gtest.h>
#include <lifeboat/status.h>

#include <memory>
#include <string>

namespace lifeboat {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, OkStatus());
  EXPECT_EQ(s, Status::Ok());
}

TEST(StatusTest, CarriesCodeMessageAndSubject) {
  Status s = InvalidArgumentError("must be an absolute path", "root");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "must be an absolute path");
  EXPECT_EQ(s.subject(), "root");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: root: must be an absolute path");
  EXPECT_EQ(NotFoundError("gone").ToString(), "NOT_FOUND: gone");
}

TEST(StatusTest, HelpersMakeTheirCodes) {
  EXPECT_EQ(CancelledError("x").code(), Code::kCancelled);
  EXPECT_EQ(NotFoundError("x").code(), Code::kNotFound);
  EXPECT_EQ(AlreadyExistsError("x").code(), Code::kAlreadyExists);
  EXPECT_EQ(PermissionDeniedError("x").code(), Code::kPermissionDenied);
  EXPECT_EQ(FailedPreconditionError("x").code(), Code::kFailedPrecondition);
  EXPECT_EQ(AbortedError("x").code(), Code::kAborted);
  EXPECT_EQ(UnimplementedError("x").code(), Code::kUnimplemented);
  EXPECT_EQ(InternalError("x").code(), Code::kInternal);
  EXPECT_EQ(UnavailableError("x").code(), Code::kUnavailable);
  EXPECT_EQ(DataLossError("x").code(), Code::kDataLoss);
}

TEST(StatusTest, CodesMatchTheCAbi) {
  EXPECT_EQ(static_cast<int32_t>(Code::kOk), LB_OK);
  EXPECT_EQ(static_cast<int32_t>(Code::kFailedPrecondition), LB_FAILED_PRECONDITION);
  EXPECT_EQ(static_cast<int32_t>(Code::kUnauthenticated), LB_UNAUTHENTICATED);
  EXPECT_EQ(CodeName(Code::kDataLoss), "DATA_LOSS");
  EXPECT_EQ(CodeName(static_cast<Code>(99)), "CODE_99");
  EXPECT_TRUE(IsKnownCode(0));
  EXPECT_TRUE(IsKnownCode(16));
  EXPECT_FALSE(IsKnownCode(17));
  EXPECT_FALSE(IsKnownCode(-1));
}

TEST(StatusTest, RetryMeaning) {
  EXPECT_TRUE(IsRetryable(Code::kUnavailable));
  EXPECT_TRUE(IsRetryable(Code::kDeadlineExceeded));
  EXPECT_TRUE(IsRetryable(Code::kResourceExhausted));
  EXPECT_FALSE(IsRetryable(Code::kUnimplemented));
  EXPECT_FALSE(IsRetryable(Code::kFailedPrecondition));
  EXPECT_FALSE(IsRetryable(Code::kDataLoss));
}

TEST(StatusTest, WithContextPrefixesTheMessageOnly) {
  Status s = UnavailableError("connection refused", "nn1:9870");
  Status c = s.WithContext("while cutting hdfs:/data");
  EXPECT_EQ(c.code(), Code::kUnavailable);
  EXPECT_EQ(c.message(), "while cutting hdfs:/data: connection refused");
  EXPECT_EQ(c.subject(), "nn1:9870");
  EXPECT_EQ(OkStatus().WithContext("ignored"), OkStatus());
}

TEST(StatusTest, EqualityComparesAllParts) {
  EXPECT_EQ(InternalError("a", "s"), InternalError("a", "s"));
  EXPECT_FALSE(InternalError("a", "s") == InternalError("b", "s"));
  EXPECT_FALSE(InternalError("a", "s") == InternalError("a", "t"));
  EXPECT_FALSE(InternalError("a") == Status(Code::kUnknown, "a"));
}

TEST(StatusOrTest, HoldsAValue) {
  StatusOr<std::string> v = std::string("hello");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(v->size(), 5u);
  std::string moved = std::move(v).value();
  EXPECT_EQ(moved, "hello");
}

TEST(StatusOrTest, HoldsAnError) {
  StatusOr<int> v = NotFoundError("no such point", "rp-1");
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kNotFound);
  EXPECT_EQ(v.status().subject(), "rp-1");
}

TEST(StatusOrTest, OkStatusWithoutValueBecomesInternal) {
  StatusOr<int> v = OkStatus();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kInternal);
}

TEST(StatusOrTest, HoldsMoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> v = std::make_unique<int>(7);
  ASSERT_TRUE(v.ok());
  std::unique_ptr<int> p = std::move(v).value();
  EXPECT_EQ(*p, 7);
}

Status FailIf(bool fail, int* reached) {
  LIFEBOAT_RETURN_IF_ERROR(fail ? AbortedError("stop") : OkStatus());
  ++*reached;
  return OkStatus();
}

TEST(MacrosTest, ReturnIfErrorReturnsEarly) {
  int reached = 0;
  EXPECT_EQ(FailIf(true, &reached).code(), Code::kAborted);
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(FailIf(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

StatusOr<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgumentError(std::to_string(n) + " is odd");
  return n / 2;
}

StatusOr<int> Quarter(int n) {
  LIFEBOAT_ASSIGN_OR_RETURN(int half, Half(n));
  LIFEBOAT_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(MacrosTest, AssignOrReturnAssignsOrPropagates) {
  StatusOr<int> q = Quarter(12);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 3);
  StatusOr<int> bad = Quarter(6);  // 6 -> 3, then 3 is odd
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "3 is odd");
}

}  // namespace
}  // namespace lifeboat
