#include <fcntl.h>
#include <lifeboat/sdk/files.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace lifeboat::sdk {
namespace fs = std::filesystem;
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status WriteAll(int fd, const fs::path& path, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(path, "write", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

Status ErrnoError(const fs::path& path, std::string_view what, int err, std::string_view hint) {
  Code code;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      code = Code::kNotFound;
      break;
    case EACCES:
    case EPERM:
      code = Code::kPermissionDenied;
      break;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      code = Code::kResourceExhausted;
      break;
    case EEXIST:
    case ENOTEMPTY:
      code = Code::kAlreadyExists;
      break;
    case EROFS:
    case EISDIR:
    case ELOOP:
    case ENAMETOOLONG:
      code = Code::kFailedPrecondition;
      break;
    case EIO:
    case EAGAIN:
    case EINTR:
    case ETIMEDOUT:
      code = Code::kUnavailable;
      break;
    default:
      code = Code::kInternal;
      break;
  }
  std::string message = std::string(what) + " " + path.string() + ": " + std::strerror(err);
  // Say what to do, not only what went wrong.
  if (!hint.empty()) {
    message += "; ";
    message += hint;
  } else if (code == Code::kResourceExhausted) {
    message += "; free space or file handles on that file system and retry";
  } else if (code == Code::kPermissionDenied) {
    message += "; give the agent's user access to it";
  }
  return Status(code, std::move(message), path.string());
}

Status SyncDirectory(const fs::path& dir) {
  Fd d;
  d.fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0) return ErrnoError(dir, "open directory", errno);
  if (::fsync(d.fd) != 0) return ErrnoError(dir, "sync directory", errno);
  return OkStatus();
}

Status WriteFileAtomically(const fs::path& path, std::string_view data, bool durable) {
  const fs::path dir = path.parent_path();
  // A name of its own per writer, so that two writers never share a temporary file.
  std::random_device rd;
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(rd());
  {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f.fd < 0) return ErrnoError(tmp, "create", errno);
    Status s = WriteAll(f.fd, tmp, data);
    if (s.ok() && durable && ::fsync(f.fd) != 0) s = ErrnoError(tmp, "sync", errno);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(path, "rename into", err);
  }
  return durable ? SyncDirectory(dir) : OkStatus();
}

StatusOr<std::string> ReadWholeFile(const fs::path& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return ErrnoError(path, "open", errno);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(path, "read", errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace lifeboat::sdk
