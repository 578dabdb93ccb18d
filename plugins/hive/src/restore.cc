// restore: a destination made equal to a retained point, and read: serving this cluster's
// cuts and points to a peer.
//
// Destinations: "" the data set itself; otherwise the data set's new name — a database name
// for a database ("sales_restored"), "db" or "db.table" for a table. Under a new database name
// the database gets the metastore's default location (not the original's); tables keep the
// point's locations, rewritten to this cluster. The point comes from this cluster's records,
// or from the peer holding it (RestoreRequest.source: back to the primary), whose objects are
// fetched first.
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/serve.h>

#include <cctype>

#include "apply.h"
#include "fence.h"
#include "hive_plugin.h"
#include "peer.h"

namespace lifeboat::hive {
namespace {

bool ValidName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

// The destination's database and table names.
Status ParseDestination(const Selector& sel, std::string dest, std::string& db,
                        std::string& table) {
  for (char& c : dest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t dot = dest.find('.');
  db = dest.substr(0, dot);
  table = dot == std::string::npos ? "" : dest.substr(dot + 1);
  const bool ok = ValidName(db) && (dot == std::string::npos || ValidName(table)) &&
                  (table.empty() || !sel.whole_db());
  if (!ok) {
    return InvalidArgumentError(
        "hive restore destination '" + dest + "' is not a new name for hive:" + sel.text() +
            ": give a database name for a database (sales_restored), or db or db.table for a "
            "table; names are lower-case letters, digits and '_'",
        dest);
  }
  return OkStatus();
}

}  // namespace

StatusOr<v1::RestoreResponse> HivePlugin::Restore(sdk::Call& call, const v1::RestoreRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(req.restore_point_id()));
  // Not journaled: a repeat compares again and finds nothing left to write (bytes_written 0),
  // which is what a repeated op id must answer.
  return RunRestore(call, req);
}

StatusOr<v1::RestoreResponse> HivePlugin::RunRestore(sdk::Call& call,
                                                     const v1::RestoreRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  const std::string& rp = req.restore_point_id();
  std::string db, table;
  if (!req.destination().empty()) {
    LIFEBOAT_RETURN_IF_ERROR(ParseDestination(sel, req.destination(), db, table));
  }
  const bool into_itself =
      req.destination().empty() || (db == sel.db && (table.empty() || table == sel.table));
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  if (into_itself && !req.dry_run()) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<FenceMark> fence, FenceOf(c, sel));
    if (fence) {
      return FailedPreconditionError(
          "hive:" + sel.text() + " is fenced on cluster " + config_.cluster + " (epoch " +
              std::to_string(fence->epoch) + ": " + fence->reason +
              "); a restore into it waits until it is unfenced (the engine applies a point "
              "after the unfence)",
          "hive:" + sel.text());
    }
  }

  hstate::CutRecord cut;
  if (req.has_source()) {
    v1::SnapshotRef ref;
    ref.set_plugin(kPluginName);
    *ref.mutable_data_set() = req.data_set();
    ref.mutable_data_set()->set_selector(sel.text());
    ref.set_restore_point_id(rp);
    LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, ReadPeerItem(call, req.source(), ref, "point"));
    hstate::PointRecord point;
    if (!point.ParseFromString(bytes)) {
      return DataLossError("the point record of " + rp + " from cluster " +
                           req.source().config().cluster() + " does not parse");
    }
    cut = point.cut();
    LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest m, ManifestOf(cut));
    std::vector<ObjectRef> objects;
    for (const auto& e : m.entries()) objects.push_back({sdk::Hex(e.digest()), e.size(), e.path()});
    FetchCount count;
    LIFEBOAT_RETURN_IF_ERROR(
        FetchObjects(call, req.source(), ref, objects, *store, 0, nullptr, count));
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(auto held, store->StateOf(rp));
    if (!held) {
      return NotFoundError("hive:" + sel.text() + ": point " + rp + " is not held on cluster " +
                               config_.cluster + " (expired, or committed elsewhere)",
                           rp);
    }
    cut = *held;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest manifest, ManifestOf(cut));
  LIFEBOAT_ASSIGN_OR_RETURN(PointState state, LoadState(*store, manifest));
  if (!state.database) {
    return DataLossError("point " + rp + " of hive:" + sel.text() + " holds no database object");
  }
  ApplyOptions opts;
  opts.selector = sel;
  opts.rewriter = RewriterFor(cut);
  opts.target_db = db;
  opts.target_table = table;
  opts.mode = req.dry_run() ? ApplyOptions::Mode::kDryRun : ApplyOptions::Mode::kApply;
  opts.writer = "restore " + rp;
  Applier applier(*this, call, opts);
  LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t start, c.GetCurrentNotificationEventId());
  Status applied = applier.Run(state, sel.whole_db(), {});
  if (!req.dry_run() && into_itself) {
    // Even a restore that failed half-way wrote as Lifeboat: never the target's own changes.
    LIFEBOAT_ASSIGN_OR_RETURN(int64_t end, c.GetCurrentNotificationEventId());
    LIFEBOAT_RETURN_IF_ERROR(store->AddOwnWrites(uuid, start + 1, end, "restore " + rp));
  }
  LIFEBOAT_RETURN_IF_ERROR(applied);
  v1::RestoreResponse resp;
  for (const Change& ch : applier.changes()) resp.add_changes(ch.what);
  resp.set_bytes_written(applier.bytes_written());
  return resp;
}

StatusOr<v1::ReadResponse> HivePlugin::Read(sdk::Call& call, const v1::ReadRequest& req) {
  const v1::SnapshotRef& ref = req.snapshot();
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(ref.data_set()));
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(ref.restore_point_id()));
  const std::string& item = req.item();
  const bool object = item.rfind("object/", 0) == 0;
  if (item != "cut" && item != "point" && !object) {
    return InvalidArgumentError(
        "hive serves the items 'cut', 'point' and 'object/<sha256>' of a "
        "point; '" +
            item + "' is none of them",
        item);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  const std::string& rp = ref.restore_point_id();
  if (item == "cut" || item == "point") {
    std::filesystem::path file = store->dir() / (item == "cut" ? "cuts" : "points") /
                                 (rp + (item == "cut" ? ".cut" : ".point"));
    StatusOr<v1::ReadResponse> r = sdk::ServeFileRange(call, file, req.offset(), req.length());
    if (!r.ok() && r.status().code() == Code::kNotFound) {
      return NotFoundError(
          "hive:" + sel.text() + ": no " + item + " of " + rp + " on cluster " + config_.cluster,
          rp);
    }
    return r;
  }
  const std::string hex = item.substr(7);
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidArgumentError("'" + item + "' does not name an object", item);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto held, store->StateOf(rp));
  if (!held) return NotFoundError("hive:" + sel.text() + ": no cut or point " + rp + " here", rp);
  LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest m, ManifestOf(*held));
  bool named = false;
  for (const auto& e : m.entries()) named = named || sdk::Hex(e.digest()) == hex;
  if (!named) {
    return InvalidArgumentError(
        "object " + hex + " is not part of " + rp + " of hive:" + sel.text(), item);
  }
  return sdk::ServeFileRange(call, store->ObjectFile(hex), req.offset(), req.length());
}

}  // namespace lifeboat::hive
