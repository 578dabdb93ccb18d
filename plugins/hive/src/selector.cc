#include "selector.h"

#include <cctype>

namespace lifeboat::hive {
namespace {

Status CheckPart(std::string_view part, std::string_view what, std::string_view text) {
  if (part.empty()) {
    return InvalidArgumentError("hive selector '" + std::string(text) + "' has an empty " +
                                    std::string(what) +
                                    " name; write 'db', 'db.table' or a pattern like 'sales_*.*'",
                                std::string(text));
  }
  for (char c : part) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '*') {
      return InvalidArgumentError("hive selector '" + std::string(text) + "' has '" +
                                      std::string(1, c) + "' in its " + std::string(what) +
                                      " name; names are letters, digits and '_', patterns add '*'",
                                  std::string(text));
    }
  }
  return OkStatus();
}

}  // namespace

bool Selector::is_pattern() const {
  return db.find('*') != std::string::npos || table.find('*') != std::string::npos;
}

bool Selector::Holds(std::string_view d, std::string_view t) const {
  if (d != db) return false;
  return table.empty() || table == t;
}

StatusOr<Selector> ParseSelector(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Selector s;
  size_t dot = lower.find('.');
  s.db = lower.substr(0, dot);
  LIFEBOAT_RETURN_IF_ERROR(CheckPart(s.db, "database", text));
  if (dot != std::string::npos) {
    s.table = lower.substr(dot + 1);
    if (s.table.find('.') != std::string::npos) {
      return InvalidArgumentError("hive selector '" + std::string(text) +
                                      "' has more than one '.'; write 'db' or 'db.table'",
                                  std::string(text));
    }
    LIFEBOAT_RETURN_IF_ERROR(CheckPart(s.table, "table", text));
    // "db.*" is the whole database.
    if (s.table == "*" && s.db.find('*') == std::string::npos) s.table.clear();
  }
  return s;
}

StatusOr<Selector> ParseConcreteSelector(std::string_view text) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector s, ParseSelector(text));
  if (s.is_pattern()) {
    return InvalidArgumentError("hive data set '" + std::string(text) +
                                    "' is a pattern; resolve turns it into concrete databases "
                                    "and tables, and each of those is cut on its own",
                                std::string(text));
  }
  return s;
}

bool GlobMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace lifeboat::hive
