// LocalfsPlugin: the component plugin for directories of a local file system.
//
// A "cluster" is a directory (config `root`); a data set {component "localfs", selector
// "/a/b"} is the directory <root>/a/b. A cut hard-links every file of the data set into a
// snapshot under <root>/.lifeboat/snapshots/ and records a manifest with SHA-256 digests;
// the target instance pulls from that snapshot into a staging directory, linking unchanged
// files from its previous point, and commit renames the staging directory into
// <root>/.lifeboat/points/. See README.md for the layout and the guarantees, and layout.h
// for the names.
//
// Thread-safety: every operation may run concurrently with any other on the same instance.
// Per data set and restore point locks (in this process) serialise the operations that
// must not overlap: cuts and releases of one data set; plan, commit and expire of one
// staging directory against each other and against its transfers (which share theirs).
// Fence, unfence, sync_security and restore serialise on the "dest:" lock of the data set
// they write. Two processes working on one root at once are not supported.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_LOCALFS_PLUGIN_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_LOCALFS_PLUGIN_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "config.h"
#include "layout.h"

namespace lifeboat::localfs {

// The committed points of a data set (by key) under `layout`, sorted.
std::vector<std::string> ListPointsIn(const Layout& layout, const std::string& key);

class LocalfsPlugin : public sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe();
  // Checks the configuration without side effects (see config.h).
  static Status Validate(const v1::PluginConfig& config);
  static StatusOr<std::unique_ptr<LocalfsPlugin>> Create(sdk::Host host,
                                                         const v1::PluginConfig& config);

  LocalfsPlugin(sdk::Host host, Config config);

  StatusOr<v1::ProbeResponse> Probe(sdk::Call& call, const v1::ProbeRequest& req) override;
  StatusOr<v1::ResolveResponse> Resolve(sdk::Call& call, const v1::ResolveRequest& req) override;
  StatusOr<v1::PrepareResponse> Prepare(sdk::Call& call, const v1::PrepareRequest& req) override;
  StatusOr<v1::CutResponse> Cut(sdk::Call& call, const v1::CutRequest& req) override;
  StatusOr<v1::ReleaseResponse> Release(sdk::Call& call, const v1::ReleaseRequest& req) override;
  StatusOr<v1::PlanTransferResponse> PlanTransfer(sdk::Call& call,
                                                  const v1::PlanTransferRequest& req) override;
  StatusOr<v1::TransferResponse> Transfer(sdk::Call& call, const v1::TransferRequest& req) override;
  StatusOr<v1::VerifyResponse> Verify(sdk::Call& call, const v1::VerifyRequest& req) override;
  StatusOr<v1::CommitResponse> Commit(sdk::Call& call, const v1::CommitRequest& req) override;
  StatusOr<v1::RestoreResponse> Restore(sdk::Call& call, const v1::RestoreRequest& req) override;
  StatusOr<v1::ExpireResponse> Expire(sdk::Call& call, const v1::ExpireRequest& req) override;
  // Owner, group, permission bits and POSIX ACLs of the items present in both the source's
  // and this root's data set directory, names translated (security.cc).
  StatusOr<v1::SyncSecurityResponse> SyncSecurity(sdk::Call& call,
                                                  const v1::SyncSecurityRequest& req) override;
  // Immutable attribute or write bits on every item, recorded for unfence (fence.cc).
  StatusOr<v1::FenceResponse> Fence(sdk::Call& call, const v1::FenceRequest& req) override;
  StatusOr<v1::FenceResponse> Unfence(sdk::Call& call, const v1::FenceRequest& req) override;
  // The peer stream's serving side: an item of a snapshot or point (peer.h), through
  // call.EmitChunk (read.cc).
  StatusOr<v1::ReadResponse> Read(sdk::Call& call, const v1::ReadRequest& req) override;

 private:
  // The cut staged on the target for one restore point: its fields but its entries (cut.ref);
  // the entries are in the staging directory's index.lbm, read by range (issue 13).
  struct StagedCut {
    v1::CutResponse header;
    std::string dir;          // staging/<key>/<rp>
    bool same_boot = true;    // staged files were written since the machine last started
    bool part_names = false;  // some path of the cut looks like a partial file's name
  };

  // Named reader-writer locks of this instance, created on first use and kept.
  class LockTable {
   public:
    std::shared_ptr<std::shared_mutex> Get(const std::string& name);

   private:
    std::mutex mu_;
    std::map<std::string, std::shared_ptr<std::shared_mutex>> locks_;
  };

  // Renames `path` into <root>/.lifeboat/trash/, so that it stops being visible at once.
  // Returns its new path, or "" when `path` does not exist.
  StatusOr<std::string> MoveToTrash(const std::string& path);
  // MoveToTrash(), then deletes it.
  Status MoveToTrashAndRemove(const std::string& path);
  // Deletes what earlier deletions left in the trash; failures are logged, not returned
  // (another call may be moving something there right now).
  void EmptyTrash();

  // Deletes the snapshot directory `dir` of data set `selector`, moving the digest cache's
  // records along with the ctime changes that the unlinks make (see digest_cache.h).
  // Precondition: the caller holds the data set's lock.
  Status RemoveSnapshotDir(const std::string& key, const std::string& selector,
                           const std::string& dir);

  // The staged cut of (key, rp) if its cut operation is `cut_op_id`; FAILED_PRECONDITION
  // when nothing or another cut is staged.
  StatusOr<StagedCut> LoadStagedCut(const std::string& key, const std::string& rp,
                                    const std::string& cut_op_id);

  // Points CURRENT of `key` at `rp` unless it names a point committed later.
  Status UpdateCurrent(const std::string& key, const std::string& rp, int64_t committed_ns);
  // The id in CURRENT of `key`, "" when there is none.
  std::string ReadCurrent(const std::string& key) const;
  // Ids of the committed points of `key`, sorted.
  std::vector<std::string> ListPoints(const std::string& key) const;

  sdk::Host host_;
  Config config_;
  Layout layout_;
  LockTable locks_;
  // Bandwidth buckets of the jobs transferring now: a job's copy tasks share one.
  sdk::JobThrottle throttles_;
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_LOCALFS_PLUGIN_H_
