// The hdfs plugin's data path: plan_transfer, transfer, verify, restore (see hdfs_plugin.h
// for their contracts and README.md for the design).
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/restore.h>
#include <lifeboat/sdk/verify.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "copy.h"
#include "diff_listing.h"
#include "hdfs_plugin.h"
#include "held.h"
#include "leftovers.h"
#include "open_files.h"
#include "record_lines.h"
#include "security.h"
#include "tree.h"

namespace lifeboat::hdfs {
namespace {

constexpr char kTreeAttr[] = "user.lifeboat.tree";
constexpr char kChecksumAttr[] = "user.lifeboat.hdfs-checksum";
// Files at least this large get a copy task of their own; smaller ones are batched.
constexpr uint64_t kOwnTaskBytes = 4 << 20;
constexpr uint64_t kBatchBytes = 64 << 20;
constexpr size_t kBatchFiles = 64;
// How long a copy task waits for its plan's tree task.
constexpr auto kTreeWait = std::chrono::minutes(10);

std::string SnapshotRoot(const std::string& dir, const std::string& name) {
  return Join(dir, ".snapshot/" + name);
}

std::string Parent(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

int Depth(const std::string& rel) {
  if (rel.empty()) return 0;
  return 1 + static_cast<int>(std::count(rel.begin(), rel.end(), '/'));
}

WebHdfsClient::Options PeerOptions(const Config& c) {
  WebHdfsClient::Options o;
  o.namenodes = c.namenodes;
  o.user = c.user;
  o.timeout_seconds = c.timeout_seconds;
  return o;
}

// What a comparison of two trees asks for.
struct Changes {
  std::vector<std::string> deletes;  // top-most items to remove from the destination
  std::vector<FileStatus> dirs;      // directories to create or give their metadata
  std::vector<FileStatus> copies;    // files to copy
  std::vector<FileStatus> metas;     // files whose data is equal but metadata differs
  uint64_t unchanged = 0;
};

Changes CompareTrees(const Tree& src, const Tree& dst) {
  Changes c;
  std::string deleted;  // the last deleted directory, to skip its subtree
  for (const auto& [p, st] : dst) {
    if (!deleted.empty() && Under(p, deleted)) continue;
    auto it = src.find(p);
    if (it == src.end() || it->second.is_dir != st.is_dir) {
      c.deletes.push_back(p);
      deleted = p;
    }
  }
  for (const auto& [p, st] : src) {
    if (st.is_symlink) continue;
    auto it = dst.find(p);
    bool present = it != dst.end() && it->second.is_dir == st.is_dir;
    if (st.is_dir) {
      if (!present || !SameMeta(st, it->second)) {
        c.dirs.push_back(st);
      } else {
        ++c.unchanged;
      }
    } else if (present && SameFile(st, it->second)) {
      if (SameMeta(st, it->second)) {
        ++c.unchanged;
      } else {
        c.metas.push_back(st);
      }
    } else {
      c.copies.push_back(st);
    }
  }
  return c;
}

// The plan recorded on the target.
struct PlanRecord {
  std::string op_id;
  v1::PlanTransferResponse plan;
  Tree manifest;  // the source's listing at the snapshot
  // The base point's snapshot when the plan found the target unchanged since it (its
  // snapshot diff base -> live), so that verify may take the files this point did not copy
  // from the base's verified record; "" otherwise (no base, or force_full).
  std::string base;
  // The files open for write at the cut, as the point holds them (open_files.h; their
  // entries in `manifest` are held so), and how the cut found them.
  std::map<std::string, OpenAtCut> open;
  CutRecord cut;  // its `open` is left empty: the held files are in `open`
  // The cluster the listing came from (PluginConfig.cluster): inode ids compare only there.
  std::string source_cluster;
  // The base snapshot this plan was made from when that base was on the target ("" for none),
  // whatever the plan found there; the point's restore point id; the cut's root directory
  // (permission unfenced). A later plan reads them when this point never committed
  // (leftovers.h).
  std::string target_base;
  std::string restore_point;
  std::optional<FileStatus> root;
  // Files that points which never committed left on the target and this plan took over as
  // they were: verify does not take them from the base's record.
  std::set<std::string> leftovers;
};

// The plan's record: a header line with everything but the plan's tasks and the listing,
// then one line per task ({"task": hex of the TransferTask}), then one line per item of the
// listing (record_lines.h): written and read as streams, never one document (a full plan's
// copy tasks name every file).
Status SavePlan(WebHdfsClient& client, const std::string& file, const PlanRecord& record) {
  CutRecord cut = record.cut;
  cut.open.clear();
  for (const auto& [p, o] : record.open) cut.open.push_back(o);
  v1::PlanTransferResponse summary = record.plan;
  summary.clear_tasks();
  nlohmann::json header = {{"op_id", record.op_id},
                           {"plan", sdk::Hex(summary.SerializeAsString())},
                           {"base", record.base},
                           {"source_cluster", record.source_cluster},
                           {"cut", nlohmann::json::parse(EncodeCutRecord(cut))},
                           {"target_base", record.target_base},
                           {"restore_point", record.restore_point},
                           {"leftovers", record.leftovers}};
  if (record.root) header["root"] = StatusToJson(*record.root);
  auto it = record.manifest.begin();
  int task = 0;
  Status s = WriteRecordLines(client, file, std::move(header), [&](std::string* line) {
    if (task < record.plan.tasks_size()) {
      *line = nlohmann::json({{"task", sdk::Hex(record.plan.tasks(task++).SerializeAsString())}})
                  .dump();
      return true;
    }
    if (it == record.manifest.end()) return false;
    *line = StatusToJson(it->second).dump();
    ++it;
    return true;
  });
  if (s.code() == Code::kPermissionDenied) {
    return PermissionDeniedError(
        "cannot record the plan in " + file + " as user '" + client.user() +
            "': the target keeps its transfer state under /.lifeboat, which that user must be "
            "able to create (or an administrator creates /.lifeboat owned by it) (" +
            s.message() + ")",
        file);
  }
  return s;
}

StatusOr<PlanRecord> LoadPlan(WebHdfsClient& client, const std::string& file) {
  PlanRecord r;
  auto on_entry = [&r](const nlohmann::json& e) -> Status {
    if (!e.is_object()) return InvalidArgumentError("an item of the listing is not an object");
    if (e.size() == 1 && e.contains("task") && e["task"].is_string()) {
      if (!r.plan.add_tasks()->ParseFromString(
              sdk::Unhex(e["task"].get<std::string>()).value_or(""))) {
        return InvalidArgumentError("a task of the plan does not parse");
      }
      return OkStatus();
    }
    FileStatus st = StatusFromJson(e);
    std::string p = st.path_suffix;
    r.manifest.emplace(std::move(p), std::move(st));
    return OkStatus();
  };
  auto on_header = [&](const nlohmann::json& j, bool legacy) -> Status {
    if (!j.is_object() || !r.plan.ParseFromString(sdk::Unhex(j.value("plan", "")).value_or(""))) {
      return InvalidArgumentError("no plan in its first line");
    }
    r.op_id = j.value("op_id", "");
    r.base = j.value("base", "");
    r.source_cluster = j.value("source_cluster", "");
    r.target_base = j.value("target_base", "");
    r.restore_point = j.value("restore_point", "");
    if (j.contains("root") && j["root"].is_object()) r.root = StatusFromJson(j["root"]);
    if (j.contains("leftovers") && j["leftovers"].is_array()) {
      for (const auto& p : j["leftovers"]) {
        if (p.is_string()) r.leftovers.insert(p.get<std::string>());
      }
    }
    if (j.contains("cut")) r.cut = DecodeCutRecord(j["cut"].dump());
    for (const OpenAtCut& o : r.cut.open) r.open[o.path] = o;
    r.cut.open.clear();
    // A record written before the listing went to lines of its own: one document.
    if (legacy && j.contains("manifest") && j["manifest"].is_array()) {
      for (const nlohmann::json& e : j["manifest"]) LIFEBOAT_RETURN_IF_ERROR(on_entry(e));
    }
    return OkStatus();
  };
  Status read = ReadRecordLines(client, file, on_header, on_entry);
  if (read.code() == Code::kInvalidArgument) {
    return NotFoundError(
        "the plan recorded in " + file + " is unreadable (" + read.message() + ": cut short?)",
        file);
  }
  LIFEBOAT_RETURN_IF_ERROR(read);
  return r;
}

// The points planned on this target from `target_base` ("" = from no base on the target)
// that never committed here: a pending mark, its plan naming that base, no snapshot of it
// (leftovers.h). Nothing is read beyond the state directory's listing unless there are marks.
StatusOr<std::vector<UncommittedPoint>> LoadUncommitted(WebHdfsClient& dst, const std::string& path,
                                                        const std::string& target_base) {
  std::vector<UncommittedPoint> out;
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> pending, PendingSnapshots(dst, path));
  for (const std::string& snapshot : pending) {
    StatusOr<FileStatus> committed = dst.GetFileStatus(SnapshotRoot(path, snapshot));
    if (committed.ok()) continue;
    if (committed.status().code() != Code::kNotFound) return committed.status();
    StatusOr<PlanRecord> plan = LoadPlan(dst, StateFile(path, snapshot));
    if (!plan.ok()) {
      if (plan.status().code() == Code::kNotFound) continue;  // marked, never recorded
      return plan.status();
    }
    if (plan->target_base != target_base) continue;
    UncommittedPoint u;
    u.snapshot = snapshot;
    u.restore_point = plan->restore_point.empty() ? snapshot : plan->restore_point;
    u.manifest = std::move(plan->manifest);
    u.root = plan->root;
    u.bad = LoadBad(dst, path, snapshot);
    out.push_back(std::move(u));
  }
  return out;
}

// The permissions of a tree listed under `root` apart from the fence `root` carries, if any
// (security.h, UnfencedPermission): a fenced item shows its recorded original, so that the
// fence's own changes are neither differences to copy nor mismatches. Only items without a
// write bit can be fenced, and only they cost a call; nothing is asked of an unfenced tree.
Status UnfenceView(sdk::Call& call, WebHdfsClient& client, const std::string& root, Tree& tree,
                   int parallelism) {
  LIFEBOAT_ASSIGN_OR_RETURN(bool fenced, FencedAt(client, root));
  if (!fenced) return OkStatus();
  std::vector<FileStatus*> candidates;
  for (auto& [p, st] : tree) {
    if (!st.is_symlink && (st.permission & 0222) == 0) candidates.push_back(&st);
  }
  return sdk::ParallelFor(candidates.size(), parallelism, [&](size_t i) -> Status {
    if (call.Cancelled()) return CancelledError("cancelled while reading the fence of " + root);
    FileStatus& st = *candidates[i];
    LIFEBOAT_ASSIGN_OR_RETURN(
        st.permission, UnfencedPermission(client, Join(root, st.path_suffix), st.permission));
    return OkStatus();
  });
}

std::vector<OpenAtCut> OpenList(const std::map<std::string, OpenAtCut>& open) {
  std::vector<OpenAtCut> out;
  for (const auto& [p, o] : open) out.push_back(o);
  return out;
}

// Groups files into copy tasks, big ones alone. A task names its files that were open at the
// cut ("open"): they are copied as the prefix the point holds, so their HDFS checksum cannot
// compare with the source's (which covers the whole file as it is now).
void AddCopyTasks(std::vector<FileStatus>& files, bool wait_tree,
                  const std::map<std::string, OpenAtCut>& open, v1::PlanTransferResponse& plan) {
  std::vector<FileStatus>& sorted = files;
  std::sort(sorted.begin(), sorted.end(),
            [](const FileStatus& a, const FileStatus& b) { return a.path_suffix < b.path_suffix; });
  nlohmann::json batch = nlohmann::json::array();
  uint64_t batch_bytes = 0;
  std::vector<std::string> batch_paths;
  int n = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    v1::TransferTask* t = plan.add_tasks();
    char id[32];
    std::snprintf(id, sizeof id, "copy-%05d", n++);
    t->set_task_id(id);
    t->set_kind("copy");
    nlohmann::json opened = nlohmann::json::array();
    for (const std::string& p : batch_paths) {
      t->add_paths(p);
      if (open.count(p)) opened.push_back(p);
    }
    t->set_bytes(batch_bytes);
    t->set_items(static_cast<uint64_t>(t->paths_size()));
    nlohmann::json j = {{"files", batch}, {"wait_tree", wait_tree}};
    if (!opened.empty()) j["open"] = opened;
    t->set_opaque(j.dump());
    batch = nlohmann::json::array();
    batch_paths.clear();
    batch_bytes = 0;
  };
  for (const FileStatus& f : sorted) {
    if (f.length >= kOwnTaskBytes) {
      nlohmann::json one = nlohmann::json::array({StatusToJson(f)});
      v1::TransferTask* t = plan.add_tasks();
      char id[32];
      std::snprintf(id, sizeof id, "copy-%05d", n++);
      t->set_task_id(id);
      t->set_kind("copy");
      t->add_paths(f.path_suffix);
      t->set_bytes(f.length);
      t->set_items(1);
      nlohmann::json j = {{"files", one}, {"wait_tree", wait_tree}};
      if (open.count(f.path_suffix)) j["open"] = nlohmann::json::array({f.path_suffix});
      t->set_opaque(j.dump());
      continue;
    }
    batch.push_back(StatusToJson(f));
    batch_paths.push_back(f.path_suffix);
    batch_bytes += f.length;
    if (batch.size() >= kBatchFiles || batch_bytes >= kBatchBytes) flush();
  }
  flush();
}

}  // namespace

