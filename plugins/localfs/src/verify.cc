// verify: the staged (or committed) tree against the cut's manifest, as a merge of two sorted
// streams (issue 13): the manifest read entry by entry from cut.pb or manifest.pb, the tree
// walked into an sdk::ManifestWriter (sorted runs on disk) and read back sorted. Neither is
// held whole; digests are read back a batch at a time.
#include <dirent.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/manifest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"

namespace lifeboat::localfs {
namespace {

// Files whose digests are read back together; their paths are all that is held.
constexpr size_t kHashBatchFiles = 4096;
// The tree's items kept in memory before a sorted run goes to disk.
constexpr size_t kWalkBufferBytes = size_t{16} << 20;

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

// A scratch file removed when it goes out of scope.
struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

struct TreeTotals {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// Every item below `tree` (not following links) as an entry of its lstat, written sorted to
// `sorted`. A name that is not UTF-8 cannot be in a manifest: it is reported as extra here.
Status WalkSorted(const sdk::Call& call, const std::string& tree, const std::string& sorted,
                  v1::VerifyResponse& resp, TreeTotals& totals) {
  sdk::ManifestWriterOptions options;
  options.buffer_bytes = kWalkBufferBytes;
  options.durable = false;  // scratch
  sdk::ManifestWriter writer(sorted, options);
  std::vector<std::string> pending = {""};
  size_t seen = 0;
  while (!pending.empty()) {
    const std::string rel = std::move(pending.back());
    pending.pop_back();
    const std::string dir = rel.empty() ? tree : JoinPath(tree, rel);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoError(errno, "cannot list", dir);
    struct Closer {
      DIR* d;
      ~Closer() { ::closedir(d); }
    } closer{d};
    while (struct dirent* de = ::readdir(d)) {
      if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
      if (++seen % 1024 == 0 && call.Cancelled()) {
        return CancelledError("verify cancelled; verify again");
      }
      const std::string child = rel.empty() ? de->d_name : rel + "/" + de->d_name;
      struct stat st;
      if (::lstat(JoinPath(tree, child).c_str(), &st) != 0) {
        return ErrnoError(errno, "cannot inspect", JoinPath(tree, child));
      }
      if (S_ISDIR(st.st_mode)) pending.push_back(child);
      if (!IsValidUtf8(child)) {
        AddMismatch(resp, Printable(child), "extra", "", TypeName(EntryTypeOf(st)));
        continue;
      }
      v1::Entry e;
      e.set_path(child);
      e.set_type(EntryTypeOf(st));
      e.set_mode(st.st_mode & 07777);
      e.set_uid(st.st_uid);
      e.set_gid(st.st_gid);
      e.set_mtime_unix_nanos(MtimeNs(st));
      if (S_ISREG(st.st_mode)) {
        e.set_size(static_cast<uint64_t>(st.st_size));
        ++totals.files;
        totals.bytes += e.size();
      }
      LIFEBOAT_RETURN_IF_ERROR(writer.Add(std::move(e)));
    }
  }
  return writer.Finish().status();
}

// Files of the manifest whose digests are read back, a batch at a time.
class DigestBatch {
 public:
  DigestBatch(sdk::Call& call, const std::string& tree, int64_t chunk_bytes, int parallelism,
              sdk::ProgressReporter& progress, v1::VerifyResponse& resp)
      : call_(call),
        tree_(tree),
        chunk_bytes_(chunk_bytes),
        parallelism_(parallelism),
        progress_(progress),
        resp_(resp) {}

  Status Add(const v1::Entry& e) {
    pending_.push_back({e.path(), e.digest(), e.size()});
    bytes_checked_ += e.size();
    return pending_.size() >= kHashBatchFiles ? Flush() : OkStatus();
  }

