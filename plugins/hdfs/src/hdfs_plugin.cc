#include "hdfs_plugin.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <sstream>

#include "leftovers.h"
#include "open_files.h"
#include "security.h"

namespace lifeboat::hdfs {
namespace {

WebHdfsClient::Options ClientOptions(const Config& config) {
  WebHdfsClient::Options o;
  o.namenodes = config.namenodes;
  o.user = config.user;
  o.timeout_seconds = config.timeout_seconds;
  return o;
}

}  // namespace

StatusOr<std::string> DataSetPath(const v1::DataSet& data_set) {
  if (data_set.component() != kComponent) {
    return InvalidArgumentError(
        "data set component is '" + data_set.component() + "', this plugin serves 'hdfs'",
        data_set.selector());
  }
  std::string path = data_set.selector();
  if (path.empty() || path.front() != '/') {
    return InvalidArgumentError("hdfs data set selector '" + path +
                                    "' must be an absolute directory path, e.g. /data/sales",
                                path);
  }
  std::string out;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    if (part == "." || part == ".." || part.find(':') != std::string::npos) {
      return InvalidArgumentError("hdfs data set selector '" + path + "' has a component '" + part +
                                      "' that HDFS does not allow ('.', '..' or one with ':')",
                                  path);
    }
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

std::string CutAttributeName(const std::string& snapshot_name) {
  return "user.lifeboat.cut." + snapshot_name;
}

v1::PluginDescriptor HdfsPlugin::Describe() {
  v1::PluginDescriptor d;
  d.set_name(kPluginName);
  d.set_version(kPluginVersion);
  d.set_component(kComponent);
  d.set_config_type(kConfigType);
  // Fencing and security sync: security.cc.
  d.add_capabilities(v1::CAP_FENCING);
  d.add_capabilities(v1::CAP_SECURITY_SYNC);
  d.set_description(
      "HDFS over WebHDFS: cuts are HDFS snapshots named after the restore point; NameNode HA "
      "followed; incremental transfers from snapshot diffs, streamed DataNode to DataNode.");
  // The data path (data_path.cc).
  d.add_capabilities(v1::CAP_INCREMENTAL);
  // The incremental is a snapshot diff from the base's snapshot on the source: the engine
  // keeps the newest committed point's snapshot until a newer point commits.
  d.add_capabilities(v1::CAP_DIFF_FROM_BASE_CUT);
  d.add_capabilities(v1::CAP_RESUMABLE_TRANSFER);
  d.add_capabilities(v1::CAP_DIGEST_VERIFY);
  d.add_capabilities(v1::CAP_RESTORE);
  return d;
}

Status HdfsPlugin::Validate(const v1::PluginConfig& config) { return ParseConfig(config).status(); }

StatusOr<std::unique_ptr<HdfsPlugin>> HdfsPlugin::Create(sdk::Host host,
                                                         const v1::PluginConfig& config) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config parsed, ParseConfig(config));
  return std::make_unique<HdfsPlugin>(host, std::move(parsed));
}

HdfsPlugin::HdfsPlugin(sdk::Host host, Config config)
    : host_(host),
      config_(std::move(config)),
      client_(ClientOptions(config_)),
      instance_limit_(config_.bandwidth_bytes_per_second) {}

StatusOr<v1::ProbeResponse> HdfsPlugin::Probe(sdk::Call& call, const v1::ProbeRequest& req) {
  std::vector<NameNodeState> states = client_.ProbeNameNodes();
  v1::ProbeResponse resp;
  std::string detail;
  const NameNodeState* active = nullptr;
  bool all_reachable = true;
  for (const NameNodeState& s : states) {
    if (!detail.empty()) detail += "; ";
    if (!s.reachable) {
      all_reachable = false;
      detail += s.address + ": unreachable (" + s.error + ")";
      continue;
    }
    detail += s.address + ": " + s.state + " " + s.version;
    if (s.safe_mode) detail += " in safe mode (" + s.safe_mode_detail + ")";
    if (s.state == "active" && active == nullptr) active = &s;
  }
  if (active == nullptr) {
    resp.set_health(v1::UNREACHABLE);
    detail = "no active NameNode: " + detail;
  } else {
    resp.set_component_version(active->version);
    resp.set_health(active->safe_mode || !all_reachable ? v1::DEGRADED : v1::HEALTHY);
  }
  resp.set_detail(detail);
  if (active != nullptr) AddFencedDataSets(client_, resp);  // security.cc
  return resp;
}

