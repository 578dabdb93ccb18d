#include "rpc_framing.h"

namespace lifeboat::hbase {
namespace {

void AppendBigEndian32(uint32_t v, std::string* out) {
  out->push_back(static_cast<char>((v >> 24) & 0xff));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

void AppendDelimited(const google::protobuf::MessageLite& m, std::string* out) {
  std::string bytes = m.SerializeAsString();
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

// Reads one varint-delimited message body from the start of `in`.
bool ReadDelimited(std::string_view* in, std::string_view* body) {
  uint64_t n = 0;
  if (!ReadVarint(in, &n) || n > in->size()) return false;
  *body = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool ReadVarint(std::string_view* in, uint64_t* value) {
  uint64_t v = 0;
  for (int i = 0; i < 10 && static_cast<size_t>(i) < in->size(); ++i) {
    auto byte = static_cast<unsigned char>((*in)[i]);
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *value = v;
      return true;
    }
  }
  return false;
}

std::string ConnectionPreamble() {
  // The auth byte is AuthMethod.SIMPLE's code, 80 ('P'); Kerberos would be 81 plus SASL.
  return std::string("HBas\x00\x50", 6);
}

std::string EncodeConnectionHeader(std::string_view service, std::string_view user) {
  pb::ConnectionHeader header;
  header.mutable_user_info()->set_effective_user(std::string(user));
  header.set_service_name(std::string(service));
  std::string bytes = header.SerializeAsString();
  std::string out;
  AppendBigEndian32(static_cast<uint32_t>(bytes.size()), &out);
  out += bytes;
  return out;
}

std::string EncodeCall(const pb::RequestHeader& header,
                       const google::protobuf::MessageLite& request) {
  std::string body;
  AppendDelimited(header, &body);
  AppendDelimited(request, &body);
  std::string out;
  AppendBigEndian32(static_cast<uint32_t>(body.size()), &out);
  out += body;
  return out;
}

uint32_t DecodeFrameLength(const unsigned char bytes[4]) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

StatusOr<ResponseFrame> DecodeResponseFrame(std::string_view frame) {
  ResponseFrame out;
  std::string_view header;
  if (!ReadDelimited(&frame, &header)) {
    return DataLossError("the answer's ResponseHeader is truncated");
  }
  if (!out.header.ParseFromArray(header.data(), static_cast<int>(header.size()))) {
    return DataLossError("the answer's ResponseHeader does not parse");
  }
  if (out.header.has_exception()) return out;
  if (!ReadDelimited(&frame, &out.payload)) {
    return DataLossError("the answer's response message is truncated");
  }
  return out;
}

}  // namespace lifeboat::hbase
