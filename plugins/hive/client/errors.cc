#include "errors.h"

#include <thrift/TApplicationException.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TTransportException.h>

#include <algorithm>
#include <cctype>
#include <exception>

#include "metastore_types.h"

namespace lifeboat::hive {

namespace {

using apache::thrift::TApplicationException;
using apache::thrift::TException;
using apache::thrift::protocol::TProtocolException;
using apache::thrift::transport::TTransportException;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HasAny(const std::string& lower, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return lower.find(w) != std::string::npos; });
}

// "hive metastore 127.0.0.1:9083: get_table_req(sales.orders): "
std::string Prefix(const CallSite& where) {
  std::string out = "hive metastore " + where.endpoint + ": " + where.call;
  if (!where.subject.empty()) out += "(" + where.subject + ")";
  return out + ": ";
}

bool SaysNotFound(const std::string& lower) {
  return HasAny(lower, {"does not exist", "doesn't exist", "not found", "no such"});
}

// create_table in a database that does not exist answers InvalidObjectException with only
// "database <catalog>.<db>" as its message.
bool IsBareDatabaseName(std::string_view message) {
  return message.rfind("database ", 0) == 0 &&
         message.find(' ', std::string_view("database ").size()) == std::string_view::npos;
}

Code CodeFromMessage(MetastoreError kind, std::string_view message) {
  const std::string m = Lower(message);
  if (SaysNotFound(m)) return Code::kNotFound;
  if (HasAny(m, {"already exists"})) return Code::kAlreadyExists;
  if (HasAny(m, {"permission denied", "accesscontrolexception", "not authorized",
                 "insufficient privilege", "no privilege"})) {
    return Code::kPermissionDenied;
  }
  if (HasAny(m, {"deadlock", "lock timeout", "lock wait timeout", "could not obtain lock",
                 "a lock could not be obtained"})) {
    return Code::kAborted;
  }
  if (HasAny(m, {"not empty"})) return Code::kFailedPrecondition;
  if (HasAny(m, {"invalid", "illegal", "empty string", "cannot be null", "can not be null"})) {
    return Code::kInvalidArgument;
  }
  return kind == MetastoreError::kInvalidOperation ? Code::kFailedPrecondition : Code::kInternal;
}

Status TransportStatus(const CallSite& where, const TTransportException& e) {
  const std::string p = Prefix(where);
  switch (e.getType()) {
    case TTransportException::NOT_OPEN:
      return UnavailableError(p + "cannot reach the metastore (" + e.what() +
                              "): is it running and listening on " + where.endpoint + "?");
    case TTransportException::TIMED_OUT:
      return UnavailableError(p + "no answer within the timeout (" + e.what() +
                              "); a write may or may not have taken effect");
    case TTransportException::END_OF_FILE:
      // Thrift 0.17 reports an answer over TConfiguration's maxMessageSize as END_OF_FILE
      // "MaxMessageSize reached": the server is fine, the answer too large.
      if (std::string_view(e.what()).find("MaxMessageSize") != std::string_view::npos) {
        return Status(Code::kResourceExhausted,
                      p + "the answer is larger than max_message_bytes allows (" + e.what() +
                          "): ask for fewer objects per call or raise the limit");
      }
      return UnavailableError(p + "the metastore closed the connection (" + e.what() +
                              "); a write may or may not have taken effect");
    default:
      return UnavailableError(p + "connection failed (" + std::string(e.what()) + ")");
  }
}

Status ApplicationStatus(const CallSite& where, const TApplicationException& e) {
  const std::string p = Prefix(where);
  switch (e.getType()) {
    case TApplicationException::UNKNOWN_METHOD:
      return UnimplementedError(p + "the metastore does not know this call (" + e.what() +
                                "); it is older or newer than the Hive 4.x this client "
                                "was written for");
    default:
      // The metastore turns exceptions it did not declare (NullPointerException and the like)
      // into an application exception carrying their text.
      return InternalError(p + "the metastore failed: " + e.what());
  }
}

}  // namespace

