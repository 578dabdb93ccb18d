// The objects a hive point is made of, and what makes two of them "the same".
//
// A data set's state is a set of objects, each stored as the TBinaryProtocol bytes of one
// struct of objects.thrift and named by a path (the manifest entry):
//   "<db>"                       DatabaseObject: the database and its functions
//   "<db>/<table>"               TableObject: the table, its constraints, its table statistics
//   "<db>/<table>/<partition>"   PartitionChunk: a run of the table's partitions, named after
//                                its first one ("dt=2024-01-01/country=de")
// Partition runs have content-defined boundaries (a partition whose name hashes to 0 modulo
// kChunkSpread ends a run; a run never exceeds kChunkMaxPartitions), so adding or dropping a
// partition changes one run, not every run after it.
//
// The canonical form (Canonical*) is what a copy must keep: the metastore's own fields left out
// (createTime of databases, tables, partitions and functions, ids, write ids, the basic statistics
// it recomputes from the files, transient_lastDdlTime, the SerDe fields it does not return for
// partitions, Lifeboat's own parameters), the translation of managed tables into external ones
// undone, lists sorted, and locations in Hadoop's path form after the rewrite to this cluster.
// Two objects are the same when their canonical forms are.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_MODEL_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_MODEL_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metastore_types.h"
#include "objects_types.h"

namespace lifeboat::hive {

inline constexpr uint32_t kChunkSpread = 64;
inline constexpr size_t kChunkMaxPartitions = 1000;

// The parameter prefix of Lifeboat's own marks on objects (fences); never part of a copy.
inline constexpr char kLifeboatParamPrefix[] = "lifeboat.";

// ---- Paths of objects ---------------------------------------------------------------------
enum class ObjectKind { kDatabase, kTable, kPartitions };
struct ObjectPath {
  ObjectKind kind = ObjectKind::kDatabase;
  std::string db;
  std::string table;
  std::string first_partition;  // kPartitions only
};
std::string PathOf(const ObjectPath& p);
// INVALID_ARGUMENT for a path that is none of the three forms.
StatusOr<ObjectPath> ParsePath(std::string_view path);

// ---- Encoding -----------------------------------------------------------------------------
template <typename T>
std::string Encode(const T& object);
// INVALID_ARGUMENT naming `what` when the bytes are not a T.
template <typename T>
StatusOr<T> Decode(std::string_view bytes, std::string_view what);

// ---- Partitions ---------------------------------------------------------------------------
// Hive's partition name for `values` of `keys`: "k1=v1/k2=v2", with Hive's escaping of the
// characters a path cannot carry (FileUtils.escapePathName).
std::string PartitionName(const std::vector<thrift::FieldSchema>& keys,
                          const std::vector<std::string>& values);
// Splits a table's partitions (sorted by name) into runs.
std::vector<store::PartitionChunk> ChunkPartitions(const std::string& db, const std::string& table,
                                                   std::vector<store::PartitionEntry> sorted);

// ---- Locations ----------------------------------------------------------------------------
// Hadoop's path form: scheme and authority lower-cased, "file:///x" as "file:/x", repeated
// and trailing '/' removed. Text that is not a URI is returned as it is.
std::string NormalizeLocation(std::string_view location);
// "hdfs://nn:8020" of "hdfs://NN:8020/warehouse/x"; "" when there is no authority.
std::string FileSystemOf(std::string_view location);

// Prefix rewrites of locations (longest prefix first, on '/' boundaries, in path form).
class LocationRewriter {
 public:
  LocationRewriter() = default;
  void Add(const std::string& from, const std::string& to);
  bool empty() const { return rules_.empty(); }
  // The location rewritten (normalized either way).
  std::string Rewrite(std::string_view location) const;
  // The rewriter the other way round (to -> from).
  LocationRewriter Inverse() const;
  std::string Describe() const;  // "a -> b, c -> d"

 private:
  std::vector<std::pair<std::string, std::string>> rules_;  // longest `from` first
};

// Every location of the objects rewritten (databases, tables, partitions, skewed values).
void RewriteLocations(const LocationRewriter& rw, thrift::Database& db);
void RewriteLocations(const LocationRewriter& rw, thrift::StorageDescriptor& sd);

// ---- Canonical forms ----------------------------------------------------------------------
store::DatabaseObject CanonicalDatabase(store::DatabaseObject o, const LocationRewriter& rw);
store::TableObject CanonicalTable(store::TableObject o, const LocationRewriter& rw);
store::PartitionEntry CanonicalPartition(store::PartitionEntry e, const LocationRewriter& rw);

// Canonical digest (hex SHA-256 of the canonical form's bytes).
std::string CanonicalDigest(const store::DatabaseObject& o, const LocationRewriter& rw);
std::string CanonicalDigest(const store::TableObject& o, const LocationRewriter& rw);
std::string CanonicalDigest(const store::PartitionEntry& e, const LocationRewriter& rw);

// ---- Table facts --------------------------------------------------------------------------
// True for transactional (ACID, full or insert-only) tables: parameters "transactional" =
// "true" (any case).
bool IsTransactional(const thrift::Table& t);
bool IsView(const thrift::Table& t);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_MODEL_H_
