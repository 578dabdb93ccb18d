// Small helpers shared by the client's source files (not part of its interface).
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_CLIENT_UTIL_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_CLIENT_UTIL_H_

#include <string>
#include <string_view>

#include "metastore_types.h"

namespace lifeboat::hive {

// The statistics engine Hive itself writes and reads ("hive"; Impala writes "impala").
inline constexpr const char* kStatsEngine = "hive";

// "db.table", as error messages name a table.
inline std::string Subject(std::string_view db, std::string_view table) {
  return std::string(db) + "." + std::string(table);
}

// The capabilities sent with table reads: INSERT_ONLY_TABLES, without which the metastore
// refuses to return insert-only transactional tables at all.
inline thrift::ClientCapabilities ReadCapabilities() {
  thrift::ClientCapabilities caps;
  caps.values = {thrift::ClientCapability::INSERT_ONLY_TABLES};
  return caps;
}

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_CLIENT_UTIL_H_
