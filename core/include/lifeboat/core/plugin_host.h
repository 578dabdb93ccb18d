// The plugin host: finds plugins in trusted directories, checks each library against its
// manifest, loads it, performs the ABI handshake, keeps one registry by name, and makes
// instances that call into the plugin with typed messages.
//
// Thread-safety: PluginHost is safe to use from several threads once LoadAll() returned.
// PluginInstance methods may be called concurrently (the plugin contract allows it).
#ifndef LIFEBOAT_CORE_PLUGIN_HOST_H_
#define LIFEBOAT_CORE_PLUGIN_HOST_H_

#include <lifeboat/abi.h>
#include <lifeboat/ops.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/common.pb.h>
#include <lifeboat/v1/manifest.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::core {

// Inside lifeboat::core, `v1::` names the engine's model (lifeboat/core/v1/model.proto);
// messages of the plugin boundary are always written `::lifeboat::v1::`.

// File name suffix of a plugin manifest in a plugin directory: "<name>.plugin.json".
inline constexpr const char* kManifestSuffix = ".plugin.json";

// The manifest shipped next to a plugin library. JSON, e.g.
//   {"name": "localfs", "version": "0.1.0", "component": "localfs",
//    "abi_major": 1, "abi_minor": 0, "capabilities": ["incremental"],
//    "library": "liblifeboat_localfs.so", "sha256": "<64 hex digits>"}
struct PluginManifest {
  std::string name;
  std::string version;
  std::string component;
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
  std::vector<std::string> capabilities;
  std::string library;  // file name, relative to the manifest's directory
  std::string sha256;   // lower-case hex of the library file
  std::filesystem::path manifest_path;
  std::filesystem::path library_path;  // absolute
};

// Reads and checks a manifest file. INVALID_ARGUMENT naming the file and the field when
// it is malformed (bad JSON, missing or mistyped field, unknown field, library outside
// the manifest's directory, hash not 64 hex digits); NOT_FOUND when the file is absent.
StatusOr<PluginManifest> ReadManifest(const std::filesystem::path& manifest_file);

// Lower-case hex SHA-256 of a file's content.
StatusOr<std::string> Sha256File(const std::filesystem::path& file);

// Receives bytes of a peer stream in order; the view is valid during the call only. A non-OK
// status stops the stream.
using ByteSink = std::function<Status(std::string_view chunk)>;

// Serves a plugin's peer_read (abi.h): reads `request.read()` from the peer that
// `request.peer()` names and hands the bytes to `sink` in order, on the calling thread. OK
// when the whole range arrived; otherwise why not (sink's status included). `cancel` is the
// call's flag (may be null).
using PeerReader = std::function<Status(const ::lifeboat::v1::PeerReadRequest& request,
                                        const ByteSink& sink, const std::atomic<bool>* cancel)>;

// How a host reaches a peer cluster's agent for the peer stream. The engine gives one per
// peer cluster with each call (CallOptions::routes); plugins never see it: they name a peer
// by its plugin configuration only.
struct PeerRoute {
  std::string agent_address;      // "host:port"; "" = the peer runs in this process
  std::string agent_server_name;  // the name its certificate carries ("" = the host)
  // Push mode (policy `transfer: push`): the session under which the peer's agent, having
  // connected to this one, serves reads here ("" = this agent connects to the peer's).
  std::string push_session;
};

// Lets a caller observe and stop one plugin call.
struct CallOptions {
  // Called for every progress report of the call, on the calling thread.
  std::function<void(const ::lifeboat::v1::Progress&)> on_progress;
  // When set and true, the plugin is asked to stop at its next safe point.
  const std::atomic<bool>* cancel = nullptr;
  // LB_OP_READ only: where the plugin's emit_chunk bytes go, on the plugin's thread. A non-OK
  // status (the reader is gone) makes emit_chunk answer "stop". Unset: emit_chunk answers
  // "stop" (the call is not a read).
  ByteSink on_chunk;
  // How this call's peer_read reaches peers. Unset: peer_read fails UNAVAILABLE saying that
  // this host has no way to reach the peer.
  PeerReader peer_read;
  // Where the peers this call may read from are, by cluster name (the Peer's
  // config.cluster). A remote agent sends them along with the call and its host routes the
  // plugin's peer_read with them; an agent in this process uses peer_read above instead.
  std::map<std::string, PeerRoute> routes;
  // The request's op id, for operations that carry one (Agent::Invoke<Op> fills it from the
  // request; "" otherwise). A remote agent's channel answers a repeat of the same op id from
  // memory; the request itself is never parsed for it. Not sent to plugins (they read the
  // request's own field).
  std::string op_id;
  // Told of each failure a RetryingAgent (agent_wrapper.h) is about to retry: the failure, the
  // attempt that failed (1 = the first) and the wait before the next. Not sent to plugins.
  std::function<void(const Status& failure, int attempt, int64_t backoff_millis)> on_retry;
};

