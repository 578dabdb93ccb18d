// FakeHost: an in-process stand-in for the host side of the plugin ABI, for unit tests of
// a plugin's code linked straight into the test (no library loading). It records log
// lines and progress, lets a test cancel calls, and drives a plugin's C table with typed
// messages. The real loader is exercised by the conformance suite instead.
//
// Thread-safety: Call() may be used from several threads; the recorded logs and progress
// are guarded.
#ifndef LIFEBOAT_TESTING_FAKE_HOST_H_
#define LIFEBOAT_TESTING_FAKE_HOST_H_

#include <lifeboat/abi.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/common.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::testing {

class FakeHost {
 public:
  FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // The host table to hand to lifeboat_plugin_init().
  const lb_host_api* table() const { return &table_; }
  // The handles this host gives a call and an instance: with table(), what a unit test needs
  // to make an sdk::Call or sdk::Host for code that takes one (SDK helpers, a plugin's own
  // pieces), e.g. sdk::Call(fake.table(), fake.call_handle(),
  //                         sdk::Host(fake.table(), fake.context_handle())).
  lb_call* call_handle() { return reinterpret_cast<lb_call*>(this); }
  lb_host_ctx* context_handle() { return reinterpret_cast<lb_host_ctx*>(this); }

  // Cancels every call from now on (or, with a predicate, once it returns true after a
  // progress report). Reset with ClearCancel().
  void CancelNow() { cancelled_ = true; }
  void CancelWhen(std::function<bool(const v1::Progress&)> predicate);
  void ClearCancel();

  // A fixed clock; 0 means the real wall clock.
  void SetNowUnixNanos(int64_t now) { now_ = now; }

  std::vector<std::string> Logs() const;
  std::vector<v1::Progress> ProgressReports() const;

  // The peer stream (ABI 1.1). Bytes a plugin's Read emitted, in order, since the last Clear.
  std::string Emitted() const;
  void ClearEmitted();
  // Answers the plugin's peer_read: hands `sink` the bytes of `req` (or fails). Unset:
  // peer_read fails UNAVAILABLE.
  using PeerReader = std::function<Status(const v1::PeerReadRequest& req,
                                          const std::function<Status(std::string_view)>& sink)>;
  void SetPeerReader(PeerReader reader);
  // A copy of this host's table as an ABI 1.0 host has it (no peer stream), for testing a
  // plugin's behaviour on an older host.
  lb_host_api Abi10Table() const;

  // Serializes `req`, invokes `op` on `instance` of `api`, and parses the response.
  template <typename Resp, typename Req>
  StatusOr<Resp> Call(const lb_plugin_api* api, lb_instance* instance, lb_op op, const Req& req) {
    std::string bytes = req.SerializeAsString();
    std::string out;
    lb_code code = api->invoke(instance, reinterpret_cast<lb_call*>(this), op,
                               reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                               reinterpret_cast<lb_out*>(&out));
    if (code != LB_OK) return ToStatus(code, out);
    Resp resp;
    if (!resp.ParseFromString(out)) return InternalError("plugin answered a malformed response");
    return resp;
  }

  // Creates an instance from `config`; the caller destroys it with api->destroy().
  StatusOr<lb_instance*> Create(const lb_plugin_api* api, const v1::PluginConfig& config);

  // Turns an lb_code and a serialized StatusDetail into a Status.
  static Status ToStatus(lb_code code, const std::string& detail);

 private:
  static void BufferAssign(lb_out* out, const uint8_t* data, size_t size);
  static void Log(lb_host_ctx* ctx, lb_log_level level, const char* msg, size_t size);
  static void ReportProgress(lb_call* call, const uint8_t* data, size_t size);
  static int32_t IsCancelled(lb_call* call);
  static int64_t Now(lb_host_ctx* ctx);
  static int32_t EmitChunk(lb_call* call, const uint8_t* data, size_t size);
  static lb_code PeerRead(lb_call* call, const uint8_t* request, size_t size,
                          lb_code (*on_chunk)(void*, const uint8_t*, size_t),
                          void (*on_error)(void*, const uint8_t*, size_t), void* ctx);

  lb_host_api table_{};  // zeroed: a field this fake does not fill is NULL, never garbage
  std::string emitted_;
  PeerReader peer_reader_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int64_t> now_{0};
  mutable std::mutex mu_;
  std::function<bool(const v1::Progress&)> cancel_when_;
  std::vector<std::string> logs_;
  std::vector<v1::Progress> progress_;
};

}  // namespace lifeboat::testing

#endif  // LIFEBOAT_TESTING_FAKE_HOST_H_
