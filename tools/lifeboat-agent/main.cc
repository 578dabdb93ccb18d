// lifeboat-agent: one per cluster. Loads the component plugins of its cluster and serves
// their operations to the control service (lifeboatd) over the agent channel (mutual TLS).
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/net/server.h>
#include <lifeboat/core/plugin_host.h>
#include <lifeboat/core/policy_yaml.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "../lifeboat/cli.h"
#include "../lifeboat/daemon.h"
#include "../lifeboat/program.h"

namespace lifeboat::cli {
namespace {

namespace control = ::lifeboat::core::control;

struct AgentArgs {
  std::string cluster_file;
  std::string cluster;  // which Cluster of the file, when it holds several
  std::string listen;
  std::string tls_ca, tls_cert, tls_key;
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> allowed_clients;
  bool insecure_plaintext = false;
  int workers = 64;
  std::string node_name;
};

bool IsLoopback(const std::string& ip) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(ip, ec);
  return !ec && address.is_loopback();
}

// The one Cluster document of the file, or the one named `name`.
StatusOr<core::v1::Cluster> LoadCluster(const std::string& file, const std::string& name) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto docs, core::LoadYamlFile(file));
  std::vector<core::v1::Cluster> clusters;
  for (const auto& d : docs) {
    if (const auto* c = std::get_if<core::v1::Cluster>(&d.value)) clusters.push_back(*c);
  }
  std::string names;
  for (const auto& c : clusters) names += (names.empty() ? "" : ", ") + c.name();
  if (clusters.empty()) {
    return InvalidArgumentError(file + " holds no `kind: Cluster` document");
  }
  if (name.empty()) {
    if (clusters.size() > 1) {
      return InvalidArgumentError(file + " holds several clusters (" + names +
                                  "); say which this agent serves with --cluster NAME");
    }
    return clusters.front();
  }
  for (const auto& c : clusters) {
    if (c.name() == name) return c;
  }
  return NotFoundError(file + " has no cluster named '" + name + "' (it has: " + names + ")");
}

// Flags that contradict each other: a usage error (exit 2).
Status CheckFlags(const AgentArgs& args) {
  const bool tls_given = !args.tls_ca.empty() || !args.tls_cert.empty() || !args.tls_key.empty();
  if (args.insecure_plaintext && tls_given) {
    return InvalidArgumentError("--insecure-plaintext and --tls-* exclude each other");
  }
  if (!args.insecure_plaintext &&
      (args.tls_ca.empty() || args.tls_cert.empty() || args.tls_key.empty())) {
    return InvalidArgumentError(
        "the agent channel needs --tls-ca, --tls-cert and --tls-key (mutual TLS); see "
        "docs/operations.md for making them");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto where, ParseListen(args.listen));
  if (args.insecure_plaintext && !IsLoopback(where.first)) {
    return InvalidArgumentError(
        "--insecure-plaintext serves on a loopback address only (127.0.0.1, ::1), not " +
        where.first + ": plain TCP has no encryption and no authentication");
  }
  return OkStatus();
}

StatusOr<int> Run(const AgentArgs& args) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto where, ParseListen(args.listen));
  LIFEBOAT_ASSIGN_OR_RETURN(core::v1::Cluster cluster,
                            LoadCluster(args.cluster_file, args.cluster));

  std::vector<std::filesystem::path> dirs(args.plugin_dirs.begin(), args.plugin_dirs.end());
  core::PluginHost host(dirs);
  for (const auto& report : host.LoadAll()) {
    if (report.status.ok()) {
      spdlog::info("plugin {} {} loaded from {}", report.descriptor.name(),
                   report.descriptor.version(), report.path.string());
    } else {
      spdlog::warn("plugin refused: {}", report.status.ToString());
    }
  }
  control::AgentServiceOptions so;
  so.allowed_client_names = args.allowed_clients;
  // The peer stream: this agent calls its peers' agents with its own certificate (which then
  // carries clientAuth as well as serverAuth), verified against the same CA.
  so.peer_tls.enabled = !args.insecure_plaintext;
  so.peer_tls.ca_file = args.tls_ca;
  so.peer_tls.cert_file = args.tls_cert;
  so.peer_tls.key_file = args.tls_key;
  so.node_name = args.node_name.empty() ? "lifeboat-agent@" + cluster.name() : args.node_name;
  control::AgentService service(host, cluster, so);
  // Instantiate every component now, so that a configuration error shows at start (the
  // agent serves anyway: lifeboatd's health check reports the component, and a fixed file
  // takes a restart).
  const control::AgentInfo info = service.Info();
  for (const auto& c : info.components) {
    if (c.error.empty()) {
      spdlog::info("component {}: plugin {} {}", c.component, c.plugin, c.plugin_version);
    } else {
      spdlog::error("component {}: {}", c.component, c.error);
    }
  }

  core::net::ServerOptions o = control::AgentServerOptions();
  o.host = where.first;
  o.port = where.second;
  o.worker_threads = args.workers;
  o.node_name = args.node_name.empty() ? "lifeboat-agent@" + cluster.name() : args.node_name;
  o.tls.enabled = !args.insecure_plaintext;
  o.tls.ca_file = args.tls_ca;
  o.tls.cert_file = args.tls_cert;
  o.tls.key_file = args.tls_key;

  // SIGINT and SIGTERM are taken by sigwait below; blocked before the server's threads
  // exist, so that they inherit the mask and no thread is interrupted by them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  core::net::Server server(o);
  LIFEBOAT_RETURN_IF_ERROR(service.Register(server));
  LIFEBOAT_ASSIGN_OR_RETURN(uint16_t port, server.Start());
  const bool v6 = where.first.find(':') != std::string::npos;
  std::cerr << "lifeboat-agent: cluster " << cluster.name() << " on "
            << (v6 ? "[" + where.first + "]" : where.first) << ":" << port
            << (args.insecure_plaintext ? " (PLAIN TCP, no authentication)" : " (mutual TLS)")
            << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("signal {}: stopping (calls in flight are cancelled)", signal);
  server.Stop();
  std::cerr << "lifeboat-agent: stopped" << std::endl;
  return kExitOk;
}

}  // namespace
}  // namespace lifeboat::cli

