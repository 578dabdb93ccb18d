#include <fcntl.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace lifeboat::sdk {
namespace fs = std::filesystem;
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr uint64_t kChunk = 1 << 20;

// One 1 MiB buffer per thread: large reads keep the system call count low, and reusing it
// avoids an allocation (and its page faults) per file when thousands of small ones are read.
char* ThreadBuffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[kChunk]);
  return buffer.get();
}

// pread(2) of up to `size` bytes, retrying on EINTR; 0 at the end of the file.
StatusOr<size_t> ReadAt(int fd, const fs::path& path, char* buf, size_t size, uint64_t offset) {
  for (;;) {
    ssize_t n = ::pread(fd, buf, size, static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError(path, "read", errno);
  }
}

// Feeds bytes [0, length) of `fd` to `sha`; OUT_OF_RANGE when the file is shorter.
Status HashPrefix(int fd, const fs::path& path, uint64_t length, Sha256& sha) {
  char* buf = ThreadBuffer();
  uint64_t done = 0;
  while (done < length) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        size_t n, ReadAt(fd, path, buf, std::min<uint64_t>(kChunk, length - done), done));
    if (n == 0) {
      return OutOfRangeError(path.string() + " ended before its first " + std::to_string(length) +
                             " bytes");
    }
    sha.Update(buf, n);
    done += n;
  }
  return OkStatus();
}

Status ReadFdRange(int fd, const fs::path& file, uint64_t chunk_bytes, uint64_t offset,
                   uint64_t length, const ChunkSink& sink) {
  ::posix_fadvise(fd, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  char* buf = ThreadBuffer();
  const uint64_t piece = std::clamp<uint64_t>(chunk_bytes, 4096, kChunk);
  uint64_t done = 0;
  while (done < length) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        size_t n, ReadAt(fd, file, buf, std::min<uint64_t>(piece, length - done), offset + done));
    if (n == 0) {
      return OutOfRangeError(file.string() + " ends at " + std::to_string(offset + done) +
                             ", before the " + std::to_string(offset + length) +
                             " bytes asked for");
    }
    LIFEBOAT_RETURN_IF_ERROR(sink(std::string_view(buf, n)));
    done += n;
  }
  return OkStatus();
}

}  // namespace

RangeReader FdRangeReader(int fd, fs::path name, uint64_t chunk_bytes) {
  return [fd, name = std::move(name), chunk_bytes](uint64_t offset, uint64_t length,
                                                   const ChunkSink& sink) -> Status {
    return ReadFdRange(fd, name, chunk_bytes, offset, length, sink);
  };
}

RangeReader LocalFileReader(fs::path file, uint64_t chunk_bytes) {
  return [file = std::move(file), chunk_bytes](uint64_t offset, uint64_t length,
                                               const ChunkSink& sink) -> Status {
    Fd f;
    f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd < 0) return ErrnoError(file, "open", errno);
    return ReadFdRange(f.fd, file, chunk_bytes, offset, length, sink);
  };
}

RangeReader PeerRangeReader(const Call& call, v1::Peer peer, v1::ReadRequest request) {
  return [&call, peer = std::move(peer), request = std::move(request)](
             uint64_t offset, uint64_t length, const ChunkSink& sink) -> Status {
    v1::ReadRequest r = request;
    r.set_offset(offset);
    r.set_length(length);
    uint64_t got = 0;
    LIFEBOAT_RETURN_IF_ERROR(call.ReadPeer(peer, r, [&](std::string_view chunk) {
      got += chunk.size();
      return sink(chunk);
    }));
    // length 0 means "to the end" for Read; a copy always asks for a definite range.
    if (got != length) {
      return OutOfRangeError("peer read of " + request.item() + " gave " + std::to_string(got) +
                             " bytes from " + std::to_string(offset) + ", not " +
                             std::to_string(length));
    }
    return OkStatus();
  };
}

