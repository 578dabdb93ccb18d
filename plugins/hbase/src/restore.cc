// restore, its comparison mode, and expire. A point is a set of snapshots on this cluster:
// restore clones each into a table that does not exist, or — with the operator's consent —
// restores over one that does (disabled first, enabled after); into the data set itself a
// namespace restore also drops tables the point does not hold (with consent). Expire deletes
// the snapshots and the point's record; HBase's cleaner reclaims the HFiles no other snapshot
// or table references.
#include <lifeboat/sdk/restore.h>

#include <map>
#include <set>

#include "hbase_plugin.h"
#include "snapshot_files.h"

namespace lifeboat::hbase {

namespace {

bool HasNamespace(Thrift2Client& thrift, const std::string& ns, Status* error) {
  StatusOr<std::vector<std::string>> all = thrift.ListNamespaces();
  if (!all.ok()) {
    *error = all.status();
    return false;
  }
  return std::find(all->begin(), all->end(), ns) != all->end();
}

}  // namespace

StatusOr<v1::RestoreResponse> HBasePlugin::Restore(sdk::Call& call, const v1::RestoreRequest& req) {
  if (req.dry_run() && req.compare_only()) return CompareOnly(call, req);
  if (req.dry_run() || req.op_id().empty()) return DoRestore(call, req);
  return journal_.FindOrRun<v1::RestoreResponse>(req.op_id(), "restore",
                                                 [&] { return DoRestore(call, req); });
}

StatusOr<v1::RestoreResponse> HBasePlugin::DoRestore(sdk::Call& call,
                                                     const v1::RestoreRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  const std::string& rp = req.restore_point_id();
  if (req.has_source() && !req.source().config().config_json().empty() &&
      req.source().config().cluster() != plugin_config_.cluster()) {
    return FailedPreconditionError(
        "point " + rp + " is held by cluster " + req.source().config().cluster() +
            ": an hbase point restores on the cluster that holds its snapshots; copy it here "
            "first with a backup in that direction (a failback does), then restore",
        rp);
  }
  StatusOr<PointFiles> files = LoadPoint(fs_, layout_, layout_.PointDir(rp));
  if (!files.ok()) {
    if (files.status().code() == Code::kNotFound) {
      return NotFoundError(
          "restore point " + rp + " is not committed on this cluster (" + config_.master + ")", rp);
    }
    return files.status();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Placement place, PlaceRestore(ds, files->point, req.destination()));
  if (place.into_itself) {
    LIFEBOAT_ASSIGN_OR_RETURN(FenceMarker fence, FenceOf(ds));
    if (fence.epoch > 0) {
      return FailedPreconditionError("data set hbase:" + ds.selector() +
                                         " is fenced on this cluster (epoch " +
                                         std::to_string(fence.epoch) + ": " + fence.reason +
                                         "): a restore into it would write a demoted cluster; "
                                         "restore elsewhere (--destination) or unfence first",
                                     ds.selector());
    }
  }
  auto thrift = Thrift();
  auto master = Master();
  Status ns_error;
  const bool ns_exists = HasNamespace(*thrift, place.ns, &ns_error);
  LIFEBOAT_RETURN_IF_ERROR(ns_error);

  sdk::RestoreConflicts conflicts;
  std::set<std::string> existing;
  if (ns_exists) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> live,
                              master->ListTableNames(place.ns, "", false));
    existing.insert(live.begin(), live.end());
  }
  std::set<std::string> targets;
  for (const auto& [from, to] : place.to) {
    targets.insert(to);
    if (existing.count(to)) conflicts.overwrites.push_back("table " + to);
  }
  std::vector<std::string> drops;
  if (place.into_itself && ds.is_namespace()) {
    for (const auto& t : existing) {
      if (!targets.count(t)) {
        drops.push_back(t);
        conflicts.deletes.push_back("table " + t);
      }
    }
  }
  const std::string where =
      req.destination().empty() ? "hbase:" + ds.selector() : "hbase destination " + place.ns;
  LIFEBOAT_RETURN_IF_ERROR(sdk::CheckRestoreConsent(req, where, conflicts));

  v1::RestoreResponse resp;
  if (!ns_exists) resp.add_changes("create namespace " + place.ns);
  for (const auto& t : drops) resp.add_changes("drop table " + t + " (the point does not hold it)");
  for (const PointTable& t : files->point.tables) {
    const std::string& to = place.to[t.table];
    resp.add_changes(existing.count(to) ? "restore table " + to + " from snapshot " + t.snapshot +
                                              " (disabled, replaced, enabled)"
                                        : "clone snapshot " + t.snapshot + " as table " + to);
  }
  if (req.dry_run()) return resp;

  if (!ns_exists) {
    Status made = thrift->CreateNamespace(place.ns);
    if (!made.ok() && made.code() != Code::kAlreadyExists) return made;
  }
  for (const auto& t : drops) {
    if (call.Cancelled()) return CancelledError("restore of " + rp + " cancelled (repeat it)");
    StatusOr<bool> enabled = thrift->IsTableEnabled(t);
    if (enabled.ok() && *enabled) LIFEBOAT_RETURN_IF_ERROR(thrift->DisableTable(t));
    LIFEBOAT_RETURN_IF_ERROR(thrift->DeleteTable(t));
  }
  for (const PointTable& t : files->point.tables) {
    if (call.Cancelled()) return CancelledError("restore of " + rp + " cancelled (repeat it)");
    const std::string& to = place.to[t.table];
    if (!existing.count(to)) {
      Status cloned = master->CloneSnapshot(t.snapshot, to);
      if (!cloned.ok() && cloned.code() != Code::kAlreadyExists) return cloned;
      LIFEBOAT_RETURN_IF_ERROR(ClearCopiedFence(*thrift, to));
      continue;
    }
    StatusOr<bool> enabled = thrift->IsTableEnabled(to);
    if (!enabled.ok()) return enabled.status();
    if (*enabled) LIFEBOAT_RETURN_IF_ERROR(thrift->DisableTable(to));
    if (to == t.table) {
      LIFEBOAT_RETURN_IF_ERROR(master->RestoreSnapshot(t.snapshot, to));
      LIFEBOAT_RETURN_IF_ERROR(thrift->EnableTable(to));
      LIFEBOAT_RETURN_IF_ERROR(ClearCopiedFence(*thrift, to));
    } else {
      // Another table's snapshot over this one: HBase restores a snapshot only onto its own
      // table, so the old table goes and the snapshot is cloned under its name (the point
      // stays, so a failure here is repaired by repeating the restore).
      LIFEBOAT_RETURN_IF_ERROR(thrift->DeleteTable(to));
      LIFEBOAT_RETURN_IF_ERROR(master->CloneSnapshot(t.snapshot, to));
      LIFEBOAT_RETURN_IF_ERROR(ClearCopiedFence(*thrift, to));
    }
  }
  // Clones and restores link the snapshot's HFiles: no data bytes are written.
  resp.set_bytes_written(0);
  return resp;
}

