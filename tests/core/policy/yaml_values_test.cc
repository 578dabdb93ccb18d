// The scalar forms of the policy YAML: durations, bandwidths, names, core-schema scalars and
// the quoting that makes ToYaml read back as written.
#include "yaml_values.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace lifeboat::core::policy_internal {
namespace {

TEST(DurationTest, EveryUnit) {
  EXPECT_EQ(*ParseDurationMillis("250ms"), 250);
  EXPECT_EQ(*ParseDurationMillis("90s"), 90'000);
  EXPECT_EQ(*ParseDurationMillis("15m"), 15 * 60'000);
  EXPECT_EQ(*ParseDurationMillis("2h"), 2 * 3'600'000);
  EXPECT_EQ(*ParseDurationMillis("7d"), int64_t{7} * 86'400'000);
  EXPECT_EQ(*ParseDurationMillis("0s"), 0);
}

TEST(DurationTest, RefusesWhatIsNotADuration) {
  for (const char* text : {"soon", "15", "m", "1.5h", "15 m", "15M", "1h30m", "", "+5m"}) {
    auto parsed = ParseDurationMillis(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(),
              "expected a duration like 15m (an integer and one of ms, s, m, h, d), found '" +
                  std::string(text) + "'");
  }
}

TEST(DurationTest, RefusesNegativeAndOverflow) {
  EXPECT_EQ(ParseDurationMillis("-5m").status().message(), "must not be negative, found '-5m'");
  EXPECT_EQ(ParseDurationMillis("-soon").status().message(),
            "expected a duration like 15m (an integer and one of ms, s, m, h, d), found '-soon'");
  // 2^63 ms is the first value that does not fit; in days the limit is far lower.
  EXPECT_TRUE(ParseDurationMillis("9223372036854775807ms").ok());
  EXPECT_EQ(ParseDurationMillis("9223372036854775808ms").status().message(),
            "is too large, found '9223372036854775808ms'");
  EXPECT_EQ(ParseDurationMillis("106751991168d").status().message(),
            "is too large, found '106751991168d'");
  EXPECT_TRUE(ParseDurationMillis("106751991167d").ok());
}

TEST(DurationTest, FormatsTheLargestExactUnit) {
  EXPECT_EQ(FormatDurationSeconds(0), "0s");
  EXPECT_EQ(FormatDurationSeconds(90), "90s");
  EXPECT_EQ(FormatDurationSeconds(900), "15m");
  EXPECT_EQ(FormatDurationSeconds(7200), "2h");
  EXPECT_EQ(FormatDurationSeconds(5400), "90m");
  EXPECT_EQ(FormatDurationSeconds(7 * 86400), "7d");
  EXPECT_EQ(FormatDurationMillis(500), "500ms");
  EXPECT_EQ(FormatDurationMillis(1500), "1500ms");
  EXPECT_EQ(FormatDurationMillis(60'000), "1m");
  for (int64_t millis :
       {int64_t{1}, int64_t{999}, int64_t{61'000}, int64_t{86'400'000 * 3}, int64_t{3'600'001}}) {
    EXPECT_EQ(*ParseDurationMillis(FormatDurationMillis(millis)), millis);
  }
}

TEST(BandwidthTest, DecimalAndBinaryUnits) {
  EXPECT_EQ(*ParseBandwidth("0"), 0u);
  EXPECT_EQ(*ParseBandwidth("1048576"), 1048576u);
  EXPECT_EQ(*ParseBandwidth("10B/s"), 10u);
  EXPECT_EQ(*ParseBandwidth("100KB/s"), 100'000u);
  EXPECT_EQ(*ParseBandwidth("100MB/s"), 100'000'000u);
  EXPECT_EQ(*ParseBandwidth("2GB/s"), 2'000'000'000u);
  EXPECT_EQ(*ParseBandwidth("1KiB/s"), 1024u);
  EXPECT_EQ(*ParseBandwidth("3MiB/s"), 3u << 20);
  EXPECT_EQ(*ParseBandwidth("1GiB"), 1u << 30);  // "/s" may be left out
}

TEST(BandwidthTest, RefusesBitsUnknownUnitsNegativeAndOverflow) {
  const std::string hint =
      "expected a bandwidth like 100MB/s (an integer and one of B, KB, MB, GB, KiB, MiB, GiB)";
  EXPECT_EQ(ParseBandwidth("100Mb/s").status().message(), hint + ", found '100Mb/s'");
  EXPECT_EQ(ParseBandwidth("fast").status().message(), hint + ", found 'fast'");
  EXPECT_EQ(ParseBandwidth("1.5GB/s").status().message(), hint + ", found '1.5GB/s'");
  EXPECT_EQ(ParseBandwidth("-1MB/s").status().message(), "must not be negative, found '-1MB/s'");
  EXPECT_EQ(ParseBandwidth("20000000000GB/s").status().message(),
            "is too large, found '20000000000GB/s'");
}

TEST(BandwidthTest, FormatsTheLargestExactUnit) {
  EXPECT_EQ(FormatBandwidth(0), "0");
  EXPECT_EQ(FormatBandwidth(100'000'000), "100MB/s");
  EXPECT_EQ(FormatBandwidth(uint64_t{1} << 30), "1GiB/s");
  EXPECT_EQ(FormatBandwidth(2'000'000'000), "2GB/s");
  EXPECT_EQ(FormatBandwidth(1536), "1536B/s");
  EXPECT_EQ(FormatBandwidth(3072), "3KiB/s");
  EXPECT_EQ(FormatBandwidth(1023), "1023B/s");
  for (uint64_t bps : {uint64_t{1}, uint64_t{1000}, uint64_t{1024}, uint64_t{1'048'576'000},
                       std::numeric_limits<uint64_t>::max()}) {
    EXPECT_EQ(*ParseBandwidth(FormatBandwidth(bps)), bps);
  }
}

TEST(NameTest, LowerCaseDigitsDashUnderscoreDot) {
  for (const char* name : {"sales", "sales-hourly", "a", "0", "hive_metastore", "v1.2", "9x-"}) {
    EXPECT_TRUE(IsValidName(name)) << name;
  }
  for (const char* name : {"", "Sales", "-x", "_x", ".x", "a b", "a/b", "a:b", "é"}) {
    EXPECT_FALSE(IsValidName(name)) << name;
  }
}

TEST(ResolvePlainScalarTest, CoreSchema) {
  EXPECT_TRUE(ResolvePlainScalar("null")->is_null());
  EXPECT_TRUE(ResolvePlainScalar("~")->is_null());
  EXPECT_TRUE(ResolvePlainScalar("")->is_null());
  EXPECT_EQ(*ResolvePlainScalar("true"), true);
  EXPECT_EQ(*ResolvePlainScalar("FALSE"), false);
  EXPECT_EQ(*ResolvePlainScalar("42"), 42);
  EXPECT_EQ(*ResolvePlainScalar("-42"), -42);
  EXPECT_EQ(*ResolvePlainScalar("+7"), 7);
  EXPECT_EQ(*ResolvePlainScalar("007"), 7);
  EXPECT_EQ(*ResolvePlainScalar("0x1F"), 31);
  EXPECT_EQ(*ResolvePlainScalar("0o17"), 15);
  EXPECT_EQ(*ResolvePlainScalar("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*ResolvePlainScalar("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*ResolvePlainScalar("0.5"), 0.5);
  EXPECT_EQ(*ResolvePlainScalar("1e3"), 1000.0);
  EXPECT_EQ(*ResolvePlainScalar("-.25"), -0.25);
  // YAML 1.1's words for booleans are strings in 1.2, as are near-numbers.
  for (const char* text : {"yes", "no", "on", "off", "1_000", "0x", "0o8", "1.2.3", "12ab", "e3"}) {
    auto v = ResolvePlainScalar(text);
    ASSERT_TRUE(v.ok()) << text;
    EXPECT_EQ(*v, text);
  }
}

TEST(ResolvePlainScalarTest, RefusesWhatJsonCannotHold) {
  EXPECT_EQ(ResolvePlainScalar("18446744073709551616").status().message(),
            "integer '18446744073709551616' is outside the 64-bit range");
  EXPECT_EQ(ResolvePlainScalar("-9223372036854775809").status().message(),
            "integer '-9223372036854775809' is outside the 64-bit range");
  EXPECT_EQ(ResolvePlainScalar("1e999").status().message(),
            "number '1e999' is outside the range of a double");
  for (const char* text : {".inf", "-.inf", ".NaN"}) {
    EXPECT_EQ(ResolvePlainScalar(text).status().code(), Code::kInvalidArgument) << text;
  }
}

TEST(QuoteScalarTest, PlainOnlyWhenItReadsBackAsTheSameString) {
  EXPECT_EQ(QuoteScalar("sales"), "sales");
  EXPECT_EQ(QuoteScalar("/srv/a"), "/srv/a");
  EXPECT_EQ(QuoteScalar("Europe/Paris"), "Europe/Paris");
  EXPECT_EQ(QuoteScalar("localfs:/warehouse/sales"), "localfs:/warehouse/sales");
  EXPECT_EQ(QuoteScalar("Paris data centre"), "Paris data centre");
  EXPECT_EQ(QuoteScalar("true"), "\"true\"");
  EXPECT_EQ(QuoteScalar("null"), "\"null\"");
  EXPECT_EQ(QuoteScalar("123"), "\"123\"");
  EXPECT_EQ(QuoteScalar("1.5"), "\"1.5\"");
  EXPECT_EQ(QuoteScalar(""), "\"\"");
  EXPECT_EQ(QuoteScalar("0 * * * *"), "\"0 * * * *\"");
  EXPECT_EQ(QuoteScalar("a: b"), "\"a: b\"");
  EXPECT_EQ(QuoteScalar("key:"), "\"key:\"");
  EXPECT_EQ(QuoteScalar("#x"), "\"#x\"");
  EXPECT_EQ(QuoteScalar("- x"), "\"- x\"");
  EXPECT_EQ(QuoteScalar(" lead"), "\" lead\"");
  EXPECT_EQ(QuoteScalar("..."), "\"...\"");
  EXPECT_EQ(QuoteScalar("two\nlines \"q\""), "\"two\\nlines \\\"q\\\"\"");
}

}  // namespace
}  // namespace lifeboat::core::policy_internal
