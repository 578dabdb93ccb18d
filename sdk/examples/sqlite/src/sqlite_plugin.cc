// The sqlite example plugin: what docs/plugin-guide.md walks a vendor through, built outside
// Lifeboat's tree against the installed SDK (find_package(Lifeboat CONFIG)).
//
// Component: SQLite databases. A cluster is a directory (config {"root": "/abs/dir"}); a data
// set `sqlite:<name>` is the subdirectory <root>/<name> and every *.db file in it (one
// database per tenant, say). A cut takes each database with SQLite's online backup API, which
// gives a consistent copy while applications keep writing. The target reads the cut only
// through the peer stream (the host's peer_read): it never needs a path to the source, so the
// two clusters can be different machines.
//
// Layout of the plugin's own state under <root>/.lifeboat-sqlite/:
//   snapshots/<rp>/<name>/<db>      source: the cut's copies, served to the target
//   snapshots/<rp>/<name>.manifest  source: the cut's MemberManifest
//   staging/<rp>/<name>/...         target: a point being copied (+ .manifest)
//   points/<rp>/<name>/...          target: committed points (+ .manifest)
//   journal/<name>                  op-id journal of cuts (sdk/journal.h)
// Items of Read: "manifest", and "db/<file>".
#include <lifeboat/sdk/config.h>
#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/journal.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/restore.h>
#include <lifeboat/sdk/serve.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/sdk/verify.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <system_error>
#include <vector>

namespace acme_sqlite {

namespace fs = std::filesystem;
namespace v1 = lifeboat::v1;
namespace sdk = lifeboat::sdk;
using lifeboat::Code;
using lifeboat::Status;
using lifeboat::StatusOr;

constexpr char kName[] = "sqlite";
constexpr char kState[] = ".lifeboat-sqlite";

bool IsDataSetName(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._-]*");
  return std::regex_match(s, re);
}
bool IsDbName(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._-]*\\.db");
  return std::regex_match(s, re);
}

