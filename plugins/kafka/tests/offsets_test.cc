// Offset translation and the record digest of the kafka plugin (no broker needed).
#include <gtest/gtest.h>

#include "offsets.h"

namespace lifeboat::kafka {
namespace {

Record Rec(std::optional<std::string> key, std::optional<std::string> value, int64_t ts = 1) {
  Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.timestamp_ms = ts;
  return r;
}

TEST(RecordDigest, OrderNullsHeadersAndTimestampsCount) {
  auto digest = [](const std::vector<Record>& rs) {
    RecordDigest d;
    for (const auto& r : rs) d.Add(r);
    return d.Hex();
  };
  Record a = Rec("k", "v"), b = Rec("k2", "v2");
  EXPECT_EQ(digest({a, b}), digest({a, b}));
  EXPECT_NE(digest({a, b}), digest({b, a})) << "order must matter";
  EXPECT_NE(digest({Rec("k", std::nullopt)}), digest({Rec("k", "")})) << "null is not empty";
  EXPECT_NE(digest({Rec(std::nullopt, "v")}), digest({Rec("", "v")}));
  EXPECT_NE(digest({Rec("k", "v", 1)}), digest({Rec("k", "v", 2)}));
  Record h = a;
  h.headers.emplace_back("h", "1");
  EXPECT_NE(digest({a}), digest({h}));
  // Length prefixes: moving a byte from key to value changes the digest.
  EXPECT_NE(digest({Rec("ab", "c")}), digest({Rec("a", "bc")}));
  EXPECT_EQ(digest({}).size(), 64u);
}

// The digest is persisted (the state topic's progress records, a point's manifest): its
// bytes must never change. The expected values were computed apart from the plugin, by the
// algorithm above written out with Python's hashlib.
TEST(RecordDigest, ItsValueIsPinned) {
  RecordDigest d;
  Record h = Rec("k", std::nullopt, 1700000000000);
  h.headers.emplace_back("h", "1");
  h.headers.emplace_back("n", std::nullopt);
  d.Add(Rec("k", "v"));
  d.Add(h);
  d.Add(Rec(std::nullopt, ""));
  EXPECT_EQ(d.Hex(), "8acc897c641ba32b755dbb72da4d0a87a0d8293bbcd30c2a527c8a0503304720");
  RecordDigest resumed(d.Hex());
  resumed.Add(Rec("x", "y"));
  EXPECT_EQ(resumed.Hex(), "5e664c48fafe9f3cd97a6d6d6bf39d42dbe1962888db403f19019e6ca3548bb8");
}

TEST(RecordDigest, ResumesFromItsState) {
  Record a = Rec("k", "v"), b = Rec("k2", "v2"), c = Rec(std::nullopt, "v3");
  RecordDigest whole;
  whole.Add(a);
  whole.Add(b);
  whole.Add(c);
  RecordDigest first;
  first.Add(a);
  RecordDigest rest(first.Hex());
  rest.Add(b);
  rest.Add(c);
  EXPECT_EQ(whole.Hex(), rest.Hex());
}

TEST(TranslateOffset, ExactWinsThenRangesRoundDown) {
  // Point 1 copied source [0, 100) to target [0, 100); point 2 copied [100, 150) to [105, 155)
  // (the target had 5 offsets of transaction markers in between).
  std::vector<RangeMap> ranges = {{0, 100, 0, 100}, {100, 150, 105, 155}};
  std::map<int64_t, int64_t> exact = {{120, 126}};
  EXPECT_EQ(TranslateOffset(120, exact, ranges, 0), 126);
  // Inside point 2's range without an exact entry: its start (re-read, never skip).
  EXPECT_EQ(TranslateOffset(130, exact, ranges, 0), 105);
  // Inside point 1's range: its start.
  EXPECT_EQ(TranslateOffset(50, exact, ranges, 0), 0);
  // At or past the newest range's end: its end.
  EXPECT_EQ(TranslateOffset(150, exact, ranges, 0), 155);
  EXPECT_EQ(TranslateOffset(999, exact, ranges, 0), 155);
  // Nothing known below: the floor.
  EXPECT_EQ(TranslateOffset(5, {}, {{10, 20, 3, 13}}, 3), 3);
  // A gap (records lost to retention before replication): the end of the range below it.
  EXPECT_EQ(TranslateOffset(25, {}, {{0, 20, 0, 20}, {30, 40, 20, 30}}, 0), 20);
}

TEST(TranslateOffset, NeverAheadOfTheRecordItNames) {
  // Exhaustively: for a 1:1 copy with a shift, every translation is <= the exact one.
  std::vector<RangeMap> ranges = {{0, 40, 7, 47}, {40, 90, 50, 100}};
  for (int64_t c = 0; c <= 90; ++c) {
    const int64_t exact_target = c < 40 ? c + 7 : c + 10;
    EXPECT_LE(TranslateOffset(c, {}, ranges, 7), exact_target) << "source offset " << c;
  }
}

TEST(StateKeys, AreDistinctPerPointAndPartition) {
  EXPECT_NE(ProgressKey("c1", "t", 0, "t"), ProgressKey("c1", "t", 1, "t"));
  EXPECT_NE(ProgressKey("c1", "t", 0, "t"), ProgressKey("c2", "t", 0, "t"));
  EXPECT_NE(ProgressKey("c1", "t", 0, "t"), ProgressKey("c1", "t", 0, "p.t"));
  EXPECT_NE(MapKey("rp1", "a"), MapKey("rp2", "a"));
  EXPECT_NE(CutKey("rp1", "a"), MapKey("rp1", "a"));
}

}  // namespace
}  // namespace lifeboat::kafka
