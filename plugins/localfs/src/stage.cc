// The target side around the transfers: plan_transfer, verify and commit.
#include "stage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <unordered_set>

#include "copy.h"
#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "parallel.h"
#include "peer.h"
#include "sha256.h"

namespace lifeboat::localfs {
namespace {

// Copy tasks group files up to this many bytes or files; a bigger file is a task alone.
constexpr uint64_t kTaskMaxBytes = 64ull << 20;
constexpr size_t kTaskMaxFiles = 256;
// Link tasks are cheap (one link(2) per file) but their requests should stay small.
constexpr size_t kLinkTaskMaxFiles = 10000;

std::string TypeName(v1::EntryType type) {
  switch (type) {
    case v1::ENTRY_FILE:
      return "file";
    case v1::ENTRY_DIRECTORY:
      return "directory";
    case v1::ENTRY_SYMLINK:
      return "symlink";
    default:
      return "other";
  }
}

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

void AddMismatch(v1::VerifyResponse& resp, const std::string& path, const std::string& what,
                 const std::string& expected, const std::string& found) {
  v1::Mismatch* m = resp.add_mismatches();
  m->set_path(path);
  m->set_what(what);
  m->set_expected(expected);
  m->set_found(found);
}

}  // namespace

Status CheckManifest(const v1::MemberManifest& manifest) {
  std::unordered_set<std::string> dirs;
  const std::string* previous = nullptr;
  for (const v1::Entry& e : manifest.entries()) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(e.path(), "manifest path"));
    if (previous != nullptr && !(*previous < e.path())) {
      return InvalidArgumentError("entries are not sorted and unique at " + e.path(), e.path());
    }
    previous = &e.path();
    // Every parent must be a directory of the manifest: a path can then never lead through
    // a symbolic link that an earlier entry created.
    std::string parent = ParentOf(e.path());
    if (!parent.empty() && dirs.count(parent) == 0) {
      return InvalidArgumentError(
          e.path() + " lies below " + parent + ", which is not a directory of the manifest",
          e.path());
    }
    switch (e.type()) {
      case v1::ENTRY_DIRECTORY:
        dirs.insert(e.path());
        break;
      case v1::ENTRY_FILE:
        if (e.digest().size() != kDigestSize) {
          return InvalidArgumentError(e.path() + " has no SHA-256 digest", e.path());
        }
        break;
      case v1::ENTRY_SYMLINK:
        break;
      default:
        return InvalidArgumentError(e.path() + " has an unknown type", e.path());
    }
  }
  return OkStatus();
}

std::string PartPath(const std::string& tree, const std::string& path,
                     const std::unordered_map<std::string, int>& index) {
  std::string part = path + kPartSuffix;
  for (int n = 1; index.count(part) != 0; ++n) part = path + kPartSuffix + std::to_string(n);
  return JoinPath(tree, part);
}

bool SameMetadata(const v1::Entry& a, const v1::Entry& b) {
  return a.mode() == b.mode() && a.mtime_unix_nanos() == b.mtime_unix_nanos() &&
         a.acl_access() == b.acl_access() && a.acl_default() == b.acl_default() &&
         a.uid() == b.uid() && a.gid() == b.gid();
}

std::string EncodeLinkSources(const std::string& base_rp, const std::vector<std::string>& from) {
  v1::TransferTask sources;
  sources.set_task_id(base_rp);
  sources.set_kind("link-sources");
  for (const auto& p : from) sources.add_paths(p);
  return sources.SerializeAsString();
}

StatusOr<v1::TransferTask> DecodeLinkSources(const v1::TransferTask& task) {
  v1::TransferTask sources;
  if (!sources.ParseFromString(task.opaque()) || sources.kind() != "link-sources" ||
      sources.paths_size() != task.paths_size()) {
    return InvalidArgumentError(
        "link task " + task.task_id() + " carries no valid link sources; plan the transfer again",
        task.task_id());
  }
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(sources.task_id(), "base restore point"));
  for (const auto& p : sources.paths()) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(p, "link source"));
  }
  return sources;
}

std::string EncodePlanFile(const std::string& op_id, const v1::PlanTransferResponse& plan) {
  std::string out;
  AppendU32(out, static_cast<uint32_t>(op_id.size()));
  out += op_id;
  out += plan.SerializeAsString();
  return out;
}

