// Frames: encoding, decoding in pieces of every size, and hostile input as clear errors.
#include <lifeboat/core/net/frame.h>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace lifeboat::core::net {
namespace {

v1::Envelope RequestEnvelope(uint64_t call_id, std::string payload) {
  v1::Envelope e;
  e.set_call_id(call_id);
  e.mutable_request()->set_method("agent.Cut");
  e.mutable_request()->set_op_id("cut-rp1-0");
  e.mutable_request()->set_deadline_ms(30000);
  e.mutable_request()->set_payload(std::move(payload));
  return e;
}

std::string Header(uint32_t n) {
  std::string h(4, '\0');
  h[0] = static_cast<char>(n >> 24);
  h[1] = static_cast<char>(n >> 16);
  h[2] = static_cast<char>(n >> 8);
  h[3] = static_cast<char>(n);
  return h;
}

TEST(FrameTest, EncodeThenDecodeRoundTrips) {
  v1::Envelope in = RequestEnvelope(7, "hello");
  StatusOr<std::string> frame = EncodeFrame(in);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->size(), kFrameHeaderBytes + in.ByteSizeLong());
  EXPECT_EQ(frame->substr(0, 4), Header(static_cast<uint32_t>(in.ByteSizeLong())));

  FrameDecoder decoder;
  decoder.Feed(*frame);
  auto out = decoder.Next();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->SerializeAsString(), in.SerializeAsString());
  auto none = decoder.Next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(decoder.Finish().ok());
  EXPECT_EQ(decoder.frames_decoded(), 1u);
}

TEST(FrameTest, DecodesAStreamFedInPiecesOfEverySize) {
  std::string stream;
  std::vector<v1::Envelope> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(RequestEnvelope(i + 1, std::string(i * 37, static_cast<char>('a' + i))));
    ASSERT_TRUE(AppendFrame(sent.back(), kDefaultMaxFrameBytes, &stream).ok());
  }
  for (size_t piece : {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{64}, stream.size()}) {
    FrameDecoder decoder;
    std::vector<v1::Envelope> got;
    for (size_t pos = 0; pos < stream.size(); pos += piece) {
      decoder.Feed(std::string_view(stream).substr(pos, piece));
      for (;;) {
        auto next = decoder.Next();
        ASSERT_TRUE(next.ok()) << next.status().ToString();
        if (!next->has_value()) break;
        got.push_back(std::move(**next));
      }
    }
    ASSERT_EQ(got.size(), sent.size()) << "piece size " << piece;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].SerializeAsString(), sent[i].SerializeAsString());
    }
    EXPECT_TRUE(decoder.Finish().ok());
  }
}

TEST(FrameTest, PrepareAndCommitWriteInPlace) {
  StatusOr<std::string> frame = EncodeFrame(RequestEnvelope(1, std::string(1000, 'x')));
  ASSERT_TRUE(frame.ok());
  FrameDecoder decoder;
  size_t pos = 0;
  while (pos < frame->size()) {
    std::span<char> space = decoder.Prepare(100);
    ASSERT_GE(space.size(), 100u);
    size_t n = std::min<size_t>(100, frame->size() - pos);
    std::copy_n(frame->data() + pos, n, space.data());
    decoder.Commit(n);
    pos += n;
  }
  auto out = decoder.Next();
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->request().payload(), std::string(1000, 'x'));
}

TEST(FrameTest, DataFrameMatchesTheGenericEncoding) {
  for (bool last : {false, true}) {
    for (uint64_t call_id : {uint64_t{0}, uint64_t{1}, uint64_t{300}, ~uint64_t{0}}) {
      for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{70000}}) {
        std::string chunk(size, 'z');
        v1::Envelope e;
        e.set_call_id(call_id);
        e.mutable_data()->set_chunk(chunk);
        e.mutable_data()->set_last(last);
        StatusOr<std::string> generic = EncodeFrame(e);
        ASSERT_TRUE(generic.ok());
        std::string fast;
        ASSERT_TRUE(AppendDataFrame(call_id, chunk, last, kDefaultMaxFrameBytes, &fast).ok());
        EXPECT_EQ(fast, *generic) << "call " << call_id << " size " << size << " last " << last;
      }
    }
  }
}

