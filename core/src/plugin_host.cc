// The plugin host: manifest and hash checks, loading with Boost.DLL, the ABI handshake,
// the registry, and typed calls across the C boundary.
//
// Every refusal is a Status whose message starts with the file it concerns and says what
// was wanted and what was found. Nothing thrown by host code ever unwinds through a
// plugin's frames: every function of the host table catches everything.
#include <dlfcn.h>
#include <sys/stat.h>

#include <lifeboat/capabilities.h>
#include <lifeboat/core/plugin_host.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <climits>
#include <cstddef>
#include <optional>
#include <system_error>
#include <utility>

namespace lifeboat::core {
namespace fs = std::filesystem;

// One loaded, verified plugin library. Shared by the registry and by every instance, so
// that the library stays mapped while any of them lives.
class LoadedPlugin {
 public:
  // Declared first so that it is destroyed last: `api` points into it.
  boost::dll::shared_library library;
  PluginManifest manifest;
  std::shared_ptr<spdlog::logger> logger;
  const lb_plugin_api* api = nullptr;
  v1::PluginDescriptor descriptor;

  const std::string& name() const { return manifest.name; }
};

namespace {

// What the host hands a plugin as lb_host_ctx*: which plugin and cluster an instance
// serves, for its log lines.
struct InstanceContext {
  const LoadedPlugin* plugin = nullptr;  // outlives the context (the instance holds it)
  std::string cluster;
};

// What the host hands a plugin as lb_call*: the options of one call.
struct CallState {
  explicit CallState(const CallOptions& o) : options(o) {}
  const CallOptions& options;
  // Serializes on_progress, in case a plugin reports from several threads of one call.
  std::mutex progress_mu;
  // Set when on_progress threw: the call is then asked to stop.
  std::atomic<bool> callback_failed{false};
};

// The plugin whose code the current thread is running (set around every host->plugin
// call), so that a log line sent with a NULL lb_host_ctx still names its plugin.
thread_local const LoadedPlugin* t_current_plugin = nullptr;

class CurrentPlugin {
 public:
  explicit CurrentPlugin(const LoadedPlugin& plugin) : previous_(t_current_plugin) {
    t_current_plugin = &plugin;
  }
  ~CurrentPlugin() { t_current_plugin = previous_; }
  CurrentPlugin(const CurrentPlugin&) = delete;
  CurrentPlugin& operator=(const CurrentPlugin&) = delete;

