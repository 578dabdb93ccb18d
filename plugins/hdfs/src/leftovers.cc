// Lifeboat's own writes of points that never committed, told apart from anyone else's
// (see leftovers.h).
#include "leftovers.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "copy.h"
#include "hdfs_plugin.h"
#include "security.h"

namespace lifeboat::hdfs {
namespace {

std::string StateSibling(const std::string& path, const std::string& snapshot,
                         const std::string& suffix) {
  std::string plan = StateFile(path, snapshot);
  return plan.substr(0, plan.size() - std::string(".plan").size()) + suffix;
}

std::string StateDir(const std::string& path) {
  std::string plan = StateFile(path, "x");
  return plan.substr(0, plan.rfind('/'));
}

constexpr char kPendingSuffix[] = ".pending";

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Sorts the entries of one diff; see SortTargetChanges.
class Sorter {
 public:
  Sorter(sdk::Call& call, WebHdfsClient& dst, const std::string& path,
         const std::vector<UncommittedPoint>& points, int parallelism, TargetChanges& out)
      : call_(call), dst_(dst), path_(path), points_(points), parallelism_(parallelism), out_(out) {
    for (const UncommittedPoint& u : points_) by_snapshot_[u.snapshot] = &u;
  }

  void SetRenames(std::vector<std::pair<std::string, std::string>> renames) {
    renames_ = std::move(renames);
  }

  StatusOr<bool> Entry(const SnapshotDiffEntry& e) {
    const std::string p = CleanDiffPath(e.source);
    switch (e.type) {
      case SnapshotDiffEntry::kCreate:
        return Present(Translate(p, /*is_modify=*/false, renames_), /*created=*/true);
      case SnapshotDiffEntry::kModify:
        if (p.empty()) return Root();
        return Present(Translate(p, /*is_modify=*/true, renames_), /*created=*/false);
      case SnapshotDiffEntry::kDelete:
        // Gone, as a point's cut wants it; or made again (an overwrite), judged as made.
        return Present(Translate(p, /*is_modify=*/false, renames_), /*created=*/true);
      case SnapshotDiffEntry::kRename: {
        // Where it went must be what a point set out to make there (or its tree task's
        // parking directory); where it came from must be empty as in that point's cut, or
        // hold something new (a CREATE of its own in the diff, judged there).
        LIFEBOAT_ASSIGN_OR_RETURN(bool to, Present(CleanDiffPath(e.target), /*created=*/false));
        if (!to) return false;
        const std::string from = Translate(p, /*is_modify=*/false, renames_);
        StatusOr<FileStatus> st = dst_.GetFileStatus(Join(path_, from));
        if (st.ok()) return true;
        if (st.status().code() != Code::kNotFound) return st.status();
        return AbsentIsOurs(from);
      }
    }
    return false;
  }

 private:
  // The item at `rel` now, judged against what the points set out to make; its absence is
  // ours when a point's cut lacks it too.
  StatusOr<bool> Present(const std::string& rel, bool created) {
    if (const UncommittedPoint* u = TmpOwner(rel)) {
      Attribute(*u);
      return true;
    }
    StatusOr<FileStatus> st = dst_.GetFileStatus(Join(path_, rel));
    if (!st.ok()) {
      if (st.status().code() != Code::kNotFound) return st.status();
      return AbsentIsOurs(rel);
    }
    if (st->is_symlink) return false;
    return st->is_dir ? Dir(rel, *st, created) : File(rel, *st);
  }

  // A tree task's parking directory (kTreeTmpPrefix + snapshot, at the top), or inside one.
  const UncommittedPoint* TmpOwner(const std::string& rel) const {
    const std::string top = rel.substr(0, rel.find('/'));
    if (top.rfind(kTreeTmpPrefix, 0) != 0) return nullptr;
    auto it = by_snapshot_.find(top.substr(std::string(kTreeTmpPrefix).size()));
    return it == by_snapshot_.end() ? nullptr : it->second;
  }

  bool AbsentIsOurs(const std::string& rel) {
    for (const UncommittedPoint& u : points_) {
      if (!u.manifest.count(rel)) {
        Attribute(u);
        return true;
      }
    }
    return false;
  }

  StatusOr<FileStatus> Unfenced(const std::string& rel, FileStatus st) {
    LIFEBOAT_ASSIGN_OR_RETURN(st.permission,
                              UnfencedPermission(dst_, Join(path_, rel), st.permission));
    return st;
  }

