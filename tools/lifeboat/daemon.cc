#include "daemon.h"

#include <lifeboat/core/api/server.h>

#include <charconv>
#include <iostream>
#include <memory>

namespace lifeboat::cli {

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
