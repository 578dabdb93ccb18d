// Streaming data between files while hashing it, in the units the configuration asks for.
//
// Thread-safety: each thread uses its own read buffer; functions are safe from any thread.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_COPY_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_COPY_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <string>

#include "sha256.h"

namespace lifeboat::localfs {

// Called after each chunk with the bytes it held; a non-OK status stops the stream and is
// returned by it (cancellation, pacing).
using ChunkCallback = std::function<Status(uint64_t chunk)>;

// Copies `length` bytes of `src_fd` from `offset` to the same offset of `dst_fd`, feeding
// every byte to `sha`, calling `on_chunk` after every `chunk_bytes` and at the end.
// OUT_OF_RANGE when the source ends before `length` bytes.
Status CopyRange(int src_fd, const std::string& src_path, int dst_fd, const std::string& dst_path,
                 uint64_t offset, uint64_t length, uint64_t chunk_bytes, Sha256& sha,
                 const ChunkCallback& on_chunk);

// Feeds the first `length` bytes of `fd` to `sha` (the prefix of a resumed part).
// OUT_OF_RANGE when the file is shorter.
Status HashPrefix(int fd, const std::string& path, uint64_t length, Sha256& sha);

// Feeds `fd` from its start to its end to `sha`, calling `on_chunk` after every
// `chunk_bytes`. Returns the number of bytes read.
StatusOr<uint64_t> HashToEnd(int fd, const std::string& path, uint64_t chunk_bytes, Sha256& sha,
                             const ChunkCallback& on_chunk);

// The SHA-256 of the whole file at `path`, calling `on_chunk` as HashToEnd() does.
StatusOr<std::string> HashFile(const std::string& path, uint64_t chunk_bytes,
                               const ChunkCallback& on_chunk);

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_COPY_H_
