#include <lifeboat/core/op_ids.h>

#include <initializer_list>

namespace lifeboat::core::op_ids {
namespace {

// The parts joined by '-'.
std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '-';
    out += p;
  }
  return out;
}

std::string_view StepName(PointStep step) {
  switch (step) {
    case PointStep::kPrepare:
      return "prepare";
    case PointStep::kCut:
      return "cut";
    case PointStep::kPlan:
      return "plan";
    case PointStep::kVerify:
      return "verify";
    case PointStep::kVerifyHeld:
      return "verify-held";
    case PointStep::kCommit:
      return "commit";
    case PointStep::kSecurity:
      return "security";
    case PointStep::kRelease:
      return "release";
    case PointStep::kAbandon:
      return "abandon";
    case PointStep::kExpire:
      return "expire";
  }
  return "unknown";
}

}  // namespace

std::string ForMember(PointStep step, std::string_view point, int member) {
  return Join({StepName(step), point, std::to_string(member)});
}

std::string Transfer(std::string_view point, int member, std::string_view task_id) {
  return Join({"transfer", point, std::to_string(member), task_id});
}

std::string Reverify(std::string_view point, int member, int64_t now_unix_nanos) {
  return Join({"reverify", point, std::to_string(member), std::to_string(now_unix_nanos)});
}

std::string Restore(std::string_view job, int member, bool check) {
  return Join({check ? "restore-check" : "restore", job, std::to_string(member)});
}

std::string Fence(lb_op op, std::string_view job, std::string_view service, int data_set) {
  return Join({op == LB_OP_FENCE ? "fence" : "unfence", job, service, std::to_string(data_set)});
}

std::string Apply(std::string_view job, std::string_view service, int member) {
  return Join({"apply", job, service, std::to_string(member)});
}

std::string FailbackCheck(std::string_view job, std::string_view service, std::string_view point,
                          int member) {
  return Join({"check", job, service, point, std::to_string(member)});
}

std::string OwedFence(std::string_view service, int64_t epoch, int data_set) {
  return Join({"owed-fence", service, std::to_string(epoch), std::to_string(data_set)});
}

std::string ManualUnfence(uint64_t seq, std::string_view service, std::string_view cluster,
                          int data_set) {
  return Join({"unfence-manual", std::to_string(seq), service, cluster, std::to_string(data_set)});
}

}  // namespace lifeboat::core::op_ids
