// HivePlugin: the component plugin for the Hive metastore (README.md says what is covered).
//
// A data set is a database ("sales": its tables, views, partitions, column statistics,
// constraints and functions) or one table ("sales.orders"); patterns resolve to those
// (selector.h). The metastore has no snapshots, so a cut reads the data set into objects
// (model.h) kept in the agent's state directory (store.h), reconciled to one event id of the
// metastore's notification log (cut.cc). A point travels as those objects, read through the
// peer stream (transfer.cc), and a commit makes the target metastore hold it, locations
// rewritten to the target's file system, in a fixed order (apply.h). Transactional (ACID)
// tables are refused.
//
// Thread-safety: every operation may run concurrently with any other on the same instance.
// Operations on one data set that read and write its records together hold that data set's
// store mutex; metastore connections come from a pool, one per thread.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_HIVE_PLUGIN_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_HIVE_PLUGIN_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config.h"
#include "model.h"
#include "reader.h"
#include "selector.h"
#include "store.h"

namespace lifeboat::hive {

// The environment-context property every write of Lifeboat carries (the metastore hands it to
// its listeners and hooks): the operation that wrote.
inline constexpr char kWriterProperty[] = "lifeboat.writer";

class HivePlugin : public sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe();
  static Status Validate(const v1::PluginConfig& config);
  static StatusOr<std::unique_ptr<HivePlugin>> Create(sdk::Host host,
                                                      const v1::PluginConfig& config);
  HivePlugin(sdk::Host host, Config config);

  // HEALTHY when the metastore answers (version, database UUID, current event id in detail);
  // UNREACHABLE otherwise. Lists the fenced databases and tables; role_marker is the
  // "lifeboat.role" parameter of the default database when set.
  StatusOr<v1::ProbeResponse> Probe(sdk::Call& call, const v1::ProbeRequest& req) override;
  // Concrete selectors answer themselves (NOT_FOUND when absent); patterns the concrete
  // databases ("sales_*", "sales_*.*") or tables ("sales.ord*", "*.orders") they match.
  StatusOr<v1::ResolveResponse> Resolve(sdk::Call& call, const v1::ResolveRequest& req) override;
  // Checks that the data set exists and holds no transactional table (FAILED_PRECONDITION
  // naming them). No change.
  StatusOr<v1::PrepareResponse> Prepare(sdk::Call& call, const v1::PrepareRequest& req) override;
  // Reads the data set at one event id of the metastore (cut.cc); repeated: the same answer.
  StatusOr<v1::CutResponse> Cut(sdk::Call& call, const v1::CutRequest& req) override;
  // Deletes the cut's record (the objects no record names go with it).
  StatusOr<v1::ReleaseResponse> Release(sdk::Call& call, const v1::ReleaseRequest& req) override;
  // On the target (transfer.cc).
  StatusOr<v1::PlanTransferResponse> PlanTransfer(sdk::Call& call,
                                                  const v1::PlanTransferRequest& req) override;
  StatusOr<v1::TransferResponse> Transfer(sdk::Call& call, const v1::TransferRequest& req) override;
  StatusOr<v1::VerifyResponse> Verify(sdk::Call& call, const v1::VerifyRequest& req) override;
  StatusOr<v1::CommitResponse> Commit(sdk::Call& call, const v1::CommitRequest& req) override;
  StatusOr<v1::RestoreResponse> Restore(sdk::Call& call, const v1::RestoreRequest& req) override;
  StatusOr<v1::ExpireResponse> Expire(sdk::Call& call, const v1::ExpireRequest& req) override;
  // fence.cc
  StatusOr<v1::FenceResponse> Fence(sdk::Call& call, const v1::FenceRequest& req) override;
  StatusOr<v1::FenceResponse> Unfence(sdk::Call& call, const v1::FenceRequest& req) override;
  // security.cc: roles, role grants and privileges of the data set's objects made the
  // source's (README.md "sync_security").
  StatusOr<v1::SyncSecurityResponse> SyncSecurity(sdk::Call& call,
                                                  const v1::SyncSecurityRequest& req) override;
  // Serves "cut", "point" and "object/<sha256 hex>" of a cut or point held here (read.cc).
  StatusOr<v1::ReadResponse> Read(sdk::Call& call, const v1::ReadRequest& req) override;

  const Config& config() const { return config_; }
  ClientPool& pool() { return pool_; }
  sdk::Host& host() { return host_; }

  // The store of data set `sel` on this cluster, created on first use.
  StatusOr<std::shared_ptr<SetStore>> StoreFor(const Selector& sel);
  // This cluster's file system (config fs_uri, else the default database's), "" if unknown.
  std::string OwnFileSystem();
  // The rewrite of locations of a point cut on another cluster (its fs_uri in `cut`) to this
  // one: location_map first, then the cut's file system to this one's.
  LocationRewriter RewriterFor(const hstate::CutRecord& cut);

 private:
  StatusOr<v1::CutResponse> RunCut(sdk::Call& call, const v1::CutRequest& req);
  StatusOr<v1::PlanTransferResponse> RunPlan(sdk::Call& call, const v1::PlanTransferRequest& req);
  StatusOr<v1::CommitResponse> RunCommit(sdk::Call& call, const v1::CommitRequest& req);
  StatusOr<v1::RestoreResponse> RunRestore(sdk::Call& call, const v1::RestoreRequest& req);

  sdk::Host host_;
  Config config_;
  ClientPool pool_;
  sdk::JobThrottle throttles_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<SetStore>> stores_;
  std::optional<std::string> own_fs_;  // guarded by mu_
};

// The concrete selector of a data set of this plugin; INVALID_ARGUMENT for another component
// or a pattern.
StatusOr<Selector> SelectorOf(const v1::DataSet& ds);

// The database prefix a restore destination names (lower-cased; '-' and '.' read as '_'; a
// path "/a/b" as "a_b_", so that the one name given to every member of a point serves hive
// too). INVALID_ARGUMENT naming the destination when it leaves no prefix or holds a character
// a Hive database name cannot.
StatusOr<std::string> DatabasePrefix(const std::string& destination);

// The status of a data set that holds transactional tables: FAILED_PRECONDITION naming them.
Status AcidRefusal(const Selector& sel, const std::vector<std::string>& tables);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_HIVE_PLUGIN_H_
