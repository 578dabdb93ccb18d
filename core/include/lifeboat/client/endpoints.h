// Endpoint lookup for applications: which cluster of a service is active now, and its
// endpoints, asked of lifeboatd's API (GET /v1/services/{name}/endpoints).
//
// Use: resolve before connecting; when a connection to the address fails, Invalidate() and
// resolve again — after a failover the answer names the secondary. Answers are cached for
// `ttl`. An answer with a lower role epoch than one already seen is ignored (a lagging
// replica of the control service must not send applications back to a demoted primary).
// When the control service cannot be reached, the last answer is returned marked stale.
//
// A small library of its own (libcurl and nlohmann-json only), so that applications need
// none of the engine.
//
// Thread-safety: an EndpointResolver may be used from several threads.
#ifndef LIFEBOAT_CLIENT_ENDPOINTS_H_
#define LIFEBOAT_CLIENT_ENDPOINTS_H_

#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace lifeboat::client {

struct EndpointResolverOptions {
  std::string server_url;  // "https://lifeboatd.example:7340"
  std::string token;       // a viewer token is enough; never logged
  std::string ca_file;     // PEM CA bundle for an https:// server ("" = the system's)
  std::chrono::milliseconds ttl{5000};
  std::chrono::milliseconds timeout{3000};
};

struct Endpoint {
  std::string name;
  std::string address;
};

struct Resolution {
  std::string service;
  std::string active_cluster;
  uint64_t epoch = 0;
  std::vector<Endpoint> endpoints;
  bool stale = false;  // the control service did not answer; this is the last answer seen
};

class EndpointResolver {
 public:
  explicit EndpointResolver(EndpointResolverOptions options);

  // The service's active cluster and endpoints. NOT_FOUND for an unknown service;
  // UNAVAILABLE when the control service cannot be reached and nothing was seen before;
  // UNAUTHENTICATED / PERMISSION_DENIED for a bad token.
  StatusOr<Resolution> Resolve(const std::string& service);
  // The address of endpoint `name` of the active cluster; NOT_FOUND when it has none.
  StatusOr<std::string> Address(const std::string& service, const std::string& name);
  // Forgets the cached answer's freshness: the next Resolve asks the control service.
  void Invalidate(const std::string& service);

 private:
  struct Cached {
    Resolution answer;
    std::chrono::steady_clock::time_point fetched;
    bool invalidated = false;  // Invalidate(): ask again, whatever the age
  };
  StatusOr<Resolution> Fetch(const std::string& service) const;

  EndpointResolverOptions options_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;
};

}  // namespace lifeboat::client

#endif  // LIFEBOAT_CLIENT_ENDPOINTS_H_