 private:
  const LoadedPlugin* previous_;
};

// --- the host table ------------------------------------------------------------------

constexpr size_t kMaxLogLine = 16 * 1024;

spdlog::level::level_enum ToSpdlog(lb_log_level level) {
  switch (level) {
    case LB_LOG_TRACE:
      return spdlog::level::trace;
    case LB_LOG_DEBUG:
      return spdlog::level::debug;
    case LB_LOG_INFO:
      return spdlog::level::info;
    case LB_LOG_WARN:
      return spdlog::level::warn;
    case LB_LOG_ERROR:
      return spdlog::level::err;
    default:
      return spdlog::level::info;
  }
}

// A plugin's text goes into our log verbatim except for control characters, which are
// escaped so that a plugin cannot forge log lines of its own.
std::string Sanitize(const char* message, size_t size) {
  if (message == nullptr) return {};
  std::string out;
  size_t n = std::min(size, kMaxLogLine);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (size > n) out += " ...(" + std::to_string(size - n) + " more bytes cut)";
  return out;
}

void HostBufferAssign(lb_out* out, const uint8_t* data, size_t size) {
  if (out == nullptr) return;
  auto* buffer = reinterpret_cast<std::string*>(out);
  try {
    if (data == nullptr || size == 0) {
      buffer->clear();
    } else {
      buffer->assign(reinterpret_cast<const char*>(data), size);
    }
  } catch (...) {
    // Out of memory: an empty buffer makes the caller report unreadable bytes.
    buffer->clear();
  }
}

void HostLog(lb_host_ctx* ctx, lb_log_level level, const char* message, size_t size) {
  try {
    const auto* instance = reinterpret_cast<const InstanceContext*>(ctx);
    const LoadedPlugin* plugin = instance != nullptr ? instance->plugin : t_current_plugin;
    std::string text = Sanitize(message, size);
    if (plugin == nullptr) {
      spdlog::log(ToSpdlog(level), "[unknown plugin] {}", text);
    } else if (instance != nullptr) {
      plugin->logger->log(ToSpdlog(level), "[{}@{}] {}", plugin->name(), instance->cluster, text);
    } else {
      plugin->logger->log(ToSpdlog(level), "[{}] {}", plugin->name(), text);
    }
  } catch (...) {
    // Logging must never take the plugin down.
  }
}

void HostReportProgress(lb_call* call, const uint8_t* data, size_t size) {
  if (call == nullptr) return;
  auto* state = reinterpret_cast<CallState*>(call);
  const LoadedPlugin* plugin = t_current_plugin;
  try {
    v1::Progress progress;
    if (size > static_cast<size_t>(INT_MAX) ||
        !progress.ParseFromArray(data, static_cast<int>(size))) {
      if (plugin != nullptr) {
        plugin->logger->warn(
            "[{}] sent a progress report of {} bytes that is not a valid {}; ignored",
            plugin->name(), size, progress.GetTypeName());
      }
      return;
    }
    if (!state->options.on_progress) return;
    std::lock_guard<std::mutex> lock(state->progress_mu);
    state->options.on_progress(progress);
  } catch (const std::exception& e) {
    state->callback_failed = true;
    spdlog::error("progress callback threw ({}); asking the plugin call to stop", e.what());
  } catch (...) {
    state->callback_failed = true;
    spdlog::error("progress callback threw; asking the plugin call to stop");
  }
}

int32_t HostIsCancelled(lb_call* call) {
  if (call == nullptr) return 0;
  const auto* state = reinterpret_cast<const CallState*>(call);
  if (state->callback_failed.load()) return 1;
  const std::atomic<bool>* cancel = state->options.cancel;
  return cancel != nullptr && cancel->load(std::memory_order_acquire) ? 1 : 0;
}

int64_t HostNowUnixNanos(lb_host_ctx*) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int32_t HostEmitChunk(lb_call* call, const uint8_t* data, size_t size) {
  if (call == nullptr) return 1;
  auto* state = reinterpret_cast<CallState*>(call);
  if (HostIsCancelled(call) != 0 || !state->options.on_chunk) return 1;
  try {
    Status s = state->options.on_chunk(std::string_view(reinterpret_cast<const char*>(data), size));
    return s.ok() ? 0 : 1;
  } catch (const std::exception& e) {
    spdlog::error("peer stream sink threw ({}); stopping the read", e.what());
  } catch (...) {
    spdlog::error("peer stream sink threw; stopping the read");
  }
  return 1;
}

void SendDetail(void (*on_error)(void*, const uint8_t*, size_t), void* ctx, const Status& s) {
  if (on_error == nullptr) return;
  v1::StatusDetail detail;
  detail.set_code(static_cast<int32_t>(s.code()));
  detail.set_message(s.message());
  detail.set_subject(s.subject());
  detail.set_retryable(IsRetryable(s.code()));
  detail.set_data_loss(s.code() == Code::kDataLoss);
  const std::string bytes = detail.SerializeAsString();
  on_error(ctx, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

lb_code HostPeerRead(lb_call* call, const uint8_t* request, size_t request_size,
                     lb_code (*on_chunk)(void* ctx, const uint8_t* data, size_t size),
                     void (*on_error)(void* ctx, const uint8_t* detail, size_t size), void* ctx) {
  // The plugin's own code runs again inside on_chunk: keep naming it in log lines.
  const LoadedPlugin* plugin = t_current_plugin;
  Status result;
  bool sink_stopped = false;
  try {
    v1::PeerReadRequest req;
    if (call == nullptr || on_chunk == nullptr) {
      result = InvalidArgumentError("peer_read needs a call and an on_chunk callback");
    } else if (request_size > static_cast<size_t>(INT_MAX) ||
               !req.ParseFromArray(request, static_cast<int>(request_size))) {
      result = InvalidArgumentError("peer_read: the request of " + std::to_string(request_size) +
                                    " bytes is not a valid " + req.GetTypeName());
    } else {
      auto* state = reinterpret_cast<CallState*>(call);
      if (!state->options.peer_read) {
        result = UnavailableError("this host cannot reach peer cluster " +
                                  req.peer().config().cluster() +
                                  " for a peer read: the call came without a way to reach its "
                                  "peers (is the engine older than the plugin?)");
      } else {
        lb_code stop_code = LB_OK;
        ByteSink sink = [&](std::string_view chunk) -> Status {
          lb_code c;
          {
            std::optional<CurrentPlugin> current;
            if (plugin != nullptr) current.emplace(*plugin);
            c = on_chunk(ctx, reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
          }
          if (c == LB_OK) return OkStatus();
          stop_code = c;
          return Status(static_cast<Code>(c), "the plugin stopped the peer read");
        };
        // The plugin's cancel flag and a failed progress callback both stop the read.
        std::atomic<bool> cancel{false};
        const std::atomic<bool>* cancel_flag = state->options.cancel;
        if (state->callback_failed.load()) cancel = true;
        result =
            state->options.peer_read(req, sink, cancel_flag != nullptr ? cancel_flag : &cancel);
        if (!result.ok() && stop_code != LB_OK) {
          sink_stopped = true;
          return stop_code;
        }
      }
    }
  } catch (const std::exception& e) {
    result = InternalError(std::string("peer_read failed in the host: ") + e.what());
  } catch (...) {
    result = InternalError("peer_read failed in the host");
  }
  if (result.ok()) return LB_OK;
  if (!sink_stopped) {
    try {
      SendDetail(on_error, ctx, result);
    } catch (...) {
      // The code alone reaches the plugin.
    }
  }
  return static_cast<lb_code>(result.code());
}

// One table for the whole process: plugins may keep the pointer until they are unloaded.
const lb_host_api kHostApi = {
    sizeof(lb_host_api), LIFEBOAT_ABI_MAJOR, LIFEBOAT_ABI_MINOR, &HostBufferAssign, &HostLog,
    &HostReportProgress, &HostIsCancelled,   &HostNowUnixNanos,  &HostEmitChunk,    &HostPeerRead,
};

// --- helpers -------------------------------------------------------------------------

std::string AbiText(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

const std::string& HostAbiText() {
  static const std::string text = AbiText(LIFEBOAT_ABI_MAJOR, LIFEBOAT_ABI_MINOR);
  return text;
}

// Why a plugin of ABI major.minor cannot work with this host, or nothing when it can.
std::optional<std::string> AbiIncompatibility(uint32_t major, uint32_t minor) {
  if (major != LIFEBOAT_ABI_MAJOR) return "majors must match";
  if (minor > LIFEBOAT_ABI_MINOR) return "the plugin's minor must not exceed the host's";
  return std::nullopt;
}

}  // namespace

namespace {

// The Status of a failed call: `code` as returned by the plugin, `detail` the bytes it
// wrote (a serialized StatusDetail when it keeps the contract).
Status FromPlugin(const std::string& plugin, const std::string& op, int32_t code,
                  const std::string& detail) {
  if (!IsKnownCode(code)) {
    return InternalError("plugin " + plugin + " returned status code " + std::to_string(code) +
                         " from " + op + ", which is not a canonical code");
  }
  if (code == LB_OK) return OkStatus();
  Code c = static_cast<Code>(code);
  v1::StatusDetail d;
  if (!d.ParseFromString(detail)) {
    return Status(c, "plugin " + plugin + " failed " + op + " with " + CodeName(c) +
                         ", and its status detail (" + std::to_string(detail.size()) +
                         " bytes) was unreadable");
  }
  if (d.message().empty()) {
    return Status(
        c, "plugin " + plugin + " failed " + op + " with " + CodeName(c) + " and gave no message",
        d.subject());
  }
  return Status(c, d.message(), d.subject());
}

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& plugin_name) {
  // Each plugin gets its own logger (so that its level can be set alone) writing to the
  // sinks of the default logger as they are at load time. It is not registered with
  // spdlog, so two hosts in one process never clash on the name.
  std::shared_ptr<spdlog::logger> base = spdlog::default_logger();
  if (base == nullptr) return std::make_shared<spdlog::logger>("plugin/" + plugin_name);
  auto logger = std::make_shared<spdlog::logger>("plugin/" + plugin_name, base->sinks().begin(),
                                                 base->sinks().end());
  logger->set_level(base->level());
  logger->flush_on(base->flush_level());
  return logger;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

Status StatLibrary(const PluginManifest& m, struct stat* st) {
  const std::string lib = m.library_path.string();
  if (::stat(lib.c_str(), st) != 0) {
    int err = errno;
    if (err == ENOENT) {
      return NotFoundError(lib + ": library named by manifest " + m.manifest_path.string() +
                           " does not exist");
    }
    return FailedPreconditionError(lib + ": cannot read the library named by manifest " +
                                   m.manifest_path.string() + ": " +
                                   std::error_code(err, std::generic_category()).message());
  }
  if (!S_ISREG(st->st_mode)) {
    return FailedPreconditionError(lib + ": wanted a library file, found another kind of file");
  }
  return OkStatus();
}

// Checks the library against an already read manifest, loads it and does the handshake.
// The library is loaded only after its SHA-256 matched the manifest's.
StatusOr<std::shared_ptr<LoadedPlugin>> LoadVerified(PluginManifest manifest) {
  const std::string mpath = manifest.manifest_path.string();
  const std::string lpath = manifest.library_path.string();

  if (auto why = AbiIncompatibility(manifest.abi_major, manifest.abi_minor)) {
    return FailedPreconditionError(mpath + ": manifest declares plugin ABI " +
                                   AbiText(manifest.abi_major, manifest.abi_minor) +
                                   ", which is not supported by this host (ABI " + HostAbiText() +
                                   "): " + *why);
  }

  struct stat before {};
  LIFEBOAT_RETURN_IF_ERROR(StatLibrary(manifest, &before));
  StatusOr<std::string> digest = Sha256File(manifest.library_path);
  if (!digest.ok()) return digest.status();
  if (*digest != manifest.sha256) {
    return PermissionDeniedError(lpath + ": SHA-256 is " + *digest + " but manifest " + mpath +
                                 " wants " + manifest.sha256 +
                                 "; refusing to load a library that does not match its manifest");
  }
  // The file must be the one just hashed. This narrows, without closing, the window in
  // which a writer of the trusted directory could swap it; trusted directories must be
  // writable only by those who install plugins.
  struct stat after {};
  LIFEBOAT_RETURN_IF_ERROR(StatLibrary(manifest, &after));
  if (!SameFile(before, after)) {
    return AbortedError(lpath + ": changed while it was being verified; refusing to load it " +
                        "(try again once nothing writes it)");
  }

  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->logger = MakeLogger(manifest.name);
  plugin->manifest = std::move(manifest);
  const std::string& name = plugin->name();

  // RTLD_NOW: an unresolved symbol is an error now, not a crash in the middle of a job.
  // RTLD_LOCAL: a plugin's symbols never satisfy another plugin's references.
  std::error_code ec;
  ::dlerror();  // clear any stale message
  plugin->library.load(plugin->manifest.library_path, ec,
                       boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    const char* why = ::dlerror();
    return FailedPreconditionError(
        lpath + ": cannot be loaded: " + (why != nullptr ? std::string(why) : ec.message()));
  }
  if (!plugin->library.has(LIFEBOAT_PLUGIN_INIT_SYMBOL)) {
    return FailedPreconditionError(lpath + ": exports no entry point '" +
                                   LIFEBOAT_PLUGIN_INIT_SYMBOL +
                                   "' (wanted a Lifeboat plugin, found a library without it)");
  }
  auto& init =
      plugin->library.get<const lb_plugin_api*(const lb_host_api*)>(LIFEBOAT_PLUGIN_INIT_SYMBOL);
  const lb_plugin_api* api = nullptr;
  {
    CurrentPlugin current(*plugin);
    api = init(&kHostApi);
  }
  if (api == nullptr) {
    return FailedPreconditionError(lpath + ": " + LIFEBOAT_PLUGIN_INIT_SYMBOL +
                                   " returned no function table (wanted a table for ABI " +
                                   HostAbiText() + "); the plugin refused this host, see its log");
  }
  constexpr size_t kHeaderSize = offsetof(lb_plugin_api, abi_minor) + sizeof(uint16_t);
  if (api->struct_size < kHeaderSize) {
    return FailedPreconditionError(lpath + ": plugin table is " + std::to_string(api->struct_size) +
                                   " bytes; wanted at least " + std::to_string(kHeaderSize) +
                                   " for its version header");
  }
  if (auto why = AbiIncompatibility(api->abi_major, api->abi_minor)) {
    return FailedPreconditionError(
        lpath + ": plugin ABI " + AbiText(api->abi_major, api->abi_minor) +
        " is not supported by this host (ABI " + HostAbiText() + "): " + *why);
  }
  constexpr size_t kMajor1Size = offsetof(lb_plugin_api, invoke) + sizeof(lb_plugin_api::invoke);
  if (api->struct_size < kMajor1Size) {
    return FailedPreconditionError(
        lpath + ": plugin table is " + std::to_string(api->struct_size) + " bytes; ABI " +
        std::to_string(LIFEBOAT_ABI_MAJOR) + " needs at least " + std::to_string(kMajor1Size) +
        " (every function of ABI " + std::to_string(LIFEBOAT_ABI_MAJOR) + ".0)");
  }
  const std::pair<const char*, bool> functions[] = {
      {"describe", api->describe != nullptr}, {"validate", api->validate != nullptr},
      {"create", api->create != nullptr},     {"destroy", api->destroy != nullptr},
      {"invoke", api->invoke != nullptr},
  };
  for (const auto& [fn, present] : functions) {
    if (!present) {
      return FailedPreconditionError(lpath + ": plugin table has no '" + fn +
                                     "' function (wanted all of describe, validate, create, " +
                                     "destroy and invoke)");
    }
  }
  plugin->api = api;

  std::string out;
  int32_t code = 0;
  {
    CurrentPlugin current(*plugin);
    code = static_cast<int32_t>(api->describe(reinterpret_cast<lb_out*>(&out)));
  }
  if (code != LB_OK) {
    Status failed = FromPlugin(name, "describe", code, out);
    return Status(failed.code() == Code::kInternal ? Code::kInternal : Code::kFailedPrecondition,
                  lpath + ": describe failed: " + failed.ToString());
  }
  v1::PluginDescriptor& d = plugin->descriptor;
  if (!d.ParseFromString(out)) {
    return InternalError(lpath + ": plugin " + name + " answered describe with " +
                         std::to_string(out.size()) + " bytes that are not a valid " +
                         d.GetTypeName());
  }
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"name", &d.name()},
                                     {"version", &d.version()},
                                     {"component", &d.component()}}) {
    if (value->empty()) {
      return FailedPreconditionError(lpath + ": descriptor has an empty " + field +
                                     " (wanted a non-empty name, version and component)");
    }
  }
  const PluginManifest& m = plugin->manifest;
  auto differ = [&](const std::string& what, const std::string& found, const std::string& wanted) {
    return FailedPreconditionError(lpath + ": " + what + " is '" + found + "' but manifest " +
                                   mpath + " says '" + wanted + "'");
  };
  if (d.name() != m.name) return differ("descriptor name", d.name(), m.name);
  if (d.component() != m.component)
    return differ("descriptor component", d.component(), m.component);
  if (d.version() != m.version) return differ("descriptor version", d.version(), m.version);
  const std::string manifest_abi = AbiText(m.abi_major, m.abi_minor);
  const std::string descriptor_abi = AbiText(d.abi_major(), d.abi_minor());
  const std::string table_abi = AbiText(api->abi_major, api->abi_minor);
  if (descriptor_abi != manifest_abi) return differ("descriptor ABI", descriptor_abi, manifest_abi);
  if (table_abi != manifest_abi) return differ("plugin table ABI", table_abi, manifest_abi);
  std::set<std::string> declared;
  for (int c : d.capabilities()) {
    std::string_view cap = CapabilityName(static_cast<v1::Capability>(c));
    if (cap.empty()) {
      return FailedPreconditionError(
          lpath + ": descriptor declares capability number " + std::to_string(c) +
          ", which this host does not know (known: " + KnownCapabilityNames() + ")");
    }
    declared.emplace(cap);
  }
  const std::set<std::string> listed(m.capabilities.begin(), m.capabilities.end());
  if (declared != listed) {
    auto join = [](const std::set<std::string>& caps) {
      std::string out;
      for (const std::string& c : caps) out += (out.empty() ? "" : ", ") + c;
      return "[" + out + "]";
    };
    return differ("descriptor capabilities", join(declared), join(listed));
  }
  // SDK 0.2 and newer list the operations the plugin implements; older ones list none.
  if (d.implemented_ops_size() > 0) {
    uint64_t ops = 0;
    for (int32_t op : d.implemented_ops()) {
      if (op >= 0 && op < 64) ops |= uint64_t{1} << op;
    }
    std::string mismatches = CapabilityMismatches(d, ops);
    if (!mismatches.empty()) {
      return FailedPreconditionError(lpath + ": plugin " + d.name() +
                                     " disagrees with itself: " + mismatches);
    }
  }
  return plugin;
}

StatusOr<std::shared_ptr<LoadedPlugin>> LoadFromManifest(const fs::path& manifest_file,
                                                         std::string* name) {
  StatusOr<PluginManifest> manifest = ReadManifest(manifest_file);
  if (!manifest.ok()) return manifest.status();
  *name = manifest->name;
  return LoadVerified(std::move(manifest).value());
}

bool IsManifestName(const fs::path& p) {
  const std::string name = p.filename().string();
  const std::string suffix = kManifestSuffix;
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Manifests of a directory, sorted by path; `status` says why there are none to read.
std::vector<fs::path> ManifestsIn(const fs::path& dir, Status* status) {
  std::vector<fs::path> found;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (IsManifestName(it->path()) && it->is_regular_file(type_ec)) found.push_back(it->path());
  }
  if (ec) {
    *status = FailedPreconditionError(dir.string() +
                                      ": cannot list the plugin directory: " + ec.message());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The manifest for `path`: the path itself when it is a manifest, otherwise the manifest
// next to the library that names it.
StatusOr<fs::path> ManifestFor(const fs::path& path) {
  if (IsManifestName(path)) return path;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return NotFoundError(path.string() + ": does not exist");
  if (fs::is_directory(st)) {
    return InvalidArgumentError(path.string() + ": is a directory; wanted a plugin manifest (*" +
                                kManifestSuffix + ") or a plugin library");
  }
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  Status list_status;
  for (const fs::path& candidate : ManifestsIn(dir, &list_status)) {
    StatusOr<PluginManifest> m = ReadManifest(candidate);
    if (m.ok() && m->library == path.filename().string()) return candidate;
  }
  return NotFoundError(path.string() + ": no readable manifest (*" + kManifestSuffix + ") in " +
                       dir.string() + " names this library");
}

}  // namespace

// --- PluginInstance ------------------------------------------------------------------

struct PluginInstance::HostContext : InstanceContext {};

PluginInstance::PluginInstance(std::shared_ptr<const LoadedPlugin> lib, v1::PluginConfig config)
    : lib_(std::move(lib)), config_(std::move(config)), ctx_(std::make_unique<HostContext>()) {
  ctx_->plugin = lib_.get();
  ctx_->cluster = config_.cluster();
}

PluginInstance::~PluginInstance() {
  if (handle_ != nullptr) {
    CurrentPlugin current(*lib_);
    lib_->api->destroy(handle_);
  }
}

const v1::PluginDescriptor& PluginInstance::descriptor() const { return lib_->descriptor; }

Status PluginInstance::InvokeRaw(lb_op op, const std::string& request, std::string* response,
                                 const CallOptions& opts) {
  CallState call(opts);
  std::string out;
  int32_t code = 0;
  {
    CurrentPlugin current(*lib_);
    code = static_cast<int32_t>(lib_->api->invoke(handle_, reinterpret_cast<lb_call*>(&call), op,
                                                  reinterpret_cast<const uint8_t*>(request.data()),
                                                  request.size(), reinterpret_cast<lb_out*>(&out)));
  }
  if (code != LB_OK) return FromPlugin(lib_->name(), OpName(op), code, out);
  *response = std::move(out);
  return OkStatus();
}

template <lb_op Op>
StatusOr<typename OpTraits<Op>::Response> PluginInstance::Call(
    const typename OpTraits<Op>::Request& req, const CallOptions& opts) {
  std::string out;
  LIFEBOAT_RETURN_IF_ERROR(InvokeRaw(Op, req.SerializeAsString(), &out, opts));
  typename OpTraits<Op>::Response resp;
  if (!resp.ParseFromString(out)) {
    return InternalError("plugin " + lib_->name() + " answered " + OpName(Op) + " with " +
                         std::to_string(out.size()) + " bytes that are not a valid " +
                         resp.GetTypeName());
  }
  return resp;
}

// Every operation's typed call, instantiated once here.
#define LIFEBOAT_HOST_CALL_(op, name, Method, Req, Resp, has_op_id, cap) \
  template StatusOr<v1::Resp> PluginInstance::Call<op>(const v1::Req&, const CallOptions&);
LIFEBOAT_OPERATIONS(LIFEBOAT_HOST_CALL_)
#undef LIFEBOAT_HOST_CALL_

// --- PluginHost ----------------------------------------------------------------------

PluginHost::PluginHost(std::vector<fs::path> trusted_dirs) : dirs_(std::move(trusted_dirs)) {}

PluginHost::~PluginHost() = default;

// Directories in the order given, so that the first one to hold a name wins it; the
// manifests of each directory in path order.
std::vector<LoadReport> PluginHost::LoadAll() {
  std::vector<LoadReport> reports;
  std::vector<fs::path> seen;
  for (const fs::path& dir : dirs_) {
    // The same directory named twice (say, once by default and once on the command line)
    // would otherwise refuse every plugin in it as a duplicate of itself.
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(dir, ec);
    if (ec) canonical = dir;
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    seen.push_back(canonical);

    fs::file_status st = fs::status(dir, ec);
    if (!fs::exists(st)) {
      reports.push_back(
          {dir, "", NotFoundError(dir.string() + ": plugin directory does not exist"), {}});
      continue;
    }
    if (!fs::is_directory(st)) {
      reports.push_back(
          {dir,
           "",
           FailedPreconditionError(dir.string() + ": wanted a plugin directory, found a file"),
           {}});
      continue;
    }
    Status list_status;
    std::vector<fs::path> manifests = ManifestsIn(dir, &list_status);
    if (!list_status.ok()) reports.push_back({dir, "", list_status, {}});
    for (const fs::path& manifest_file : manifests) {
      LoadReport report;
      report.path = manifest_file;
      StatusOr<PluginManifest> manifest = ReadManifest(manifest_file);
      if (!manifest.ok()) {
        report.status = manifest.status();
        reports.push_back(std::move(report));
        continue;
      }
      report.name = manifest->name;
      {
        // Known name: never load a second library for it. Refused before loading, so that
        // a duplicate's code never runs.
        std::lock_guard<std::mutex> lock(mu_);
        auto it = registry_.find(manifest->name);
        if (it != registry_.end()) {
          if (it->second->manifest.manifest_path == manifest->manifest_path) {
            report.descriptor = it->second->descriptor;  // loaded by an earlier LoadAll()
          } else {
            report.status = AlreadyExistsError(
                manifest_file.string() + ": plugin '" + manifest->name +
                "' is already registered from " + it->second->manifest.manifest_path.string() +
                "; plugin names must be unique across the trusted directories");
          }
          reports.push_back(std::move(report));
          continue;
        }
      }
      StatusOr<std::shared_ptr<LoadedPlugin>> loaded = LoadVerified(std::move(manifest).value());
      if (!loaded.ok()) {
        report.status = loaded.status();
        reports.push_back(std::move(report));
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto [it, inserted] = registry_.emplace(report.name, *loaded);
      if (!inserted) {
        // Only when another thread registered the name meanwhile.
        report.status = AlreadyExistsError(
            manifest_file.string() + ": plugin '" + report.name + "' is already registered from " +
            it->second->manifest.manifest_path.string() +
            "; plugin names must be unique across the trusted directories");
      } else {
        report.descriptor = it->second->descriptor;
        spdlog::debug("loaded plugin {} {} from {}", report.name, report.descriptor.version(),
                      manifest_file.string());
      }
      reports.push_back(std::move(report));
    }
  }
  return reports;
}

LoadReport PluginHost::Check(const fs::path& path) {
  LoadReport report;
  report.path = path;
  StatusOr<fs::path> manifest = ManifestFor(path);
  if (!manifest.ok()) {
    report.status = manifest.status();
    return report;
  }
  StatusOr<std::shared_ptr<LoadedPlugin>> loaded = LoadFromManifest(*manifest, &report.name);
  if (!loaded.ok()) {
    report.status = loaded.status();
    return report;
  }
  report.descriptor = (*loaded)->descriptor;
  return report;
}

std::vector<v1::PluginDescriptor> PluginHost::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::PluginDescriptor> out;
  out.reserve(registry_.size());
  for (const auto& [name, plugin] : registry_) out.push_back(plugin->descriptor);
  return out;
}

namespace {

StatusOr<std::shared_ptr<const LoadedPlugin>> Find(
    const std::map<std::string, std::shared_ptr<const LoadedPlugin>>& registry,
    const std::string& name) {
  auto it = registry.find(name);
  if (it != registry.end()) return it->second;
  std::string names;
  for (const auto& [n, plugin] : registry) names += (names.empty() ? "" : ", ") + n;
  return NotFoundError("no plugin named '" + name + "' is registered; registered plugins: " +
                       (names.empty() ? "(none)" : names));
}

}  // namespace

Status PluginHost::Validate(const v1::PluginConfig& config) const {
  std::shared_ptr<const LoadedPlugin> plugin;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LIFEBOAT_ASSIGN_OR_RETURN(plugin, Find(registry_, config.plugin()));
  }
  const std::string bytes = config.SerializeAsString();
  std::string error;
  int32_t code = 0;
  {
    CurrentPlugin current(*plugin);
    code = static_cast<int32_t>(
        plugin->api->validate(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                              reinterpret_cast<lb_out*>(&error)));
  }
  return FromPlugin(plugin->name(), "validate", code, error);
}

StatusOr<std::unique_ptr<PluginInstance>> PluginHost::Instantiate(
    const v1::PluginConfig& config) const {
  std::shared_ptr<const LoadedPlugin> plugin;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LIFEBOAT_ASSIGN_OR_RETURN(plugin, Find(registry_, config.plugin()));
  }
  std::unique_ptr<PluginInstance> instance(new PluginInstance(plugin, config));
  const std::string bytes = config.SerializeAsString();
  std::string error;
  lb_instance* handle = nullptr;
  int32_t code = 0;
  {
    CurrentPlugin current(*plugin);
    code = static_cast<int32_t>(plugin->api->create(
        reinterpret_cast<lb_host_ctx*>(static_cast<InstanceContext*>(instance->ctx_.get())),
        reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &handle,
        reinterpret_cast<lb_out*>(&error)));
  }
  if (code != LB_OK) return FromPlugin(plugin->name(), "create", code, error);
  if (handle == nullptr) {
    return InternalError("plugin " + plugin->name() +
                         " answered create with OK but gave no instance");
  }
  instance->handle_ = handle;
  return instance;
}

}  // namespace lifeboat::core
