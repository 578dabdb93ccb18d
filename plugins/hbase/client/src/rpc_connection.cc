#include "rpc_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "errors.h"
#include "hbase_rpc.pb.h"
#include "rpc_framing.h"

namespace lifeboat::hbase {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

std::string Errno(int err) { return std::strerror(err); }

// Waits until `fd` is ready for `events`; false on timeout (errno set to ETIMEDOUT).
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, RemainingMs(deadline));
    if (rc > 0) return true;
    if (rc == 0) {
      errno = ETIMEDOUT;
      return false;
    }
    if (errno != EINTR) return false;
  }
}

// A non-blocking connect to one address, finished within the deadline.
int ConnectOne(const addrinfo* ai, Clock::time_point deadline, int* err) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *err = errno;
      ::close(fd);
      return -1;
    }
    if (!WaitFor(fd, POLLOUT, deadline)) {
      *err = errno;
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      *err = so_error;
      ::close(fd);
      return -1;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address) {
  std::string_view host;
  std::string_view port;
  if (address.substr(0, 1) == "[") {
    size_t close = address.find(']');
    if (close == std::string_view::npos || address.substr(close + 1, 1) != ":") {
      return InvalidArgumentError("'" + std::string(address) + "' is not [v6-address]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgumentError("'" + std::string(address) +
                                  "' is not host:port (e.g. 127.0.0.1:16000)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return InvalidArgumentError("'" + std::string(address) + "': the port must be 1..65535");
  }
  return std::pair<std::string, uint16_t>(std::string(host), static_cast<uint16_t>(value));
}

RpcConnection::RpcConnection(int fd, std::string peer_name, RpcOptions options)
    : fd_(fd), peer_name_(std::move(peer_name)), options_(std::move(options)) {}

RpcConnection::~RpcConnection() { Break(); }

void RpcConnection::Break() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StatusOr<std::unique_ptr<RpcConnection>> RpcConnection::Open(const std::string& address,
                                                             std::string service,
                                                             std::string peer_name,
                                                             const RpcOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(address));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string port = std::to_string(host_port.second);
  int rc = ::getaddrinfo(host_port.first.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    return UnavailableError(peer_name + ": cannot resolve '" + host_port.first +
                            "': " + ::gai_strerror(rc));
  }
  auto deadline = Clock::now() + options.connect_timeout;
  int fd = -1;
  int err = 0;
  for (const addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ConnectOne(ai, deadline, &err);
  }
  ::freeaddrinfo(list);
  if (fd < 0) {
    return UnavailableError(peer_name + ": cannot connect: " + Errno(err) +
                            " (is the server up, and is this its RPC address?)");
  }
  std::unique_ptr<RpcConnection> conn(new RpcConnection(fd, std::move(peer_name), options));
  std::string hello = ConnectionPreamble() + EncodeConnectionHeader(service, options.user);
  LIFEBOAT_RETURN_IF_ERROR(conn->SendAll(hello, deadline, "connection header"));
  return conn;
}

Status RpcConnection::SendAll(std::string_view bytes, Clock::time_point deadline,
                              std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && WaitFor(fd_, POLLOUT, deadline)) {
      continue;
    }
    int err = errno;
    Break();
    if (err == ETIMEDOUT) {
      return Status(Code::kDeadlineExceeded,
                    peer_name_ + ": " + std::string(what) + ": sending timed out");
    }
    return UnavailableError(peer_name_ + ": " + std::string(what) + ": send: " + Errno(err));
  }
  return OkStatus();
}

Status RpcConnection::ReceiveExactly(char* out, size_t n, Clock::time_point deadline,
                                     std::string_view what) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd_, out + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) {
      Break();
      return UnavailableError(peer_name_ + ": " + std::string(what) +
                              ": the server closed the connection");
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFor(fd_, POLLIN, deadline)) continue;
    int err = errno;
    Break();
    if (err == ETIMEDOUT) {
      return Status(Code::kDeadlineExceeded,
                    peer_name_ + ": " + std::string(what) + ": no answer within " +
                        std::to_string(options_.call_timeout.count()) + " ms");
    }
    return UnavailableError(peer_name_ + ": " + std::string(what) + ": receive: " + Errno(err));
  }
  return OkStatus();
}

Status RpcConnection::Call(std::string_view method, const google::protobuf::MessageLite& request,
                           google::protobuf::MessageLite* response) {
  const std::string what = std::string(method);
  if (broken()) return UnavailableError(peer_name_ + ": " + what + ": the connection is closed");
  auto deadline = Clock::now() + options_.call_timeout;
  pb::RequestHeader header;
  uint32_t call_id = next_call_id_++;
  header.set_call_id(call_id);
  header.set_method_name(what);
  header.set_request_param(true);
  header.set_timeout(static_cast<uint32_t>(options_.call_timeout.count()));
  LIFEBOAT_RETURN_IF_ERROR(SendAll(EncodeCall(header, request), deadline, what));

  unsigned char length[4];
  LIFEBOAT_RETURN_IF_ERROR(ReceiveExactly(reinterpret_cast<char*>(length), 4, deadline, what));
  uint32_t size = DecodeFrameLength(length);
  if (size > kMaxFrameBytes) {
    Break();
    return DataLossError(peer_name_ + ": " + what + ": an answer of " + std::to_string(size) +
                         " bytes (more than the limit): not an HBase RPC server?");
  }
  std::string frame(size, '\0');
  LIFEBOAT_RETURN_IF_ERROR(ReceiveExactly(frame.data(), size, deadline, what));
  auto decoded = DecodeResponseFrame(frame);
  if (!decoded.ok()) {
    Break();
    return decoded.status().WithContext(peer_name_ + ": " + what);
  }
  const pb::ResponseHeader& rh = decoded->header;
  if (rh.has_exception()) {
    const pb::ExceptionResponse& ex = rh.exception();
    // A connection-level refusal answers with a call id that is not ours and closes.
    if (rh.call_id() != call_id) Break();
    return StatusFromException(ex.exception_class_name(),
                               MessageFromStackTrace(ex.exception_class_name(), ex.stack_trace()),
                               peer_name_ + ": " + what);
  }
  if (rh.call_id() != call_id) {
    Break();
    return DataLossError(peer_name_ + ": " + what + ": answer for call " +
                         std::to_string(rh.call_id()) + ", expected " + std::to_string(call_id));
  }
  if (!response->ParseFromArray(decoded->payload.data(),
                                static_cast<int>(decoded->payload.size()))) {
    return DataLossError(peer_name_ + ": " + what + ": the response does not parse as " +
                         response->GetTypeName());
  }
  return OkStatus();
}

}  // namespace lifeboat::hbase
