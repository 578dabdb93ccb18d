#include <lifeboat/core/net/frame.h>

#include <algorithm>
#include <cstring>

namespace lifeboat::core::net {

namespace {

uint32_t ReadBigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

void WriteBigEndian32(uint32_t v, char* p) {
  p[0] = static_cast<char>((v >> 24) & 0xff);
  p[1] = static_cast<char>((v >> 16) & 0xff);
  p[2] = static_cast<char>((v >> 8) & 0xff);
  p[3] = static_cast<char>(v & 0xff);
}

// Protobuf wire format: varints and field keys (field << 3 | wire type).
size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* PutVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

constexpr uint8_t kVarintType = 0;
constexpr uint8_t kLengthDelimitedType = 2;
constexpr uint8_t Key(int field, uint8_t type) { return static_cast<uint8_t>(field << 3 | type); }

}  // namespace

std::string_view BodyName(const v1::Envelope& envelope) {
  switch (envelope.body_case()) {
    case v1::Envelope::kHello:
      return "hello";
    case v1::Envelope::kHelloReply:
      return "hello_reply";
    case v1::Envelope::kRequest:
      return "request";
    case v1::Envelope::kResponse:
      return "response";
    case v1::Envelope::kProgress:
      return "progress";
    case v1::Envelope::kData:
      return "data";
    case v1::Envelope::kCancel:
      return "cancel";
    case v1::Envelope::kPing:
      return "ping";
    case v1::Envelope::kPong:
      return "pong";
    case v1::Envelope::kWindowUpdate:
      return "window_update";
    case v1::Envelope::kGoodbye:
      return "goodbye";
    case v1::Envelope::BODY_NOT_SET:
      return "empty envelope";
    default:
      return "unknown body";
  }
}

Status AppendFrame(const v1::Envelope& envelope, uint32_t max_frame_bytes, std::string* out) {
  const size_t size = envelope.ByteSizeLong();
  const size_t limit = std::min(max_frame_bytes, kMaxFrameBytesLimit);
  if (size > limit) {
    return Status(Code::kResourceExhausted,
                  "a " + std::string(BodyName(envelope)) + " frame of " + std::to_string(size) +
                      " bytes exceeds the channel's frame limit of " + std::to_string(limit) +
                      " bytes (max_frame_bytes); send large data as a stream of chunks");
  }
  const size_t start = out->size();
  out->resize(start + kFrameHeaderBytes + size);
  WriteBigEndian32(static_cast<uint32_t>(size), out->data() + start);
  // Uses the size computed above (cached in the message), so the bytes written match the header.
  envelope.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(out->data() + start + kFrameHeaderBytes));
  return OkStatus();
}

Status AppendDataFrame(uint64_t call_id, std::string_view chunk, bool last,
                       uint32_t max_frame_bytes, std::string* out) {
  // Envelope{1: call_id, 7: Data{1: chunk, 2: last}}, fields in number order and defaults
  // omitted, as protobuf serializes them.
  size_t data_size = 0;
  if (!chunk.empty()) data_size += 1 + VarintSize(chunk.size()) + chunk.size();
  if (last) data_size += 2;
  size_t size = 1 + VarintSize(data_size) + data_size;
  if (call_id != 0) size += 1 + VarintSize(call_id);
  const size_t limit = std::min(max_frame_bytes, kMaxFrameBytesLimit);
  if (size > limit) {
    return Status(Code::kResourceExhausted, "a data frame of " + std::to_string(size) +
                                                " bytes exceeds the channel's frame limit of " +
                                                std::to_string(limit) +
                                                " bytes (max_frame_bytes); send smaller chunks");
  }
  // Everything but the chunk is built here; the chunk is appended (no zero-fill of a buffer
  // that is overwritten anyway).
  char head[kFrameHeaderBytes + 3 * 10 + 2];
  char* p = head;
  WriteBigEndian32(static_cast<uint32_t>(size), p);
  p += kFrameHeaderBytes;
  if (call_id != 0) {
    *p++ = static_cast<char>(Key(1, kVarintType));
    p = PutVarint(call_id, p);
  }
  *p++ = static_cast<char>(Key(7, kLengthDelimitedType));
  p = PutVarint(data_size, p);
  if (!chunk.empty()) {
    *p++ = static_cast<char>(Key(1, kLengthDelimitedType));
    p = PutVarint(chunk.size(), p);
  }
  out->reserve(out->size() + kFrameHeaderBytes + size);
  out->append(head, p - head);
  out->append(chunk);
  if (last) {
    const char tail[2] = {static_cast<char>(Key(2, kVarintType)), 1};
    out->append(tail, 2);
  }
  return OkStatus();
}