StatusOr<v1::ResolveResponse> HdfsPlugin::Resolve(sdk::Call& call, const v1::ResolveRequest& req) {
  v1::DataSet ds;
  ds.set_component(kComponent);
  ds.set_selector(req.selector());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(ds));
  StatusOr<FileStatus> st = client_.GetFileStatus(path);
  if (!st.ok()) {
    if (st.status().code() == Code::kNotFound) {
      return NotFoundError("no directory " + path + " on HDFS cluster '" + config_.cluster + "'",
                           path);
    }
    return st.status();
  }
  if (!st->is_dir) {
    return InvalidArgumentError(path + " on HDFS cluster '" + config_.cluster +
                                    "' is a file; an hdfs data set is a directory",
                                path);
  }
  v1::ResolveResponse resp;
  v1::DataSet* out = resp.add_data_sets();
  out->set_component(kComponent);
  out->set_selector(path);
  return resp;
}

StatusOr<v1::PrepareResponse> HdfsPlugin::Prepare(sdk::Call& call, const v1::PrepareRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(FileStatus st, client_.GetFileStatus(path));
  if (!st.is_dir) {
    return InvalidArgumentError(path + " is a file; an hdfs data set is a directory", path);
  }
  v1::PrepareResponse resp;
  if (st.snapshot_enabled) {
    resp.set_detail(path + " is snapshottable");
  } else if (config_.allow_snapshot) {
    resp.set_detail(path +
                    " is not snapshottable yet; the cut will allow snapshots on it (this needs "
                    "the HDFS superuser; otherwise an administrator runs `hdfs dfsadmin "
                    "-allowSnapshot " +
                    path + "`)");
  } else {
    return FailedPreconditionError(
        path +
            " is not snapshottable and allow_snapshot is false: an administrator must run "
            "`hdfs dfsadmin -allowSnapshot " +
            path + "` before Lifeboat can cut it",
        path);
  }
  return resp;
}

Status HdfsPlugin::ListTree(sdk::Call& call, const std::string& root,
                            v1::MemberManifest& manifest) {
  std::deque<std::string> dirs = {""};  // relative paths of directories still to list
  v1::Progress progress;
  progress.set_phase("list");
  uint64_t total = 0;
  while (!dirs.empty()) {
    if (call.Cancelled()) return CancelledError("cut cancelled while listing " + root, root);
    std::string rel = dirs.front();
    dirs.pop_front();
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<FileStatus> items,
                              client_.ListStatus(rel.empty() ? root : root + "/" + rel));
    for (const FileStatus& st : items) {
      std::string path = rel.empty() ? st.path_suffix : rel + "/" + st.path_suffix;
      v1::Entry* e = manifest.add_entries();
      e->set_path(path);
      e->set_type(st.is_dir       ? v1::ENTRY_DIRECTORY
                  : st.is_symlink ? v1::ENTRY_SYMLINK
                                  : v1::ENTRY_FILE);
      e->set_size(st.is_dir ? 0 : st.length);
      e->set_mtime_unix_nanos(st.modification_ms * 1000000);
      e->set_mode(st.permission);
      e->set_owner(st.owner);
      e->set_group(st.group);
      e->set_symlink_target(st.symlink_target);
      if (st.is_dir) dirs.push_back(path);
      if (!st.is_dir) total += st.length;
    }
    progress.set_items_done(static_cast<uint64_t>(manifest.entries_size()));
    progress.set_current_item(rel);
    call.ReportProgress(progress);
  }
  std::sort(manifest.mutable_entries()->begin(), manifest.mutable_entries()->end(),
            [](const v1::Entry& a, const v1::Entry& b) { return a.path() < b.path(); });
  manifest.set_total_bytes(total);
  // A fenced data set (a source cut after a failback fenced it; a point committed into a
  // fenced target) lists the fence's permissions: the manifest gives the originals.
  LIFEBOAT_ASSIGN_OR_RETURN(bool fenced, FencedAt(client_, root));
  if (!fenced) return OkStatus();
  std::vector<v1::Entry*> candidates;
  for (v1::Entry& e : *manifest.mutable_entries()) {
    if (e.type() != v1::ENTRY_SYMLINK && (e.mode() & 0222) == 0) candidates.push_back(&e);
  }
  return ParallelFor(candidates.size(), config_.parallelism, [&](size_t i) -> Status {
    v1::Entry& e = *candidates[i];
    LIFEBOAT_ASSIGN_OR_RETURN(uint32_t mode,
                              UnfencedPermission(client_, root + "/" + e.path(), e.mode()));
    e.set_mode(mode);
    return OkStatus();
  });
}