StatusOr<v1::RestoreResponse> HBasePlugin::CompareOnly(sdk::Call& call,
                                                       const v1::RestoreRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  const std::string& rp = req.restore_point_id();
  // The point, from the cluster that holds it.
  StatusOr<PointFiles> files = NotFoundError("");
  if (req.has_source() && !req.source().config().config_json().empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(Config c, ParseConfig(req.source().config().config_json()));
    hdfs::WebHdfsClient::Options o;
    o.namenodes = c.namenodes;
    o.user = c.user;
    hdfs::WebHdfsClient peer(o);
    Layout peer_layout{c.root, c.state_dir};
    files = LoadPoint(peer, peer_layout, peer_layout.PointDir(rp));
  } else {
    files = LoadPoint(fs_, layout_, layout_.PointDir(rp));
  }
  if (!files.ok()) {
    if (files.status().code() == Code::kNotFound) {
      return NotFoundError("restore point " + rp + " is not committed on its holder", rp);
    }
    return files.status();
  }
  // The point's HFiles per table.
  std::map<std::string, std::set<std::string>> at_point;
  for (const auto& t : files->point.tables) at_point[QualifierOf(t.table)];
  for (const auto& e : files->manifest.entries()) {
    if (e.type() != v1::ENTRY_FILE) continue;
    at_point[e.path().substr(0, e.path().find('/'))].insert(e.path());
  }
  StatusOr<std::vector<std::string>> live = TablesOf(ds);
  std::vector<std::string> tables;
  if (live.ok()) {
    tables = *live;
  } else if (live.status().code() != Code::kNotFound) {
    return live.status();
  }
  v1::RestoreResponse resp;
  std::set<std::string> live_q;
  auto master = Master();
  for (const auto& table : tables) {
    if (call.Cancelled()) return CancelledError("comparison with " + rp + " cancelled");
    const std::string q = QualifierOf(table);
    live_q.insert(q);
    auto it = at_point.find(q);
    if (it == at_point.end()) {
      resp.add_changes("table " + table + ": created after the point");
      continue;
    }
    // What the table holds now, memstores flushed: a FLUSH snapshot taken for the
    // comparison and deleted right after (it writes no data; HFiles are immutable, so a new
    // name is a write after the point, or a compaction of written files).
    const std::string name =
        "lifeboat-compare-" + PointKey(req.op_id() + "/" + rp) + "-" + ds.ns + "-" + q;
    (void)master->DeleteSnapshot(name);
    LIFEBOAT_RETURN_IF_ERROR(TakeTableSnapshot(call, *master, table, name).status());
    StatusOr<std::vector<SnapshotStoreFile>> now = SnapshotHFiles(fs_, config_.root, name, nullptr);
    Status dropped = master->DeleteSnapshot(name);
    if (!now.ok()) return now.status();
    LIFEBOAT_RETURN_IF_ERROR(dropped);
    size_t added = 0, gone = 0;
    std::set<std::string> now_items;
    for (const auto& f : *now) {
      const std::string item = ItemOfArchivePath(f.archive_path);
      now_items.insert(item);
      if (!it->second.count(item)) ++added;
    }
    for (const auto& item : it->second) {
      if (!now_items.count(item)) ++gone;
    }
    if (added > 0) {
      resp.add_changes("table " + table + ": " + std::to_string(added) +
                       " store file(s) written after the point");
    }
    if (gone > 0) {
      resp.add_changes("table " + table + ": " + std::to_string(gone) +
                       " store file(s) of the point compacted or removed since");
    }
  }
  for (const auto& [q, items] : at_point) {
    if (!live_q.count(q))
      resp.add_changes("table " + ds.ns + ":" + q + ": dropped after the point");
  }
  return resp;
}

StatusOr<v1::ExpireResponse> HBasePlugin::Expire(sdk::Call& call, const v1::ExpireRequest& req) {
  v1::ExpireResponse resp;
  auto master = Master();
  for (const std::string& rp : req.restore_point_ids()) {
    if (call.Cancelled()) return CancelledError("expire cancelled before point " + rp);
    StatusOr<PointFiles> files = LoadPoint(fs_, layout_, layout_.PointDir(rp));
    // A point that was staged but never committed leaves its staging directory behind.
    LIFEBOAT_RETURN_IF_ERROR(fs_.Delete(layout_.StagingDir(rp), true).status());
    if (!files.ok()) {
      if (files.status().code() != Code::kNotFound) return files.status();
      resp.add_already_absent(rp);
      continue;
    }
    for (const PointTable& t : files->point.tables) {
      Status s = master->DeleteSnapshot(t.snapshot);
      if (!s.ok() && s.code() != Code::kNotFound) return s;
    }
    LIFEBOAT_RETURN_IF_ERROR(fs_.Delete(layout_.PointDir(rp), true).status());
    resp.add_removed(rp);
  }
  return resp;
}

}  // namespace lifeboat::hbase