class LoadedPlugin;

// One configured instance of a plugin for one cluster. Keeps its library loaded for as
// long as it lives. Each method serializes the request, calls the plugin across the ABI,
// and parses the response; a plugin that answers garbage (unparseable bytes, a status code
// outside the canonical set) yields INTERNAL naming the plugin and the operation.
class PluginInstance {
 public:
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const ::lifeboat::v1::PluginDescriptor& descriptor() const;
  const ::lifeboat::v1::PluginConfig& config() const { return config_; }

  // Runs operation Op (sdk/include/lifeboat/ops.h) with its typed request and response.
  template <lb_op Op>
  StatusOr<typename OpTraits<Op>::Response> Call(const typename OpTraits<Op>::Request& req,
                                                 const CallOptions& opts = {});

  // The same by name, one per row of the operation table: Cut(req), PlanTransfer(req), ...
  // LB_OP_READ's bytes go to opts.on_chunk (UNIMPLEMENTED from a plugin built for ABI 1.0).
#define LIFEBOAT_HOST_NAMED_CALL_(op, name, Method, Req, Resp, has_op_id, cap) \
  StatusOr<::lifeboat::v1::Resp> Method(const ::lifeboat::v1::Req& req,        \
                                        const CallOptions& opts = {}) {        \
    return Call<op>(req, opts);                                                \
  }
  LIFEBOAT_OPERATIONS(LIFEBOAT_HOST_NAMED_CALL_)
#undef LIFEBOAT_HOST_NAMED_CALL_

  // The untyped form of the calls above: `request` is the serialized request of `op`; on OK,
  // `*response` holds the serialized response (not yet parsed). For agents that forward
  // calls without knowing their types.
  Status InvokeRaw(lb_op op, const std::string& request, std::string* response,
                   const CallOptions& opts);

 private:
  friend class PluginHost;
  struct HostContext;
  PluginInstance(std::shared_ptr<const LoadedPlugin> lib, ::lifeboat::v1::PluginConfig config);

  std::shared_ptr<const LoadedPlugin> lib_;
  ::lifeboat::v1::PluginConfig config_;
  std::unique_ptr<HostContext> ctx_;
  lb_instance* handle_ = nullptr;
};

// What happened to one plugin found in a directory (or checked by path).
struct LoadReport {
  std::filesystem::path path;                   // the manifest (or library) looked at
  std::string name;                             // plugin name, when the manifest could be read
  Status status;                                // OK when loaded; otherwise why it was refused
  ::lifeboat::v1::PluginDescriptor descriptor;  // valid when status is OK
};

class PluginHost {
 public:
  // `trusted_dirs`: the only directories plugins are loaded from (non-recursive; each
  // "*.plugin.json" in them is one plugin).
  explicit PluginHost(std::vector<std::filesystem::path> trusted_dirs);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads every plugin of the trusted directories. Returns one report per manifest found,
  // in path order; a refused plugin never stops the others. A second plugin with a name
  // already registered is refused with ALREADY_EXISTS naming both files. A directory that
  // does not exist is reported as NOT_FOUND.
  std::vector<LoadReport> LoadAll();

  // Loads one plugin from `path` (a manifest, or a library with its manifest next to it
  // as "<name>.plugin.json") and reports what happened, without registering it. For
  // `lifeboat plugins check`.
  static LoadReport Check(const std::filesystem::path& path);

  // Descriptors of the registered plugins, sorted by name.
  std::vector<::lifeboat::v1::PluginDescriptor> List() const;

  // Checks `config` with the plugin's validate (no side effects). NOT_FOUND, listing the
  // registered names, when config.plugin() is unknown.
  Status Validate(const ::lifeboat::v1::PluginConfig& config) const;

  // Creates an instance of config.plugin() for config.cluster(). NOT_FOUND as above;
  // otherwise the plugin's own status when it refuses the configuration.
  StatusOr<std::unique_ptr<PluginInstance>> Instantiate(
      const ::lifeboat::v1::PluginConfig& config) const;

 private:
  std::vector<std::filesystem::path> dirs_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const LoadedPlugin>> registry_;
};

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_PLUGIN_HOST_H_
