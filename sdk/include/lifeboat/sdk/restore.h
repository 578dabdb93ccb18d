// What every plugin's restore does alike: where a path-shaped data set lands below a
// destination, and the consent rule (RestoreRequest.overwrite) with one wording for all.
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_SDK_RESTORE_H_
#define LIFEBOAT_SDK_RESTORE_H_

#include <lifeboat/status.h>
#include <lifeboat/v1/plugin.pb.h>

#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::sdk {

// Where a data set whose selector is a path ("/warehouse/sales") lands for a restore with
// `destination` (RestoreRequest.destination, as the operator gave it): "" = the data set
// itself; else the path prefix joined with the selector ("/restored" -> "/restored/warehouse/
// sales"). A destination without a leading '/' is below the root ("restored" is "/restored"),
// so that one name serves the file and the stream members of a point alike; trailing '/' are
// dropped. The plugin still validates the result as its own paths.
std::string PathBelowDestination(std::string_view destination, std::string_view selector);

// What a restore would change of what its destination holds now.
struct RestoreConflicts {
  std::vector<std::string> deletes;     // items there that the point does not have
  std::vector<std::string> overwrites;  // items there that the point holds otherwise
  bool empty() const { return deletes.empty() && overwrites.empty(); }
};

// OK when the restore may go ahead: it changes nothing that is there (it only creates), or
// the request carries the operator's consent (`overwrite`), or it only compares (`dry_run`
// with `compare_only`). Otherwise FAILED_PRECONDITION whose subject is `destination` and
// whose message names how many items would be deleted and overwritten, the first ten of
// each, says that nothing was changed and how to agree (`--overwrite`). A dry run is refused
// as the real run would be. The plugin lists the conflicts before it changes anything, and
// skips this check for a repeat of a restore that wrote the destination itself (the same
// op_id: a resume).
Status CheckRestoreConsent(const v1::RestoreRequest& req, const std::string& destination,
                           const RestoreConflicts& conflicts);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_RESTORE_H_
