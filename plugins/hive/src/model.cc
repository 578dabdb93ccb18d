#include "model.h"

#include <lifeboat/sdk/digest.h>
#include <thrift/TConfiguration.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <exception>
#include <memory>
#include <tuple>

namespace lifeboat::hive {
namespace {

using apache::thrift::TConfiguration;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::transport::TMemoryBuffer;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Hive's FileUtils.escapePathName: control characters and "#%'*/:=?\{[]^ and DEL as %XX.
bool NeedsEscape(unsigned char c) {
  if (c < 0x20 || c == 0x7F) return true;
  switch (c) {
    case '"':
    case '#':
    case '%':
    case '\'':
    case '*':
    case '/':
    case ':':
    case '=':
    case '?':
    case '\\':
    case '{':
    case '[':
    case ']':
    case '^':
      return true;
    default:
      return false;
  }
}

std::string EscapePathName(std::string_view s) {
  // Hive names a null or empty partition value with the default partition name.
  if (s.empty()) return "__HIVE_DEFAULT_PARTITION__";
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

uint32_t Fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

// The parameters the metastore sets or recomputes itself, never compared.
bool MetastoreOwnedParam(const std::string& key) {
  return key == "transient_lastDdlTime" || key == "numFiles" || key == "numFilesErasureCoded" ||
         key == "totalSize" || key == "COLUMN_STATS_ACCURATE" ||
         key.rfind(kLifeboatParamPrefix, 0) == 0;
}

void CanonicalParams(std::map<std::string, std::string>& params) {
  for (auto it = params.begin(); it != params.end();) {
    it = MetastoreOwnedParam(it->first) ? params.erase(it) : std::next(it);
  }
}

template <typename T>
void SortStats(std::vector<T>& stats) {
  std::sort(stats.begin(), stats.end(),
            [](const T& a, const T& b) { return a.colName < b.colName; });
}

void CanonicalSd(thrift::StorageDescriptor& sd, const LocationRewriter& rw, bool partition) {
  RewriteLocations(rw, sd);
  if (sd.__isset.parameters && sd.parameters.empty()) sd.__isset.parameters = false;
  if (sd.__isset.serdeInfo) {
    thrift::SerDeInfo& serde = sd.serdeInfo;
    if (serde.__isset.parameters && serde.parameters.empty()) serde.__isset.parameters = false;
    if (partition) {
      // Partitions are read through direct SQL, which returns only the SerDe's name, library
      // and parameters (docs/rigs.md).
      serde.__isset.description = false;
      serde.__isset.serializerClass = false;
      serde.__isset.deserializerClass = false;
      serde.__isset.serdeType = false;
      serde.description.clear();
      serde.serializerClass.clear();
      serde.deserializerClass.clear();
    }
  }
  // An absent skew description reads back as an empty one.
  if (!sd.__isset.skewedInfo) {
    sd.__set_skewedInfo(thrift::SkewedInfo());
  }
  thrift::SkewedInfo& skew = sd.skewedInfo;
  skew.__set_skewedColNames(skew.skewedColNames);
  skew.__set_skewedColValues(skew.skewedColValues);
  skew.__set_skewedColValueLocationMaps(skew.skewedColValueLocationMaps);
  if (!sd.__isset.storedAsSubDirectories) sd.__set_storedAsSubDirectories(false);
  if (!sd.__isset.bucketCols) sd.__set_bucketCols({});
  if (!sd.__isset.sortCols) sd.__set_sortCols({});
}

template <typename T>
void SetCat(T& x) {
  if (x.__isset.catName) x.catName = Lower(x.catName);
}

template <typename T, typename Key>
void SortBy(std::vector<T>& v, Key key) {
  std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
}

void CanonicalConstraints(thrift::SQLAllTableConstraints& c) {
  for (auto& x : c.primaryKeys) SetCat(x);
  for (auto& x : c.foreignKeys) SetCat(x);
  for (auto& x : c.uniqueConstraints) SetCat(x);
  for (auto& x : c.notNullConstraints) SetCat(x);
  for (auto& x : c.defaultConstraints) SetCat(x);
  for (auto& x : c.checkConstraints) SetCat(x);
  SortBy(c.primaryKeys, [](const auto& x) { return std::make_tuple(x.pk_name, x.key_seq); });
  SortBy(c.foreignKeys, [](const auto& x) { return std::make_tuple(x.fk_name, x.key_seq); });
  SortBy(c.uniqueConstraints, [](const auto& x) { return std::make_tuple(x.uk_name, x.key_seq); });
  SortBy(c.notNullConstraints,
         [](const auto& x) { return std::make_tuple(x.nn_name, x.column_name); });
  SortBy(c.defaultConstraints,
         [](const auto& x) { return std::make_tuple(x.dc_name, x.column_name); });
  SortBy(c.checkConstraints,
         [](const auto& x) { return std::make_tuple(x.dc_name, x.column_name); });
  c.__set_primaryKeys(c.primaryKeys);
  c.__set_foreignKeys(c.foreignKeys);
  c.__set_uniqueConstraints(c.uniqueConstraints);
  c.__set_notNullConstraints(c.notNullConstraints);
  c.__set_defaultConstraints(c.defaultConstraints);
  c.__set_checkConstraints(c.checkConstraints);
}

}  // namespace

// ---- Paths -------------------------------------------------------------------------------

std::string PathOf(const ObjectPath& p) {
  switch (p.kind) {
    case ObjectKind::kDatabase:
      return p.db;
    case ObjectKind::kTable:
      return p.db + "/" + p.table;
    case ObjectKind::kPartitions:
    default:
      return p.db + "/" + p.table + "/" + p.first_partition;
  }
}

StatusOr<ObjectPath> ParsePath(std::string_view path) {
  ObjectPath p;
  size_t a = path.find('/');
  p.db = std::string(path.substr(0, a));
  if (p.db.empty()) return InvalidArgumentError("object path '" + std::string(path) + "' is empty");
  if (a == std::string_view::npos) return p;
  size_t b = path.find('/', a + 1);
  p.table = std::string(path.substr(a + 1, b == std::string_view::npos ? b : b - a - 1));
  if (p.table.empty()) {
    return InvalidArgumentError("object path '" + std::string(path) + "' names no table");
  }
  p.kind = ObjectKind::kTable;
  if (b == std::string_view::npos) return p;
  p.first_partition = std::string(path.substr(b + 1));
  if (p.first_partition.empty()) {
    return InvalidArgumentError("object path '" + std::string(path) + "' names no partition");
  }
  p.kind = ObjectKind::kPartitions;
  return p;
}

// ---- Encoding ----------------------------------------------------------------------------

template <typename T>
std::string Encode(const T& object) {
  auto buffer = std::make_shared<TMemoryBuffer>();
  TBinaryProtocol protocol(buffer);
  object.write(&protocol);
  return buffer->getBufferAsString();
}

template <typename T>
StatusOr<T> Decode(std::string_view bytes, std::string_view what) {
  try {
    // Objects are not bounded by Thrift's default 100 MiB message limit: a run of 1,000
    // partitions with large parameters may pass it.
    auto config = std::make_shared<TConfiguration>(INT_MAX);
    auto buffer = std::make_shared<TMemoryBuffer>(
        reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data())),
        static_cast<uint32_t>(bytes.size()), TMemoryBuffer::OBSERVE, config);
    TBinaryProtocol protocol(buffer);
    T out;
    out.read(&protocol);
    return out;
  } catch (const std::exception& e) {
    return InvalidArgumentError("stored object " + std::string(what) +
                                " does not decode: " + e.what());
  }
}

template std::string Encode(const store::DatabaseObject&);
template std::string Encode(const store::TableObject&);
template std::string Encode(const store::PartitionChunk&);
template std::string Encode(const store::PartitionEntry&);
template std::string Encode(const thrift::Table&);
template StatusOr<store::DatabaseObject> Decode(std::string_view, std::string_view);
template StatusOr<store::TableObject> Decode(std::string_view, std::string_view);
template StatusOr<store::PartitionChunk> Decode(std::string_view, std::string_view);

// ---- Partitions --------------------------------------------------------------------------

std::string PartitionName(const std::vector<thrift::FieldSchema>& keys,
                          const std::vector<std::string>& values) {
  std::string name;
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    if (i > 0) name += '/';
    name += EscapePathName(Lower(keys[i].name)) + "=" + EscapePathName(values[i]);
  }
  return name;
}

