// Decorators of Agent: cross-cutting concerns wrap the one seam to the clusters once, so that
// every call path gets them (cf. LevelDB's EnvWrapper).
//
// AgentWrapper forwards every method to a base agent it owns; a decorator (or a test's fake)
// derives from it and overrides only what it changes. RetryingAgent is the engine's one retry
// policy for plugin calls: the engine wraps every agent it makes in one, so backups, restores,
// switches (fence, unfence, apply) and owed fences retry alike.
//
// Thread-safety: as the base agent (implementations allow concurrent calls).
#ifndef LIFEBOAT_CORE_AGENT_WRAPPER_H_
#define LIFEBOAT_CORE_AGENT_WRAPPER_H_

#include <lifeboat/core/agent.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace lifeboat::core {

class AgentWrapper : public Agent {
 public:
  // `base` must not be null.
  explicit AgentWrapper(std::unique_ptr<Agent> base) : base_(std::move(base)) {}

  Agent& base() { return *base_; }

  const std::string& cluster() const override { return base_->cluster(); }
  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override {
    return base_->Call(component, op, request, response, opts);
  }
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& component) override {
    return base_->PeerConfig(component);
  }
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& component) override {
    return base_->Describe(component);
  }
  StatusOr<int64_t> ClockNow() override { return base_->ClockNow(); }
  Status Read(const std::string& component, const std::string& request, const ByteSink& sink,
              const CallOptions& opts) override {
    return base_->Read(component, request, sink, opts);
  }
  std::pair<std::string, std::string> BulkAddress() const override { return base_->BulkAddress(); }
  Status StartPush(const std::string& session, const std::string& target_cluster,
                   const std::string& address, const std::string& server_name) override {
    return base_->StartPush(session, target_cluster, address, server_name);
  }
  Status StopPush(const std::string& session) override { return base_->StopPush(session); }

 private:
  std::unique_ptr<Agent> base_;
};

struct RetryPolicy {
  int max_attempts = 5;                // attempts in all, the first included (1: no retry)
  int64_t first_backoff_millis = 200;  // doubled after each failed attempt
  int64_t max_backoff_millis = 10000;  // the doubling stops here
};

// Retries what the codes say to retry: UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED
// (IsRetryable) are tried again after an exponential backoff, up to the policy's attempts;
// every other code is final at once (FAILED_PRECONDITION parks a job, DATA_LOSS alerts,
// UNIMPLEMENTED never changes, ...). Plugin operations are idempotent per op id, so a repeat
// after a lost answer does no work twice.
//
// Retried: Call (every operation but LB_OP_PROBE), Describe, PeerConfig, StartPush, StopPush.
// Not retried, on purpose:
//   - LB_OP_PROBE and ClockNow: they measure health; an unreachable cluster must show at once
//     (a health check never waits on a dead agent);
//   - Read: the bytes already handed to the sink cannot be taken back; the reading plugin
//     resumes from its own offset.
// A call whose CallOptions::cancel turns true stops retrying: during a backoff it answers
// CANCELLED at once (naming the failure it was waiting to retry). Each retry is told to
// CallOptions::on_retry before the backoff.
class RetryingAgent : public AgentWrapper {
 public:
  RetryingAgent(std::unique_ptr<Agent> base, RetryPolicy policy)
      : AgentWrapper(std::move(base)), policy_(policy) {}

  Status Call(const std::string& component, lb_op op, const std::string& request,
              std::string* response, const CallOptions& opts) override;
  StatusOr<lifeboat::v1::PluginConfig> PeerConfig(const std::string& component) override;
  StatusOr<lifeboat::v1::PluginDescriptor> Describe(const std::string& component) override;
  Status StartPush(const std::string& session, const std::string& target_cluster,
                   const std::string& address, const std::string& server_name) override;
  Status StopPush(const std::string& session) override;

  const RetryPolicy& policy() const { return policy_; }

 private:
  RetryPolicy policy_;
};

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_AGENT_WRAPPER_H_
