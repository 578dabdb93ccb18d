#include "layout.h"

#include <lifeboat/sdk/digest.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace lifeboat::hbase {

namespace {
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
}  // namespace

bool IsNamespaceName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsWordChar);
}

bool IsQualifierName(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsWordChar(c) || c == '.' || c == '-'; });
}

StatusOr<DataSetName> ParseDataSet(std::string_view selector) {
  DataSetName ds;
  const size_t colon = selector.find(':');
  ds.ns = std::string(selector.substr(0, colon));
  if (colon != std::string_view::npos) ds.table = std::string(selector.substr(colon + 1));
  const bool ok =
      IsNamespaceName(ds.ns) && (colon == std::string_view::npos || IsQualifierName(ds.table));
  if (!ok) {
    return InvalidArgumentError("hbase data set '" + std::string(selector) +
                                    "' is not a namespace ('sales') or a table "
                                    "('sales:orders'): a namespace is letters, digits and '_'; "
                                    "a table also '-' and '.', not first",
                                std::string(selector));
  }
  if (ds.ns == "hbase") {
    return InvalidArgumentError(
        "hbase data set '" + std::string(selector) +
            "' is in the system namespace 'hbase': HBase does not snapshot its system tables",
        std::string(selector));
  }
  return ds;
}

std::string QualifierOf(const std::string& table) {
  const size_t colon = table.find(':');
  return colon == std::string::npos ? table : table.substr(colon + 1);
}

std::string PointKey(std::string_view restore_point_id) {
  std::string clean;
  for (char c : restore_point_id) {
    if (clean.size() >= 40) break;
    clean.push_back(IsWordChar(c) || c == '-' || c == '.' ? c : '_');
  }
  if (clean.empty() || clean.front() == '.' || clean.front() == '-') clean.insert(0, "p");
  sdk::Sha256 sha;
  sha.Update(restore_point_id);
  return clean + "-" + sha.FinishHex().substr(0, 8);
}

std::string SnapshotName(std::string_view restore_point_id, const std::string& table) {
  const size_t colon = table.find(':');
  const std::string ns = colon == std::string::npos ? "default" : table.substr(0, colon);
  return "lifeboat-" + PointKey(restore_point_id) + "-" + ns + "-" + QualifierOf(table);
}

std::string PointToJson(const PointRecord& point) {
  nlohmann::json j;
  j["restore_point_id"] = point.restore_point_id;
  j["selector"] = point.selector;
  j["tables"] = nlohmann::json::array();
  for (const PointTable& t : point.tables) {
    j["tables"].push_back({{"table", t.table},
                           {"snapshot", t.snapshot},
                           {"requested_ms", t.requested_ms},
                           {"completed_ms", t.completed_ms}});
  }
  return j.dump();
}

StatusOr<PointRecord> PointFromJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j["tables"].is_array()) {
    return DataLossError("an hbase point record does not parse: " +
                         std::string(json.substr(0, 200)));
  }
  PointRecord p;
  p.restore_point_id = j.value("restore_point_id", "");
  p.selector = j.value("selector", "");
  for (const auto& t : j["tables"]) {
    p.tables.push_back({t.value("table", ""), t.value("snapshot", ""),
                        t.value("requested_ms", int64_t{0}), t.value("completed_ms", int64_t{0})});
  }
  return p;
}

std::string ItemOfArchivePath(const std::string& archive_path) {
  // archive/data/<ns>/<rest>
  const std::string prefix = "archive/data/";
  if (archive_path.rfind(prefix, 0) != 0) return archive_path;
  const size_t slash = archive_path.find('/', prefix.size());
  return slash == std::string::npos ? archive_path : archive_path.substr(slash + 1);
}

std::string ArchivePathOfItem(const std::string& ns, const std::string& item) {
  return "archive/data/" + ns + "/" + item;
}

std::string ChecksumText(const hdfs::WebHdfsClient::FileChecksum& checksum) {
  return checksum.algorithm + ":" + checksum.bytes;
}