bool DecodePlanFile(const std::string& bytes, const std::string& op_id,
                    v1::PlanTransferResponse& plan) {
  if (bytes.size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  if (bytes.size() < 4 + static_cast<size_t>(n)) return false;
  if (bytes.compare(4, n, op_id) != 0) return false;
  return plan.ParseFromArray(bytes.data() + 4 + n, static_cast<int>(bytes.size() - 4 - n));
}

StatusOr<std::shared_ptr<const LocalfsPlugin::StagedCut>> LocalfsPlugin::LoadStagedCut(
    const std::string& key, const std::string& rp, const std::string& cut_op_id) {
  std::string dir = layout_.Staging(key, rp);
  std::string file = JoinPath(dir, kCutFile);
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    return FailedPreconditionError(
        "nothing is staged for restore point " + rp + " (no " + file + "); run plan_transfer first",
        dir);
  }
  auto cached = [&]() -> std::shared_ptr<const StagedCut> {
    std::lock_guard<std::mutex> lock(staged_mu_);
    auto it = staged_.find(dir);
    if (it != staged_.end() && it->second->file_inode == static_cast<uint64_t>(st.st_ino) &&
        it->second->file_mtime_ns == MtimeNs(st)) {
      return it->second;
    }
    return nullptr;
  };
  std::shared_ptr<const StagedCut> staged = cached();
  // One load at a time per staging directory: the transfers of a plan start together, and
  // each would otherwise parse the whole manifest and index it (issue 13: four copies of a
  // 200k-file cut at once were the incremental's peak of memory).
  std::shared_ptr<std::shared_mutex> load_lock;
  std::unique_lock<std::shared_mutex> loading;
  if (!staged) {
    load_lock = locks_.Get("load:" + dir);
    loading = std::unique_lock<std::shared_mutex>(*load_lock);
    staged = cached();
  }
  if (!staged) {
    auto fresh = std::make_shared<StagedCut>();
    StatusOr<v1::CutResponse> cut = ReadProto<v1::CutResponse>(file);
    if (!cut.ok()) {
      return FailedPreconditionError("the staged cut " + file + " cannot be read (" +
                                         cut.status().message() + "); run plan_transfer again",
                                     file);
    }
    fresh->cut = std::move(cut).value();
    fresh->dir = dir;
    fresh->file_inode = static_cast<uint64_t>(st.st_ino);
    fresh->file_mtime_ns = MtimeNs(st);
    StatusOr<std::string> boot = ReadFileBytes(JoinPath(dir, kBootIdFile));
    fresh->same_boot = boot.ok() && !boot->empty() && *boot == BootId();
    const auto& entries = fresh->cut.manifest().entries();
    fresh->index.reserve(static_cast<size_t>(entries.size()));
    for (int i = 0; i < entries.size(); ++i) fresh->index.emplace(entries[i].path(), i);
    host_.Log(sdk::LogLevel::kDebug,
              "parsed the staged cut " + file + ": " + std::to_string(entries.size()) + " entries");
    staged = fresh;
    std::lock_guard<std::mutex> lock(staged_mu_);
    staged_[dir] = fresh;
  }
  if (!cut_op_id.empty() && staged->cut.snapshot().cut_op_id() != cut_op_id) {
    return FailedPreconditionError("the cut staged for restore point " + rp +
                                       " was made by operation " +
                                       staged->cut.snapshot().cut_op_id() + ", not " + cut_op_id +
                                       "; run plan_transfer for the current snapshot",
                                   dir);
  }
  return staged;
}

void LocalfsPlugin::KeepStagedCut(const std::string& dir, v1::CutResponse cut,
                                  std::unordered_map<std::string, int> index) {
  struct stat st;
  if (::stat(JoinPath(dir, kCutFile).c_str(), &st) != 0) return;  // LoadStagedCut will say why
  auto kept = std::make_shared<StagedCut>();
  kept->cut = std::move(cut);
  kept->index = std::move(index);
  kept->dir = dir;
  kept->file_inode = static_cast<uint64_t>(st.st_ino);
  kept->file_mtime_ns = MtimeNs(st);
  StatusOr<std::string> boot = ReadFileBytes(JoinPath(dir, kBootIdFile));
  kept->same_boot = boot.ok() && !boot->empty() && *boot == BootId();
  std::lock_guard<std::mutex> lock(staged_mu_);
  staged_[dir] = std::move(kept);
}

void LocalfsPlugin::ForgetStagedCut(const std::string& dir) {
  std::lock_guard<std::mutex> lock(staged_mu_);
  staged_.erase(dir);
}

