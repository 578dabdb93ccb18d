// A client of one Hive metastore over Thrift: unframed TBinaryProtocol on a buffered TCP socket,
// as the metastore serves it without SASL (Kerberos/SASL and TLS are a later step; see
// README.md). Objects are the structs generated from metastore.thrift (namespace
// lifeboat::hive::thrift), which keep every field of Hive 4.0.1's: an object read here and
// written back, to the same or another metastore, loses nothing.
//
// Every call returns a Status (errors.h says which code for what) whose message names the
// metastore, the call and the object. Nothing is retried here: after a transport failure the
// connection is closed and the next call opens a new one, and the caller decides whether a call
// may be repeated (a write that timed out may have happened).
//
// Writes take an optional EnvironmentContext (properties the metastore hands to its listeners
// and hooks; Lifeboat marks its own writes there) and check their objects first (validate.h).
//
// Thread-safety: a MetastoreClient is NOT thread-safe (one Thrift connection); use one per
// thread. Distinct clients share nothing.
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_METASTORE_CLIENT_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_METASTORE_CLIENT_H_

#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errors.h"
#include "metastore_types.h"

namespace lifeboat::hive {

namespace thrift {
class ThriftHiveMetastoreClient;
}  // namespace thrift
namespace thrift_gen {
class Connection;
}  // namespace thrift_gen

struct MetastoreOptions {
  std::string host = "127.0.0.1";
  int port = 9083;
  std::chrono::milliseconds connect_timeout{5000};
  // How long one call may wait for the server's answer (and to send its request).
  std::chrono::milliseconds call_timeout{60000};
  // The largest answer accepted (Thrift's own default is 100 MiB); a larger one is
  // RESOURCE_EXHAUSTED.
  int64_t max_message_bytes = int64_t{256} << 20;
  // The catalog objects live in; Hive's default is "hive".
  std::string catalog = "hive";
  // What this client tells the metastore it can handle when it creates a table (e.g.
  // "HIVEMANAGEDINSERTWRITE", "HIVEFULLACIDWRITE"); without them Hive 4 refuses transactional
  // tables. Empty for the plugin, which never creates one; tests set it to make one.
  std::vector<std::string> processor_capabilities;
};

// The six kinds of table constraints, as get_all_table_constraints returns them.
using TableConstraints = thrift::SQLAllTableConstraints;

class MetastoreClient {
 public:
  // Opens a connection. UNAVAILABLE (naming host:port) when nothing answers within
  // connect_timeout; INVALID_ARGUMENT for an empty host or a port outside 1..65535.
  static StatusOr<std::unique_ptr<MetastoreClient>> Connect(const MetastoreOptions& options);
  ~MetastoreClient();
  MetastoreClient(const MetastoreClient&) = delete;
  MetastoreClient& operator=(const MetastoreClient&) = delete;

  // "host:port", as error messages name it.
  const std::string& endpoint() const { return endpoint_; }
  const MetastoreOptions& options() const { return options_; }

  // ---- The server ----
  // The Hive version the metastore reports (fb303 getVersion), e.g. "4.0.1".
  StatusOr<std::string> GetVersion();
  // The UUID of the metastore's database: stable for its lifetime, different per metastore.
  StatusOr<std::string> GetMetastoreDbUuid();

  // ---- Databases ----
  StatusOr<std::vector<std::string>> GetAllDatabases();
  // Names matching a metastore pattern ("sales_*", "a|b").
  StatusOr<std::vector<std::string>> GetDatabases(std::string_view pattern);
  StatusOr<thrift::Database> GetDatabase(std::string_view name);
  Status CreateDatabase(const thrift::Database& db);
  Status AlterDatabase(std::string_view name, const thrift::Database& db);
  // NOT_FOUND when it does not exist; FAILED_PRECONDITION when it holds tables and !cascade.
  Status DropDatabase(std::string_view name, bool delete_data, bool cascade);

