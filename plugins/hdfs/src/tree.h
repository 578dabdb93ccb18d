// Trees of a data set as the data path compares them: relative paths, the statuses that
// decide "equal", snapshot diff paths and their translation through renames. Shared by
// data_path.cc and leftovers.cc.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_TREE_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_TREE_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "webhdfs.h"

namespace lifeboat::hdfs {

using Tree = std::map<std::string, FileStatus>;  // relative path -> status (path_suffix = it)

// Prefix of the directories where a transfer's tree task parks renamed and deleted items
// (`<prefix><snapshot>` at the top of the data set); listings leave them out.
inline constexpr char kTreeTmpPrefix[] = ".lifeboat-tmp-";

inline std::string Join(const std::string& dir, const std::string& rel) {
  if (rel.empty()) return dir;
  return dir == "/" ? "/" + rel : dir + "/" + rel;
}

inline bool Under(const std::string& rel, const std::string& dir) {
  return dir.empty() || rel == dir || rel.rfind(dir + "/", 0) == 0;
}

// Diff paths come as "a/b", "./a/b" or "" / "." for the root.
inline std::string CleanDiffPath(std::string p) {
  while (p.rfind("./", 0) == 0) p = p.substr(2);
  if (p == ".") p.clear();
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  return p;
}

inline bool SameMeta(const FileStatus& a, const FileStatus& b) {
  return a.permission == b.permission && a.owner == b.owner && a.group == b.group &&
         a.acl_bit == b.acl_bit;
}

inline bool SameFile(const FileStatus& src, const FileStatus& dst) {
  return !dst.is_dir && !src.is_dir && src.length == dst.length &&
         src.modification_ms == dst.modification_ms;
}

// Translates `p` (a path in the base snapshot) through the renames, as DistCp does: the
// rename of the longest source that is `p` itself (only for a MODIFY: a CREATE of the same
// name is a new item) or one of its parents.
inline std::string Translate(const std::string& p, bool is_modify,
                             const std::vector<std::pair<std::string, std::string>>& renames) {
  const std::pair<std::string, std::string>* best = nullptr;
  for (const auto& r : renames) {
    bool match = (p == r.first && is_modify) || (p != r.first && Under(p, r.first));
    if (match && (best == nullptr || r.first.size() > best->first.size())) best = &r;
  }
  if (best == nullptr) return p;
  return best->second + p.substr(best->first.size());
}

// Lists the tree under `root` (every level, paged), leaving out the tree tasks' parking
// directories at its top. `exists` says whether root exists.
StatusOr<Tree> ListTreeMap(sdk::Call& call, WebHdfsClient& client, const std::string& root,
                           bool* exists = nullptr);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_TREE_H_
