// Base64 and gzip decoding of notification messages, and the event decoder's handling of
// formats and broken messages (no metastore: the rig test decodes real events).
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "codec.h"
#include "notification_events.h"

namespace lifeboat::hive {
namespace {

// gzip of `text` with zlib (the test's own encoder, to feed the decoder).
std::string Gzip(const std::string& text) {
  z_stream zs{};
  EXPECT_EQ(
      deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&zs, text.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Base64(const std::string& bytes) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += {a[v >> 18], a[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

TEST(Base64Decode, DecodesEveryPaddingLength) {
  const std::vector<std::string> samples = {"",    "a",    "ab",
                                            "abc", "abcd", std::string("\0\xff\x10", 3)};
  for (const std::string& s : samples) {
    auto d = Base64Decode(Base64(s));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, s);
  }
  auto wrapped = Base64Decode("YWJj\nZGVm\r\n");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(*wrapped, "abcdef");
}

TEST(Base64Decode, RefusesWhatIsNotBase64) {
  auto bad = Base64Decode("YW*j");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("character 2"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(Base64Decode("YWJ").ok());       // not a whole group
  EXPECT_FALSE(Base64Decode("YQ==YQ==").ok());  // data after padding
  EXPECT_FALSE(Base64Decode("Y===").ok());      // padding where data must be
}

TEST(Gunzip, InflatesOneAndSeveralMembers) {
  const std::string text(100000, 'x');
  auto one = Gunzip(Gzip(text), 1 << 20);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, text);
  auto two = Gunzip(Gzip("abc") + Gzip("def"), 1 << 20);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(*two, "abcdef");
}

TEST(Gunzip, RefusesCorruptTruncatedAndOversizedData) {
  const std::string gz = Gzip(std::string(5000, 'y'));
  auto truncated = Gunzip(gz.substr(0, gz.size() / 2), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), Code::kDataLoss) << truncated.status().ToString();
  auto garbage = Gunzip("not gzip at all", 1 << 20);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), Code::kDataLoss);
  auto big = Gunzip(gz, 1000);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
}

thrift::NotificationEvent Event(const std::string& format, const std::string& message) {
  thrift::NotificationEvent e;
  e.eventId = 42;
  e.eventType = "DROP_FUNCTION";
  e.message = message;
  if (!format.empty()) e.__set_messageFormat(format);
  return e;
}

TEST(DecodeEvent, ReadsBothFormatsAndNamesTheEventOnErrors) {
  const std::string json = R"({"server":"","db":"d","functionName":"f","timestamp":1})";
  for (const auto& e :
       {Event("json-0.2", json), Event("gzip(json-2.0)", Base64(Gzip(json))), Event("", json)}) {
    auto r = DecodeEvent(e);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->function_name, "f");
    EXPECT_EQ(r->message["db"], "d");
  }
  auto unknown = DecodeEvent(Event("avro-1", json));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kUnimplemented);
  EXPECT_NE(unknown.status().message().find("avro-1"), std::string::npos);
  auto corrupt = DecodeEvent(Event("gzip(json-2.0)", Base64("garbage")));
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find("notification event 42"), std::string::npos)
      << corrupt.status().message();
  auto not_json = DecodeEvent(Event("json-0.2", "{not json"));
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), Code::kInvalidArgument);
  auto bad_object = DecodeEvent(Event("json-0.2", R"({"tableObjJson":"{\"1\":garbage"})"));
  ASSERT_FALSE(bad_object.ok());
  EXPECT_NE(bad_object.status().message().find("tableObjJson"), std::string::npos)
      << bad_object.status().message();
}

std::vector<thrift::NotificationEvent> Ids(std::initializer_list<int64_t> ids) {
  std::vector<thrift::NotificationEvent> out;
  for (int64_t id : ids) {
    out.emplace_back();
    out.back().eventId = id;
  }
  return out;
}

TEST(CheckNoGap, AcceptsContiguousIdsAndNamesTheMissingOnes) {
  EXPECT_TRUE(CheckNoGap(10, {}).ok());
  EXPECT_TRUE(CheckNoGap(10, Ids({11, 12, 13})).ok());
  Status first = CheckNoGap(10, Ids({14, 15}));
  ASSERT_EQ(first.code(), Code::kFailedPrecondition);
  EXPECT_NE(first.message().find("11..13 are missing"), std::string::npos) << first.message();
  Status middle = CheckNoGap(10, Ids({11, 13}));
  EXPECT_NE(middle.message().find("event 12 is missing"), std::string::npos) << middle.message();
  EXPECT_EQ(CheckNoGap(10, Ids({11, 11})).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace lifeboat::hive