StatusOr<Tree> ListTreeMap(sdk::Call& call, WebHdfsClient& client, const std::string& root,
                           bool* exists) {
  Tree out;
  StatusOr<FileStatus> top = client.GetFileStatus(root);
  if (!top.ok() && top.status().code() == Code::kNotFound) {
    if (exists != nullptr) *exists = false;
    return out;
  }
  LIFEBOAT_RETURN_IF_ERROR(top.status());
  if (exists != nullptr) *exists = true;
  std::vector<std::string> dirs = {""};
  while (!dirs.empty()) {
    if (call.Cancelled()) return CancelledError("cancelled while listing " + root, root);
    std::string rel = dirs.back();
    dirs.pop_back();
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<FileStatus> items, client.ListStatus(Join(root, rel)));
    for (FileStatus& st : items) {
      std::string p = rel.empty() ? st.path_suffix : rel + "/" + st.path_suffix;
      if (rel.empty() && st.path_suffix.rfind(kTreeTmpPrefix, 0) == 0) continue;
      st.path_suffix = p;
      if (st.is_dir) dirs.push_back(p);
      out.emplace(p, std::move(st));
    }
  }
  return out;
}

std::string StateFile(const std::string& data_set_path, const std::string& snapshot_name) {
  return "/.lifeboat/state" + (data_set_path == "/" ? "" : data_set_path) + "/" + snapshot_name +
         ".plan";
}

// ---- plan_transfer ------------------------------------------------------------------------

