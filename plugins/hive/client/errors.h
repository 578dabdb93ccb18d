// How failures of metastore calls become lifeboat::Status values. Every message names the
// metastore (host:port), the call and, where there is one, the object; the code carries what
// the caller should do:
//
//   connection refused, reset, closed, timed out  UNAVAILABLE (retry; a write may have happened)
//   NoSuchObject, UnknownDB, UnknownTable          NOT_FOUND
//   AlreadyExists                                  ALREADY_EXISTS
//   InvalidObject, InvalidInput                    INVALID_ARGUMENT (NOT_FOUND when the message
//                                                  says an object named in the call is missing)
//   InvalidOperation, MetaException                by message (see MetastoreErrorStatus)
//   a method the server does not have              UNIMPLEMENTED
//   an answer too large for max_message_bytes      RESOURCE_EXHAUSTED
//   anything else (server-side bugs, undecodable)  INTERNAL
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_ERRORS_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_ERRORS_H_

#include <lifeboat/status.h>

#include <string>
#include <string_view>

namespace lifeboat::hive {

// Where a call failed: the metastore, the Thrift method and the object (may be empty).
struct CallSite {
  std::string endpoint;  // "host:port"
  std::string call;      // "get_table_req"
  std::string subject;   // "sales.orders", "sales.orders/dt=2024-01-01", ""
};

// The exceptions of the metastore's IDL.
enum class MetastoreError {
  kNoSuchObject,
  kUnknownDb,
  kUnknownTable,
  kAlreadyExists,
  kInvalidObject,
  kInvalidInput,
  kInvalidOperation,
  kMeta,
};

// The name Hive gives the exception ("NoSuchObjectException").
std::string_view MetastoreErrorName(MetastoreError kind);

// The status for an exception the metastore threw on purpose. InvalidOperation and MetaException
// carry every kind of failure, so their code comes from the message: "does not exist"/"not
// found" NOT_FOUND, "already exists" ALREADY_EXISTS, permission words PERMISSION_DENIED, lock
// and deadlock words ABORTED (the server gave up; try again), "not empty" FAILED_PRECONDITION,
// "invalid"/"illegal"/"empty string" INVALID_ARGUMENT; otherwise InvalidOperation is
// FAILED_PRECONDITION and MetaException INTERNAL.
Status MetastoreErrorStatus(const CallSite& where, MetastoreError kind, std::string_view message);

// For the notification calls: a metastore that checks who may read its event log
// (metastore.metastore.event.db.notification.api.auth, true by default) refuses other users
// with an undeclared exception, which arrives as "Internal error processing <call>". Adds to
// such an INTERNAL status what to do about it; returns any other status unchanged.
Status WithNotificationAccessHint(Status status);

// The status for whatever exception is being handled: call it only inside a catch block.
// Knows the metastore's exceptions and Thrift's transport, protocol and application ones.
// Sets `*connection_broken` when the connection can no longer be trusted (transport or protocol
// errors: the stream may be half-read) so that the caller reconnects before the next call.
Status StatusFromCurrentException(const CallSite& where, bool* connection_broken);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_ERRORS_H_
