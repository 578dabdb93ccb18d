#include <fcntl.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/serve.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace lifeboat::sdk {

StatusOr<v1::ReadResponse> ServeFileRange(const Call& call, const std::filesystem::path& file,
                                          uint64_t offset, uint64_t length, uint64_t chunk_bytes) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(file, "open", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  return ServeFdRange(call, fd, file, offset, length, /*clamp=*/false, chunk_bytes);
}

StatusOr<v1::ReadResponse> ServeFdRange(const Call& call, int fd, const std::filesystem::path& file,
                                        uint64_t offset, uint64_t length, bool clamp,
                                        uint64_t chunk_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError(file, "stat", errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) {
    return OutOfRangeError("offset " + std::to_string(offset) + " is past the end of " +
                           file.filename().string() + " (" + std::to_string(size) + " bytes)");
  }
  if (length == 0 || (clamp && length > size - offset)) length = size - offset;
  if (offset + length > size) {
    return OutOfRangeError("range [" + std::to_string(offset) + ", " +
                           std::to_string(offset + length) + ") is past the end of " +
                           file.filename().string() + " (" + std::to_string(size) + " bytes)");
  }
  ::posix_fadvise(fd, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buf(std::clamp<uint64_t>(chunk_bytes, 4096, std::max<uint64_t>(length, 4096)));
  uint64_t sent = 0;
  while (sent < length) {
    if (call.Cancelled()) return CancelledError("read of " + file.string() + " cancelled");
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), length - sent),
                        static_cast<off_t>(offset + sent));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(file, "read", errno);
    }
    if (n == 0) {
      if (clamp) break;  // shorter than it was: the reader finds out from `bytes`
      return DataLossError(file.string() + " shrank to " + std::to_string(offset + sent) +
                           " bytes while it was being served");
    }
    LIFEBOAT_RETURN_IF_ERROR(call.EmitChunk(std::string_view(buf.data(), static_cast<size_t>(n))));
    sent += static_cast<uint64_t>(n);
  }
  v1::ReadResponse resp;
  resp.set_bytes(sent);
  resp.set_item_size(size);
  return resp;
}

}  // namespace lifeboat::sdk
