// The one table of plugin operations. Everything that knows about operations follows from
// LIFEBOAT_OPERATIONS below: the SDK's dispatch to ComponentPlugin's methods, the override
// check behind "implements X ⇔ declares X", the host's typed calls (PluginInstance), the
// agents' typed Invoke<Op>, operation names in messages and logs, and which requests carry
// an op id. Adding an operation means: a value appended to lb_op (abi.h, with an ABI minor
// bump), its request and response in plugin.proto, one row here, and its virtual method in
// ComponentPlugin (sdk/plugin.h). Nothing else.
//
// Thread-safety: constants and pure functions only.
#ifndef LIFEBOAT_OPS_H_
#define LIFEBOAT_OPS_H_

#include <lifeboat/abi.h>
#include <lifeboat/v1/plugin.pb.h>

#include <cstdint>
#include <string>
#include <string_view>

// X(op, name, Method, Request, Response, has_op_id, capability)
//   op          the lb_op value
//   name        its name in messages, logs and docs
//   Method      ComponentPlugin's virtual method (and PluginInstance's typed call)
//   Request     lifeboat.v1 request message; Response: its answer
//   has_op_id   the request's field 1 is `string op_id` and the operation is idempotent per
//               op id (probe, resolve and read are read-only and carry none)
//   capability  the Capability a plugin must declare exactly when it implements the method
//               (CAPABILITY_UNSPECIFIED: every plugin may implement it without declaring
//               anything). See capabilities.h.
#define LIFEBOAT_OPERATIONS(X)                                                                     \
  X(LB_OP_PROBE, "probe", Probe, ProbeRequest, ProbeResponse, false, CAPABILITY_UNSPECIFIED)       \
  X(LB_OP_RESOLVE, "resolve", Resolve, ResolveRequest, ResolveResponse, false,                     \
    CAPABILITY_UNSPECIFIED)                                                                        \
  X(LB_OP_PREPARE, "prepare", Prepare, PrepareRequest, PrepareResponse, true,                      \
    CAPABILITY_UNSPECIFIED)                                                                        \
  X(LB_OP_CUT, "cut", Cut, CutRequest, CutResponse, true, CAPABILITY_UNSPECIFIED)                  \
  X(LB_OP_RELEASE, "release", Release, ReleaseRequest, ReleaseResponse, true,                      \
    CAPABILITY_UNSPECIFIED)                                                                        \
  X(LB_OP_PLAN_TRANSFER, "plan_transfer", PlanTransfer, PlanTransferRequest, PlanTransferResponse, \
    true, CAPABILITY_UNSPECIFIED)                                                                  \
  X(LB_OP_TRANSFER, "transfer", Transfer, TransferRequest, TransferResponse, true,                 \
    CAPABILITY_UNSPECIFIED)                                                                        \
  X(LB_OP_VERIFY, "verify", Verify, VerifyRequest, VerifyResponse, true, CAPABILITY_UNSPECIFIED)   \
  X(LB_OP_COMMIT, "commit", Commit, CommitRequest, CommitResponse, true, CAPABILITY_UNSPECIFIED)   \
  X(LB_OP_RESTORE, "restore", Restore, RestoreRequest, RestoreResponse, true, CAP_RESTORE)         \
  X(LB_OP_EXPIRE, "expire", Expire, ExpireRequest, ExpireResponse, true, CAPABILITY_UNSPECIFIED)   \
  X(LB_OP_SYNC_SECURITY, "sync_security", SyncSecurity, SyncSecurityRequest, SyncSecurityResponse, \
    true, CAP_SECURITY_SYNC)                                                                       \
  X(LB_OP_FENCE, "fence", Fence, FenceRequest, FenceResponse, true, CAP_FENCING)                   \
  X(LB_OP_UNFENCE, "unfence", Unfence, FenceRequest, FenceResponse, true, CAP_FENCING)             \
  X(LB_OP_READ, "read", Read, ReadRequest, ReadResponse, false, CAP_PEER_READ)

namespace lifeboat {

// The newest operation this build knows (lb_op values run from LB_OP_PROBE to it). A plugin
// or an agent answers a newer one UNIMPLEMENTED, which the engine never retries.
inline constexpr lb_op kNewestOp = LB_OP_READ;

// Compile-time facts of one operation: OpTraits<LB_OP_CUT>::Request is v1::CutRequest, ...
template <lb_op Op>
struct OpTraits;

#define LIFEBOAT_OP_TRAITS_(op, name, Method, Req, Resp, has_op_id, cap)           \
  template <>                                                                      \
  struct OpTraits<op> {                                                            \
    using Request = ::lifeboat::v1::Req;                                           \
    using Response = ::lifeboat::v1::Resp;                                         \
    static constexpr lb_op kOp = op;                                               \
    static constexpr std::string_view kName = name;                                \
    static constexpr bool kHasOpId = has_op_id;                                    \
    static constexpr ::lifeboat::v1::Capability kCapability = ::lifeboat::v1::cap; \
  };
LIFEBOAT_OPERATIONS(LIFEBOAT_OP_TRAITS_)
#undef LIFEBOAT_OP_TRAITS_

// True for the values of lb_op this build knows.
constexpr bool IsKnownOp(int32_t op) {
  switch (op) {
#define LIFEBOAT_OP_CASE_(op, ...) case op:
    LIFEBOAT_OPERATIONS(LIFEBOAT_OP_CASE_)
#undef LIFEBOAT_OP_CASE_
    return true;
    default:
      return false;
  }
}

// "cut", "plan_transfer", ...; "" for a value this build does not know.
constexpr std::string_view KnownOpName(int32_t op) {
  switch (op) {
#define LIFEBOAT_OP_NAME_(op, name, ...) \
  case op:                               \
    return name;
    LIFEBOAT_OPERATIONS(LIFEBOAT_OP_NAME_)
#undef LIFEBOAT_OP_NAME_
    default:
      return {};
  }
}

// The name of an operation for messages and logs; "operation N" for an unknown value.
inline std::string OpName(int32_t op) {
  std::string_view known = KnownOpName(op);
  return known.empty() ? "operation " + std::to_string(op) : std::string(known);
}

// True when requests of `op` carry an op id (field 1) and the operation is idempotent per it.
constexpr bool OpHasOpId(int32_t op) {
  switch (op) {
#define LIFEBOAT_OP_HAS_ID_(op, name, Method, Req, Resp, has_op_id, cap) \
  case op:                                                               \
    return has_op_id;
    LIFEBOAT_OPERATIONS(LIFEBOAT_OP_HAS_ID_)
#undef LIFEBOAT_OP_HAS_ID_
    default:
      return false;
  }
}

// The capability a plugin declares exactly when it implements `op`
// (CAPABILITY_UNSPECIFIED: none).
constexpr ::lifeboat::v1::Capability OpCapability(int32_t op) {
  switch (op) {
#define LIFEBOAT_OP_CAP_(op, name, Method, Req, Resp, has_op_id, cap) \
  case op:                                                            \
    return ::lifeboat::v1::cap;
    LIFEBOAT_OPERATIONS(LIFEBOAT_OP_CAP_)
#undef LIFEBOAT_OP_CAP_
    default:
      return ::lifeboat::v1::CAPABILITY_UNSPECIFIED;
  }
}

// The op id of a typed request ("" for operations without one).
template <lb_op Op>
const std::string& OpIdOf(const typename OpTraits<Op>::Request& request) {
  if constexpr (OpTraits<Op>::kHasOpId) {
    return request.op_id();
  } else {
    static const std::string kNone;
    return kNone;
  }
}

}  // namespace lifeboat

#endif  // LIFEBOAT_OPS_H_