StatusOr<v1::PlanTransferResponse> HdfsPlugin::PlanTransfer(sdk::Call& call,
                                                            const v1::PlanTransferRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.snapshot().data_set()));
  const std::string& name = req.snapshot().snapshot_id();
  if (name.empty()) return InvalidArgumentError("plan_transfer needs the snapshot's id");
  LIFEBOAT_ASSIGN_OR_RETURN(Config src_config, ParseConfig(req.source().config()));
  WebHdfsClient src(PeerOptions(src_config));
  WebHdfsClient& dst = client_;
  const std::string state = StateFile(path, name);

  // A repeat of the same plan answers what the first one recorded.
  StatusOr<PlanRecord> recorded = LoadPlan(dst, state);
  if (recorded.ok() && recorded->op_id == req.op_id()) return recorded->plan;
  // A fenced target is planned like any other: its items are compared by their permissions
  // apart from the fence, and transfer writes them fenced (README "Fencing and the data
  // path"; docs/decisions.md D12).

  const std::string src_root = SnapshotRoot(path, name);
  StatusOr<FileStatus> cut_root_found = src.GetFileStatus(src_root);
  if (!cut_root_found.ok() && cut_root_found.status().code() == Code::kNotFound) {
    return NotFoundError("snapshot " + name + " of " + path + " is not on the source cluster '" +
                             src_config.cluster + "' (released?): cut again",
                         src_root);
  }
  LIFEBOAT_RETURN_IF_ERROR(cut_root_found.status());
  FileStatus cut_root = *cut_root_found;
  const CutRecord cut = DecodeCutRecord(req.snapshot().opaque());
  int64_t snapshot_ms = cut.snapshot_ms;
  // A cut by an older plugin: the snapshot's own time still tells which files closed after.
  if (snapshot_ms == 0) snapshot_ms = cut_root.modification_ms;
  LIFEBOAT_ASSIGN_OR_RETURN(cut_root.permission,
                            UnfencedPermission(src, src_root, cut_root.permission));

  v1::PlanTransferResponse plan;
  std::string full_reason;
  bool incremental = false;
  bool base_on_target = false;
  std::optional<PlanRecord> base_record;
  bool base_reverse = false;
  // Files of the base that were open at its cut on this cluster and were closed since at the
  // length the base holds (only their time moved): compared and given their time back.
  std::set<std::string> recheck;
  // The base this plan starts from on the target, and what points planned from it before and
  // never committed left there (leftovers.h): taken over, not refused.
  std::string target_base;
  std::vector<UncommittedPoint> uncommitted;
  TargetChanges own;
  const std::string base = req.base_restore_point_id();
  const std::string base_name = base.empty() ? "" : SnapshotName(src_config, base);
  if (!base.empty()) {
    StatusOr<FileStatus> on_src = src.GetFileStatus(SnapshotRoot(path, base_name));
    StatusOr<FileStatus> on_dst = dst.GetFileStatus(SnapshotRoot(path, base_name));
    if (!on_src.ok() && on_src.status().code() != Code::kNotFound) return on_src.status();
    if (!on_dst.ok() && on_dst.status().code() != Code::kNotFound) return on_dst.status();
    base_on_target = on_dst.ok();
    if (base_on_target) target_base = base_name;
    // What the base point holds (its plan's record of the source's listing): kept on the
    // cluster it was copied to, this one; or the source, when the base went the other way
    // (the last backup of a failback, or the failover's point): then this cluster was the
    // base's source, and its files that were open at the base's cut may have changed since.
    if (!req.force_full() && on_src.ok() && on_dst.ok()) {
      StatusOr<PlanRecord> b = LoadPlan(dst, StateFile(path, base_name));
      if (!b.ok() && b.status().code() == Code::kNotFound) {
        b = LoadPlan(src, StateFile(path, base_name));
        base_reverse = b.ok();
      }
      if (b.ok()) {
        base_record = std::move(*b);
      } else if (b.status().code() != Code::kNotFound) {
        return b.status();
      }
    }
    LIFEBOAT_ASSIGN_OR_RETURN(uncommitted, LoadUncommitted(dst, path, target_base));
    // Did anything change on the target since the base? Checked whenever the base is
    // there, also before a full comparison (which would silently overwrite such changes);
    // only force_full overwrites them. What points that never committed wrote is not such a
    // change (leftovers.h): the plan takes it over instead.
    if (!req.force_full() && on_dst.ok()) {
      // (A MODIFY whose status is equal in the base snapshot, e.g. a read that moved the
      // access time, does not count; nor does a fence's or an unfence's permission change:
      // permissions are compared apart from the fence, as unfence would leave them. Under a
      // fence every item is a MODIFY, hence the calls in parallel.)
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<SnapshotDiffEntry> changed,
                                dst.GetSnapshotDiff(path, base_name, ""));
      const std::string base_root = SnapshotRoot(path, base_name);
      std::vector<char> counts(changed.size(), 1);
      LIFEBOAT_RETURN_IF_ERROR(
          sdk::ParallelFor(changed.size(), config_.parallelism, [&](size_t i) -> Status {
            const SnapshotDiffEntry& e = changed[i];
            if (e.type != SnapshotDiffEntry::kModify) return OkStatus();
            const std::string p = CleanDiffPath(e.source);
            StatusOr<FileStatus> then = dst.GetFileStatus(Join(base_root, p));
            StatusOr<FileStatus> now = dst.GetFileStatus(Join(path, p));
            if (!then.ok() || !now.ok() || then->is_dir != now->is_dir) return OkStatus();
            LIFEBOAT_ASSIGN_OR_RETURN(
                then->permission, UnfencedPermission(dst, Join(base_root, p), then->permission));
            LIFEBOAT_ASSIGN_OR_RETURN(now->permission,
                                      UnfencedPermission(dst, Join(path, p), now->permission));
            if (SameMeta(*then, *now) && (then->is_dir || SameFile(*then, *now))) counts[i] = 0;
            return OkStatus();
          }));
      std::vector<std::string> described;
      if (base_reverse) {
        // A file open at the base's cut here is in the base as the cut held it; a snapshot
        // diff of this cluster does not show what was written to it after (open_files.h).
        for (const auto& [p, o] : base_record->open) {
          StatusOr<FileStatus> now = dst.GetFileStatus(Join(path, p));
          if (!now.ok() || now->is_dir) continue;  // gone or replaced: the diff names it
          if (now->length != o.length) {
            described.push_back("written to " + Join(path, p) + " after the base point's cut (" +
                                std::to_string(now->length) + " bytes now, " +
                                std::to_string(o.length) +
                                " in the base: the file was open for write at the cut)");
          } else if (now->modification_ms != o.mtime_ms) {
            recheck.insert(p);
          }
        }
      }
      std::vector<SnapshotDiffEntry> counted;
      for (size_t i = 0; i < changed.size(); ++i) {
        if (counts[i]) counted.push_back(changed[i]);
      }
      LIFEBOAT_ASSIGN_OR_RETURN(
          own, SortTargetChanges(call, dst, path, counted, uncommitted, config_.parallelism));
      for (size_t i = 0; i < counted.size(); ++i) {
        if (own.own[i]) continue;
        const SnapshotDiffEntry& e = counted[i];
        std::string p = CleanDiffPath(e.source);
        const char* what = e.type == SnapshotDiffEntry::kCreate   ? "created "
                           : e.type == SnapshotDiffEntry::kDelete ? "deleted "
                           : e.type == SnapshotDiffEntry::kRename ? "renamed "
                                                                  : "modified ";
        std::string item = what + Join(path, p);
        if (e.type == SnapshotDiffEntry::kRename)
          item += " to " + Join(path, CleanDiffPath(e.target));
        described.push_back(item);
      }
      if (!described.empty()) {
        std::string list;
        for (size_t i = 0; i < described.size() && i < 5; ++i) {
          list += (i ? "; " : "") + described[i];
        }
        if (described.size() > 5) list += "; and " + std::to_string(described.size() - 5) + " more";
        return FailedPreconditionError(
            "the target cluster '" + config_.cluster + "' changed " + path +
                " since the base point " + base + " (snapshot " + base_name + "): " + list +
                ". Copying now would mix those changes with the source's or lose them "
                "unnoticed. Run with --force-full to overwrite them with a full comparison, "
                "or undo them",
            path);
      }
    }
    if (req.force_full()) {
      full_reason =
          "a full comparison was asked for (force_full / --force-full): whatever "
          "changed on the target is overwritten";
    } else if (!on_src.ok()) {
      full_reason = "the base point " + base + " (snapshot " + base_name +
                    ") is gone on the source cluster: comparing full listings instead of a "
                    "snapshot diff";
    } else if (!on_dst.ok()) {
      full_reason = "the base point " + base + " (snapshot " + base_name +
                    ") is gone on the target cluster: comparing full listings instead of a "
                    "snapshot diff";
    } else if (!base_record) {
      full_reason = "the record of what the base point " + base + " holds (" +
                    StateFile(path, base_name) +
                    ") is on neither cluster: comparing full listings instead of a snapshot "
                    "diff";
    } else if (own.points.empty()) {
      incremental = true;
    }
    if (!own.points.empty()) {
      // The target is the base plus what those points wrote: a full comparison makes it this
      // cut, keeping their copies that match it (and resuming their partial ones).
      std::string which;
      for (const UncommittedPoint& u : uncommitted) {
        if (own.points.count(u.snapshot)) which += (which.empty() ? "" : ", ") + u.restore_point;
      }
      full_reason += std::string(full_reason.empty() ? "" : "; ") + "the target holds what " +
                     "restore point(s) " + which +
                     " wrote before failing or being cancelled (never committed): comparing "
                     "full listings to make it this point, keeping what matches";
    }
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(uncommitted, LoadUncommitted(dst, path, ""));
  }

  // The source's listing at the snapshot: for an incremental, the base point's record with
  // what the snapshot diff names asked of the new snapshot (diff_listing.h), unless the base's
  // cut could not tell which files were open (then only a full listing finds what their
  // snapshot views did since) or the configuration asks for the full listing.
  std::vector<SnapshotDiffEntry> diff;
  if (incremental) {
    LIFEBOAT_ASSIGN_OR_RETURN(diff, src.GetSnapshotDiff(path, base_name, name));
  }
  const bool from_diff =
      incremental && !config_.incremental_full_listing && base_record->cut.detection == "fsck";
  Tree source;
  if (from_diff) {
    const auto renames = DiffRenames(diff);
    std::set<std::string> also;
    for (const auto& [p, o] : base_record->open) also.insert(Translate(p, true, renames));
    for (const std::string& p : recheck) also.insert(Translate(p, true, renames));
    for (const OpenAtCut& o : cut.open) also.insert(o.path);
    std::set<std::string> fresh;
    LIFEBOAT_ASSIGN_OR_RETURN(
        source, ListFromDiff(call, src, src_root, base_record->manifest, diff, also, &fresh));
    // The items read from the new snapshot show a fence's permissions where the source is
    // fenced; the base's record already holds originals.
    Tree asked;
    for (const std::string& p : fresh) asked.emplace(p, source.at(p));
    LIFEBOAT_RETURN_IF_ERROR(UnfenceView(call, src, src_root, asked, config_.parallelism));
    for (auto& [p, st] : asked) source[p].permission = st.permission;
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(source, ListTreeMap(call, src, src_root));
    // A fenced source (a failback fences the current primary before its last backup) lists
    // its fence's permissions: the copies carry the originals.
    LIFEBOAT_RETURN_IF_ERROR(UnfenceView(call, src, src_root, source, config_.parallelism));
  }
  // Files open for write at the cut: held at what the cut recorded, whatever the snapshot
  // shows now (open_files.h).
  const std::map<std::string, OpenAtCut> open = HoldAtCut(cut, snapshot_ms, source);

  const std::string dst_root = path;
  nlohmann::json tree = {{"renames", nlohmann::json::array()},
                         {"deletes", nlohmann::json::array()},
                         {"dirs", nlohmann::json::array()},
                         {"metas", nlohmann::json::array()}};
  std::vector<FileStatus> copies;
  uint64_t unchanged = 0;
  uint64_t deleted = 0;
  uint64_t outside_diff = 0;  // files the snapshot diff did not list, found changed
  if (incremental) {
    std::vector<std::pair<std::string, std::string>> renames;
    for (const SnapshotDiffEntry& e : diff) {
      if (e.type == SnapshotDiffEntry::kRename) {
        renames.emplace_back(CleanDiffPath(e.source), CleanDiffPath(e.target));
        tree["renames"].push_back({renames.back().first, renames.back().second});
      } else if (e.type == SnapshotDiffEntry::kDelete) {
        tree["deletes"].push_back(CleanDiffPath(e.source));
        ++deleted;
      }
    }
    std::set<std::string> seen;
    auto add_item = [&](const FileStatus& st, bool created, const std::string& old_path) {
      if (!seen.insert(st.path_suffix).second || st.is_symlink) return;
      if (st.is_dir) {
        tree["dirs"].push_back(StatusToJson(st));
        return;
      }
      if (!created) {
        // A MODIFY: the data may be unchanged (permission, owner, times only).
        StatusOr<FileStatus> now = dst.GetFileStatus(Join(dst_root, old_path));
        if (now.ok() && SameFile(st, *now)) {
          tree["metas"].push_back(StatusToJson(st));
          return;
        }
      }
      copies.push_back(st);
    };
    for (const SnapshotDiffEntry& e : diff) {
      if (e.type != SnapshotDiffEntry::kCreate && e.type != SnapshotDiffEntry::kModify) continue;
      const bool modify = e.type == SnapshotDiffEntry::kModify;
      const std::string old_path = CleanDiffPath(e.source);
      const std::string p = Translate(old_path, modify, renames);
      // GETSNAPSHOTDIFFLISTING also lists a rename's target as a create, named under the old
      // path of a renamed parent (seen on 3.5.0: rename a/b/f to moved-a/g after a to moved-a
      // lists "a/g" as created): it is the rename, not a new item.
      if (!modify && std::any_of(renames.begin(), renames.end(),
                                 [&](const auto& r) { return r.second == p; })) {
        continue;
      }
      auto it = source.find(p);
      if (p.empty()) {
        // The root itself: its metadata.
        tree["root_meta"] = true;
        continue;
      }
      if (it == source.end()) continue;  // gone again by the new snapshot
      if (it->second.is_dir && !modify) {
        // A created directory stands for its whole subtree.
        for (auto sub = it; sub != source.end() && Under(sub->first, p); ++sub) {
          add_item(sub->second, true, sub->first);
        }
      } else {
        add_item(it->second, !modify, old_path);
      }
    }
    // What a snapshot diff leaves out (open_files.h): a file open at the base's cut, whose
    // snapshot view moved as it grew or closed (a close records no diff), and a change of
    // times alone (HDFS diffs compare lengths and metadata, not times). Every other file of
    // the new snapshot is compared with what the base point holds: by inode id (kept by
    // renames) when the base was listed on this source, else by path through the renames.
    const bool same_source = base_record->source_cluster == src_config.cluster;
    std::map<uint64_t, const FileStatus*> base_by_id;
    std::map<std::string, const FileStatus*> base_by_path;
    for (const auto& [p, st] : base_record->manifest) {
      if (same_source && st.file_id != 0) {
        base_by_id[st.file_id] = &st;
      } else {
        base_by_path[Translate(p, /*is_modify=*/true, renames)] = &st;
      }
    }
    for (const auto& [p, st] : source) {
      if (st.is_dir || st.is_symlink || seen.count(p)) continue;
      const FileStatus* was = nullptr;
      auto id = st.file_id != 0 ? base_by_id.find(st.file_id) : base_by_id.end();
      if (id != base_by_id.end()) {
        was = id->second;
      } else if (auto by_path = base_by_path.find(p); by_path != base_by_path.end()) {
        was = by_path->second;
      }
      if (was != nullptr && !was->is_dir && !recheck.count(was->path_suffix) &&
          SameFile(st, *was) && SameMeta(st, *was)) {
        continue;
      }
      add_item(st, /*created=*/was == nullptr, was != nullptr ? was->path_suffix : p);
      ++outside_diff;
    }
    // Files a failed verify of an uncommitted point found with other bytes, although their
    // status is the base's (bytes rotted, or rewritten keeping length and time): copied again.
    for (const UncommittedPoint& u : uncommitted) {
      for (const std::string& p : u.bad) {
        auto it = source.find(p);
        if (it == source.end() || it->second.is_dir || it->second.is_symlink) continue;
        if (seen.insert(p).second) copies.push_back(it->second);
      }
    }
    unchanged = source.size() - seen.size();
  } else {
    bool dst_exists = false;
    LIFEBOAT_ASSIGN_OR_RETURN(Tree target, ListTreeMap(call, dst, dst_root, &dst_exists));
    // A fenced target's items compare by their permissions apart from the fence.
    LIFEBOAT_RETURN_IF_ERROR(UnfenceView(call, dst, dst_root, target, config_.parallelism));
    // What a failed verify of an uncommitted point found with other bytes is copied again,
    // however equal its listing looks.
    for (const UncommittedPoint& u : uncommitted) {
      for (const std::string& p : u.bad) {
        auto it = source.find(p);
        if (it != source.end() && !it->second.is_dir) target.erase(p);
      }
    }
    Changes c = CompareTrees(source, target);
    // The parking directories of uncommitted points (a tree task that stopped midway; the
    // tree task skips those that are not there). Not this point's own: its tree task parks
    // there.
    for (const UncommittedPoint& u : uncommitted) {
      if (u.snapshot != name) tree["deletes"].push_back(kTreeTmpPrefix + u.snapshot);
    }
    for (const std::string& d : c.deletes) tree["deletes"].push_back(d);
    for (const FileStatus& d : c.dirs) tree["dirs"].push_back(StatusToJson(d));
    for (const FileStatus& m : c.metas) tree["metas"].push_back(StatusToJson(m));
    copies = std::move(c.copies);
    unchanged = c.unchanged;
    deleted = c.deletes.size();
    tree["root_meta"] = true;
  }
  const bool has_tree = !tree["renames"].empty() || !tree["deletes"].empty() ||
                        !tree["dirs"].empty() || !tree["metas"].empty() ||
                        tree.value("root_meta", false);
  if (has_tree) {
    v1::TransferTask* t = plan.add_tasks();
    t->set_task_id("tree");
    t->set_kind("tree");
    t->set_opaque(tree.dump());
  }
  AddCopyTasks(copies, has_tree, open, plan);
  uint64_t bytes = 0;
  for (const FileStatus& f : copies) bytes += f.length;
  plan.set_incremental(incremental);
  plan.set_full_reason(full_reason);
  plan.set_bytes_to_copy(bytes);
  plan.set_items_to_copy(copies.size());
  plan.set_items_unchanged(unchanged);
  plan.set_items_deleted(deleted);

  PlanRecord record;
  record.op_id = req.op_id();
  record.plan = std::move(plan);
  record.manifest = std::move(source);
  record.open = open;
  record.source_cluster = src_config.cluster;
  record.cut = cut;
  record.cut.snapshot_ms = snapshot_ms;
  record.target_base = target_base;
  record.restore_point = req.snapshot().restore_point_id();
  record.root = cut_root;
  record.leftovers = own.touched;
  // The target was found equal to the base point (its diff checked above): verify may take
  // the files this point does not copy from the base's verified record.
  if (!base.empty() && !req.force_full() && base_on_target) record.base = base_name;
  // Pending until a commit (first, so that no plan is ever recorded without it): if this
  // point never commits, the next plan recognises what its transfer wrote (leftovers.h).
  LIFEBOAT_RETURN_IF_ERROR(MarkPending(dst, path, name));
  LIFEBOAT_RETURN_IF_ERROR(SavePlan(dst, state, record));
  host_.Info("plan of " + path + " at " + name + ": " +
             (incremental ? "incremental from " + base : "full") + ", " +
             std::to_string(copies.size()) + " files (" + std::to_string(bytes) +
             " bytes) to copy, " + std::to_string(deleted) + " deletes" +
             (outside_diff == 0 ? ""
                                : "; " + std::to_string(outside_diff) +
                                      " changed files the snapshot diff did not list (open at "
                                      "the base's cut, or new times)") +
             (open.empty() ? "" : "; " + DescribeOpenAtCut(OpenList(open))) +
             (full_reason.empty() ? "" : "; " + full_reason));
  return std::move(record.plan);
}

