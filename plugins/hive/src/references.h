// What a point's metadata points at in HDFS (PluginDescriptor.references = "hdfs"): the
// location of every table and partition on an hdfs:// file system, as this cluster names it.
// The engine asks the point's hdfs members whether they hold each one (VerifyRequest.
// expect_held), so a point whose metadata names a directory its HDFS data lacks never
// commits.
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_REFERENCES_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_REFERENCES_H_

#include <lifeboat/sdk/plugin.h>

#include "apply.h"
#include "model.h"

namespace lifeboat::hive {

// The component the metadata's locations belong to.
inline constexpr char kReferencedComponent[] = "hdfs";

// Appends to `resp` a reference per table and partition location of `state` whose file
// system is hdfs://, rewritten by `rw` (the point's locations as this cluster has them);
// views, tables without a location and other file systems (file:, s3a:) are left out.
void AddReferences(const PointState& state, const LocationRewriter& rw, v1::VerifyResponse& resp);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_REFERENCES_H_
