// The target side around the transfers: plan_transfer, verify and commit.
#include "stage.h"

#include <fcntl.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/manifest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_set>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "peer.h"

namespace lifeboat::localfs {
namespace {

// Copy tasks group files up to this many bytes or files; a bigger file is a task alone.
constexpr uint64_t kTaskMaxBytes = 64ull << 20;
constexpr size_t kTaskMaxFiles = 256;
// Link tasks are cheap (one link(2) per file) but their requests should stay small.
constexpr size_t kLinkTaskMaxFiles = 10000;

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
        if (e.digest().size() != sdk::kSha256Bytes) {
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

int FindEntry(const google::protobuf::RepeatedPtrField<v1::Entry>& entries, std::string_view path) {
  auto it = std::lower_bound(entries.begin(), entries.end(), path,
                             [](const v1::Entry& e, std::string_view p) { return e.path() < p; });
  if (it == entries.end() || it->path() != path) return -1;
  return static_cast<int>(it - entries.begin());
}

std::string PartPath(const std::string& tree, const std::string& path,
                     const google::protobuf::RepeatedPtrField<v1::Entry>& entries) {
  std::string part = path + kPartSuffix;
  for (int n = 1; FindEntry(entries, part) >= 0; ++n) part = path + kPartSuffix + std::to_string(n);
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
    StatusOr<std::string> boot = sdk::ReadWholeFile(JoinPath(dir, kBootIdFile));
    fresh->same_boot = boot.ok() && !boot->empty() && *boot == BootId();
    const auto& entries = fresh->cut.manifest().entries();
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

void LocalfsPlugin::KeepStagedCut(const std::string& dir, v1::CutResponse cut) {
  struct stat st;
  if (::stat(JoinPath(dir, kCutFile).c_str(), &st) != 0) return;  // LoadStagedCut will say why
  auto kept = std::make_shared<StagedCut>();
  kept->cut = std::move(cut);
  kept->dir = dir;
  kept->file_inode = static_cast<uint64_t>(st.st_ino);
  kept->file_mtime_ns = MtimeNs(st);
  StatusOr<std::string> boot = sdk::ReadWholeFile(JoinPath(dir, kBootIdFile));
  kept->same_boot = boot.ok() && !boot->empty() && *boot == BootId();
  std::lock_guard<std::mutex> lock(staged_mu_);
  staged_[dir] = std::move(kept);
}

void LocalfsPlugin::ForgetStagedCut(const std::string& dir) {
  std::lock_guard<std::mutex> lock(staged_mu_);
  staged_.erase(dir);
}

namespace {

// The base point's files that the cut's files can be linked from, by a merge of two sorted
// streams (issue 13): the base's manifest.pb read entry by entry, never parsed whole or
// indexed. A file of the cut links from the base's file of its path when content and
// metadata agree; otherwise from the first file of the base (in path order) with the same
// content and metadata — a renamed or copied file costs no copy. That second pass reads the
// base again, looking up only the cut's files left unmatched (what changed). `from[i]` is set
// for entry i of the cut; `deleted` counts the base's paths the cut lacks.
Status MatchBase(const std::string& base_file,
                 const google::protobuf::RepeatedPtrField<v1::Entry>& entries,
                 std::vector<std::string>& from, uint64_t& deleted) {
  auto linkable = [](const v1::Entry& b, const v1::Entry& e) {
    return b.type() == v1::ENTRY_FILE && e.type() == v1::ENTRY_FILE && b.size() == e.size() &&
           b.digest() == e.digest() && SameMetadata(b, e);
  };
  std::map<std::pair<uint64_t, std::string>, std::vector<int>> unmatched;
  int next = 0;  // entries handed to the merge so far: the current one is next - 1
  sdk::EntryStream cut_stream = [&](v1::Entry* e) -> StatusOr<bool> {
    if (next >= entries.size()) return false;
    *e = entries[next++];
    return true;
  };
  auto unmatched_file = [&](const v1::Entry& e) {
    if (e.type() == v1::ENTRY_FILE) unmatched[{e.size(), e.digest()}].push_back(next - 1);
    return OkStatus();
  };
  sdk::ManifestDiff diff;
  diff.same = [](const v1::Entry&, const v1::Entry&) { return true; };
  diff.unchanged = [&](const v1::Entry& b, const v1::Entry& e) -> Status {
    if (!linkable(b, e)) return unmatched_file(e);
    from[static_cast<size_t>(next - 1)] = b.path();
    return OkStatus();
  };
  diff.added = unmatched_file;
  diff.removed = [&](const v1::Entry&) {
    ++deleted;
    return OkStatus();
  };
  {
    LIFEBOAT_ASSIGN_OR_RETURN(auto base, ManifestFileEntries::Open(base_file, /*in_cut=*/false));
    LIFEBOAT_RETURN_IF_ERROR(sdk::DiffManifests(base->AsStream(), cut_stream, diff));
  }
  if (unmatched.empty()) return OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(auto base, ManifestFileEntries::Open(base_file, /*in_cut=*/false));
  v1::Entry b;
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, base->Next(&b));
    if (!more) break;
    if (b.type() != v1::ENTRY_FILE) continue;
    auto it = unmatched.find({b.size(), b.digest()});
    if (it == unmatched.end()) continue;
    for (int i : it->second) {
      std::string& source = from[static_cast<size_t>(i)];
      if (source.empty() && linkable(b, entries[i])) source = b.path();
    }
  }
  return OkStatus();
}

}  // namespace

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
    StatusOr<std::string> stored = sdk::ReadWholeFile(plan_file);
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
        sdk::WriteFileAtomically(JoinPath(staging, kBootIdFile), BootId(), /*durable=*/false));
    LIFEBOAT_RETURN_IF_ERROR(
        sdk::WriteFileAtomically(JoinPath(staging, kCutFile), *cut_bytes, /*durable=*/true));
  }
  std::string().swap(*cut_bytes);  // parsed above; a large cut should not be held twice

  // The base, if one is asked for and present.
  v1::PlanTransferResponse plan;
  const std::string base_file =
      base_rp.empty() ? std::string() : JoinPath(layout_.Point(key, base_rp), kManifestFile);
  bool use_base = false;
  if (!base_rp.empty()) {
    if (req.force_full()) {
      plan.set_full_reason("forced full");
    } else if (::access(base_file.c_str(), F_OK) == 0) {
      use_base = true;
    } else if (errno == ENOENT) {
      plan.set_full_reason("base point " + base_rp + " not found on target");
    } else {
      plan.set_full_reason("base point " + base_rp + " cannot be read: " + std::strerror(errno));
    }
  }

  const auto& entries = cut.manifest().entries();
  // Where each file of the cut is linked from in the base ("" = it is copied).
  std::vector<std::string> from(static_cast<size_t>(entries.size()));
  uint64_t deleted = 0;
  if (use_base) {
    Status matched = MatchBase(base_file, entries, from, deleted);
    if (!matched.ok()) {
      // A base that cannot be read costs a full copy, never a wrong point.
      use_base = false;
      std::fill(from.begin(), from.end(), std::string());
      deleted = 0;
      plan.set_full_reason("base point " + base_rp + " cannot be read: " + matched.message());
    }
  }
  plan.set_incremental(use_base);

  v1::TransferTask tree_task;
  tree_task.set_task_id("tree");
  tree_task.set_kind(kTaskTree);
  std::vector<std::string> link_paths, link_from;
  std::vector<int> copies;
  for (int i = 0; i < entries.size(); ++i) {
    const v1::Entry& e = entries[i];
    if (e.type() != v1::ENTRY_FILE) {
      tree_task.add_paths(e.path());
      continue;
    }
    std::string& source = from[static_cast<size_t>(i)];
    if (!source.empty()) {
      link_paths.push_back(e.path());
      link_from.push_back(std::move(source));
    } else {
      copies.push_back(i);
    }
  }
  std::vector<std::string>().swap(from);

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
  plan.set_items_deleted(deleted);

  LIFEBOAT_RETURN_IF_ERROR(
      sdk::WriteFileAtomically(plan_file, EncodePlanFile(req.op_id(), plan), /*durable=*/false));
  // The transfers of this plan read the cut and its index: hand them this parse of it.
  KeepStagedCut(staging, std::move(cut));
  host_.Info("planned restore point " + rp + " of " + name + ": " +
             (use_base ? "incremental from " + base_rp : "full") + ", " +
             std::to_string(copies.size()) + " files (" + std::to_string(bytes_to_copy) +
             " bytes) to copy, " + std::to_string(link_paths.size()) + " to link, " +
             std::to_string(seeds.size()) + " to seed from the live data set");
  return plan;
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
    KeepEntriesHome(*resp.mutable_manifest());
    return resp;
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();

  LIFEBOAT_ASSIGN_OR_RETURN(std::shared_ptr<const StagedCut> staged,
                            LoadStagedCut(key, rp, ref.cut_op_id()));
  const std::string tree = JoinPath(staged->dir, kTreeDir);
  const v1::MemberManifest& cut_manifest = staged->cut.manifest();
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<WalkEntry> walked, WalkTree(tree));
  // The walk is sorted by path as the manifest is: found by binary search, no index.
  auto find_walked = [&walked](const std::string& path) -> const WalkEntry* {
    auto it = std::lower_bound(walked.begin(), walked.end(), path,
                               [](const WalkEntry& w, const std::string& p) { return w.rel < p; });
    return it != walked.end() && it->rel == path ? &*it : nullptr;
  };

  // Every item of the manifest must be staged. After a restart of the machine, files that
  // were staged without fsync are read back and compared with their digests first.
  size_t missing = 0;
  std::string first_missing;
  std::vector<int> to_check;
  for (int i = 0; i < cut_manifest.entries_size(); ++i) {
    const v1::Entry& e = cut_manifest.entries(i);
    const WalkEntry* w = find_walked(e.path());
    bool ok = w != nullptr && EntryTypeOf(w->st) == e.type() &&
              (e.type() != v1::ENTRY_FILE || static_cast<uint64_t>(w->st.st_size) == e.size());
    if (ok && e.type() == v1::ENTRY_FILE && !staged->same_boot) to_check.push_back(i);
    if (!ok && missing++ == 0) first_missing = e.path();
  }
  if (!to_check.empty()) {
    host_.Warn("the machine restarted since " + staged->dir +
               " was staged; reading the staged files back before committing");
    std::vector<char> bad(to_check.size(), 0);
    std::atomic<bool> stop{false};
    LIFEBOAT_RETURN_IF_ERROR(sdk::ParallelFor(
        to_check.size(), config_.parallelism,
        [&](size_t k) -> Status {
          const v1::Entry& e = cut_manifest.entries(to_check[k]);
          sdk::ReadChunkCallback on_chunk = [&](uint64_t) -> Status {
            return call.Cancelled() ? CancelledError("commit cancelled; commit again") : OkStatus();
          };
          StatusOr<std::string> digest = sdk::Sha256OfFile(
              JoinPath(tree, e.path()), static_cast<uint64_t>(config_.chunk_bytes), on_chunk);
          if (!digest.ok() && digest.status().code() == Code::kCancelled) return digest.status();
          if (!digest.ok() || *digest != e.digest()) bad[k] = 1;
          return OkStatus();
        },
        &stop));
    for (size_t k = 0; k < to_check.size(); ++k) {
      if (!bad[k]) continue;
      const std::string& path = cut_manifest.entries(to_check[k]).path();
      ::unlink(JoinPath(tree, path).c_str());
      if (missing++ == 0 || path < first_missing) first_missing = path;
    }
    if (missing == 0) {
      LIFEBOAT_RETURN_IF_ERROR(sdk::WriteFileAtomically(JoinPath(staged->dir, kBootIdFile),
                                                        BootId(), /*durable=*/false));
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
    if (FindEntry(staged->cut.manifest().entries(), w.rel) >= 0) continue;
    host_.Warn("removing " + JoinPath(tree, w.rel) + " from the staged tree: not in the manifest");
    LIFEBOAT_RETURN_IF_ERROR(RemoveTree(JoinPath(tree, w.rel)));
    removed_prefix = w.rel + "/";
  }

  // The walk has served; a tree of many files should not hold it while the manifest is
  // copied and written below.
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

  // The point's manifest is the cut's with the commit's fields: they are appended to its
  // bytes (a parse takes the last value of a field), so the entries are not copied (issue 13).
  v1::MemberManifest manifest = WithoutEntries(cut_manifest);
  manifest.set_committed_unix_nanos(host_.NowUnixNanos());
  manifest.set_base_restore_point_id(req.base_restore_point_id());
  {
    std::string bytes;
    v1::MemberManifest commit_fields;
    commit_fields.set_committed_unix_nanos(manifest.committed_unix_nanos());
    commit_fields.set_base_restore_point_id(manifest.base_restore_point_id());
    commit_fields.set_entry_count(manifest.entry_count());
    if (!cut_manifest.SerializeToString(&bytes) || !commit_fields.AppendToString(&bytes)) {
      return InternalError("cannot serialize the manifest of restore point " + rp, rp);
    }
    LIFEBOAT_RETURN_IF_ERROR(sdk::WriteFileAtomically(JoinPath(staged->dir, kManifestFile), bytes,
                                                      /*durable=*/true));
  }
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
  LIFEBOAT_RETURN_IF_ERROR(sdk::SyncDirectory(layout_.PointsOf(key)));
  for (const char* f : kPlanFiles) ::unlink(JoinPath(point, f).c_str());
  LIFEBOAT_RETURN_IF_ERROR(UpdateCurrent(key, rp, manifest.committed_unix_nanos()));
  host_.Info("committed restore point " + rp + " of " + name + ": " +
             std::to_string(manifest.entry_count()) + " entries, " +
             std::to_string(manifest.total_bytes()) + " bytes");
  v1::CommitResponse resp;
  *resp.mutable_manifest() = std::move(manifest);  // counts: manifest.pb holds the entries
  return resp;
}

}  // namespace lifeboat::localfs