  Status Flush() {
    if (pending_.empty()) return OkStatus();
    std::vector<std::string> digests(pending_.size());
    std::atomic<bool> stop{false};
    Status hashed = sdk::ParallelFor(
        pending_.size(), parallelism_,
        [&](size_t k) -> Status {
          const Pending& p = pending_[k];
          sdk::ReadChunkCallback on_chunk = [&](uint64_t n) -> Status {
            progress_.Add(n, 0, p.path, false);
            if (call_.Cancelled()) return CancelledError("verify cancelled; verify again");
            return OkStatus();
          };
          StatusOr<std::string> digest = sdk::Sha256OfFile(
              JoinPath(tree_, p.path), static_cast<uint64_t>(chunk_bytes_), on_chunk);
          if (!digest.ok()) {
            if (digest.status().code() == Code::kCancelled) return digest.status();
            digests[k] = "(" + digest.status().message() + ")";
          } else {
            digests[k] = sdk::Hex(*digest);
          }
          progress_.Add(0, 1, p.path, false);
          return OkStatus();
        },
        &stop);
    LIFEBOAT_RETURN_IF_ERROR(hashed);
    for (size_t k = 0; k < pending_.size(); ++k) {
      const std::string expected = sdk::Hex(pending_[k].digest);
      if (digests[k] != expected)
        AddMismatch(resp_, pending_[k].path, "digest", expected, digests[k]);
    }
    pending_.clear();
    return OkStatus();
  }

  uint64_t bytes_checked() const { return bytes_checked_; }

 private:
  struct Pending {
    std::string path;
    std::string digest;
    uint64_t size;
  };
  sdk::Call& call_;
  const std::string& tree_;
  int64_t chunk_bytes_;
  int parallelism_;
  sdk::ProgressReporter& progress_;
  v1::VerifyResponse& resp_;
  std::vector<Pending> pending_;
  uint64_t bytes_checked_ = 0;
};

}  // namespace

StatusOr<v1::VerifyResponse> LocalfsPlugin::Verify(sdk::Call& call, const v1::VerifyRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(ValidateRestorePointId(ref.restore_point_id()));
  const std::string& rp = ref.restore_point_id();
  const std::string key = DataSetKey(ref.data_set().selector());
  auto staging_lock = locks_.Get("staging:" + key + "/" + rp);
  std::shared_lock<std::shared_mutex> guard(*staging_lock);

  // The staged tree while there is one, else the committed point.
  const std::string staging = layout_.Staging(key, rp);
  const std::string point = layout_.Point(key, rp);
  const bool staged = ::access(JoinPath(staging, kCutFile).c_str(), F_OK) == 0;
  const std::string record = staged ? JoinPath(staging, kCutFile) : JoinPath(point, kManifestFile);
  const std::string tree = JoinPath(staged ? staging : point, kTreeDir);
  StatusOr<std::unique_ptr<ManifestFileEntries>> opened =
      ManifestFileEntries::Open(record, /*in_cut=*/staged);
  if (!opened.ok()) {
    if (opened.status().code() != Code::kNotFound) return opened.status();
    return NotFoundError("restore point " + rp + " of " + DataSetName(ref.data_set()) +
                             " is neither staged nor committed on this cluster",
                         rp);
  }
  ManifestFileEntries& manifest = **opened;
  // The first entry is read before the check: the snapshot precedes the entries in the file.
  v1::Entry first;
  LIFEBOAT_ASSIGN_OR_RETURN(bool have_first, manifest.Next(&first));
  const std::string& cut_op_id = manifest.Others().snapshot().cut_op_id();
  if (!ref.cut_op_id().empty() && cut_op_id != ref.cut_op_id()) {
    return FailedPreconditionError("restore point " + rp + " here was made by cut operation " +
                                       cut_op_id + ", not " + ref.cut_op_id(),
                                   rp);
  }

  v1::VerifyResponse resp;
  // Not in the trash, which expire empties while other calls run.
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(layout_.Scratch(), 0700));
  ScratchFile sorted{JoinPath(layout_.Scratch(), UniqueName("verify-"))};
  TreeTotals totals;
  LIFEBOAT_RETURN_IF_ERROR(WalkSorted(call, tree, sorted.path, resp, totals));
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<sdk::ManifestReader> target,
                            sdk::ManifestReader::Open(sorted.path));

  const bool as_root = RunningAsRoot();
  const bool digests = req.level() == v1::VERIFY_DIGEST;
  sdk::ProgressReporter progress(call, "verify", digests ? totals.bytes : 0,
                                 digests ? totals.files : 0);
  progress.set_every_bytes(static_cast<uint64_t>(config_.chunk_bytes));
  DigestBatch batch(call, tree, config_.chunk_bytes, config_.parallelism, progress, resp);
  uint64_t items = 0;

