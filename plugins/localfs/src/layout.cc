#include "layout.h"

#include <utility>

#include "config.h"
#include "fs.h"

namespace lifeboat::localfs {
namespace {

// Calls `fn(component)` for each '/'-separated component of `path`.
template <typename Fn>
void ForEachComponent(std::string_view path, Fn fn) {
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    fn(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

}  // namespace

Status ValidateSelector(std::string_view selector, std::string_view field) {
  std::string f(field);
  std::string quoted = "'" + std::string(selector) + "'";
  if (selector.empty() || selector.front() != '/') {
    return InvalidArgumentError(
        f + " " + quoted + " must be an absolute path below the root, like /sales", f);
  }
  if (selector.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(f + " contains a NUL byte", f);
  }
  if (selector == "/") {
    return InvalidArgumentError(
        f + " '/' names the whole root, which holds Lifeboat's own state; name a directory "
            "below it, like /sales",
        f);
  }
  std::string bad;
  ForEachComponent(selector.substr(1), [&](std::string_view part) {
    if (!bad.empty()) return;
    if (part.empty()) bad = "an empty component (a doubled or trailing '/')";
    if (part == ".") bad = "a '.' component";
    if (part == "..") bad = "a '..' component";
  });
  if (!bad.empty()) {
    return InvalidArgumentError(f + " " + quoted + " has " + bad + "; write it like /a/b", f);
  }
  std::string_view first = selector.substr(1, selector.find('/', 1) - 1);
  if (first == kMetaDirName) {
    return InvalidArgumentError(f + " " + quoted + " is inside /" + kMetaDirName +
                                    ", where Lifeboat keeps its own state; choose another path",
                                f);
  }
  return OkStatus();
}

Status ValidateDataSet(const v1::DataSet& data_set) {
  if (data_set.component() != kComponent) {
    return InvalidArgumentError("data set component must be '" + std::string(kComponent) +
                                    "', found '" + data_set.component() + "'",
                                "data_set.component");
  }
  return ValidateSelector(data_set.selector(), "selector");
}

Status ValidateRestorePointId(std::string_view id, std::string_view field) {
  std::string f(field);
  if (id.empty()) return InvalidArgumentError(f + " is required", f);
  if (id.size() > 200) {
    return InvalidArgumentError(f + " is longer than 200 bytes", f);
  }
  if (id.find('/') != std::string_view::npos || id.find('\0') != std::string_view::npos ||
      id.front() == '.') {
    return InvalidArgumentError(
        f + " '" + std::string(id) + "' must not contain '/' or NUL nor start with '.'", f);
  }
  if (id == "CURRENT") {
    return InvalidArgumentError(f + " 'CURRENT' is reserved by the localfs layout", f);
  }
  return OkStatus();
}

Status ValidateRelativePath(std::string_view path, std::string_view what) {
  std::string w(what);
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(
        w + " '" + std::string(path) + "' is not a relative path below the data set",
        std::string(path));
  }
  bool bad = false;
  ForEachComponent(path, [&](std::string_view part) {
    if (part.empty() || part == "." || part == "..") bad = true;
  });
  if (bad) {
    return InvalidArgumentError(
        w + " '" + std::string(path) + "' has an empty, '.' or '..' component", std::string(path));
  }
  return OkStatus();
}

std::string DataSetKey(std::string_view selector) {
  std::string out;
  out.reserve(selector.size() + 8);
  for (char c : selector) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out += c;
    }
  }
  return out;
}

bool SelectorsOverlap(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return b.compare(0, a.size(), a) == 0 && (b.size() == a.size() || b[a.size()] == '/');
}

std::string DataSetName(const v1::DataSet& data_set) {
  return data_set.component() + ":" + data_set.selector();
}

std::string Layout::DataDir(std::string_view selector) const {
  if (root_ == "/") return std::string(selector);
  return root_ + std::string(selector);
}

std::string Layout::Meta() const { return JoinPath(root_, kMetaDirName); }
std::string Layout::RoleFile() const { return JoinPath(Meta(), "ROLE"); }
std::string Layout::Trash() const { return JoinPath(Meta(), "trash"); }
std::string Layout::Scratch() const { return JoinPath(Meta(), "scratch"); }
std::string Layout::SnapshotsOf(const std::string& key) const {
  return JoinPath(JoinPath(Meta(), "snapshots"), key);
}
std::string Layout::Snapshot(const std::string& key, const std::string& rp) const {
  return JoinPath(SnapshotsOf(key), rp);
}
std::string Layout::DigestCache(const std::string& key) const {
  // Restore point ids cannot start with '.', so this name never collides with a snapshot.
  return JoinPath(SnapshotsOf(key), ".digest-cache.bin");
}
std::string Layout::StagingOf(const std::string& key) const {
  return JoinPath(JoinPath(Meta(), "staging"), key);
}
std::string Layout::Staging(const std::string& key, const std::string& rp) const {
  return JoinPath(StagingOf(key), rp);
}
std::string Layout::PointsOf(const std::string& key) const {
  return JoinPath(JoinPath(Meta(), "points"), key);
}
std::string Layout::Point(const std::string& key, const std::string& rp) const {
  return JoinPath(PointsOf(key), rp);
}
std::string Layout::Current(const std::string& key) const {
  // ValidateRestorePointId() refuses the id "CURRENT", so no point is ever named so.
  return JoinPath(PointsOf(key), "CURRENT");
}

std::string Layout::Fences() const { return JoinPath(Meta(), "fences"); }
std::string Layout::RestoreOwner(const std::string& key) const {
  return JoinPath(JoinPath(Meta(), "restores"), key);
}
std::string Layout::FenceFile(const std::string& key) const {
  return JoinPath(JoinPath(Fences(), key), "FENCE");
}
std::string Layout::FenceJournal(const std::string& key) const {
  return JoinPath(JoinPath(Fences(), key), "ops.pb");
}
std::string Layout::SecurityJournal(const std::string& key) const {
  return JoinPath(JoinPath(JoinPath(Meta(), "security"), key), "ops.pb");
}

}  // namespace lifeboat::localfs
