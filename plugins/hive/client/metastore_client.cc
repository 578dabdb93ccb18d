// The connection, the server, databases, tables and the notification log. Partitions,
// functions, statistics and constraints are in metastore_client_objects.cc.
#include "metastore_client.h"

#include <thrift/TConfiguration.h>
#include <thrift/TOutput.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "ThriftHiveMetastore.h"
#include "client_util.h"
#include "validate.h"

namespace lifeboat::hive {

namespace thrift_gen {

using apache::thrift::TConfiguration;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TSocket;

// One TCP connection and the Thrift client on it; reopened after a failure broke it.
class Connection {
 public:
  explicit Connection(const MetastoreOptions& options) : options_(options) {}

  bool is_open() const { return client_ != nullptr; }
  thrift::ThriftHiveMetastoreClient& client() { return *client_; }

  // Throws TTransportException when the connection cannot be made.
  void Open() {
    Close();
    // The answer limit goes to the buffered transport, which counts each message against it.
    // Not to the socket: Thrift 0.17's TSocket compares every read request (a whole buffer)
    // with its limit, so a limit below the buffer size failed every call.
    const int max_bytes =
        static_cast<int>(std::clamp<int64_t>(options_.max_message_bytes, 1024, INT_MAX));
    const uint32_t buffer = static_cast<uint32_t>(std::min(max_bytes, 64 * 1024));
    auto config = std::make_shared<TConfiguration>(max_bytes);
    auto socket = std::make_shared<TSocket>(options_.host, options_.port);
    socket->setConnTimeout(static_cast<int>(options_.connect_timeout.count()));
    socket->setRecvTimeout(static_cast<int>(options_.call_timeout.count()));
    socket->setSendTimeout(static_cast<int>(options_.call_timeout.count()));
    socket->setNoDelay(true);
    // The metastore speaks unframed binary Thrift; a buffered transport batches the small
    // writes of one request into few packets.
    transport_ = std::make_shared<TBufferedTransport>(socket, buffer, buffer, config);
    transport_->open();
    client_ = std::make_unique<thrift::ThriftHiveMetastoreClient>(
        std::make_shared<TBinaryProtocol>(transport_));
  }

  void Close() {
    client_.reset();
    if (transport_ != nullptr) {
      try {
        transport_->close();
      } catch (...) {
        // Closing a broken connection may fail again; it is being dropped either way.
      }
      transport_.reset();
    }
  }

  ~Connection() { Close(); }

 private:
  MetastoreOptions options_;
  std::shared_ptr<TBufferedTransport> transport_;
  std::unique_ptr<thrift::ThriftHiveMetastoreClient> client_;
};

}  // namespace thrift_gen

MetastoreClient::MetastoreClient(MetastoreOptions options,
                                 std::unique_ptr<thrift_gen::Connection> connection)
    : options_(std::move(options)),
      endpoint_(options_.host + ":" + std::to_string(options_.port)),
      connection_(std::move(connection)) {}

MetastoreClient::~MetastoreClient() = default;

StatusOr<std::unique_ptr<MetastoreClient>> MetastoreClient::Connect(
    const MetastoreOptions& options) {
  // Thrift prints failures (a refused connection) to stderr by itself; every one of them also
  // comes back as a Status here, so its own output is only noise in the plugin's log.
  static std::once_flag quiet;
  std::call_once(quiet, [] { apache::thrift::GlobalOutput.setOutputFunction([](const char*) {}); });
  if (options.host.empty()) {
    return InvalidArgumentError("hive metastore: the host is empty");
  }
  if (options.port < 1 || options.port > 65535) {
    return InvalidArgumentError("hive metastore " + options.host + ": port " +
                                std::to_string(options.port) + " is outside 1..65535");
  }
  auto connection = std::make_unique<thrift_gen::Connection>(options);
  std::unique_ptr<MetastoreClient> client(new MetastoreClient(options, std::move(connection)));
  LIFEBOAT_RETURN_IF_ERROR(client->Invoke("connect", "", [](auto&) {}));
  return client;
}

Status MetastoreClient::Invoke(std::string_view call, std::string subject,
                               const std::function<void(thrift::ThriftHiveMetastoreClient&)>& fn) {
  CallSite where{endpoint_, std::string(call), std::move(subject)};
  bool broken = false;
  try {
    if (!connection_->is_open()) connection_->Open();
    fn(connection_->client());
    return OkStatus();
  } catch (...) {
    Status status = StatusFromCurrentException(where, &broken);
    if (broken) connection_->Close();
    return status;
  }
}

// ---- The server ----

StatusOr<std::string> MetastoreClient::GetVersion() {
  std::string version;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("getVersion", "", [&](auto& c) { c.getVersion(version); }));
  return version;
}