std::string_view MetastoreErrorName(MetastoreError kind) {
  switch (kind) {
    case MetastoreError::kNoSuchObject:
      return "NoSuchObjectException";
    case MetastoreError::kUnknownDb:
      return "UnknownDBException";
    case MetastoreError::kUnknownTable:
      return "UnknownTableException";
    case MetastoreError::kAlreadyExists:
      return "AlreadyExistsException";
    case MetastoreError::kInvalidObject:
      return "InvalidObjectException";
    case MetastoreError::kInvalidInput:
      return "InvalidInputException";
    case MetastoreError::kInvalidOperation:
      return "InvalidOperationException";
    case MetastoreError::kMeta:
      return "MetaException";
    default:
      return "UnknownException";
  }
}

Status MetastoreErrorStatus(const CallSite& where, MetastoreError kind, std::string_view message) {
  Code code = Code::kInternal;
  switch (kind) {
    case MetastoreError::kNoSuchObject:
    case MetastoreError::kUnknownDb:
    case MetastoreError::kUnknownTable:
      code = Code::kNotFound;
      break;
    case MetastoreError::kAlreadyExists:
      code = Code::kAlreadyExists;
      break;
    case MetastoreError::kInvalidObject:
    case MetastoreError::kInvalidInput:
      // The metastore also says "the table you name does not exist" this way.
      code = SaysNotFound(Lower(message)) || IsBareDatabaseName(message) ? Code::kNotFound
                                                                         : Code::kInvalidArgument;
      break;
    case MetastoreError::kInvalidOperation:
    case MetastoreError::kMeta:
    default:
      code = CodeFromMessage(kind, message);
      break;
  }
  std::string text = message.empty() ? std::string("(no message)") : std::string(message);
  if (kind == MetastoreError::kInvalidObject && IsBareDatabaseName(message)) {
    text += " (no such database)";
  }
  return Status(code, Prefix(where) + std::string(MetastoreErrorName(kind)) + ": " + text);
}

Status WithNotificationAccessHint(Status status) {
  if (status.code() != Code::kInternal ||
      status.message().find("Internal error processing") == std::string::npos) {
    return status;
  }
  return Status(Code::kInternal,
                status.message() +
                    " (a metastore with metastore.metastore.event.db.notification.api.auth=true, "
                    "its default, answers this to a user it does not trust to read the event log: "
                    "make Lifeboat's user a proxy superuser there (hadoop.proxyuser.<user>.hosts "
                    "and .groups) or turn the check off)",
                status.subject());
}

Status StatusFromCurrentException(const CallSite& where, bool* connection_broken) {
  *connection_broken = false;
  try {
    throw;
  } catch (const thrift::NoSuchObjectException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kNoSuchObject, e.message);
  } catch (const thrift::UnknownDBException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kUnknownDb, e.message);
  } catch (const thrift::UnknownTableException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kUnknownTable, e.message);
  } catch (const thrift::AlreadyExistsException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kAlreadyExists, e.message);
  } catch (const thrift::InvalidObjectException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kInvalidObject, e.message);
  } catch (const thrift::InvalidInputException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kInvalidInput, e.message);
  } catch (const thrift::InvalidOperationException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kInvalidOperation, e.message);
  } catch (const thrift::MetaException& e) {
    return MetastoreErrorStatus(where, MetastoreError::kMeta, e.message);
  } catch (const TTransportException& e) {
    *connection_broken = true;
    return TransportStatus(where, e);
  } catch (const TApplicationException& e) {
    // The server answered with a whole message: the connection is still in step.
    return ApplicationStatus(where, e);
  } catch (const TProtocolException& e) {
    *connection_broken = true;
    if (e.getType() == TProtocolException::SIZE_LIMIT) {
      return Status(Code::kResourceExhausted,
                    Prefix(where) + "the answer is larger than max_message_bytes allows (" +
                        e.what() + "): ask for fewer objects per call or raise the limit");
    }
    return InternalError(Prefix(where) + "could not decode the metastore's answer: " + e.what());
  } catch (const TException& e) {
    *connection_broken = true;
    return InternalError(Prefix(where) + "Thrift error: " + e.what());
  } catch (const std::exception& e) {
    *connection_broken = true;
    return InternalError(Prefix(where) + e.what());
  } catch (...) {
    *connection_broken = true;
    return InternalError(Prefix(where) + "unknown exception");
  }
}

}  // namespace lifeboat::hive
