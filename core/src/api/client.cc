// ApiClient and its transports. HTTP goes through libcurl (TLS, proxies, redirects off).
#include <lifeboat/core/api/client.h>

#include <curl/curl.h>
#include <boost/asio/ip/address.hpp>

#include <mutex>

namespace lifeboat::core::api {
namespace {

size_t CollectBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t CollectHeader(char* data, size_t size, size_t count, void* out) {
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.pop_back();
    }
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * count;
}

bool IsLoopbackHost(std::string host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

// ---- in-process ------------------------------------------------------------------------

StatusOr<Response> InProcessTransport::RoundTrip(const Request& request) {
  Request local = request;
  local.identity = LocalAdmin();
  return handler_.Handle(local);
}

// ---- HTTP ------------------------------------------------------------------------------

StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(HttpTransportOptions options) {
  const std::string& url = options.base_url;
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) {
    return InvalidArgumentError("server URL '" + url +
                                "' must start with http:// or https:// (e.g. "
                                "http://127.0.0.1:7340)");
  }
  std::string authority = url.substr(https ? 8 : 7);
  while (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.empty() || authority.find_first_of("/?#@ ") != std::string::npos) {
    return InvalidArgumentError("server URL '" + url +
                                "' must be scheme://host[:port], without a path, query or user");
  }
  options.base_url = (https ? "https://" : "http://") + authority;
  std::string host = authority;
  if (host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (!https && !options.token.empty() && !IsLoopbackHost(host)) {
    return FailedPreconditionError("refusing to send a token in clear text to " + host +
                                   "; use https:// (the daemon needs --tls-cert and --tls-key)");
  }
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(options)));
}

HttpTransport::HttpTransport(HttpTransportOptions options)
    : options_(std::move(options)), curl_(curl_easy_init()) {}

HttpTransport::~HttpTransport() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

StatusOr<Response> HttpTransport::RoundTrip(const Request& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Status(Code::kInternal, "libcurl did not initialise");
  curl_easy_reset(curl);
  const std::string url = options_.base_url + request.target;
  std::string body;
  std::map<std::string, std::string> headers;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "GET") curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a 202's Location is for us to read
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());

  struct curl_slist* list = nullptr;
  std::string auth;
  if (!options_.token.empty()) {
    auth = "Authorization: Bearer " + options_.token;
    list = curl_slist_append(list, auth.c_str());
  }
  bool has_type = false;
  for (const auto& [name, value] : request.headers) {
    if (name == "authorization") continue;  // only the transport's token is sent
    has_type = has_type || name == "content-type";
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  if (!has_type) list = curl_slist_append(list, "Content-Type:");  // no form encoding default
  list = curl_slist_append(list, "Expect:");                       // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  // The header list held the token; clear our copy of it.
  std::fill(auth.begin(), auth.end(), '\0');
  if (rc != CURLE_OK) {
    std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CONNECT_ERROR) {
      return UnavailableError("TLS with " + options_.base_url + " failed: " + why +
                              " (is --ca-file the CA that signed the daemon's certificate?)");
    }
    return UnavailableError("no answer from " + options_.base_url + ": " + why +
                            " (is `lifeboat daemon --listen` running there?)");
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Response out;
  out.status = static_cast<int>(status);
  out.body = std::move(body);
  auto type = headers.find("content-type");
  out.content_type = type == headers.end() ? "" : type->second;
  headers.erase("content-type");
  out.headers = std::move(headers);
  return out;
}

// ---- client ----------------------------------------------------------------------------

ApiClient::ApiClient(std::unique_ptr<ApiTransport> transport) : transport_(std::move(transport)) {}

StatusOr<nlohmann::json> ApiClient::Call(const std::string& method, const std::string& target,
                                         const std::string& body, const std::string& content_type) {
  Request request;
  request.method = method;
  request.target = target;
  request.body = body;
  request.headers["accept"] = "application/json";
  if (!content_type.empty()) {
    request.headers["content-type"] = content_type;
  } else if (!body.empty()) {
    request.headers["content-type"] = "application/json";
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Response response, transport_->RoundTrip(request));
  LIFEBOAT_RETURN_IF_ERROR(StatusFromResponse(response));
  if (response.body.empty()) return nlohmann::json();
  nlohmann::json parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    return Status(Code::kInternal, method + " " + target +
                                       ": the answer is not JSON: " + response.body.substr(0, 200));
  }
  return parsed;
}

StatusOr<nlohmann::json> ApiClient::CallJson(const std::string& method, const std::string& target,
                                             const nlohmann::json& body) {
  return Call(method, target, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
              "application/json");
}

StatusOr<Response> ApiClient::CallRaw(const std::string& method, const std::string& target,
                                      const std::string& accept) {
  Request request;
  request.method = method;
  request.target = target;
  if (!accept.empty()) request.headers["accept"] = accept;
  LIFEBOAT_ASSIGN_OR_RETURN(Response response, transport_->RoundTrip(request));
  LIFEBOAT_RETURN_IF_ERROR(StatusFromResponse(response));
  return response;
}

}  // namespace lifeboat::core::api