std::vector<store::PartitionChunk> ChunkPartitions(const std::string& db, const std::string& table,
                                                   std::vector<store::PartitionEntry> sorted) {
  std::vector<store::PartitionChunk> chunks;
  store::PartitionChunk current;
  current.db = db;
  current.table = table;
  for (auto& entry : sorted) {
    const bool boundary = Fnv1a(entry.name) % kChunkSpread == 0;
    current.partitions.push_back(std::move(entry));
    if (boundary || current.partitions.size() >= kChunkMaxPartitions) {
      chunks.push_back(std::move(current));
      current = store::PartitionChunk();
      current.db = db;
      current.table = table;
    }
  }
  if (!current.partitions.empty()) chunks.push_back(std::move(current));
  return chunks;
}

// ---- Locations ---------------------------------------------------------------------------

std::string NormalizeLocation(std::string_view location) {
  std::string s(location);
  size_t colon = s.find(':');
  std::string scheme, authority, path;
  bool has_scheme =
      colon != std::string::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(s[0])) &&
      std::all_of(s.begin(), s.begin() + static_cast<long>(colon), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      });
  if (has_scheme) {
    scheme = Lower(s.substr(0, colon));
    std::string rest = s.substr(colon + 1);
    if (rest.rfind("//", 0) == 0) {
      size_t slash = rest.find('/', 2);
      authority = Lower(rest.substr(2, slash == std::string::npos ? slash : slash - 2));
      path = slash == std::string::npos ? "" : rest.substr(slash);
    } else {
      path = rest;
    }
  } else {
    path = s;
  }
  std::string clean;
  for (char c : path) {
    if (c == '/' && !clean.empty() && clean.back() == '/') continue;
    clean += c;
  }
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  if (!has_scheme) return clean;
  if (authority.empty()) return scheme + ":" + clean;
  return scheme + "://" + authority + clean;
}