// ---- transfer -----------------------------------------------------------------------------

StatusOr<v1::TransferResponse> HdfsPlugin::Transfer(sdk::Call& call,
                                                    const v1::TransferRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.snapshot().data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(Config src_config, ParseConfig(req.source().config()));
  WebHdfsClient src(PeerOptions(src_config));
  if (req.task().kind() != "tree" && req.task().kind() != "copy") {
    return InvalidArgumentError("unknown hdfs transfer task kind '" + req.task().kind() + "'");
  }
  // A fenced data set stays fenced: what the task writes gets the fence's permissions, the
  // source's recorded as the originals (security.h; README "Fencing and the data path").
  LIFEBOAT_ASSIGN_OR_RETURN(bool fenced, FencedAt(client_, path));
  v1::TransferResponse resp;
  Status done = req.task().kind() == "tree" ? RunTreeTask(call, src, req, path, fenced, resp)
                                            : RunCopyTask(call, src, req, path, fenced, resp);
  // A fence (or an unfence) that walked the tree while this task wrote may have missed what
  // the task wrote, or found it half done: settle each of its items with the state now.
  // (The fence writes its marker before it changes any item, so a fence under way shows.)
  StatusOr<bool> fenced_after = FencedAt(client_, path);
  // The task's own error first (a cancellation stays one); a retry checks again.
  if (!fenced_after.ok()) return done.ok() ? fenced_after.status() : done;
  const bool fenced_now = *fenced_after;
  if (fenced_now != fenced) {
    host_.Warn("hdfs:" + path + " was " + (fenced_now ? "fenced" : "unfenced") +
               " while transfer task " + req.task().task_id() +
               " wrote it: settling the task's items");
    nlohmann::json task = nlohmann::json::parse(req.task().opaque(), nullptr, false);
    std::vector<std::string> items;
    if (task.is_object()) {
      for (const auto& r : task.value("renames", nlohmann::json::array()))
        items.push_back(r[1].get<std::string>());
      for (const char* key : {"dirs", "metas", "files"}) {
        for (const auto& f : task.value(key, nlohmann::json::array()))
          items.push_back(StatusFromJson(f).path_suffix);
      }
      if (task.value("root_meta", false)) items.push_back("");
    }
    LIFEBOAT_RETURN_IF_ERROR(sdk::ParallelFor(items.size(), config_.parallelism, [&](size_t i) {
      return SettleFence(client_, Join(path, items[i]), fenced_now);
    }));
  }
  LIFEBOAT_RETURN_IF_ERROR(done);
  return resp;
}

