// plan_transfer on the target: the source's cut record fetched into the staging directory as
// a stream, checked, indexed (index.lbm) and merged with the base point's manifest, one entry
// at a time (issue 13). The plan lists only what changed: unchanged files are named by ranges
// of the cut (link tasks of TaskRange), a full copy by ranges too; the paths listed are the
// files to copy and those linked from another path of the base (renamed or copied files).
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/manifest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "peer.h"
#include "stage.h"
#include "staged_index.h"

namespace lifeboat::localfs {
namespace {

// Copy tasks group files up to this many bytes or files; a bigger file is a task alone.
constexpr uint64_t kTaskMaxBytes = 64ull << 20;
constexpr size_t kTaskMaxFiles = 256;
// Link tasks are cheap (one link(2) per file) but a task should stay short.
constexpr size_t kLinkTaskMaxFiles = 10000;

bool Linkable(const v1::Entry& b, const v1::Entry& e) {
  return b.type() == v1::ENTRY_FILE && e.type() == v1::ENTRY_FILE && b.size() == e.size() &&
         b.digest() == e.digest() && SameMetadata(b, e);
}

// A range of the cut being filled with the files of one task.
struct OpenRange {
  std::string first, last;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// The tasks of one plan, built as the cut streams by in path order.
class PlanBuilder {
 public:
  PlanBuilder(std::string base_rp, bool copy_ranges)
      : base_rp_(std::move(base_rp)), copy_ranges_(copy_ranges) {}

  // A file of the cut that the base holds at the same path, linkable.
  void SamePathLink(const v1::Entry& e) {
    Extend(link_, e);
    ++unchanged_;
    if (link_.files >= kLinkTaskMaxFiles) CloseLink();
  }
  // A file that must be copied or linked from another path of the base.
  void Other(const v1::Entry& e) {
    if (copy_ranges_) {
      bytes_to_copy_ += e.size();
      ++items_to_copy_;
      if (copy_.files > 0 && (copy_.bytes + e.size() > kTaskMaxBytes ||
                              copy_.files >= kTaskMaxFiles || e.size() > kTaskMaxBytes)) {
        CloseCopy();
      }
      Extend(copy_, e);
      copy_.bytes += e.size();
      if (e.size() > kTaskMaxBytes) CloseCopy();
      return;
    }
    other_.push_back(e);
  }

  void CloseLink() {
    if (link_.files == 0) return;
    v1::TransferTask t;
    t.set_task_id("link-" + std::to_string(++n_link_));
    t.set_kind(kTaskLink);
    t.set_opaque(EncodeTaskRange(TaskRange{base_rp_, link_.first, link_.last, false}));
    links_.push_back(std::move(t));
    link_ = OpenRange();
  }
  void CloseCopy() {
    if (copy_.files == 0) return;
    v1::TransferTask t;
    t.set_task_id(std::string(kTaskCopy) + "-" + std::to_string(++n_copy_));
    t.set_kind(kTaskCopy);
    t.set_bytes(copy_.bytes);
    t.set_items(copy_.files);
    t.set_opaque(EncodeTaskRange(TaskRange{"", copy_.first, copy_.last, false}));
    copies_.push_back(std::move(t));
    copy_ = OpenRange();
  }

  // Files of other_ that the base holds at another path with the same content and metadata
  // become link tasks listing their sources; the second pass over the base looks up only them.
  Status MatchRenamed(const std::string& base_file) {
    if (other_.empty()) return OkStatus();
    std::map<std::pair<uint64_t, std::string>, std::vector<size_t>> wanted;
    for (size_t i = 0; i < other_.size(); ++i)
      wanted[{other_[i].size(), other_[i].digest()}].push_back(i);
    from_.assign(other_.size(), std::string());
    LIFEBOAT_ASSIGN_OR_RETURN(auto base, ManifestFileEntries::Open(base_file, /*in_cut=*/false));
    v1::Entry b;
    for (;;) {
      LIFEBOAT_ASSIGN_OR_RETURN(bool more, base->Next(&b));
      if (!more) return OkStatus();
      if (b.type() != v1::ENTRY_FILE) continue;
      auto it = wanted.find({b.size(), b.digest()});
      if (it == wanted.end()) continue;
      for (size_t i : it->second) {
        if (from_[i].empty() && Linkable(b, other_[i])) from_[i] = b.path();
      }
    }
  }

