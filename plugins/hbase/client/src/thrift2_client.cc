#include "thrift2_client.h"

#include <thrift/TApplicationException.h>
#include <thrift/Thrift.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>
#include <thrift/transport/TTransportException.h>

#include <utility>

#include "errors.h"
#include "rpc_connection.h"

namespace lifeboat::hbase {

using apache::thrift::TApplicationException;
using apache::thrift::TException;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TCompactProtocol;
using apache::thrift::protocol::TProtocol;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TTransport;
using apache::thrift::transport::TTransportException;

struct Thrift2Client::Connection {
  std::shared_ptr<TTransport> transport;
  std::unique_ptr<t2::THBaseServiceClient> client;
};

t2::TTableName ToTTableName(const std::string& table) {
  t2::TTableName name;
  size_t colon = table.find(':');
  if (colon == std::string::npos) {
    name.__set_ns("default");
    name.__set_qualifier(table);
  } else {
    name.__set_ns(table.substr(0, colon));
    name.__set_qualifier(table.substr(colon + 1));
  }
  return name;
}

std::string FromTTableName(const t2::TTableName& name) {
  if (!name.__isset.ns || name.ns.empty() || name.ns == "default") return name.qualifier;
  return name.ns + ":" + name.qualifier;
}

t2::TColumnValue Cell(const std::string& family, const std::string& qualifier,
                      const std::string& value) {
  t2::TColumnValue cv;
  cv.__set_family(family);
  cv.__set_qualifier(qualifier);
  cv.__set_value(value);
  return cv;
}

Thrift2Client::Thrift2Client(std::string address, Options options)
    : address_(std::move(address)), options_(options) {}

Thrift2Client::~Thrift2Client() { Disconnect(); }

void Thrift2Client::Disconnect() {
  if (conn_ == nullptr) return;
  try {
    conn_->transport->close();
  } catch (const TException&) {
    // Closing a broken socket: nothing left to do.
  }
  conn_.reset();
}

Status Thrift2Client::EnsureConnected() {
  if (conn_ != nullptr) return OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(address_));
  auto socket = std::make_shared<TSocket>(host_port.first, host_port.second);
  socket->setConnTimeout(static_cast<int>(options_.connect_timeout.count()));
  socket->setRecvTimeout(static_cast<int>(options_.call_timeout.count()));
  socket->setSendTimeout(static_cast<int>(options_.call_timeout.count()));
  std::shared_ptr<TTransport> transport;
  if (options_.framed) {
    transport = std::make_shared<TFramedTransport>(socket);
  } else {
    transport = std::make_shared<TBufferedTransport>(socket);
  }
  std::shared_ptr<TProtocol> protocol;
  if (options_.compact) {
    protocol = std::make_shared<TCompactProtocol>(transport);
  } else {
    protocol = std::make_shared<TBinaryProtocol>(transport);
  }
  try {
    transport->open();
  } catch (const TException& e) {
    return UnavailableError("HBase Thrift2 server " + address_ + ": cannot connect: " + e.what() +
                            " (is the server up, and is this its address?)");
  }
  conn_ = std::make_unique<Connection>();
  conn_->transport = std::move(transport);
  conn_->client = std::make_unique<t2::THBaseServiceClient>(protocol);
  return OkStatus();
}

Status Thrift2Client::Invoke(const std::string& what,
                             const std::function<void(t2::THBaseServiceClient&)>& call) {
  LIFEBOAT_RETURN_IF_ERROR(EnsureConnected());
  const std::string context = "HBase Thrift2 server " + address_ + ": " + what;
  try {
    call(*conn_->client);
    return OkStatus();
  } catch (const t2::TIOError& e) {
    std::string cls = ExceptionClassInMessage(e.message);
    if (!cls.empty()) {
      std::string message = MessageFromStackTrace(cls, e.message);
      return StatusFromException(cls, message, context);
    }
    Code code = e.__isset.canRetry && e.canRetry ? Code::kUnavailable : Code::kUnknown;
    return Status(code, context + ": " + e.message);
  } catch (const t2::TIllegalArgument& e) {
    return InvalidArgumentError(context + ": " + e.message);
  } catch (const TTransportException& e) {
    Disconnect();
    if (e.getType() == TTransportException::TIMED_OUT) {
      return Status(
          Code::kDeadlineExceeded,
          context + ": no answer within " + std::to_string(options_.call_timeout.count()) + " ms");
    }
    return UnavailableError(context + ": " + e.what());
  } catch (const TApplicationException& e) {
    // The server did not know the method or failed inside it; the connection's state is
    // unknown afterwards.
    Disconnect();
    Code code = e.getType() == TApplicationException::UNKNOWN_METHOD ? Code::kUnimplemented
                                                                     : Code::kInternal;
    return Status(code, context + ": " + e.what());
  } catch (const TException& e) {
    Disconnect();
    return InternalError(context + ": " + e.what());
  }
}

StatusOr<std::vector<std::string>> Thrift2Client::ListNamespaces() {
  std::vector<std::string> out;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("listNamespaces", [&](t2::THBaseServiceClient& c) { c.listNamespaces(out); }));
  return out;
}

Status Thrift2Client::CreateNamespace(const std::string& name) {
  t2::TNamespaceDescriptor d;
  d.__set_name(name);
  return Invoke("createNamespace " + name,
                [&](t2::THBaseServiceClient& c) { c.createNamespace(d); });
}

