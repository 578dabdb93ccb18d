#include <lifeboat/sdk/restore.h>

namespace lifeboat::sdk {
namespace {

constexpr size_t kNamed = 10;  // items named per kind; the count says the rest

std::string Some(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kNamed; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kNamed) out += " and " + std::to_string(items.size() - kNamed) + " more";
  return out;
}

}  // namespace

std::string PathBelowDestination(std::string_view destination, std::string_view selector) {
  if (destination.empty()) return std::string(selector);
  std::string prefix(destination);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.empty() || prefix.front() != '/') prefix.insert(prefix.begin(), '/');
  if (prefix == "/") return std::string(selector);
  return prefix + (selector.empty() || selector.front() != '/' ? "/" : "") + std::string(selector);
}

Status CheckRestoreConsent(const v1::RestoreRequest& req, const std::string& destination,
                           const RestoreConflicts& conflicts) {
  if (conflicts.empty() || req.overwrite() || (req.dry_run() && req.compare_only())) {
    return OkStatus();
  }
  std::string what;
  if (!conflicts.deletes.empty()) {
    what += "delete " + std::to_string(conflicts.deletes.size()) +
            " item(s) the restore point does not have (" + Some(conflicts.deletes) + ")";
  }
  if (!conflicts.overwrites.empty()) {
    what += std::string(what.empty() ? "" : " and ") + "overwrite " +
            std::to_string(conflicts.overwrites.size()) + " item(s) it holds otherwise (" +
            Some(conflicts.overwrites) + ")";
  }
  return FailedPreconditionError(
      "restore point " + req.restore_point_id() + " into " + destination + " would " + what +
          "; nothing was changed. Restore into a new or empty destination, or, to replace " +
          "what is there, run again with --overwrite",
      destination);
}

}  // namespace lifeboat::sdk
