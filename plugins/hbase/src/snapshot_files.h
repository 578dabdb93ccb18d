// The HFiles an HBase snapshot references, read from its data.manifest over WebHDFS.
//
// Thread-safety: a free function; the client is thread-safe.
#ifndef LIFEBOAT_PLUGINS_HBASE_SRC_SNAPSHOT_FILES_H_
#define LIFEBOAT_PLUGINS_HBASE_SRC_SNAPSHOT_FILES_H_

#include <lifeboat/status.h>

#include <string>
#include <vector>

#include "snapshot_manifest.h"
#include "webhdfs.h"

namespace lifeboat::hbase {

// The distinct HFiles of completed snapshot `name` below HBase root `root` on `fs` (two
// daughters' references to one parent HFile count once). `manifest_bytes`, when given,
// receives the data.manifest as read. NOT_FOUND (naming the snapshot) when it is not there.
StatusOr<std::vector<SnapshotStoreFile>> SnapshotHFiles(hdfs::WebHdfsClient& fs,
                                                        const std::string& root,
                                                        const std::string& name,
                                                        std::string* manifest_bytes);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_SRC_SNAPSHOT_FILES_H_
