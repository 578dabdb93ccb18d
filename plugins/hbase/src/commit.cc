// verify and commit (on the target). Verify compares the staged or committed HFiles with the
// cut's manifest with sdk::VerifyEntries: presence, length and, at DIGEST, HDFS's file
// checksum (the copy keeps the source's block size, so the two compare), and the snapshots'
// descriptors. Commit moves the staged HFiles into archive/ (where the snapshots find them
// through links), then the snapshots' descriptors into .hbase-snapshot/, and records the point.
#include <lifeboat/sdk/verify.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <set>

#include "hbase_plugin.h"
#include "snapshot_files.h"

namespace lifeboat::hbase {

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A point's HFiles on this cluster, for sdk::VerifyEntries: each looked up where it may be
// (`places`, in order), as no listing holds them all; at DIGEST HDFS's file checksum, which
// the DataNodes compute from the CRCs they keep, against the manifest's.
class PointHFiles : public sdk::VerifyTarget {
 public:
  PointHFiles(hdfs::WebHdfsClient& fs,
              std::function<std::vector<std::string>(const std::string& item)> places)
      : fs_(fs), places_(std::move(places)) {}

  StatusOr<std::optional<sdk::TargetItem>> Find(const sdk::Call&, const v1::Entry& want) override {
    for (const std::string& where : places_(want.path())) {
      StatusOr<hdfs::FileStatus> st = fs_.GetFileStatus(where);
      if (!st.ok() && st.status().code() == Code::kNotFound) continue;
      if (!st.ok()) return st.status();
      sdk::TargetItem item;
      item.path = want.path();
      item.size = st->length;
      item.location = where;
      return std::optional<sdk::TargetItem>(std::move(item));
    }
    return std::optional<sdk::TargetItem>();
  }

  Status CheckFile(const sdk::Call&, v1::VerifyLevel level, const v1::Entry& want,
                   const sdk::TargetItem& got, sdk::VerifyFindings& findings) override {
    if (level != v1::VERIFY_DIGEST) return OkStatus();
    LIFEBOAT_ASSIGN_OR_RETURN(hdfs::WebHdfsClient::FileChecksum sum,
                              fs_.GetFileChecksum(got.location));
    if (ChecksumText(sum) != want.digest()) {
      findings.Mismatch(want.path(), "digest", want.digest(), ChecksumText(sum));
    }
    return OkStatus();
  }

 private:
  hdfs::WebHdfsClient& fs_;
  std::function<std::vector<std::string>(const std::string& item)> places_;
};
}  // namespace

StatusOr<v1::VerifyResponse> HBasePlugin::Verify(sdk::Call& call, const v1::VerifyRequest& req) {
  const std::string& rp = req.snapshot().restore_point_id();
  bool committed = true;
  StatusOr<PointFiles> files = LoadPoint(fs_, layout_, layout_.PointDir(rp));
  if (!files.ok() && files.status().code() == Code::kNotFound) {
    committed = false;
    files = LoadPoint(fs_, layout_, layout_.StagingDir(rp));
  }
  if (!files.ok()) {
    if (files.status().code() == Code::kNotFound) {
      return NotFoundError("point " + rp +
                               " is neither staged nor committed on this cluster: "
                               "plan and transfer it first",
                           rp);
    }
    return files.status();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(files->point.selector));
  // Where an HFile is: archive/, a live table's data/ (held before the copy), or staged.
  PointHFiles target(fs_, [&](const std::string& item) {
    const std::string rel = ArchivePathOfItem(ds.ns, item);
    std::vector<std::string> places = {config_.root + "/" + rel,
                                       config_.root + "/data/" + ds.ns + "/" + item};
    if (!committed) places.push_back(layout_.StagingDir(rp) + "/" + rel);
    return places;
  });
  // The HFiles only (the manifest's directories are nowhere on their own).
  int next = 0;
  const v1::MemberManifest& manifest = files->manifest;
  sdk::EntryStream hfiles = [&](v1::Entry* e) -> StatusOr<bool> {
    while (next < manifest.entries_size() && manifest.entries(next).type() != v1::ENTRY_FILE) {
      ++next;
    }
    if (next == manifest.entries_size()) return false;
    *e = manifest.entries(next++);
    return true;
  };
  sdk::VerifyOptions options;
  options.level = req.level();
  options.threads = config_.parallel;
  options.find_each = true;
  LIFEBOAT_ASSIGN_OR_RETURN(v1::VerifyResponse resp,
                            sdk::VerifyEntries(call, hfiles, target, options));
  // The snapshots' descriptors: in .hbase-snapshot/ once committed, staged before.
  for (const PointTable& t : files->point.tables) {
    const std::string dir = committed ? layout_.SnapshotDir(t.snapshot)
                                      : layout_.StagingDir(rp) + "/snapshots/" + t.snapshot;
    for (std::string_view f : {kSnapshotInfoFile, kDataManifestFile}) {
      StatusOr<hdfs::FileStatus> st = fs_.GetFileStatus(dir + "/" + std::string(f));
      if (!st.ok()) {
        if (st.status().code() != Code::kNotFound) return st.status();
        sdk::AddMismatch(resp, QualifierOf(t.table), "missing",
                         "snapshot " + t.snapshot + " " + std::string(f), "absent");
      }
    }
  }
  std::stable_sort(
      resp.mutable_mismatches()->begin(), resp.mutable_mismatches()->end(),
      [](const v1::Mismatch& a, const v1::Mismatch& b) { return a.path() < b.path(); });
  resp.set_ok(resp.mismatches_size() == 0);
  return resp;
}

