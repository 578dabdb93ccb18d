// HdfsPlugin: the component plugin for HDFS, over WebHDFS.
//
// A data set {component "hdfs", selector "/a/b"} is the directory /a/b of the cluster. A cut
// is an HDFS snapshot of that directory named after the restore point (config.h,
// SnapshotName), taken after making the directory snapshottable when allowed; its manifest
// lists the snapshot (sizes, times, owners, permissions). The cut's time interval, measured
// on the host's clock, is kept on the directory as the extended attribute
// user.lifeboat.cut.<snapshot name> ("<start ns> <end ns> <op id>"), so that a repeated cut
// answers the same interval; release deletes the snapshot and that attribute. A snapshot does
// not freeze a file open for write (open_files.h): the cut asks fsck which files are open and
// records what the point holds of each (SnapshotRef.opaque), and plan_transfer holds them so.
//
// On the target, the data set lives at the same path, and each committed point is a
// snapshot of the same name there (commit); expire deletes such snapshots.
//
// The data path (data_path.cc, copy.cc) runs on the target: plan_transfer lists the source's
// new snapshot and plans from the snapshot diff base -> new (renames and deletes first, as
// `distcp -update -diff`), or from a full comparison of the listings (no base, base gone,
// force_full), refusing when the target changed since the base; transfer runs the plan's
// "tree" task, then "copy" tasks that stream each file from a source DataNode to a target
// DataNode (never whole in memory), with a SHA-256 on the way and the file's metadata;
// verify vouches for the copies by those digests and the HDFS checksums (and reads them back
// at VERIFY_DIGEST); restore copies a point's snapshot to a destination. State lives on the
// target cluster, not in memory: the plan and the source's listing in
// /.lifeboat/state/<data set>/<snapshot>.plan, what a clean verify vouched for in
// <snapshot>.verified beside it, and per file the attributes user.lifeboat.copy / .sha256 /
// .hdfs-checksum (copy.h), so every call can be repeated or resumed after a crash.
//
// A fenced data set (security.h) is written as the superuser and kept fenced: what the data
// path writes gets the fence's permissions, the source's recorded as the originals, and
// wherever permissions are compared a fenced item counts with its original.
//
// Done: describe, validate, probe, resolve, prepare, cut, release, plan_transfer, transfer,
// verify, commit, restore, expire (plugins/hdfs/README.md says how, and what is left).
//
// Thread-safety: every operation may run concurrently with any other on the same instance;
// the only shared state is the WebHDFS client, which is thread-safe. Two cuts of the same
// restore point at once both succeed with the same snapshot (HDFS refuses the second
// CREATESNAPSHOT, which is then read back).
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_HDFS_PLUGIN_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_HDFS_PLUGIN_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "copy.h"
#include "open_files.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {

// The directory of a data set: its selector, checked (absolute, no "." or ".." component,
// no ':') and without a trailing '/'. INVALID_ARGUMENT otherwise, or when the component is
// not "hdfs".
StatusOr<std::string> DataSetPath(const v1::DataSet& data_set);

