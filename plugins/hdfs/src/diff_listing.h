// The listing of a new snapshot built from what the base point holds and the snapshot diff
// base -> new (issue 13): an incremental's plan asks the NameNode about what the diff names,
// not about every item of the data set.
//
// Start from the base point's recorded listing (its `.plan`), take out what the diff deletes,
// move what it renames (DistCp's translation of paths through the renames, tree.h), and put
// in the status the new snapshot shows for each item it creates or modifies (GETFILESTATUS; a
// created directory is listed whole, it stands for its subtree). Items the diff cannot show
// are asked about too (`also`): the files open at the base's cut (their snapshot view moved
// without a diff entry, open_files.h) and those the cut found open.
//
// What this listing does not see, by design of HDFS snapshot diffs: a file whose times alone
// changed (SETTIMES) keeps the base's times; `incremental_listing: "full"` lists the whole
// snapshot instead (README "plan_transfer").
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_DIFF_LISTING_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_DIFF_LISTING_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <set>
#include <string>
#include <vector>

#include "tree.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {

// The renames of a diff as (old, new) relative paths, in the diff's order.
std::vector<std::pair<std::string, std::string>> DiffRenames(
    const std::vector<SnapshotDiffEntry>& diff);

// The listing of `new_root` (the new snapshot's root directory) from `base` (the base point's
// listing, relative paths) and `diff` (base -> new of the same directory). `also`: relative
// paths in the new snapshot to ask about even without a diff entry. `fresh` receives the paths
// whose status came from the new snapshot (the others are the base's).
StatusOr<Tree> ListFromDiff(sdk::Call& call, WebHdfsClient& client, const std::string& new_root,
                            const Tree& base, const std::vector<SnapshotDiffEntry>& diff,
                            const std::set<std::string>& also, std::set<std::string>* fresh);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_DIFF_LISTING_H_