Status HdfsPlugin::RunTreeTask(sdk::Call& call, WebHdfsClient& src, const v1::TransferRequest& req,
                               const std::string& path, bool fenced, v1::TransferResponse& resp) {
  WebHdfsClient& dst = client_;
  const std::string& name = req.snapshot().snapshot_id();
  const std::string done = name + " done";
  StatusOr<std::string> marker = dst.GetXAttr(path, kTreeAttr);
  if (marker.ok() && *marker == done) return OkStatus();
  nlohmann::json tree = nlohmann::json::parse(req.task().opaque(), nullptr, false);
  if (tree.is_discarded()) return InvalidArgumentError("the tree task's opaque is not JSON");
  const std::string src_root = SnapshotRoot(path, name);
  LIFEBOAT_RETURN_IF_ERROR(dst.Mkdirs(path));
  uint64_t items = 0;
  auto exists = [&](const std::string& p) -> StatusOr<bool> {
    StatusOr<FileStatus> st = dst.GetFileStatus(p);
    if (st.ok()) return true;
    if (st.status().code() == Code::kNotFound) return false;
    return st.status();
  };

  // Renames and deletes, as `distcp -diff`: every rename source and every deleted item
  // leaves for a temporary directory, deepest first (so that a parent's move does not
  // change a child's path); then the renamed ones come back to their new paths, shallowest
  // first (so that a parent is in place before its children). Every step can be repeated.
  const std::string tmp = Join(path, kTreeTmpPrefix + name);
  struct Move {
    std::string from;
    std::string to;  // "" = deleted
    std::string parked;
  };
  std::vector<Move> moves;
  int i = 0;
  for (const auto& r : tree["renames"]) {
    moves.push_back(
        {r[0].get<std::string>(), r[1].get<std::string>(), Join(tmp, "r" + std::to_string(i++))});
  }
  for (const auto& d : tree["deletes"]) {
    moves.push_back({d.get<std::string>(), "", Join(tmp, "d" + std::to_string(i++))});
  }
  if (!moves.empty()) {
    LIFEBOAT_RETURN_IF_ERROR(dst.Mkdirs(tmp, 0700));
    std::vector<Move*> by_depth;
    for (Move& m : moves) by_depth.push_back(&m);
    std::stable_sort(by_depth.begin(), by_depth.end(),
                     [](Move* a, Move* b) { return Depth(a->from) > Depth(b->from); });
    for (Move* m : by_depth) {
      if (call.Cancelled()) return CancelledError("tree task cancelled", path);
      LIFEBOAT_ASSIGN_OR_RETURN(bool there, exists(Join(path, m->from)));
      if (there) LIFEBOAT_RETURN_IF_ERROR(dst.Rename(Join(path, m->from), m->parked));
      ++items;
    }
    std::stable_sort(by_depth.begin(), by_depth.end(),
                     [](Move* a, Move* b) { return Depth(a->to) < Depth(b->to); });
    for (Move* m : by_depth) {
      if (m->to.empty()) continue;
      LIFEBOAT_ASSIGN_OR_RETURN(bool parked, exists(m->parked));
      if (!parked) continue;  // moved in an earlier run
      const std::string to = Join(path, m->to);
      LIFEBOAT_ASSIGN_OR_RETURN(bool occupied, exists(to));
      if (occupied) LIFEBOAT_RETURN_IF_ERROR(dst.Delete(to, /*recursive=*/true).status());
      LIFEBOAT_RETURN_IF_ERROR(dst.Mkdirs(Join(path, Parent(m->to))));
      LIFEBOAT_RETURN_IF_ERROR(dst.Rename(m->parked, to));
    }
    LIFEBOAT_RETURN_IF_ERROR(dst.Delete(tmp, /*recursive=*/true).status());
  }

  // Directories (parents first), then metadata-only changes of files.
  std::vector<FileStatus> dirs;
  for (const auto& d : tree["dirs"]) dirs.push_back(StatusFromJson(d));
  std::sort(dirs.begin(), dirs.end(),
            [](const FileStatus& a, const FileStatus& b) { return a.path_suffix < b.path_suffix; });
  for (const FileStatus& d : dirs) {
    if (call.Cancelled()) return CancelledError("tree task cancelled", path);
    const std::string to = Join(path, d.path_suffix);
    StatusOr<FileStatus> now = dst.GetFileStatus(to);
    if (now.ok() && !now->is_dir) {
      LIFEBOAT_RETURN_IF_ERROR(dst.Delete(to, false).status());
      now = NotFoundError(to);
    }
    if (!now.ok()) {
      if (now.status().code() != Code::kNotFound) return now.status();
      // Fenced: made without write bits at once (the superuser still writes into it).
      LIFEBOAT_RETURN_IF_ERROR(
          dst.Mkdirs(to, fenced ? std::optional<uint32_t>(FencedPermission(d.permission) & 0777)
                                : std::nullopt));
      // A parent's default ACL may have given it an ACL the source's lacks: compare.
      now = dst.GetFileStatus(to);
      LIFEBOAT_RETURN_IF_ERROR(now.status());
    }
    LIFEBOAT_RETURN_IF_ERROR(CopyMetadata(src, Join(src_root, d.path_suffix), d, dst, to,
                                          now.ok() ? &*now : nullptr, fenced));
    ++items;
  }
  for (const auto& m : tree["metas"]) {
    FileStatus st = StatusFromJson(m);
    const std::string to = Join(path, st.path_suffix);
    LIFEBOAT_RETURN_IF_ERROR(
        CopyMetadata(src, Join(src_root, st.path_suffix), st, dst, to, nullptr, fenced));
    LIFEBOAT_RETURN_IF_ERROR(dst.SetTimes(to, st.modification_ms, st.access_ms));
    ++items;
  }
  if (tree.value("root_meta", false)) {
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus root, src.GetFileStatus(src_root));
    LIFEBOAT_ASSIGN_OR_RETURN(root.permission, UnfencedPermission(src, src_root, root.permission));
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus now, dst.GetFileStatus(path));
    LIFEBOAT_RETURN_IF_ERROR(CopyMetadata(src, src_root, root, dst, path, &now, fenced));
  }
  LIFEBOAT_RETURN_IF_ERROR(dst.SetXAttr(path, kTreeAttr, done));
  resp.set_items_done(items);
  return OkStatus();
}

