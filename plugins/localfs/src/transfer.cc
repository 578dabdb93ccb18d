// The target side's transfer of one task: tree (directories, symbolic links), link (hard
// links from the base point) or copy (content pulled from the source's snapshot).
#include <fcntl.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/throttle.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "peer.h"
#include "stage.h"
#include "staged_index.h"

namespace lifeboat::localfs {
namespace {

// Directories known to exist in the staging tree during one call, so that a link or copy
// costs no mkdir(2) for a parent that an earlier file of the call already ensured.
class KnownDirs {
 public:
  Status Ensure(const std::string& dir) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (known_.count(dir) != 0) return OkStatus();
    }
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(dir, 0755));
    std::lock_guard<std::mutex> lock(mu_);
    known_.insert(dir);
    return OkStatus();
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> known_;
};

struct Counters {
  std::atomic<uint64_t> copied{0};
  std::atomic<uint64_t> skipped{0};
  std::atomic<uint64_t> items{0};
};

// Clears whatever is at `path` unless it is a regular file of `size` bytes. Returns true
// when such a file is there.
StatusOr<bool> CompleteFileAt(const std::string& path, uint64_t size) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto st, LstatIfExists(path));
  if (!st) return false;
  if (S_ISREG(st->st_mode) && static_cast<uint64_t>(st->st_size) == size) return true;
  LIFEBOAT_RETURN_IF_ERROR(RemoveTree(path));
  return false;
}

// Copies a file into `part` with sdk::CopyResumable from `read` (from scratch, or continuing
// the part when `resume`), checking the content against `e`, then sets its metadata and
// renames it to `final_path`. ABORTED with `changed` as message when the source does not hold
// the content of `e`, or with `missing` when it does not exist; the part is then removed.
// `options` carries the progress, throttle and stop callbacks; data written without fsync is
// made durable by commit's syncfs.
Status CopyVerified(const sdk::Call& call, const sdk::RangeReader& read, const std::string& part,
                    const std::string& final_path, const v1::Entry& e, bool resume,
                    sdk::CopyOptions options, const std::string& changed,
                    const std::string& missing) {
  options.sync = false;
  options.write_back = true;
  options.create_mode = 0600;
  if (!resume && ::unlink(part.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "cannot remove", part);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<sdk::CopyResult> copied = sdk::CopyResumable(call, read, e.size(), part, options);
    if (copied.status().code() == Code::kNotFound) {
      ::unlink(part.c_str());
      return AbortedError(missing, e.path());
    }
    if (copied.status().code() == Code::kOutOfRange) {
      ::unlink(part.c_str());
      return AbortedError(changed, e.path());
    }
    LIFEBOAT_RETURN_IF_ERROR(copied.status());  // a cancellation keeps the part for the next call
    if (copied->sha256 == e.digest()) {
      UniqueFd out(::open(part.c_str(), O_RDWR | O_CLOEXEC));
      if (!out.valid()) return ErrnoError(errno, "cannot open", part);
      LIFEBOAT_RETURN_IF_ERROR(ApplyEntryMetadata(out.get(), part, e));
      out.Reset();
      if (::rename(part.c_str(), final_path.c_str()) != 0) {
        return ErrnoError(errno, "cannot rename into place:", part);
      }
      return OkStatus();
    }
    if (copied->bytes_skipped == 0) break;
    // The resumed prefix may be what is wrong: copy the whole file once more.
    ::unlink(part.c_str());
  }
  ::unlink(part.c_str());
  return AbortedError(changed, e.path());
}

// CopyVerified() from the file `from` of this host.
Status CopyVerifiedFrom(const sdk::Call& call, const std::string& from, uint64_t chunk_bytes,
                        const std::string& part, const std::string& final_path, const v1::Entry& e,
                        bool resume, sdk::CopyOptions options, const std::string& changed,
                        const std::string& missing) {
  // Checked up front: CopyResumable never reads the source of an empty (or wholly resumed)
  // file, and a file gone from the source must not pass for one.
  if (::access(from.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return AbortedError(missing, e.path());
    return ErrnoError(errno, "cannot open", from);
  }
  return CopyVerified(call, sdk::LocalFileReader(from, chunk_bytes), part, final_path, e, resume,
                      std::move(options), changed, missing);
}

}  // namespace