StatusOr<v1::PlanTransferResponse> LocalfsPlugin::PlanTransfer(sdk::Call& call,
                                                               const v1::PlanTransferRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("plan_transfer needs an op_id", "op_id");
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const std::string& base_rp = req.base_restore_point_id();
  if (!base_rp.empty()) {
    LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(base_rp, "base_restore_point_id"));
  }
  StatusOr<PeerSource> source = PeerSource::Open(call, req.source(), config_.peer_access);
  if (!source.ok()) return source.status().WithContext("source configuration");
  const std::string& rp = ref.restore_point_id();
  const std::string name = DataSetName(ref.data_set());
  const std::string key = DataSetKey(ref.data_set().selector());
  auto staging_lock = locks_.Get("staging:" + key + "/" + rp);
  std::unique_lock<std::shared_mutex> guard(*staging_lock);

  StatusOr<v1::MemberManifest> committed =
      ReadProto<v1::MemberManifest>(JoinPath(layout_.Point(key, rp), kManifestFile));
  if (committed.ok()) {
    if (committed->snapshot().cut_op_id() != ref.cut_op_id()) {
      return AlreadyExistsError("restore point " + rp + " of " + name +
                                    " is already committed here from cut operation " +
                                    committed->snapshot().cut_op_id() + ", not " + ref.cut_op_id() +
                                    "; use a new restore point id",
                                rp);
    }
    return v1::PlanTransferResponse();  // nothing left to move
  }

  const std::string source_cut_file = source->by_path()
                                          ? JoinPath(source->layout().Snapshot(key, rp), kCutFile)
                                          : "the cut record of " + source->where();
  StatusOr<std::string> cut_bytes = source->ReadRecord(ref, kItemCut);
  if (!cut_bytes.ok()) {
    if (cut_bytes.status().code() == Code::kNotFound) {
      return NotFoundError("the source has no complete cut of restore point " + rp + " of " + name +
                               " (no " + source_cut_file +
                               "); it was released or never made: cut again",
                           source_cut_file);
    }
    return cut_bytes.status();
  }
  v1::CutResponse cut;
  if (!cut.ParseFromString(*cut_bytes)) {
    return DataLossError("the source's cut record " + source_cut_file +
                             " is corrupt; release the restore point on the source and cut again",
                         source_cut_file);
  }
  // The cut record decides where the transfers write: check it describes a real tree.
  Status consistent = CheckManifest(cut.manifest());
  if (!consistent.ok()) {
    return DataLossError("the source's cut record " + source_cut_file + " is inconsistent (" +
                             consistent.message() +
                             "); release the restore point on the source and cut again",
                         source_cut_file);
  }
  if (cut.snapshot().cut_op_id() != ref.cut_op_id()) {
    return FailedPreconditionError("the source's cut of restore point " + rp + " of " + name +
                                       " was made by operation " + cut.snapshot().cut_op_id() +
                                       ", but the snapshot reference names " + ref.cut_op_id() +
                                       "; plan with the reference of the current cut",
                                   source_cut_file);
  }

  const std::string staging = layout_.Staging(key, rp);
  const std::string plan_file = JoinPath(staging, kPlanFile);
  StatusOr<v1::CutResponse> staged = ReadProto<v1::CutResponse>(JoinPath(staging, kCutFile));
  if (staged.ok() && staged->snapshot().cut_op_id() == ref.cut_op_id()) {
    StatusOr<std::string> stored = ReadFileBytes(plan_file);
    v1::PlanTransferResponse plan;
    if (stored.ok() && DecodePlanFile(*stored, req.op_id(), plan)) return plan;
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(auto old, LstatIfExists(staging));
    if (old) {
      host_.Info("discarding " + staging + ": it holds another cut of restore point " + rp);
      LIFEBOAT_RETURN_IF_ERROR(MoveToTrashAndRemove(staging));
    }
    ForgetStagedCut(staging);
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(JoinPath(staging, kTreeDir), 0755));
    LIFEBOAT_RETURN_IF_ERROR(
        WriteFileAtomic(JoinPath(staging, kBootIdFile), BootId(), /*durable=*/false));
    LIFEBOAT_RETURN_IF_ERROR(
        WriteFileAtomic(JoinPath(staging, kCutFile), *cut_bytes, /*durable=*/true));
  }

  // The base, if one is asked for and present.
  v1::PlanTransferResponse plan;
  v1::MemberManifest base;
  bool use_base = false;
  if (!base_rp.empty()) {
    if (req.force_full()) {
      plan.set_full_reason("forced full");
    } else {
      StatusOr<v1::MemberManifest> loaded =
          ReadProto<v1::MemberManifest>(JoinPath(layout_.Point(key, base_rp), kManifestFile));
      if (loaded.ok()) {
        base = std::move(loaded).value();
        use_base = true;
      } else if (loaded.status().code() == Code::kNotFound) {
        plan.set_full_reason("base point " + base_rp + " not found on target");
      } else {
        plan.set_full_reason("base point " + base_rp +
                             " cannot be read: " + loaded.status().message());
      }
    }
  }
  plan.set_incremental(use_base);

  std::unordered_map<std::string, int> base_by_path;
  std::map<std::pair<uint64_t, std::string>, std::vector<int>> base_by_content;
  if (use_base) {
    for (int i = 0; i < base.entries_size(); ++i) {
      const v1::Entry& e = base.entries(i);
      base_by_path.emplace(e.path(), i);
      if (e.type() == v1::ENTRY_FILE) base_by_content[{e.size(), e.digest()}].push_back(i);
    }
  }

  const auto& entries = cut.manifest().entries();
  v1::TransferTask tree_task;
  tree_task.set_task_id("tree");
  tree_task.set_kind(kTaskTree);
  std::vector<std::string> link_paths, link_from;
  std::vector<int> copies;
  std::unordered_map<std::string, int> new_paths;
  for (int i = 0; i < entries.size(); ++i) {
    const v1::Entry& e = entries[i];
    new_paths.emplace(e.path(), i);
    if (e.type() != v1::ENTRY_FILE) {
      tree_task.add_paths(e.path());
      continue;
    }
    const v1::Entry* from = nullptr;
    if (use_base) {
      auto same_path = base_by_path.find(e.path());
      if (same_path != base_by_path.end()) {
        const v1::Entry& b = base.entries(same_path->second);
        if (b.type() == v1::ENTRY_FILE && b.size() == e.size() && b.digest() == e.digest() &&
            SameMetadata(b, e)) {
          from = &b;
        }
      }
      if (from == nullptr) {
        // The same content elsewhere in the base: a renamed or copied file costs no copy.
        auto same_content = base_by_content.find({e.size(), e.digest()});
        if (same_content != base_by_content.end()) {
          for (int b : same_content->second) {
            if (SameMetadata(base.entries(b), e)) {
              from = &base.entries(b);
              break;
            }
          }
        }
      }
    }
    if (from != nullptr) {
      link_paths.push_back(e.path());
      link_from.push_back(from->path());
    } else {
      copies.push_back(i);
    }
  }

  // No usable base (a first backup to this cluster, as after a failover): files that this
  // cluster's live data set already holds, by size and mtime, are seeded from it rather
  // than pulled from the source; the transfer checks each against the manifest's digest.
  std::vector<int> seeds;
  if (!use_base && !req.force_full()) {
    const std::string live = layout_.DataDir(ref.data_set().selector());
    std::vector<int> remaining;
    for (int i : copies) {
      const v1::Entry& e = entries[i];
      struct stat st;
      const std::string at = JoinPath(live, e.path());
      bool same = ::lstat(at.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                  static_cast<uint64_t>(st.st_size) == e.size() &&
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec ==
                      e.mtime_unix_nanos();
      (same ? seeds : remaining).push_back(i);
    }
    copies = std::move(remaining);
  }

  *plan.add_tasks() = std::move(tree_task);
  for (size_t start = 0, n = 1; start < link_paths.size(); start += kLinkTaskMaxFiles, ++n) {
    size_t end = std::min(link_paths.size(), start + kLinkTaskMaxFiles);
    v1::TransferTask* t = plan.add_tasks();
    t->set_task_id("link-" + std::to_string(n));
    t->set_kind(kTaskLink);
    for (size_t k = start; k < end; ++k) t->add_paths(link_paths[k]);
    t->set_opaque(EncodeLinkSources(
        base_rp, std::vector<std::string>(link_from.begin() + static_cast<ptrdiff_t>(start),
                                          link_from.begin() + static_cast<ptrdiff_t>(end))));
  }
  uint64_t bytes_to_copy = 0;
  for (const char* kind : {kTaskSeed, kTaskCopy}) {
    const bool seeding = kind == kTaskSeed;
    int n_tasks = 0;
    v1::TransferTask* open_task = nullptr;
    uint64_t open_bytes = 0;  // of the open task's files (a seed's are copied here, not moved)
    for (int i : seeding ? seeds : copies) {
      const v1::Entry& e = entries[i];
      if (!seeding) bytes_to_copy += e.size();
      bool alone = e.size() > kTaskMaxBytes;
      if (open_task == nullptr || alone || open_bytes + e.size() > kTaskMaxBytes ||
          static_cast<size_t>(open_task->paths_size()) >= kTaskMaxFiles) {
        open_task = plan.add_tasks();
        open_task->set_task_id(std::string(kind) + "-" + std::to_string(++n_tasks));
        open_task->set_kind(kind);
        open_bytes = 0;
      }
      open_task->add_paths(e.path());
      open_bytes += e.size();
      if (!seeding) {
        open_task->set_bytes(open_bytes);
        open_task->set_items(static_cast<uint64_t>(open_task->paths_size()));
      }
      if (alone) open_task = nullptr;
    }
  }
  if (!seeds.empty()) {
    plan.set_full_reason(plan.full_reason() + (plan.full_reason().empty() ? "" : "; ") +
                         std::to_string(seeds.size()) +
                         " files seeded from this cluster's live data set");
  }
  plan.set_bytes_to_copy(bytes_to_copy);
  plan.set_items_to_copy(copies.size());
  plan.set_items_unchanged(link_paths.size() + seeds.size());
  uint64_t deleted = 0;
  if (use_base) {
    for (const v1::Entry& b : base.entries()) deleted += new_paths.count(b.path()) == 0 ? 1 : 0;
  }
  plan.set_items_deleted(deleted);

  LIFEBOAT_RETURN_IF_ERROR(
      WriteFileAtomic(plan_file, EncodePlanFile(req.op_id(), plan), /*durable=*/false));
  // The transfers of this plan read the cut and its index: hand them this parse of it.
  KeepStagedCut(staging, std::move(cut), std::move(new_paths));
  host_.Info("planned restore point " + rp + " of " + name + ": " +
             (use_base ? "incremental from " + base_rp : "full") + ", " +
             std::to_string(copies.size()) + " files (" + std::to_string(bytes_to_copy) +
             " bytes) to copy, " + std::to_string(link_paths.size()) + " to link, " +
             std::to_string(seeds.size()) + " to seed from the live data set");
  return plan;
}

