// Data set selectors of the hive plugin.
//
//   "sales"          the database sales: every table, view and function in it
//   "sales.orders"   the table (or view) sales.orders alone
//   patterns         '*' in either part: "sales_*" and "sales_*.*" (databases), "sales.ord*"
//                    and "*.orders" (tables); resolve turns them into concrete data sets
// Names are matched as the metastore stores them (lower case); a selector is lower-cased.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_SELECTOR_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_SELECTOR_H_

#include <lifeboat/status.h>

#include <string>
#include <string_view>

namespace lifeboat::hive {

struct Selector {
  std::string db;
  std::string table;  // "" = the whole database; "*" = every table (a pattern)

  bool whole_db() const { return table.empty(); }
  bool is_pattern() const;
  // "sales" or "sales.orders": the data set's selector, and the name of its directory in the
  // state store.
  std::string text() const { return table.empty() ? db : db + "." + table; }
  // True when the data set holds table `t` of database `d`.
  bool Holds(std::string_view d, std::string_view t) const;
};

// INVALID_ARGUMENT naming what is wrong: empty parts, more than one '.', characters other
// than letters, digits, '_' and '*'.
StatusOr<Selector> ParseSelector(std::string_view text);

// A concrete selector (no '*'); INVALID_ARGUMENT for a pattern, saying that resolve turns it
// into concrete data sets.
StatusOr<Selector> ParseConcreteSelector(std::string_view text);

// Glob match: '*' matches any run of characters (none included).
bool GlobMatch(std::string_view pattern, std::string_view name);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_SELECTOR_H_