Status Thrift2Client::DeleteNamespace(const std::string& name) {
  return Invoke("deleteNamespace " + name,
                [&](t2::THBaseServiceClient& c) { c.deleteNamespace(name); });
}

StatusOr<t2::TNamespaceDescriptor> Thrift2Client::GetNamespace(const std::string& name) {
  t2::TNamespaceDescriptor d;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("getNamespaceDescriptor " + name,
                                  [&](auto& c) { c.getNamespaceDescriptor(d, name); }));
  return d;
}

StatusOr<bool> Thrift2Client::TableExists(const std::string& table) {
  bool exists = false;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("tableExists " + table,
                                  [&](auto& c) { exists = c.tableExists(ToTTableName(table)); }));
  return exists;
}

StatusOr<t2::TTableDescriptor> Thrift2Client::GetTableDescriptor(const std::string& table) {
  t2::TTableDescriptor d;
  Status s = Invoke("getTableDescriptor " + table,
                    [&](auto& c) { c.getTableDescriptor(d, ToTTableName(table)); });
  if (s.code() == Code::kUnknown) {
    // A missing table comes back as a TIOError whose message is only the table's name: ask.
    auto exists = TableExists(table);
    if (exists.ok() && !*exists) {
      return NotFoundError("HBase Thrift2 server " + address_ + ": table " + table +
                           " does not exist");
    }
  }
  if (!s.ok()) return s;
  return d;
}

StatusOr<std::vector<t2::TTableDescriptor>> Thrift2Client::TableDescriptorsInNamespace(
    const std::string& ns) {
  std::vector<t2::TTableDescriptor> out;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("getTableDescriptorsByNamespace " + ns,
                                  [&](auto& c) { c.getTableDescriptorsByNamespace(out, ns); }));
  return out;
}

StatusOr<std::vector<t2::TTableDescriptor>> Thrift2Client::TableDescriptorsMatching(
    const std::string& regex, bool include_system) {
  std::vector<t2::TTableDescriptor> out;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("getTableDescriptorsByPattern " + regex, [&](auto& c) {
    c.getTableDescriptorsByPattern(out, regex, include_system);
  }));
  return out;
}

StatusOr<std::vector<std::string>> Thrift2Client::TableNamesInNamespace(const std::string& ns) {
  std::vector<t2::TTableName> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("getTableNamesByNamespace " + ns,
                                  [&](auto& c) { c.getTableNamesByNamespace(names, ns); }));
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(FromTTableName(n));
  return out;
}

StatusOr<std::vector<std::string>> Thrift2Client::TableNamesMatching(const std::string& regex,
                                                                     bool include_system) {
  std::vector<t2::TTableName> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("getTableNamesByPattern " + regex, [&](auto& c) {
    c.getTableNamesByPattern(names, regex, include_system);
  }));
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(FromTTableName(n));
  return out;
}

Status Thrift2Client::CreateTable(const t2::TTableDescriptor& descriptor,
                                  const std::vector<std::string>& split_keys) {
  return Invoke("createTable " + FromTTableName(descriptor.tableName),
                [&](auto& c) { c.createTable(descriptor, split_keys); });
}

Status Thrift2Client::DisableTable(const std::string& table) {
  return Invoke("disableTable " + table, [&](auto& c) { c.disableTable(ToTTableName(table)); });
}

Status Thrift2Client::EnableTable(const std::string& table) {
  return Invoke("enableTable " + table, [&](auto& c) { c.enableTable(ToTTableName(table)); });
}

Status Thrift2Client::DeleteTable(const std::string& table) {
  return Invoke("deleteTable " + table, [&](auto& c) { c.deleteTable(ToTTableName(table)); });
}

StatusOr<bool> Thrift2Client::IsTableEnabled(const std::string& table) {
  bool enabled = false;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("isTableEnabled " + table, [&](auto& c) {
    enabled = c.isTableEnabled(ToTTableName(table));
  }));
  return enabled;
}

Status Thrift2Client::Put(const std::string& table, const std::vector<t2::TPut>& puts) {
  return Invoke("putMultiple " + table + " (" + std::to_string(puts.size()) + " rows)",
                [&](auto& c) { c.putMultiple(table, puts); });
}

StatusOr<t2::TResult> Thrift2Client::Get(const std::string& table, const t2::TGet& get) {
  t2::TResult r;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get " + table, [&](auto& c) { c.get(r, table, get); }));
  return r;
}

Status Thrift2Client::Scan(const std::string& table, const t2::TScan& scan, int32_t batch_rows,
                           const RowSink& sink) {
  if (batch_rows <= 0) {
    return InvalidArgumentError("scan of " + table + ": batch_rows must be positive");
  }
  int32_t id = 0;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("openScanner " + table, [&](auto& c) { id = c.openScanner(table, scan); }));
  Status result;
  while (result.ok()) {
    std::vector<t2::TResult> rows;
    result =
        Invoke("getScannerRows " + table, [&](auto& c) { c.getScannerRows(rows, id, batch_rows); });
    if (!result.ok() || rows.empty()) break;
    result = sink(rows);
  }
  Status closed = Invoke("closeScanner " + table, [&](auto& c) { c.closeScanner(id); });
  return result.ok() ? closed : result;
}

}  // namespace lifeboat::hbase
