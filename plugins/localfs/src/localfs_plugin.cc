// Describe/validate/create, and the small operations: probe, resolve, prepare, expire.
#include "localfs_plugin.h"

#include <dirent.h>
#include <lifeboat/sdk/files.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fence.h"
#include "fs.h"
#include "manifest_io.h"

namespace lifeboat::localfs {

v1::PluginDescriptor LocalfsPlugin::Describe() {
  v1::PluginDescriptor d;
  d.set_name(kPluginName);
  d.set_version(kPluginVersion);
  d.set_component(kComponent);
  d.set_config_type(kConfigType);
  d.set_description(
      "Directories of a local file system: cuts by hard links, SHA-256 manifests, incremental "
      "and resumable pulls, restore by mirroring, owner/mode/ACL sync, fencing by the "
      "immutable attribute.");
  d.add_capabilities(v1::CAP_INCREMENTAL);
  d.add_capabilities(v1::CAP_RESUMABLE_TRANSFER);
  d.add_capabilities(v1::CAP_DIGEST_VERIFY);
  d.add_capabilities(v1::CAP_RESTORE);
  d.add_capabilities(v1::CAP_SECURITY_SYNC);
  d.add_capabilities(v1::CAP_FENCING);
  d.add_capabilities(v1::CAP_PEER_READ);
  return d;
}

Status LocalfsPlugin::Validate(const v1::PluginConfig& config) {
  return ParseConfig(config).status();
}

StatusOr<std::unique_ptr<LocalfsPlugin>> LocalfsPlugin::Create(sdk::Host host,
                                                               const v1::PluginConfig& config) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config parsed, ParseConfig(config));
  return std::make_unique<LocalfsPlugin>(host, std::move(parsed));
}

LocalfsPlugin::LocalfsPlugin(sdk::Host host, Config config)
    : host_(host), config_(std::move(config)), layout_(config_.root) {}

std::shared_ptr<std::shared_mutex> LocalfsPlugin::LockTable::Get(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = locks_[name];
  if (!slot) slot = std::make_shared<std::shared_mutex>();
  return slot;
}

StatusOr<std::string> LocalfsPlugin::MoveToTrash(const std::string& path) {
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(layout_.Trash(), 0700));
  std::string trash = JoinPath(layout_.Trash(), UniqueName("t."));
  if (::rename(path.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return std::string();
    return ErrnoError(errno, "cannot move to " + layout_.Trash() + ":", path);
  }
  return trash;
}

Status LocalfsPlugin::MoveToTrashAndRemove(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string trash, MoveToTrash(path));
  return trash.empty() ? OkStatus() : RemoveTree(trash);
}