  // ---- Tables ----
  StatusOr<std::vector<std::string>> GetAllTables(std::string_view db);
  StatusOr<std::vector<std::string>> GetTables(std::string_view db, std::string_view pattern);
  // Names and types of tables across databases; `types` empty for all ("MANAGED_TABLE", ...).
  StatusOr<std::vector<thrift::TableMeta>> GetTableMeta(std::string_view db_pattern,
                                                        std::string_view table_pattern,
                                                        const std::vector<std::string>& types);
  // get_table_req. With `column_stats`, Table.colStats holds the table-level statistics.
  StatusOr<thrift::Table> GetTable(std::string_view db, std::string_view table,
                                   bool column_stats = false);
  // get_table_objects_by_name_req: the named tables that exist, in no promised order.
  StatusOr<std::vector<thrift::Table>> GetTableObjects(std::string_view db,
                                                       const std::vector<std::string>& tables);
  // create_table_req, with the table's constraints when given (`constraints` may be null).
  Status CreateTable(const thrift::Table& table, const TableConstraints* constraints = nullptr,
                     const thrift::EnvironmentContext* env = nullptr);
  // alter_table_req: replaces the table `db`.`name` by `table` (which may carry a new name).
  Status AlterTable(std::string_view db, std::string_view name, const thrift::Table& table,
                    const thrift::EnvironmentContext* env = nullptr);
  Status DropTable(std::string_view db, std::string_view name, bool delete_data,
                   const thrift::EnvironmentContext* env = nullptr);

  // ---- Partitions ----
  // Names ("dt=2024-01-01/country=de"); at most `max` (-1: all).
  StatusOr<std::vector<std::string>> GetPartitionNames(std::string_view db, std::string_view table,
                                                       int16_t max = -1);
  StatusOr<std::vector<thrift::Partition>> GetPartitions(std::string_view db,
                                                         std::string_view table, int16_t max = -1);
  StatusOr<std::vector<thrift::Partition>> GetPartitionsByNames(
      std::string_view db, std::string_view table, const std::vector<std::string>& names);
  // add_partitions_req; returns the partitions as the metastore stored them. With
  // `if_not_exists`, existing ones are skipped (and not returned); without, ALREADY_EXISTS.
  StatusOr<std::vector<thrift::Partition>> AddPartitions(
      std::string_view db, std::string_view table, const std::vector<thrift::Partition>& parts,
      bool if_not_exists, const thrift::EnvironmentContext* env = nullptr);
  // alter_partitions_req: each partition (found by its values) replaced, all in one transaction.
  Status AlterPartitions(std::string_view db, std::string_view table,
                         const std::vector<thrift::Partition>& parts,
                         const thrift::EnvironmentContext* env = nullptr);
  Status DropPartition(std::string_view db, std::string_view table,
                       const std::vector<std::string>& values, bool delete_data,
                       const thrift::EnvironmentContext* env = nullptr);

  // ---- Functions ----
  StatusOr<std::vector<std::string>> GetFunctions(std::string_view db, std::string_view pattern);
  StatusOr<thrift::Function> GetFunction(std::string_view db, std::string_view name);
  StatusOr<std::vector<thrift::Function>> GetAllFunctions();
  Status CreateFunction(const thrift::Function& function);
  Status AlterFunction(std::string_view db, std::string_view name,
                       const thrift::Function& function);
  Status DropFunction(std::string_view db, std::string_view name);

  // ---- Column statistics (engine "hive") ----
  StatusOr<std::vector<thrift::ColumnStatisticsObj>> GetTableColumnStatistics(
      std::string_view db, std::string_view table, const std::vector<std::string>& columns);
  // Partition name -> its statistics (partitions without any are absent).
  StatusOr<std::map<std::string, std::vector<thrift::ColumnStatisticsObj>>>
  GetPartitionColumnStatistics(std::string_view db, std::string_view table,
                               const std::vector<std::string>& partitions,
                               const std::vector<std::string>& columns);
  // Replaces the statistics of the columns in `stats` (table or partition level, as
  // stats.statsDesc.isTblLevel says).
  Status UpdateColumnStatistics(const thrift::ColumnStatistics& stats);
  // NOT_FOUND when there are none.
  Status DeleteTableColumnStatistics(std::string_view db, std::string_view table,
                                     std::string_view column);
  Status DeletePartitionColumnStatistics(std::string_view db, std::string_view table,
                                         std::string_view partition, std::string_view column);