  StatusOr<bool> Root() {
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus st, dst_.GetFileStatus(path_));
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus now, Unfenced("", st));
    for (const UncommittedPoint& u : points_) {
      if (u.root && SameMeta(*u.root, now)) {
        Attribute(u);
        return true;
      }
    }
    return false;
  }

  StatusOr<bool> File(const std::string& rel, const FileStatus& st) {
    const std::string full = Join(path_, rel);
    LIFEBOAT_ASSIGN_OR_RETURN(auto attrs, dst_.GetXAttrsText(full));
    auto attr = [&](const char* key) {
      auto it = attrs.find(key);
      return it == attrs.end() ? std::string() : it->second;
    };
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus now, Unfenced(rel, st));
    const std::optional<CopyMark> mark = ParseCopyMark(attr(kCopyAttr));
    if (mark) {
      auto it = by_snapshot_.find(mark->snapshot);
      if (it != by_snapshot_.end()) {
        // Written by an uncommitted point's copy: ours while the mark still matches the file.
        const UncommittedPoint& u = *it->second;
        bool ours = false;
        if (mark->state == "done") {
          auto want = u.manifest.find(rel);
          ours = mark->length == st.length && mark->mtime == st.modification_ms &&
                 want != u.manifest.end() && SameFile(want->second, now) &&
                 SameMeta(want->second, now);
        } else if (mark->state == "data") {
          // The data is whole, its metadata and times not set yet.
          ours = mark->length == st.length;
        } else if (mark->state == "partial") {
          ours = attr(kPartialAttr) ==
                 std::to_string(st.length) + ":" + std::to_string(st.modification_ms);
        }
        if (ours) Touched(u, rel);
        return ours;
      }
    }
    // Not written by one of them: ours when it is what one of them set out to make it (a
    // rename, new metadata).
    for (const UncommittedPoint& u : points_) {
      auto want = u.manifest.find(rel);
      if (want != u.manifest.end() && !want->second.is_symlink && SameFile(want->second, now) &&
          SameMeta(want->second, now)) {
        Touched(u, rel);
        return true;
      }
    }
    return false;
  }

  StatusOr<bool> Dir(const std::string& rel, const FileStatus& st, bool created) {
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus now, Unfenced(rel, st));
    const UncommittedPoint* found = nullptr;
    for (const UncommittedPoint& u : points_) {
      auto want = u.manifest.find(rel);
      // A directory a copy made (as a parent) may not have its metadata yet: a new one only
      // needs to be in the cut; one that was there must have the cut's metadata.
      if (want != u.manifest.end() && want->second.is_dir &&
          (created || SameMeta(want->second, now))) {
        found = &u;
        break;
      }
    }
    if (found == nullptr) return false;
    Attribute(*found);
    if (!created) return true;
    // A new directory stands for its whole subtree in a diff: every item in it must be ours.
    LIFEBOAT_ASSIGN_OR_RETURN(Tree sub, ListTreeMap(call_, dst_, Join(path_, rel)));
    std::vector<const FileStatus*> items;
    for (const auto& [p, s] : sub) items.push_back(&s);
    std::vector<char> ok(items.size(), 0);
    LIFEBOAT_RETURN_IF_ERROR(ParallelFor(items.size(), parallelism_, [&](size_t i) -> Status {
      const FileStatus& s = *items[i];
      const std::string r = rel + "/" + s.path_suffix;
      if (s.is_symlink) return OkStatus();
      if (s.is_dir) {
        for (const UncommittedPoint& u : points_) {
          auto want = u.manifest.find(r);
          if (want != u.manifest.end() && want->second.is_dir) ok[i] = 1;
        }
        return OkStatus();
      }
      LIFEBOAT_ASSIGN_OR_RETURN(bool mine, File(r, s));
      ok[i] = mine;
      return OkStatus();
    }));
    for (char c : ok) {
      if (!c) return false;
    }
    return true;
  }

  void Attribute(const UncommittedPoint& u) {
    std::lock_guard<std::mutex> lock(mu_);
    out_.points.insert(u.snapshot);
  }

  void Touched(const UncommittedPoint& u, const std::string& rel) {
    std::lock_guard<std::mutex> lock(mu_);
    out_.points.insert(u.snapshot);
    out_.touched.insert(rel);
    for (const UncommittedPoint& any : points_) {
      if (any.bad.count(rel)) out_.recopy.insert(rel);
    }
  }

  sdk::Call& call_;
  WebHdfsClient& dst_;
  const std::string& path_;
  const std::vector<UncommittedPoint>& points_;
  const int parallelism_;
  TargetChanges& out_;
  std::map<std::string, const UncommittedPoint*> by_snapshot_;
  std::vector<std::pair<std::string, std::string>> renames_;
  std::mutex mu_;
};

}  // namespace

