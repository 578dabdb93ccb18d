// HBase table names as text: "namespace:qualifier", or "qualifier" in the default namespace
// (HBase's own string form), and as the protobuf TableName.
//
// Thread-safety: free functions without state.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_TABLE_NAME_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_TABLE_NAME_H_

#include <string>

#include "hbase_types.pb.h"

namespace lifeboat::hbase {

// "ns:qualifier" → {ns, qualifier}; "qualifier" → {"default", qualifier}.
pb::TableName ParseTableName(const std::string& table);
// The inverse: the default namespace is left out, as HBase prints names.
std::string FormatTableName(const pb::TableName& name);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_TABLE_NAME_H_
