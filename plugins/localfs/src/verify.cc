// verify: the staged (or committed) tree against the cut's manifest, through
// sdk::VerifyEntries (a merge of two sorted streams, files read back a batch at a time). The
// manifest is read entry by entry from cut.pb or manifest.pb; the tree is walked into an
// sdk::ManifestWriter (sorted runs on disk) and read back sorted, so neither is held whole
// (issue 13). What is localfs's own: ACLs and numeric owners (TreeTarget::CheckItem), names
// that are not UTF-8 (no manifest can hold them: extra), and a staged copy's directories,
// whose mode, owner and ACLs commit sets.
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/manifest.h>
#include <lifeboat/sdk/verify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "staged_index.h"

namespace lifeboat::localfs {
namespace {

// A scratch file removed when it goes out of scope.
struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// The tree of a staged or committed point, as a sdk::VerifyTarget.
class TreeTarget : public sdk::VerifyTarget {
 public:
  TreeTarget(const sdk::Call& call, std::string tree, std::string sorted, bool staged)
      : call_(call),
        tree_(std::move(tree)),
        sorted_{std::move(sorted)},
        staged_(staged),
        as_root_(RunningAsRoot()) {}

  // The base point an incremental was planned from (its directory): a staged file that is a
  // hard link to the base's file of the same path, whose digest the base's manifest records
  // as the cut's, is that verified file and is not read again (issue 13: verify costs what
  // changed). `points verify` of a committed point reads everything.
  void SetBase(std::string base_point, std::unique_ptr<IndexCursor> base_index) {
    base_tree_ = JoinPath(base_point, kTreeDir);
    base_index_ = std::move(base_index);
  }
  uint64_t linked_from_base() const { return linked_.load(); }

  // Items whose names are not UTF-8 (printable) and their types: no manifest can hold them.
  const std::vector<std::pair<std::string, v1::EntryType>>& unnamed() const { return unnamed_; }

  Status List(const std::function<Status(const sdk::TargetItem&)>& each) override {
    LIFEBOAT_RETURN_IF_ERROR(WalkSorted());
    LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<sdk::ManifestReader> reader,
                              sdk::ManifestReader::Open(sorted_.path));
    v1::Entry e;
    for (;;) {
      LIFEBOAT_ASSIGN_OR_RETURN(bool more, reader->Next(&e));
      if (!more) return OkStatus();
      sdk::TargetItem t;
      t.path = e.path();
      t.type = e.type();
      t.size = e.size();
      t.mtime_unix_nanos = e.mtime_unix_nanos();
      t.mode = e.mode();
      t.symlink_target = e.symlink_target();
      t.uid = e.uid();
      t.gid = e.gid();
      if (base_index_ && e.type() == v1::ENTRY_FILE) {
        // In path order, as the walk is: one forward pass over the base's index. The walk's
        // entry carries the staged file's device and inode (LstatEntry).
        LIFEBOAT_ASSIGN_OR_RETURN(const v1::Entry* b, base_index_->Find(e.path()));
        struct stat base;
        if (b != nullptr && b->type() == v1::ENTRY_FILE && b->size() == e.size() &&
            e.digest().size() == 16 &&
            ::lstat(JoinPath(base_tree_, e.path()).c_str(), &base) == 0 && S_ISREG(base.st_mode) &&
            e.digest() == DeviceAndInode(base)) {
          t.location = kBaseDigestTag + b->digest();
        }
      }
      LIFEBOAT_RETURN_IF_ERROR(each(t));
    }
  }

  StatusOr<std::string> Digest(const sdk::Call& call, const std::string& path) override {
    return sdk::Sha256OfFile(JoinPath(tree_, path), &call);
  }

  // A file this agent cannot read (not root, a mode that denies its owner reading) is a
  // digest mismatch, as localfs has always reported it, rather than the end of the verify.
  Status CheckFile(const sdk::Call& call, v1::VerifyLevel level, const v1::Entry& want,
                   const sdk::TargetItem& got, sdk::VerifyFindings& findings) override {
    if (level == v1::VERIFY_DIGEST && IsBaseFile(want, got)) {
      ++linked_;
      return OkStatus();
    }
    Status checked = VerifyTarget::CheckFile(call, level, want, got, findings);
    if (checked.ok() || checked.code() == Code::kCancelled) return checked;
    findings.Mismatch(got.path, "digest", sdk::Hex(want.digest()), "(" + checked.message() + ")");
    return OkStatus();
  }

