// What `lifeboat daemon` and `lifeboatd` share: serve the API over HTTP(S) and run the engine's
// loop (resumes, the scheduler, health checks) until told to stop.
//
// Thread-safety: RunDaemon blocks the calling thread; `stop` may be set from any thread (or
// a signal handler).
#ifndef LIFEBOAT_TOOLS_DAEMON_H_
#define LIFEBOAT_TOOLS_DAEMON_H_

#include <lifeboat/core/api/api.h>
#include <lifeboat/core/engine.h>
#include <lifeboat/status.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lifeboat::cli {

struct DaemonOptions {
  std::string program = "lifeboat daemon";  // names the lines printed on stderr
  std::string listen;                       // "ADDRESS:PORT" of the API; "" = no API
  std::string tls_cert_file;                // HTTPS: both or neither
  std::string tls_key_file;
  std::string state_dir;  // for the message only
};

// The flags `lifeboat daemon` and `lifeboatd` share, spelled the same in both (AddServeFlags).
struct ServeFlags {
  std::string listen;  // "ADDRESS:PORT"
  std::string api_tls_cert, api_tls_key;
  bool public_metrics = false;
  std::vector<std::string> webhooks;
  double health_interval_seconds = 5;
  int max_concurrent_jobs = 4;
};

// Adds --listen (required when `listen_required`), --api-tls-cert, --api-tls-key,
// --public-metrics, --webhook, --health-interval and --max-concurrent-jobs to `cmd`.
void AddServeFlags(CLI::App& cmd, ServeFlags& flags, bool listen_required);

// "127.0.0.1:7340", "[::1]:0", "localhost:0" -> (IP address, port 0..65535). INVALID_ARGUMENT
// naming `flag` and saying what is wrong.
StatusOr<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen,
                                                       const std::string& flag = "--listen");

// Starts the API server on options.listen (printing "<program>: API on <scheme>://host:port"
// on stderr, so that scripts can find a port chosen by the system), then runs
// engine.Serve(stop) until `stop` turns true; stops the API server and returns Serve's
// status. The API server's failures to start (address in use, plain HTTP off loopback, bad
// TLS files) are returned before the engine loop starts.
Status RunDaemon(core::Engine& engine, const core::api::ApiHandler& handler,
                 const DaemonOptions& options, const std::atomic<bool>* stop);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_DAEMON_H_