StatusOr<CopyResult> CopyResumable(const Call& call, const RangeReader& read, uint64_t size,
                                   const fs::path& partial, const CopyOptions& options) {
  Fd f;
  f.fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC,
                static_cast<mode_t>(options.create_mode));
  if (f.fd < 0) return ErrnoError(partial, "open", errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return ErrnoError(partial, "stat", errno);
  uint64_t have = static_cast<uint64_t>(st.st_size);
  Sha256 sha;
  if (have > size) {
    // Longer than the item: not a prefix of it. Start over.
    if (::ftruncate(f.fd, 0) != 0) return ErrnoError(partial, "truncate", errno);
    have = 0;
  }
  if (have > 0) {
    LIFEBOAT_RETURN_IF_ERROR(HashPrefix(f.fd, partial, have, sha));
    if (options.on_resumed) options.on_resumed(have);
  }
  CopyResult result;
  result.bytes_skipped = have;
  uint64_t at = have;
  if (at < size) {
    Status s = read(at, size - at, [&](std::string_view chunk) -> Status {
      if (call.Cancelled()) return CancelledError("copy into " + partial.string() + " cancelled");
      if (chunk.size() > size - at) {
        return DataLossError("the source of " + partial.string() + " gave more than the " +
                             std::to_string(size) + " bytes asked for");
      }
      if (options.throttle != nullptr) {
        LIFEBOAT_RETURN_IF_ERROR(options.throttle->Acquire(chunk.size(), &call));
      }
      size_t off = 0;
      while (off < chunk.size()) {
        ssize_t n =
            ::pwrite(f.fd, chunk.data() + off, chunk.size() - off, static_cast<off_t>(at + off));
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoError(partial, "write", errno);
        }
        off += static_cast<size_t>(n);
      }
      if (options.write_back && !options.sync) {
        // A hint only: the disk works on this chunk while the next one is read.
        ::sync_file_range(f.fd, static_cast<off_t>(at), static_cast<off_t>(chunk.size()),
                          SYNC_FILE_RANGE_WRITE);
      }
      sha.Update(chunk);
      at += chunk.size();
      result.bytes_copied += chunk.size();
      if (options.on_bytes) options.on_bytes(result.bytes_copied);
      if (options.on_chunk) return options.on_chunk(chunk.size());
      return OkStatus();
    });
    if (!s.ok()) return s;
  }
  if (at != size) {
    return OutOfRangeError("copy into " + partial.string() + " got " + std::to_string(at) +
                           " bytes of " + std::to_string(size));
  }
  if (options.sync && ::fsync(f.fd) != 0) return ErrnoError(partial, "sync", errno);
  result.sha256 = sha.Finish();
  if (result.sha256.size() != kSha256Bytes) return InternalError("OpenSSL's SHA-256 failed");
  return result;
}

StatusOr<uint64_t> HashFd(int fd, const fs::path& name, uint64_t chunk_bytes, Sha256& sha,
                          const ReadChunkCallback& on_chunk) {
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  char* buf = ThreadBuffer();
  uint64_t total = 0;
  uint64_t since_chunk = 0;
  for (;;) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, ReadAt(fd, name, buf, kChunk, total));
    if (n == 0) break;
    sha.Update(buf, n);
    total += n;
    since_chunk += n;
    if (since_chunk >= chunk_bytes && on_chunk) {
      LIFEBOAT_RETURN_IF_ERROR(on_chunk(since_chunk));
      since_chunk = 0;
    }
  }
  if (since_chunk > 0 && on_chunk) LIFEBOAT_RETURN_IF_ERROR(on_chunk(since_chunk));
  return total;
}

StatusOr<std::string> Sha256OfFile(const fs::path& file, uint64_t chunk_bytes,
                                   const ReadChunkCallback& on_chunk) {
  Fd f;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return ErrnoError(file, "open", errno);
  Sha256 sha;
  LIFEBOAT_RETURN_IF_ERROR(HashFd(f.fd, file, chunk_bytes, sha, on_chunk).status());
  std::string digest = sha.Finish();
  if (digest.size() != kSha256Bytes) return InternalError("OpenSSL's SHA-256 failed");
  return digest;
}

StatusOr<std::string> Sha256OfFile(const fs::path& file, const Call* call, uint64_t* bytes_read) {
  uint64_t total = 0;
  StatusOr<std::string> digest = Sha256OfFile(file, kChunk, [&](uint64_t n) -> Status {
    total += n;
    if (call != nullptr && call->Cancelled()) return CancelledError("digest of " + file.string());
    return OkStatus();
  });
  if (digest.ok() && bytes_read != nullptr) *bytes_read = total;
  return digest;
}

}  // namespace lifeboat::sdk