StatusOr<std::string> EncodeFrame(const v1::Envelope& envelope, uint32_t max_frame_bytes) {
  std::string out;
  LIFEBOAT_RETURN_IF_ERROR(AppendFrame(envelope, max_frame_bytes, &out));
  return out;
}

FrameDecoder::FrameDecoder(uint32_t max_frame_bytes)
    : max_frame_bytes_(std::clamp<uint32_t>(max_frame_bytes, 1, kMaxFrameBytesLimit)) {}

FrameDecoder::Detached FrameDecoder::DetachData(std::string replacement) {
  Detached out;
  if (data_offset_ == std::string::npos) return out;
  out.offset = data_offset_;
  out.size = data_size_;
  data_offset_ = std::string::npos;
  const size_t pending = end_ - begin_;
  out.buffer = std::move(buf_);
  buf_ = std::move(replacement);
  if (buf_.size() < pending) buf_.resize(pending);
  if (pending > 0) std::memcpy(buf_.data(), out.buffer.data() + begin_, pending);
  begin_ = 0;
  end_ = pending;
  return out;
}

size_t FrameDecoder::BytesToFrameEnd() const {
  const size_t available = end_ - begin_;
  if (!error_.ok() || available < kFrameHeaderBytes) return 0;
  const size_t frame = kFrameHeaderBytes + ReadBigEndian32(buf_.data() + begin_);
  return frame > available ? frame - available : 0;
}

void FrameDecoder::Compact(size_t extra) {
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < extra) buf_.resize(end_ + extra);
}

std::span<char> FrameDecoder::Prepare(size_t min_bytes) {
  data_offset_ = std::string::npos;
  if (buf_.size() - end_ < min_bytes) Compact(min_bytes);
  return std::span<char>(buf_.data() + end_, buf_.size() - end_);
}

void FrameDecoder::Commit(size_t n) {
  data_offset_ = std::string::npos;
  end_ = std::min(end_ + n, buf_.size());
}

void FrameDecoder::Feed(std::string_view bytes) {
  if (bytes.empty()) return;
  std::span<char> space = Prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  Commit(bytes.size());
}

StatusOr<std::optional<std::string_view>> FrameDecoder::NextBody() {
  data_offset_ = std::string::npos;
  if (!error_.ok()) return error_;
  const size_t available = end_ - begin_;
  if (available < kFrameHeaderBytes) return std::optional<std::string_view>();
  const uint32_t length = ReadBigEndian32(buf_.data() + begin_);
  if (length > max_frame_bytes_) {
    std::string hint;
    if (static_cast<unsigned char>(buf_[begin_]) == 0x16) {
      hint =
          " (the bytes look like the start of a TLS handshake: is the peer using TLS "
          "while this end has TLS disabled?)";
    }
    error_ = Status(Code::kResourceExhausted,
                    "frame " + std::to_string(frames_ + 1) + " at byte offset " +
                        std::to_string(offset_) + " declares " + std::to_string(length) +
                        " bytes, more than the frame limit of " + std::to_string(max_frame_bytes_) +
                        " bytes (max_frame_bytes)" + hint);
    return error_;
  }
  if (available - kFrameHeaderBytes < length) return std::optional<std::string_view>();
  std::string_view body(buf_.data() + begin_ + kFrameHeaderBytes, length);
  const size_t consumed = kFrameHeaderBytes + length;
  begin_ += consumed;
  offset_ += consumed;
  ++frames_;
  // The bytes stay where they are until the next Feed/Prepare: `body` remains valid.
  if (begin_ == end_) begin_ = end_ = 0;
  return std::optional<std::string_view>(body);
}

Status FrameDecoder::Unparsable(size_t length) {
  // NextBody already counted the frame: it is frames_, at offset_ - its size.
  error_ = Status(Code::kInvalidArgument,
                  "frame " + std::to_string(frames_) + " at byte offset " +
                      std::to_string(offset_ - kFrameHeaderBytes - length) + " (" +
                      std::to_string(length) +
                      " bytes) is not a valid lifeboat.core.v1.Envelope; the peer does not "
                      "speak the Lifeboat channel protocol, or the stream is corrupt");
  return error_;
}

