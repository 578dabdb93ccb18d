// Frames of the agent channel: a 4-byte big-endian length, then that many bytes of a
// serialized lifeboat.core.v1.Envelope (core/proto/lifeboat/core/v1/rpc.proto).
//
// The decoder is the first code that touches bytes from the network, so it treats its input as
// hostile: a frame longer than the limit is refused from its header alone (nothing is
// allocated for it), an unparsable envelope is an error naming the frame, and a stream that
// ends inside a frame is reported by Finish(). None of these crash or throw.
//
// Thread-safety: EncodeFrame/AppendFrame are free functions without shared state. A
// FrameDecoder is a value owned by one connection; it is not safe for concurrent use.
#ifndef LIFEBOAT_CORE_NET_FRAME_H_
#define LIFEBOAT_CORE_NET_FRAME_H_

#include <lifeboat/core/v1/rpc.pb.h>
#include <lifeboat/status.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lifeboat::core::net {

// The length prefix: 4 bytes, big-endian, counting the envelope bytes that follow it.
inline constexpr size_t kFrameHeaderBytes = 4;
// Default limit on one frame's envelope (16 MiB). Bulk data travels as many smaller chunks.
inline constexpr uint32_t kDefaultMaxFrameBytes = 16u << 20;
// The largest limit accepted anywhere (256 MiB). It keeps the first byte of any valid header
// below 0x16, the first byte of a TLS handshake record, which lets a plain-TCP end recognise a
// TLS peer and say so.
inline constexpr uint32_t kMaxFrameBytesLimit = 256u << 20;

// Appends the frame of `envelope` (header + serialized bytes) to `*out`.
// RESOURCE_EXHAUSTED when the serialized envelope is longer than `max_frame_bytes` (nothing is
// appended then); the message gives both sizes.
Status AppendFrame(const v1::Envelope& envelope, uint32_t max_frame_bytes, std::string* out);

// The frame of `envelope` as a new string; errors as AppendFrame.
StatusOr<std::string> EncodeFrame(const v1::Envelope& envelope,
                                  uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// Appends the frame of Envelope{call_id, data{chunk, last}} to `*out`, byte for byte what
// AppendFrame would produce, but copying `chunk` once instead of twice (bulk streams).
// RESOURCE_EXHAUSTED as AppendFrame.
Status AppendDataFrame(uint64_t call_id, std::string_view chunk, bool last,
                       uint32_t max_frame_bytes, std::string* out);

// Splits a byte stream into envelopes. Feed bytes in pieces of any size (or write them in
// place with Prepare/Commit), then call Next() until it yields no envelope.
class FrameDecoder {
 public:
  // `max_frame_bytes` is clamped to [1, kMaxFrameBytesLimit].
  explicit FrameDecoder(uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

  // Appends `bytes` to the undecoded input.
  void Feed(std::string_view bytes);

  // Zero-copy input: returns writable space of at least `min_bytes` at the end of the
  // undecoded input; after writing n bytes into it, call Commit(n). The span is valid until
  // the next call of any other method.
  std::span<char> Prepare(size_t min_bytes);
  // Precondition: n <= size of the span returned by the last Prepare().
  void Commit(size_t n);

  // The next complete envelope; std::nullopt when more bytes are needed. Errors:
  //  RESOURCE_EXHAUSTED  the header declares more than the limit (checked before the body
  //                      arrives),
  //  INVALID_ARGUMENT    the body is not a valid Envelope.
  // Each names the frame's ordinal (1 = first) and its byte offset in the stream. After an
  // error the decoder is broken: every further Next() returns the same error, because the
  // stream has lost its framing.
  StatusOr<std::optional<v1::Envelope>> Next();

  // The same, with a fast path for bulk streams: a frame that is exactly a data chunk in the
  // canonical encoding (as AppendDataFrame writes it) comes back as kData with `*data`
  // viewing the chunk inside the decoder's buffer — no parse, no copy — valid until the next
  // call of any method. Any other frame is parsed into `*envelope` (kEnvelope). kNeedMore
  // when no complete frame is buffered. Errors as Next().
  enum class FrameKind { kNeedMore, kEnvelope, kData };
  struct DataView {
    uint64_t call_id = 0;
    std::string_view chunk;
    bool last = false;
  };
  StatusOr<FrameKind> NextFast(v1::Envelope* envelope, DataView* data);

  // Bulk streams without a second copy: right after NextFast returned kData, hands over the
  // buffer that holds that chunk, so that the caller may keep the bytes for as long as it likes
  // (the chunk is bytes [offset, offset + size) of `buffer`). The decoder goes on in
  // `replacement` (a buffer handed over earlier, say; its size is reused as room), into which it
  // moves the bytes it holds past the chunk's frame — none when reads stopped at the frame's end
  // (see BytesToFrameEnd). Precondition: the last call of any method was a NextFast that
  // returned kData; otherwise the result is empty and nothing changes.
  struct Detached {
    std::string buffer;
    size_t offset = 0;
    size_t size = 0;
    std::string_view chunk() const { return std::string_view(buffer).substr(offset, size); }
  };
  Detached DetachData(std::string replacement);

  // Bytes still missing to complete the frame being received (header included); 0 when no
  // frame header is buffered yet (the length is unknown) or the buffered bytes complete it.
  // A reader that wants frames to end where its reads end asks for no more than this.
  size_t BytesToFrameEnd() const;

  // At the end of the stream: OK when no partial frame is pending; otherwise DATA_LOSS saying
  // which frame was cut short and how many of its bytes arrived. Also returns the decoder's
  // error if it is broken.
  Status Finish() const;

  // Envelopes decoded so far.
  uint64_t frames_decoded() const { return frames_; }
  // Bytes fed and not yet decoded.
  size_t buffered_bytes() const { return end_ - begin_; }
  // The size of the buffer the decoder reads into (what DetachData hands over with a chunk).
  size_t buffer_bytes() const { return buf_.size(); }
  uint32_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  void Compact(size_t extra);
  // The body of the next complete frame (std::nullopt: need more), consumed from the buffer
  // but still in place; or the decoder's error.
  StatusOr<std::optional<std::string_view>> NextBody();
  Status Unparsable(size_t length);

  uint32_t max_frame_bytes_;
  std::string buf_;
  size_t begin_ = 0;  // first undecoded byte in buf_
  size_t end_ = 0;    // one past the last valid byte in buf_
  uint64_t frames_ = 0;
  uint64_t offset_ = 0;  // stream offset of buf_[begin_]
  Status error_;
  // The chunk NextFast last returned as kData, as an offset into buf_ (npos: none, or another
  // call came since).
  size_t data_offset_ = std::string::npos;
  size_t data_size_ = 0;
};

// Reads `body` (one frame's bytes) as a data envelope in the canonical encoding:
// Envelope{call_id (optional), data{chunk (optional), last (optional)}} with fields in
// number order, minimal varints, nothing else. std::nullopt for anything else — which may
// still be a valid envelope, to be parsed by protobuf. When it returns a view, protobuf
// parses `body` to the same call id, chunk and last flag (checked by the frame fuzzer).
std::optional<FrameDecoder::DataView> ParseDataFrame(std::string_view body);

// For messages: "request", "data", ... — the kind of an envelope's body.
std::string_view BodyName(const v1::Envelope& envelope);

}  // namespace lifeboat::core::net

#endif  // LIFEBOAT_CORE_NET_FRAME_H_
