#include "daemon.h"

#include <lifeboat/core/api/server.h>

#include <charconv>
#include <iostream>
#include <memory>

namespace lifeboat::cli {

void AddServeFlags(CLI::App& cmd, ServeFlags& f, bool listen_required) {
  CLI::Option* listen = cmd.add_option(
      "--listen", f.listen,
      "Serve the API on ADDRESS:PORT (port 0: any; the bound address is printed on stderr). "
      "Plain HTTP on loopback only; elsewhere give --api-tls-cert/--api-tls-key");
  if (listen_required) listen->required();
  cmd.add_option("--api-tls-cert", f.api_tls_cert, "PEM certificate chain for the API's HTTPS")
      ->check(CLI::ExistingFile);
  cmd.add_option("--api-tls-key", f.api_tls_key, "PEM private key for the API's HTTPS")
      ->check(CLI::ExistingFile);
  cmd.add_flag("--public-metrics", f.public_metrics,
               "Serve /metrics without a token (default: a viewer token is needed)");
  cmd.add_option("--webhook", f.webhooks,
                 "URL told of every warning and critical event by a JSON POST (repeatable)");
  cmd.add_option("--health-interval", f.health_interval_seconds,
                 "Seconds between health checks of the clusters (0: never)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd.add_option("--max-concurrent-jobs", f.max_concurrent_jobs, "Jobs that run at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
}

StatusOr<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen,
                                                       const std::string& flag) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return InvalidArgumentError(flag + " '" + listen +
                                "' must be ADDRESS:PORT, e.g. 127.0.0.1:7340 or [::1]:7340");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return InvalidArgumentError(flag + " '" + listen + "': write an IPv6 address in brackets");
  }
  if (host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) {
    return InvalidArgumentError(flag + " '" + listen + "': the port must be 0..65535");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Status RunDaemon(core::Engine& engine, const core::api::ApiHandler& handler,
                 const DaemonOptions& options, const std::atomic<bool>* stop) {
  std::unique_ptr<core::api::ApiServer> server;
  if (!options.listen.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto where, ParseListen(options.listen));
    core::api::ApiServerOptions o;
    o.address = where.first;
    o.port = where.second;
    o.tls_cert_file = options.tls_cert_file;
    o.tls_key_file = options.tls_key_file;
    server = std::make_unique<core::api::ApiServer>(handler, o);
    LIFEBOAT_ASSIGN_OR_RETURN(uint16_t port, server->Start());
    const bool v6 = where.first.find(':') != std::string::npos;
    std::cerr << options.program << ": API on " << server->scheme() << "://"
              << (v6 ? "[" + where.first + "]" : where.first) << ":" << port << std::endl;
  }
  std::cerr << options.program << ": scheduling (state " << options.state_dir << ")" << std::endl;
  Status served = engine.Serve(stop);
  if (server) server->Stop();
  return served;
}

}  // namespace lifeboat::cli
