// lifeboatd: the control service. Runs apart from the clusters; reaches each cluster through
// its lifeboat-agent over mutual TLS (clusters with `agent: {address: ...}`), serves the
// HTTP/JSON API, and runs the engine's loop: resumes, the scheduler, health checks.
#include <lifeboat/core/api/api.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/engine.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "../lifeboat/cli.h"
#include "../lifeboat/daemon.h"
#include "../lifeboat/program.h"

namespace lifeboat::cli {
namespace {

namespace control = ::lifeboat::core::control;

std::atomic<bool> g_stop{false};
extern "C" void OnStop(int) { g_stop = true; }

struct DaemonArgs {
  std::string state_dir;
  ServeFlags serve;  // spelled as `lifeboat daemon`'s
  std::string agent_tls_ca, agent_tls_cert, agent_tls_key;
  std::vector<std::string> plugin_dirs;
  bool embedded = false;
  std::string node_name = "lifeboatd";
};

Status CheckFlags(const DaemonArgs& a) {
  if (a.serve.api_tls_cert.empty() != a.serve.api_tls_key.empty()) {
    return InvalidArgumentError("give both --api-tls-cert and --api-tls-key, or neither");
  }
  const bool agent_tls =
      !a.agent_tls_ca.empty() || !a.agent_tls_cert.empty() || !a.agent_tls_key.empty();
  if (a.embedded && agent_tls) {
    return InvalidArgumentError(
        "--embedded runs every cluster in this process: --agent-tls-* do not apply");
  }
  if (!a.embedded &&
      (a.agent_tls_ca.empty() || a.agent_tls_cert.empty() || a.agent_tls_key.empty())) {
    return InvalidArgumentError(
        "lifeboatd reaches agents over mutual TLS: give --agent-tls-ca, --agent-tls-cert and "
        "--agent-tls-key (see docs/operations.md), or --embedded to run every cluster here");
  }
  return ParseListen(a.serve.listen).status();
}

StatusOr<int> Run(const DaemonArgs& a) {
  core::EngineOptions o;
  o.state_dir = a.state_dir;
  o.plugin_dirs.assign(a.plugin_dirs.begin(), a.plugin_dirs.end());
  o.webhooks = a.serve.webhooks;
  o.health_interval_millis = static_cast<int64_t>(a.serve.health_interval_seconds * 1000);
  o.max_concurrent_jobs = a.serve.max_concurrent_jobs;
  if (a.embedded) {
    spdlog::info("embedded: every cluster runs in this process; agent addresses are ignored");
  } else {
    control::RemoteAgentOptions ro;
    ro.tls.ca_file = a.agent_tls_ca;
    ro.tls.cert_file = a.agent_tls_cert;
    ro.tls.key_file = a.agent_tls_key;
    ro.node_name = a.node_name;
    // Clusters without `agent:` still run in-process (over the plugins of --plugin-dir).
    o.make_agent = control::MakeAgentFactory(ro);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto engine, core::Engine::Open(o));
  core::api::ApiOptions api_options;
  api_options.public_metrics = a.serve.public_metrics;
  core::api::ApiHandler handler(*engine, api_options);

  std::signal(SIGINT, OnStop);
  std::signal(SIGTERM, OnStop);
  DaemonOptions d;
  d.program = "lifeboatd";
  d.listen = a.serve.listen;
  d.tls_cert_file = a.serve.api_tls_cert;
  d.tls_key_file = a.serve.api_tls_key;
  d.state_dir = a.state_dir;
  LIFEBOAT_RETURN_IF_ERROR(RunDaemon(*engine, handler, d, &g_stop));
  std::cerr << "lifeboatd: stopped" << std::endl;
  return kExitOk;
}

}  // namespace
}  // namespace lifeboat::cli

int main(int argc, char** argv) {
  using namespace lifeboat::cli;
  CLI::App app{
      "lifeboatd - the Lifeboat control service: policies, scheduler, jobs, failover, and\n"
      "the HTTP/JSON API, reaching each cluster through its lifeboat-agent.\n\n"
      "Exit codes: 0 stopped by SIGTERM/SIGINT, 1 failed, 2 bad usage, 3 not found,\n"
      "            4 refused (e.g. the state directory is in use)."};
  app.set_version_flag("--version", std::string("lifeboatd ") + LIFEBOAT_VERSION);
  DaemonArgs a;
  a.plugin_dirs.push_back(
      DefaultPluginDir(LIFEBOAT_DEFAULT_PLUGIN_DIR, LIFEBOAT_INSTALL_PLUGIN_DIR));
  app.add_option("--state-dir", a.state_dir, "The state directory (RocksDB); one process at a time")
      ->required();
  AddServeFlags(app, a.serve, /*listen_required=*/true);
  app.add_option("--agent-tls-ca", a.agent_tls_ca, "PEM CA certificate that signs the agents'")
      ->check(CLI::ExistingFile);
  app.add_option("--agent-tls-cert", a.agent_tls_cert,
                 "PEM client certificate lifeboatd presents to agents")
      ->check(CLI::ExistingFile);
  app.add_option("--agent-tls-key", a.agent_tls_key, "Its PEM private key")
      ->check(CLI::ExistingFile);
  app.add_option("--plugin-dir", a.plugin_dirs,
                 "Trusted plugin directory for in-process clusters (repeatable; default: this "
                 "build's plugins)")
      ->capture_default_str();
  app.add_flag("--embedded", a.embedded,
               "Run every cluster in this process (no agents, no agent TLS): one machine");
  app.add_option("--node-name", a.node_name, "Name in the agent channel's hello")
      ->capture_default_str();
  SetUpServiceLogging(app, "lifeboatd");
  app.footer(
      "Examples:\n"
      "  lifeboat --state-dir /var/lib/lifeboat token create ops --role admin --out ops.token\n"
      "  lifeboatd --state-dir /var/lib/lifeboat --listen 10.0.9.2:7340 \\\n"
      "      --api-tls-cert api.pem --api-tls-key api.key \\\n"
      "      --agent-tls-ca ca.pem --agent-tls-cert lifeboatd.pem --agent-tls-key lifeboatd.key\n"
      "  lifeboat --server https://10.0.9.2:7340 --ca-file ca.pem --token-file ops.token doctor\n"
      "  lifeboatd --state-dir .lifeboat --listen 127.0.0.1:7340 --embedded\n"
      "SIGTERM stops it cleanly (a job then running is cancelled and cleaned up).\n"
      "See docs/operations.md.");
  return ParseAndRun(
      app, argc, argv, "lifeboatd", [&] { return CheckFlags(a); }, [&] { return Run(a); });
}
