// cut and release (on the source): one FLUSH snapshot per table, the manifest of the HFiles
// they reference with HDFS's file checksums, kept in the state directory for the target.
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/parallel.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "hbase_plugin.h"
#include "snapshot_files.h"

namespace lifeboat::hbase {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NsOf(const std::string& table) {
  const size_t colon = table.find(':');
  return colon == std::string::npos ? "default" : table.substr(0, colon);
}

}  // namespace

// The HFiles of snapshot `name` on `fs` below `root`, distinct, as SnapshotStoreFiles.
StatusOr<std::vector<SnapshotStoreFile>> SnapshotHFiles(hdfs::WebHdfsClient& fs,
                                                        const std::string& root,
                                                        const std::string& name,
                                                        std::string* manifest_bytes) {
  const std::string dir = root + "/" + SnapshotDirectory(name);
  StatusOr<std::string> bytes = fs.ReadAll(dir + "/" + std::string(kDataManifestFile));
  if (!bytes.ok()) {
    return Status(bytes.status().code(), "snapshot " + name + ": " + bytes.status().message(),
                  name);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(pb::SnapshotDataManifest manifest, ParseDataManifest(*bytes));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<SnapshotStoreFile> files, ListStoreFiles(manifest));
  if (manifest_bytes != nullptr) *manifest_bytes = std::move(bytes).value();
  return DistinctHFiles(files);
}

StatusOr<TakenSnapshot> HBasePlugin::TakeTableSnapshot(sdk::Call& call, MasterClient& master,
                                                       const std::string& table,
                                                       const std::string& name) {
  auto type = pb::SnapshotDescription::FLUSH;
  LIFEBOAT_ASSIGN_OR_RETURN(t2::TTableDescriptor d, Thrift()->GetTableDescriptor(table));
  auto ro = d.attributes.find("READONLY");
  if (ro != d.attributes.end() && (ro->second == "true" || ro->second == "TRUE")) {
    type = pb::SnapshotDescription::SKIPFLUSH;
  }
  StatusOr<TakenSnapshot> taken = master.TakeSnapshot(table, name, type);
  for (int attempt = 0, pause_ms = 200;
       attempt < 5 && !taken.ok() &&
       (taken.status().code() == Code::kAborted || taken.status().code() == Code::kUnavailable);
       ++attempt, pause_ms *= 2) {
    if (call.Cancelled()) return CancelledError("snapshot of " + table + " cancelled");
    host_.Warn("snapshot of " + table + " failed (" + taken.status().ToString() +
               "); trying again");
    (void)master.DeleteSnapshot(name);  // a failed snapshot may leave its name taken
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    taken = master.TakeSnapshot(table, name, type);
  }
  return taken;
}

StatusOr<v1::CutResponse> HBasePlugin::Cut(sdk::Call& call, const v1::CutRequest& req) {
  if (call.Cancelled()) return CancelledError("cut of " + req.data_set().selector() + " cancelled");
  if (req.op_id().empty()) return InvalidArgumentError("cut needs an op_id");
  // The journal keeps the SnapshotRef only (the manifest can hold thousands of HFiles and
  // is in the cut's directory already), so that it stays small.
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> found, journal_.Find(req.op_id(), "cut"));
  if (found) {
    v1::CutResponse resp;
    if (!resp.mutable_snapshot()->ParseFromString(*found)) {
      return DataLossError("the journal's answer of cut " + req.op_id() + " does not parse");
    }
    const std::string dir = layout_.CutDir(resp.snapshot().restore_point_id());
    StatusOr<std::string> manifest = ReadSmallFile(fs_, dir + "/" + kManifestFile);
    if (!manifest.ok()) {
      if (manifest.status().code() != Code::kNotFound) return manifest.status();
      return FailedPreconditionError(
          "the cut of op_id " + req.op_id() + " was released since; cut again with a new op_id",
          req.op_id());
    }
    if (!resp.mutable_manifest()->ParseFromString(*manifest)) {
      return DataLossError("the cut manifest in " + dir + " does not parse", dir);
    }
    return resp;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(v1::CutResponse resp, DoCut(call, req));
  LIFEBOAT_RETURN_IF_ERROR(
      journal_.Record(req.op_id(), "cut", resp.snapshot().SerializeAsString()));
  return resp;
}

