// What the lifeboat CLI prints for people and scripts: the progress bar's rate and ending,
// human durations, YAML output, exit codes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "../../tools/lifeboat/cli.h"
#include "../../tools/lifeboat/describe.h"
#include "../../tools/lifeboat/output.h"
#include "../../tools/lifeboat/progress.h"

namespace lifeboat::cli {
namespace {

using Clock = ProgressBar::Clock;
using std::chrono::milliseconds;

// A bar on /dev/null with a clock the test moves.
struct FakeClockBar {
  FakeClockBar(uint64_t bytes_total, uint64_t items_total)
      : out(std::fopen("/dev/null", "w")),
        bar(out, /*interactive=*/false, "transfer", bytes_total, items_total,
            [this] { return now; }) {}
  ~FakeClockBar() { std::fclose(out); }
  Clock::time_point now{};
  std::FILE* out;
  ProgressBar bar;
};

// A job resumed with most of its bytes done reports them at once: no rate until a second of
// updates, then the rate of what moved in the window, not of everything done.
TEST(ProgressBarTest, TheRateComesFromAMovingWindowNotFromTheFirstTick) {
  FakeClockBar f(100 << 20, 10);
  f.now += milliseconds(1);
  f.bar.Update(90 << 20, 9);  // 90 MiB "in a millisecond"
  EXPECT_FALSE(f.bar.Rate().has_value());
  EXPECT_NE(f.bar.Line(false).find("-- B/s"), std::string::npos) << f.bar.Line(false);
  for (int i = 1; i <= 4; ++i) {
    f.now += milliseconds(500);
    f.bar.Update((90 << 20) + i * (1 << 20), 9);  // 2 MiB/s from then on
  }
  ASSERT_TRUE(f.bar.Rate().has_value());
  EXPECT_NEAR(*f.bar.Rate(), 2.0 * (1 << 20), 1.0);
  EXPECT_NE(f.bar.Line(false).find("2.0 MiB/s"), std::string::npos) << f.bar.Line(false);
  // Only the last few seconds count: a slower stretch shows soon.
  for (int i = 0; i < 12; ++i) {
    f.now += milliseconds(500);
    f.bar.Update((94 << 20) + (i + 1) * (256 << 10), 9);  // 512 KiB/s
  }
  EXPECT_NEAR(*f.bar.Rate(), 512.0 * 1024, 1.0);
}

TEST(ProgressBarTest, WorkCutShortNeverEndsOn100Percent) {
  FakeClockBar f(1000, 4);
  f.bar.Update(999, 3);  // 99.9% rounds to 100 with %3.0f
  EXPECT_NE(f.bar.Line(false).find(" 99%"), std::string::npos) << f.bar.Line(false);
  const std::string stopped = f.bar.Line(/*final=*/true, /*completed=*/false);
  EXPECT_EQ(stopped.find("100%"), std::string::npos) << stopped;
  EXPECT_NE(stopped.find("stopped"), std::string::npos) << stopped;
  // All bytes moved but the job was cancelled after: still not shown as done.
  f.bar.Update(1000, 4);
  EXPECT_EQ(f.bar.Line(true, false).find("100%"), std::string::npos);
  EXPECT_NE(f.bar.Line(true, true).find("100%"), std::string::npos);
}

TEST(DescribeTest, DurationsReadLikeAPersonWouldSayThem) {
  EXPECT_EQ(HumanDuration(850'000'000), "850ms");
  EXPECT_EQ(HumanDuration(3'200'000'000), "3.2s");
  EXPECT_EQ(HumanDuration(int64_t{72} * 1'000'000'000), "1m 12s");
  EXPECT_EQ(HumanDuration(int64_t{7500} * 1'000'000'000), "2h 05m");
  EXPECT_EQ(HumanDuration(int64_t{3 * 86400 + 4 * 3600} * 1'000'000'000), "3d 4h");
}

TEST(OutputTest, YamlKeepsNumbersAsNumbersAndQuotesStringsThatLookLikeThem) {
  nlohmann::json j = {{"bytes_done", 1048576}, {"id", "123"},         {"flag", true},
                      {"name", "yes"},         {"list", {"a", "on"}}, {"empty", ""}};
  const std::string y = ToYamlText(j);
  EXPECT_NE(y.find("bytes_done: 1048576"), std::string::npos) << y;
  EXPECT_NE(y.find("id: \"123\""), std::string::npos) << y;
  EXPECT_NE(y.find("flag: true"), std::string::npos) << y;
  EXPECT_NE(y.find("name: \"yes\""), std::string::npos) << y;
  EXPECT_NE(y.find("- \"on\""), std::string::npos) << y;
  EXPECT_NE(y.find("empty: \"\""), std::string::npos) << y;
}

// README: bad input 2, not found 3, refused 4 — whatever the code came from.
TEST(ExitCodeTest, StatusCodesMapAsTheReadmeSays) {
  EXPECT_EQ(ExitCodeFor(InvalidArgumentError("x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status(Code::kOutOfRange, "x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(NotFoundError("x")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(FailedPreconditionError("x")), kExitRefused);
  EXPECT_EQ(ExitCodeFor(Status(Code::kPermissionDenied, "x")), kExitRefused);
  EXPECT_EQ(ExitCodeFor(Status(Code::kUnauthenticated, "x")), kExitRefused);
  EXPECT_EQ(ExitCodeFor(DataLossError("x")), kExitVerifyFailed);
  EXPECT_EQ(ExitCodeFor(CancelledError("x")), kExitCancelled);
  EXPECT_EQ(ExitCodeFor(UnavailableError("x")), kExitFailure);
}

}  // namespace
}  // namespace lifeboat::cli
