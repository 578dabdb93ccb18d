// How HBase's errors become lifeboat::Status values, for both clients: the master's RPC
// answers with the Java exception's class name and its stack trace (first line: "Class:
// message"); Thrift2's TIOError carries only a message, which starts with the class name.
//
// Thread-safety: free functions without state.
#ifndef LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_ERRORS_H_
#define LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_ERRORS_H_

#include <lifeboat/status.h>

#include <string>
#include <string_view>

namespace lifeboat::hbase {

// The code an HBase exception class maps to, by its retry meaning:
//   SnapshotExistsException, TableExistsException, NamespaceExistException   ALREADY_EXISTS
//   TableNotFoundException, SnapshotDoesNotExistException,
//   UnknownSnapshotException, NamespaceNotFoundException, UnknownRegionException  NOT_FOUND
//   TableNotEnabledException, TableNotDisabledException, SnapshotTTLExpired...  FAILED_PRECONDITION
//   AccessDeniedException                                                      PERMISSION_DENIED
//   PleaseHoldException, ServerNotRunningYetException, MasterNotRunning...,
//   CallQueueTooBigException, ConnectException, RegionServerStopped...      UNAVAILABLE
//   CallTimeoutException, TimeoutIOException                                  DEADLINE_EXCEEDED
//   CorruptedSnapshotException                                                 DATA_LOSS
//   SnapshotCreationException, RestoreSnapshotException, HBaseSnapshotException  ABORTED
//   FatalConnectionException (the connection was refused, e.g. SASL wanted)   FAILED_PRECONDITION
//   UnknownProtocolException, UnsupportedOperationException                    UNIMPLEMENTED
//   IllegalArgumentException, DoNotRetryIOException                            INVALID_ARGUMENT
//   anything else                                                              UNKNOWN
// Matching is on the simple class name (the part after the last '.').
Code CodeForException(std::string_view exception_class);

// A Status for an exception `exception_class` with `message` (the server's words), prefixed
// by `context` (which server and which call): "<context>: <SimpleClass>: <message>".
Status StatusFromException(std::string_view exception_class, std::string_view message,
                           std::string_view context);

// The message of a Java stack trace: its first line without the leading "Class: " (the
// whole first line when it does not start with the class name).
std::string MessageFromStackTrace(std::string_view exception_class, std::string_view trace);

// The class name at the start of a Thrift2 TIOError message ("org.x.FooException: text" →
// "org.x.FooException"), or "" when the message does not start with one.
std::string ExceptionClassInMessage(std::string_view message);

}  // namespace lifeboat::hbase

#endif  // LIFEBOAT_PLUGINS_HBASE_CLIENT_SRC_ERRORS_H_