StatusOr<v1::CutResponse> HBasePlugin::DoCut(sdk::Call& call, const v1::CutRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  if (req.restore_point_id().empty()) return InvalidArgumentError("cut needs a restore_point_id");
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> tables, TablesOf(ds));
  auto master = Master();
  PointRecord point;
  point.restore_point_id = req.restore_point_id();
  point.selector = ds.selector();
  const int64_t start_ms = NowMs();
  // One snapshot per table, one after the other: HBase has no multi-table snapshot, so each
  // table's interval is recorded and the point's spread is their union.
  for (const std::string& table : tables) {
    if (call.Cancelled()) {
      return CancelledError("cut of " + ds.selector() + " cancelled before table " + table +
                            " (snapshots taken so far are reused by the next cut)");
    }
    const std::string name = SnapshotName(req.restore_point_id(), table);
    StatusOr<TakenSnapshot> taken = TakeTableSnapshot(call, *master, table, name);
    PointTable pt{table, name, 0, 0};
    if (taken.ok()) {
      pt.requested_ms = taken->requested_ms;
      pt.completed_ms = taken->completed_ms;
    } else if (taken.status().code() == Code::kAlreadyExists) {
      // An earlier cut of this point (whose answer was not recorded) took it: its creation
      // time is all that is known, so the interval is [creation, creation].
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<SnapshotSummary> all, master->ListSnapshots());
      for (const auto& s : all) {
        if (s.name == name) pt.requested_ms = pt.completed_ms = s.creation_time_ms;
      }
    } else {
      return taken.status();
    }
    point.tables.push_back(pt);
    v1::Progress p;
    p.set_phase("snapshot");
    p.set_items_done(point.tables.size());
    p.set_items_total(tables.size());
    p.set_current_item(table);
    call.ReportProgress(p);
  }
  const int64_t end_ms = NowMs();

  // The manifest: every distinct HFile, with its length and HDFS file checksum.
  v1::MemberManifest manifest;
  manifest.set_digest_algorithm("hdfs-file-checksum");
  struct Pending {
    std::string ns;
    SnapshotStoreFile file;
  };
  std::vector<Pending> pending;
  for (const PointTable& t : point.tables) {
    v1::Entry* dir = manifest.add_entries();
    dir->set_path(QualifierOf(t.table));
    dir->set_type(v1::ENTRY_DIRECTORY);
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<SnapshotStoreFile> files,
                              SnapshotHFiles(fs_, config_.root, t.snapshot, nullptr));
    for (auto& f : files) pending.push_back({NsOf(t.table), std::move(f)});
  }
  std::vector<v1::Entry> entries(pending.size());
  std::mutex mu;
  Status checked = sdk::ParallelFor(pending.size(), config_.parallel, [&](size_t i) -> Status {
    if (call.Cancelled()) return CancelledError("cut of " + ds.selector() + " cancelled");
    const SnapshotStoreFile& f = pending[i].file;
    // The file is in data/ while its table has it, in archive/ after a compaction or drop.
    std::string where = config_.root + "/" + f.data_path;
    StatusOr<hdfs::FileStatus> st = fs_.GetFileStatus(where);
    if (!st.ok() && st.status().code() == Code::kNotFound) {
      where = config_.root + "/" + f.archive_path;
      st = fs_.GetFileStatus(where);
    }
    if (!st.ok()) return st.status();
    LIFEBOAT_ASSIGN_OR_RETURN(hdfs::WebHdfsClient::FileChecksum sum, fs_.GetFileChecksum(where));
    v1::Entry& e = entries[i];
    e.set_path(ItemOfArchivePath(f.archive_path));
    e.set_type(v1::ENTRY_FILE);
    e.set_size(st->length);
    e.set_mtime_unix_nanos(st->modification_ms * 1000000);
    e.set_digest(ChecksumText(sum));
    return OkStatus();
  });
  LIFEBOAT_RETURN_IF_ERROR(checked);
  for (auto& e : entries) *manifest.add_entries() = std::move(e);
  std::sort(manifest.mutable_entries()->begin(), manifest.mutable_entries()->end(),
            [](const v1::Entry& a, const v1::Entry& b) { return a.path() < b.path(); });
  uint64_t total = 0;
  sdk::Sha256 digest;
  for (const auto& e : manifest.entries()) {
    total += e.size();
    digest.Update(e.SerializeAsString());
  }
  manifest.set_total_bytes(total);
  manifest.set_manifest_digest(digest.Finish());

  v1::CutResponse resp;
  v1::SnapshotRef* snap = resp.mutable_snapshot();
  snap->set_plugin(kPluginName);
  snap->set_cluster(plugin_config_.cluster());
  *snap->mutable_data_set() = req.data_set();
  snap->set_restore_point_id(req.restore_point_id());
  snap->set_snapshot_id("lifeboat-" + PointKey(req.restore_point_id()));
  int64_t lo = start_ms, hi = end_ms;
  for (const auto& t : point.tables) {
    if (t.requested_ms > 0) lo = std::min(lo, t.requested_ms);
    hi = std::max(hi, t.completed_ms);
  }
  snap->set_cut_start_unix_nanos(lo * 1000000);
  snap->set_cut_end_unix_nanos(hi * 1000000);
  snap->set_cut_op_id(req.op_id());
  snap->set_opaque(PointToJson(point));
  *manifest.mutable_snapshot() = *snap;
  *resp.mutable_manifest() = manifest;

  // The target reads both from here (plan_transfer); release deletes them.
  const std::string dir = layout_.CutDir(req.restore_point_id());
  LIFEBOAT_RETURN_IF_ERROR(
      WriteSmallFile(fs_, dir + "/" + kManifestFile, manifest.SerializeAsString()));
  LIFEBOAT_RETURN_IF_ERROR(WriteSmallFile(fs_, dir + "/" + kPointFile, PointToJson(point)));
  return resp;
}

StatusOr<v1::ReleaseResponse> HBasePlugin::Release(sdk::Call&, const v1::ReleaseRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(PointRecord point, PointFromJson(req.snapshot().opaque()));
  auto master = Master();
  for (const PointTable& t : point.tables) {
    Status s = master->DeleteSnapshot(t.snapshot);
    if (!s.ok() && s.code() != Code::kNotFound) return s;
  }
  LIFEBOAT_RETURN_IF_ERROR(
      fs_.Delete(layout_.CutDir(req.snapshot().restore_point_id()), true).status());
  v1::ReleaseResponse r;
  r.set_released(true);
  return r;
}

}  // namespace lifeboat::hbase