StatusOr<v1::VerifyResponse> LocalfsPlugin::Verify(sdk::Call& call, const v1::VerifyRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const std::string& rp = ref.restore_point_id();
  const std::string key = DataSetKey(ref.data_set().selector());
  auto staging_lock = locks_.Get("staging:" + key + "/" + rp);
  std::shared_lock<std::shared_mutex> guard(*staging_lock);

  // The staged tree while there is one, else the committed point.
  v1::MemberManifest manifest;
  std::string tree;
  bool staged = false;
  const std::string staging = layout_.Staging(key, rp);
  StatusOr<v1::CutResponse> cut = ReadProto<v1::CutResponse>(JoinPath(staging, kCutFile));
  if (cut.ok()) {
    manifest = std::move(*cut->mutable_manifest());
    tree = JoinPath(staging, kTreeDir);
    staged = true;
  } else {
    const std::string point = layout_.Point(key, rp);
    StatusOr<v1::MemberManifest> committed =
        ReadProto<v1::MemberManifest>(JoinPath(point, kManifestFile));
    if (!committed.ok()) {
      if (committed.status().code() != Code::kNotFound) return committed.status();
      return NotFoundError("restore point " + rp + " of " + DataSetName(ref.data_set()) +
                               " is neither staged nor committed on this cluster",
                           rp);
    }
    manifest = std::move(committed).value();
    tree = JoinPath(point, kTreeDir);
  }
  if (!ref.cut_op_id().empty() && manifest.snapshot().cut_op_id() != ref.cut_op_id()) {
    return FailedPreconditionError("restore point " + rp + " here was made by cut operation " +
                                       manifest.snapshot().cut_op_id() + ", not " + ref.cut_op_id(),
                                   rp);
  }

  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<WalkEntry> walked, WalkTree(tree));
  std::unordered_map<std::string, size_t> found;
  found.reserve(walked.size());
  for (size_t i = 0; i < walked.size(); ++i) found.emplace(walked[i].rel, i);

  const bool as_root = RunningAsRoot();
  v1::VerifyResponse resp;
  std::vector<int> to_hash;
  uint64_t bytes_to_hash = 0;
  for (int i = 0; i < manifest.entries_size(); ++i) {
    const v1::Entry& e = manifest.entries(i);
    auto it = found.find(e.path());
    if (it == found.end()) {
      AddMismatch(resp, e.path(), "missing", TypeName(e.type()), "");
      continue;
    }
    const struct stat& st = walked[it->second].st;
    found.erase(it);
    v1::EntryType type = EntryTypeOf(st);
    if (type != e.type()) {
      AddMismatch(resp, e.path(), "type", TypeName(e.type()), TypeName(type));
      continue;
    }
    // Directory modes and owners are applied at commit: a staged directory keeps its own.
    bool check_meta = type == v1::ENTRY_FILE || (type == v1::ENTRY_DIRECTORY && !staged);
    if (check_meta && (st.st_mode & 07777) != e.mode()) {
      AddMismatch(resp, e.path(), "mode", Octal(e.mode()), Octal(st.st_mode));
    }
    if (check_meta && as_root && (st.st_uid != e.uid() || st.st_gid != e.gid())) {
      AddMismatch(resp, e.path(), "owner", std::to_string(e.uid()) + ":" + std::to_string(e.gid()),
                  std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid));
    }
    if (check_meta && AclsDiffer(JoinPath(tree, e.path()), e)) {
      AddMismatch(resp, e.path(), "acl", e.acl_access() + " default " + e.acl_default(),
                  "(differs)");
    }
    if (type == v1::ENTRY_SYMLINK) {
      StatusOr<std::string> target = ReadLink(JoinPath(tree, e.path()));
      std::string got = target.ok() ? *target : "(" + target.status().message() + ")";
      if (got != e.symlink_target()) {
        AddMismatch(resp, e.path(), "symlink_target", e.symlink_target(), got);
      }
    }
    if (type == v1::ENTRY_FILE) {
      if (static_cast<uint64_t>(st.st_size) != e.size()) {
        AddMismatch(resp, e.path(), "size", std::to_string(e.size()), std::to_string(st.st_size));
        continue;
      }
      if (MtimeNs(st) != e.mtime_unix_nanos()) {
        AddMismatch(resp, e.path(), "mtime", std::to_string(e.mtime_unix_nanos()),
                    std::to_string(MtimeNs(st)));
      }
      if (req.level() == v1::VERIFY_DIGEST) {
        to_hash.push_back(i);
        bytes_to_hash += e.size();
      }
    }
  }
  for (const auto& [path, i] : found) {
    AddMismatch(resp, path, "extra", "", TypeName(EntryTypeOf(walked[i].st)));
  }

  if (!to_hash.empty()) {
    ProgressReporter progress(call, "verify", bytes_to_hash, to_hash.size());
    progress.set_every_bytes(static_cast<uint64_t>(config_.chunk_bytes));
    std::vector<std::string> digests(to_hash.size());
    std::atomic<bool> stop{false};
    Status hashed = ParallelFor(to_hash.size(), config_.parallelism, stop, [&](size_t k) -> Status {
      const v1::Entry& e = manifest.entries(to_hash[k]);
      ChunkCallback on_chunk = [&](uint64_t n) -> Status {
        progress.Add(n, 0, e.path(), false);
        if (call.Cancelled()) return CancelledError("verify cancelled; verify again");
        return OkStatus();
      };
      StatusOr<std::string> digest =
          HashFile(JoinPath(tree, e.path()), static_cast<uint64_t>(config_.chunk_bytes), on_chunk);
      if (!digest.ok()) {
        if (digest.status().code() == Code::kCancelled) return digest.status();
        digests[k] = "(" + digest.status().message() + ")";
      } else {
        digests[k] = Hex(*digest);
      }
      progress.Add(0, 1, e.path(), false);
      return OkStatus();
    });
    LIFEBOAT_RETURN_IF_ERROR(hashed);
    progress.Flush();
    for (size_t k = 0; k < to_hash.size(); ++k) {
      const v1::Entry& e = manifest.entries(to_hash[k]);
      if (digests[k] != Hex(e.digest())) {
        AddMismatch(resp, e.path(), "digest", Hex(e.digest()), digests[k]);
      }
    }
    resp.set_bytes_checked(bytes_to_hash);
  }
  std::sort(resp.mutable_mismatches()->begin(), resp.mutable_mismatches()->end(),
            [](const v1::Mismatch& a, const v1::Mismatch& b) {
              return a.path() != b.path() ? a.path() < b.path() : a.what() < b.what();
            });
  resp.set_items_checked(static_cast<uint64_t>(manifest.entries_size()));
  resp.set_ok(resp.mismatches_size() == 0);
  return resp;
}

