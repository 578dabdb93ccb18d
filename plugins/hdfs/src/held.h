// Answers VerifyRequest.expect_held: whether a point of this data set holds the locations
// another member of the point references (the Hive metastore's table and partition
// directories).
//
// A location is matched by its path: the referencing plugin wrote it for this cluster (the
// Hive plugin rewrites its locations to the target's file system), and the NameNode's RPC
// address, which such URIs carry, is not what this plugin is configured with (WebHDFS HTTP
// addresses), nor is an HA nameservice id. Only the scheme is checked: hdfs.
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_HELD_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_HELD_H_

#include <lifeboat/sdk/plugin.h>

#include <string>
#include <string_view>

#include "tree.h"

namespace lifeboat::hdfs {

// The path of an hdfs:// URI ("/warehouse/x" of "hdfs://nn:8020/warehouse/x/"), normalized
// (repeated and trailing '/' removed); "" when `location` is not an hdfs:// URI with a path.
std::string HdfsPathOf(std::string_view location);

// One answer per location of `req.expect_held()`, in order: NOT_MINE outside `root` (the data
// set's directory), HELD when `manifest` (the point's listing, relative paths) has it or it is
// `root` itself, NOT_HELD otherwise.
v1::VerifyResponse AnswerHeld(const v1::VerifyRequest& req, const std::string& root,
                              const Tree& manifest);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_HELD_H_
