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
#include "staged_index.h"

namespace lifeboat::localfs {

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

StatusOr<LocalfsPlugin::StagedCut> LocalfsPlugin::LoadStagedCut(const std::string& key,
                                                                const std::string& rp,
                                                                const std::string& cut_op_id) {
  StagedCut staged;
  staged.dir = layout_.Staging(key, rp);
  const std::string file = JoinPath(staged.dir, kCutRefFile);
  // Small files only: the entries stay in index.lbm, read by range (issue 13).
  StatusOr<v1::CutResponse> header = ReadProto<v1::CutResponse>(file);
  if (!header.ok()) {
    if (header.status().code() == Code::kNotFound) {
      return FailedPreconditionError("nothing is staged for restore point " + rp + " (no " + file +
                                         "); run plan_transfer first",
                                     staged.dir);
    }
    return FailedPreconditionError("the staged cut " + file + " cannot be read (" +
                                       header.status().message() + "); run plan_transfer again",
                                   file);
  }
  staged.header = std::move(header).value();
  if (!cut_op_id.empty() && staged.header.snapshot().cut_op_id() != cut_op_id) {
    return FailedPreconditionError("the cut staged for restore point " + rp +
                                       " was made by operation " +
                                       staged.header.snapshot().cut_op_id() + ", not " + cut_op_id +
                                       "; run plan_transfer for the current snapshot",
                                   staged.dir);
  }
  StatusOr<std::string> boot = sdk::ReadWholeFile(JoinPath(staged.dir, kBootIdFile));
  staged.same_boot = boot.ok() && !boot->empty() && *boot == BootId();
  staged.part_names = ::access(JoinPath(staged.dir, kPartNamesFile).c_str(), F_OK) == 0;
  return staged;
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
  static const char* const kPlanFiles[] = {kCutFile,    kPlanFile,      kBootIdFile,
                                           kCutRefFile, kPartNamesFile, kBaseFile};
  StatusOr<v1::MemberManifest> existing = ReadPointHeader(JoinPath(point, kManifestFile));
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

  LIFEBOAT_ASSIGN_OR_RETURN(StagedCut staged, LoadStagedCut(key, rp, ref.cut_op_id()));
  const std::string tree = JoinPath(staged.dir, kTreeDir);

  // The staged tree, walked into a sorted scratch manifest and merged with the cut's index:
  // neither is held whole (issue 13).
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(layout_.Scratch(), 0700));
  const std::string walk_file = JoinPath(layout_.Scratch(), UniqueName("commit-"));
  struct Scratch {
    std::string path;
    ~Scratch() { ::unlink(path.c_str()); }
  } scratch{walk_file};
  std::vector<std::string> extra;  // in the tree, not in the manifest (raw names)
  LIFEBOAT_RETURN_IF_ERROR(
      WalkTreeSorted(call, tree, walk_file, [&](const std::string& raw, v1::EntryType) {
        extra.push_back(raw);  // a name no manifest can hold
      }));
  LIFEBOAT_ASSIGN_OR_RETURN(auto want, sdk::ManifestReader::Open(JoinPath(staged.dir, kIndexFile)));
  LIFEBOAT_ASSIGN_OR_RETURN(auto got, sdk::ManifestReader::Open(walk_file));

