// libFuzzer target: the agent channel's frame decoder (core/src/net/frame.cc), the first code
// that reads bytes from the network. Run by tools/scripts/fuzz.sh.
//
// Input: byte 0 picks how the stream is cut into pieces, byte 1 the frame limit, the rest is
// the stream. Besides "never crash, never read out of bounds" (ASan, UBSan) it checks:
//  - every decoded envelope re-encodes and decodes to the same message;
//  - the fast data-frame encoder agrees with protobuf's for every decoded data chunk;
//  - the in-place data-frame reader (ParseDataFrame, NextFast) agrees with protobuf's parser
//    whenever it accepts a body, and NextFast yields what Next yields — also when data chunks
//    are taken out of the decoder (DetachData, byte 0's top bit) while it is fed in pieces;
//  - the decoder never holds more than one frame plus one piece.
#include <lifeboat/core/net/frame.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using lifeboat::core::net::AppendDataFrame;
using lifeboat::core::net::EncodeFrame;
using lifeboat::core::net::FrameDecoder;
using lifeboat::core::net::kFrameHeaderBytes;
using lifeboat::core::net::kMaxFrameBytesLimit;
namespace v1 = lifeboat::core::v1;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckEnvelope(const v1::Envelope& e) {
  auto frame = EncodeFrame(e, kMaxFrameBytesLimit);
  Check(frame.ok());
  FrameDecoder again(kMaxFrameBytesLimit);
  again.Feed(*frame);
  auto decoded = again.Next();
  Check(decoded.ok() && decoded->has_value());
  Check((*decoded)->SerializeAsString() == e.SerializeAsString());
  Check(again.Finish().ok());
  if (e.has_data()) {
    v1::Envelope canonical;
    canonical.set_call_id(e.call_id());
    canonical.mutable_data()->set_chunk(e.data().chunk());
    canonical.mutable_data()->set_last(e.data().last());
    std::string fast;
    Check(
        AppendDataFrame(e.call_id(), e.data().chunk(), e.data().last(), kMaxFrameBytesLimit, &fast)
            .ok());
    Check(fast == *EncodeFrame(canonical, kMaxFrameBytesLimit));
  }
}

// When the fast reader accepts `body`, protobuf must read the same data envelope from it.
void CheckFastRead(std::string_view body) {
  std::optional<FrameDecoder::DataView> view = lifeboat::core::net::ParseDataFrame(body);
  if (!view) return;
  v1::Envelope e;
  Check(e.ParseFromArray(body.data(), static_cast<int>(body.size())));
  Check(e.has_data());
  Check(e.call_id() == view->call_id);
  Check(e.data().chunk() == view->chunk);
  Check(e.data().last() == view->last);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t piece = 1 + data[0] % 97;
  const uint32_t limit = 16u << (data[1] % 16);  // 16 B .. 512 KiB
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  CheckFastRead(stream);
  // The same stream through NextFast: the same frames, data chunks possibly as views. With
  // byte 0's top bit, fed in pieces (sized as below) and every data chunk detached, the
  // decoder going on in the previous chunk's buffer.
  const bool detach = (data[0] & 0x80) != 0;
  std::vector<std::string> fast_frames;
  {
    FrameDecoder fast(limit);
    std::string recycled;
    bool broken = false;
    const size_t fast_piece = detach ? piece : stream.size() + 1;
    for (size_t pos = 0; pos < stream.size() && !broken; pos += fast_piece) {
      fast.Feed(stream.substr(pos, fast_piece));
      for (;;) {
        v1::Envelope e;
        FrameDecoder::DataView view;
        auto kind = fast.NextFast(&e, &view);
        if (!kind.ok()) broken = true;
        if (!kind.ok() || *kind == FrameDecoder::FrameKind::kNeedMore) break;
        if (*kind == FrameDecoder::FrameKind::kData) {
          e.Clear();
          e.set_call_id(view.call_id);
          e.mutable_data()->set_chunk(std::string(view.chunk));
          e.mutable_data()->set_last(view.last);
          if (detach) {
            const size_t pending = fast.buffered_bytes();
            FrameDecoder::Detached owned = fast.DetachData(std::move(recycled));
            Check(owned.chunk() == e.data().chunk());
            Check(fast.buffered_bytes() == pending);
            recycled = std::move(owned.buffer);
          }
        }
        fast_frames.push_back(e.SerializeAsString());
      }
    }
  }
  size_t decoded = 0;
  FrameDecoder decoder(limit);
  bool broken = false;
  for (size_t pos = 0; pos < stream.size() && !broken; pos += piece) {
    decoder.Feed(stream.substr(pos, piece));
    Check(decoder.buffered_bytes() <= kFrameHeaderBytes + limit + piece);
    for (;;) {
      auto next = decoder.Next();
      if (!next.ok()) {
        // Broken for good, and saying so again.
        Check(!decoder.Next().ok());
        Check(!decoder.Finish().ok());
        broken = true;
        break;
      }
      if (!next->has_value()) break;
      CheckEnvelope(**next);
      Check(decoded < fast_frames.size() && fast_frames[decoded] == (*next)->SerializeAsString());
      ++decoded;
    }
  }
  (void)decoder.Finish();
  Check(decoded == fast_frames.size());
  return 0;
}