// The *.db files of a directory, sorted.
std::vector<std::string> Databases(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (it->is_regular_file() && IsDbName(n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status SqliteError(sqlite3* db, const std::string& what) {
  return lifeboat::InternalError(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// Copies database `from` into a new file `to` with the online backup API: a consistent copy
// even while other connections write (SQLite restarts the copy when the source changes).
Status BackupDatabase(const fs::path& from, const fs::path& to) {
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  Status s;
  if (sqlite3_open_v2(from.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    s = SqliteError(src, "open " + from.string());
  } else if (sqlite3_open(to.c_str(), &dst) != SQLITE_OK) {
    s = SqliteError(dst, "create " + to.string());
  } else {
    sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == nullptr) {
      s = SqliteError(dst, "back up " + from.string());
    } else {
      int rc;
      while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        sqlite3_sleep(20);
      }
      sqlite3_backup_finish(b);
      if (rc != SQLITE_DONE) s = SqliteError(dst, "back up " + from.string());
    }
  }
  sqlite3_close(src);
  sqlite3_close(dst);
  return s;
}

// The digest a cut would record for the live database `db` now: a point holds online
// backups, whose bytes differ from the live file's (page layout, header counters) though the
// rows are the same, so a comparison with a point hashes a fresh backup, made in `scratch`
// (never in the data set). NOT_FOUND when `db` is not there.
StatusOr<std::string> BackupDigest(const fs::path& db, const fs::path& scratch) {
  std::error_code ec;
  if (!fs::exists(db, ec)) return lifeboat::NotFoundError(db.string() + " is not there");
  fs::create_directories(scratch, ec);
  const fs::path tmp = scratch / (db.filename().string() + ".compare");
  fs::remove(tmp, ec);
  Status made = BackupDatabase(db, tmp);
  StatusOr<std::string> digest =
      made.ok() ? sdk::Sha256OfFile(tmp, nullptr) : StatusOr<std::string>(made);
  fs::remove(tmp, ec);
  return digest;
}

struct Paths {
  fs::path root;
  fs::path state() const { return root / kState; }
  fs::path live(const std::string& ds) const { return root / ds; }
  fs::path snapshot(const std::string& rp, const std::string& ds) const {
    return state() / "snapshots" / rp / ds;
  }
  fs::path staging(const std::string& rp, const std::string& ds) const {
    return state() / "staging" / rp / ds;
  }
  fs::path point(const std::string& rp, const std::string& ds) const {
    return state() / "points" / rp / ds;
  }
  static fs::path manifest_of(const fs::path& dir) { return dir.string() + ".manifest"; }
};

StatusOr<v1::MemberManifest> LoadManifest(const fs::path& file) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, sdk::ReadWholeFile(file));
  v1::MemberManifest m;
  if (!m.ParseFromString(bytes)) {
    return lifeboat::DataLossError(file.string() + " does not parse as a manifest");
  }
  return m;
}

// A copy on this cluster (staged or committed), as the verify loop sees it.
class DirectoryTarget : public sdk::VerifyTarget {
 public:
  explicit DirectoryTarget(fs::path dir) : dir_(std::move(dir)) {}
  Status List(const std::function<Status(const sdk::TargetItem&)>& each) override {
    for (const std::string& n : Databases(dir_)) {
      LIFEBOAT_RETURN_IF_ERROR(each({n, v1::ENTRY_FILE, fs::file_size(dir_ / n)}));
    }
    return lifeboat::OkStatus();
  }
  StatusOr<std::string> Digest(const sdk::Call& call, const std::string& path) override {
    return sdk::Sha256OfFile(dir_ / path, &call);
  }

 private:
  fs::path dir_;
};

class SqlitePlugin : public sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe() {
    v1::PluginDescriptor d;
    d.set_name(kName);
    d.set_version("1.0.0");
    d.set_component("sqlite");
    d.set_config_type("acme.sqlite.v1.Config");
    d.set_description("SQLite databases in a directory, cut with the online backup API");
    for (v1::Capability c : {v1::CAP_INCREMENTAL, v1::CAP_RESUMABLE_TRANSFER, v1::CAP_DIGEST_VERIFY,
                             v1::CAP_RESTORE, v1::CAP_PEER_READ}) {
      d.add_capabilities(c);
    }
    return d;
  }

  // Config: {"root": "/absolute/directory"}. No side effects.
  static Status Validate(const v1::PluginConfig& config) { return Parse(config).status(); }

  static StatusOr<std::unique_ptr<SqlitePlugin>> Create(sdk::Host host,
                                                        const v1::PluginConfig& config) {
    LIFEBOAT_ASSIGN_OR_RETURN(Paths paths, Parse(config));
    return std::unique_ptr<SqlitePlugin>(new SqlitePlugin(host, config, std::move(paths)));
  }

  StatusOr<v1::ProbeResponse> Probe(sdk::Call&, const v1::ProbeRequest&) override {
    v1::ProbeResponse r;
    std::error_code ec;
    bool ok = fs::is_directory(paths_.root, ec);
    r.set_health(ok ? v1::HEALTHY : v1::UNREACHABLE);
    r.set_component_version(std::string("SQLite ") + sqlite3_libversion());
    r.set_detail(ok ? paths_.root.string() : paths_.root.string() + " is not a directory");
    return r;
  }

  StatusOr<v1::ResolveResponse> Resolve(sdk::Call&, const v1::ResolveRequest& req) override {
    v1::ResolveResponse r;
    std::vector<std::string> names;
    if (req.selector() == "*") {
      std::error_code ec;
      for (fs::directory_iterator it(paths_.root, ec), end; !ec && it != end; it.increment(ec)) {
        std::string n = it->path().filename().string();
        if (it->is_directory() && IsDataSetName(n) && !Databases(it->path()).empty()) {
          names.push_back(n);
        }
      }
      std::sort(names.begin(), names.end());
    } else if (IsDataSetName(req.selector()) && fs::is_directory(paths_.live(req.selector()))) {
      names.push_back(req.selector());
    }
    if (names.empty()) {
      return lifeboat::NotFoundError("no directory of databases matches '" + req.selector() +
                                     "' under " + paths_.root.string());
    }
    for (const std::string& n : names) {
      v1::DataSet* ds = r.add_data_sets();
      ds->set_component("sqlite");
      ds->set_selector(n);
    }
    return r;
  }

  StatusOr<v1::PrepareResponse> Prepare(sdk::Call&, const v1::PrepareRequest& req) override {
    LIFEBOAT_RETURN_IF_ERROR(CheckDataSet(req.data_set()));
    v1::PrepareResponse r;
    r.set_detail(std::to_string(Databases(paths_.live(req.data_set().selector())).size()) +
                 " databases");
    return r;
  }

  // A cut's answer (its snapshot's times) cannot be made again: the journal keeps it.
  StatusOr<v1::CutResponse> Cut(sdk::Call& call, const v1::CutRequest& req) override {
    LIFEBOAT_RETURN_IF_ERROR(CheckDataSet(req.data_set()));
    if (req.op_id().empty()) return lifeboat::InvalidArgumentError("cut needs an op_id", "op_id");
    const std::string ds = req.data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(paths_.state() / "journal"));
    sdk::OpJournal journal(
        std::make_unique<sdk::FileJournalStore>(paths_.state() / "journal" / ds));
    return journal.FindOrRun<v1::CutResponse>(req.op_id(), "cut",
                                              [&] { return CutNow(call, req); });
  }

  StatusOr<v1::ReleaseResponse> Release(sdk::Call&, const v1::ReleaseRequest& req) override {
    const std::string ds = req.snapshot().data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    LIFEBOAT_RETURN_IF_ERROR(CheckName(req.snapshot().restore_point_id()));
    const fs::path dir = paths_.snapshot(req.snapshot().restore_point_id(), ds);
    std::error_code ec;
    bool existed = fs::exists(dir, ec);
    fs::remove_all(dir, ec);
    fs::remove(Paths::manifest_of(dir), ec);
    v1::ReleaseResponse r;
    r.set_released(existed);
    return r;
  }

  StatusOr<v1::PlanTransferResponse> PlanTransfer(sdk::Call& call,
                                                  const v1::PlanTransferRequest& req) override {
    const v1::SnapshotRef& snap = req.snapshot();
    const std::string ds = snap.data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    LIFEBOAT_RETURN_IF_ERROR(CheckName(snap.restore_point_id()));
    // The cut's manifest comes through the peer stream, and is kept with the staged copy.
    std::string bytes;
    v1::ReadRequest read;
    *read.mutable_snapshot() = snap;
    read.set_item("manifest");
    LIFEBOAT_RETURN_IF_ERROR(call.ReadPeer(req.source(), read, [&](std::string_view chunk) {
      bytes.append(chunk);
      return lifeboat::OkStatus();
    }));
    v1::MemberManifest cut;
    if (!cut.ParseFromString(bytes)) {
      return lifeboat::DataLossError("the cut's manifest from cluster " +
                                     req.source().config().cluster() + " does not parse");
    }
    const fs::path staging = paths_.staging(snap.restore_point_id(), ds);
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(staging));
    LIFEBOAT_RETURN_IF_ERROR(sdk::WriteFileAtomically(Paths::manifest_of(staging), bytes));

    // Unchanged databases (same digest in the base point, under any name) come from the
    // base point on this cluster; the rest from the source.
    std::map<std::string, std::string> base_by_digest;
    v1::PlanTransferResponse r;
    if (!req.base_restore_point_id().empty() && !req.force_full()) {
      StatusOr<v1::MemberManifest> base =
          LoadManifest(Paths::manifest_of(paths_.point(req.base_restore_point_id(), ds)));
      if (base.ok()) {
        for (const v1::Entry& e : base->entries()) base_by_digest[e.digest()] = e.path();
        r.set_incremental(true);
        std::map<std::string, bool> now;
        for (const v1::Entry& e : cut.entries()) now[e.path()] = true;
        for (const v1::Entry& e : base->entries()) {
          if (!now.count(e.path())) r.set_items_deleted(r.items_deleted() + 1);
        }
      } else {
        r.set_full_reason("base point " + req.base_restore_point_id() +
                          " is not on this cluster: " + base.status().message());
      }
    } else if (req.force_full()) {
      r.set_full_reason("a full copy was asked for");
    }
    int n = 0;
    for (const v1::Entry& e : cut.entries()) {
      v1::TransferTask* t = r.add_tasks();
      t->set_task_id("t" + std::to_string(n++));
      t->add_paths(e.path());
      auto base = base_by_digest.find(e.digest());
      if (base != base_by_digest.end()) {
        t->set_kind("link");
        t->add_paths(base->second);  // where it is in the base point
        t->set_opaque(req.base_restore_point_id());
        r.set_items_unchanged(r.items_unchanged() + 1);
      } else {
        t->set_kind("copy");
        t->set_bytes(e.size());
        t->set_items(1);
        r.set_bytes_to_copy(r.bytes_to_copy() + e.size());
        r.set_items_to_copy(r.items_to_copy() + 1);
      }
    }
    return r;
  }

  // Idempotent by state: a database already in place (right size and digest) moves nothing;
  // a partial one left by a cancelled call is continued (sdk::CopyResumable).
  StatusOr<v1::TransferResponse> Transfer(sdk::Call& call,
                                          const v1::TransferRequest& req) override {
    const v1::SnapshotRef& snap = req.snapshot();
    const std::string ds = snap.data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    const fs::path staging = paths_.staging(snap.restore_point_id(), ds);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest cut, LoadManifest(Paths::manifest_of(staging)));
    const v1::TransferTask& task = req.task();
    if (task.paths_size() < 1 || !IsDbName(task.paths(0))) {
      return lifeboat::InvalidArgumentError("task " + task.task_id() + " names no database");
    }
    const std::string& name = task.paths(0);
    const v1::Entry* entry = nullptr;
    for (const v1::Entry& e : cut.entries()) {
      if (e.path() == name) entry = &e;
    }
    if (entry == nullptr) return lifeboat::InvalidArgumentError(name + " is not in the cut");
    const fs::path final_path = staging / name;
    v1::TransferResponse r;
    StatusOr<std::string> have = sdk::Sha256OfFile(final_path, &call);
    if (have.ok() && *have == entry->digest()) {
      r.set_bytes_skipped(entry->size());
      r.set_items_done(1);
      return r;
    }
    if (task.kind() == "link") {
      if (task.paths_size() < 2) return lifeboat::InvalidArgumentError("link task without a base");
      const fs::path from = paths_.point(task.opaque(), ds) / task.paths(1);
      std::error_code ec;
      fs::remove(final_path, ec);
      fs::create_hard_link(from, final_path, ec);
      if (ec) return lifeboat::InternalError("link " + from.string() + ": " + ec.message());
      r.set_items_done(1);
      return r;
    }
    std::shared_ptr<sdk::Throttle> throttle =
        throttles_.For(snap.restore_point_id(), req.bandwidth_bytes_per_second());
    sdk::ProgressReporter progress(call, "transfer", entry->size(), 1);
    sdk::CopyOptions opts;
    opts.throttle = throttle.get();
    uint64_t reported = 0;
    opts.on_bytes = [&](uint64_t moved) {
      progress.Add(moved - reported, 0, name);
      reported = moved;
    };
    v1::ReadRequest read;
    *read.mutable_snapshot() = snap;
    read.set_item("db/" + name);
    const fs::path partial = final_path.string() + ".partial";
    LIFEBOAT_ASSIGN_OR_RETURN(
        sdk::CopyResult copied,
        sdk::CopyResumable(call, sdk::PeerRangeReader(call, req.source(), read), entry->size(),
                           partial, opts));
    if (copied.sha256 != entry->digest()) {
      std::error_code ec;
      fs::remove(partial, ec);
      return lifeboat::DataLossError("copy of " + name + " has digest " + sdk::Hex(copied.sha256) +
                                     ", the cut says " + sdk::Hex(entry->digest()));
    }
    std::error_code ec;
    fs::rename(partial, final_path, ec);
    if (ec)
      return lifeboat::InternalError("rename into " + final_path.string() + ": " + ec.message());
    progress.Add(0, 1, name, /*force=*/true);
    r.set_bytes_copied(copied.bytes_copied);
    r.set_bytes_skipped(copied.bytes_skipped);
    r.set_items_done(1);
    return r;
  }

  StatusOr<v1::VerifyResponse> Verify(sdk::Call& call, const v1::VerifyRequest& req) override {
    const std::string ds = req.snapshot().data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    fs::path dir = paths_.staging(req.snapshot().restore_point_id(), ds);
    if (!fs::exists(dir)) dir = paths_.point(req.snapshot().restore_point_id(), ds);
    LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest m, LoadManifest(Paths::manifest_of(dir)));
    DirectoryTarget target(dir);
    sdk::VerifyOptions opts;
    opts.level = req.level() == v1::VERIFY_LEVEL_UNSPECIFIED ? v1::VERIFY_DIGEST : req.level();
    return sdk::VerifyEntries(call, sdk::EntriesOf(m), target, opts);
  }

  StatusOr<v1::CommitResponse> Commit(sdk::Call&, const v1::CommitRequest& req) override {
    const std::string rp = req.snapshot().restore_point_id();
    const std::string ds = req.snapshot().data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    const fs::path staging = paths_.staging(rp, ds);
    const fs::path point = paths_.point(rp, ds);
    std::error_code ec;
    if (!fs::exists(point, ec)) {
      if (!fs::exists(staging, ec)) {
        return lifeboat::FailedPreconditionError("nothing staged for " + rp + " of sqlite:" + ds +
                                                 "; transfer it first");
      }
      LIFEBOAT_RETURN_IF_ERROR(MakeDirs(point.parent_path()));
      // The manifest first: a point directory without it would not verify.
      fs::rename(Paths::manifest_of(staging), Paths::manifest_of(point), ec);
      fs::rename(staging, point, ec);
      if (ec) return lifeboat::InternalError("commit " + point.string() + ": " + ec.message());
      LIFEBOAT_RETURN_IF_ERROR(sdk::SyncDirectory(point.parent_path()));
    }
    v1::CommitResponse r;
    LIFEBOAT_ASSIGN_OR_RETURN(*r.mutable_manifest(), LoadManifest(Paths::manifest_of(point)));
    r.mutable_manifest()->set_base_restore_point_id(req.base_restore_point_id());
    return r;
  }

  // Makes <root>/<destination> (default: the data set itself) hold the point's databases.
  StatusOr<v1::RestoreResponse> Restore(sdk::Call& call, const v1::RestoreRequest& req) override {
    const std::string ds = req.data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    const std::string dest_name = req.destination().empty() ? ds : req.destination();
    if (!IsDataSetName(dest_name)) {
      return lifeboat::InvalidArgumentError("destination '" + req.destination() +
                                            "' must be a directory name under the cluster's "
                                            "root (letters, digits, '.', '_', '-')");
    }
    const bool here = !req.has_source();
    v1::MemberManifest m;
    if (here) {
      StatusOr<v1::MemberManifest> local =
          LoadManifest(Paths::manifest_of(paths_.point(req.restore_point_id(), ds)));
      if (!local.ok()) {
        return lifeboat::NotFoundError("restore point " + req.restore_point_id() +
                                       " of sqlite:" + ds + " is not on this cluster");
      }
      m = *local;
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(m, ManifestFromPeer(call, req));
    }
    const fs::path dest = paths_.root / dest_name;
    v1::RestoreResponse r;
    sdk::RestoreConflicts conflicts;  // what is there and would change
    std::map<std::string, const v1::Entry*> wanted;
    for (const v1::Entry& e : m.entries()) wanted[e.path()] = &e;
    for (const std::string& n : Databases(dest)) {
      if (wanted.count(n)) continue;
      r.add_changes("delete " + n);
      conflicts.deletes.push_back(n);
    }
    std::vector<const v1::Entry*> to_write;
    for (const v1::Entry& e : m.entries()) {
      StatusOr<std::string> have = req.compare_only()
                                       ? BackupDigest(dest / e.path(), paths_.state() / "compare")
                                       : sdk::Sha256OfFile(dest / e.path(), &call);
      if (have.ok() && *have == e.digest()) continue;
      r.add_changes((have.ok() ? "update " : "create ") + e.path());
      if (have.ok()) conflicts.overwrites.push_back(e.path());
      to_write.push_back(&e);
    }
    // Nothing there is deleted or replaced without the operator's consent. A resumed restore
    // needs none for what it wrote itself: a database it finished matches the point, so only
    // what someone else put there can conflict.
    LIFEBOAT_RETURN_IF_ERROR(sdk::CheckRestoreConsent(req, dest.string(), conflicts));
    if (req.dry_run()) return r;
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(dest));
    for (const v1::Entry* e : to_write) {
      const fs::path partial = (dest / e->path()).string() + ".restoring";
      sdk::RangeReader reader;
      if (here) {
        reader = sdk::LocalFileReader(paths_.point(req.restore_point_id(), ds) / e->path());
      } else {
        v1::ReadRequest read;
        *read.mutable_snapshot() = m.snapshot();
        read.set_item("db/" + e->path());
        reader = sdk::PeerRangeReader(call, req.source(), read);
      }
      LIFEBOAT_ASSIGN_OR_RETURN(sdk::CopyResult c,
                                sdk::CopyResumable(call, reader, e->size(), partial));
      if (c.sha256 != e->digest()) {
        return lifeboat::DataLossError("point copy of " + e->path() + " does not match its digest");
      }
      std::error_code ec;
      fs::rename(partial, dest / e->path(), ec);
      if (ec) return lifeboat::InternalError("rename into " + dest.string() + ": " + ec.message());
      r.set_bytes_written(r.bytes_written() + c.bytes_copied);
    }
    for (const std::string& n : Databases(dest)) {
      std::error_code ec;
      if (!wanted.count(n)) fs::remove(dest / n, ec);
    }
    return r;
  }

  StatusOr<v1::ExpireResponse> Expire(sdk::Call&, const v1::ExpireRequest& req) override {
    const std::string ds = req.data_set().selector();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    v1::ExpireResponse r;
    for (const std::string& rp : req.restore_point_ids()) {
      LIFEBOAT_RETURN_IF_ERROR(CheckName(rp));
      const fs::path point = paths_.point(rp, ds);
      std::error_code ec;
      if (!fs::exists(Paths::manifest_of(point), ec)) {
        r.add_already_absent(rp);
        fs::remove_all(point, ec);
        continue;
      }
      // The manifest last-in, first-out: a point without it no longer counts as present.
      fs::remove(Paths::manifest_of(point), ec);
      fs::remove_all(point, ec);
      if (ec) return lifeboat::InternalError("remove " + point.string() + ": " + ec.message());
      r.add_removed(rp);
    }
    return r;
  }

  // Serves the cut's manifest and databases (source side), or a committed point's (target
  // side, for a restore back to the primary) — nothing else.
  StatusOr<v1::ReadResponse> Read(sdk::Call& call, const v1::ReadRequest& req) override {
    const std::string ds = req.snapshot().data_set().selector();
    const std::string rp = req.snapshot().restore_point_id();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds));
    LIFEBOAT_RETURN_IF_ERROR(CheckName(rp));
    fs::path dir = paths_.snapshot(rp, ds);
    if (!fs::exists(Paths::manifest_of(dir))) dir = paths_.point(rp, ds);
    if (!fs::exists(Paths::manifest_of(dir))) {
      return lifeboat::NotFoundError("snapshot " + rp + " of sqlite:" + ds + " is gone");
    }
    fs::path file;
    if (req.item() == "manifest") {
      file = Paths::manifest_of(dir);
    } else if (req.item().rfind("db/", 0) == 0 && IsDbName(req.item().substr(3))) {
      file = dir / req.item().substr(3);
    } else {
      return lifeboat::InvalidArgumentError("'" + req.item() + "' is not an item of snapshot " +
                                            rp);
    }
    return sdk::ServeFileRange(call, file, req.offset(), req.length());
  }

 private:
  SqlitePlugin(sdk::Host host, v1::PluginConfig config, Paths paths)
      : host_(host), config_(std::move(config)), paths_(std::move(paths)) {}

  static StatusOr<Paths> Parse(const v1::PluginConfig& config) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        auto reader, sdk::ConfigReader::Parse(config.config_json(), "acme.sqlite.v1.Config"));
    LIFEBOAT_ASSIGN_OR_RETURN(std::string root, reader.RequiredString("root"));
    LIFEBOAT_RETURN_IF_ERROR(reader.Finish());
    if (root.empty() || root[0] != '/') {
      return lifeboat::InvalidArgumentError("root '" + root + "' must be an absolute path", "root");
    }
    return Paths{fs::path(root)};
  }

  static Status CheckName(const std::string& name) {
    if (IsDataSetName(name)) return lifeboat::OkStatus();
    return lifeboat::InvalidArgumentError("'" + name + "' is not a valid name here");
  }

  Status CheckDataSet(const v1::DataSet& ds) {
    LIFEBOAT_RETURN_IF_ERROR(CheckName(ds.selector()));
    if (!fs::is_directory(paths_.live(ds.selector()))) {
      return lifeboat::NotFoundError("sqlite:" + ds.selector() + " does not exist under " +
                                     paths_.root.string());
    }
    return lifeboat::OkStatus();
  }

  static Status MakeDirs(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return lifeboat::InternalError("create " + dir.string() + ": " + ec.message());
    return lifeboat::OkStatus();
  }

  StatusOr<v1::CutResponse> CutNow(sdk::Call& call, const v1::CutRequest& req) {
    const std::string ds = req.data_set().selector();
    const std::string rp = req.restore_point_id();
    LIFEBOAT_RETURN_IF_ERROR(CheckName(rp));
    const fs::path live = paths_.live(ds);
    const fs::path dir = paths_.snapshot(rp, ds);
    std::error_code ec;
    fs::remove_all(dir, ec);  // a cut that stopped part-way starts over
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(dir));
    const int64_t start = host_.NowUnixNanos();
    const std::vector<std::string> dbs = Databases(live);
    std::vector<v1::Entry> entries(dbs.size());
    Status s = sdk::ParallelFor(dbs.size(), 2, [&](size_t i) -> Status {
      if (call.Cancelled()) return lifeboat::CancelledError("cut of sqlite:" + ds + " cancelled");
      LIFEBOAT_RETURN_IF_ERROR(BackupDatabase(live / dbs[i], dir / dbs[i]));
      uint64_t size = 0;
      LIFEBOAT_ASSIGN_OR_RETURN(std::string digest, sdk::Sha256OfFile(dir / dbs[i], &call, &size));
      entries[i].set_path(dbs[i]);
      entries[i].set_type(v1::ENTRY_FILE);
      entries[i].set_size(size);
      entries[i].set_digest(digest);
      return lifeboat::OkStatus();
    });
    if (!s.ok()) {
      fs::remove_all(dir, ec);
      return s;
    }
    const int64_t end = host_.NowUnixNanos();
    v1::CutResponse r;
    v1::SnapshotRef* snap = r.mutable_snapshot();
    snap->set_plugin(kName);
    snap->set_cluster(config_.cluster());
    *snap->mutable_data_set() = req.data_set();
    snap->set_restore_point_id(rp);
    snap->set_snapshot_id(rp);
    snap->set_cut_start_unix_nanos(start);
    snap->set_cut_end_unix_nanos(end);
    snap->set_cut_op_id(req.op_id());
    v1::MemberManifest* m = r.mutable_manifest();
    *m->mutable_snapshot() = *snap;
    m->set_digest_algorithm(sdk::kSha256Algorithm);
    sdk::Sha256 all;
    for (v1::Entry& e : entries) {
      m->set_total_bytes(m->total_bytes() + e.size());
      all.Update(e.path());
      all.Update(e.digest());
      *m->add_entries() = std::move(e);
    }
    m->set_manifest_digest(all.Finish());
    LIFEBOAT_RETURN_IF_ERROR(
        sdk::WriteFileAtomically(Paths::manifest_of(dir), m->SerializeAsString()));
    return r;
  }

  StatusOr<v1::MemberManifest> ManifestFromPeer(sdk::Call& call, const v1::RestoreRequest& req) {
    v1::ReadRequest read;
    read.mutable_snapshot()->set_restore_point_id(req.restore_point_id());
    *read.mutable_snapshot()->mutable_data_set() = req.data_set();
    read.set_item("manifest");
    std::string bytes;
    LIFEBOAT_RETURN_IF_ERROR(call.ReadPeer(req.source(), read, [&](std::string_view c) {
      bytes.append(c);
      return lifeboat::OkStatus();
    }));
    v1::MemberManifest m;
    if (!m.ParseFromString(bytes))
      return lifeboat::DataLossError("the peer's manifest does not parse");
    return m;
  }

  sdk::Host host_;
  v1::PluginConfig config_;
  Paths paths_;
  sdk::JobThrottle throttles_;
};

}  // namespace acme_sqlite

LIFEBOAT_REGISTER_PLUGIN(acme_sqlite::SqlitePlugin)