StatusOr<v1::TransferResponse> LocalfsPlugin::Transfer(sdk::Call& call,
                                                       const v1::TransferRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const v1::TransferTask& task = req.task();
  if (task.kind() != kTaskTree && task.kind() != kTaskLink && task.kind() != kTaskCopy &&
      task.kind() != kTaskSeed) {
    return InvalidArgumentError("task " + task.task_id() + " has kind '" + task.kind() +
                                    "'; localfs knows tree, link, copy and seed",
                                "task.kind");
  }
  for (const auto& p : task.paths()) LIFEBOAT_RETURN_IF_ERROR(ValidateRelativePath(p, "task path"));
  const std::string& rp = ref.restore_point_id();
  const std::string key = DataSetKey(ref.data_set().selector());
  auto staging_lock = locks_.Get("staging:" + key + "/" + rp);
  std::shared_lock<std::shared_mutex> guard(*staging_lock);
  StatusOr<StagedCut> loaded = LoadStagedCut(key, rp, ref.cut_op_id());
  if (!loaded.ok()) {
    // A task repeated after its point was committed has nothing left to do.
    StatusOr<v1::SnapshotRef> committed =
        ReadPointSnapshot(JoinPath(layout_.Point(key, rp), kManifestFile));
    if (committed.ok() && (ref.cut_op_id().empty() || committed->cut_op_id() == ref.cut_op_id())) {
      v1::TransferResponse done;
      done.set_bytes_skipped(task.bytes());
      done.set_items_done(task.items() != 0 ? task.items()
                                            : static_cast<uint64_t>(task.paths_size()));
      return done;
    }
    return loaded.status();
  }
  const StagedCut staged = std::move(loaded).value();
  const std::string tree = JoinPath(staged.dir, kTreeDir);
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<TaskRange> range, DecodeTaskRange(task));
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<IndexCursor> index,
                            IndexCursor::Open(JoinPath(staged.dir, kIndexFile)));
  // A link task over a range links from the base's file of the same path.
  std::unique_ptr<IndexCursor> base_index;
  std::string base_rp;
  v1::TransferTask sources;  // a link task that lists its paths: where each comes from
  if (task.kind() == kTaskLink) {
    if (range) {
      base_rp = range->base_rp;
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(sources, DecodeLinkSources(task));
      base_rp = sources.task_id();
    }
    if (base_rp.empty()) {
      return InvalidArgumentError(
          "link task " + task.task_id() + " names no base point; plan the transfer again",
          task.task_id());
    }
    const std::string base_point = layout_.Point(key, base_rp);
    if (::access(JoinPath(base_point, kManifestFile).c_str(), F_OK) != 0) {
      return AbortedError("base point " + base_rp +
                              " is no longer on this cluster (expired?); plan the transfer of "
                              "restore point " +
                              rp + " again",
                          base_point);
    }
    if (range) {
      LIFEBOAT_RETURN_IF_ERROR(EnsurePointIndex(base_point));
      LIFEBOAT_ASSIGN_OR_RETURN(base_index, IndexCursor::Open(JoinPath(base_point, kIndexFile)));
    }
  }
  auto fits = [&](const v1::Entry& e) {
    return task.kind() == kTaskTree ? e.type() != v1::ENTRY_FILE : e.type() == v1::ENTRY_FILE;
  };
  // The entries of the task, a task's worth (bounded by the plan), and for each link its
  // source path in the base.
  std::vector<v1::Entry> items;
  std::vector<std::string> link_from;
  if (range) {
    LIFEBOAT_RETURN_IF_ERROR(
        index->ForRange(range->first, range->last, range->whole, [&](const v1::Entry& e) -> Status {
          if (!fits(e)) return OkStatus();
          if (base_index) {
            LIFEBOAT_ASSIGN_OR_RETURN(const v1::Entry* b, base_index->Find(e.path()));
            if (b == nullptr || b->type() != v1::ENTRY_FILE || b->size() != e.size() ||
                b->digest() != e.digest() || !SameMetadata(*b, e)) {
              return OkStatus();  // copied, or linked from another path, by another task
            }
            link_from.push_back(e.path());
          }
          items.push_back(e);
          return OkStatus();
        }));
  } else {
    items.reserve(static_cast<size_t>(task.paths_size()));
    for (int k = 0; k < task.paths_size(); ++k) {
      const std::string& p = task.paths(k);
      LIFEBOAT_ASSIGN_OR_RETURN(const v1::Entry* e, index->Find(p));
      if (e == nullptr) {
        return InvalidArgumentError("task " + task.task_id() + " names " + p +
                                        ", which is not in the manifest of restore point " + rp +
                                        "; plan the transfer again",
                                    p);
      }
      if (!fits(*e)) {
        return InvalidArgumentError("task " + task.task_id() + " of kind " + task.kind() +
                                        " cannot hold " + p + "; plan the transfer again",
                                    p);
      }
      items.push_back(*e);
      if (task.kind() == kTaskLink) link_from.push_back(sources.paths(k));
    }
  }
  // The name of a file's partial copy: "<path>.lbpart", numbered in the unlikely case that the
  // cut holds that name too (known from the plan: it looked at every path).
  std::mutex part_mu;
  auto part_path = [&](const std::string& path) -> StatusOr<std::string> {
    std::string part = path + kPartSuffix;
    if (!staged.part_names) return JoinPath(tree, part);
    std::lock_guard<std::mutex> lock(part_mu);
    LIFEBOAT_ASSIGN_OR_RETURN(auto lookup, IndexCursor::Open(JoinPath(staged.dir, kIndexFile)));
    for (int n = 1;; ++n) {
      LIFEBOAT_ASSIGN_OR_RETURN(const v1::Entry* taken, lookup->Find(part));
      if (taken == nullptr) return JoinPath(tree, part);
      part = path + kPartSuffix + std::to_string(n);
    }
  };

  Counters counters;
  KnownDirs dirs;
  const uint64_t chunk = static_cast<uint64_t>(config_.chunk_bytes);
  v1::TransferResponse resp;

  if (task.kind() == kTaskTree) {
    size_t n = 0;
    for (const v1::Entry& entry : items) {
      const v1::Entry* e = &entry;
      if (++n % 256 == 0 && call.Cancelled()) {
        return CancelledError("transfer cancelled; run the task again to continue");
      }
      std::string dst = JoinPath(tree, e->path());
      LIFEBOAT_ASSIGN_OR_RETURN(auto st, LstatIfExists(dst));
      if (e->type() == v1::ENTRY_DIRECTORY) {
        if (st && !S_ISDIR(st->st_mode)) LIFEBOAT_RETURN_IF_ERROR(RemoveTree(dst));
        // Modes and mtimes of directories are applied at commit, once their content is in.
        LIFEBOAT_RETURN_IF_ERROR(dirs.Ensure(dst));
      } else {
        if (st && S_ISLNK(st->st_mode)) {
          StatusOr<std::string> target = ReadLink(dst);
          if (target.ok() && *target == e->symlink_target()) {
            counters.items++;
            continue;
          }
        }
        if (st) LIFEBOAT_RETURN_IF_ERROR(RemoveTree(dst));
        LIFEBOAT_RETURN_IF_ERROR(dirs.Ensure(ParentOf(dst)));
        if (::symlink(e->symlink_target().c_str(), dst.c_str()) != 0) {
          return ErrnoError(errno, "cannot create symbolic link", dst);
        }
        LIFEBOAT_RETURN_IF_ERROR(
            ApplyPathMetadata(dst, true, e->uid(), e->gid(), e->mode(), e->mtime_unix_nanos()));
      }
      counters.items++;
    }
  } else if (task.kind() == kTaskLink) {
    const std::string base_tree = JoinPath(layout_.Point(key, base_rp), kTreeDir);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i % 256 == 255 && call.Cancelled()) {
        return CancelledError("transfer cancelled; run the task again to continue");
      }
      const v1::Entry& e = items[i];
      std::string dst = JoinPath(tree, e.path());
      LIFEBOAT_ASSIGN_OR_RETURN(bool present, CompleteFileAt(dst, e.size()));
      if (present) {
        counters.items++;
        continue;
      }
      LIFEBOAT_RETURN_IF_ERROR(dirs.Ensure(ParentOf(dst)));
      std::string from = JoinPath(base_tree, link_from[i]);
      if (::link(from.c_str(), dst.c_str()) == 0) {
        counters.items++;
        continue;
      }
      int err = errno;
      if (err == ENOENT) {
        return AbortedError("base point " + base_rp + " no longer holds " + link_from[i] +
                                "; plan the transfer of restore point " + rp + " again",
                            from);
      }
      if (err != EMLINK && err != EXDEV && err != EPERM && err != ENOTSUP) {
        return ErrnoError(err, "cannot link " + from + " to", dst);
      }
      // Too many links to one inode (or links refused): a local copy, checked like any other.
      sdk::CopyOptions copy_options;
      copy_options.on_chunk = [&](uint64_t n) -> Status {
        counters.copied += n;
        return OkStatus();
      };
      LIFEBOAT_ASSIGN_OR_RETURN(std::string part, part_path(e.path()));
      Status s = CopyVerifiedFrom(call, from, chunk, part, dst, e,
                                  /*resume=*/false, copy_options, "base point file changed",
                                  "base point file missing");
      if (s.code() == Code::kAborted) {
        return DataLossError(link_from[i] + " in base point " + base_rp +
                                 " does not match its manifest; verify that point, and plan "
                                 "with force_full",
                             from);
      }
      LIFEBOAT_RETURN_IF_ERROR(s);
      counters.items++;
    }
  } else {
    StatusOr<PeerSource> source = PeerSource::Open(call, req.source(), config_.peer_access);
    if (!source.ok()) return source.status().WithContext("source configuration");
    const std::string source_tree = JoinPath(source->layout().Snapshot(key, rp), kTreeDir);
    const std::string live_dir = layout_.DataDir(ref.data_set().selector());
    // The job's bucket: the transfers of one restore point share its bandwidth.
    std::shared_ptr<sdk::Throttle> throttle = throttles_.For(rp, req.bandwidth_bytes_per_second());
    uint64_t total = 0;  // task.bytes() is 0 for a seed task: it moves nothing over the wire
    for (const v1::Entry& e : items) total += e.size();
    sdk::ProgressReporter progress(call, "transfer", total, items.size());
    // A report per chunk_bytes moved (several small files share one), and a last one.
    progress.set_every_bytes(chunk);
    std::atomic<bool> stop{false};
    Status done = sdk::ParallelFor(
        items.size(), config_.parallelism,
        [&](size_t i) -> Status {
          const v1::Entry& e = items[i];
          const std::string dst = JoinPath(tree, e.path());
          LIFEBOAT_ASSIGN_OR_RETURN(bool present, CompleteFileAt(dst, e.size()));
          // Only a rename puts a file at its final name, after its digest matched. Data written
          // without fsync is trusted across a crash of the process, not of the machine.
          if (present && !staged.same_boot) {
            StatusOr<std::string> digest = sdk::Sha256OfFile(dst, chunk, {});
            if (!digest.ok() || *digest != e.digest()) {
              ::unlink(dst.c_str());
              present = false;
            }
          }
          if (present) {
            counters.skipped += e.size();
            counters.items++;
            progress.Add(e.size(), 1, e.path(), false);
            return OkStatus();
          }
          if (call.Cancelled()) return CancelledError("transfer cancelled; run the task again");
          LIFEBOAT_RETURN_IF_ERROR(dirs.Ensure(ParentOf(dst)));
          if (task.kind() == kTaskSeed) {
            // From this cluster's own live copy; any doubt (changed, gone) and it comes from the
            // source after all.
            uint64_t seeded = 0;
            sdk::CopyOptions seed_options;
            seed_options.on_chunk = [&](uint64_t n) -> Status {
              seeded += n;
              if (call.Cancelled()) return CancelledError("transfer cancelled; run it again");
              return OkStatus();
            };
            LIFEBOAT_ASSIGN_OR_RETURN(std::string seed_part, part_path(e.path()));
            Status local =
                CopyVerifiedFrom(call, JoinPath(live_dir, e.path()), chunk, seed_part, dst, e,
                                 /*resume=*/false, seed_options, "live file differs from the point",
                                 "live file is gone");
            if (local.ok()) {
              counters.skipped += seeded;
              counters.items++;
              progress.Add(e.size(), 1, e.path(), false);
              return OkStatus();
            }
            if (local.code() == Code::kCancelled) return local;
          }
          sdk::CopyOptions options;
          options.throttle = throttle.get();
          options.on_chunk = [&](uint64_t n) -> Status {
            counters.copied += n;
            progress.Add(n, 0, e.path(), false);
            if (call.Cancelled()) {
              return CancelledError("transfer cancelled; run the task again to resume " + e.path(),
                                    e.path());
            }
            if (stop.load()) return CancelledError("stopped by a failure of another file");
            return OkStatus();
          };
          options.on_resumed = [&](uint64_t prefix) { progress.Add(prefix, 0, e.path(), false); };
          LIFEBOAT_ASSIGN_OR_RETURN(const std::string part, part_path(e.path()));
          const std::string changed =
              e.path() + " changed on the source since the cut; cut the restore point again";
          const std::string missing =
              e.path() + " is no longer in the source's snapshot of restore " + "point " + rp +
              " (released or cut again?); cut the restore " + "point again";
          Status s;
          if (source->by_path()) {
            s = CopyVerifiedFrom(call, JoinPath(source_tree, e.path()), chunk, part, dst, e,
                                 /*resume=*/staged.same_boot, options, changed, missing);
          } else {
            // Through the peer stream: the same checks, resume from the part's length included
            // (the read starts at that offset).
            s = CopyVerified(call, source->Reader(ref, kItemTreePrefix + e.path()), part, dst, e,
                             /*resume=*/staged.same_boot, options, changed, missing);
          }
          LIFEBOAT_RETURN_IF_ERROR(s);
          counters.items++;
          progress.Add(0, 1, e.path(), false);
          return OkStatus();
        },
        &stop);
    progress.Flush();
    if (done.code() == Code::kAborted) {
      host_.Warn("transfer of restore point " + rp + ": " + done.message());
    }
    LIFEBOAT_RETURN_IF_ERROR(done);
  }
  resp.set_bytes_copied(counters.copied);
  resp.set_bytes_skipped(counters.skipped);
  resp.set_items_done(counters.items);
  return resp;
}

}  // namespace lifeboat::localfs