void LocalfsPlugin::EmptyTrash() {
  // Entries only: another call may be moving something into the trash right now.
  DIR* d = ::opendir(layout_.Trash().c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  for (const auto& name : names) {
    Status s = RemoveTree(JoinPath(layout_.Trash(), name));
    if (!s.ok()) host_.Warn("cannot empty " + layout_.Trash() + ": " + s.ToString());
  }
}

std::string LocalfsPlugin::ReadCurrent(const std::string& key) const {
  StatusOr<std::string> current = sdk::ReadWholeFile(layout_.Current(key));
  if (!current.ok()) return "";
  std::string id = std::move(current).value();
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

std::vector<std::string> LocalfsPlugin::ListPoints(const std::string& key) const {
  return ListPointsIn(layout_, key);
}

std::vector<std::string> ListPointsIn(const Layout& layout, const std::string& key) {
  std::vector<std::string> out;
  std::string dir = layout.PointsOf(key);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || name == "CURRENT") continue;
    if (::access(JoinPath(JoinPath(dir, name), kManifestFile).c_str(), F_OK) == 0) {
      out.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status LocalfsPlugin::UpdateCurrent(const std::string& key, const std::string& rp,
                                    int64_t committed_ns) {
  std::string current = ReadCurrent(key);
  if (current == rp) return OkStatus();
  if (!current.empty()) {
    StatusOr<int64_t> other =
        ReadCommittedUnixNanos(JoinPath(layout_.Point(key, current), kManifestFile));
    if (other.ok() && *other > committed_ns) return OkStatus();
  }
  return sdk::WriteFileAtomically(layout_.Current(key), rp + "\n", /*durable=*/true);
}

StatusOr<v1::ProbeResponse> LocalfsPlugin::Probe(sdk::Call& call, const v1::ProbeRequest& req) {
  v1::ProbeResponse resp;
  resp.set_component_version(kPluginVersion);
  struct stat st;
  if (::stat(config_.root.c_str(), &st) != 0) {
    resp.set_health(v1::UNREACHABLE);
    resp.set_detail("root " + config_.root + " cannot be used: " + std::strerror(errno) +
                    "; mount or create it");
    return resp;
  }
  if (!S_ISDIR(st.st_mode)) {
    resp.set_health(v1::UNREACHABLE);
    resp.set_detail("root " + config_.root + " is not a directory");
    return resp;
  }
  if (::access(config_.root.c_str(), W_OK | X_OK) != 0) {
    resp.set_health(v1::UNREACHABLE);
    resp.set_detail("root " + config_.root +
                    " is not writable by the agent: " + std::strerror(errno));
    return resp;
  }
  resp.set_health(v1::HEALTHY);
  resp.set_detail("root " + config_.root + " is a writable directory");
  std::vector<std::string> problems;
  std::vector<lfstate::FenceRecord> fences = ListFences(layout_, &problems);
  for (const lfstate::FenceRecord& r : fences) {
    v1::FencedDataSet* f = resp.add_fenced();
    f->mutable_data_set()->set_component(kComponent);
    f->mutable_data_set()->set_selector(r.selector());
    f->set_epoch(r.epoch());
    f->set_reason(r.reason());
    f->set_fenced_unix_nanos(r.fenced_unix_nanos());
    f->set_mechanism(FenceMechanism(r));
  }
  if (!fences.empty())
    resp.set_detail(resp.detail() + "; " + std::to_string(fences.size()) + " data set(s) fenced");
  if (!problems.empty()) {
    resp.set_health(v1::DEGRADED);
    resp.set_detail(resp.detail() + "; unreadable fence record: " + problems.front());
  }
  StatusOr<std::string> role = sdk::ReadWholeFile(layout_.RoleFile());
  if (role.ok()) {
    std::string marker = std::move(role).value();
    while (!marker.empty() && (marker.back() == '\n' || marker.back() == ' ' ||
                               marker.back() == '\r' || marker.back() == '\t')) {
      marker.pop_back();
    }
    if (IsValidUtf8(marker)) {
      resp.set_role_marker(marker);
    } else {
      host_.Warn("role marker " + layout_.RoleFile() + " is not UTF-8 text; ignored");
    }
  }
  return resp;
}

StatusOr<v1::ResolveResponse> LocalfsPlugin::Resolve(sdk::Call& call,
                                                     const v1::ResolveRequest& req) {
  const std::string& selector = req.selector();
  v1::ResolveResponse resp;
  bool wildcard = selector.size() >= 2 && selector.compare(selector.size() - 2, 2, "/*") == 0;
  if (!wildcard) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateSelector(selector, "selector"));
    std::string dir = layout_.DataDir(selector);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return NotFoundError("no directory " + dir + " for selector " + selector + " under root " +
                               config_.root + "; create it or fix the selector",
                           selector);
    }
    v1::DataSet* ds = resp.add_data_sets();
    ds->set_component(kComponent);
    ds->set_selector(selector);
    return resp;
  }
  std::string parent = selector.substr(0, selector.size() - 2);
  std::string parent_dir = config_.root;
  if (!parent.empty()) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateSelector(parent, "selector"));
    parent_dir = layout_.DataDir(parent);
  }
  DIR* d = ::opendir(parent_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFoundError("no directory " + parent_dir + " for selector " + selector +
                               "; create it or fix the selector",
                           selector);
    }
    return ErrnoError(errno, "cannot list", parent_dir);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (parent.empty() && name == kMetaDirName) continue;
    struct stat st;
    if (::lstat(JoinPath(parent_dir, name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (!IsValidUtf8(name)) {
      host_.Warn("skipping directory " + Printable(JoinPath(parent_dir, name)) +
                 ": its name is not UTF-8, which selectors must be");
      continue;
    }
    names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    v1::DataSet* ds = resp.add_data_sets();
    ds->set_component(kComponent);
    ds->set_selector(parent + "/" + name);
  }
  return resp;
}

StatusOr<v1::PrepareResponse> LocalfsPlugin::Prepare(sdk::Call& call,
                                                     const v1::PrepareRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  std::string dir = layout_.DataDir(req.data_set().selector());
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFoundError("data set " + DataSetName(req.data_set()) + " has no directory " + dir +
                               "; create it or fix the selector",
                           dir);
    }
    return ErrnoError(errno, "cannot inspect data set directory", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("data set " + DataSetName(req.data_set()) + ": " + dir +
                                       " is not a directory; a localfs data set is a directory",
                                   dir);
  }
  if (::access(dir.c_str(), R_OK | X_OK) != 0) {
    return FailedPreconditionError(
        "data set directory " + dir + " cannot be read by the agent: " + std::strerror(errno), dir);
  }
  v1::PrepareResponse resp;
  resp.set_detail("data set directory " + dir + " is ready");
  return resp;
}

StatusOr<v1::ExpireResponse> LocalfsPlugin::Expire(sdk::Call& call, const v1::ExpireRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  for (const auto& rp : req.restore_point_ids()) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(rp, "restore_point_ids"));
  }
  std::string key = DataSetKey(req.data_set().selector());
  auto points_lock = locks_.Get("points:" + key);
  std::unique_lock<std::shared_mutex> guard(*points_lock);
  std::string current = ReadCurrent(key);
  for (const auto& rp : req.restore_point_ids()) {
    if (!current.empty() && rp == current) {
      return FailedPreconditionError(
          "restore point " + rp + " is the current point of " + DataSetName(req.data_set()) +
              " on this cluster and cannot be expired; commit a newer point first",
          rp);
    }
  }
  // Leftovers of deletions interrupted earlier.
  EmptyTrash();
  v1::ExpireResponse resp;
  for (const auto& rp : req.restore_point_ids()) {
    {
      auto staging_lock = locks_.Get("staging:" + key + "/" + rp);
      std::unique_lock<std::shared_mutex> staging_guard(*staging_lock);
      std::string staging = layout_.Staging(key, rp);
      LIFEBOAT_RETURN_IF_ERROR(MoveToTrashAndRemove(staging));
    }
    std::string point = layout_.Point(key, rp);
    LIFEBOAT_ASSIGN_OR_RETURN(auto st, LstatIfExists(point));
    if (!st) {
      resp.add_already_absent(rp);
      continue;
    }
    // The rename makes the point disappear at once: a half-deleted point never looks valid.
    LIFEBOAT_RETURN_IF_ERROR(MoveToTrashAndRemove(point));
    host_.Info("expired restore point " + rp + " of " + DataSetName(req.data_set()));
    resp.add_removed(rp);
  }
  return resp;
}

}  // namespace lifeboat::localfs
