// Capabilities: what a plugin promises beyond the operations every plugin has. The one place
// that names them (as manifests, `lifeboat plugins list` and docs spell them) and says what
// each promises; docs/plugin-guide.md's table is checked against this one by a test.
//
// A capability tied to an operation (ops.h, last column) is declared exactly when the plugin
// overrides that operation: the SDK refuses to describe a plugin where the two disagree, so
// its build fails (the manifest is generated from Describe()), and the host refuses to load
// one built otherwise.
//
// Thread-safety: constants and pure functions only.
#ifndef LIFEBOAT_CAPABILITIES_H_
#define LIFEBOAT_CAPABILITIES_H_

#include <lifeboat/ops.h>
#include <lifeboat/v1/plugin.pb.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat {

struct CapabilityInfo {
  ::lifeboat::v1::Capability value;
  std::string_view name;     // manifest spelling
  std::string_view promise;  // what declaring it promises, for docs and `plugins check`
};

inline constexpr std::array<CapabilityInfo, 9> kCapabilities = {{
    {::lifeboat::v1::CAP_INCREMENTAL, "incremental",
     "plan_transfer moves only what changed since the base point when one is given"},
    {::lifeboat::v1::CAP_CUT_AT_TIME, "cut_at_time",
     "cut takes the data set exactly as it was at T (aligned consistency cuts it at T)"},
    {::lifeboat::v1::CAP_RESUMABLE_TRANSFER, "resumable_transfer",
     "a transfer stopped part-way resumes where it stopped instead of starting over"},
    {::lifeboat::v1::CAP_DIGEST_VERIFY, "digest_verify",
     "verify at level digest compares content digests, not only sizes"},
    {::lifeboat::v1::CAP_RESTORE, "restore",
     "implements restore: a destination made equal to a retained point"},
    {::lifeboat::v1::CAP_SECURITY_SYNC, "security_sync",
     "implements sync_security: owners, groups, permissions and ACLs made equal to the "
     "source's"},
    {::lifeboat::v1::CAP_FENCING, "fencing",
     "implements fence and unfence: application writes refused on this cluster, with the "
     "role epoch recorded"},
    {::lifeboat::v1::CAP_PEER_READ, "peer_read",
     "implements read (the peer stream, ABI 1.1) and reads its peers through the host when "
     "they cannot be reached directly"},
    {::lifeboat::v1::CAP_DIFF_FROM_BASE_CUT, "diff_from_base_cut",
     "plan_transfer diffs the new cut against the base point's cut on the source, so the "
     "engine keeps the newest committed point's cut until a newer one commits"},
}};

// The manifest spelling of `cap`; "" for a value this build does not know.
constexpr std::string_view CapabilityName(::lifeboat::v1::Capability cap) {
  for (const CapabilityInfo& info : kCapabilities) {
    if (info.value == cap) return info.name;
  }
  return {};
}

// The capability spelled `name`; nullopt for a name this build does not know.
constexpr std::optional<::lifeboat::v1::Capability> CapabilityNamed(std::string_view name) {
  for (const CapabilityInfo& info : kCapabilities) {
    if (info.name == name) return info.value;
  }
  return std::nullopt;
}

// "incremental, cut_at_time, ...": every known spelling, for messages.
inline std::string KnownCapabilityNames() {
  std::string out;
  for (const CapabilityInfo& info : kCapabilities) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

// Where `d` and the operations it implements (bit 1 << op of `implemented_ops`, as
// PluginDescriptor.implemented_ops lists them) disagree about a capability tied to an
// operation, in words that say how to fix it; "" when they agree.
inline std::string CapabilityMismatches(const ::lifeboat::v1::PluginDescriptor& d,
                                        uint64_t implemented_ops) {
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : " and ") + n;
    return out;
  };
  std::string problems;
  for (const CapabilityInfo& info : kCapabilities) {
    std::vector<std::string> implemented, missing;
#define LIFEBOAT_CAP_TIED_(op, name, Method, Req, Resp, has_op_id, cap)        \
  if (::lifeboat::v1::cap == info.value) {                                     \
    ((implemented_ops >> op) & 1U ? implemented : missing).push_back(#Method); \
  }
    LIFEBOAT_OPERATIONS(LIFEBOAT_CAP_TIED_)
#undef LIFEBOAT_CAP_TIED_
    if (implemented.empty() && missing.empty()) continue;  // not tied to an operation
    bool declared = false;
    for (int c : d.capabilities()) declared = declared || c == info.value;
    const std::string cap(info.name);
    if (declared && !missing.empty()) {
      problems += (problems.empty() ? "" : "; ") + std::string("declares capability '") + cap +
                  "' but does not override " + join(missing) +
                  " (override it, or stop declaring '" + cap + "')";
    } else if (!declared && !implemented.empty()) {
      problems += (problems.empty() ? "" : "; ") + std::string("overrides ") + join(implemented) +
                  " but does not declare capability '" + cap +
                  "' (add it in Describe(), or remove the override)";
    }
  }
  return problems;
}

}  // namespace lifeboat

#endif  // LIFEBOAT_CAPABILITIES_H_