StatusOr<std::string> MetastoreClient::GetMetastoreDbUuid() {
  std::string uuid;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("get_metastore_db_uuid", "", [&](auto& c) { c.get_metastore_db_uuid(uuid); }));
  return uuid;
}

// ---- Databases ----

StatusOr<std::vector<std::string>> MetastoreClient::GetAllDatabases() {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("get_all_databases", "", [&](auto& c) { c.get_all_databases(names); }));
  return names;
}

StatusOr<std::vector<std::string>> MetastoreClient::GetDatabases(std::string_view pattern) {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_databases", std::string(pattern),
                                  [&](auto& c) { c.get_databases(names, std::string(pattern)); }));
  return names;
}

StatusOr<thrift::Database> MetastoreClient::GetDatabase(std::string_view name) {
  thrift::GetDatabaseRequest req;
  req.__set_name(std::string(name));
  req.__set_catalogName(options_.catalog);
  thrift::Database db;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("get_database_req", std::string(name), [&](auto& c) { c.get_database_req(db, req); }));
  return db;
}

Status MetastoreClient::CreateDatabase(const thrift::Database& db) {
  LIFEBOAT_RETURN_IF_ERROR(CheckDatabaseForWrite(db));
  return Invoke("create_database", db.name, [&](auto& c) { c.create_database(db); });
}

Status MetastoreClient::AlterDatabase(std::string_view name, const thrift::Database& db) {
  LIFEBOAT_RETURN_IF_ERROR(CheckDatabaseForWrite(db));
  return Invoke("alter_database", std::string(name),
                [&](auto& c) { c.alter_database(std::string(name), db); });
}

Status MetastoreClient::DropDatabase(std::string_view name, bool delete_data, bool cascade) {
  return Invoke("drop_database", std::string(name),
                [&](auto& c) { c.drop_database(std::string(name), delete_data, cascade); });
}

// ---- Tables ----

StatusOr<std::vector<std::string>> MetastoreClient::GetAllTables(std::string_view db) {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_all_tables", std::string(db),
                                  [&](auto& c) { c.get_all_tables(names, std::string(db)); }));
  return names;
}

StatusOr<std::vector<std::string>> MetastoreClient::GetTables(std::string_view db,
                                                              std::string_view pattern) {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_tables", std::string(db), [&](auto& c) {
    c.get_tables(names, std::string(db), std::string(pattern));
  }));
  return names;
}

StatusOr<std::vector<thrift::TableMeta>> MetastoreClient::GetTableMeta(
    std::string_view db_pattern, std::string_view table_pattern,
    const std::vector<std::string>& types) {
  std::vector<thrift::TableMeta> metas;
  LIFEBOAT_RETURN_IF_ERROR(Invoke(
      "get_table_meta", std::string(db_pattern) + "." + std::string(table_pattern), [&](auto& c) {
        c.get_table_meta(metas, std::string(db_pattern), std::string(table_pattern), types);
      }));
  return metas;
}

StatusOr<thrift::Table> MetastoreClient::GetTable(std::string_view db, std::string_view table,
                                                  bool column_stats) {
  thrift::GetTableRequest req;
  req.dbName = std::string(db);
  req.tblName = std::string(table);
  req.__set_catName(options_.catalog);
  // Lets insert-only (ACID) tables be read at all; no processor capabilities, so the metastore
  // hands out its metadata untranslated (MetastoreDefaultTransformer runs only for clients
  // that declare some).
  req.__set_capabilities(ReadCapabilities());
  if (column_stats) {
    req.__set_getColumnStats(true);
    req.__set_engine(kStatsEngine);
  }
  thrift::GetTableResult result;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("get_table_req", Subject(db, table), [&](auto& c) { c.get_table_req(result, req); }));
  return std::move(result.table);
}

StatusOr<std::vector<thrift::Table>> MetastoreClient::GetTableObjects(
    std::string_view db, const std::vector<std::string>& tables) {
  thrift::GetTablesRequest req;
  req.dbName = std::string(db);
  req.__set_tblNames(tables);
  req.__set_catName(options_.catalog);
  req.__set_capabilities(ReadCapabilities());
  thrift::GetTablesResult result;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_table_objects_by_name_req", std::string(db),
                                  [&](auto& c) { c.get_table_objects_by_name_req(result, req); }));
  return std::move(result.tables);
}

