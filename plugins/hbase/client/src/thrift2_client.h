// A client of HBase's Thrift2 server (THBaseService; our IDL subset in ../thrift) for
// namespaces, table descriptors and data: what the plugin and its tests read and write
// through HBase itself rather than through files. The server in the rig (HBase 2.6.1's
// in-process thrift2.ThriftServer, thread pool mode) speaks the unframed binary protocol;
// Options::framed and Options::compact match servers started with -f / -c.
//
// Errors name the server and the call. A TIOError carries only the Java exception's message
// (for a missing table: just the table's name), so its code comes from the class name when
// the message starts with one and from canRetry otherwise (UNAVAILABLE when HBase says a
// retry may help, UNKNOWN when not); TIllegalArgument is INVALID_ARGUMENT; a lost or refused
// connection is UNAVAILABLE (the next call connects again).
//
// Thread-safety: not thread-safe (one connection); use one client per thread.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_THRIFT2_CLIENT_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_THRIFT2_CLIENT_H_

#include <lifeboat/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "THBaseService.h"

namespace lifeboat::hbase {

namespace t2 = ::lifeboat::hbase::thrift2;

class Thrift2Client {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds call_timeout{60000};
    bool framed = false;   // TFramedTransport instead of TBufferedTransport
    bool compact = false;  // TCompactProtocol instead of TBinaryProtocol
  };

  // A client for the Thrift2 server at `address` ("host:port"); connects on first use.
  Thrift2Client(std::string address, Options options);
  ~Thrift2Client();
  Thrift2Client(const Thrift2Client&) = delete;
  Thrift2Client& operator=(const Thrift2Client&) = delete;

  const std::string& address() const { return address_; }

  // Namespaces.
  StatusOr<std::vector<std::string>> ListNamespaces();
  Status CreateNamespace(const std::string& name);
  Status DeleteNamespace(const std::string& name);
  // NOT_FOUND when it does not exist.
  StatusOr<t2::TNamespaceDescriptor> GetNamespace(const std::string& name);

  // Tables, named "ns:qualifier" or "qualifier" (default namespace).
  StatusOr<bool> TableExists(const std::string& table);
  // NOT_FOUND when the table does not exist.
  StatusOr<t2::TTableDescriptor> GetTableDescriptor(const std::string& table);
  StatusOr<std::vector<t2::TTableDescriptor>> TableDescriptorsInNamespace(const std::string& ns);
  // `regex` is a Java regular expression over "ns:qualifier" names.
  StatusOr<std::vector<t2::TTableDescriptor>> TableDescriptorsMatching(const std::string& regex,
                                                                       bool include_system);
  StatusOr<std::vector<std::string>> TableNamesInNamespace(const std::string& ns);
  StatusOr<std::vector<std::string>> TableNamesMatching(const std::string& regex,
                                                        bool include_system);
  Status CreateTable(const t2::TTableDescriptor& descriptor,
                     const std::vector<std::string>& split_keys = {});
  Status DisableTable(const std::string& table);
  Status EnableTable(const std::string& table);
  Status DeleteTable(const std::string& table);
  StatusOr<bool> IsTableEnabled(const std::string& table);

  // Data.
  Status Put(const std::string& table, const std::vector<t2::TPut>& puts);
  StatusOr<t2::TResult> Get(const std::string& table, const t2::TGet& get);
  // Streams the rows of `scan` to `sink`, `batch_rows` at a time (the scanner is closed at
  // the end, also when the sink fails: its error is returned).
  using RowSink = std::function<Status(const std::vector<t2::TResult>& rows)>;
  Status Scan(const std::string& table, const t2::TScan& scan, int32_t batch_rows,
              const RowSink& sink);

  // Runs `call` on the generated client, with this client's error handling; for calls that
  // have no method here. `what` names the call in errors.
  Status Invoke(const std::string& what, const std::function<void(t2::THBaseServiceClient&)>& call);

 private:
  Status EnsureConnected();
  void Disconnect();

  std::string address_;
  Options options_;
  struct Connection;
  std::unique_ptr<Connection> conn_;
};

// The Thrift2 table name of "ns:qualifier" / "qualifier", and back.
t2::TTableName ToTTableName(const std::string& table);
std::string FromTTableName(const t2::TTableName& name);

// A cell for a put.
t2::TColumnValue Cell(const std::string& family, const std::string& qualifier,
                      const std::string& value);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_THRIFT2_CLIENT_H_
