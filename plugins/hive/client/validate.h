// Checks on the objects a write sends, before it goes out. In metastore.thrift most fields are
// `optional`, so a field is sent only when its __isset flag is set: __set_name() sets it, a
// plain assignment (`t.tableName = "x"`) does not, and the metastore would get a null. These
// checks catch the fields without which a write is meaningless, and locations that are set but
// empty (the metastore refuses a database whose locationUri is ""; leave it unset to get the
// default). Objects read from a metastore pass them unchanged.
//
// Each returns INVALID_ARGUMENT naming the struct and field, or OK.
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_VALIDATE_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_VALIDATE_H_

#include <lifeboat/status.h>

#include "metastore_types.h"

namespace lifeboat::hive {

// name set and not empty; locationUri and managedLocationUri unset or not empty.
Status CheckDatabaseForWrite(const thrift::Database& db);

// tableName, dbName and sd set and not empty; sd.location unset or not empty.
Status CheckTableForWrite(const thrift::Table& table);

// values, dbName, tableName and sd set; sd.location unset or not empty.
Status CheckPartitionForWrite(const thrift::Partition& partition);

// functionName, dbName and className set and not empty.
Status CheckFunctionForWrite(const thrift::Function& function);

// statsDesc names a database and table, and a partition when it is not table level; every
// statistics object has its data set.
Status CheckColumnStatisticsForWrite(const thrift::ColumnStatistics& stats);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_VALIDATE_H_
