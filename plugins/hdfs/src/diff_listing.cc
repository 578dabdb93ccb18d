#include "diff_listing.h"

#include <lifeboat/sdk/parallel.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

namespace lifeboat::hdfs {
namespace {

// `rel` and everything under it in `tree`, in order (children follow "rel/" contiguously).
template <typename Fn>
void ForSubtree(Tree& tree, const std::string& rel, Fn&& fn) {
  auto self = tree.find(rel);
  if (self != tree.end()) fn(self);
  for (auto it = tree.lower_bound(rel + "/"); it != tree.end() && Under(it->first, rel);) {
    auto next = std::next(it);
    fn(it);
    it = next;
  }
}

void EraseSubtree(Tree& tree, const std::string& rel) {
  ForSubtree(tree, rel, [&](Tree::iterator it) { tree.erase(it); });
}

bool Parked(const std::string& rel) { return rel.rfind(kTreeTmpPrefix, 0) == 0; }

}  // namespace

std::vector<std::pair<std::string, std::string>> DiffRenames(
    const std::vector<SnapshotDiffEntry>& diff) {
  std::vector<std::pair<std::string, std::string>> renames;
  for (const SnapshotDiffEntry& e : diff) {
    if (e.type == SnapshotDiffEntry::kRename) {
      renames.emplace_back(CleanDiffPath(e.source), CleanDiffPath(e.target));
    }
  }
  return renames;
}

StatusOr<Tree> ListFromDiff(sdk::Call& call, WebHdfsClient& client, const std::string& new_root,
                            const Tree& base, const std::vector<SnapshotDiffEntry>& diff,
                            const std::set<std::string>& also, std::set<std::string>* fresh) {
  Tree tree = base;
  const auto renames = DiffRenames(diff);
  // Deletes and renames name items of the base snapshot: take out both (a rename may move an
  // item onto a deleted one's name), then put the renamed ones back at their new paths.
  for (const SnapshotDiffEntry& e : diff) {
    if (e.type == SnapshotDiffEntry::kDelete) EraseSubtree(tree, CleanDiffPath(e.source));
  }
  std::vector<FileStatus> moved;
  for (const auto& [from, to] : renames) {
    ForSubtree(tree, from, [&](Tree::iterator it) {
      moved.push_back(std::move(it->second));
      tree.erase(it);
    });
  }
  for (FileStatus& st : moved) {
    st.path_suffix = Translate(st.path_suffix, /*is_modify=*/true, renames);
    std::string p = st.path_suffix;
    tree[p] = std::move(st);
  }

  // What the new snapshot shows for each item the diff creates or modifies, and for `also`.
  struct Ask {
    std::string path;
    bool created = false;
  };
  std::vector<Ask> asks;
  std::set<std::string> asked;
  for (const SnapshotDiffEntry& e : diff) {
    if (e.type != SnapshotDiffEntry::kCreate && e.type != SnapshotDiffEntry::kModify) continue;
    const bool modify = e.type == SnapshotDiffEntry::kModify;
    const std::string p = Translate(CleanDiffPath(e.source), modify, renames);
    // A rename's target listed as a create (data_path.cc says when) is the rename itself.
    if (!modify &&
        std::any_of(renames.begin(), renames.end(), [&](const auto& r) { return r.second == p; })) {
      continue;
    }
    if (p.empty() || Parked(p) || !asked.insert(p).second) continue;
    asks.push_back({p, !modify});
  }
  for (const std::string& p : also) {
    if (!p.empty() && asked.insert(p).second) asks.push_back({p, false});
  }
  std::vector<std::optional<FileStatus>> got(asks.size());
  std::vector<Tree> subtrees(asks.size());
  LIFEBOAT_RETURN_IF_ERROR(sdk::ParallelFor(asks.size(), 4, [&](size_t i) -> Status {
    if (call.Cancelled()) return CancelledError("cancelled while reading " + new_root, new_root);
    const std::string full = Join(new_root, asks[i].path);
    StatusOr<FileStatus> st = client.GetFileStatus(full);
    if (!st.ok() && st.status().code() == Code::kNotFound) return OkStatus();  // gone again
    LIFEBOAT_RETURN_IF_ERROR(st.status());
    st->path_suffix = asks[i].path;
    if (st->is_dir && asks[i].created) {
      // A created directory stands for its whole subtree.
      LIFEBOAT_ASSIGN_OR_RETURN(subtrees[i], ListTreeMap(call, client, full));
    }
    got[i] = std::move(*st);
    return OkStatus();
  }));
  for (size_t i = 0; i < asks.size(); ++i) {
    const std::string& p = asks[i].path;
    if (!got[i]) {
      EraseSubtree(tree, p);
      continue;
    }
    if (!got[i]->is_dir) EraseSubtree(tree, p);  // a directory replaced by a file
    tree[p] = std::move(*got[i]);
    if (fresh != nullptr) fresh->insert(p);
    for (auto& [sub, st] : subtrees[i]) {
      std::string full = p + "/" + sub;
      st.path_suffix = full;
      if (fresh != nullptr) fresh->insert(full);
      tree[full] = std::move(st);
    }
  }
  return tree;
}

}  // namespace lifeboat::hdfs
