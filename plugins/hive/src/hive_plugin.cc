#include "hive_plugin.h"

#include <algorithm>

#include "fence.h"
#include "references.h"

namespace lifeboat::hive {
namespace {

constexpr size_t kTableBatch = 100;

}  // namespace

StatusOr<Selector> SelectorOf(const v1::DataSet& ds) {
  if (ds.component() != kComponent) {
    return InvalidArgumentError(
        "data set component is '" + ds.component() + "', this plugin serves 'hive'", ds.selector());
  }
  return ParseConcreteSelector(ds.selector());
}

Status AcidRefusal(const Selector& sel, const std::vector<std::string>& tables) {
  std::string names;
  for (size_t i = 0; i < tables.size() && i < 20; ++i) {
    names += (i == 0 ? "" : ", ") + sel.db + "." + tables[i];
  }
  if (tables.size() > 20) names += " and " + std::to_string(tables.size() - 20) + " more";
  return FailedPreconditionError(
      "hive:" + sel.text() + " holds transactional (ACID) tables, which the hive plugin " +
          kPluginVersion + " refuses: " + names +
          ". Their rows live in delta directories whose valid write ids only the metastore's "
          "transaction tables know; a copy of the metadata without those would restore wrong "
          "data. Protect the other tables as data sets of their own (hive:" +
          sel.db +
          ".<table>), or convert these tables to external ones (or insert-only ones copied by "
          "Hive's own replication)",
      "hive:" + sel.text());
}

v1::PluginDescriptor HivePlugin::Describe() {
  v1::PluginDescriptor d;
  d.set_name(kPluginName);
  d.set_version(kPluginVersion);
  d.set_component(kComponent);
  d.set_config_type(kConfigType);
  d.set_description(
      "Hive metastore: databases, tables, views, partitions, column statistics, constraints "
      "and functions, cut at one notification event id; locations rewritten between clusters");
  for (auto c : {v1::CAP_INCREMENTAL, v1::CAP_RESUMABLE_TRANSFER, v1::CAP_DIGEST_VERIFY,
                 v1::CAP_RESTORE, v1::CAP_FENCING, v1::CAP_PEER_READ, v1::CAP_SECURITY_SYNC,
                 // The next cut replays the events since the newest cut this cluster holds
                 // (cut.cc): the engine keeps the newest committed point's cut for it, and
                 // a failback builds on the point whose cut the old primary still holds.
                 v1::CAP_DIFF_FROM_BASE_CUT}) {
    d.add_capabilities(c);
  }
  // Tables and partitions name HDFS directories: the engine cuts this plugin's members before
  // the point's hdfs members and commits them after (references.h).
  d.add_references(kReferencedComponent);
  return d;
}

Status HivePlugin::Validate(const v1::PluginConfig& config) { return ParseConfig(config).status(); }

StatusOr<std::unique_ptr<HivePlugin>> HivePlugin::Create(sdk::Host host,
                                                         const v1::PluginConfig& config) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config parsed, ParseConfig(config));
  return std::make_unique<HivePlugin>(host, std::move(parsed));
}

HivePlugin::HivePlugin(sdk::Host host, Config config)
    : host_(host), config_(std::move(config)), pool_(config_.metastore, config_.parallelism) {}

StatusOr<std::shared_ptr<SetStore>> HivePlugin::StoreFor(const Selector& sel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = stores_.find(sel.text());
  if (it != stores_.end()) return it->second;
  std::string cluster = config_.cluster.empty() ? "cluster" : config_.cluster;
  for (char& c : cluster) {
    if (c == '/' || c == '\0') c = '_';
  }
  auto store =
      std::make_shared<SetStore>(std::filesystem::path(config_.state_dir) / cluster / sel.text());
  LIFEBOAT_RETURN_IF_ERROR(store->Init());
  stores_[sel.text()] = store;
  return store;
}

