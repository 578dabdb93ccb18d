#include "master_client.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "errors.h"
#include "table_name.h"

namespace lifeboat::hbase {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SnapshotSummary Summarize(const pb::SnapshotDescription& d) {
  SnapshotSummary s;
  s.name = d.name();
  s.table = d.table();
  s.creation_time_ms = d.creation_time();
  s.type = d.type();
  s.version = d.version();
  s.owner = d.owner();
  s.ttl_s = d.ttl();
  return s;
}

// Pauses between polls: poll_initial, doubling up to poll_max, never past the deadline.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max)
      : next_(first), max_(max) {}
  void Wait(Clock::time_point deadline) {
    auto pause = std::min<Clock::duration>(
        next_, std::max<Clock::duration>(deadline - Clock::now(), Clock::duration{}));
    std::this_thread::sleep_for(pause);
    next_ = std::min(next_ * 2, max_);
  }

 private:
  std::chrono::milliseconds next_;
  std::chrono::milliseconds max_;
};

bool IsQualifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

Status ValidateSnapshotRequest(const std::string& table, const std::string& name) {
  if (table.empty()) return InvalidArgumentError("a snapshot needs a table name");
  // HBase's own client checks these (the master does not, and fails the snapshot later with a
  // bare "had an error"): a snapshot name must be a legal table qualifier, and system tables
  // cannot be snapshotted.
  if (name.empty() || name.front() == '.' || name.front() == '-' ||
      !std::all_of(name.begin(), name.end(), IsQualifierChar)) {
    return InvalidArgumentError("snapshot name '" + name +
                                "' is not valid: use letters, digits, '_', '-' and '.', not "
                                "starting with '.' or '-'");
  }
  if (table.rfind("hbase:", 0) == 0) {
    return InvalidArgumentError("table " + table +
                                " is a system table: HBase does not snapshot those");
  }
  return OkStatus();
}

MasterClient::MasterClient(std::string address, Options options)
    : address_(std::move(address)), options_(std::move(options)) {}

MasterClient::~MasterClient() = default;

std::string MasterClient::Context(std::string_view what) const {
  return "HBase master " + address_ + ": " + std::string(what);
}

Status MasterClient::Call(const std::string& method, const google::protobuf::MessageLite& request,
                          google::protobuf::MessageLite* response) {
  if (conn_ == nullptr || conn_->broken()) {
    conn_.reset();
    LIFEBOAT_ASSIGN_OR_RETURN(conn_, RpcConnection::Open(address_, "MasterService",
                                                         "HBase master " + address_, options_.rpc));
  }
  return conn_->Call(method, request, response);
}

Status MasterClient::Ping() {
  pb::IsMasterRunningRequest req;
  pb::IsMasterRunningResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("IsMasterRunning", req, &resp));
  if (!resp.is_master_running()) {
    return UnavailableError(Context("IsMasterRunning") + ": the master says it is not running");
  }
  return OkStatus();
}

StatusOr<TakenSnapshot> MasterClient::TakeSnapshot(const std::string& table,
                                                   const std::string& name,
                                                   pb::SnapshotDescription::Type type) {
  const std::string what = "Snapshot(table " + table + ", snapshot " + name + ")";
  LIFEBOAT_RETURN_IF_ERROR(ValidateSnapshotRequest(table, name));
  // The master answers a snapshot of a missing table with a SnapshotCreationException (as if
  // the snapshot had failed); ask first, so that a missing table is NOT_FOUND.
  LIFEBOAT_RETURN_IF_ERROR(GetTableState(table).status());
  pb::SnapshotRequest req;
  pb::SnapshotDescription* d = req.mutable_snapshot();
  d->set_name(name);
  d->set_table(table);
  d->set_type(type);
  TakenSnapshot taken;
  taken.requested_ms = NowMs();
  pb::SnapshotResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("Snapshot", req, &resp).WithContext("table " + table));
  LIFEBOAT_RETURN_IF_ERROR(WaitForSnapshot(req.snapshot(), what));
  taken.completed_ms = NowMs();
  // The master's own record (creation time, version, owner) from the list.
  LIFEBOAT_ASSIGN_OR_RETURN(auto all, ListSnapshots());
  for (SnapshotSummary& s : all) {
    if (s.name == name) {
      taken.snapshot = std::move(s);
      return taken;
    }
  }
  return InternalError(Context(what) + ": reported done but not listed");
}

Status MasterClient::WaitForSnapshot(const pb::SnapshotDescription& snapshot,
                                     std::string_view what) {
  auto deadline = Clock::now() + options_.operation_timeout;
  Backoff backoff(options_.poll_initial, options_.poll_max);
  pb::IsSnapshotDoneRequest req;
  *req.mutable_snapshot() = snapshot;
  while (true) {
    pb::IsSnapshotDoneResponse resp;
    // A failed snapshot answers IsSnapshotDone with its exception (HBaseSnapshotException).
    LIFEBOAT_RETURN_IF_ERROR(Call("IsSnapshotDone", req, &resp));
    if (resp.done()) return OkStatus();
    if (Clock::now() >= deadline) {
      return Status(Code::kDeadlineExceeded,
                    Context(what) + ": not done after " +
                        std::to_string(options_.operation_timeout.count()) +
                        " ms (it may still finish: list the snapshots)");
    }
    backoff.Wait(deadline);
  }
}