Status HdfsPlugin::EnsureSnapshottable(const std::string& path, const FileStatus& dir) {
  if (dir.snapshot_enabled) return OkStatus();
  if (!config_.allow_snapshot) {
    return FailedPreconditionError(path +
                                       " is not snapshottable and allow_snapshot is false: an "
                                       "administrator must run `hdfs dfsadmin -allowSnapshot " +
                                       path + "`",
                                   path);
  }
  Status allowed = client_.AllowSnapshot(path);
  if (allowed.code() == Code::kPermissionDenied) {
    return FailedPreconditionError(
        path + " is not snapshottable, and user '" + config_.user +
            "' may not make it so (only the HDFS superuser may): an administrator must run "
            "`hdfs dfsadmin -allowSnapshot " +
            path + "` (" + allowed.message() + ")",
        path);
  }
  LIFEBOAT_RETURN_IF_ERROR(allowed);
  host_.Info("allowed snapshots on " + path);
  return OkStatus();
}

StatusOr<v1::CutResponse> HdfsPlugin::Cut(sdk::Call& call, const v1::CutRequest& req) {
  // No CAP_CUT_AT_TIME: a snapshot is taken now. A T already past (the engine's crash and
  // quiesced modes name the point's time) is served by a snapshot taken now, its interval
  // reported as it was; a T in the future cannot be.
  if (req.cut_unix_nanos() > host_.NowUnixNanos() + 5'000'000'000) {
    return UnimplementedError(
        "hdfs cuts are taken now; a cut at a future time T is not possible (no "
        "CAP_CUT_AT_TIME)");
  }
  if (req.restore_point_id().empty()) {
    return InvalidArgumentError("cut needs a restore_point_id: the snapshot is named after it");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(FileStatus dir, client_.GetFileStatus(path));
  if (!dir.is_dir) {
    return InvalidArgumentError(path + " is a file; an hdfs data set is a directory", path);
  }
  const std::string name = SnapshotName(config_, req.restore_point_id());
  const std::string snapshot_path = Join(path, ".snapshot/" + name);
  const std::string attr = CutAttributeName(name);

  int64_t start = 0;
  int64_t end = 0;
  std::string op_id = req.op_id();
  // The files open for write at the snapshot (open_files.h): asked right after it is taken,
  // before the listing, so that a file that closes meanwhile shows closed (after the
  // snapshot's time) in the listing.
  std::optional<OpenFilesSeen> open_now;
  StatusOr<FileStatus> existing = client_.GetFileStatus(snapshot_path);
  if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
  if (!existing.ok()) {
    LIFEBOAT_RETURN_IF_ERROR(EnsureSnapshottable(path, dir));
    start = host_.NowUnixNanos();
    StatusOr<std::string> created = client_.CreateSnapshot(path, name);
    end = host_.NowUnixNanos();
    if (created.ok()) open_now = LookForOpenFiles(path);
    // The snapshot's time (NameNode clock, as the files' times): a file modified at or
    // after it was open at the snapshot. (Another call may also have made it: read back.)
    existing = client_.GetFileStatus(snapshot_path);
    if (!existing.ok()) return created.ok() ? existing.status() : created.status();
    if (!created.ok()) {
      start = end = 0;
    } else {
      Status recorded = client_.SetXAttr(
          path, attr, std::to_string(start) + " " + std::to_string(end) + " " + req.op_id());
      if (!recorded.ok()) {
        host_.Warn("cannot record the cut interval of " + snapshot_path + " (" +
                   recorded.ToString() +
                   "); a repeated cut will report the snapshot's time on the NameNode's clock");
      }
    }
  }
  if (start == 0) {
    // A repeated cut: the interval the first one recorded, else the snapshot's own time.
    StatusOr<std::string> recorded = client_.GetXAttr(path, attr);
    long long s = 0;
    long long e = 0;
    char id[256] = {0};
    if (recorded.ok() && std::sscanf(recorded->c_str(), "%lld %lld %255s", &s, &e, id) >= 2) {
      start = s;
      end = e;
      op_id = id;
    } else {
      start = existing->modification_ms * 1000000;
      end = start + 999999;
    }
  }

  v1::CutResponse resp;
  v1::SnapshotRef* ref = resp.mutable_snapshot();
  ref->set_plugin(kPluginName);
  ref->set_cluster(config_.cluster);
  ref->mutable_data_set()->set_component(kComponent);
  ref->mutable_data_set()->set_selector(path);
  ref->set_restore_point_id(req.restore_point_id());
  ref->set_snapshot_id(name);
  ref->set_cut_start_unix_nanos(start);
  ref->set_cut_end_unix_nanos(end);
  ref->set_cut_op_id(op_id);
  v1::MemberManifest* manifest = resp.mutable_manifest();
  LIFEBOAT_RETURN_IF_ERROR(ListTree(call, snapshot_path, *manifest));
  ref->set_opaque(RecordOpenFiles(path, name, existing->modification_ms, open_now, *manifest));
  *manifest->mutable_snapshot() = *ref;
  return resp;
}

OpenFilesSeen HdfsPlugin::LookForOpenFiles(const std::string& path) {
  OpenFilesSeen seen;
  seen.files = client_.ListOpenFiles(path);
  seen.looked_unix_ms = host_.NowUnixNanos() / 1000000;
  return seen;
}

std::string HdfsPlugin::RecordOpenFiles(const std::string& path, const std::string& name,
                                        int64_t snapshot_ms, std::optional<OpenFilesSeen>& open_now,
                                        v1::MemberManifest& manifest) {
  const std::string attr = kOpenAttrPrefix + name;
  if (!open_now) {
    // A repeated cut answers what the first one found, when it could keep it (an xattr holds
    // up to dfs.namenode.fs-limits.max-xattr-size, 16 KiB by default); otherwise it looks
    // again now: files closed since show by their time, open ones at today's length.
    StatusOr<std::string> kept = client_.GetXAttr(path, attr);
    if (kept.ok()) {
      CutRecord record = DecodeCutRecord(*kept);
      if (record.snapshot_ms == snapshot_ms) {
        HoldOpenFiles(record, manifest);
        return *kept;
      }
    }
    open_now = LookForOpenFiles(path);
  }
  CutRecord record = FindOpenAtCut(path, snapshot_ms, *open_now, manifest);
  StatusOr<std::string> capture = client_.NameNodeConf(kCaptureOpenFilesKey);
  record.capture_openfiles = capture.ok() ? *capture : "";
  if (!open_now->files.ok()) {
    host_.Warn("cannot list the files open for write in " + path + " (" +
               open_now->files.status().ToString() +
               "): a file still open at the cut is held at whatever length the snapshot shows "
               "when it is copied; files closed after the snapshot are found by their time");
  }
  if (!record.open.empty()) {
    host_.Info("cut of " + path + " at " + name + ": " + DescribeOpenAtCut(record.open) +
               (record.capture_openfiles == "true" ? "; the NameNode's snapshots capture open files"
                                                   : ""));
  }
  const std::string text = EncodeCutRecord(record);
  Status kept = client_.SetXAttr(path, attr, text);
  if (!kept.ok()) {
    host_.Warn("cannot keep the open files of cut " + name + " on " + path + " (" +
               kept.ToString() + "); a repeated cut looks for them again");
  }
  return text;
}

StatusOr<v1::ReleaseResponse> HdfsPlugin::Release(sdk::Call& call, const v1::ReleaseRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.snapshot().data_set()));
  const std::string& name = req.snapshot().snapshot_id();
  if (name.empty()) return InvalidArgumentError("release needs the snapshot reference's id");
  LIFEBOAT_ASSIGN_OR_RETURN(bool deleted, client_.DeleteSnapshot(path, name));
  (void)client_.RemoveXAttr(path, kOpenAttrPrefix + name);  // absent when nothing was open
  Status removed = client_.RemoveXAttr(path, CutAttributeName(name));
  if (!removed.ok() && deleted) {
    host_.Warn("snapshot " + name + " of " + path +
               " deleted, but not its cut attribute: " + removed.ToString());
  }
  v1::ReleaseResponse resp;
  resp.set_released(true);
  return resp;
}

