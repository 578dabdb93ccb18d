#include <curl/curl.h>
#include <lifeboat/client/endpoints.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace lifeboat::client {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Escape(const std::string& segment) {
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

Code CodeForHttp(long http) {
  switch (http) {
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 400:
      return Code::kInvalidArgument;
    default:
      return http >= 500 ? Code::kUnavailable : Code::kInternal;
  }
}

}  // namespace

EndpointResolver::EndpointResolver(EndpointResolverOptions options) : options_(std::move(options)) {
  while (!options_.server_url.empty() && options_.server_url.back() == '/') {
    options_.server_url.pop_back();
  }
}

StatusOr<Resolution> EndpointResolver::Fetch(const std::string& service) const {
  static const bool init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!init) return InternalError("the HTTP client could not start");
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return InternalError("the HTTP client could not start");
  const std::string url = options_.server_url + "/v1/services/" + Escape(service) + "/endpoints";
  std::string body;
  struct curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + options_.token;
  if (!options_.token.empty()) headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return UnavailableError("the control service at " + options_.server_url +
                            " did not answer: " + curl_easy_strerror(rc));
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (http != 200) {
    std::string message = "HTTP " + std::to_string(http);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      message = j["error"].value("message", message);
    }
    return Status(CodeForHttp(http), "endpoint lookup of " + service + ": " + message);
  }
  if (!j.is_object() || !j.contains("active_cluster")) {
    return InternalError("endpoint lookup of " + service +
                         ": the answer is not an endpoint answer");
  }
  Resolution r;
  r.service = service;
  r.active_cluster = j.value("active_cluster", "");
  // Protobuf's JSON writes 64-bit integers as strings.
  const auto& epoch = j.contains("epoch") ? j["epoch"] : nlohmann::json();
  if (epoch.is_string()) {
    r.epoch = std::strtoull(epoch.get<std::string>().c_str(), nullptr, 10);
  } else if (epoch.is_number_unsigned()) {
    r.epoch = epoch.get<uint64_t>();
  }
  for (const auto& e : j.value("endpoints", nlohmann::json::array())) {
    r.endpoints.push_back({e.value("name", ""), e.value("address", "")});
  }
  return r;
}

StatusOr<Resolution> EndpointResolver::Resolve(const std::string& service) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(service);
    if (it != cache_.end() && !it->second.invalidated && now - it->second.fetched < options_.ttl) {
      return it->second.answer;
    }
  }
  StatusOr<Resolution> fetched = Fetch(service);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(service);
  if (!fetched.ok()) {
    if (fetched.status().code() == Code::kUnavailable && it != cache_.end()) {
      Resolution stale = it->second.answer;
      stale.stale = true;
      return stale;
    }
    return fetched.status();
  }
  if (it != cache_.end() && fetched->epoch < it->second.answer.epoch) {
    // An older view of the roles: keep the newer one (and ask again next time).
    Resolution kept = it->second.answer;
    kept.stale = true;
    return kept;
  }
  cache_[service] = Cached{*fetched, now, false};
  return *fetched;
}

StatusOr<std::string> EndpointResolver::Address(const std::string& service,
                                                const std::string& name) {
  LIFEBOAT_ASSIGN_OR_RETURN(Resolution r, Resolve(service));
  for (const auto& e : r.endpoints) {
    if (e.name == name) return e.address;
  }
  return NotFoundError("service " + service + " has no endpoint '" + name + "' on cluster " +
                       r.active_cluster);
}

void EndpointResolver::Invalidate(const std::string& service) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(service);
  // A flag, not a zero fetch time: steady_clock counts from boot, so in a machine's first
  // `ttl` a zero time still looked fresh and Invalidate did nothing.
  if (it != cache_.end()) it->second.invalidated = true;
}

}  // namespace lifeboat::client