StatusOr<std::vector<SnapshotSummary>> MasterClient::ListSnapshots() {
  pb::GetCompletedSnapshotsRequest req;
  pb::GetCompletedSnapshotsResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("GetCompletedSnapshots", req, &resp));
  std::vector<SnapshotSummary> out;
  out.reserve(resp.snapshots_size());
  for (const auto& d : resp.snapshots()) out.push_back(Summarize(d));
  return out;
}

Status MasterClient::DeleteSnapshot(const std::string& name) {
  pb::DeleteSnapshotRequest req;
  req.mutable_snapshot()->set_name(name);
  pb::DeleteSnapshotResponse resp;
  return Call("DeleteSnapshot", req, &resp).WithContext("snapshot " + name);
}

StatusOr<pb::TableState::State> MasterClient::GetTableState(const std::string& table) {
  pb::GetTableStateRequest req;
  *req.mutable_table_name() = ParseTableName(table);
  pb::GetTableStateResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("GetTableState", req, &resp).WithContext("table " + table));
  return resp.table_state().state();
}

Status MasterClient::CloneSnapshot(const std::string& name, const std::string& new_table) {
  const std::string what = "clone snapshot " + name + " to table " + new_table;
  // The master restores over a table that exists (when disabled) instead of cloning: make a
  // clone never touch an existing table.
  auto state = GetTableState(new_table);
  if (state.ok()) {
    return AlreadyExistsError(Context(what) + ": table " + new_table +
                              " exists; clone to a new name, or restore over it explicitly");
  }
  if (state.status().code() != Code::kNotFound) return state.status();
  return StartRestore(name, new_table, what);
}

Status MasterClient::RestoreSnapshot(const std::string& name, const std::string& table) {
  const std::string what = "restore table " + table + " to snapshot " + name;
  LIFEBOAT_ASSIGN_OR_RETURN(auto state, GetTableState(table));
  if (state != pb::TableState::DISABLED) {
    return FailedPreconditionError(Context(what) + ": table " + table +
                                   " is not disabled; disable it first (a restore replaces its "
                                   "content)");
  }
  return StartRestore(name, table, what);
}

Status MasterClient::StartRestore(const std::string& name, const std::string& table,
                                  std::string_view what) {
  pb::RestoreSnapshotRequest req;
  req.mutable_snapshot()->set_name(name);
  req.mutable_snapshot()->set_table(table);
  pb::RestoreSnapshotResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("RestoreSnapshot", req, &resp).WithContext(std::string(what)));
  return WaitForProcedure(resp.proc_id(), what);
}

Status MasterClient::WaitForProcedure(uint64_t proc_id, std::string_view what) {
  auto deadline = Clock::now() + options_.operation_timeout;
  Backoff backoff(options_.poll_initial, options_.poll_max);
  pb::GetProcedureResultRequest req;
  req.set_proc_id(proc_id);
  while (true) {
    pb::GetProcedureResultResponse resp;
    LIFEBOAT_RETURN_IF_ERROR(Call("getProcedureResult", req, &resp));
    switch (resp.state()) {
      case pb::GetProcedureResultResponse::FINISHED:
        if (resp.has_exception()) {
          const auto& g = resp.exception().generic_exception();
          return StatusFromException(
              g.class_name(), g.message(),
              Context(what) + " (procedure " + std::to_string(proc_id) + ")");
        }
        return OkStatus();
      case pb::GetProcedureResultResponse::NOT_FOUND:
        return InternalError(Context(what) + ": the master does not know procedure " +
                             std::to_string(proc_id));
      case pb::GetProcedureResultResponse::RUNNING:
      default:
        break;
    }
    if (Clock::now() >= deadline) {
      return Status(Code::kDeadlineExceeded,
                    Context(what) + ": procedure " + std::to_string(proc_id) +
                        " not finished after " +
                        std::to_string(options_.operation_timeout.count()) + " ms");
    }
    backoff.Wait(deadline);
  }
}

Status MasterClient::SplitRegion(const pb::RegionInfo& region, const std::string& split_row) {
  const std::string what =
      "split a region of " + FormatTableName(region.table_name()) + " at row '" + split_row + "'";
  pb::SplitTableRegionRequest req;
  *req.mutable_region_info() = region;
  req.set_split_row(split_row);
  pb::SplitTableRegionResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("SplitRegion", req, &resp).WithContext(what));
  return WaitForProcedure(resp.proc_id(), what);
}

StatusOr<std::vector<std::string>> MasterClient::ListTableNames(const std::string& namespace_name,
                                                                const std::string& regex,
                                                                bool include_system_tables) {
  pb::GetTableNamesRequest req;
  if (!namespace_name.empty()) req.set_namespace_(namespace_name);
  if (!regex.empty()) req.set_regex(regex);
  req.set_include_sys_tables(include_system_tables);
  pb::GetTableNamesResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Call("GetTableNames", req, &resp));
  std::vector<std::string> out;
  for (const auto& t : resp.table_names()) out.push_back(FormatTableName(t));
  return out;
}

}  // namespace lifeboat::hbase