Status HdfsPlugin::RunCopyTask(sdk::Call& call, WebHdfsClient& src, const v1::TransferRequest& req,
                               const std::string& path, bool fenced, v1::TransferResponse& resp) {
  WebHdfsClient& dst = client_;
  const std::string& name = req.snapshot().snapshot_id();
  nlohmann::json task = nlohmann::json::parse(req.task().opaque(), nullptr, false);
  if (task.is_discarded()) return InvalidArgumentError("the copy task's opaque is not JSON");
  if (task.value("wait_tree", false)) {
    // The engine starts tasks in plan order but runs several at once: the tree task
    // (renames, deletes, directories) may still be running.
    const auto deadline = std::chrono::steady_clock::now() + kTreeWait;
    for (;;) {
      StatusOr<std::string> marker = dst.GetXAttr(path, kTreeAttr);
      if (marker.ok() && *marker == name + " done") break;
      if (call.Cancelled()) return CancelledError("copy cancelled while waiting for the tree");
      if (std::chrono::steady_clock::now() > deadline) {
        return UnavailableError("the tree task of this plan (renames, deletes, directories of " +
                                    path + ") has not finished: run it first",
                                path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::vector<FileStatus> files;
  for (const auto& f : task["files"]) files.push_back(StatusFromJson(f));
  std::set<std::string> open;  // open at the cut: copied as the prefix the point holds
  for (const auto& p : task.value("open", nlohmann::json::array())) {
    if (p.is_string()) open.insert(p.get<std::string>());
  }
  const std::string src_root = SnapshotRoot(path, name);
  // The job's bucket: the copy tasks of one restore point share its bandwidth.
  const std::shared_ptr<sdk::Throttle> call_limit =
      throttles_.For(req.snapshot().restore_point_id(), req.bandwidth_bytes_per_second());
  std::mutex mu;
  std::vector<uint64_t> sent(files.size(), 0);
  uint64_t total = 0;
  for (const FileStatus& f : files) total += f.length;
  std::atomic<uint64_t> copied{0};
  std::atomic<uint64_t> skipped{0};
  std::atomic<uint64_t> items{0};
  sdk::ProgressReporter progress(call, "copy", total, files.size());
  // `n`: the bytes sent of file i so far (CopyFile reports totals per file).
  auto report = [&](size_t i, uint64_t n, const std::string& item, bool file_done) {
    uint64_t delta = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (n > sent[i]) delta = n - sent[i], sent[i] = n;
    }
    progress.Add(delta, file_done ? 1 : 0, item, file_done);
  };
  Status s = sdk::ParallelFor(files.size(), config_.parallelism, [&](size_t i) -> Status {
    if (call.Cancelled()) return CancelledError("transfer cancelled", path);
    const FileStatus& st = files[i];
    CopyOptions o;
    o.identity = name + ":" + std::to_string(st.length) + ":" + std::to_string(st.modification_ms);
    o.preserve_block_size = config_.preserve_block_size;
    o.replication = config_.replication;
    o.fenced = fenced;
    o.limiters = {&instance_limit_, call_limit.get()};
    o.on_progress = [&, i](uint64_t n) { report(i, n, st.path_suffix, false); };
    const std::string from = Join(src_root, st.path_suffix);
    const std::string to = Join(path, st.path_suffix);
    StatusOr<CopyResult> r = CopyFile(call, src, from, st, dst, to, o);
    if (!r.ok()) return r.status();
    copied += r->bytes_copied;
    skipped += r->bytes_skipped;
    if (!r->sha256_hex.empty() && !open.count(st.path_suffix)) {
      // The HDFS checksum as a second, independent check where it can compare: same block
      // size (and the same bytes per checksum, which both clusters are assumed to share).
      // Not for a file open at the cut: the source's checksum covers the file as it is now,
      // the copy the prefix the point holds (verify reads it back against its SHA-256).
      StatusOr<FileStatus> written = dst.GetFileStatus(to);
      if (written.ok() && written->block_size == st.block_size && st.length > 0) {
        StatusOr<WebHdfsClient::FileChecksum> a = src.GetFileChecksum(from);
        StatusOr<WebHdfsClient::FileChecksum> b = dst.GetFileChecksum(to);
        // A source file that is no longer what the plan listed (open at the cut although
        // the cut could not tell: fsck failed) has a checksum over more bytes: the streamed
        // SHA-256 and verify's read-back vouch for the copy then, not this comparison.
        StatusOr<FileStatus> source_now = a.ok() && b.ok() && a->bytes != b->bytes
                                              ? src.GetFileStatus(from)
                                              : StatusOr<FileStatus>(st);
        if (source_now.ok() && source_now->length != st.length) {
          host_.Info(from + " grew after the cut (" + std::to_string(st.length) + " bytes then, " +
                     std::to_string(source_now->length) +
                     " now): its copy is vouched for by its SHA-256, not the HDFS checksum");
        } else if (a.ok() && b.ok()) {
          if (a->bytes != b->bytes) {
            return DataLossError("the HDFS checksum of " + to + " (" + b->bytes +
                                     ") differs from the source's (" + a->bytes +
                                     ") right after the copy",
                                 to);
          }
          (void)dst.SetXAttr(to, kChecksumAttr, a->bytes);
          (void)dst.SetTimes(to, st.modification_ms, st.access_ms);
        }
      }
    }
    ++items;
    report(i, st.length - r->bytes_skipped, st.path_suffix, true);
    return OkStatus();
  });
  resp.set_bytes_copied(copied.load());
  resp.set_bytes_skipped(skipped.load());
  resp.set_items_done(items.load());
  return s;
}

// ---- verify -------------------------------------------------------------------------------

namespace {

// What a verify vouched for about one file of a point: the source version (length, mtime),
// the SHA-256 streamed from the source when it was copied, the source's HDFS checksum
// ("" where the block sizes differed, or an empty file).
struct FileRecord {
  uint64_t length = 0;
  int64_t mtime = 0;
  std::string sha256;
  std::string checksum;
};
using FileRecords = std::map<std::string, FileRecord>;

// Where a verified point's records live, next to its plan: <snapshot>.verified.
std::string RecordsFile(const std::string& data_set_path, const std::string& snapshot_name) {
  std::string plan = StateFile(data_set_path, snapshot_name);
  return plan.substr(0, plan.size() - std::string(".plan").size()) + ".verified";
}

// One line per file (record_lines.h): [path, length, mtime, sha256, checksum].
Status SaveRecords(WebHdfsClient& client, const std::string& file, const FileRecords& records) {
  auto it = records.begin();
  return WriteRecordLines(client, file, {{"kind", "verified"}}, [&](std::string* line) {
    if (it == records.end()) return false;
    const auto& [p, r] = *it;
    *line = nlohmann::json::array({p, r.length, r.mtime, r.sha256, r.checksum}).dump();
    ++it;
    return true;
  });
}

// Empty when there is no record (never verified, or verified before records were kept), or
// it is unreadable (cut short): every file then falls back to its own record.
FileRecords LoadRecords(WebHdfsClient& client, const std::string& file) {
  FileRecords out;
  // An entry that does not parse is left out: that file falls back to its own record.
  auto add = [&out](const std::string& p, const nlohmann::json& v) {
    if (!v.is_array() || v.size() != 4 || !v[0].is_number_unsigned() || !v[1].is_number_integer() ||
        !v[2].is_string() || !v[3].is_string()) {
      return;
    }
    out[p] = {v[0].get<uint64_t>(), v[1].get<int64_t>(), v[2].get<std::string>(),
              v[3].get<std::string>()};
  };
  Status read = ReadRecordLines(
      client, file,
      [&](const nlohmann::json& j, bool legacy) -> Status {
        // A record written before the lines: {"files": {path: [length, mtime, sha, sum]}}.
        if (legacy && j.is_object() && j.contains("files") && j["files"].is_object()) {
          for (const auto& [p, v] : j["files"].items()) add(p, v);
        }
        return OkStatus();
      },
      [&](const nlohmann::json& e) -> Status {
        if (e.is_array() && e.size() == 5 && e[0].is_string()) {
          add(e[0].get<std::string>(), nlohmann::json::array({e[1], e[2], e[3], e[4]}));
        }
        return OkStatus();
      });
  if (!read.ok()) return {};
  return out;
}

// The source version a copy marker (user.lifeboat.copy = "<snapshot>:<length>:<mtime> done")
// names, when it says done: "<length>:<mtime>"; "" otherwise.
std::string DoneVersion(const std::string& marker) {
  const std::string done = " done";
  if (marker.size() <= done.size() ||
      marker.compare(marker.size() - done.size(), done.size(), done) != 0) {
    return "";
  }
  const std::string identity = marker.substr(0, marker.size() - done.size());
  size_t mtime = identity.rfind(':');
  if (mtime == std::string::npos || mtime == 0) return "";
  size_t length = identity.rfind(':', mtime - 1);
  if (length == std::string::npos) return "";
  return identity.substr(length + 1);
}

// An HDFS item as the verify loop compares it (times in nanoseconds, as manifests keep them).
v1::Entry VerifyEntryOf(const FileStatus& st) {
  v1::Entry e;
  e.set_path(st.path_suffix);
  e.set_type(st.is_dir ? v1::ENTRY_DIRECTORY : v1::ENTRY_FILE);
  e.set_size(st.is_dir ? 0 : st.length);
  e.set_mtime_unix_nanos(st.modification_ms * 1000000);
  e.set_mode(st.permission);
  e.set_owner(st.owner);
  e.set_group(st.group);
  return e;
}

// What verify found vouching for the files, for its log line.
struct VouchCounts {
  std::atomic<uint64_t> files{0}, by_base{0}, by_own{0}, by_source{0}, checksums{0}, read{0},
      read_bytes{0};
};

// The target's copy of a point (committed, or as the transfer left it), for sdk::VerifyEntries:
// its listing, fence permissions undone (symlinks of the point left out, as the copy makes
// none), and each file's bytes vouched for as the README's "verify" says.
class PointCopy : public sdk::VerifyTarget {
 public:
  struct Sources {
    const std::set<std::string>* copied;  // the files this point copied
    const FileRecords* base;              // the base point's verified records
    WebHdfsClient* src;                   // the source's cluster, when the request names it
    std::string src_root;                 // the point's snapshot there
  };
  PointCopy(sdk::Call& call, WebHdfsClient& client, const PlanRecord& record, const Tree& target,
            std::string root, std::string name, Sources sources)
      : call_(call),
        client_(client),
        record_(record),
        target_(target),
        root_(std::move(root)),
        name_(std::move(name)),
        sources_(std::move(sources)) {}

  Status List(const std::function<Status(const sdk::TargetItem&)>& each) override {
    for (const auto& [p, got] : target_) {
      auto want = record_.manifest.find(p);
      if (want != record_.manifest.end() && want->second.is_symlink) continue;
      v1::Entry e = VerifyEntryOf(got);
      sdk::TargetItem item;
      item.path = p;
      item.type = e.type();
      item.size = e.size();
      item.mtime_unix_nanos = e.mtime_unix_nanos();
      item.mode = e.mode();
      item.owner = got.owner;
      item.group = got.group;
      LIFEBOAT_RETURN_IF_ERROR(each(item));
    }
    return OkStatus();
  }

  Status CheckFile(const sdk::Call&, v1::VerifyLevel level, const v1::Entry& e,
                   const sdk::TargetItem&, sdk::VerifyFindings& findings) override;

  // The records of the files checked, for the next point's verify.
  FileRecords TakeRecords() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(records_);
  }
  VouchCounts counts;

 private:
  // A file this point did not copy and no Lifeboat copy wrote, against the source's snapshot.
  Status CheckAgainstSource(const FileStatus& want, bool read_back, FileRecord& rec,
                            sdk::VerifyFindings& findings);
  // A file by its own record (the copy's digest and HDFS checksum).
  Status CheckOwnRecord(const FileStatus& want, bool read_back, const FileRecord& rec,
                        sdk::VerifyFindings& findings);
  // The record of file `p` as this verify found it.
  void Keep(const std::string& p, const FileRecord& rec) {
    std::lock_guard<std::mutex> lock(mu_);
    records_[p] = rec;
  }

  sdk::Call& call_;
  WebHdfsClient& client_;
  const PlanRecord& record_;
  const Tree& target_;
  const std::string root_;
  const std::string name_;
  const Sources sources_;
  std::mutex mu_;
  FileRecords records_;
};

Status PointCopy::CheckFile(const sdk::Call&, v1::VerifyLevel level, const v1::Entry& e,
                            const sdk::TargetItem&, sdk::VerifyFindings& findings) {
  const FileStatus& want = record_.manifest.at(e.path());
  const std::string& p = e.path();
  const bool read_back = level == v1::VERIFY_DIGEST;
  const std::string version =
      std::to_string(want.length) + ":" + std::to_string(want.modification_ms);
  ++counts.files;
  FileRecord rec{want.length, want.modification_ms, "", ""};
  const bool this_point = sources_.copied->count(p) > 0;
  // (Not a file an uncommitted point left and this plan took over as it was: the base's
  // record is not about its bytes.)
  if (!this_point && !read_back && !record_.leftovers.count(p)) {
    // Not copied by this point, at the same path, length and time as in the base point,
    // which verify vouched for: the same bytes (the plan found the target unchanged since).
    auto b = sources_.base->find(p);
    if (b != sources_.base->end() && b->second.length == want.length &&
        b->second.mtime == want.modification_ms) {
      ++counts.by_base;
      Keep(p, b->second);
      return OkStatus();
    }
  }
  // The file's own record, written by the copy that brought these bytes.
  LIFEBOAT_ASSIGN_OR_RETURN(auto attrs, client_.GetXAttrsText(Join(root_, p)));
  auto attr = [&](const char* key) {
    auto it = attrs.find(key);
    return it == attrs.end() ? std::string() : it->second;
  };
  const std::string marker = attr(kCopyAttr);
  rec.sha256 = attr(kDigestAttr);
  rec.checksum = attr(kChecksumAttr);
  const bool ours =
      this_point ? marker == name_ + ":" + version + " done" : DoneVersion(marker) == version;
  if ((!ours || rec.sha256.empty()) && !this_point && sources_.src != nullptr) {
    rec = FileRecord{want.length, want.modification_ms, "", ""};
    LIFEBOAT_RETURN_IF_ERROR(CheckAgainstSource(want, read_back, rec, findings));
    Keep(p, rec);
    return OkStatus();
  }
  if (!ours || rec.sha256.empty()) {
    findings.Mismatch(p, "record",
                      this_point ? "copied by this point (" + name_ + ":" + version + " done)"
                                 : "a copy of this version (<point>:" + version + " done)",
                      marker.empty() ? "none: not written by a Lifeboat transfer" : marker);
    Keep(p, rec);
    return OkStatus();
  }
  if (!this_point) ++counts.by_own;
  LIFEBOAT_RETURN_IF_ERROR(CheckOwnRecord(want, read_back, rec, findings));
  Keep(p, rec);
  return OkStatus();
}

Status PointCopy::CheckAgainstSource(const FileStatus& want, bool read_back, FileRecord& rec,
                                     sdk::VerifyFindings& findings) {
  // Bytes no Lifeboat copy wrote, which this point did not copy either: the old primary's
  // own files in the first backup into it after a failover (the plan found them equal by
  // length and time). The DataNodes of both clusters compute the HDFS checksum, no bytes
  // travel; at DIGEST both sides are read. (Different block sizes: the checksums cannot
  // compare, so both are read at SIZE too.)
  const std::string& p = want.path_suffix;
  const std::string file = Join(root_, p);
  const std::string theirs = Join(sources_.src_root, p);
  ++counts.by_source;
  // Both sides read; `prefix` = the source's first bytes only (a file open at the cut).
  auto compare_read = [&](uint64_t prefix, const std::string& note) -> Status {
    uint64_t n = 0, m = 0;
    StatusOr<std::string> got =
        want.length == 0 ? sdk::Sha256().FinishHex() : DigestOf(call_, client_, file, 0, &n);
    StatusOr<std::string> want_digest = want.length == 0
                                            ? sdk::Sha256().FinishHex()
                                            : DigestOf(call_, *sources_.src, theirs, prefix, &m);
    if (!got.ok() || !want_digest.ok()) {
      const Status& bad = got.ok() ? want_digest.status() : got.status();
      if (bad.code() == Code::kCancelled) return bad;
      findings.Mismatch(p, "digest", "readable on both clusters", "unreadable: " + bad.message());
    } else if (*got != *want_digest) {
      findings.Mismatch(p, "digest", *want_digest + note, *got);
    } else {
      rec.sha256 = *got;
    }
    ++counts.read;
    counts.read_bytes += n;
    findings.AddBytesRead(n);
    return OkStatus();
  };
  if (record_.open.count(p)) {
    // Open at the cut: the point holds a prefix of the source's file, which no HDFS checksum
    // covers; both are read.
    return compare_read(want.length, " (source, first " + std::to_string(want.length) + " bytes)");
  }
  StatusOr<WebHdfsClient::FileChecksum> here = client_.GetFileChecksum(file);
  StatusOr<WebHdfsClient::FileChecksum> there = sources_.src->GetFileChecksum(theirs);
  if (!here.ok() || !there.ok()) {
    const Status& bad = here.ok() ? there.status() : here.status();
    if (bad.code() == Code::kCancelled) return bad;
    findings.Mismatch(p, "checksum", here.ok() ? "the source's" : "this cluster's",
                      "unreadable: " + bad.message());
    return OkStatus();
  }
  const bool comparable = here->algorithm == there->algorithm;
  if (comparable && here->bytes != there->bytes) {
    findings.Mismatch(p, "checksum", there->bytes + " (source)", here->bytes);
  } else if (read_back || !comparable) {
    LIFEBOAT_RETURN_IF_ERROR(compare_read(0, " (source)"));
  }
  if (comparable) rec.checksum = here->bytes;
  return OkStatus();
}

Status PointCopy::CheckOwnRecord(const FileStatus& want, bool read_back, const FileRecord& rec,
                                 sdk::VerifyFindings& findings) {
  const std::string& p = want.path_suffix;
  const std::string file = Join(root_, p);
  // No bytes travel: the target's DataNodes compute the checksum from the CRCs they keep,
  // so any rewrite through HDFS shows. (Bytes rotting on a disk under intact CRCs do not:
  // that is what DIGEST's read-back, or the DataNodes' own block scanner, finds.)
  if (!rec.checksum.empty()) {
    StatusOr<WebHdfsClient::FileChecksum> now = client_.GetFileChecksum(file);
    if (!now.ok()) {
      if (now.status().code() == Code::kCancelled) return now.status();
      findings.Mismatch(p, "checksum", rec.checksum, "unreadable: " + now.status().message());
    } else if (now->bytes != rec.checksum) {
      findings.Mismatch(p, "checksum", rec.checksum, now->bytes);
    }
    ++counts.checksums;
  }
  // Read back at DIGEST; and at SIZE a file that no checksum vouches for (block sizes differ:
  // the HDFS checksums cannot compare), as its streamed digest is then the only check.
  if (read_back || (rec.checksum.empty() && want.length > 0)) {
    uint64_t n = 0;
    StatusOr<std::string> got = DigestOf(call_, client_, file, 0, &n);
    if (!got.ok()) {
      if (got.status().code() == Code::kCancelled) return got.status();
      // A DataNode that finds its replica corrupt fails the read: that is a mismatch.
      findings.Mismatch(p, "digest", rec.sha256, "unreadable: " + got.status().message());
    } else if (*got != rec.sha256) {
      findings.Mismatch(p, "digest", rec.sha256, *got);
    }
    ++counts.read;
    counts.read_bytes += n;
    findings.AddBytesRead(n);
  }
  return OkStatus();
}

}  // namespace

StatusOr<v1::VerifyResponse> HdfsPlugin::Verify(sdk::Call& call, const v1::VerifyRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.snapshot().data_set()));
  const std::string& name = req.snapshot().snapshot_id();
  StatusOr<PlanRecord> record = LoadPlan(client_, StateFile(path, name));
  if (!record.ok()) {
    if (record.status().code() == Code::kNotFound) {
      return FailedPreconditionError("no plan of snapshot " + name + " of " + path +
                                         " is recorded on cluster '" + config_.cluster + "' (" +
                                         record.status().message() +
                                         "): plan and transfer the point first",
                                     path);
    }
    return record.status();
  }
  // Another member's references (held.h): answered from the point's listing alone.
  if (req.expect_held_size() > 0) return AnswerHeld(req, path, record->manifest);
  // Levels (README, "verify"): NONE compares the listing only; SIZE (and an unspecified
  // level) also vouches for every file's bytes without reading them: a file this point
  // copied by the SHA-256 streamed from the source (its record) and the HDFS checksum the
  // target's DataNodes compute now against the source's; a file it did not copy by the base
  // point's verified record; DIGEST reads every file of the point back besides.
  const v1::VerifyLevel level =
      req.level() == v1::VERIFY_LEVEL_UNSPECIFIED ? v1::VERIFY_SIZE : req.level();
  const bool check_records = level == v1::VERIFY_SIZE || level == v1::VERIFY_DIGEST;

  // The committed point when there is one, else what the transfer left.
  std::string root = SnapshotRoot(path, name);
  StatusOr<FileStatus> committed = client_.GetFileStatus(root);
  if (!committed.ok()) {
    if (committed.status().code() != Code::kNotFound) return committed.status();
    root = path;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Tree target, ListTreeMap(call, client_, root));
  // A fenced target holds the source's permissions as the fence's originals.
  LIFEBOAT_RETURN_IF_ERROR(UnfenceView(call, client_, root, target, config_.parallelism));

  // The files this point copied; the others were on the target already (unchanged since the
  // base, renamed, or with metadata changes only).
  std::set<std::string> copied;
  for (const v1::TransferTask& t : record->plan.tasks()) {
    if (t.kind() == "copy") copied.insert(t.paths().begin(), t.paths().end());
  }
  const FileRecords base = record->base.empty() || !check_records
                               ? FileRecords()
                               : LoadRecords(client_, RecordsFile(path, record->base));
  // The source's snapshot, for files that nothing here vouches for (request's `source`).
  std::optional<WebHdfsClient> src;
  if (req.has_source() && check_records) {
    LIFEBOAT_ASSIGN_OR_RETURN(Config src_config, ParseConfig(req.source().config()));
    src.emplace(PeerOptions(src_config));
  }
  PointCopy copy(call, client_, *record, target, root, name,
                 {&copied, &base, src ? &*src : nullptr, SnapshotRoot(path, name)});
  // The point's listing (its symlinks left out, as the copy makes none), in path order.
  auto next = record->manifest.begin();
  sdk::EntryStream entries = [&](v1::Entry* e) -> StatusOr<bool> {
    while (next != record->manifest.end() && next->second.is_symlink) ++next;
    if (next == record->manifest.end()) return false;
    *e = VerifyEntryOf((next++)->second);
    return true;
  };
  sdk::VerifyOptions options;
  options.level = level;
  options.threads = config_.parallelism;
  // A file's time is the source version's (set by the copy, kept by everything after it), so
  // an unchanged length with another time is another version. (Directories' times are set by
  // commit: a verify before it would find them moved.)
  options.compare_mtime = options.compare_mode = options.compare_owner = true;
  LIFEBOAT_ASSIGN_OR_RETURN(v1::VerifyResponse resp,
                            sdk::VerifyEntries(call, entries, copy, options));
  if (check_records) {
    const VouchCounts& c = copy.counts;
    host_.Info("verify of " + path + " at " + name + " (" + v1::VerifyLevel_Name(level) +
               "): " + std::to_string(c.files.load()) + " files, " + std::to_string(copied.size()) +
               " copied by this point, " + std::to_string(c.by_base.load()) +
               " by the base point's record, " + std::to_string(c.by_own.load()) +
               " by their own record, " + std::to_string(c.by_source.load()) +
               " against the source's snapshot, " + std::to_string(c.checksums.load()) +
               " HDFS checksums compared, " + std::to_string(c.read.load()) + " read back (" +
               std::to_string(c.read_bytes.load()) + " bytes); " +
               std::to_string(resp.mismatches_size()) + " mismatches");
  }
  // A point not committed yet whose copies were found with other bytes: the next plan copies
  // them again should this point never commit (leftovers.h).
  if (!resp.ok() && root == path) {
    std::set<std::string> bad;
    for (const v1::Mismatch& m : resp.mismatches()) {
      if (m.what() == "checksum" || m.what() == "digest") bad.insert(m.path());
    }
    if (!bad.empty()) {
      Status saved = SaveBad(client_, path, name, bad);
      if (!saved.ok()) {
        host_.Warn("the files verify found bad in " + path + " at " + name + " are not recorded (" +
                   saved.ToString() +
                   "): should this point not commit, the next one may keep them");
      }
    }
  }
  // What this point's verify vouched for, for the next point's (only when all of it held).
  if (resp.ok() && check_records) {
    Status saved = SaveRecords(client_, RecordsFile(path, name), copy.TakeRecords());
    if (!saved.ok()) {
      host_.Warn("verify records of " + path + " at " + name + " not kept (" + saved.ToString() +
                 "): the next point's verify checks each file's own record instead");
    }
  }
  return resp;
}