StatusOr<std::optional<v1::Envelope>> FrameDecoder::Next() {
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string_view> body, NextBody());
  if (!body) return std::optional<v1::Envelope>();
  v1::Envelope envelope;
  if (!envelope.ParseFromArray(body->data(), static_cast<int>(body->size()))) {
    return Unparsable(body->size());
  }
  return std::optional<v1::Envelope>(std::move(envelope));
}

StatusOr<FrameDecoder::FrameKind> FrameDecoder::NextFast(v1::Envelope* envelope, DataView* data) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string_view> body, NextBody());
  if (!body) return FrameKind::kNeedMore;
  if (std::optional<DataView> view = ParseDataFrame(*body)) {
    *data = *view;
    const char* at = view->chunk.empty() ? body->data() : view->chunk.data();
    data_offset_ = static_cast<size_t>(at - buf_.data());
    data_size_ = view->chunk.size();
    return FrameKind::kData;
  }
  if (!envelope->ParseFromArray(body->data(), static_cast<int>(body->size()))) {
    return Unparsable(body->size());
  }
  return FrameKind::kEnvelope;
}

namespace {

// A minimal (canonical) varint at `*p`, advancing it; nullopt if absent, overlong or past end.
std::optional<uint64_t> GetVarint(const char** p, const char* end) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const auto byte = static_cast<uint8_t>(*(*p)++);
    if (shift == 63 && byte > 1) return std::nullopt;  // more than 64 bits
    v |= uint64_t{static_cast<uint8_t>(byte & 0x7f)} << shift;
    if ((byte & 0x80) == 0) {
      // Overlong forms (a trailing zero byte) are legal protobuf but never ours.
      if (byte == 0 && shift > 0) return std::nullopt;
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<FrameDecoder::DataView> ParseDataFrame(std::string_view body) {
  const char* p = body.data();
  const char* end = p + body.size();
  FrameDecoder::DataView view;
  if (p < end && static_cast<uint8_t>(*p) == Key(1, kVarintType)) {
    ++p;
    std::optional<uint64_t> id = GetVarint(&p, end);
    if (!id || *id == 0) return std::nullopt;
    view.call_id = *id;
  }
  if (p >= end || static_cast<uint8_t>(*p) != Key(7, kLengthDelimitedType)) return std::nullopt;
  ++p;
  std::optional<uint64_t> data_size = GetVarint(&p, end);
  if (!data_size || *data_size != static_cast<uint64_t>(end - p)) return std::nullopt;
  if (p < end && static_cast<uint8_t>(*p) == Key(1, kLengthDelimitedType)) {
    ++p;
    std::optional<uint64_t> n = GetVarint(&p, end);
    if (!n || *n == 0 || *n > static_cast<uint64_t>(end - p)) return std::nullopt;
    view.chunk = std::string_view(p, *n);
    p += *n;
  }
  if (p < end && static_cast<uint8_t>(*p) == Key(2, kVarintType)) {
    ++p;
    if (p >= end || *p != 1) return std::nullopt;
    ++p;
    view.last = true;
  }
  if (p != end) return std::nullopt;
  return view;
}

Status FrameDecoder::Finish() const {
  if (!error_.ok()) return error_;
  const size_t available = end_ - begin_;
  if (available == 0) return OkStatus();
  const uint64_t ordinal = frames_ + 1;
  if (available < kFrameHeaderBytes) {
    return DataLossError("the stream ended inside the header of frame " + std::to_string(ordinal) +
                         " (at byte offset " + std::to_string(offset_) +
                         "): " + std::to_string(available) + " of " +
                         std::to_string(kFrameHeaderBytes) + " header bytes arrived");
  }
  const uint32_t length = ReadBigEndian32(buf_.data() + begin_);
  return DataLossError("the stream ended inside frame " + std::to_string(ordinal) +
                       " (at byte offset " + std::to_string(offset_) +
                       "): " + std::to_string(available - kFrameHeaderBytes) + " of its " +
                       std::to_string(length) + " bytes arrived");
}

}  // namespace lifeboat::core::net