int main(int argc, char** argv) {
  using namespace lifeboat::cli;
  CLI::App app{
      "lifeboat-agent - runs the component plugins of one cluster for the control service\n"
      "(lifeboatd), over mutual TLS.\n\n"
      "Exit codes: 0 stopped by SIGTERM/SIGINT, 1 failed (e.g. the address is in use),\n"
      "            2 bad usage or bad input (a bad cluster file or TLS material), 3 not found,\n"
      "            4 refused."};
  AgentArgs args;
  args.plugin_dirs.push_back(
      DefaultPluginDir(LIFEBOAT_DEFAULT_PLUGIN_DIR, LIFEBOAT_INSTALL_PLUGIN_DIR));
  app.add_option("--cluster-file", args.cluster_file,
                 "YAML with this agent's `kind: Cluster` (the document lifeboatd applies)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--cluster", args.cluster,
                 "Which cluster of the file this agent serves (when it holds several)");
  app.add_option("--listen", args.listen,
                 "ADDRESS:PORT to serve on (an IP address; port 0: any, printed on stderr)")
      ->required();
  app.add_option("--tls-ca", args.tls_ca, "PEM CA certificate that signs lifeboatd's certificate")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", args.tls_cert, "PEM certificate (chain) of this agent")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", args.tls_key, "PEM private key of this agent")
      ->check(CLI::ExistingFile);
  app.add_option("--allow-client", args.allowed_clients,
                 "Common name of a client certificate allowed to call (repeatable; default: "
                 "any certificate the CA signed)");
  app.add_option("--plugin-dir", args.plugin_dirs,
                 "Trusted plugin directory (repeatable; default: this build's plugins)")
      ->capture_default_str();
  app.add_flag("--insecure-plaintext", args.insecure_plaintext,
               "Plain TCP without TLS: no encryption, no authentication. Loopback only, for "
               "tests");
  app.add_option("--workers", args.workers,
                 "Threads running plugin calls at once (a transfer holds one while it runs)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--node-name", args.node_name,
                 "Name in the channel's hello (default: lifeboat-agent@CLUSTER)");
  SetUpServiceLogging(app, "lifeboat-agent");
  app.footer(
      "Examples:\n"
      "  lifeboat-agent --cluster-file primary.yaml --listen 10.0.0.5:7443 \\\n"
      "      --tls-ca ca.pem --tls-cert agent-primary.pem --tls-key agent-primary.key \\\n"
      "      --allow-client lifeboatd\n"
      "  lifeboat-agent --cluster-file sites.yaml --cluster dr --listen 0.0.0.0:7443 ...\n"
      "  lifeboat-agent --cluster-file primary.yaml --listen 127.0.0.1:0 --insecure-plaintext\n"
      "lifeboatd reaches it through the cluster's `agent: {address: 10.0.0.5:7443}`; the\n"
      "agent's certificate must be valid for that host (or the cluster's agent.server_name).\n"
      "SIGTERM stops it cleanly. See docs/operations.md.");
  return ParseAndRun(
      app, argc, argv, "lifeboat-agent", [&] { return CheckFlags(args); },
      [&] { return Run(args); });
}
