// What the agent channel needs to know about plugin operations without knowing their types.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_SRC_CONTROL_OPS_H_
#define LIFEBOAT_CORE_SRC_CONTROL_OPS_H_

#include <lifeboat/abi.h>
#include <lifeboat/ops.h>

#include <cstdint>
#include <string>

namespace lifeboat::core::control {

// The newest operation this build knows (lb_op values run from LB_OP_PROBE to it). An agent
// answers a newer one UNIMPLEMENTED, which the engine never retries.
inline constexpr int32_t kNewestKnownOp = kNewestOp;

}  // namespace lifeboat::core::control

#endif  // LIFEBOAT_CORE_SRC_CONTROL_OPS_H_