StatusOr<v1::CommitResponse> HBasePlugin::Commit(sdk::Call& call, const v1::CommitRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("commit needs an op_id");
  // The journal notes the op id only; the answer is the point's record (points/<key>/),
  // which stays until the point expires.
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> found, journal_.Find(req.op_id(), "commit"));
  if (found) {
    StatusOr<PointFiles> done =
        LoadPoint(fs_, layout_, layout_.PointDir(req.snapshot().restore_point_id()));
    if (!done.ok()) return done.status();
    v1::CommitResponse resp;
    *resp.mutable_manifest() = done->manifest;
    return resp;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(v1::CommitResponse resp, DoCommit(call, req));
  LIFEBOAT_RETURN_IF_ERROR(
      journal_.Record(req.op_id(), "commit", req.snapshot().restore_point_id()));
  return resp;
}

StatusOr<v1::CommitResponse> HBasePlugin::DoCommit(sdk::Call& call, const v1::CommitRequest& req) {
  const std::string& rp = req.snapshot().restore_point_id();
  const std::string staging = layout_.StagingDir(rp);
  const std::string point_dir = layout_.PointDir(rp);
  StatusOr<PointFiles> files = LoadPoint(fs_, layout_, staging);
  if (!files.ok() && files.status().code() == Code::kNotFound) {
    // Committed by an earlier call whose answer was not recorded.
    StatusOr<PointFiles> done = LoadPoint(fs_, layout_, point_dir);
    if (done.ok()) {
      v1::CommitResponse resp;
      *resp.mutable_manifest() = done->manifest;
      return resp;
    }
    return FailedPreconditionError(
        "nothing is staged for point " + rp + " on this cluster: plan and transfer it first", rp);
  }
  if (!files.ok()) return files.status();
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(files->point.selector));

  // 1. The HFiles into archive/, their times set to now: the target's TTL cleaner keeps a
  //    fresh archive file (hbase.master.hfilecleaner.ttl) until the snapshot that references
  //    it is in place (step 2).
  const int64_t now = NowMs();
  std::set<std::string> made_dirs;
  for (const auto& e : files->manifest.entries()) {
    if (e.type() != v1::ENTRY_FILE) continue;
    if (call.Cancelled()) return CancelledError("commit of " + rp + " cancelled (repeat it)");
    const std::string rel = ArchivePathOfItem(ds.ns, e.path());
    const std::string final_path = config_.root + "/" + rel;
    const std::string staged = staging + "/" + rel;
    LIFEBOAT_ASSIGN_OR_RETURN(std::string held, HeldPath(ds.ns, e.path(), e.size()));
    if (!held.empty()) {
      // Fresh again for the TTL cleaner until the snapshot is in place (archive/ only: a
      // live table's file is not the cleaner's).
      if (held == final_path) LIFEBOAT_RETURN_IF_ERROR(fs_.SetTimes(final_path, now, now));
      continue;
    }
    StatusOr<hdfs::FileStatus> st = fs_.GetFileStatus(staged);
    if (!st.ok() || st->length != e.size()) {
      return FailedPreconditionError("HFile " + e.path() + " of point " + rp +
                                         " is neither in archive/ nor fully staged: run its "
                                         "transfer task first",
                                     e.path());
    }
    const std::string parent = final_path.substr(0, final_path.rfind('/'));
    if (made_dirs.insert(parent).second) LIFEBOAT_RETURN_IF_ERROR(fs_.Mkdirs(parent));
    LIFEBOAT_RETURN_IF_ERROR(fs_.Rename(staged, final_path));
    LIFEBOAT_RETURN_IF_ERROR(fs_.SetTimes(final_path, now, now));
  }
  // 2. The snapshots' descriptors into .hbase-snapshot/ (a directory rename each: the master
  //    lists a snapshot whole or not at all).
  LIFEBOAT_RETURN_IF_ERROR(fs_.Mkdirs(config_.root + "/.hbase-snapshot"));
  for (const PointTable& t : files->point.tables) {
    const std::string dir = layout_.SnapshotDir(t.snapshot);
    if (fs_.GetFileStatus(dir).ok()) continue;
    LIFEBOAT_RETURN_IF_ERROR(fs_.Rename(staging + "/snapshots/" + t.snapshot, dir));
  }
  auto master = Master();
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<SnapshotSummary> listed, master->ListSnapshots());
  std::set<std::string> names;
  for (const auto& s : listed) names.insert(s.name);
  for (const PointTable& t : files->point.tables) {
    if (names.count(t.snapshot) == 0) {
      return AbortedError("the master " + config_.master + " does not list snapshot " + t.snapshot +
                              " after its files were put in place",
                          t.snapshot);
    }
  }
  // 3. The point's record; then the staging directory goes.
  v1::MemberManifest manifest = files->manifest;
  manifest.set_base_restore_point_id(req.base_restore_point_id());
  manifest.set_committed_unix_nanos(now * 1000000);
  LIFEBOAT_RETURN_IF_ERROR(
      WriteSmallFile(fs_, point_dir + "/" + kManifestFile, manifest.SerializeAsString()));
  LIFEBOAT_RETURN_IF_ERROR(
      WriteSmallFile(fs_, point_dir + "/" + kPointFile, PointToJson(files->point)));
  LIFEBOAT_RETURN_IF_ERROR(fs_.Delete(staging, true).status());
  v1::CommitResponse resp;
  *resp.mutable_manifest() = manifest;
  return resp;
}

}  // namespace lifeboat::hbase