  sdk::EntryStream entries = [&](v1::Entry* e) -> StatusOr<bool> {
    if (have_first) {
      have_first = false;
      e->Swap(&first);
      return true;
    }
    return manifest.Next(e);
  };
  sdk::ManifestDiff diff;
  diff.same = [](const v1::Entry&, const v1::Entry&) { return true; };
  diff.removed = [&](const v1::Entry& e) {
    ++items;
    AddMismatch(resp, e.path(), "missing", TypeName(e.type()), "");
    return OkStatus();
  };
  diff.added = [&](const v1::Entry& t) {
    AddMismatch(resp, t.path(), "extra", "", TypeName(t.type()));
    return OkStatus();
  };
  diff.unchanged = [&](const v1::Entry& e, const v1::Entry& t) -> Status {
    if (++items % 1024 == 0 && call.Cancelled()) {
      return CancelledError("verify cancelled; verify again");
    }
    if (t.type() != e.type()) {
      AddMismatch(resp, e.path(), "type", TypeName(e.type()), TypeName(t.type()));
      return OkStatus();
    }
    // Directory modes and owners are applied at commit: a staged directory keeps its own.
    const bool check_meta =
        t.type() == v1::ENTRY_FILE || (t.type() == v1::ENTRY_DIRECTORY && !staged);
    if (check_meta && t.mode() != e.mode()) {
      AddMismatch(resp, e.path(), "mode", Octal(e.mode()), Octal(t.mode()));
    }
    if (check_meta && as_root && (t.uid() != e.uid() || t.gid() != e.gid())) {
      AddMismatch(resp, e.path(), "owner", std::to_string(e.uid()) + ":" + std::to_string(e.gid()),
                  std::to_string(t.uid()) + ":" + std::to_string(t.gid()));
    }
    if (check_meta && AclsDiffer(JoinPath(tree, e.path()), e)) {
      AddMismatch(resp, e.path(), "acl", e.acl_access() + " default " + e.acl_default(),
                  "(differs)");
    }
    if (t.type() == v1::ENTRY_SYMLINK) {
      StatusOr<std::string> link = ReadLink(JoinPath(tree, e.path()));
      const std::string got = link.ok() ? *link : "(" + link.status().message() + ")";
      if (got != e.symlink_target()) {
        AddMismatch(resp, e.path(), "symlink_target", e.symlink_target(), got);
      }
    }
    if (t.type() != v1::ENTRY_FILE) return OkStatus();
    if (t.size() != e.size()) {
      AddMismatch(resp, e.path(), "size", std::to_string(e.size()), std::to_string(t.size()));
      return OkStatus();
    }
    if (t.mtime_unix_nanos() != e.mtime_unix_nanos()) {
      AddMismatch(resp, e.path(), "mtime", std::to_string(e.mtime_unix_nanos()),
                  std::to_string(t.mtime_unix_nanos()));
    }
    return digests ? batch.Add(e) : OkStatus();
  };
  Status merged = sdk::DiffManifests(entries, target->AsStream(), diff);
  if (merged.code() == Code::kInvalidArgument) {
    // Only the cut's record can be out of order (the tree's stream is sorted here).
    return DataLossError("the manifest " + record + " is not sorted by path (" + merged.message() +
                             "); cut and transfer the restore point again",
                         record);
  }
  LIFEBOAT_RETURN_IF_ERROR(merged);
  LIFEBOAT_RETURN_IF_ERROR(batch.Flush());
  progress.Flush();
  if (digests) resp.set_bytes_checked(batch.bytes_checked());
  std::sort(resp.mutable_mismatches()->begin(), resp.mutable_mismatches()->end(),
            [](const v1::Mismatch& a, const v1::Mismatch& b) {
              return a.path() != b.path() ? a.path() < b.path() : a.what() < b.what();
            });
  resp.set_items_checked(items);
  resp.set_ok(resp.mismatches_size() == 0);
  return resp;
}

}  // namespace lifeboat::localfs
