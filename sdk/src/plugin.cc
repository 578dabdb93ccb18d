// The C side of the SDK: the plugin's lb_plugin_api table, built around the hooks that
// LIFEBOAT_REGISTER_PLUGIN registers. Every entry catches every exception: nothing but an
// lb_code and bytes leaves the plugin.
#include <lifeboat/capabilities.h>
#include <lifeboat/sdk/plugin.h>

#include <cstddef>
#include <exception>
#include <new>
#include <string>
#include <string_view>

namespace lifeboat::sdk {
namespace {

// Set once by Init(); a library holds one plugin and is initialised by one host.
const lb_host_api* g_host = nullptr;
const internal::PluginHooks* g_hooks = nullptr;

struct Instance {
  Host host;
  std::unique_ptr<ComponentPlugin> plugin;
};

void Assign(lb_out* out, const std::string& bytes) {
  // No host table (Init refused an incompatible host): there is nowhere to write to.
  if (g_host == nullptr || out == nullptr) return;
  g_host->buffer_assign(out, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

lb_code WriteStatus(lb_out* out, const Status& status) {
  v1::StatusDetail detail;
  detail.set_code(static_cast<int32_t>(status.code()));
  detail.set_message(status.message());
  detail.set_subject(status.subject());
  detail.set_retryable(IsRetryable(status.code()));
  detail.set_data_loss(status.code() == Code::kDataLoss);
  Assign(out, detail.SerializeAsString());
  return static_cast<lb_code>(status.code());
}

Status FromException() {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Status(Code::kResourceExhausted, "plugin ran out of memory");
  } catch (const std::exception& e) {
    return InternalError(std::string("plugin threw an exception: ") + e.what());
  } catch (...) {
    return InternalError("plugin threw an exception of unknown type");
  }
}

template <typename Req, typename Resp>
lb_code Run(StatusOr<Resp> (ComponentPlugin::*method)(Call&, const Req&), Instance* inst,
            lb_call* call, const uint8_t* data, size_t size, lb_out* out) {
  Req req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) {
    return WriteStatus(out, InvalidArgumentError("request of " + std::to_string(size) +
                                                 " bytes is not a valid " + req.GetTypeName()));
  }
  Call c(g_host, call, inst->host);
  StatusOr<Resp> result = ((*inst->plugin).*method)(c, req);
  if (!result.ok()) return WriteStatus(out, result.status());
  Assign(out, result->SerializeAsString());
  return LB_OK;
}

lb_code Describe(lb_out* out) {
  try {
    v1::PluginDescriptor d = g_hooks->describe();
    d.set_abi_major(LIFEBOAT_ABI_MAJOR);
    d.set_abi_minor(LIFEBOAT_ABI_MINOR);
    d.set_sdk_version(LIFEBOAT_SDK_VERSION);
    d.clear_implemented_ops();
    for (int32_t op = 0; op < 64; ++op) {
      if ((g_hooks->implemented_ops >> op) & 1U) d.add_implemented_ops(op);
    }
    // A plugin that disagrees with itself fails its build (the manifest is generated from
    // this answer) and never loads.
    std::string mismatches = CapabilityMismatches(d, g_hooks->implemented_ops);
    if (!mismatches.empty()) {
      return WriteStatus(out, FailedPreconditionError("plugin " + d.name() +
                                                      " disagrees with itself: " + mismatches));
    }
    Assign(out, d.SerializeAsString());
    return LB_OK;
  } catch (...) {
    return WriteStatus(out, FromException());
  }
}

lb_code Validate(const uint8_t* config, size_t size, lb_out* error) {
  try {
    v1::PluginConfig cfg;
    if (!cfg.ParseFromArray(config, static_cast<int>(size))) {
      return WriteStatus(error, InvalidArgumentError("configuration is not a valid PluginConfig"));
    }
    Status s = g_hooks->validate(cfg);
    if (!s.ok()) return WriteStatus(error, s);
    return LB_OK;
  } catch (...) {
    return WriteStatus(error, FromException());
  }
}

lb_code Create(lb_host_ctx* ctx, const uint8_t* config, size_t size, lb_instance** instance,
               lb_out* error) {
  if (g_host == nullptr) return LB_FAILED_PRECONDITION;  // the host's ABI major differs
  try {
    v1::PluginConfig cfg;
    if (!cfg.ParseFromArray(config, static_cast<int>(size))) {
      return WriteStatus(error, InvalidArgumentError("configuration is not a valid PluginConfig"));
    }
    // configure implies validate: an instance never exists with a configuration that
    // validate would refuse.
    Status valid = g_hooks->validate(cfg);
    if (!valid.ok()) return WriteStatus(error, valid);
    auto inst = std::make_unique<Instance>();
    inst->host = Host(g_host, ctx);
    StatusOr<std::unique_ptr<ComponentPlugin>> made = g_hooks->create(inst->host, cfg);
    if (!made.ok()) return WriteStatus(error, made.status());
    inst->plugin = std::move(made).value();
    *instance = reinterpret_cast<lb_instance*>(inst.release());
    return LB_OK;
  } catch (...) {
    return WriteStatus(error, FromException());
  }
}

void Destroy(lb_instance* instance) {
  try {
    delete reinterpret_cast<Instance*>(instance);
  } catch (...) {
    // A destructor that throws has nowhere to report to; swallowing keeps the host alive.
  }
}

lb_code Invoke(lb_instance* instance, lb_call* call, lb_op op, const uint8_t* data, size_t size,
               lb_out* out) {
  auto* inst = reinterpret_cast<Instance*>(instance);
  try {
    switch (op) {
#define LIFEBOAT_SDK_DISPATCH_(op, name, Method, Req, Resp, has_op_id, cap) \
  case op:                                                                  \
    return Run(&ComponentPlugin::Method, inst, call, data, size, out);
      LIFEBOAT_OPERATIONS(LIFEBOAT_SDK_DISPATCH_)
#undef LIFEBOAT_SDK_DISPATCH_
      default:
        return WriteStatus(out, UnimplementedError("operation " + std::to_string(op) +
                                                   " is not known to this plugin (SDK " +
                                                   LIFEBOAT_SDK_VERSION + ")"));
    }
  } catch (...) {
    return WriteStatus(out, FromException());
  }
}

const lb_plugin_api kTable = {
    sizeof(lb_plugin_api),
    LIFEBOAT_ABI_MAJOR,
    LIFEBOAT_ABI_MINOR,
    &Describe,
    &Validate,
    &Create,
    &Destroy,
    &Invoke,
};

Status Unimplemented(const char* op) {
  return UnimplementedError(std::string(op) + " is not supported by this plugin");
}

}  // namespace

void Host::Log(LogLevel level, std::string_view message) const {
  if (api_ == nullptr) return;
  api_->log(ctx_, static_cast<lb_log_level>(level), message.data(), message.size());
}

int64_t Host::NowUnixNanos() const { return api_->now_unix_nanos(ctx_); }

bool Call::Cancelled() const { return api_->is_cancelled(call_) != 0; }

void Call::ReportProgress(const v1::Progress& progress) const {
  std::string bytes = progress.SerializeAsString();
  api_->report_progress(call_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// True when the host table holds `field` (appended after ABI 1.0 and so perhaps absent).
#define LIFEBOAT_HOST_HAS(api, field)                                           \
  ((api) != nullptr &&                                                          \
   (api)->struct_size >= offsetof(lb_host_api, field) + sizeof((api)->field) && \
   (api)->field != nullptr)

bool Call::HostHasPeerStream() const {
  return LIFEBOAT_HOST_HAS(api_, emit_chunk) && LIFEBOAT_HOST_HAS(api_, peer_read);
}

Status Call::EmitChunk(std::string_view data) const {
  if (!LIFEBOAT_HOST_HAS(api_, emit_chunk)) {
    return UnimplementedError("this host (ABI " + std::to_string(api_->abi_major) + "." +
                              std::to_string(api_->abi_minor) +
                              ") has no peer stream (emit_chunk needs ABI 1.1)");
  }
  if (api_->emit_chunk(call_, reinterpret_cast<const uint8_t*>(data.data()), data.size()) != 0) {
    return CancelledError("the reader of this stream is gone or the call was cancelled");
  }
  return OkStatus();
}

namespace {

struct PeerReadContext {
  const PeerChunkHandler* on_chunk;
  Status failure;      // on_chunk's refusal, or what it threw
  std::string detail;  // the host's StatusDetail, when the read failed elsewhere
};

void PeerReadError(void* ctx, const uint8_t* detail, size_t size) {
  try {
    static_cast<PeerReadContext*>(ctx)->detail.assign(reinterpret_cast<const char*>(detail), size);
  } catch (...) {
    // Out of memory for the message: the code alone reaches the plugin.
  }
}

lb_code PeerReadTrampoline(void* ctx, const uint8_t* data, size_t size) {
  auto* c = static_cast<PeerReadContext*>(ctx);
  try {
    Status s = (*c->on_chunk)(std::string_view(reinterpret_cast<const char*>(data), size));
    if (s.ok()) return LB_OK;
    c->failure = s;
  } catch (...) {
    c->failure = FromException();
  }
  return static_cast<lb_code>(c->failure.code());
}

}  // namespace

Status Call::ReadPeer(const v1::Peer& peer, const v1::ReadRequest& request,
                      const PeerChunkHandler& on_chunk) const {
  if (!LIFEBOAT_HOST_HAS(api_, peer_read)) {
    return UnimplementedError(
        "this host (ABI " + std::to_string(api_->abi_major) + "." +
        std::to_string(api_->abi_minor) +
        ") has no peer stream (peer_read needs ABI 1.1); upgrade the agent, or make the peer "
        "reachable directly");
  }
  v1::PeerReadRequest req;
  *req.mutable_peer() = peer;
  *req.mutable_read() = request;
  const std::string bytes = req.SerializeAsString();
  PeerReadContext ctx{&on_chunk, OkStatus(), {}};
  lb_code code = api_->peer_read(call_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                 bytes.size(), &PeerReadTrampoline, &PeerReadError, &ctx);
  if (code == LB_OK) return OkStatus();
  if (!ctx.failure.ok()) return ctx.failure;
  v1::StatusDetail detail;
  if (!ctx.detail.empty() && detail.ParseFromString(ctx.detail) && detail.code() == code) {
    return Status(static_cast<Code>(code), detail.message(), detail.subject());
  }
  return Status(static_cast<Code>(code), "peer read of " + request.item() + " from cluster " +
                                             peer.config().cluster() + " failed");
}

StatusOr<v1::ProbeResponse> ComponentPlugin::Probe(Call&, const v1::ProbeRequest&) {
  return Unimplemented("probe");
}
StatusOr<v1::ResolveResponse> ComponentPlugin::Resolve(Call&, const v1::ResolveRequest&) {
  return Unimplemented("resolve");
}
StatusOr<v1::PrepareResponse> ComponentPlugin::Prepare(Call&, const v1::PrepareRequest&) {
  return Unimplemented("prepare");
}
StatusOr<v1::CutResponse> ComponentPlugin::Cut(Call&, const v1::CutRequest&) {
  return Unimplemented("cut");
}
StatusOr<v1::ReleaseResponse> ComponentPlugin::Release(Call&, const v1::ReleaseRequest&) {
  return Unimplemented("release");
}
StatusOr<v1::PlanTransferResponse> ComponentPlugin::PlanTransfer(Call&,
                                                                 const v1::PlanTransferRequest&) {
  return Unimplemented("plan_transfer");
}
StatusOr<v1::TransferResponse> ComponentPlugin::Transfer(Call&, const v1::TransferRequest&) {
  return Unimplemented("transfer");
}
StatusOr<v1::VerifyResponse> ComponentPlugin::Verify(Call&, const v1::VerifyRequest&) {
  return Unimplemented("verify");
}
StatusOr<v1::CommitResponse> ComponentPlugin::Commit(Call&, const v1::CommitRequest&) {
  return Unimplemented("commit");
}
StatusOr<v1::RestoreResponse> ComponentPlugin::Restore(Call&, const v1::RestoreRequest&) {
  return Unimplemented("restore");
}
StatusOr<v1::ExpireResponse> ComponentPlugin::Expire(Call&, const v1::ExpireRequest&) {
  return Unimplemented("expire");
}
StatusOr<v1::SyncSecurityResponse> ComponentPlugin::SyncSecurity(Call&,
                                                                 const v1::SyncSecurityRequest&) {
  return Unimplemented("sync_security");
}
StatusOr<v1::FenceResponse> ComponentPlugin::Fence(Call&, const v1::FenceRequest&) {
  return Unimplemented("fence");
}
StatusOr<v1::FenceResponse> ComponentPlugin::Unfence(Call&, const v1::FenceRequest&) {
  return Unimplemented("unfence");
}
StatusOr<v1::ReadResponse> ComponentPlugin::Read(Call&, const v1::ReadRequest&) {
  return Unimplemented("read (the peer stream)");
}

namespace internal {

const lb_plugin_api* Init(const lb_host_api* host, const PluginHooks* hooks) {
  if (host == nullptr) return nullptr;
  // The first three fields of the host table are stable across every version; check them
  // before trusting anything else in it.
  if (host->abi_major != LIFEBOAT_ABI_MAJOR) {
    // Still hand back the table: its header lets the host report the mismatch precisely.
    g_hooks = hooks;
    g_host = nullptr;
    return &kTable;
  }
  // Every field of ABI 1.0 must be present; fields appended later are checked against
  // struct_size where they are used.
  if (host->struct_size < offsetof(lb_host_api, now_unix_nanos) + sizeof(host->now_unix_nanos)) {
    return nullptr;
  }
  g_host = host;
  g_hooks = hooks;
  return &kTable;
}

}  // namespace internal
}  // namespace lifeboat::sdk