std::string HivePlugin::OwnFileSystem() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!config_.fs_uri.empty()) return config_.fs_uri;
    if (own_fs_) return *own_fs_;
  }
  std::string fs;
  auto lease = pool_.Acquire();
  if (lease.ok()) {
    auto db = (*lease)->GetDatabase("default");
    if (db.ok()) {
      std::string candidate = FileSystemOf(db->locationUri);
      if (candidate.rfind("hdfs://", 0) == 0 || candidate.rfind("viewfs://", 0) == 0) {
        fs = candidate;
      }
    } else {
      return "";  // not cached: ask again next time
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  own_fs_ = fs;
  return fs;
}

LocationRewriter HivePlugin::RewriterFor(const hstate::CutRecord& cut) {
  LocationRewriter rw;
  for (const auto& [from, to] : config_.location_map) rw.Add(from, to);
  const std::string mine = OwnFileSystem();
  if (!cut.fs_uri().empty() && !mine.empty() && cut.fs_uri() != mine) rw.Add(cut.fs_uri(), mine);
  return rw;
}

StatusOr<v1::ProbeResponse> HivePlugin::Probe(sdk::Call& call, const v1::ProbeRequest& req) {
  v1::ProbeResponse resp;
  auto lease = pool_.Acquire();
  if (!lease.ok()) {
    resp.set_health(v1::UNREACHABLE);
    resp.set_detail(lease.status().message());
    return resp;
  }
  MetastoreClient& c = **lease;
  auto version = c.GetVersion();
  auto uuid = c.GetMetastoreDbUuid();
  auto event = c.GetCurrentNotificationEventId();
  if (!version.ok() || !uuid.ok()) {
    resp.set_health(v1::UNREACHABLE);
    resp.set_detail((!version.ok() ? version.status() : uuid.status()).message());
    return resp;
  }
  resp.set_component_version(*version);
  resp.set_health(v1::HEALTHY);
  std::string detail = "metastore " + c.endpoint() + " (Hive " + *version + ", database " + *uuid;
  if (event.ok()) {
    detail += ", notification event " + std::to_string(*event) + ")";
  } else {
    // Without the notification log no cut can be reconciled: say what to do.
    resp.set_health(v1::DEGRADED);
    detail += "): the notification log cannot be read: " + event.status().message();
  }
  auto def = c.GetDatabase("default");
  if (def.ok()) {
    auto role = def->parameters.find(std::string(kLifeboatParamPrefix) + "role");
    if (role != def->parameters.end()) resp.set_role_marker(role->second);
  }
  std::vector<std::string> problems;
  for (const FenceMark& f : ListFences(*this, c, &problems)) {
    v1::FencedDataSet* out = resp.add_fenced();
    out->mutable_data_set()->set_component(kComponent);
    out->mutable_data_set()->set_selector(f.selector);
    out->set_epoch(f.epoch);
    out->set_reason(f.reason);
    out->set_fenced_unix_nanos(f.fenced_unix_nanos);
    out->set_mechanism(f.mechanism);
  }
  if (resp.fenced_size() > 0) {
    detail += "; " + std::to_string(resp.fenced_size()) + " data set(s) fenced";
  }
  if (!problems.empty()) {
    resp.set_health(v1::DEGRADED);
    detail += "; " + problems.front();
  }
  resp.set_detail(detail);
  return resp;
}

StatusOr<v1::ResolveResponse> HivePlugin::Resolve(sdk::Call& call, const v1::ResolveRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, ParseSelector(req.selector()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  v1::ResolveResponse resp;
  auto add = [&](const std::string& text) {
    v1::DataSet* ds = resp.add_data_sets();
    ds->set_component(kComponent);
    ds->set_selector(text);
  };
  if (!sel.is_pattern()) {
    if (sel.whole_db()) {
      auto db = c.GetDatabase(sel.db);
      if (!db.ok()) {
        return db.status().code() == Code::kNotFound
                   ? NotFoundError("no database '" + sel.db + "' in metastore " + c.endpoint() +
                                       "; create it or fix the data set hive:" + sel.text(),
                                   "hive:" + sel.text())
                   : db.status();
      }
    } else {
      auto t = c.GetTable(sel.db, sel.table);
      if (!t.ok()) {
        return t.status().code() == Code::kNotFound
                   ? NotFoundError("no table '" + sel.text() + "' in metastore " + c.endpoint() +
                                       "; create it or fix the data set hive:" + sel.text(),
                                   "hive:" + sel.text())
                   : t.status();
      }
    }
    add(sel.text());
    return resp;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> dbs, c.GetAllDatabases());
  std::sort(dbs.begin(), dbs.end());
  for (const std::string& db : dbs) {
    if (!GlobMatch(sel.db, db)) continue;
    if (sel.table.empty() || sel.table == "*") {
      add(db);
      continue;
    }
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> tables, c.GetAllTables(db));
    std::sort(tables.begin(), tables.end());
    for (const std::string& t : tables) {
      if (GlobMatch(sel.table, t)) add(db + "." + t);
    }
  }
  if (resp.data_sets_size() == 0) {
    return NotFoundError(
        "hive pattern '" + req.selector() + "' matches nothing in metastore " + c.endpoint(),
        "hive:" + req.selector());
  }
  return resp;
}

StatusOr<v1::PrepareResponse> HivePlugin::Prepare(sdk::Call& call, const v1::PrepareRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  auto db = c.GetDatabase(sel.db);
  if (!db.ok()) return db.status();
  std::vector<std::string> names;
  if (sel.whole_db()) {
    auto all = c.GetAllTables(sel.db);
    if (!all.ok()) return all.status();
    names = *all;
  } else {
    names = {sel.table};
  }
  std::vector<std::string> acid;
  for (size_t i = 0; i < names.size(); i += kTableBatch) {
    std::vector<std::string> batch(
        names.begin() + static_cast<long>(i),
        names.begin() + static_cast<long>(std::min(names.size(), i + kTableBatch)));
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<thrift::Table> tables, c.GetTableObjects(sel.db, batch));
    if (!sel.whole_db() && tables.empty()) {
      return NotFoundError("no table " + sel.text() + " in metastore " + c.endpoint(),
                           "hive:" + sel.text());
    }
    for (const auto& t : tables) {
      if (IsTransactional(t)) acid.push_back(t.tableName);
    }
  }
  if (!acid.empty()) {
    std::sort(acid.begin(), acid.end());
    return AcidRefusal(sel, acid);
  }
  v1::PrepareResponse resp;
  resp.set_detail(std::to_string(names.size()) + " table(s), none transactional");
  return resp;
}

}  // namespace lifeboat::hive