StatusOr<v1::CommitResponse> LocalfsPlugin::Commit(sdk::Call& call, const v1::CommitRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  if (!req.base_restore_point_id().empty()) {
    LIFEBOAT_RETURN_IF_ERROR(
        ValidateRestorePointId(req.base_restore_point_id(), "base_restore_point_id"));
  }
  const std::string& rp = ref.restore_point_id();
  const std::string name = DataSetName(ref.data_set());
  const std::string key = DataSetKey(ref.data_set().selector());
  // Lock order everywhere: points before staging.
  auto points_lock = locks_.Get("points:" + key);
  std::unique_lock<std::shared_mutex> points_guard(*points_lock);
  auto staging_lock = locks_.Get("staging:" + key + "/" + rp);
  std::unique_lock<std::shared_mutex> staging_guard(*staging_lock);

  const std::string point = layout_.Point(key, rp);
  static const char* const kPlanFiles[] = {kCutFile, kPlanFile, kBootIdFile};
  StatusOr<v1::MemberManifest> existing =
      ReadProto<v1::MemberManifest>(JoinPath(point, kManifestFile));
  if (existing.ok()) {
    if (!ref.cut_op_id().empty() && existing->snapshot().cut_op_id() != ref.cut_op_id()) {
      return AlreadyExistsError("restore point " + rp + " of " + name +
                                    " is already committed from cut operation " +
                                    existing->snapshot().cut_op_id() + ", not " + ref.cut_op_id(),
                                rp);
    }
    // Finish what an interrupted commit may have left: plan files, CURRENT.
    for (const char* f : kPlanFiles) ::unlink(JoinPath(point, f).c_str());
    LIFEBOAT_RETURN_IF_ERROR(UpdateCurrent(key, rp, existing->committed_unix_nanos()));
    v1::CommitResponse resp;
    *resp.mutable_manifest() = std::move(existing).value();
    return resp;
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();

  LIFEBOAT_ASSIGN_OR_RETURN(std::shared_ptr<const StagedCut> staged,
                            LoadStagedCut(key, rp, ref.cut_op_id()));
  const std::string tree = JoinPath(staged->dir, kTreeDir);
  const v1::MemberManifest& cut_manifest = staged->cut.manifest();
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<WalkEntry> walked, WalkTree(tree));
  std::unordered_map<std::string, const WalkEntry*> found;
  found.reserve(walked.size());
  for (const WalkEntry& w : walked) found.emplace(w.rel, &w);

  // Every item of the manifest must be staged. After a restart of the machine, files that
  // were staged without fsync are read back and compared with their digests first.
  size_t missing = 0;
  std::string first_missing;
  std::vector<int> to_check;
  for (int i = 0; i < cut_manifest.entries_size(); ++i) {
    const v1::Entry& e = cut_manifest.entries(i);
    auto it = found.find(e.path());
    bool ok =
        it != found.end() && EntryTypeOf(it->second->st) == e.type() &&
        (e.type() != v1::ENTRY_FILE || static_cast<uint64_t>(it->second->st.st_size) == e.size());
    if (ok && e.type() == v1::ENTRY_FILE && !staged->same_boot) to_check.push_back(i);
    if (!ok && missing++ == 0) first_missing = e.path();
  }
  if (!to_check.empty()) {
    host_.Warn("the machine restarted since " + staged->dir +
               " was staged; reading the staged files back before committing");
    std::vector<char> bad(to_check.size(), 0);
    std::atomic<bool> stop{false};
    LIFEBOAT_RETURN_IF_ERROR(
        ParallelFor(to_check.size(), config_.parallelism, stop, [&](size_t k) -> Status {
          const v1::Entry& e = cut_manifest.entries(to_check[k]);
          ChunkCallback on_chunk = [&](uint64_t) -> Status {
            return call.Cancelled() ? CancelledError("commit cancelled; commit again") : OkStatus();
          };
          StatusOr<std::string> digest = HashFile(
              JoinPath(tree, e.path()), static_cast<uint64_t>(config_.chunk_bytes), on_chunk);
          if (!digest.ok() && digest.status().code() == Code::kCancelled) return digest.status();
          if (!digest.ok() || *digest != e.digest()) bad[k] = 1;
          return OkStatus();
        }));
    for (size_t k = 0; k < to_check.size(); ++k) {
      if (!bad[k]) continue;
      const std::string& path = cut_manifest.entries(to_check[k]).path();
      ::unlink(JoinPath(tree, path).c_str());
      if (missing++ == 0 || path < first_missing) first_missing = path;
    }
    if (missing == 0) {
      LIFEBOAT_RETURN_IF_ERROR(
          WriteFileAtomic(JoinPath(staged->dir, kBootIdFile), BootId(), /*durable=*/false));
    }
  }
  if (missing > 0) {
    return FailedPreconditionError(std::to_string(missing) + " files not transferred yet: first " +
                                       first_missing + "; run the remaining transfer tasks of " +
                                       "restore point " + rp + ", then commit again",
                                   first_missing);
  }

  // Anything else in the tree (a part left by an interrupted copy) is not part of the point.
  std::string removed_prefix;
  for (const WalkEntry& w : walked) {
    if (!removed_prefix.empty() && w.rel.compare(0, removed_prefix.size(), removed_prefix) == 0) {
      continue;
    }
    if (staged->index.count(w.rel) != 0) continue;
    host_.Warn("removing " + JoinPath(tree, w.rel) + " from the staged tree: not in the manifest");
    LIFEBOAT_RETURN_IF_ERROR(RemoveTree(JoinPath(tree, w.rel)));
    removed_prefix = w.rel + "/";
  }

  // The walk has served; a tree of many files should not hold it while the manifest is
  // copied and written below.
  std::unordered_map<std::string, const WalkEntry*>().swap(found);
  std::vector<WalkEntry>().swap(walked);

  // Directory modes and mtimes last, deepest first: creating entries moved them.
  for (int i = cut_manifest.entries_size() - 1; i >= 0; --i) {
    const v1::Entry& e = cut_manifest.entries(i);
    if (e.type() != v1::ENTRY_DIRECTORY) continue;
    LIFEBOAT_RETURN_IF_ERROR(ApplyEntryMetadata(JoinPath(tree, e.path()), e));
  }

  // One syncfs instead of an fsync per file: everything staged becomes durable before the
  // manifest that declares the point complete.
  {
    UniqueFd fd(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError(errno, "cannot open", tree);
    if (::syncfs(fd.get()) != 0) return ErrnoError(errno, "cannot sync the file system of", tree);
  }

  v1::MemberManifest manifest = cut_manifest;
  manifest.set_committed_unix_nanos(host_.NowUnixNanos());
  manifest.set_base_restore_point_id(req.base_restore_point_id());
  LIFEBOAT_RETURN_IF_ERROR(
      WriteProto(JoinPath(staged->dir, kManifestFile), manifest, /*durable=*/true));
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(layout_.PointsOf(key), 0755));
  LIFEBOAT_ASSIGN_OR_RETURN(auto in_the_way, LstatIfExists(point));
  if (in_the_way) {
    // A directory without manifest.pb is no point; it can only be debris.
    host_.Warn("removing " + point + ": it holds no manifest.pb");
    LIFEBOAT_RETURN_IF_ERROR(MoveToTrashAndRemove(point));
  }
  // The point appears complete or not at all.
  if (::rename(staged->dir.c_str(), point.c_str()) != 0) {
    return ErrnoError(errno, "cannot move the staged point into place:", staged->dir);
  }
  ForgetStagedCut(staged->dir);
  LIFEBOAT_RETURN_IF_ERROR(FsyncDir(layout_.PointsOf(key)));
  for (const char* f : kPlanFiles) ::unlink(JoinPath(point, f).c_str());
  LIFEBOAT_RETURN_IF_ERROR(UpdateCurrent(key, rp, manifest.committed_unix_nanos()));
  host_.Info("committed restore point " + rp + " of " + name + ": " +
             std::to_string(manifest.entries_size()) + " entries, " +
             std::to_string(manifest.total_bytes()) + " bytes");
  v1::CommitResponse resp;
  *resp.mutable_manifest() = std::move(manifest);
  return resp;
}

}  // namespace lifeboat::localfs
