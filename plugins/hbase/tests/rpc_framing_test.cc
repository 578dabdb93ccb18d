// The bytes of HBase's RPC framing (rpc_framing.h), decoded back field by field. Unit: no
// cluster; the rig test talks to a real master with the same code.
#include "rpc_framing.h"

#include <gtest/gtest.h>

#include "hbase_master.pb.h"

namespace lifeboat::hbase {
namespace {

uint32_t BigEndianAt(const std::string& s, size_t at) {
  return DecodeFrameLength(reinterpret_cast<const unsigned char*>(s.data() + at));
}

// Reads one varint-delimited message from the front of `in`.
template <typename M>
M ReadDelimited(std::string_view* in) {
  uint64_t n = 0;
  EXPECT_TRUE(ReadVarint(in, &n));
  M m;
  EXPECT_TRUE(m.ParseFromArray(in->data(), static_cast<int>(n)));
  in->remove_prefix(n);
  return m;
}

TEST(HBaseRpcFraming, PreambleIsHBasVersionZeroSimpleAuth) {
  std::string p = ConnectionPreamble();
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p.substr(0, 4), "HBas");
  EXPECT_EQ(p[4], 0);
  EXPECT_EQ(static_cast<unsigned char>(p[5]), 80);
}

TEST(HBaseRpcFraming, ConnectionHeaderIsLengthPrefixedAndNamesServiceAndUser) {
  std::string h = EncodeConnectionHeader("MasterService", "alice");
  ASSERT_GE(h.size(), 4u);
  EXPECT_EQ(BigEndianAt(h, 0), h.size() - 4);
  pb::ConnectionHeader parsed;
  ASSERT_TRUE(parsed.ParseFromString(h.substr(4)));
  EXPECT_EQ(parsed.service_name(), "MasterService");
  EXPECT_EQ(parsed.user_info().effective_user(), "alice");
  EXPECT_FALSE(parsed.has_cell_block_codec_class()) << "no cell blocks: answers stay protobuf";
}

TEST(HBaseRpcFraming, CallIsTotalLengthThenDelimitedHeaderAndRequest) {
  pb::RequestHeader header;
  header.set_call_id(7);
  header.set_method_name("DeleteSnapshot");
  header.set_request_param(true);
  pb::DeleteSnapshotRequest req;
  req.mutable_snapshot()->set_name(std::string(300, 's'));  // a length past one varint byte
  std::string call = EncodeCall(header, req);
  EXPECT_EQ(BigEndianAt(call, 0), call.size() - 4);
  std::string_view rest(call);
  rest.remove_prefix(4);
  auto h = ReadDelimited<pb::RequestHeader>(&rest);
  EXPECT_EQ(h.call_id(), 7u);
  EXPECT_EQ(h.method_name(), "DeleteSnapshot");
  auto r = ReadDelimited<pb::DeleteSnapshotRequest>(&rest);
  EXPECT_EQ(r.snapshot().name().size(), 300u);
  EXPECT_TRUE(rest.empty());
}

std::string Delimited(const google::protobuf::MessageLite& m) {
  std::string out;
  std::string bytes = m.SerializeAsString();
  AppendVarint(bytes.size(), &out);
  return out + bytes;
}

TEST(HBaseRpcFraming, AnswerWithResponse) {
  pb::ResponseHeader rh;
  rh.set_call_id(3);
  pb::IsMasterRunningResponse resp;
  resp.set_is_master_running(true);
  std::string frame = Delimited(rh) + Delimited(resp);
  auto decoded = DecodeResponseFrame(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.call_id(), 3u);
  pb::IsMasterRunningResponse parsed;
  ASSERT_TRUE(
      parsed.ParseFromArray(decoded->payload.data(), static_cast<int>(decoded->payload.size())));
  EXPECT_TRUE(parsed.is_master_running());
}

TEST(HBaseRpcFraming, AnswerWithExceptionHasNoPayload) {
  pb::ResponseHeader rh;
  rh.set_call_id(4);
  rh.mutable_exception()->set_exception_class_name(
      "org.apache.hadoop.hbase.TableNotFoundException");
  auto decoded = DecodeResponseFrame(Delimited(rh));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(decoded->header.has_exception());
  EXPECT_TRUE(decoded->payload.empty());
}

TEST(HBaseRpcFraming, TruncatedAnswersAreDataLoss) {
  pb::ResponseHeader rh;
  rh.set_call_id(5);
  pb::IsMasterRunningResponse resp;
  resp.set_is_master_running(true);
  std::string frame = Delimited(rh) + Delimited(resp);
  EXPECT_EQ(DecodeResponseFrame(frame.substr(0, frame.size() - 1)).status().code(),
            Code::kDataLoss);
  EXPECT_EQ(DecodeResponseFrame(frame.substr(0, 1)).status().code(), Code::kDataLoss);
  EXPECT_EQ(DecodeResponseFrame("").status().code(), Code::kDataLoss);
}

TEST(HBaseRpcFraming, VarintsRoundTripAtByteBoundaries) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, (1ull << 32) + 5, ~0ull}) {
    std::string s;
    AppendVarint(v, &s);
    std::string_view in(s);
    uint64_t back = 0;
    ASSERT_TRUE(ReadVarint(&in, &back)) << v;
    EXPECT_EQ(back, v);
    EXPECT_TRUE(in.empty());
  }
  std::string_view truncated("\x80\x80", 2);
  uint64_t v = 0;
  EXPECT_FALSE(ReadVarint(&truncated, &v));
}

}  // namespace
}  // namespace lifeboat::hbase
