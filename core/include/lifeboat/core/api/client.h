// A client of the API with two transports: in-process (calls an ApiHandler directly, as the
// local admin) and HTTP(S) to a running `lifeboat daemon --listen` (libcurl, bearer token).
// Both reach the same handler, so the CLI behaves the same on either.
//
// Thread-safety: an ApiClient and its transports are used by one thread at a time.
#ifndef LIFEBOAT_CORE_API_CLIENT_H_
#define LIFEBOAT_CORE_API_CLIENT_H_

#include <lifeboat/core/api/api.h>
#include <lifeboat/status.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace lifeboat::core::api {

class ApiTransport {
 public:
  virtual ~ApiTransport() = default;
  // Delivers `request` and returns the response, whatever its status. An error only when
  // no response came (UNAVAILABLE: connection refused, reset, timed out; the message names
  // the server).
  virtual StatusOr<Response> RoundTrip(const Request& request) = 0;
};

// Calls `handler` directly, as LocalAdmin(). `handler` must outlive the transport.
class InProcessTransport final : public ApiTransport {
 public:
  explicit InProcessTransport(const ApiHandler& handler) : handler_(handler) {}
  StatusOr<Response> RoundTrip(const Request& request) override;

 private:
  const ApiHandler& handler_;
};

struct HttpTransportOptions {
  std::string base_url;  // "http://127.0.0.1:7340" or "https://lifeboat.example:7340"
  std::string token;     // bearer token; "" sends none
  std::string ca_file;   // PEM bundle to verify the server with; "": the system's
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{0};  // whole call; 0: none (a verify may take long)
};

class HttpTransport final : public ApiTransport {
 public:
  // INVALID_ARGUMENT for a URL that is not http(s)://host[:port] (no path, query or user);
  // FAILED_PRECONDITION for a token over plain HTTP to a host that is not loopback (it
  // would travel in clear text).
  static StatusOr<std::unique_ptr<HttpTransport>> Create(HttpTransportOptions options);
  ~HttpTransport() override;
  StatusOr<Response> RoundTrip(const Request& request) override;

 private:
  explicit HttpTransport(HttpTransportOptions options);
  HttpTransportOptions options_;
  void* curl_ = nullptr;  // CURL*, reused so that connections are kept alive
};

class ApiClient {
 public:
  explicit ApiClient(std::unique_ptr<ApiTransport> transport);

  // Sends `method target` with `body` (of `content_type`, "application/json" when the body
  // is not empty and no type is given). On a 2xx answer returns its body as JSON (null for
  // an empty body); otherwise the Status the error stands for (StatusFromResponse).
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& target,
                                const std::string& body = {}, const std::string& content_type = {});
  // As Call with a JSON body.
  StatusOr<nlohmann::json> CallJson(const std::string& method, const std::string& target,
                                    const nlohmann::json& body);
  // The raw response (for non-JSON answers such as YAML or /metrics). Errors as Call.
  StatusOr<Response> CallRaw(const std::string& method, const std::string& target,
                             const std::string& accept);

 private:
  std::unique_ptr<ApiTransport> transport_;
};

// Percent-encodes one path segment or query value (unreserved characters stay).
std::string UrlEncode(std::string_view text);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_API_CLIENT_H_