TEST(FrameTest, NextFastSeesDataInPlaceAndParsesTheRest) {
  std::string stream;
  ASSERT_TRUE(AppendDataFrame(5, "chunk-bytes", false, kDefaultMaxFrameBytes, &stream).ok());
  ASSERT_TRUE(AppendFrame(RequestEnvelope(6, "req"), kDefaultMaxFrameBytes, &stream).ok());
  ASSERT_TRUE(AppendDataFrame(5, "", true, kDefaultMaxFrameBytes, &stream).ok());
  // A data envelope with an extra field (data field 3 = 1): legal protobuf, not the fast path.
  const std::string odd("\x08\x05\x3a\x05\x0a\x01x\x18\x01", 9);
  stream += Header(static_cast<uint32_t>(odd.size())) + odd;

  FrameDecoder decoder;
  decoder.Feed(stream);
  v1::Envelope e;
  FrameDecoder::DataView view;
  auto kind = decoder.NextFast(&e, &view);
  ASSERT_TRUE(kind.ok());
  ASSERT_EQ(*kind, FrameDecoder::FrameKind::kData);
  EXPECT_EQ(view.call_id, 5u);
  EXPECT_EQ(view.chunk, "chunk-bytes");
  EXPECT_FALSE(view.last);
  kind = decoder.NextFast(&e, &view);
  ASSERT_EQ(*kind, FrameDecoder::FrameKind::kEnvelope);
  EXPECT_EQ(e.request().payload(), "req");
  kind = decoder.NextFast(&e, &view);
  ASSERT_EQ(*kind, FrameDecoder::FrameKind::kData);
  EXPECT_TRUE(view.last);
  EXPECT_TRUE(view.chunk.empty());
  kind = decoder.NextFast(&e, &view);
  ASSERT_EQ(*kind, FrameDecoder::FrameKind::kEnvelope);
  EXPECT_EQ(e.data().chunk(), "x");
  EXPECT_EQ(*decoder.NextFast(&e, &view), FrameDecoder::FrameKind::kNeedMore);
}

TEST(FrameTest, DetachDataHandsOverTheChunkAndTheDecoderGoesOn) {
  const std::string big(200000, 'b');
  std::string stream;
  ASSERT_TRUE(AppendDataFrame(9, big, false, kDefaultMaxFrameBytes, &stream).ok());
  const size_t first = stream.size();
  ASSERT_TRUE(AppendFrame(RequestEnvelope(10, "after"), kDefaultMaxFrameBytes, &stream).ok());
  ASSERT_TRUE(AppendDataFrame(9, "tail", true, kDefaultMaxFrameBytes, &stream).ok());
  FrameDecoder decoder;
  // Fed in pieces, the last of which runs past the first frame into the second.
  decoder.Feed(stream.substr(0, 100000));
  v1::Envelope e;
  FrameDecoder::DataView view;
  ASSERT_EQ(*decoder.NextFast(&e, &view), FrameDecoder::FrameKind::kNeedMore);
  EXPECT_EQ(decoder.DetachData("unused").buffer, "");  // no data frame was just returned
  decoder.Feed(stream.substr(100000, first + 20 - 100000));
  ASSERT_EQ(*decoder.NextFast(&e, &view), FrameDecoder::FrameKind::kData);
  EXPECT_EQ(view.call_id, 9u);
  const size_t rest = decoder.buffered_bytes();
  EXPECT_EQ(rest, 20u);
  FrameDecoder::Detached owned = decoder.DetachData(std::string(16, 'r'));
  EXPECT_EQ(owned.chunk(), big);
  EXPECT_EQ(owned.chunk().data(), view.chunk.data());  // the same bytes, not a copy
  EXPECT_EQ(decoder.buffered_bytes(), rest);
  // Only once per data frame.
  EXPECT_EQ(decoder.DetachData({}).buffer, "");
  decoder.Feed(stream.substr(first + 20));
  ASSERT_EQ(*decoder.NextFast(&e, &view), FrameDecoder::FrameKind::kEnvelope);
  EXPECT_EQ(e.request().payload(), "after");
  ASSERT_EQ(*decoder.NextFast(&e, &view), FrameDecoder::FrameKind::kData);
  EXPECT_EQ(view.chunk, "tail");
  EXPECT_TRUE(view.last);
  owned = decoder.DetachData({});
  EXPECT_EQ(owned.chunk(), "tail");
  EXPECT_EQ(*decoder.NextFast(&e, &view), FrameDecoder::FrameKind::kNeedMore);
  EXPECT_TRUE(decoder.Finish().ok());
  EXPECT_EQ(decoder.frames_decoded(), 3u);
}

TEST(FrameTest, BytesToFrameEndCountsWhatTheFrameStillNeeds) {
  std::string stream;
  ASSERT_TRUE(
      AppendDataFrame(3, std::string(1000, 'x'), false, kDefaultMaxFrameBytes, &stream).ok());
  FrameDecoder decoder;
  EXPECT_EQ(decoder.BytesToFrameEnd(), 0u);  // nothing buffered
  decoder.Feed(stream.substr(0, 3));
  EXPECT_EQ(decoder.BytesToFrameEnd(), 0u);  // the length is not known yet
  decoder.Feed(stream.substr(3, 97));
  EXPECT_EQ(decoder.BytesToFrameEnd(), stream.size() - 100);
  decoder.Feed(stream.substr(100));
  EXPECT_EQ(decoder.BytesToFrameEnd(), 0u);  // complete
}