StatusOr<v1::CommitResponse> HdfsPlugin::Commit(sdk::Call& call, const v1::CommitRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.snapshot().data_set()));
  const std::string& name = req.snapshot().snapshot_id();
  if (name.empty()) return InvalidArgumentError("commit needs the snapshot reference's id");
  StatusOr<FileStatus> dir = client_.GetFileStatus(path);
  if (!dir.ok() && dir.status().code() == Code::kNotFound) {
    return FailedPreconditionError("nothing to commit: " + path +
                                       " does not exist on HDFS cluster '" + config_.cluster +
                                       "' (transfer the point first)",
                                   path);
  }
  LIFEBOAT_RETURN_IF_ERROR(dir.status());
  if (!dir->is_dir) {
    return FailedPreconditionError(path + " on the target is a file, not the data set's directory",
                                   path);
  }
  const std::string snapshot_path = Join(path, ".snapshot/" + name);
  StatusOr<FileStatus> existing = client_.GetFileStatus(snapshot_path);
  if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
  if (!existing.ok()) {
    LIFEBOAT_RETURN_IF_ERROR(EnsureSnapshottable(path, *dir));
    // Creating files moved the directories' times during the transfer: set them back.
    LIFEBOAT_RETURN_IF_ERROR(ApplyDirectoryTimes(call, path, name));
    StatusOr<std::string> created = client_.CreateSnapshot(path, name);
    // A concurrent or earlier commit of the same point made it: read it back.
    existing = client_.GetFileStatus(snapshot_path);
    if (!existing.ok()) return created.ok() ? existing.status() : created.status();
  }
  // The target is this point now, whatever earlier attempts that never committed wrote into
  // it: none of them is pending any more (leftovers.h). Also on a repeat, after a crash here.
  // Only tidying: a mark left names an older base, which no later plan starts from, so a
  // failure here must not fail a commit whose snapshot is made.
  Status cleared = ClearPending(client_, path);
  if (!cleared.ok()) {
    host_.Warn("committed " + name + " of " + path + ", but its state directory keeps marks of " +
               "earlier uncommitted points (" + cleared.ToString() + "); they are ignored");
  }
  v1::CommitResponse resp;
  v1::MemberManifest* manifest = resp.mutable_manifest();
  LIFEBOAT_RETURN_IF_ERROR(ListTree(call, snapshot_path, *manifest));
  *manifest->mutable_snapshot() = req.snapshot();
  manifest->set_base_restore_point_id(req.base_restore_point_id());
  // The snapshot's own time (NameNode clock), so that a repeated commit answers the same.
  manifest->set_committed_unix_nanos(existing->modification_ms * 1000000);
  return resp;
}