  // ---- Constraints ----
  // All six kinds in one call (get_all_table_constraints, Hive 4); against a metastore
  // without it, the six calls of older versions. Kinds without constraints are empty lists.
  StatusOr<TableConstraints> GetTableConstraints(std::string_view db, std::string_view table);
  // The six older calls, one kind each.
  StatusOr<std::vector<thrift::SQLPrimaryKey>> GetPrimaryKeys(std::string_view db,
                                                              std::string_view table);
  // The foreign keys OF `table` (whatever they reference).
  StatusOr<std::vector<thrift::SQLForeignKey>> GetForeignKeys(std::string_view db,
                                                              std::string_view table);
  StatusOr<std::vector<thrift::SQLUniqueConstraint>> GetUniqueConstraints(std::string_view db,
                                                                          std::string_view table);
  StatusOr<std::vector<thrift::SQLNotNullConstraint>> GetNotNullConstraints(std::string_view db,
                                                                            std::string_view table);
  StatusOr<std::vector<thrift::SQLDefaultConstraint>> GetDefaultConstraints(std::string_view db,
                                                                            std::string_view table);
  StatusOr<std::vector<thrift::SQLCheckConstraint>> GetCheckConstraints(std::string_view db,
                                                                        std::string_view table);
  // Adds every non-empty kind of `constraints` to their tables (one call per kind).
  Status AddConstraints(const TableConstraints& constraints);
  Status DropConstraint(std::string_view db, std::string_view table, std::string_view name);

  // ---- The notification log ----
  StatusOr<int64_t> GetCurrentNotificationEventId();
  // Events with ids above `last_event`, oldest first, at most `max_events` (<= 0: no limit).
  // The metastore answers from what its log still holds: events cleaned away are silently
  // absent (notification_events.h's CheckNoGap tells).
  StatusOr<std::vector<thrift::NotificationEvent>> GetNextNotifications(int64_t last_event,
                                                                        int32_t max_events);
  // How many events of database `db` have ids in (from_event, to_event] (to_event unset: all).
  StatusOr<int64_t> GetNotificationEventsCount(int64_t from_event, std::string_view db,
                                               std::optional<int64_t> to_event = std::nullopt);

  // ---- Roles and privileges (metastore_client_security.cc) ----
  // The names of every role (the built-in "admin" and "public" included).
  StatusOr<std::vector<std::string>> GetRoleNames();
  Status CreateRole(const thrift::Role& role);
  // The users, groups and roles granted role `role`.
  StatusOr<std::vector<thrift::RolePrincipalGrant>> GetPrincipalsInRole(std::string_view role);
  // grant_revoke_role: GRANT (with grantor and grant option) or REVOKE of role `role` to/from
  // one principal.
  Status GrantRevokeRole(const thrift::GrantRevokeRoleRequest& request);
  // Every principal's privileges on `object` (a database or a table: its own privileges, not
  // those on its partitions or columns).
  StatusOr<std::vector<thrift::HiveObjectPrivilege>> ListObjectPrivileges(
      const thrift::HiveObjectRef& object);
  // grant_revoke_privileges: the privileges of `bag` granted, or revoked.
  Status GrantRevokePrivileges(thrift::GrantRevokeType::type type, const thrift::PrivilegeBag& bag);

 private:
  MetastoreClient(MetastoreOptions options, std::unique_ptr<thrift_gen::Connection> connection);

  // Runs `fn` against the open connection (opening it first when a failure closed it); turns
  // whatever it throws into a Status for (call, subject).
  Status Invoke(std::string_view call, std::string subject,
                const std::function<void(thrift::ThriftHiveMetastoreClient&)>& fn);

  MetastoreOptions options_;
  std::string endpoint_;
  std::unique_ptr<thrift_gen::Connection> connection_;
};

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_METASTORE_CLIENT_H_