class HdfsPlugin : public sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe();
  // Checks the configuration without side effects (see config.h).
  static Status Validate(const v1::PluginConfig& config);
  static StatusOr<std::unique_ptr<HdfsPlugin>> Create(sdk::Host host,
                                                      const v1::PluginConfig& config);

  HdfsPlugin(sdk::Host host, Config config);

  // HEALTHY when a NameNode is active and out of safe mode and every configured NameNode
  // answers; DEGRADED when one of them does not answer, or in safe mode (reads only);
  // UNREACHABLE when no NameNode is active. component_version is the active NameNode's
  // Hadoop version; detail lists every NameNode with its state.
  StatusOr<v1::ProbeResponse> Probe(sdk::Call& call, const v1::ProbeRequest& req) override;
  // The selector is a directory path; NOT_FOUND when it does not exist, INVALID_ARGUMENT
  // when it is not a directory.
  StatusOr<v1::ResolveResponse> Resolve(sdk::Call& call, const v1::ResolveRequest& req) override;
  // Checks that the data set can be cut: a directory, snapshottable or allowed to become so.
  // No change is made. FAILED_PRECONDITION saying what an administrator must do otherwise.
  StatusOr<v1::PrepareResponse> Prepare(sdk::Call& call, const v1::PrepareRequest& req) override;
  // Creates (or finds, when repeated) the snapshot named after the restore point, finds the
  // files open for write at it (fsck; open_files.h) and lists it, those files at what the
  // point holds; their record goes into the snapshot reference's opaque. FAILED_PRECONDITION when
  // the directory is not snapshottable and may not or cannot be made so by this user (the message
  // gives the administrator's command).
  StatusOr<v1::CutResponse> Cut(sdk::Call& call, const v1::CutRequest& req) override;
  // Deletes the snapshot of the reference and its cut attribute; released = true also when
  // it was gone already.
  StatusOr<v1::ReleaseResponse> Release(sdk::Call& call, const v1::ReleaseRequest& req) override;
  // On the target: creates the snapshot of the same name on the same directory (making it
  // snapshottable when allowed), so that the point is browsable there and the next
  // incremental finds its base; answers the committed point's manifest (a listing of that
  // snapshot); no earlier point is pending any more (leftovers.h). Repeated: answers the same.
  // FAILED_PRECONDITION when the directory is missing (nothing was transferred) or may not be made
  // snapshottable.
  StatusOr<v1::CommitResponse> Commit(sdk::Call& call, const v1::CommitRequest& req) override;
  // Deletes the snapshots of the named points of the data set on this cluster, and nothing
  // else; points already gone are reported in already_absent. A point that never committed
  // here keeps what its transfer wrote, for the next plan to take over (leftovers.h).
  StatusOr<v1::ExpireResponse> Expire(sdk::Call& call, const v1::ExpireRequest& req) override;

  // --- Fencing and security (security.cc; mechanism in security.h) ---------------------
  // Removes the write bits of every directory and file of the data set (top-down; each
  // item's original permission kept in its xattr user.lifeboat.fence.mode) and records the
  // fence (epoch, reason, time) in user.lifeboat.fence on the directory; probe lists it.
  // A repeated fence finishes an interrupted one and keeps the higher epoch; a repeated op_id
  // answers the same. NOT_FOUND when the directory does not exist.
  StatusOr<v1::FenceResponse> Fence(sdk::Call& call, const v1::FenceRequest& req) override;
  // Puts back the permissions the fence recorded (those changed meanwhile by someone else
  // stay), then removes the marker. FAILED_PRECONDITION when req.epoch is lower than the
  // fence's; OK (fenced = false) when not fenced.
  StatusOr<v1::FenceResponse> Unfence(sdk::Call& call, const v1::FenceRequest& req) override;
  // On the target: owner, group, permission and ACL of every item present on both clusters
  // made equal to the source's live data set, names through user_map / group_map.
  // FAILED_PRECONDITION when the data set is fenced here (not for a dry run).
  StatusOr<v1::SyncSecurityResponse> SyncSecurity(sdk::Call& call,
                                                  const v1::SyncSecurityRequest& req) override;

  // --- The data path (data_path.cc) -----------------------------------------------------
  // On the target. Lists the new snapshot of the source and compares: incremental from the
  // snapshot diff base -> new on the source (renames and deletes first, then creates and
  // modifies, a MODIFY's path translated through the renames, as `distcp -update -diff`;
  // then every other file compared with the base point's recorded listing, since a diff
  // leaves out files open at the base's cut and times changed alone) when the base point's
  // snapshot exists on both clusters, its record on one, and the target has not changed
  // since it; otherwise a full comparison of the listings, with full_reason saying why.
  // Files open at the cut are planned at what the cut recorded (open_files.h).
  // FAILED_PRECONDITION, naming changed paths, when the target changed since the base and
  // force_full is not set (a fence's own permission changes are not changes; nor are the
  // writes of points planned from the same base that never committed: those are taken over
  // by a full comparison, leftovers.h). Tasks: a
  // "tree" task first (renames, deletes, directories, metadata-only changes), then "copy"
  // tasks (files; the big ones alone). The plan and the source's listing are recorded on the
  // target (StateFile), which makes a repeat with the same op_id answer the same plan, and
  // gives verify and commit what they need. A fenced target is planned like any other.
  StatusOr<v1::PlanTransferResponse> PlanTransfer(sdk::Call& call,
                                                  const v1::PlanTransferRequest& req) override;
  // Runs one task of the plan (see copy.h for the copy of one file). Copy tasks wait until
  // the plan's tree task has run (UNAVAILABLE after 10 minutes). Idempotent: files already
  // copied for this snapshot are skipped (bytes_skipped); a cancelled copy resumes. Into a
  // fenced data set, what it writes is written fenced (and a fence or unfence that came
  // while it wrote is settled for the task's items).
  StatusOr<v1::TransferResponse> Transfer(sdk::Call& call, const v1::TransferRequest& req) override;
  // Compares the target (the committed snapshot when there is one, else the live
  // directory) with the source's listing recorded by the plan: missing, extra, type, size,
  // a file's mtime, mode (a fenced item's original), owner. At VERIFY_SIZE (and unspecified)
  // every file's bytes are vouched for without reading them: a file this point copied by
  // its transfer record (done, SHA-256 streamed from the source) and its HDFS file checksum
  // now against the source's; a file it did not copy by the base point's verified record
  // (same path, length, mtime), else by its own record and checksum; a file whose checksum
  // cannot compare (other block size) is read back. VERIFY_DIGEST reads every file of the
  // point back against its streamed SHA-256 besides (the only check that finds bytes rotted
  // on a DataNode's disk under intact CRCs). VERIFY_NONE: the listing only. A clean verify
  // records what it vouched for (<snapshot>.verified) for the next point's. Mismatch kinds:
  // missing, extra, type, size, mtime, mode, owner, record, checksum, digest.
  // FAILED_PRECONDITION when no plan of this point was recorded here.
  StatusOr<v1::VerifyResponse> Verify(sdk::Call& call, const v1::VerifyRequest& req) override;
  // Copies <dir>/.snapshot/<point> of the cluster holding the point (this one, or
  // req.source) to the destination (req.destination, or the data set itself): deletes
  // what the point lacks, creates and updates the rest, keeping metadata and times.
  // dry_run lists "delete P", "create P", "update P" and changes nothing. NOT_FOUND when
  // the point is not held there. A point committed into a fenced target restores the
  // source's permissions (the fence's originals). FAILED_PRECONDITION into a fenced
  // destination (not for a dry run): the engine applies a point after the unfence.
  StatusOr<v1::RestoreResponse> Restore(sdk::Call& call, const v1::RestoreRequest& req) override;

  WebHdfsClient& client() { return client_; }

 private:
  // Lists the tree under `root` (a snapshot path) into `manifest`, sorted by path.
  Status ListTree(sdk::Call& call, const std::string& root, v1::MemberManifest& manifest);
  // The cut's record of files open at snapshot `name` of `path` (open_files.h), encoded for
  // SnapshotRef.opaque; the manifest's entries of those files are set to what the point
  // holds. `open_now`: what fsck said just after the snapshot; nullopt for a repeated cut
  // (which answers what the first one kept, or looks again).
  std::string RecordOpenFiles(const std::string& path, const std::string& name, int64_t snapshot_ms,
                              std::optional<OpenFilesSeen>& open_now, v1::MemberManifest& manifest);
  // The files open for write under `path` now (fsck), and when the answer came.
  OpenFilesSeen LookForOpenFiles(const std::string& path);
  // Makes `path` snapshottable if it is not (and allowed); FAILED_PRECONDITION with the
  // administrator's command otherwise.
  Status EnsureSnapshottable(const std::string& path, const FileStatus& dir);
  // Data path helpers (data_path.cc). `fenced`: the target data set is fenced, so what the
  // task writes is written fenced (CopyMetadata, CopyOptions::fenced).
  Status RunTreeTask(sdk::Call& call, WebHdfsClient& src, const v1::TransferRequest& req,
                     const std::string& path, bool fenced, v1::TransferResponse& resp);
  Status RunCopyTask(sdk::Call& call, WebHdfsClient& src, const v1::TransferRequest& req,
                     const std::string& path, bool fenced, v1::TransferResponse& resp);
  // The fence's walks (security.cc), top-down from data set directory `path`: write bits
  // taken (originals recorded first; items counted in *items), and put back (items whose
  // permission changed while fenced keep it, listed in *kept). Return the items changed.
  StatusOr<uint64_t> StripWriteBits(sdk::Call& call, const std::string& path,
                                    const FileStatus& root, uint64_t* items);
  StatusOr<uint64_t> RestoreWriteBits(sdk::Call& call, const std::string& path,
                                      const FileStatus& root, std::vector<std::string>* kept);
  // Sets the directories' times of the point's recorded listing (run by commit before the
  // snapshot: creating files moved them during the transfer).
  Status ApplyDirectoryTimes(sdk::Call& call, const std::string& path,
                             const std::string& snapshot_name);

  sdk::Host host_;
  Config config_;
  WebHdfsClient client_;
  // config_.bandwidth_bytes_per_second over all transfers of this instance: a bucket of one
  // second's credit, as the plugin's own limiter had.
  sdk::Throttle instance_limit_;
  // The buckets of the jobs transferring now (a job's copy tasks share one).
  sdk::JobThrottle throttles_;
};

// Where the target keeps the plan of a point: /.lifeboat/state<data set path>/<snapshot>.plan
std::string StateFile(const std::string& data_set_path, const std::string& snapshot_name);

// The extended attribute that records the cut of snapshot `snapshot_name`.
std::string CutAttributeName(const std::string& snapshot_name);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_HDFS_PLUGIN_H_
