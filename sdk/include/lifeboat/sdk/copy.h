// A resumable chunked copy into a local file: bytes from any range reader (a local file, the
// peer stream) appended to a partial file, hashed on the way, throttled, reported, stopped
// between chunks on cancel — and continued from where it stopped by the next call.
//
// Thread-safety: CopyResumable may run on several threads at once, each with its own partial
// file; readers are used by one copy at a time.
#ifndef LIFEBOAT_SDK_COPY_H_
#define LIFEBOAT_SDK_COPY_H_

#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace lifeboat::sdk {

// Hands the bytes of [offset, offset + length) of one item to `sink` in order; a non-OK
// status from `sink` stops the read and is returned. OUT_OF_RANGE when the item ends before.
using ChunkSink = std::function<Status(std::string_view chunk)>;
using RangeReader = std::function<Status(uint64_t offset, uint64_t length, const ChunkSink& sink)>;

// Reads a local file in `chunk_bytes` pieces (at most 1 MiB at a time: a reused buffer per
// thread, so that thousands of small files cost no allocation each). NOT_FOUND when the file
// does not exist.
RangeReader LocalFileReader(std::filesystem::path file, uint64_t chunk_bytes = 1 << 20);

// The same over a file the caller opened (e.g. with O_NOATIME, or to fstat it around the
// read); `fd` must stay open while the reader is used. `name` is for messages.
RangeReader FdRangeReader(int fd, std::filesystem::path name, uint64_t chunk_bytes = 1 << 20);

// Reads item `request.item()` of `request.snapshot()` from `peer` through the host's peer
// stream (Call::ReadPeer); offset and length are set per read.
RangeReader PeerRangeReader(const Call& call, v1::Peer peer, v1::ReadRequest request);

struct CopyOptions {
  // Shared bucket of the job (throttle.h); null = unlimited.
  Throttle* throttle = nullptr;
  // Called after every chunk with the bytes this call has moved so far.
  std::function<void(uint64_t bytes_moved)> on_bytes;
  // Called after every chunk with its size; a non-OK status stops the copy and is returned
  // (e.g. CANCELLED when another worker of the call failed). Bytes written stay.
  std::function<Status(uint64_t chunk_bytes)> on_chunk;
  // Called once with the length of a partial file continued from an earlier call (after its
  // bytes were hashed), before anything new is read: progress counts them as done.
  std::function<void(uint64_t bytes_resumed)> on_resumed;
  // Fsync the partial file before returning OK (the caller renames it into place next).
  bool sync = true;
  // Without `sync`: start the write-back of every chunk without waiting for it
  // (sync_file_range), so that a later syncfs(2) of the plugin's commit has little left.
  bool write_back = false;
  // Mode of a partial file the copy creates (before the caller sets the item's own).
  uint32_t create_mode = 0644;
};

struct CopyResult {
  uint64_t bytes_copied = 0;   // moved by this call
  uint64_t bytes_skipped = 0;  // already in the partial file from an earlier call
  std::string sha256;          // raw digest of all `size` bytes
};

// Makes `partial` hold the `size` bytes that `read` yields. A partial file an earlier call
// left is continued from its length (its bytes hashed first, not read again from the
// source); one longer than `size` is started over. A reader that yields more than `size`
// bytes is refused with DATA_LOSS before the excess is written. CANCELLED when `call` is cancelled
// between chunks: what was written stays, and the next call continues from it. Errors of the
// reader come back as they are; local errors name the file.
StatusOr<CopyResult> CopyResumable(const Call& call, const RangeReader& read, uint64_t size,
                                   const std::filesystem::path& partial,
                                   const CopyOptions& options = {});

// The raw SHA-256 of a local file, reading it in chunks; CANCELLED between chunks on cancel.
// `call` may be null.
StatusOr<std::string> Sha256OfFile(const std::filesystem::path& file, const Call* call = nullptr,
                                   uint64_t* bytes_read = nullptr);

// Called with the bytes read since the last call, at least every `chunk_bytes` and at the
// end; a non-OK status stops the read and is returned (progress, cancel, a stop flag).
using ReadChunkCallback = std::function<Status(uint64_t bytes)>;

// The same with a callback instead of `call` (NOT_FOUND when `file` does not exist).
StatusOr<std::string> Sha256OfFile(const std::filesystem::path& file, uint64_t chunk_bytes,
                                   const ReadChunkCallback& on_chunk);

// Feeds `fd` from its start to its end into `sha`, calling `on_chunk` as above (may be
// empty); returns the bytes read. For a file the caller opened and fstats around the read.
StatusOr<uint64_t> HashFd(int fd, const std::filesystem::path& name, uint64_t chunk_bytes,
                          Sha256& sha, const ReadChunkCallback& on_chunk);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_COPY_H_
