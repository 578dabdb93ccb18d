// A client of the HBase master's own RPC (MasterService), for what Thrift2 cannot do:
// snapshots — take (FLUSH), list, delete — and clone/restore from a snapshot. Written from
// HBase 2.6's Master.proto and RPC.proto (our subset: ../proto). Simple authentication only;
// Kerberos (SASL) is a later step.
//
// Table names are "namespace:qualifier", or "qualifier" in the default namespace (HBase's own
// string form). Errors name the master and the call, with HBase's exception and message
// (errors.h maps the codes); a master that cannot be reached is UNAVAILABLE.
//
// Thread-safety: not thread-safe (one connection, one call at a time); use one per thread.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_MASTER_CLIENT_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_MASTER_CLIENT_H_

#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hbase_master.pb.h"
#include "hbase_snapshot.pb.h"
#include "rpc_connection.h"
#include "table_name.h"

namespace lifeboat::hbase {

// A completed snapshot as the master lists it.
struct SnapshotSummary {
  std::string name;
  std::string table;  // "ns:qualifier" or "qualifier"
  int64_t creation_time_ms = 0;
  pb::SnapshotDescription::Type type = pb::SnapshotDescription::FLUSH;
  int32_t version = 0;
  std::string owner;
  int64_t ttl_s = 0;
};

// What taking a snapshot observed: the snapshot's description as the master recorded it,
// and the interval around it (this client's clock) — the snapshot holds the table as it was
// at some moment between `requested_ms` and `completed_ms` per region (HBASE-11736: a FLUSH
// snapshot is not one instant across regions).
struct TakenSnapshot {
  SnapshotSummary snapshot;
  int64_t requested_ms = 0;
  int64_t completed_ms = 0;
};

// INVALID_ARGUMENT (saying why) unless `name` is a legal snapshot name and `table` a table
// HBase can snapshot (not a system table): the checks HBase's Java client makes before asking.
Status ValidateSnapshotRequest(const std::string& table, const std::string& name);

class MasterClient {
 public:
  struct Options {
    RpcOptions rpc;
    // How long to wait for a snapshot, clone or restore to finish (beyond the call itself).
    std::chrono::milliseconds operation_timeout{300000};
    // First pause between progress polls; doubles up to poll_max.
    std::chrono::milliseconds poll_initial{50};
    std::chrono::milliseconds poll_max{1000};
  };

  // A client for the master at `address` ("host:port", the master's RPC port). Connects on
  // first use, and again after a connection broke.
  MasterClient(std::string address, Options options);
  ~MasterClient();

  const std::string& address() const { return address_; }

  // IsMasterRunning: OK when the master answers and says it runs.
  Status Ping();

  // Takes a snapshot of `table` named `name`, of type FLUSH (memstores flushed first, so the
  // snapshot holds every write acknowledged before the request), and waits until the master
  // reports it done. INVALID_ARGUMENT for a bad name or a system table (nothing is sent);
  // ALREADY_EXISTS when a snapshot of that name exists; NOT_FOUND when the table does not;
  // DEADLINE_EXCEEDED when it did not finish within operation_timeout (it may still finish: list to
  // see).
  StatusOr<TakenSnapshot> TakeSnapshot(
      const std::string& table, const std::string& name,
      pb::SnapshotDescription::Type type = pb::SnapshotDescription::FLUSH);

  // The completed snapshots of the cluster, in the master's order.
  StatusOr<std::vector<SnapshotSummary>> ListSnapshots();

  // Deletes snapshot `name` (its files go once no table or snapshot references them and the
  // archive cleaner runs). NOT_FOUND when there is none.
  Status DeleteSnapshot(const std::string& name);

  // Creates table `new_table` from snapshot `name` and waits for it. ALREADY_EXISTS when
  // `new_table` exists (checked first: HBase would restore over an existing table instead),
  // NOT_FOUND when the snapshot or the table's namespace does not exist.
  Status CloneSnapshot(const std::string& name, const std::string& new_table);

  // Restores table `table` (which must exist and be disabled) to snapshot `name` and waits.
  // NOT_FOUND when the table or snapshot is missing; FAILED_PRECONDITION when the table is
  // enabled (disable it first: restoring replaces its content).
  Status RestoreSnapshot(const std::string& name, const std::string& table);

  // Splits `region` (as a snapshot manifest or the catalog describes it) at `split_row` and
  // waits until the daughters are open. The daughters hold reference files to the parent's
  // HFiles until they are compacted.
  Status SplitRegion(const pb::RegionInfo& region, const std::string& split_row);

  // The state of `table`: ENABLED, DISABLED, ...; NOT_FOUND when it does not exist.
  StatusOr<pb::TableState::State> GetTableState(const std::string& table);

  // Table names as "ns:qualifier" (default namespace: "qualifier"), optionally only those of
  // `namespace_name` and/or matching the Java regular expression `regex`.
  StatusOr<std::vector<std::string>> ListTableNames(const std::string& namespace_name,
                                                    const std::string& regex,
                                                    bool include_system_tables);

  // One raw call, for what has no method here yet.
  Status Call(const std::string& method, const google::protobuf::MessageLite& request,
              google::protobuf::MessageLite* response);

 private:
  Status WaitForSnapshot(const pb::SnapshotDescription& snapshot, std::string_view what);
  Status WaitForProcedure(uint64_t proc_id, std::string_view what);
  Status StartRestore(const std::string& name, const std::string& table, std::string_view what);
  std::string Context(std::string_view what) const;

  std::string address_;
  Options options_;
  std::unique_ptr<RpcConnection> conn_;
};

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_MASTER_CLIENT_H_