Status MetastoreClient::CreateTable(const thrift::Table& table, const TableConstraints* constraints,
                                    const thrift::EnvironmentContext* env) {
  LIFEBOAT_RETURN_IF_ERROR(CheckTableForWrite(table));
  thrift::CreateTableRequest req;
  req.table = table;
  if (env != nullptr) req.__set_envContext(*env);
  if (!options_.processor_capabilities.empty()) {
    req.__set_processorCapabilities(options_.processor_capabilities);
    req.__set_processorIdentifier("lifeboat");
  }
  if (constraints != nullptr) {
    const auto& k = *constraints;
    if (!k.primaryKeys.empty()) req.__set_primaryKeys(k.primaryKeys);
    if (!k.foreignKeys.empty()) req.__set_foreignKeys(k.foreignKeys);
    if (!k.uniqueConstraints.empty()) req.__set_uniqueConstraints(k.uniqueConstraints);
    if (!k.notNullConstraints.empty()) req.__set_notNullConstraints(k.notNullConstraints);
    if (!k.defaultConstraints.empty()) req.__set_defaultConstraints(k.defaultConstraints);
    if (!k.checkConstraints.empty()) req.__set_checkConstraints(k.checkConstraints);
  }
  return Invoke("create_table_req", Subject(table.dbName, table.tableName),
                [&](auto& c) { c.create_table_req(req); });
}

Status MetastoreClient::AlterTable(std::string_view db, std::string_view name,
                                   const thrift::Table& table,
                                   const thrift::EnvironmentContext* env) {
  LIFEBOAT_RETURN_IF_ERROR(CheckTableForWrite(table));
  thrift::AlterTableRequest req;
  req.__set_catName(options_.catalog);
  req.dbName = std::string(db);
  req.tableName = std::string(name);
  req.table = table;
  if (env != nullptr) req.__set_environmentContext(*env);
  thrift::AlterTableResponse response;
  return Invoke("alter_table_req", Subject(db, name),
                [&](auto& c) { c.alter_table_req(response, req); });
}

Status MetastoreClient::DropTable(std::string_view db, std::string_view name, bool delete_data,
                                  const thrift::EnvironmentContext* env) {
  const thrift::EnvironmentContext context = env != nullptr ? *env : thrift::EnvironmentContext();
  return Invoke("drop_table_with_environment_context", Subject(db, name), [&](auto& c) {
    c.drop_table_with_environment_context(std::string(db), std::string(name), delete_data, context);
  });
}

// ---- The notification log ----

StatusOr<int64_t> MetastoreClient::GetCurrentNotificationEventId() {
  thrift::CurrentNotificationEventId id;
  LIFEBOAT_RETURN_IF_ERROR(
      WithNotificationAccessHint(Invoke("get_current_notificationEventId", "",
                                        [&](auto& c) { c.get_current_notificationEventId(id); })));
  return id.eventId;
}

StatusOr<std::vector<thrift::NotificationEvent>> MetastoreClient::GetNextNotifications(
    int64_t last_event, int32_t max_events) {
  thrift::NotificationEventRequest req;
  req.lastEvent = last_event;
  if (max_events > 0) req.__set_maxEvents(max_events);
  thrift::NotificationEventResponse response;
  LIFEBOAT_RETURN_IF_ERROR(WithNotificationAccessHint(
      Invoke("get_next_notification", "after event " + std::to_string(last_event),
             [&](auto& c) { c.get_next_notification(response, req); })));
  return std::move(response.events);
}

StatusOr<int64_t> MetastoreClient::GetNotificationEventsCount(int64_t from_event,
                                                              std::string_view db,
                                                              std::optional<int64_t> to_event) {
  thrift::NotificationEventsCountRequest req;
  req.fromEventId = from_event;
  req.dbName = std::string(db);
  req.__set_catName(options_.catalog);
  if (to_event.has_value()) req.__set_toEventId(*to_event);
  thrift::NotificationEventsCountResponse response;
  LIFEBOAT_RETURN_IF_ERROR(WithNotificationAccessHint(
      Invoke("get_notification_events_count", std::string(db),
             [&](auto& c) { c.get_notification_events_count(response, req); })));
  return response.eventsCount;
}

}  // namespace lifeboat::hive
