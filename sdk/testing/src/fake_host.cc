#include <lifeboat/testing/fake_host.h>

#include <chrono>
#include <cstddef>

namespace lifeboat::testing {

// The fake passes itself as both the lb_host_ctx and the lb_call handle; the handles are
// opaque to plugins, so any stable pointer will do.
static FakeHost* Self(void* p) { return static_cast<FakeHost*>(p); }

FakeHost::FakeHost() {
  table_.struct_size = sizeof(lb_host_api);
  table_.abi_major = LIFEBOAT_ABI_MAJOR;
  table_.abi_minor = LIFEBOAT_ABI_MINOR;
  table_.buffer_assign = &FakeHost::BufferAssign;
  table_.log = &FakeHost::Log;
  table_.report_progress = &FakeHost::ReportProgress;
  table_.is_cancelled = &FakeHost::IsCancelled;
  table_.now_unix_nanos = &FakeHost::Now;
  table_.emit_chunk = &FakeHost::EmitChunk;
  table_.peer_read = &FakeHost::PeerRead;
}

lb_host_api FakeHost::Abi10Table() const {
  lb_host_api t = table_;
  t.abi_minor = 0;
  t.struct_size = offsetof(lb_host_api, now_unix_nanos) + sizeof(t.now_unix_nanos);
  t.emit_chunk = nullptr;
  t.peer_read = nullptr;
  return t;
}

std::string FakeHost::Emitted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return emitted_;
}

void FakeHost::ClearEmitted() {
  std::lock_guard<std::mutex> lock(mu_);
  emitted_.clear();
}

void FakeHost::SetPeerReader(PeerReader reader) {
  std::lock_guard<std::mutex> lock(mu_);
  peer_reader_ = std::move(reader);
}

int32_t FakeHost::EmitChunk(lb_call* call, const uint8_t* data, size_t size) {
  FakeHost* self = Self(call);
  if (self->cancelled_.load()) return 1;
  std::lock_guard<std::mutex> lock(self->mu_);
  self->emitted_.append(reinterpret_cast<const char*>(data), size);
  return 0;
}

lb_code FakeHost::PeerRead(lb_call* call, const uint8_t* request, size_t size,
                           lb_code (*on_chunk)(void*, const uint8_t*, size_t),
                           void (*on_error)(void*, const uint8_t*, size_t), void* ctx) {
  FakeHost* self = Self(call);
  v1::PeerReadRequest req;
  Status result;
  lb_code stopped = LB_OK;
  PeerReader reader;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    reader = self->peer_reader_;
  }
  if (!req.ParseFromArray(request, static_cast<int>(size))) {
    result = InvalidArgumentError("peer_read: not a PeerReadRequest");
  } else if (!reader) {
    result = UnavailableError("the fake host has no peer reader");
  } else {
    result = reader(req, [&](std::string_view chunk) -> Status {
      lb_code c = on_chunk(ctx, reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
      if (c == LB_OK) return OkStatus();
      stopped = c;
      return Status(static_cast<Code>(c), "stopped by the plugin");
    });
  }
  if (result.ok()) return LB_OK;
  if (stopped != LB_OK) return stopped;
  v1::StatusDetail d;
  d.set_code(static_cast<int32_t>(result.code()));
  d.set_message(result.message());
  const std::string bytes = d.SerializeAsString();
  if (on_error != nullptr)
    on_error(ctx, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return static_cast<lb_code>(result.code());
}

void FakeHost::CancelWhen(std::function<bool(const v1::Progress&)> predicate) {
  std::lock_guard<std::mutex> lock(mu_);
  cancel_when_ = std::move(predicate);
}

void FakeHost::ClearCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancel_when_ = nullptr;
  cancelled_ = false;
}

std::vector<std::string> FakeHost::Logs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_;
}

std::vector<v1::Progress> FakeHost::ProgressReports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

StatusOr<lb_instance*> FakeHost::Create(const lb_plugin_api* api, const v1::PluginConfig& config) {
  std::string bytes = config.SerializeAsString();
  std::string err;
  lb_instance* instance = nullptr;
  lb_code code = api->create(reinterpret_cast<lb_host_ctx*>(this),
                             reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                             &instance, reinterpret_cast<lb_out*>(&err));
  if (code != LB_OK) return ToStatus(code, err);
  return instance;
}

Status FakeHost::ToStatus(lb_code code, const std::string& detail) {
  v1::StatusDetail d;
  if (!d.ParseFromString(detail)) {
    return Status(static_cast<Code>(code), "(plugin sent no readable status detail)");
  }
  return Status(static_cast<Code>(code), d.message(), d.subject());
}

void FakeHost::BufferAssign(lb_out* out, const uint8_t* data, size_t size) {
  reinterpret_cast<std::string*>(out)->assign(reinterpret_cast<const char*>(data), size);
}

void FakeHost::Log(lb_host_ctx* ctx, lb_log_level level, const char* msg, size_t size) {
  if (ctx == nullptr) return;
  FakeHost* self = Self(ctx);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->logs_.push_back(std::to_string(level) + " " + std::string(msg, size));
}

void FakeHost::ReportProgress(lb_call* call, const uint8_t* data, size_t size) {
  FakeHost* self = Self(call);
  v1::Progress p;
  if (!p.ParseFromArray(data, static_cast<int>(size))) return;
  std::lock_guard<std::mutex> lock(self->mu_);
  self->progress_.push_back(p);
  if (self->cancel_when_ && self->cancel_when_(p)) self->cancelled_ = true;
}

int32_t FakeHost::IsCancelled(lb_call* call) { return Self(call)->cancelled_ ? 1 : 0; }

int64_t FakeHost::Now(lb_host_ctx* ctx) {
  int64_t fixed = ctx == nullptr ? 0 : Self(ctx)->now_.load();
  if (fixed != 0) return fixed;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace lifeboat::testing
