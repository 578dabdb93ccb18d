// Shared pieces of the target side (plan, transfer, verify, commit): task kinds, part
// names, the plan file.
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_STAGE_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_STAGE_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <string>
#include <string_view>

namespace lifeboat::localfs {

// Task kinds of a localfs plan, in the order a plan lists them.
inline constexpr char kTaskTree[] = "tree";  // directories and symbolic links
inline constexpr char kTaskLink[] = "link";  // hard links from the base point
inline constexpr char kTaskCopy[] = "copy";  // file content pulled from the source snapshot
// File content copied from this cluster's own live data set, where a file of the same size
// and mtime sits at the same path (failback: the old primary still holds most of the data);
// checked against the manifest's digest, and pulled from the source instead on a mismatch.
inline constexpr char kTaskSeed[] = "seed";

// Suffix of a file being copied into the staging tree; renamed away once complete.
inline constexpr char kPartSuffix[] = ".lbpart";

// Same permission bits, mtime and owner ids: a hard link to `a` can stand for `b`.
bool SameMetadata(const v1::Entry& a, const v1::Entry& b);

// The opaque bytes of a link task: for each path of the task, the path in base point
// `base_rp` to link from (a serialized TransferTask with task_id = base_rp and the base paths
// in `paths`, position for position).
std::string EncodeLinkSources(const std::string& base_rp, const std::vector<std::string>& from);
StatusOr<v1::TransferTask> DecodeLinkSources(const v1::TransferTask& task);

// plan.pb: u32 length of the op id (little-endian), the op id, the serialized plan.
std::string EncodePlanFile(const std::string& op_id, const v1::PlanTransferResponse& plan);
// The plan in `bytes` if it was made by `op_id`.
bool DecodePlanFile(const std::string& bytes, const std::string& op_id,
                    v1::PlanTransferResponse& plan);

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_STAGE_H_
