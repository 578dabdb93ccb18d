// One TCP connection to an HBase server speaking its protobuf RPC with simple (unsecured)
// authentication: the preamble and ConnectionHeader at open, then calls one at a time, each
// waiting for its answer (rpc_framing.h has the bytes). Kerberos (SASL) is not spoken yet:
// a cluster that wants it refuses the connection with a FatalConnectionException, which
// becomes FAILED_PRECONDITION.
//
// After an I/O error, a timeout or an answer that does not parse, the connection is broken
// (`broken()`); the owner opens a new one. A remote exception leaves it usable.
//
// Thread-safety: not thread-safe; one caller at a time.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_RPC_CONNECTION_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_RPC_CONNECTION_H_

#include <google/protobuf/message_lite.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lifeboat::hbase {

struct RpcOptions {
  // The effective user in the ConnectionHeader (simple authentication trusts it).
  std::string user;
  std::chrono::milliseconds connect_timeout{10000};
  // How long one call may wait for its answer; also sent to the server as the call's timeout.
  std::chrono::milliseconds call_timeout{60000};
};

class RpcConnection {
 public:
  // Connects to `address` ("host:port" or "[v6]:port") and introduces itself for `service`
  // ("MasterService"). `peer_name` names the server in errors ("HBase master
  // 127.0.0.1:16000"). UNAVAILABLE when the server cannot be reached in connect_timeout;
  // INVALID_ARGUMENT for a malformed address.
  static StatusOr<std::unique_ptr<RpcConnection>> Open(const std::string& address,
                                                       std::string service, std::string peer_name,
                                                       const RpcOptions& options);
  ~RpcConnection();
  RpcConnection(const RpcConnection&) = delete;
  RpcConnection& operator=(const RpcConnection&) = delete;

  // Calls `method` of the service with `request` and parses the answer into `response`.
  // Errors name the server and the method: UNAVAILABLE (connection lost),
  // DEADLINE_EXCEEDED (no answer within call_timeout), DATA_LOSS (an answer that does not
  // parse), or the code of the server's exception (errors.h).
  Status Call(std::string_view method, const google::protobuf::MessageLite& request,
              google::protobuf::MessageLite* response);

  bool broken() const { return fd_ < 0; }
  const std::string& peer_name() const { return peer_name_; }

 private:
  RpcConnection(int fd, std::string peer_name, RpcOptions options);
  Status SendAll(std::string_view bytes, std::chrono::steady_clock::time_point deadline,
                 std::string_view what);
  Status ReceiveExactly(char* out, size_t n, std::chrono::steady_clock::time_point deadline,
                        std::string_view what);
  void Break();

  int fd_;
  std::string peer_name_;
  RpcOptions options_;
  uint32_t next_call_id_ = 1;
};

// Splits "host:port" or "[v6]:port"; INVALID_ARGUMENT when it is neither.
StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_RPC_CONNECTION_H_
