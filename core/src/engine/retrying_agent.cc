// The engine's one retry policy for plugin calls (agent_wrapper.h).
#include <lifeboat/core/agent_wrapper.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <type_traits>

namespace lifeboat::core {
namespace {

bool CancelledBy(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// Runs `attempt` until it succeeds, fails with a code that is not retryable, or the policy's
// attempts are spent; between attempts waits the backoff, in short steps so that a
// cancellation is seen within ~20 ms. `what` names the call in a cancellation's message.
template <typename Fn>
auto WithRetries(const RetryPolicy& policy, const std::atomic<bool>* cancel,
                 const CallOptions* opts, const std::string& what, Fn attempt)
    -> decltype(attempt()) {
  int64_t backoff = std::max<int64_t>(0, policy.first_backoff_millis);
  for (int n = 1;; ++n) {
    auto result = attempt();
    Status s;
    if constexpr (std::is_same_v<decltype(result), Status>) {
      s = result;
    } else {
      s = result.status();
    }
    if (s.ok() || !IsRetryable(s.code()) || n >= policy.max_attempts || CancelledBy(cancel)) {
      return result;
    }
    if (opts != nullptr && opts->on_retry) opts->on_retry(s, n, backoff);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff);
    while (std::chrono::steady_clock::now() < until) {
      if (CancelledBy(cancel)) {
        return CancelledError("cancelled while waiting to retry " + what +
                              " after: " + s.ToString());
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
    backoff = std::min(backoff * 2, std::max<int64_t>(policy.max_backoff_millis, 1));
  }
}

}  // namespace

Status RetryingAgent::Call(const std::string& component, lb_op op, const std::string& request,
                           std::string* response, const CallOptions& opts) {
  // A probe's failure is its answer (health); it is asked again at the next check.
  if (op == LB_OP_PROBE) return AgentWrapper::Call(component, op, request, response, opts);
  return WithRetries(policy_, opts.cancel, &opts,
                     OpName(op) + " of " + component + " on cluster " + cluster(),
                     [&] { return AgentWrapper::Call(component, op, request, response, opts); });
}

StatusOr<lifeboat::v1::PluginConfig> RetryingAgent::PeerConfig(const std::string& component) {
  return WithRetries(policy_, nullptr, nullptr, "",
                     [&] { return AgentWrapper::PeerConfig(component); });
}

StatusOr<lifeboat::v1::PluginDescriptor> RetryingAgent::Describe(const std::string& component) {
  return WithRetries(policy_, nullptr, nullptr, "",
                     [&] { return AgentWrapper::Describe(component); });
}

Status RetryingAgent::StartPush(const std::string& session, const std::string& target_cluster,
                                const std::string& address, const std::string& server_name) {
  return WithRetries(policy_, nullptr, nullptr, "", [&] {
    return AgentWrapper::StartPush(session, target_cluster, address, server_name);
  });
}

Status RetryingAgent::StopPush(const std::string& session) {
  return WithRetries(policy_, nullptr, nullptr, "",
                     [&] { return AgentWrapper::StopPush(session); });
}

}  // namespace lifeboat::core
