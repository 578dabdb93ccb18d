#include <lifeboat/testing/fake_host.h>

#include <chrono>

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