Status HdfsPlugin::ApplyDirectoryTimes(sdk::Call& call, const std::string& path,
                                       const std::string& snapshot_name) {
  StatusOr<PlanRecord> record = LoadPlan(client_, StateFile(path, snapshot_name));
  if (!record.ok()) return OkStatus();  // nothing recorded: nothing to set
  // Deepest first: setting a directory's times does not move its parent's.
  std::vector<const FileStatus*> dirs;
  for (const auto& [p, st] : record->manifest) {
    if (st.is_dir) dirs.push_back(&st);
  }
  std::sort(dirs.begin(), dirs.end(), [](const FileStatus* a, const FileStatus* b) {
    return Depth(a->path_suffix) > Depth(b->path_suffix);
  });
  for (const FileStatus* d : dirs) {
    if (call.Cancelled()) return CancelledError("commit cancelled", path);
    Status s = client_.SetTimes(Join(path, d->path_suffix), d->modification_ms, d->access_ms);
    if (!s.ok() && s.code() != Code::kNotFound) return s;
  }
  return OkStatus();
}

// ---- restore ------------------------------------------------------------------------------

namespace {

// Holds the op id of the last restore that began writing `dest` (a resume of it may change
// what it wrote there without asking again).
std::string RestoreOwnerFile(const std::string& dest) {
  return "/.lifeboat/restores" + (dest == "/" ? std::string() : dest) + ".owner";
}

}  // namespace

