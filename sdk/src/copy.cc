#include <fcntl.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

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

// Feeds bytes [0, length) of `fd` to `sha`; OUT_OF_RANGE when the file is shorter.
Status HashPrefix(int fd, const fs::path& path, uint64_t length, Sha256& sha) {
  std::vector<char> buf(kChunk);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), length - done),
                        static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(path, "read", errno);
    }
    if (n == 0)
      return OutOfRangeError(path.string() + " ended before its first " + std::to_string(length) +
                             " bytes");
    sha.Update(buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  return OkStatus();
}

}  // namespace

RangeReader LocalFileReader(fs::path file, uint64_t chunk_bytes) {
  return [file = std::move(file), chunk_bytes](uint64_t offset, uint64_t length,
                                               const ChunkSink& sink) -> Status {
    Fd f;
    f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd < 0) return ErrnoError(file, "open", errno);
    std::vector<char> buf(std::max<uint64_t>(chunk_bytes, 4096));
    uint64_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(f.fd, buf.data(), std::min<uint64_t>(buf.size(), length - done),
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(file, "read", errno);
      }
      if (n == 0) {
        return OutOfRangeError(file.string() + " ends at " + std::to_string(offset + done) +
                               ", before the " + std::to_string(offset + length) +
                               " bytes asked for");
      }
      LIFEBOAT_RETURN_IF_ERROR(sink(std::string_view(buf.data(), static_cast<size_t>(n))));
      done += static_cast<uint64_t>(n);
    }
    return OkStatus();
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
  f.fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
  if (have > 0) LIFEBOAT_RETURN_IF_ERROR(HashPrefix(f.fd, partial, have, sha));
  CopyResult result;
  result.bytes_skipped = have;
  uint64_t at = have;
  if (at < size) {
    Status s = read(at, size - at, [&](std::string_view chunk) -> Status {
      if (call.Cancelled()) return CancelledError("copy into " + partial.string() + " cancelled");
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
      sha.Update(chunk);
      at += chunk.size();
      result.bytes_copied += chunk.size();
      if (options.on_bytes) options.on_bytes(result.bytes_copied);
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

StatusOr<std::string> Sha256OfFile(const fs::path& file, const Call* call, uint64_t* bytes_read) {
  Fd f;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return ErrnoError(file, "open", errno);
  Sha256 sha;
  std::vector<char> buf(kChunk);
  uint64_t total = 0;
  for (;;) {
    if (call != nullptr && call->Cancelled()) return CancelledError("digest of " + file.string());
    ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(file, "read", errno);
    }
    if (n == 0) break;
    sha.Update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  if (bytes_read != nullptr) *bytes_read = total;
  std::string digest = sha.Finish();
  if (digest.size() != kSha256Bytes) return InternalError("OpenSSL's SHA-256 failed");
  return digest;
}

}  // namespace lifeboat::sdk
