#include "copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "fs.h"

namespace lifeboat::localfs {
namespace {

// One 1 MiB buffer per thread: large reads keep the system call count low, and reusing the
// buffer avoids an mmap/munmap (and its page faults) per file.
constexpr size_t kBufferSize = 1 << 20;

char* ThreadBuffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[kBufferSize]);
  return buffer.get();
}

// pread(2) of up to `size` bytes, retrying on EINTR; 0 at the end of the file.
StatusOr<size_t> ReadAt(int fd, const std::string& path, char* buf, size_t size, uint64_t offset) {
  while (true) {
    ssize_t n = ::pread(fd, buf, size, static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError(errno, "cannot read", path);
  }
}

}  // namespace

Status CopyRange(int src_fd, const std::string& src_path, int dst_fd, const std::string& dst_path,
                 uint64_t offset, uint64_t length, uint64_t chunk_bytes, Sha256& sha,
                 const ChunkCallback& on_chunk) {
  ::posix_fadvise(src_fd, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  char* buf = ThreadBuffer();
  uint64_t end = offset + length;
  uint64_t chunk_start = offset;
  while (offset < end) {
    uint64_t chunk_end = std::min(end, chunk_start + chunk_bytes);
    while (offset < chunk_end) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(kBufferSize, chunk_end - offset));
      LIFEBOAT_ASSIGN_OR_RETURN(size_t n, ReadAt(src_fd, src_path, buf, want, offset));
      if (n == 0) {
        return Status(
            Code::kOutOfRange,
            src_path + " ended at byte " + std::to_string(offset) + " of " + std::to_string(end),
            src_path);
      }
      LIFEBOAT_RETURN_IF_ERROR(PwriteAll(dst_fd, buf, n, offset, dst_path));
      sha.Update(buf, n);
      offset += n;
    }
    // Start the write-back of this chunk now, without waiting for it: the disk works while
    // we read and hash the next one, and the syncfs(2) at commit has little left to do.
    // A hint only; durability comes from that syncfs.
    ::sync_file_range(dst_fd, static_cast<off_t>(chunk_start),
                      static_cast<off_t>(chunk_end - chunk_start), SYNC_FILE_RANGE_WRITE);
    LIFEBOAT_RETURN_IF_ERROR(on_chunk(chunk_end - chunk_start));
    chunk_start = chunk_end;
  }
  return OkStatus();
}

Status HashPrefix(int fd, const std::string& path, uint64_t length, Sha256& sha) {
  char* buf = ThreadBuffer();
  uint64_t offset = 0;
  while (offset < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kBufferSize, length - offset));
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, ReadAt(fd, path, buf, want, offset));
    if (n == 0) {
      return Status(Code::kOutOfRange, path + " is shorter than " + std::to_string(length), path);
    }
    sha.Update(buf, n);
    offset += n;
  }
  return OkStatus();
}

StatusOr<uint64_t> HashToEnd(int fd, const std::string& path, uint64_t chunk_bytes, Sha256& sha,
                             const ChunkCallback& on_chunk) {
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  char* buf = ThreadBuffer();
  uint64_t offset = 0;
  uint64_t since_chunk = 0;
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, ReadAt(fd, path, buf, kBufferSize, offset));
    if (n == 0) break;
    sha.Update(buf, n);
    offset += n;
    since_chunk += n;
    if (since_chunk >= chunk_bytes) {
      LIFEBOAT_RETURN_IF_ERROR(on_chunk(since_chunk));
      since_chunk = 0;
    }
  }
  if (since_chunk > 0) LIFEBOAT_RETURN_IF_ERROR(on_chunk(since_chunk));
  return offset;
}

StatusOr<std::string> HashFile(const std::string& path, uint64_t chunk_bytes,
                               const ChunkCallback& on_chunk) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "cannot open", path);
  Sha256 sha;
  LIFEBOAT_RETURN_IF_ERROR(HashToEnd(fd.get(), path, chunk_bytes, sha, on_chunk).status());
  std::string digest = sha.Finish();
  if (digest.size() != kDigestSize) return InternalError("SHA-256 failed for " + path, path);
  return digest;
}

}  // namespace lifeboat::localfs
