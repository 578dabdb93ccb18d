// The hbase component plugin: restore points of HBase namespaces and tables as HBase
// snapshots, moved between clusters without MapReduce (README.md says what is and is not
// covered).
//
// Data sets: `hbase:<namespace>` (every table of the namespace at the cut) and
// `hbase:<namespace>:<table>`; resolve expands a selector with '*' or '?' into tables.
//
// A cut is one FLUSH snapshot per table, named after the restore point, each with the
// interval in which it was taken. The target copies the HFiles the snapshots reference
// (ExportSnapshot's layout, over WebHDFS) into a staging directory, then commit moves them
// into its `archive/` and the snapshot descriptors into `.hbase-snapshot/`: the point is a set
// of snapshots on the target. Restore clones them (or restores over existing tables, with the
// operator's consent).
//
// The plugin's own state, on the HBase root's file system, below `state_dir` (default
// <root>/.lifeboat):
//   cuts/<rp key>/manifest.pb          source: the cut's MemberManifest (served to the target)
//   cuts/<rp key>/point.json           source: the point's tables, snapshots and intervals
//   staging/<rp key>/archive/data/...  target: HFiles being copied (ExportSnapshot's layout)
//   staging/<rp key>/snapshots/<name>  target: the snapshots' descriptor files
//   staging/<rp key>/{manifest.pb,point.json}
//   points/<rp key>/{manifest.pb,point.json}  target: committed points
//   journal, journal.new               op-id journal (sdk/journal.h) of cut, plan, commit,
//                                      restore, fence and unfence
// <rp key> is the restore point id made safe for a path and a snapshot name (layout.h).
//
// Thread-safety: operations may run concurrently; WebHDFS clients are thread-safe, master and
// Thrift2 clients are made per call (they are not).
#ifndef LIFEBOAT_PLUGINS_HBASE_SRC_HBASE_PLUGIN_H_
#define LIFEBOAT_PLUGINS_HBASE_SRC_HBASE_PLUGIN_H_

#include <lifeboat/sdk/fence.h>
#include <lifeboat/sdk/journal.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layout.h"
#include "master_client.h"
#include "thrift2_client.h"
#include "webhdfs.h"

namespace lifeboat::hbase {

namespace v1 = ::lifeboat::v1;

inline constexpr char kPluginName[] = "hbase";
inline constexpr char kConfigType[] = "lifeboat.hbase.v1.Config";

// The instance configuration (config_json):
//   master      "host:port" of the active master's RPC (required)
//   thrift2     "host:port" of a Thrift2 server (required)
//   namenodes   ["host:port", ...] HTTP addresses of the NameNodes of hbase.rootdir's HDFS
//   root        hbase.rootdir's path on that HDFS, absolute (required)
//   user        the user for HDFS and HBase (simple authentication; default "hbase")
//   state_dir   where the plugin keeps its state (default <root>/.lifeboat)
//   parallel    checksum and verify calls at once (default 4, 1-64)
struct Config {
  std::string master;
  std::string thrift2;
  std::vector<std::string> namenodes;  // normalized to "http://host:port"
  std::string root;
  std::string user = "hbase";
  std::string state_dir;
  int parallel = 4;
};

// INVALID_ARGUMENT naming the field and what to do; unknown keys are refused.
StatusOr<Config> ParseConfig(const std::string& json);

class HBasePlugin : public sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe();
  static Status Validate(const v1::PluginConfig& config);
  static StatusOr<std::unique_ptr<HBasePlugin>> Create(sdk::Host host,
                                                       const v1::PluginConfig& config);

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
  StatusOr<v1::FenceResponse> Fence(sdk::Call& call, const v1::FenceRequest& req) override;
  StatusOr<v1::FenceResponse> Unfence(sdk::Call& call, const v1::FenceRequest& req) override;

  HBasePlugin(sdk::Host host, v1::PluginConfig plugin_config, Config config);

  const Config& config() const { return config_; }
  // Paths of this cluster's root and state (layout.h).
  const Layout& layout() const { return layout_; }

 private:
  // Fresh clients for one call (neither is thread-safe).
  std::unique_ptr<MasterClient> Master() const;
  std::unique_ptr<Thrift2Client> Thrift() const;
  // The tables of a data set on this cluster, sorted ("ns:qualifier"); NOT_FOUND when a
  // table data set's table or a namespace does not exist.
  StatusOr<std::vector<std::string>> TablesOf(const DataSetName& ds);
  // The point record and manifest of a committed point on `fs` (this cluster's or a
  // peer's) with `layout`; NOT_FOUND when the point is not there.
  static StatusOr<PointFiles> LoadPoint(hdfs::WebHdfsClient& fs, const Layout& layout,
                                        const std::string& dir);

  StatusOr<v1::CutResponse> DoCut(sdk::Call& call, const v1::CutRequest& req);
  StatusOr<v1::PlanTransferResponse> DoPlan(sdk::Call& call, const v1::PlanTransferRequest& req);
  StatusOr<v1::CommitResponse> DoCommit(sdk::Call& call, const v1::CommitRequest& req);
  StatusOr<v1::RestoreResponse> DoRestore(sdk::Call& call, const v1::RestoreRequest& req);
  StatusOr<v1::RestoreResponse> CompareOnly(sdk::Call& call, const v1::RestoreRequest& req);
  // The fence's opening shared by fence and unfence (sdk/fence.h): the fence in place read
  // from the data set's table descriptors, which are left in `tables`.
  sdk::FenceSteps FenceStepsOf(const DataSetName& ds, Thrift2Client& thrift,
                               std::vector<t2::TTableDescriptor>& tables);
  // The fence recorded on the tables of `ds` here: epoch 0 when none.
  StatusOr<FenceMarker> FenceOf(const DataSetName& ds);
  // Where this cluster holds HFile `item` of namespace `ns` with `size` bytes: under
  // archive/ (a committed point's copy), or under data/ (a live table's own file, e.g. the
  // old primary's after a failover: HFile names are unique, and the file is immutable); ""
  // when it holds none.
  StatusOr<std::string> HeldPath(const std::string& ns, const std::string& item, uint64_t size);
  // A snapshot of `table` named `name`: FLUSH, or SKIPFLUSH for a read-only table (fenced:
  // a read-only region refuses the flush, and the modifyTable that made it read-only
  // reopened its regions, which flushed them, so no write can be in a memstore). A snapshot
  // refused by a region in transition is tried again a few times.
  StatusOr<TakenSnapshot> TakeTableSnapshot(sdk::Call& call, MasterClient& master,
                                            const std::string& table, const std::string& name);
  // After a clone or restore: a point cut from a fenced table carries the fence in its
  // schema (READONLY and the marker); the fence belongs to the cluster it was set on, not to
  // the data, so the restored table gets its READONLY from before that fence and no marker.
  Status ClearCopiedFence(Thrift2Client& thrift, const std::string& table);
  // Copies one HFile of a task; see transfer.cc.
  StatusOr<v1::TransferResponse> CopyHFile(sdk::Call& call, const v1::TransferRequest& req);

  sdk::Host host_;
  v1::PluginConfig plugin_config_;
  Config config_;
  Layout layout_;
  mutable hdfs::WebHdfsClient fs_;
  sdk::OpJournal journal_;
  sdk::JobThrottle throttles_;
};

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_SRC_HBASE_PLUGIN_H_
