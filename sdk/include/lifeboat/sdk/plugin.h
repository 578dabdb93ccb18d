// The C++ SDK for component plugins. A plugin derives from ComponentPlugin, overrides the
// operations its component supports, and registers with LIFEBOAT_REGISTER_PLUGIN. The SDK
// generates the C entry point, (de)serializes every message, and turns every exception
// into a Status at the boundary, so that nothing but lb_code and bytes crosses it.
//
// Thread-safety: the host may run several operations on one instance at once (for example
// transfers of different tasks); an implementation guards its own shared state.
#ifndef LIFEBOAT_SDK_PLUGIN_H_
#define LIFEBOAT_SDK_PLUGIN_H_

#include <lifeboat/abi.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/common.pb.h>
#include <lifeboat/v1/manifest.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#define LIFEBOAT_SDK_VERSION "0.1.0"

#if defined(_WIN32)
#define LIFEBOAT_EXPORT __declspec(dllexport)
#else
#define LIFEBOAT_EXPORT __attribute__((visibility("default")))
#endif

namespace lifeboat::sdk {

namespace v1 = ::lifeboat::v1;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// Services of the host available to an instance for its whole life. Cheap to copy.
class Host {
 public:
  Host() = default;
  Host(const lb_host_api* api, lb_host_ctx* ctx) : api_(api), ctx_(ctx) {}

  // Logs through the host (which adds plugin, cluster and time). Never log a secret.
  void Log(LogLevel level, std::string_view message) const;
  void Info(std::string_view m) const { Log(LogLevel::kInfo, m); }
  void Warn(std::string_view m) const { Log(LogLevel::kWarn, m); }
  void Error(std::string_view m) const { Log(LogLevel::kError, m); }
  // The host's wall clock, nanoseconds since the Unix epoch.
  int64_t NowUnixNanos() const;

 private:
  const lb_host_api* api_ = nullptr;
  lb_host_ctx* ctx_ = nullptr;
};

// Services for one call: progress and cancellation. Valid only during the call.
class Call {
 public:
  Call(const lb_host_api* api, lb_call* call, Host host) : api_(api), call_(call), host_(host) {}

  // True once the caller asked the call to stop. Check between units of work and return
  // CancelledError() leaving resumable state behind.
  bool Cancelled() const;
  void ReportProgress(const v1::Progress& progress) const;
  const Host& host() const { return host_; }

 private:
  const lb_host_api* api_;
  lb_call* call_;
  Host host_;
};

// Base of every component plugin. Each operation returns its response or a Status; the
// default implementation answers UNIMPLEMENTED. Every mutating operation carries an op_id
// and must be idempotent for it: a repeated call with the same op_id returns the result of
// the first successful one and does no work twice. See docs/plugin-guide.md for the
// contract of each operation.
class ComponentPlugin {
 public:
  virtual ~ComponentPlugin() = default;

  virtual StatusOr<v1::ProbeResponse> Probe(Call& call, const v1::ProbeRequest& req);
  virtual StatusOr<v1::ResolveResponse> Resolve(Call& call, const v1::ResolveRequest& req);
  virtual StatusOr<v1::PrepareResponse> Prepare(Call& call, const v1::PrepareRequest& req);
  virtual StatusOr<v1::CutResponse> Cut(Call& call, const v1::CutRequest& req);
  virtual StatusOr<v1::ReleaseResponse> Release(Call& call, const v1::ReleaseRequest& req);
  virtual StatusOr<v1::PlanTransferResponse> PlanTransfer(Call& call,
                                                          const v1::PlanTransferRequest& req);
  virtual StatusOr<v1::TransferResponse> Transfer(Call& call, const v1::TransferRequest& req);
  virtual StatusOr<v1::VerifyResponse> Verify(Call& call, const v1::VerifyRequest& req);
  virtual StatusOr<v1::CommitResponse> Commit(Call& call, const v1::CommitRequest& req);
  virtual StatusOr<v1::RestoreResponse> Restore(Call& call, const v1::RestoreRequest& req);
  virtual StatusOr<v1::ExpireResponse> Expire(Call& call, const v1::ExpireRequest& req);
  virtual StatusOr<v1::SyncSecurityResponse> SyncSecurity(Call& call,
                                                          const v1::SyncSecurityRequest& req);
  virtual StatusOr<v1::FenceResponse> Fence(Call& call, const v1::FenceRequest& req);
  virtual StatusOr<v1::FenceResponse> Unfence(Call& call, const v1::FenceRequest& req);
};

namespace internal {

// Type-erased hooks of one registered plugin class; filled in by LIFEBOAT_REGISTER_PLUGIN.
struct PluginHooks {
  v1::PluginDescriptor (*describe)();
  Status (*validate)(const v1::PluginConfig& config);
  StatusOr<std::unique_ptr<ComponentPlugin>> (*create)(Host host, const v1::PluginConfig& config);
};

// Returns the plugin's C table for `hooks`, remembering `host` for the life of the library.
const lb_plugin_api* Init(const lb_host_api* host, const PluginHooks* hooks);

template <typename T>
StatusOr<std::unique_ptr<ComponentPlugin>> CreateAs(Host host, const v1::PluginConfig& config) {
  StatusOr<std::unique_ptr<T>> made = T::Create(host, config);
  if (!made.ok()) return made.status();
  return std::unique_ptr<ComponentPlugin>(std::move(made).value());
}

}  // namespace internal
}  // namespace lifeboat::sdk

// Registers `Class` as this library's plugin and generates the exported entry point.
// `Class` derives from ComponentPlugin and provides:
//   static lifeboat::v1::PluginDescriptor Describe();
//   static lifeboat::Status Validate(const lifeboat::v1::PluginConfig&);   // no side effects
//   static lifeboat::StatusOr<std::unique_ptr<Class>> Create(lifeboat::sdk::Host,
//                                                           const lifeboat::v1::PluginConfig&);
// Use it once per library, at namespace scope.
#define LIFEBOAT_REGISTER_PLUGIN(Class)                                                           \
  extern "C" LIFEBOAT_EXPORT const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host) { \
    static const ::lifeboat::sdk::internal::PluginHooks hooks = {                                 \
        &Class::Describe, &Class::Validate, &::lifeboat::sdk::internal::CreateAs<Class>};         \
    return ::lifeboat::sdk::internal::Init(host, &hooks);                                         \
  }

#endif  // LIFEBOAT_SDK_PLUGIN_H_