StatusOr<v1::RestoreResponse> HdfsPlugin::Restore(sdk::Call& call, const v1::RestoreRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  if (req.restore_point_id().empty()) return InvalidArgumentError("restore needs a restore point");
  // The destination as the operator gave it is a path prefix: the data set lands below it.
  std::string dest = path;
  if (!req.destination().empty()) {
    v1::DataSet d;
    d.set_component(kComponent);
    d.set_selector(sdk::PathBelowDestination(req.destination(), path));
    StatusOr<std::string> checked = DataSetPath(d);
    if (!checked.ok()) {
      return InvalidArgumentError("restore destination '" + req.destination() + "' of " + path +
                                      ": " + checked.status().message(),
                                  req.destination());
    }
    dest = *checked;
  }
  const bool compare_only = req.dry_run() && req.compare_only();
  // A fenced data set must not change on this cluster (security.h); a dry run says so as the
  // real run would (a comparison only reads). Lifeboat's own apply (the last step of a
  // failover or failback) restores after the unfence, so it is not refused; a backup writes
  // a fenced target as the superuser and keeps it fenced, a restore would make it the
  // point's, writable, while its cluster is demoted (README "Fencing and the data path").
  if (!compare_only) {
    LIFEBOAT_RETURN_IF_ERROR(CheckNotFenced(client_, dest, "restore into " + dest));
  }
  // The cluster that holds the point: a peer, or this one.
  std::unique_ptr<WebHdfsClient> peer;
  Config holder_config = config_;
  if (req.has_source() && !req.source().config().config_json().empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(holder_config, ParseConfig(req.source().config()));
    peer = std::make_unique<WebHdfsClient>(PeerOptions(holder_config));
  }
  WebHdfsClient& holder = peer ? *peer : client_;
  const std::string name = SnapshotName(holder_config, req.restore_point_id());
  const std::string src_root = SnapshotRoot(path, name);
  bool held = false;
  LIFEBOAT_ASSIGN_OR_RETURN(Tree source, ListTreeMap(call, holder, src_root, &held));
  if (!held) {
    return NotFoundError("restore point " + req.restore_point_id() + " of " + path +
                             " is not on cluster '" + holder_config.cluster + "' (no snapshot " +
                             src_root + "): expired, or never committed there",
                         path);
  }
  bool dest_exists = false;
  LIFEBOAT_ASSIGN_OR_RETURN(Tree target, ListTreeMap(call, client_, dest, &dest_exists));
  // A point committed into a fenced target holds the fence's permissions and the source's as
  // their originals: restore those (and compare a fenced destination the same way).
  LIFEBOAT_RETURN_IF_ERROR(UnfenceView(call, holder, src_root, source, config_.parallelism));
  if (dest_exists) {
    LIFEBOAT_RETURN_IF_ERROR(UnfenceView(call, client_, dest, target, config_.parallelism));
  }
  // The point's own records (transfer state) are not data.
  Changes c = CompareTrees(source, target);
  v1::RestoreResponse resp;
  sdk::RestoreConflicts conflicts;
  for (const std::string& d : c.deletes) {
    resp.add_changes("delete " + Join(dest, d));
    conflicts.deletes.push_back(Join(dest, d));
  }
  auto add = [&](const FileStatus& st) {
    const bool there = target.count(st.path_suffix) > 0;
    resp.add_changes((there ? "update " : "create ") + Join(dest, st.path_suffix));
    if (there) conflicts.overwrites.push_back(Join(dest, st.path_suffix));
  };
  for (const FileStatus& d : c.dirs) add(d);
  for (const FileStatus& f : c.copies) add(f);
  for (const FileStatus& f : c.metas) add(f);
  // What is there and would change is changed only with the operator's consent — unless
  // this very restore wrote it (a resume of the same op id).
  const std::string owner_file = RestoreOwnerFile(dest);
  StatusOr<std::string> owner = client_.ReadAll(owner_file);
  const bool resumed = !req.op_id().empty() && owner.ok() && *owner == req.op_id();
  if (!resumed) LIFEBOAT_RETURN_IF_ERROR(sdk::CheckRestoreConsent(req, dest, conflicts));
  if (req.dry_run()) {
    uint64_t would_write = 0;
    for (const FileStatus& f : c.copies) would_write += f.length;
    resp.set_bytes_written(would_write);  // what it would write
    return resp;
  }

  if (!req.op_id().empty() && !resumed) {
    WebHdfsClient::CreateOptions o;
    o.overwrite = true;
    o.permission = 0600;
    LIFEBOAT_RETURN_IF_ERROR(client_.Create(owner_file, req.op_id(), o));
  }
  LIFEBOAT_RETURN_IF_ERROR(client_.Mkdirs(dest));
  for (const std::string& d : c.deletes) {
    LIFEBOAT_RETURN_IF_ERROR(client_.Delete(Join(dest, d), /*recursive=*/true).status());
  }
  std::sort(c.dirs.begin(), c.dirs.end(),
            [](const FileStatus& a, const FileStatus& b) { return a.path_suffix < b.path_suffix; });
  for (const FileStatus& d : c.dirs) {
    const std::string to = Join(dest, d.path_suffix);
    LIFEBOAT_RETURN_IF_ERROR(client_.Mkdirs(to));
    // As made (a parent's default ACL may have given it one the point's lacks).
    LIFEBOAT_ASSIGN_OR_RETURN(FileStatus now, client_.GetFileStatus(to));
    LIFEBOAT_RETURN_IF_ERROR(
        CopyMetadata(holder, Join(src_root, d.path_suffix), d, client_, to, &now));
  }
  std::atomic<uint64_t> written{0};
  sdk::ProgressReporter progress(call, "restore", 0, 0);
  Status s = sdk::ParallelFor(c.copies.size(), config_.parallelism, [&](size_t i) -> Status {
    const FileStatus& st = c.copies[i];
    CopyOptions o;
    o.record_state = false;
    o.preserve_block_size = config_.preserve_block_size;
    o.replication = config_.replication;
    o.limiters = {&instance_limit_};
    StatusOr<CopyResult> r = CopyFile(call, holder, Join(src_root, st.path_suffix), st, client_,
                                      Join(dest, st.path_suffix), o);
    if (!r.ok()) return r.status();
    written += r->bytes_copied;
    progress.Add(r->bytes_copied, 0, st.path_suffix, /*force=*/true);
    return OkStatus();
  });
  LIFEBOAT_RETURN_IF_ERROR(s);
  for (const FileStatus& m : c.metas) {
    const std::string to = Join(dest, m.path_suffix);
    LIFEBOAT_RETURN_IF_ERROR(
        CopyMetadata(holder, Join(src_root, m.path_suffix), m, client_, to, nullptr));
    LIFEBOAT_RETURN_IF_ERROR(client_.SetTimes(to, m.modification_ms, m.access_ms));
  }
  // The root's metadata, then every directory's times, deepest first.
  LIFEBOAT_ASSIGN_OR_RETURN(FileStatus root, holder.GetFileStatus(src_root));
  LIFEBOAT_ASSIGN_OR_RETURN(root.permission, UnfencedPermission(holder, src_root, root.permission));
  LIFEBOAT_ASSIGN_OR_RETURN(FileStatus now, client_.GetFileStatus(dest));
  LIFEBOAT_RETURN_IF_ERROR(CopyMetadata(holder, src_root, root, client_, dest, &now));
  std::vector<const FileStatus*> dirs;
  for (const auto& [p, st] : source) {
    if (st.is_dir) dirs.push_back(&st);
  }
  std::sort(dirs.begin(), dirs.end(), [](const FileStatus* a, const FileStatus* b) {
    return Depth(a->path_suffix) > Depth(b->path_suffix);
  });
  for (const FileStatus* d : dirs) {
    LIFEBOAT_RETURN_IF_ERROR(
        client_.SetTimes(Join(dest, d->path_suffix), d->modification_ms, d->access_ms));
  }
  LIFEBOAT_RETURN_IF_ERROR(client_.SetTimes(dest, root.modification_ms, root.access_ms));
  resp.set_bytes_written(written.load());
  return resp;
}

}  // namespace lifeboat::hdfs