  Status CheckItem(const v1::Entry& want, const sdk::TargetItem& got,
                   sdk::VerifyFindings& findings) override {
    // The base's file: its ACLs are the inode's, verified with the base (the plan linked it
    // only when the base's manifest recorded the cut's ACLs).
    if (IsBaseFile(want, got)) return OkStatus();
    // A link's owner is not compared, nor a staged directory's (commit sets it).
    if (want.type() == v1::ENTRY_SYMLINK) return OkStatus();
    if (staged_ && want.type() == v1::ENTRY_DIRECTORY) return OkStatus();
    if (as_root_ && (want.uid() != got.uid || want.gid() != got.gid)) {
      findings.Mismatch(want.path(), "owner",
                        std::to_string(want.uid()) + ":" + std::to_string(want.gid()),
                        std::to_string(got.uid) + ":" + std::to_string(got.gid));
    }
    if (AclsDiffer(JoinPath(tree_, want.path()), want)) {
      findings.Mismatch(want.path(), "acl", want.acl_access() + " default " + want.acl_default(),
                        "(differs)");
    }
    return OkStatus();
  }

 private:
  // Every item below the tree, written sorted to the scratch file.
  Status WalkSorted() {
    return WalkTreeSorted(call_, tree_, sorted_.path, [&](const std::string& raw, v1::EntryType t) {
      unnamed_.emplace_back(Printable(raw), t);
    });
  }

  static constexpr char kBaseDigestTag[] = "base-digest:";

  // The staged file is the base's file of its path (same device and inode, seen by List),
  // and the base's manifest records the digest the cut wants for it.
  bool IsBaseFile(const v1::Entry& want, const sdk::TargetItem& got) const {
    const std::string_view tag = kBaseDigestTag;
    return got.location.size() > tag.size() && got.location.compare(0, tag.size(), tag) == 0 &&
           got.location.compare(tag.size(), std::string::npos, want.digest()) == 0 &&
           got.size == want.size();
  }

  static std::string DeviceAndInode(const struct stat& st) {
    std::string id;
    AppendU64(id, static_cast<uint64_t>(st.st_dev));
    AppendU64(id, static_cast<uint64_t>(st.st_ino));
    return id;
  }

  const sdk::Call& call_;
  const std::string tree_;
  std::string base_tree_;
  std::unique_ptr<IndexCursor> base_index_;
  std::atomic<uint64_t> linked_{0};
  ScratchFile sorted_;
  const bool staged_;
  const bool as_root_;
  std::vector<std::pair<std::string, v1::EntryType>> unnamed_;
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
  // The merge trusts the order; only the cut's record can be out of it (the walk is sorted).
  std::string last;
  sdk::EntryStream entries = [&](v1::Entry* e) -> StatusOr<bool> {
    if (have_first) {
      have_first = false;
      e->Swap(&first);
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(bool more, manifest.Next(e));
      if (!more) return false;
      if (e->path() <= last) {
        return DataLossError("the manifest " + record + " is not sorted by path (" + e->path() +
                                 " after " + last + "); cut and transfer the restore point again",
                             record);
      }
    }
    last = e->path();
    return true;
  };

  // Not in the trash, which expire empties while other calls run.
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(layout_.Scratch(), 0700));
  TreeTarget target(call, JoinPath(staged ? staging : point, kTreeDir),
                    JoinPath(layout_.Scratch(), UniqueName("verify-")), staged);
  sdk::VerifyOptions options;
  options.level = req.level();
  options.threads = config_.parallelism;
  // Owners are compared by id, and ACLs, in TreeTarget::CheckItem.
  options.compare_mtime = options.compare_mode = options.compare_symlink_target = true;
  options.compare_directories = !staged;
  if (staged) {
    // The base an incremental was planned from (plan.cc writes its id).
    StatusOr<std::string> base_rp = sdk::ReadWholeFile(JoinPath(staging, kBaseFile));
    if (base_rp.ok() && ValidateRestorePointId(*base_rp).ok()) {
      const std::string base_point = layout_.Point(key, *base_rp);
      StatusOr<std::unique_ptr<IndexCursor>> index =
          IndexCursor::Open(JoinPath(base_point, kIndexFile));
      if (index.ok()) target.SetBase(base_point, std::move(index).value());
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(v1::VerifyResponse resp,
                            sdk::VerifyEntries(call, entries, target, options));
  if (target.linked_from_base() > 0) {
    host_.Info("verify of restore point " + rp + ": " + std::to_string(target.linked_from_base()) +
               " files are hard links to the verified files of the base point and were not read "
               "again");
  }
  if (target.unnamed().empty()) return resp;
  for (const auto& [name, type] : target.unnamed()) {
    sdk::AddMismatch(resp, name, "extra", "", sdk::EntryTypeName(type));
  }
  std::stable_sort(
      resp.mutable_mismatches()->begin(), resp.mutable_mismatches()->end(),
      [](const v1::Mismatch& a, const v1::Mismatch& b) { return a.path() < b.path(); });
  resp.set_ok(false);
  return resp;
}

}  // namespace lifeboat::localfs
