// restore: a destination made equal to a retained point, and read: serving this cluster's
// cuts and points to a peer.
//
// Destinations: "" the data set itself; otherwise a database prefix (DatabasePrefix):
// "restored_" puts hive:sales into database restored_sales, hive:sales.orders into
// restored_sales.orders. Under a new database name the database gets the metastore's default
// location (not the original's); tables keep the point's locations, rewritten to this cluster.
// What is there and differs from the point, or that the point lacks, is replaced or dropped
// only with the operator's consent (RestoreRequest.overwrite), checked before any change and
// in a dry run too; a repeat of the same op id (a resume) needs none for what it wrote itself
// (restores/<sha256 of the op id> in the store names its destination). The point comes from this
// cluster's records, or from the peer holding it (RestoreRequest.source: back to the primary),
// whose objects are fetched first.
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/restore.h>
#include <lifeboat/sdk/serve.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "apply.h"
#include "fence.h"
#include "hive_plugin.h"
#include "peer.h"

namespace lifeboat::hive {
namespace {

// Hive keeps database names of at most 128 characters.
constexpr size_t kMaxNameLength = 128;

// The file that says which destination a restore op id writes (a resume needs no consent for
// what it wrote itself): restores/<sha256 of the op id>.
std::filesystem::path OwnerFile(const SetStore& store, const std::string& op_id) {
  return store.dir() / "restores" / sdk::Hex(sdk::Sha256Of(op_id));
}

bool WroteItself(const SetStore& store, const std::string& op_id, const std::string& target) {
  std::ifstream in(OwnerFile(store, op_id));
  std::string held((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return held == target;  // an absent file holds nothing
}

}  // namespace

StatusOr<std::string> DatabasePrefix(const std::string& destination) {
  std::string prefix;
  for (char c : destination)
    prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // A path-shaped destination (the one name given to every member of a point, "/restored"):
  // its parts joined by '_', and a '_' before the database name.
  if (prefix.find('/') != std::string::npos) {
    const size_t first = prefix.find_first_not_of('/');
    const size_t last = prefix.find_last_not_of('/');
    prefix = first == std::string::npos ? "" : prefix.substr(first, last - first + 1);
    std::replace(prefix.begin(), prefix.end(), '/', '_');
    if (!prefix.empty()) prefix += '_';
  }
  std::replace(prefix.begin(), prefix.end(), '-', '_');
  std::replace(prefix.begin(), prefix.end(), '.', '_');
  if (prefix.empty()) {
    return InvalidArgumentError("restore destination '" + destination +
                                    "' leaves no database prefix; give one, e.g. restored_",
                                destination);
  }
  for (char c : prefix) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return InvalidArgumentError(
          "restore destination '" + destination + "' is not a database prefix: '" +
              std::string(1, c) +
              "' cannot be in a Hive database name (letters, digits and '_'; '-', '.' and '/' "
              "are read as '_'); give hive its own, e.g. --destination hive=restored_",
          destination);
    }
  }
  return prefix;
}

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
  // The destination first: a bad one is refused before anything is read or made.
  std::string db = sel.db;
  if (!req.destination().empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string prefix, DatabasePrefix(req.destination()));
    db = prefix + sel.db;
    if (db.size() > kMaxNameLength) {
      return InvalidArgumentError("restore destination '" + req.destination() +
                                      "' makes database " + db + " of " +
                                      std::to_string(db.size()) + " characters; Hive allows " +
                                      std::to_string(kMaxNameLength) + ": give a shorter prefix",
                                  req.destination());
    }
  }
  const std::string target = "hive:" + (sel.whole_db() ? db : db + "." + sel.table);
  const bool into_itself = req.destination().empty();
  const bool compare_only = req.dry_run() && req.compare_only();
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  const std::string& rp = req.restore_point_id();
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  if (into_itself && !compare_only) {
    // A dry run is refused as the real run would be.
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
  opts.writer = "restore " + rp;

  // What the restore would change, listed before anything changes: the dry run's answer, and
  // what needs the operator's consent (what is there and differs, or that the point lacks).
  opts.mode = ApplyOptions::Mode::kDryRun;
  Applier lister(*this, call, opts);
  LIFEBOAT_RETURN_IF_ERROR(lister.Run(state, sel.whole_db(), {}));
  sdk::RestoreConflicts conflicts;
  for (const Change& ch : lister.changes()) {
    if (ch.kind == "differs") conflicts.overwrites.push_back(ch.what);
    if (ch.kind == "extra") conflicts.deletes.push_back(ch.what);
  }
  if (!WroteItself(*store, req.op_id(), target)) {
    LIFEBOAT_RETURN_IF_ERROR(sdk::CheckRestoreConsent(req, target, conflicts));
  }
  v1::RestoreResponse resp;
  if (req.dry_run()) {
    for (const Change& ch : lister.changes()) resp.add_changes(ch.what);
    resp.set_bytes_written(lister.bytes_written());
    return resp;
  }
  if (lister.changes().empty()) return resp;  // already equal: nothing to write

  // From here on this op id writes `target`: a repeat (a resume) may change what it wrote.
  const std::filesystem::path owner = OwnerFile(*store, req.op_id());
  std::error_code ec;
  std::filesystem::create_directories(owner.parent_path(), ec);
  LIFEBOAT_RETURN_IF_ERROR(sdk::WriteFileAtomically(owner, target));

  opts.mode = ApplyOptions::Mode::kApply;
  Applier applier(*this, call, opts);
  LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t start, c.GetCurrentNotificationEventId());
  Status applied = applier.Run(state, sel.whole_db(), {});
  if (into_itself) {
    // Even a restore that failed half-way wrote as Lifeboat: never the target's own changes.
    LIFEBOAT_ASSIGN_OR_RETURN(int64_t end, c.GetCurrentNotificationEventId());
    LIFEBOAT_RETURN_IF_ERROR(store->AddOwnWrites(uuid, start + 1, end, "restore " + rp));
  }
  LIFEBOAT_RETURN_IF_ERROR(applied);
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