  // Every item of the manifest must be staged. After a restart of the machine, files that
  // were staged without fsync are read back and compared with their digests first.
  size_t missing = 0;
  std::string first_missing;
  std::vector<std::pair<std::string, std::string>> to_check;  // path, digest
  std::vector<v1::Entry> dirs;  // their modes and mtimes are applied last
  sdk::ManifestDiff diff;
  diff.same = [](const v1::Entry& w, const v1::Entry& g) {
    return g.type() == w.type() && (w.type() != v1::ENTRY_FILE || g.size() == w.size());
  };
  auto note_dir = [&](const v1::Entry& w) {
    if (w.type() == v1::ENTRY_DIRECTORY) dirs.push_back(w);
  };
  diff.unchanged = [&](const v1::Entry& w, const v1::Entry&) -> Status {
    note_dir(w);
    if (w.type() == v1::ENTRY_FILE && !staged.same_boot)
      to_check.emplace_back(w.path(), w.digest());
    return OkStatus();
  };
  diff.changed = [&](const v1::Entry& w, const v1::Entry&) -> Status {
    note_dir(w);
    if (missing++ == 0) first_missing = w.path();
    return OkStatus();
  };
  diff.removed = [&](const v1::Entry& w) -> Status {  // in the manifest only
    note_dir(w);
    if (missing++ == 0) first_missing = w.path();
    return OkStatus();
  };
  diff.added = [&](const v1::Entry& g) -> Status {  // in the tree only
    extra.push_back(g.path());
    return OkStatus();
  };
  LIFEBOAT_RETURN_IF_ERROR(sdk::DiffManifests(want->AsStream(), got->AsStream(), diff));
  got.reset();
  if (!to_check.empty()) {
    host_.Warn("the machine restarted since " + staged.dir +
               " was staged; reading the staged files back before committing");
    std::vector<char> bad(to_check.size(), 0);
    std::atomic<bool> stop{false};
    LIFEBOAT_RETURN_IF_ERROR(sdk::ParallelFor(
        to_check.size(), config_.parallelism,
        [&](size_t k) -> Status {
          sdk::ReadChunkCallback on_chunk = [&](uint64_t) -> Status {
            return call.Cancelled() ? CancelledError("commit cancelled; commit again") : OkStatus();
          };
          StatusOr<std::string> digest =
              sdk::Sha256OfFile(JoinPath(tree, to_check[k].first),
                                static_cast<uint64_t>(config_.chunk_bytes), on_chunk);
          if (!digest.ok() && digest.status().code() == Code::kCancelled) return digest.status();
          if (!digest.ok() || *digest != to_check[k].second) bad[k] = 1;
          return OkStatus();
        },
        &stop));
    for (size_t k = 0; k < to_check.size(); ++k) {
      if (!bad[k]) continue;
      const std::string& path = to_check[k].first;
      ::unlink(JoinPath(tree, path).c_str());
      if (missing++ == 0 || path < first_missing) first_missing = path;
    }
    if (missing == 0) {
      LIFEBOAT_RETURN_IF_ERROR(
          sdk::WriteFileAtomically(JoinPath(staged.dir, kBootIdFile), BootId(), /*durable=*/false));
    }
  }
  if (missing > 0) {
    return FailedPreconditionError(std::to_string(missing) + " files not transferred yet: first " +
                                       first_missing + "; run the remaining transfer tasks of " +
                                       "restore point " + rp + ", then commit again",
                                   first_missing);
  }

  // Anything else in the tree (a part left by an interrupted copy) is not part of the point.
  std::sort(extra.begin(), extra.end());
  std::string removed_prefix;
  for (const std::string& rel : extra) {
    if (!removed_prefix.empty() && rel.compare(0, removed_prefix.size(), removed_prefix) == 0) {
      continue;
    }
    host_.Warn("removing " + Printable(JoinPath(tree, rel)) +
               " from the staged tree: not in the manifest");
    LIFEBOAT_RETURN_IF_ERROR(RemoveTree(JoinPath(tree, rel)));
    removed_prefix = rel + "/";
  }

  // Directory modes and mtimes last, deepest first: creating entries moved them.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    LIFEBOAT_RETURN_IF_ERROR(ApplyEntryMetadata(JoinPath(tree, it->path()), *it));
  }
  std::vector<v1::Entry>().swap(dirs);

  // One syncfs instead of an fsync per file: everything staged becomes durable before the
  // manifest that declares the point complete.
  {
    UniqueFd fd(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError(errno, "cannot open", tree);
    if (::syncfs(fd.get()) != 0) return ErrnoError(errno, "cannot sync the file system of", tree);
  }

  // The point's manifest is the cut's with the commit's fields appended to its bytes (a parse
  // takes the last value of a field), copied as a stream from the staged cut record.
  v1::MemberManifest manifest = staged.header.manifest();
  manifest.set_committed_unix_nanos(host_.NowUnixNanos());
  manifest.set_base_restore_point_id(req.base_restore_point_id());
  {
    v1::MemberManifest commit_fields;
    commit_fields.set_committed_unix_nanos(manifest.committed_unix_nanos());
    commit_fields.set_base_restore_point_id(manifest.base_restore_point_id());
    commit_fields.set_entry_count(manifest.entry_count());
    LIFEBOAT_RETURN_IF_ERROR(WriteManifestFromCut(JoinPath(staged.dir, kCutFile),
                                                  JoinPath(staged.dir, kManifestFile),
                                                  commit_fields.SerializeAsString()));
  }
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(layout_.PointsOf(key), 0755));
  LIFEBOAT_ASSIGN_OR_RETURN(auto in_the_way, LstatIfExists(point));
  if (in_the_way) {
    // A directory without manifest.pb is no point; it can only be debris.
    host_.Warn("removing " + point + ": it holds no manifest.pb");
    LIFEBOAT_RETURN_IF_ERROR(MoveToTrashAndRemove(point));
  }
  // The point appears complete or not at all; its index.lbm comes along (the next plan's base).
  if (::rename(staged.dir.c_str(), point.c_str()) != 0) {
    return ErrnoError(errno, "cannot move the staged point into place:", staged.dir);
  }
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
