// The objects a hive point is made of, as the plugin stores them (content-addressed files of
// TBinaryProtocol bytes; src/model.h). Built on the client's IDL so that every field of every
// metastore struct is kept. Private to the plugin: never sent to a metastore.
include "metastore.thrift"

namespace cpp lifeboat.hive.store

// A database and its functions (sorted by name).
struct DatabaseObject {
  1: metastore.Database database,
  2: list<metastore.Function> functions,
}

// A table without its partitions: the table, its own constraints (the foreign keys are those
// OF this table) and its table-level column statistics (sorted by column).
struct TableObject {
  1: metastore.Table table,
  2: metastore.SQLAllTableConstraints constraints,
  3: list<metastore.ColumnStatisticsObj> statistics,
}

// One partition and its column statistics (sorted by column).
struct PartitionEntry {
  1: string name,
  2: metastore.Partition partition,
  3: list<metastore.ColumnStatisticsObj> statistics,
}

// A run of a table's partitions, sorted by name (content-defined boundaries: model.h).
struct PartitionChunk {
  1: string db,
  2: string table,
  3: list<PartitionEntry> partitions,
}
