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
#include <lifeboat/ops.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/common.pb.h>
#include <lifeboat/v1/manifest.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

// 0.2.0: the operation table (ops.h), implemented_ops in the descriptor, manifests generated
// from Describe(), the installable package.
#define LIFEBOAT_SDK_VERSION "0.2.0"

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

// Receives the bytes of a peer read in order; the view is valid during the call only. A
// non-OK status stops the read and becomes ReadPeer's result.
using PeerChunkHandler = std::function<Status(std::string_view chunk)>;

// Services for one call: progress, cancellation and the peer stream. Valid only during the
// call.
class Call {
 public:
  Call(const lb_host_api* api, lb_call* call, Host host) : api_(api), call_(call), host_(host) {}

  // True once the caller asked the call to stop. Check between units of work and return
  // CancelledError() leaving resumable state behind.
  bool Cancelled() const;
  void ReportProgress(const v1::Progress& progress) const;
  const Host& host() const { return host_; }

  // Serving side of a peer read (only inside Read()): sends the next bytes of the range to
  // the reader, blocking while its window is full. OK to go on; CANCELLED when the reader is
  // gone or the call was cancelled (return it); UNIMPLEMENTED on an ABI 1.0 host.
  Status EmitChunk(std::string_view data) const;

  // Reading side: reads `request.item` [offset, offset+length) of the snapshot named in
  // `request` from `peer` (the Peer of the operation, as the engine filled it), handing the
  // bytes to `on_chunk` in order on this thread. OK when the whole range arrived. Otherwise
  // the first failure: on_chunk's status, the serving plugin's status (code and message as
  // it said them), UNAVAILABLE naming the peer when it cannot be reached, CANCELLED when
  // this call was cancelled, UNIMPLEMENTED (never retried) when this host is older than ABI
  // 1.1 or the peer's plugin does not serve reads.
  Status ReadPeer(const v1::Peer& peer, const v1::ReadRequest& request,
                  const PeerChunkHandler& on_chunk) const;

  // True when the host offers the peer stream (ABI 1.1 or newer).
  bool HostHasPeerStream() const;

 private:
  const lb_host_api* api_;
  lb_call* call_;
  Host host_;
};