std::string FenceToJson(const FenceMarker& m) {
  nlohmann::json j = {{"selector", m.selector},
                      {"epoch", m.epoch},
                      {"reason", m.reason},
                      {"fenced_unix_nanos", m.fenced_unix_nanos},
                      {"readonly_before", m.readonly_before}};
  return j.dump();
}

std::optional<FenceMarker> FenceFromJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  FenceMarker m;
  m.selector = j.value("selector", "");
  m.epoch = j.value("epoch", uint64_t{0});
  m.reason = j.value("reason", "");
  m.fenced_unix_nanos = j.value("fenced_unix_nanos", int64_t{0});
  m.readonly_before = j.value("readonly_before", "");
  return m;
}

StatusOr<std::string> ReadSmallFile(hdfs::WebHdfsClient& fs, const std::string& path) {
  return fs.ReadAll(path);
}

Status WriteSmallFile(hdfs::WebHdfsClient& fs, const std::string& path, std::string_view data) {
  hdfs::WebHdfsClient::CreateOptions options;
  options.overwrite = true;
  return fs.Create(path, data, options);
}

StatusOr<Placement> PlaceRestore(const DataSetName& ds, const PointRecord& point,
                                 std::string dest) {
  Placement p;
  while (!dest.empty() && dest.front() == '/') dest.erase(0, 1);
  while (!dest.empty() && dest.back() == '/') dest.pop_back();
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("hbase restore destination '" + dest + "': " + why +
                                    "; give a namespace (e.g. restored) or, for a table data "
                                    "set, a table (restored:orders)",
                                dest);
  };
  if (dest.empty()) {
    p.ns = ds.ns;
    p.into_itself = true;
    for (const auto& t : point.tables) p.to[t.table] = t.table;
    return p;
  }
  const size_t colon = dest.find(':');
  if (colon != std::string::npos) {
    if (ds.is_namespace()) return bad("a namespace data set restores into a namespace");
    const std::string ns = dest.substr(0, colon), q = dest.substr(colon + 1);
    if (!IsNamespaceName(ns) || !IsQualifierName(q)) return bad("not a legal table name");
    if (ns == "hbase") return bad("the system namespace 'hbase' is HBase's own");
    p.ns = ns;
    for (const auto& t : point.tables) p.to[t.table] = ns == "default" ? q : ns + ":" + q;
    return p;
  }
  // One destination may be handed to every member of a point: a path ("/restored/x") or a
  // topic prefix ("restored-") becomes the namespace "restored_x" / "restored".
  std::string ns;
  for (char c : dest) {
    if (c == '/' || c == '-' || c == '.') {
      ns.push_back('_');
    } else {
      ns.push_back(c);
    }
  }
  while (!ns.empty() && ns.back() == '_') ns.pop_back();
  while (!ns.empty() && ns.front() == '_') ns.erase(0, 1);
  if (!IsNamespaceName(ns)) {
    return bad("not a namespace name (letters, digits, '_'; '/', '-' and '.' read as '_')");
  }
  dest = ns;
  if (dest == "hbase") return bad("the system namespace 'hbase' is HBase's own");
  p.ns = dest;
  for (const auto& t : point.tables) {
    const std::string q = QualifierOf(t.table);
    p.to[t.table] = dest == "default" ? q : dest + ":" + q;
  }
  return p;
}

StatusOr<std::optional<std::string>> HdfsJournalStore::Load() {
  for (const std::string& p : {path_, path_ + ".new"}) {
    StatusOr<std::string> got = fs_->ReadAll(p);
    if (got.ok()) return std::optional<std::string>(std::move(got).value());
    if (got.status().code() != Code::kNotFound) return got.status();
  }
  return std::optional<std::string>();
}

Status HdfsJournalStore::Save(std::string_view record) {
  const std::string fresh = path_ + ".new";
  LIFEBOAT_RETURN_IF_ERROR(WriteSmallFile(*fs_, fresh, record));
  LIFEBOAT_RETURN_IF_ERROR(fs_->Delete(path_, false).status());
  return fs_->Rename(fresh, path_);
}

}  // namespace lifeboat::hbase