  // Seeds: files of other_ that this cluster's live data set holds with the same size and
  // mtime (no base: a first backup here, as after a failover).
  void Seed(const std::string& live) {
    seed_.assign(other_.size(), 0);
    for (size_t i = 0; i < other_.size(); ++i) {
      const v1::Entry& e = other_[i];
      struct stat st;
      const std::string at = JoinPath(live, e.path());
      seed_[i] = ::lstat(at.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                 static_cast<uint64_t>(st.st_size) == e.size() &&
                 MtimeNs(st) == e.mtime_unix_nanos();
    }
  }

  // The plan's tasks: tree, links, seeds, copies; and its counts.
  void Finish(v1::PlanTransferResponse& plan) {
    CloseLink();
    CloseCopy();
    v1::TransferTask* tree = plan.add_tasks();
    tree->set_task_id("tree");
    tree->set_kind(kTaskTree);
    tree->set_opaque(EncodeTaskRange(TaskRange{"", "", "", true}));
    for (auto& t : links_) *plan.add_tasks() = std::move(t);
    // Renamed and copied files: linked from their source path in the base.
    std::vector<std::string> paths, sources;
    auto flush_renamed = [&] {
      if (paths.empty()) return;
      v1::TransferTask* t = plan.add_tasks();
      t->set_task_id("link-" + std::to_string(++n_link_));
      t->set_kind(kTaskLink);
      for (auto& p : paths) t->add_paths(std::move(p));
      t->set_opaque(EncodeLinkSources(base_rp_, sources));
      paths.clear();
      sources.clear();
    };
    for (size_t i = 0; i < from_.size(); ++i) {
      if (from_[i].empty()) continue;
      paths.push_back(other_[i].path());
      sources.push_back(from_[i]);
      ++unchanged_;
      if (paths.size() >= kLinkTaskMaxFiles) flush_renamed();
    }
    flush_renamed();
    uint64_t seeds = 0;
    for (const char* kind : {kTaskSeed, kTaskCopy}) {
      const bool seeding = kind == kTaskSeed;
      int n_tasks = 0;
      v1::TransferTask* open_task = nullptr;
      uint64_t open_bytes = 0;
      for (size_t i = 0; i < other_.size(); ++i) {
        if (i < from_.size() && !from_[i].empty()) continue;
        const bool seed = i < seed_.size() && seed_[i];
        if (seed != seeding) continue;
        const v1::Entry& e = other_[i];
        if (seeding) {
          ++seeds;
        } else {
          bytes_to_copy_ += e.size();
          ++items_to_copy_;
        }
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
    for (auto& t : copies_) *plan.add_tasks() = std::move(t);
    unchanged_ += seeds;
    if (seeds > 0) {
      plan.set_full_reason(plan.full_reason() + (plan.full_reason().empty() ? "" : "; ") +
                           std::to_string(seeds) +
                           " files seeded from this cluster's live data set");
    }
    plan.set_bytes_to_copy(bytes_to_copy_);
    plan.set_items_to_copy(items_to_copy_);
    plan.set_items_unchanged(unchanged_);
  }

 private:
  static void Extend(OpenRange& r, const v1::Entry& e) {
    if (r.files == 0) r.first = e.path();
    r.last = e.path();
    ++r.files;
  }

  std::string base_rp_;
  bool copy_ranges_;
  OpenRange link_, copy_;
  int n_link_ = 0, n_copy_ = 0;
  std::vector<v1::TransferTask> links_, copies_;
  std::vector<v1::Entry> other_;  // what changed (or everything, when seeding may apply)
  std::vector<std::string> from_;
  std::vector<char> seed_;
  uint64_t bytes_to_copy_ = 0, items_to_copy_ = 0, unchanged_ = 0;
};

// True when `dir` holds anything (or cannot be listed): a live data set seeding may use.
bool HasLiveData(const std::string& dir) {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator(dir, ec);
  if (ec) return ec != std::errc::no_such_file_or_directory;
  return it != std::filesystem::directory_iterator();
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

  StatusOr<v1::SnapshotRef> committed =
      ReadPointSnapshot(JoinPath(layout_.Point(key, rp), kManifestFile));
  if (committed.ok()) {
    if (committed->cut_op_id() != ref.cut_op_id()) {
      return AlreadyExistsError(
          "restore point " + rp + " of " + name + " is already committed here from cut operation " +
              committed->cut_op_id() + ", not " + ref.cut_op_id() + "; use a new restore point id",
          rp);
    }
    return v1::PlanTransferResponse();  // nothing left to move
  }

  const std::string staging = layout_.Staging(key, rp);
  const std::string plan_file = JoinPath(staging, kPlanFile);
  const std::string staged_cut = JoinPath(staging, kCutFile);
  StatusOr<v1::CutResponse> staged_ref = ReadProto<v1::CutResponse>(JoinPath(staging, kCutRefFile));
  if (staged_ref.ok() && staged_ref->snapshot().cut_op_id() == ref.cut_op_id()) {
    StatusOr<std::string> stored = sdk::ReadWholeFile(plan_file);
    v1::PlanTransferResponse plan;
    if (stored.ok() && DecodePlanFile(*stored, req.op_id(), plan)) return plan;
  }
  // Staged from scratch: what is there belongs to another cut, or to a plan that did not end.
  LIFEBOAT_ASSIGN_OR_RETURN(auto old, LstatIfExists(staging));
  bool keep_tree = false;
  if (old && staged_ref.ok() && staged_ref->snapshot().cut_op_id() == ref.cut_op_id()) {
    keep_tree = true;  // the same cut, planned again: the files staged so far still count
  } else if (old) {
    host_.Info("discarding " + staging + ": it holds another cut of restore point " + rp);
    LIFEBOAT_RETURN_IF_ERROR(MoveToTrashAndRemove(staging));
  }
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(JoinPath(staging, kTreeDir), 0755));
  if (!keep_tree) {
    LIFEBOAT_RETURN_IF_ERROR(
        sdk::WriteFileAtomically(JoinPath(staging, kBootIdFile), BootId(), /*durable=*/false));
  }
  // cut.ref and index.lbm stay until replaced: for the same cut they say the same, and a plan
  // that fails on the way (the source unreachable) must not cost the files staged so far.
  for (const char* f : {kPlanFile, kPartNamesFile, kBaseFile}) {
    ::unlink(JoinPath(staging, f).c_str());
  }

  const std::string source_cut_file = source->by_path()
                                          ? JoinPath(source->layout().Snapshot(key, rp), kCutFile)
                                          : "the cut record of " + source->where();
  // A refused cut record leaves nothing staged.
  auto refuse = [&](Status s) -> Status {
    Status removed = MoveToTrashAndRemove(staging);
    if (!removed.ok()) host_.Warn("cannot remove " + staging + ": " + removed.ToString());
    return s;
  };
  Status fetched = source->FetchRecord(ref, kItemCut, staged_cut);
  if (!fetched.ok()) {
    if (fetched.code() == Code::kNotFound) {
      return refuse(NotFoundError("the source has no complete cut of restore point " + rp + " of " +
                                      name + " (no " + source_cut_file +
                                      "); it was released or never made: cut again",
                                  source_cut_file));
    }
    return fetched;  // transient (the peer unreachable, say): what is staged stays
  }

  // The cut streams from the staged copy: checked (it decides where the transfers write),
  // indexed, and merged with the base.
  LIFEBOAT_ASSIGN_OR_RETURN(auto cut_entries, ManifestFileEntries::Open(staged_cut, true));
  auto damaged = [&](const Status& s) {
    return DataLossError(
        "the source's cut record " + source_cut_file + " is " +
            (s.code() == Code::kInvalidArgument ? "inconsistent (" + s.message() + ")"
                                                : "corrupt (" + s.message() + ")") +
            "; release the restore point on the source and cut again",
        source_cut_file);
  };
  v1::Entry first;
  StatusOr<bool> have_first = cut_entries->Next(&first);
  if (!have_first.ok()) return refuse(damaged(have_first.status()));
  const std::string cut_op_id = cut_entries->Others().snapshot().cut_op_id();
  if (cut_op_id != ref.cut_op_id()) {
    return refuse(FailedPreconditionError(
        "the source's cut of restore point " + rp + " of " + name + " was made by operation " +
            cut_op_id + ", but the snapshot reference names " + ref.cut_op_id() +
            "; plan with the reference of the current cut",
        source_cut_file));
  }

  // The base, if one is asked for and present, with its index for the link tasks.
  v1::PlanTransferResponse plan;
  const std::string base_dir = base_rp.empty() ? std::string() : layout_.Point(key, base_rp);
  const std::string base_file = base_rp.empty() ? std::string() : JoinPath(base_dir, kManifestFile);
  bool use_base = false;
  if (!base_rp.empty()) {
    if (req.force_full()) {
      plan.set_full_reason("forced full");
    } else if (::access(base_file.c_str(), F_OK) == 0) {
      Status indexed = EnsurePointIndex(base_dir);
      use_base = indexed.ok();
      if (!indexed.ok()) {
        plan.set_full_reason("base point " + base_rp + " cannot be read: " + indexed.message());
      }
    } else if (errno == ENOENT) {
      plan.set_full_reason("base point " + base_rp + " not found on target");
    } else {
      plan.set_full_reason("base point " + base_rp + " cannot be read: " + std::strerror(errno));
    }
  }

  // One pass (two when a base turns out unreadable half-way: a full copy, never a wrong point).
  for (int pass = 0;; ++pass) {
    if (pass > 0) {
      LIFEBOAT_ASSIGN_OR_RETURN(cut_entries, ManifestFileEntries::Open(staged_cut, true));
      have_first = cut_entries->Next(&first);
      if (!have_first.ok()) return refuse(damaged(have_first.status()));
    }
    const bool seeding_possible =
        !use_base && !req.force_full() && HasLiveData(layout_.DataDir(ref.data_set().selector()));
    PlanBuilder builder(base_rp, /*copy_ranges=*/!use_base && !seeding_possible);
    sdk::ManifestWriter index(JoinPath(staging, kIndexFile), IndexWriterOptions());
    ManifestChecker checker;
    bool part_names = false;
    Status cut_failed;
    bool pending_first = *have_first;
    sdk::EntryStream cut_stream = [&](v1::Entry* e) -> StatusOr<bool> {
      if (pending_first) {
        pending_first = false;
        e->Swap(&first);
      } else {
        StatusOr<bool> more = cut_entries->Next(e);
        if (!more.ok()) {
          cut_failed = damaged(more.status());
          return cut_failed;
        }
        if (!*more) return false;
      }
      Status s = checker.Add(*e);
      if (s.ok()) s = index.Add(*e);
      if (!s.ok()) {
        cut_failed = s.code() == Code::kInvalidArgument ? damaged(s) : s;
        return cut_failed;
      }
      part_names |= LooksLikePartName(e->path());
      return true;
    };
    uint64_t deleted = 0;
    Status walked;
    if (use_base) {
      StatusOr<std::unique_ptr<ManifestFileEntries>> base =
          ManifestFileEntries::Open(base_file, /*in_cut=*/false);
      walked = base.status();
      if (base.ok()) {
        sdk::ManifestDiff diff;
        diff.same = [](const v1::Entry&, const v1::Entry&) { return true; };
        diff.unchanged = [&](const v1::Entry& b, const v1::Entry& e) -> Status {
          if (e.type() != v1::ENTRY_FILE) return OkStatus();
          if (Linkable(b, e)) {
            builder.SamePathLink(e);
          } else {
            builder.Other(e);
          }
          return OkStatus();
        };
        diff.added = [&](const v1::Entry& e) -> Status {
          if (e.type() == v1::ENTRY_FILE) builder.Other(e);
          return OkStatus();
        };
        diff.removed = [&](const v1::Entry&) {
          ++deleted;
          return OkStatus();
        };
        walked = sdk::DiffManifests((*base)->AsStream(), cut_stream, diff);
        if (walked.ok()) walked = builder.MatchRenamed(base_file);
      }
    } else {
      v1::Entry e;
      for (;;) {
        StatusOr<bool> more = cut_stream(&e);
        if (!more.ok()) {
          walked = more.status();
          break;
        }
        if (!*more) break;
        if (e.type() == v1::ENTRY_FILE) builder.Other(e);
      }
    }
    if (!cut_failed.ok()) return refuse(cut_failed);
    if (!walked.ok()) {
      if (!use_base) return walked;
      // What failed is the base (the cut's own failures are above).
      use_base = false;
      plan.set_full_reason("base point " + base_rp + " cannot be read: " + walked.message());
      continue;
    }
    LIFEBOAT_ASSIGN_OR_RETURN(sdk::ManifestSummary summary, index.Finish());
    if (seeding_possible) builder.Seed(layout_.DataDir(ref.data_set().selector()));
    plan.set_incremental(use_base);
    plan.set_items_deleted(deleted);
    builder.Finish(plan);

    // The cut's fields but its entries, for the transfers and the commit.
    v1::CutResponse header;
    *header.mutable_manifest() = cut_entries->Others();
    header.mutable_manifest()->clear_entries();
    header.mutable_manifest()->set_entry_count(summary.entry_count);
    *header.mutable_snapshot() = header.manifest().snapshot();
    if (use_base) {
      LIFEBOAT_RETURN_IF_ERROR(
          sdk::WriteFileAtomically(JoinPath(staging, kBaseFile), base_rp, /*durable=*/false));
    }
    if (part_names) {
      LIFEBOAT_RETURN_IF_ERROR(
          sdk::WriteFileAtomically(JoinPath(staging, kPartNamesFile), "", /*durable=*/true));
    }
    LIFEBOAT_RETURN_IF_ERROR(WriteProto(JoinPath(staging, kCutRefFile), header, /*durable=*/true));
    LIFEBOAT_RETURN_IF_ERROR(
        sdk::WriteFileAtomically(plan_file, EncodePlanFile(req.op_id(), plan), /*durable=*/false));
    host_.Info("planned restore point " + rp + " of " + name + ": " +
               (use_base ? "incremental from " + base_rp : "full") + ", " +
               std::to_string(plan.items_to_copy()) + " files (" +
               std::to_string(plan.bytes_to_copy()) + " bytes) to copy, " +
               std::to_string(plan.items_unchanged()) + " unchanged (linked or seeded), " +
               std::to_string(plan.tasks_size()) + " tasks");
    return plan;
  }
}

}  // namespace lifeboat::localfs