StatusOr<v1::ExpireResponse> HdfsPlugin::Expire(sdk::Call& call, const v1::ExpireRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  v1::ExpireResponse resp;
  for (const std::string& rp : req.restore_point_ids()) {
    if (call.Cancelled()) return CancelledError("expire cancelled before point " + rp, path);
    const std::string name = SnapshotName(config_, rp);
    StatusOr<bool> deleted = client_.DeleteSnapshot(path, name);
    if (!deleted.ok() && deleted.status().code() == Code::kNotFound) deleted = false;
    LIFEBOAT_RETURN_IF_ERROR(deleted.status());
    (*deleted ? resp.add_removed() : resp.add_already_absent())->assign(rp);
    if (!*deleted) {
      // A point that never committed here (the engine abandons a failed or cancelled backup
      // so): what its transfer wrote into the live directory stays, and the next backup takes
      // it over (leftovers.h). Said here, so that the abandonment names what it left.
      StatusOr<FileStatus> pending = client_.GetFileStatus(PendingFile(path, name));
      if (pending.ok()) {
        host_.Info("restore point " + rp + " did not commit on cluster '" + config_.cluster +
                   "': what its transfer wrote into " + path +
                   " stays there, marked as its own, and the next backup takes it over "
                   "(keeping the copies that match its cut, replacing the rest)");
      }
    }
  }
  return resp;
}

}  // namespace lifeboat::hdfs