// Base of every component plugin. Each operation returns its response or a Status; the
// default implementation answers UNIMPLEMENTED. docs/plugin-guide.md gives the contract of
// each operation. The rules the engine relies on (the guide states them in these words;
// sdk_docs_test keeps the two equal, and the conformance suite checks them):
//  - Statuses, not exceptions. Return lifeboat::Status/StatusOr. The SDK catches any exception at
//    the boundary and turns it into INTERNAL with its text, but a thrown exception is a bug. Pick
//    the code by what the engine should do: UNAVAILABLE (retry with backoff), ABORTED (restart the
//    phase, e.g. cut again), FAILED_PRECONDITION (park the job for an operator: say what they must
//    do), DATA_LOSS (alert), UNIMPLEMENTED (never retry), INVALID_ARGUMENT (bad config or request),
//    NOT_FOUND, CANCELLED. Messages say what was wrong and what to do; put the file, field or data
//    set in subject.
//  - Idempotent per op_id. A repeated call with the same op id changes nothing more than the first
//    did and answers the same end state. Where a response counts work done by this call (transfer's
//    bytes_copied, restore's bytes_written, expire's removed), the repeat counts none and reports
//    the rest as found done (bytes_skipped, already_absent). Where the answer cannot be worked out
//    again from the component's state (a cut's snapshot and times, a fence's report), keep it with
//    sdk::OpJournal. After a crash the engine repeats the call that was running; keep the state
//    that makes this true on the component itself (the target cluster), not in memory.
//  - Long calls report progress and honour cancellation. call.ReportProgress(...) (or
//    sdk::ProgressReporter) at least once per unit of work; check call.Cancelled() between units
//    and return lifeboat::CancelledError(...), leaving state from which the next call resumes.
//  - Concurrency. The host may run several calls on one instance at once (transfers of different
//    tasks). Guard your own shared state.
//  - Bandwidth in TransferRequest.bandwidth_bytes_per_second is the whole job's: every transfer of
//    the job shares it (sdk::JobThrottle, keyed by the restore point).
//  - Logs go through host.Info/Warn/Error; never log a secret.
//  - No full-runtime protobuf in a plugin: the SDK's messages are lite (decisions D2).
//  - Manifests stream. No response grows with the number of items: a cut's or commit's
//    MemberManifest may leave entries empty and give entry_count, total_bytes and
//    manifest_digest, the entries kept in the plugin's own sorted manifest file
//    (sdk::ManifestWriter, sdk::ManifestReader). Inline entries are for small data sets and
//    older plugins only; the engine counts them when entry_count is 0.
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
  // Compares the point's copy with its cut. A plugin whose Describe() names `references`
  // lists in the response what its point names in those components; with
  // req.expect_held() set, answers only whether the point holds each of those locations, one
  // `held` per location in order (docs/plugin-guide.md, "References between components").
  virtual StatusOr<v1::VerifyResponse> Verify(Call& call, const v1::VerifyRequest& req);
  virtual StatusOr<v1::CommitResponse> Commit(Call& call, const v1::CommitRequest& req);
  // Makes a destination equal a retained point. The contract (docs/plugin-guide.md, "restore"):
  //  - req.destination() is what the operator gave for this component, "" = the data set
  //    itself; the selector is apart, in req.data_set(): place the data set below the
  //    destination by the component's convention (a path prefix: sdk::PathBelowDestination;
  //    a topic prefix: <destination><topic>) and refuse a destination that cannot be a place
  //    of this component with INVALID_ARGUMENT naming it, before anything is made;
  //  - without req.overwrite(), deleting or replacing what the destination holds (and the
  //    point does not) is refused with FAILED_PRECONDITION naming the items, before anything
  //    changes (sdk::CheckRestoreConsent); creating is not, nor a repeat of the same op_id
  //    (a resume may change what it wrote itself);
  //  - a fenced data set is not written (FAILED_PRECONDITION naming the epoch);
  //  - a dry run lists one change per item and checks all of the above, refusing as the real
  //    run would; with req.compare_only() it only lists how the destination differs from the
  //    point (no fence, no consent): what a cluster took since a point cut from it.
  virtual StatusOr<v1::RestoreResponse> Restore(Call& call, const v1::RestoreRequest& req);
  virtual StatusOr<v1::ExpireResponse> Expire(Call& call, const v1::ExpireRequest& req);
  virtual StatusOr<v1::SyncSecurityResponse> SyncSecurity(Call& call,
                                                          const v1::SyncSecurityRequest& req);
  virtual StatusOr<v1::FenceResponse> Fence(Call& call, const v1::FenceRequest& req);
  virtual StatusOr<v1::FenceResponse> Unfence(Call& call, const v1::FenceRequest& req);
  // ABI 1.1. Serves a byte range of an item to a peer through call.EmitChunk(); see
  // ReadRequest in plugin.proto for the contract. Read-only; may run concurrently with any
  // other operation. Declare CAP_PEER_READ when implemented.
  virtual StatusOr<v1::ReadResponse> Read(Call& call, const v1::ReadRequest& req);
};

namespace internal {

// Type-erased hooks of one registered plugin class; filled in by LIFEBOAT_REGISTER_PLUGIN.
struct PluginHooks {
  v1::PluginDescriptor (*describe)();
  Status (*validate)(const v1::PluginConfig& config);
  StatusOr<std::unique_ptr<ComponentPlugin>> (*create)(Host host, const v1::PluginConfig& config);
  // Bit (1 << op) set for every operation the class overrides (ImplementedOps below).
  uint64_t implemented_ops;
};

// The operations `T` overrides, one bit per lb_op value. A method T does not override names
// ComponentPlugin's, so `&T::Method` has ComponentPlugin's member-pointer type; an override
// (in T or in a base between the two) gives another class's type.
template <typename T>
constexpr uint64_t ImplementedOps() {
  static_assert(std::is_base_of_v<ComponentPlugin, T>, "a plugin derives from ComponentPlugin");
  uint64_t mask = 0;
#define LIFEBOAT_SDK_OVERRIDES_(op, name, Method, Req, Resp, has_op_id, cap)                 \
  if constexpr (!std::is_same_v<decltype(&T::Method), decltype(&ComponentPlugin::Method)>) { \
    mask |= uint64_t{1} << op;                                                               \
  }
  LIFEBOAT_OPERATIONS(LIFEBOAT_SDK_OVERRIDES_)
#undef LIFEBOAT_SDK_OVERRIDES_
  return mask;
}

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
        &Class::Describe, &Class::Validate, &::lifeboat::sdk::internal::CreateAs<Class>,          \
        ::lifeboat::sdk::internal::ImplementedOps<Class>()};                                      \
    return ::lifeboat::sdk::internal::Init(host, &hooks);                                         \
  }

#endif  // LIFEBOAT_SDK_PLUGIN_H_
