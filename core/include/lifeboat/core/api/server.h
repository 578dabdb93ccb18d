// The API over HTTP/1.1 (Boost.Beast): keep-alive, a body size limit, a timeout for reading
// each request (and for an idle kept-alive connection), TLS when given a certificate and key.
//
// Plain HTTP listens on a loopback address only: tokens travel in headers, and without TLS
// anyone on the path could read them. Any other address needs TLS.
//
// Requests are read and written on `io_threads` threads and handled on `handler_threads`
// others, so that a long call (verifying a restore point) holds no connection's I/O.
// The server never presets a request's identity: every caller authenticates with a token.
//
// Thread-safety: Start() and Stop() from one thread (the owner's); the handler is called
// from the handler threads concurrently.
#ifndef LIFEBOAT_CORE_API_SERVER_H_
#define LIFEBOAT_CORE_API_SERVER_H_

#include <lifeboat/core/api/api.h>
#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace lifeboat::core::api {

struct ApiServerOptions {
  std::string address = "127.0.0.1";  // an IP address; "localhost" means 127.0.0.1
  uint16_t port = 0;                  // 0: any free port (Start() returns it)
  // TLS: both or neither, PEM files (certificate chain, private key).
  std::string tls_cert_file;
  std::string tls_key_file;
  uint64_t body_limit_bytes = 8 << 20;  // larger bodies are answered 413
  // Reading one request (headers and body), writing one response, and an idle kept-alive
  // connection, each at most this long; then the connection is closed.
  std::chrono::milliseconds request_timeout{30000};
  int io_threads = 1;
  int handler_threads = 4;  // calls at once (a verify holds one for its duration)
};

class ApiServer {
 public:
  // `handler` must outlive the server.
  ApiServer(const ApiHandler& handler, ApiServerOptions options);
  // Stops the server if it runs.
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds, listens and starts the threads; returns the bound port. INVALID_ARGUMENT for a
  // malformed address, half a TLS configuration, or unreadable certificate/key files;
  // FAILED_PRECONDITION for plain HTTP on a non-loopback address or a second Start();
  // UNAVAILABLE when the address cannot be bound (in use, not local).
  StatusOr<uint16_t> Start();

  // Stops accepting, closes every connection, waits for calls in progress to return, and
  // joins the threads. Idempotent.
  void Stop();

  // "http" or "https".
  std::string scheme() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_API_SERVER_H_