std::string FileSystemOf(std::string_view location) {
  std::string n = NormalizeLocation(location);
  size_t sep = n.find("://");
  if (sep == std::string::npos) return "";
  size_t slash = n.find('/', sep + 3);
  return slash == std::string::npos ? n : n.substr(0, slash);
}

void LocationRewriter::Add(const std::string& from, const std::string& to) {
  std::string f = NormalizeLocation(from);
  std::string t = NormalizeLocation(to);
  if (f.empty() || f == t) return;
  for (const auto& [have, unused] : rules_) {
    if (have == f) return;  // the first rule for a prefix wins
  }
  rules_.emplace_back(f, t);
  std::stable_sort(rules_.begin(), rules_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::string LocationRewriter::Rewrite(std::string_view location) const {
  std::string loc = NormalizeLocation(location);
  for (const auto& [from, to] : rules_) {
    if (loc == from) return to;
    if (loc.size() > from.size() && loc.compare(0, from.size(), from) == 0 &&
        (loc[from.size()] == '/' || from.back() == '/')) {
      return to + loc.substr(from.size());
    }
  }
  return loc;
}

LocationRewriter LocationRewriter::Inverse() const {
  LocationRewriter inverse;
  for (const auto& [from, to] : rules_) inverse.Add(to, from);
  return inverse;
}

std::string LocationRewriter::Describe() const {
  std::string out;
  for (const auto& [from, to] : rules_) out += (out.empty() ? "" : ", ") + from + " -> " + to;
  return out.empty() ? "none" : out;
}

void RewriteLocations(const LocationRewriter& rw, thrift::Database& db) {
  if (db.__isset.locationUri && !db.locationUri.empty()) {
    db.locationUri = rw.Rewrite(db.locationUri);
  }
  if (db.__isset.managedLocationUri && !db.managedLocationUri.empty()) {
    db.managedLocationUri = rw.Rewrite(db.managedLocationUri);
  }
}

void RewriteLocations(const LocationRewriter& rw, thrift::StorageDescriptor& sd) {
  if (sd.__isset.location && !sd.location.empty()) sd.location = rw.Rewrite(sd.location);
  if (sd.__isset.skewedInfo) {
    for (auto& [values, location] : sd.skewedInfo.skewedColValueLocationMaps) {
      location = rw.Rewrite(location);
    }
  }
}

// ---- Canonical forms ---------------------------------------------------------------------

store::DatabaseObject CanonicalDatabase(store::DatabaseObject o, const LocationRewriter& rw) {
  thrift::Database& db = o.database;
  db.__isset.createTime = false;
  db.createTime = 0;
  db.__isset.privileges = false;
  db.privileges = thrift::PrincipalPrivilegeSet();
  if (db.__isset.catalogName) db.catalogName = Lower(db.catalogName);
  // A fenced database carries readonly=true; what it held before the fence is the copy's.
  auto fence = db.parameters.find(std::string(kLifeboatParamPrefix) + "fence.epoch");
  if (fence != db.parameters.end()) {
    auto before = db.parameters.find(std::string(kLifeboatParamPrefix) + "fence.readonly_before");
    if (before == db.parameters.end() || before->second.empty()) {
      db.parameters.erase("readonly");
    } else {
      db.parameters["readonly"] = before->second;
    }
  }
  CanonicalParams(db.parameters);
  db.__isset.parameters = !db.parameters.empty();
  RewriteLocations(rw, db);
  for (auto& f : o.functions) {
    f.createTime = 0;
    SetCat(f);
    for (auto& r : f.resourceUris) r.uri = rw.Rewrite(r.uri);
  }
  SortBy(o.functions, [](const thrift::Function& f) { return f.functionName; });
  return o;
}

store::TableObject CanonicalTable(store::TableObject o, const LocationRewriter& rw) {
  thrift::Table& t = o.table;
  t.createTime = 0;
  t.__isset.id = false;
  t.__isset.writeId = false;
  t.__isset.txnId = false;
  t.__isset.colStats = false;
  t.colStats = thrift::ColumnStatistics();
  t.__isset.privileges = false;
  t.privileges = thrift::PrincipalPrivilegeSet();
  t.__isset.accessType = false;
  t.__isset.requiredReadCapabilities = false;
  t.__isset.requiredWriteCapabilities = false;
  t.requiredReadCapabilities.clear();
  t.requiredWriteCapabilities.clear();
  t.__isset.fileMetadata = false;
  t.__isset.dictionary = false;
  t.__isset.isStatsCompliant = false;
  if (t.__isset.rewriteEnabled && !t.rewriteEnabled) t.__isset.rewriteEnabled = false;
  if (t.__isset.temporary && !t.temporary) t.__isset.temporary = false;
  if (!t.__isset.ownerType) t.__set_ownerType(thrift::PrincipalType::USER);
  SetCat(t);
  // A managed table that is not transactional comes back external, marked as translated
  // (docs/rigs.md): the same table.
  auto translated = t.parameters.find("TRANSLATED_TO_EXTERNAL");
  if (translated != t.parameters.end() && IEquals(translated->second, "TRUE")) {
    t.tableType = "MANAGED_TABLE";
    t.parameters.erase("EXTERNAL");
    t.parameters.erase("external.table.purge");
    t.parameters.erase(translated);
  }
  CanonicalParams(t.parameters);
  t.__isset.parameters = !t.parameters.empty();
  if (t.__isset.sd) CanonicalSd(t.sd, rw, /*partition=*/false);
  t.__set_partitionKeys(t.partitionKeys);
  CanonicalConstraints(o.constraints);
  SortStats(o.statistics);
  return o;
}

store::PartitionEntry CanonicalPartition(store::PartitionEntry e, const LocationRewriter& rw) {
  thrift::Partition& p = e.partition;
  // The metastore sets a partition's createTime when it adds one, whatever it is given (as
  // for tables): keeping the point's would cost an alter of every added partition.
  p.createTime = 0;
  p.__isset.writeId = false;
  p.__isset.isStatsCompliant = false;
  p.__isset.colStats = false;
  p.colStats = thrift::ColumnStatistics();
  p.__isset.fileMetadata = false;
  p.__isset.privileges = false;
  p.privileges = thrift::PrincipalPrivilegeSet();
  SetCat(p);
  CanonicalParams(p.parameters);
  p.__isset.parameters = !p.parameters.empty();
  if (p.__isset.sd) CanonicalSd(p.sd, rw, /*partition=*/true);
  SortStats(e.statistics);
  return e;
}

std::string CanonicalDigest(const store::DatabaseObject& o, const LocationRewriter& rw) {
  return sdk::Hex(sdk::Sha256Of(Encode(CanonicalDatabase(o, rw))));
}
std::string CanonicalDigest(const store::TableObject& o, const LocationRewriter& rw) {
  return sdk::Hex(sdk::Sha256Of(Encode(CanonicalTable(o, rw))));
}
std::string CanonicalDigest(const store::PartitionEntry& e, const LocationRewriter& rw) {
  return sdk::Hex(sdk::Sha256Of(Encode(CanonicalPartition(e, rw))));
}

bool IsTransactional(const thrift::Table& t) {
  auto it = t.parameters.find("transactional");
  return it != t.parameters.end() && IEquals(it->second, "true");
}

bool IsView(const thrift::Table& t) {
  return t.tableType == "VIRTUAL_VIEW" || t.tableType == "MATERIALIZED_VIEW";
}

}  // namespace lifeboat::hive
