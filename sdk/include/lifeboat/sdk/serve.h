// Serving a Read (the peer stream's serving side, ABI 1.1) from a local file.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_SDK_SERVE_H_
#define LIFEBOAT_SDK_SERVE_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <filesystem>

namespace lifeboat::sdk {

// Emits bytes [offset, offset + length) of `file` through call.EmitChunk (length 0 = to the
// end), in `chunk_bytes` pieces. NOT_FOUND when the file is gone; OUT_OF_RANGE for an offset
// or a range past its end; CANCELLED when the reader went away. The plugin has already
// checked that `file` belongs to the snapshot the request names (Read's contract).
StatusOr<v1::ReadResponse> ServeFileRange(const Call& call, const std::filesystem::path& file,
                                          uint64_t offset, uint64_t length,
                                          uint64_t chunk_bytes = 1 << 20);

// The same over a file the caller opened and checked (`fd`, `name` for messages; e.g. opened
// with O_NOFOLLOW and found regular). With `clamp`, a range reaching past the end is served
// up to the end, and a file that shrinks while served ends the range there instead of
// failing: the response's `bytes` tells the reader what it got. CANCELLED when the call is
// cancelled between chunks.
StatusOr<v1::ReadResponse> ServeFdRange(const Call& call, int fd, const std::filesystem::path& name,
                                        uint64_t offset, uint64_t length, bool clamp,
                                        uint64_t chunk_bytes = 1 << 20);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_SERVE_H_
