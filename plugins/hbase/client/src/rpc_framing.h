// The bytes of HBase's RPC protocol without a socket (so that tests can check them): the
// connection preamble and header, a call, and the parts of an answer. HBase 2.x's
// "simple" framing, as its RpcServer reads it:
//   preamble   "HBas" | version 0 | auth 0x50 (SIMPLE)
//   header     uint32 BE length | ConnectionHeader
//   call       uint32 BE length of the rest | varint-delimited RequestHeader |
//              varint-delimited request
//   answer     uint32 BE length of the rest | varint-delimited ResponseHeader |
//              varint-delimited response (absent when the header holds an exception) |
//              cell block (only when a cell codec was asked for; this client asks none)
//
// Thread-safety: free functions without state.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_RPC_FRAMING_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_RPC_FRAMING_H_

#include <google/protobuf/message_lite.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "hbase_rpc.pb.h"

namespace lifeboat::hbase {

// Answers larger than this are refused as corrupt (HBase's own default limit for a request,
// hbase.ipc.max.request.size, is 256 MiB).
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;

// "HBas", RPC version 0, auth method SIMPLE (80).
std::string ConnectionPreamble();

// The length-prefixed ConnectionHeader naming `service` ("MasterService") and `user`.
std::string EncodeConnectionHeader(std::string_view service, std::string_view user);

// One call: the length-prefixed RequestHeader and request.
std::string EncodeCall(const pb::RequestHeader& header,
                       const google::protobuf::MessageLite& request);

// The big-endian 4-byte length at the start of an answer.
uint32_t DecodeFrameLength(const unsigned char bytes[4]);

// One answer, the bytes after its length. `payload` views the response message's bytes
// (without their varint length) inside `frame`: empty when the header holds an exception.
struct ResponseFrame {
  pb::ResponseHeader header;
  std::string_view payload;
};
// DATA_LOSS when the frame is truncated or its header does not parse.
StatusOr<ResponseFrame> DecodeResponseFrame(std::string_view frame);

// Appends `value` as a protobuf varint.
void AppendVarint(uint64_t value, std::string* out);
// Reads a varint at the start of `in` and advances past it; false when truncated or longer
// than 10 bytes.
bool ReadVarint(std::string_view* in, uint64_t* value);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_RPC_FRAMING_H_