std::string PendingFile(const std::string& data_set_path, const std::string& snapshot_name) {
  return StateSibling(data_set_path, snapshot_name, kPendingSuffix);
}

std::string BadFile(const std::string& data_set_path, const std::string& snapshot_name) {
  return StateSibling(data_set_path, snapshot_name, ".bad");
}

Status MarkPending(WebHdfsClient& client, const std::string& path, const std::string& snapshot) {
  WebHdfsClient::CreateOptions o;
  o.overwrite = true;
  o.permission = 0600;
  return client.Create(PendingFile(path, snapshot), "", o);
}

StatusOr<std::vector<std::string>> PendingSnapshots(WebHdfsClient& client,
                                                    const std::string& path) {
  std::vector<std::string> out;
  StatusOr<std::vector<FileStatus>> items = client.ListStatus(StateDir(path));
  if (!items.ok()) {
    if (items.status().code() == Code::kNotFound) return out;
    return items.status();
  }
  const std::string suffix = kPendingSuffix;
  for (const FileStatus& st : *items) {
    if (!st.is_dir && EndsWith(st.path_suffix, suffix)) {
      out.push_back(st.path_suffix.substr(0, st.path_suffix.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status ClearPending(WebHdfsClient& client, const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> pending, PendingSnapshots(client, path));
  for (const std::string& s : pending) {
    LIFEBOAT_RETURN_IF_ERROR(client.Delete(BadFile(path, s), false).status());
    LIFEBOAT_RETURN_IF_ERROR(client.Delete(PendingFile(path, s), false).status());
  }
  return OkStatus();
}

Status SaveBad(WebHdfsClient& client, const std::string& path, const std::string& snapshot,
               const std::set<std::string>& files) {
  WebHdfsClient::CreateOptions o;
  o.overwrite = true;
  o.permission = 0600;
  return client.Create(BadFile(path, snapshot), nlohmann::json({{"files", files}}).dump(), o);
}

std::set<std::string> LoadBad(WebHdfsClient& client, const std::string& path,
                              const std::string& snapshot) {
  std::set<std::string> out;
  StatusOr<std::string> body = client.ReadAll(BadFile(path, snapshot));
  if (!body.ok()) return out;
  nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j["files"].is_array()) return out;
  for (const auto& f : j["files"]) {
    if (f.is_string()) out.insert(f.get<std::string>());
  }
  return out;
}

StatusOr<TargetChanges> SortTargetChanges(sdk::Call& call, WebHdfsClient& dst,
                                          const std::string& path,
                                          const std::vector<SnapshotDiffEntry>& changed,
                                          const std::vector<UncommittedPoint>& points,
                                          int parallelism) {
  TargetChanges out;
  out.own.assign(changed.size(), 0);
  if (points.empty()) return out;
  Sorter sorter(call, dst, path, points, parallelism, out);
  std::vector<std::pair<std::string, std::string>> renames;
  for (const SnapshotDiffEntry& e : changed) {
    if (e.type == SnapshotDiffEntry::kRename) {
      renames.emplace_back(CleanDiffPath(e.source), CleanDiffPath(e.target));
    }
  }
  sorter.SetRenames(std::move(renames));
  std::vector<char> own(changed.size(), 0);
  LIFEBOAT_RETURN_IF_ERROR(ParallelFor(changed.size(), parallelism, [&](size_t i) -> Status {
    if (call.Cancelled()) return CancelledError("cancelled while reading the target's changes");
    LIFEBOAT_ASSIGN_OR_RETURN(bool mine, sorter.Entry(changed[i]));
    own[i] = mine;
    return OkStatus();
  }));
  out.own = std::move(own);
  return out;
}

}  // namespace lifeboat::hdfs
