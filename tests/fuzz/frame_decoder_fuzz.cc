// libFuzzer target: the agent channel's frame decoder (core/src/net/frame.cc), the first code
// that reads bytes from the network. Run by tools/scripts/fuzz.sh.
//
// Input: byte 0 picks how the stream is cut into pieces, byte 1 the frame limit, the rest is
// the stream. Besides "never crash, never read out of bounds" (ASan, UBSan) it checks:
//  - every decoded envelope re-encodes and decodes to the same message;
//  - the fast data-frame encoder agrees with protobuf's for every decoded data chunk;
//  - the decoder never holds more than one frame plus one piece.
#include <lifeboat/core/net/frame.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t piece = 1 + data[0] % 97;
  const uint32_t limit = 16u << (data[1] % 16);  // 16 B .. 512 KiB
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
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
    }
  }
  (void)decoder.Finish();
  return 0;
}
