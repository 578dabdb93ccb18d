// Decoding the metastore's notification events into typed records.
//
// An event's message is JSON (format "json-0.2", JSONMessageEncoder) or that JSON gzipped and
// base64-encoded (format "gzip(json-2.0)", GzipJSONMessageEncoder, Hive's default); the
// format is in NotificationEvent.messageFormat. Inside the JSON, the metastore's objects
// (tables, partitions, databases, functions, constraints, statistics) are strings holding
// Thrift's TJSONProtocol encoding of the Thrift struct: "tableObjJson" is a whole Table. They
// decode into the same generated structs as the client's answers, every field included.
//
// Which object fields each event type carries (Hive 4.0.1's JSON*Message classes):
//   CREATE_DATABASE, DROP_DATABASE   dbJson
//   ALTER_DATABASE                   dbObjBeforeJson, dbObjAfterJson
//   CREATE_TABLE, DROP_TABLE         tableObjJson
//   ALTER_TABLE                      tableObjBeforeJson, tableObjAfterJson, isTruncateOp
//   ADD_PARTITION                    tableObjJson, partitionListJson, partitions (key->value)
//   ALTER_PARTITION                  tableObjJson, partitionObjBeforeJson/AfterJson, keyValues
//   DROP_PARTITION                   tableObjJson, partitions (key->value)
//   CREATE_FUNCTION                  functionObjJson      DROP_FUNCTION  functionName
//   ADD_PRIMARYKEY ... ADD_CHECKCONSTRAINT   <kind>ListJson     DROP_CONSTRAINT  constraintName
//   UPDATE_TBL_COL_STAT_EVENT        colStatsJson, tableObjJson, parameters
//   UPDATE_PART_COL_STAT_EVENT       colStatsJson, tableObjJson, parameters, partVals
//   DELETE_TBL_COL_STAT_EVENT        colName     DELETE_PART_COL_STAT_EVENT  colName, partName
//   INSERT                           tableObjJson, ptnObjJson, replace, files
// Other types (transactions, compaction) decode with their JSON only.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_NOTIFICATION_EVENTS_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_NOTIFICATION_EVENTS_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metastore_types.h"

namespace lifeboat::hive {

// One event, decoded. Object fields are set only when the event type carries them.
struct NotificationRecord {
  int64_t event_id = 0;
  int32_t event_time = 0;  // seconds since the epoch, the metastore's clock
  std::string event_type;  // "CREATE_TABLE", "ADD_PARTITION", ...
  std::string catalog;
  std::string db_name;
  std::string table_name;
  std::string message_format;  // as the event said; "" for old events
  nlohmann::json message;      // the whole decoded message

  std::optional<thrift::Database> database;          // after an ALTER
  std::optional<thrift::Database> database_before;   // ALTER_DATABASE
  std::optional<thrift::Table> table;                // after an ALTER
  std::optional<thrift::Table> table_before;         // ALTER_TABLE
  std::vector<thrift::Partition> partitions;         // ADD_PARTITION; ALTER_PARTITION's after
  std::vector<thrift::Partition> partitions_before;  // ALTER_PARTITION
  // The partitions' key values as the message lists them (ADD/DROP_PARTITION: one map per
  // partition; ALTER_PARTITION: one). DROP_PARTITION has only these.
  std::vector<std::map<std::string, std::string>> partition_keys;
  std::optional<thrift::Function> function;
  std::string function_name;                                  // DROP_FUNCTION (and CREATE_FUNCTION)
  thrift::SQLAllTableConstraints constraints;                 // ADD_<kind> events: that kind's list
  std::string constraint_name;                                // DROP_CONSTRAINT
  std::optional<thrift::ColumnStatistics> column_statistics;  // UPDATE_*_COL_STAT_EVENT
  std::vector<std::string> partition_values;                  // UPDATE/DELETE_PART_COL_STAT_EVENT
  std::string column_name;                                    // DELETE_*_COL_STAT_EVENT
  std::string partition_name;                                 // DELETE_PART_COL_STAT_EVENT
  bool truncate = false;  // ALTER_TABLE/ALTER_PARTITION of a TRUNCATE
};

// The largest message text accepted after gunzip (a message holds at most a table and its
// partitions of one call; 256 MiB is far above what a metastore writes).
inline constexpr size_t kMaxMessageBytes = size_t{256} << 20;

// The JSON text of an event's message: gunzipped and base64-decoded for gzip formats, as is for
// JSON ones. UNIMPLEMENTED for a format it does not know (naming it); INVALID_ARGUMENT or
// DATA_LOSS for a message that does not decode, naming the event id.
StatusOr<std::string> MessageText(const thrift::NotificationEvent& event);

// The whole record of an event (MessageText, the JSON, and the objects in it).
StatusOr<NotificationRecord> DecodeEvent(const thrift::NotificationEvent& event);

// Decodes Thrift's TJSONProtocol text of one struct (what the messages' *Json fields hold).
// INVALID_ARGUMENT naming `what` when it does not decode. Defined for Database, Table,
// Partition, Function, ColumnStatistics and the six SQL constraint structs.
template <typename T>
StatusOr<T> FromThriftJson(std::string_view text, std::string_view what);

// Whether events read after `last_event` follow it without a hole: OK when `events` is empty
// or starts at last_event + 1 and its ids increase by one; FAILED_PRECONDITION otherwise,
// naming the missing ids (the metastore's event cleaner removed them: what was changed then is
// unknown, and an incremental copy from last_event cannot be exact).
Status CheckNoGap(int64_t last_event, const std::vector<thrift::NotificationEvent>& events);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_NOTIFICATION_EVENTS_H_