TEST(FrameTest, ParseDataFrameRefusesNonCanonicalBodies) {
  EXPECT_FALSE(ParseDataFrame("").has_value());                          // no data field
  EXPECT_FALSE(ParseDataFrame(std::string("\x08\x00\x3a\x00", 4)));      // call id 0 spelled out
  EXPECT_FALSE(ParseDataFrame(std::string("\x08\x81\x00\x3a\x00", 5)));  // overlong varint
  EXPECT_FALSE(
      ParseDataFrame(std::string("\x3a\x05\x0a\x09"
                                 "abc",
                                 7)));                               // chunk past the end
  EXPECT_FALSE(ParseDataFrame(std::string("\x3a\x02\x10\x02", 4)));  // last = 2
  auto ok =
      ParseDataFrame(std::string("\x08\x07\x3a\x05\x0a\x03"
                                 "abc",
                                 9));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->call_id, 7u);
  EXPECT_EQ(ok->chunk, "abc");
}

TEST(FrameTest, EncodingMoreThanTheLimitIsRefused) {
  v1::Envelope big = RequestEnvelope(1, std::string(70000, 'x'));
  StatusOr<std::string> frame = EncodeFrame(big, 65536);
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.status().code(), Code::kResourceExhausted);
  EXPECT_NE(frame.status().message().find("65536"), std::string::npos);
  std::string out = "keep";
  EXPECT_FALSE(AppendDataFrame(1, std::string(70000, 'x'), false, 65536, &out).ok());
  EXPECT_EQ(out, "keep");
}

TEST(FrameTest, OversizedFrameIsRefusedFromItsHeader) {
  FrameDecoder decoder(1024);
  // Only the header: the decoder must not wait for (or allocate) the body.
  decoder.Feed(Header(5000));
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Code::kResourceExhausted);
  const std::string m = next.status().message();
  EXPECT_NE(m.find("frame 1"), std::string::npos) << m;
  EXPECT_NE(m.find("5000"), std::string::npos) << m;
  EXPECT_NE(m.find("1024"), std::string::npos) << m;
  // Broken for good: the stream has lost its framing.
  decoder.Feed(*EncodeFrame(RequestEnvelope(1, "")));
  EXPECT_EQ(decoder.Next().status(), next.status());
  EXPECT_EQ(decoder.Finish(), next.status());
}

TEST(FrameTest, SecondFrameOversizedNamesItsOrdinalAndOffset) {
  std::string stream = *EncodeFrame(RequestEnvelope(1, "a"));
  const size_t first = stream.size();
  stream += Header(1u << 30);
  FrameDecoder decoder;
  decoder.Feed(stream);
  ASSERT_TRUE(decoder.Next().ok());
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("frame 2 at byte offset " + std::to_string(first)),
            std::string::npos)
      << next.status().message();
}

TEST(FrameTest, TlsRecordIsRecognised) {
  FrameDecoder decoder;
  decoder.Feed(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("TLS"), std::string::npos) << next.status().message();
}

TEST(FrameTest, GarbageBodyIsInvalidArgument) {
  FrameDecoder decoder;
  // Field 1 as a length-delimited field that runs past the end: not a valid Envelope.
  std::string body = "\x0a\x7f garbage";
  decoder.Feed(Header(static_cast<uint32_t>(body.size())) + body);
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Code::kInvalidArgument);
  EXPECT_NE(next.status().message().find("not a valid lifeboat.core.v1.Envelope"),
            std::string::npos);
}

TEST(FrameTest, TruncatedStreamIsReportedAtTheEnd) {
  std::string frame = *EncodeFrame(RequestEnvelope(1, std::string(100, 'x')));
  {
    FrameDecoder decoder;
    decoder.Feed(frame.substr(0, frame.size() - 10));
    auto next = decoder.Next();
    ASSERT_TRUE(next.ok());
    EXPECT_FALSE(next->has_value());
    Status end = decoder.Finish();
    EXPECT_EQ(end.code(), Code::kDataLoss);
    EXPECT_NE(end.message().find("inside frame 1"), std::string::npos) << end.message();
    EXPECT_NE(end.message().find(std::to_string(frame.size() - 14) + " of its " +
                                 std::to_string(frame.size() - 4) + " bytes"),
              std::string::npos)
        << end.message();
  }
  {
    FrameDecoder decoder;
    decoder.Feed(frame.substr(0, 2));
    Status end = decoder.Finish();
    EXPECT_EQ(end.code(), Code::kDataLoss);
    EXPECT_NE(end.message().find("header of frame 1"), std::string::npos) << end.message();
  }
}

TEST(FrameTest, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    FrameDecoder decoder(4096);
    decoder.Feed(bytes);
    for (int i = 0; i < 100; ++i) {
      auto next = decoder.Next();
      if (!next.ok() || !next->has_value()) break;
    }
    (void)decoder.Finish();
  }
  SUCCEED();
}

TEST(FrameTest, BodyNamesAreReadable) {
  v1::Envelope e;
  EXPECT_EQ(BodyName(e), "empty envelope");
  e.mutable_ping();
  EXPECT_EQ(BodyName(e), "ping");
  e.mutable_goodbye();
  EXPECT_EQ(BodyName(e), "goodbye");
}

}  // namespace
}  // namespace lifeboat::core::net
