// The codes and messages of metastore failures (errors.h), from the exceptions themselves: the
// rig test sees the same mapping on real answers.
#include <gtest/gtest.h>
#include <thrift/TApplicationException.h>
#include <thrift/transport/TTransportException.h>

#include "errors.h"
#include "metastore_types.h"

namespace lifeboat::hive {
namespace {

using apache::thrift::TApplicationException;
using apache::thrift::transport::TTransportException;

const CallSite kWhere{"127.0.0.1:9083", "get_table_req", "sales.orders"};

template <typename E>
Status Thrown(const E& e, bool* broken) {
  try {
    throw e;
  } catch (...) {
    return StatusFromCurrentException(kWhere, broken);
  }
}

TEST(MetastoreErrors, MessageNamesMetastoreCallAndObject) {
  thrift::NoSuchObjectException e;
  e.__set_message("hive.sales.orders table not found");
  bool broken = true;
  Status s = Thrown(e, &broken);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_FALSE(broken);
  EXPECT_EQ(s.message(),
            "hive metastore 127.0.0.1:9083: get_table_req(sales.orders): NoSuchObjectException: "
            "hive.sales.orders table not found");
}

TEST(MetastoreErrors, EachDeclaredExceptionHasItsCode) {
  bool broken = false;
  thrift::AlreadyExistsException exists;
  EXPECT_EQ(Thrown(exists, &broken).code(), Code::kAlreadyExists);
  thrift::InvalidObjectException invalid;
  EXPECT_EQ(Thrown(invalid, &broken).code(), Code::kInvalidArgument);
  thrift::InvalidInputException input;
  EXPECT_EQ(Thrown(input, &broken).code(), Code::kInvalidArgument);
  thrift::UnknownDBException db;
  EXPECT_EQ(Thrown(db, &broken).code(), Code::kNotFound);
  thrift::UnknownTableException table;
  EXPECT_EQ(Thrown(table, &broken).code(), Code::kNotFound);
  EXPECT_FALSE(broken);
}

TEST(MetastoreErrors, InvalidObjectNamingAMissingObjectIsNotFound) {
  Status missing_db =
      MetastoreErrorStatus(kWhere, MetastoreError::kInvalidObject, "database hive.x");
  EXPECT_EQ(missing_db.code(), Code::kNotFound);
  EXPECT_NE(missing_db.message().find("(no such database)"), std::string::npos);
  EXPECT_EQ(MetastoreErrorStatus(kWhere, MetastoreError::kInvalidObject,
                                 "Unable to add partitions because hive.d.t does not exist")
                .code(),
            Code::kNotFound);
  EXPECT_EQ(MetastoreErrorStatus(kWhere, MetastoreError::kInvalidObject, "hive.d.t table not found")
                .code(),
            Code::kNotFound);
  EXPECT_EQ(
      MetastoreErrorStatus(kWhere, MetastoreError::kInvalidObject, "Invalid partition key").code(),
      Code::kInvalidArgument);
}

TEST(MetastoreErrors, MetaAndInvalidOperationGoByMessage) {
  auto code = [](MetastoreError kind, const char* message) {
    return MetastoreErrorStatus(kWhere, kind, message).code();
  };
  EXPECT_EQ(code(MetastoreError::kMeta, "Database x does not exist"), Code::kNotFound);
  EXPECT_EQ(code(MetastoreError::kMeta, "Table t already exists"), Code::kAlreadyExists);
  EXPECT_EQ(code(MetastoreError::kMeta, "Permission denied: user=bob"), Code::kPermissionDenied);
  EXPECT_EQ(code(MetastoreError::kMeta, "A lock could not be obtained within the time"),
            Code::kAborted);
  EXPECT_EQ(code(MetastoreError::kMeta, "Can not create a Path from an empty string"),
            Code::kInvalidArgument);
  EXPECT_EQ(code(MetastoreError::kMeta, "java.lang.NullPointerException"), Code::kInternal);
  EXPECT_EQ(
      code(MetastoreError::kInvalidOperation, "Database d is not empty. One or more tables exist."),
      Code::kFailedPrecondition);
  EXPECT_EQ(code(MetastoreError::kInvalidOperation, "Cannot change stored as"),
            Code::kFailedPrecondition);
}

TEST(MetastoreErrors, TransportFailuresAreUnavailableAndBreakTheConnection) {
  bool broken = false;
  Status refused =
      Thrown(TTransportException(TTransportException::NOT_OPEN, "connect() failed"), &broken);
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_TRUE(broken);
  EXPECT_NE(refused.message().find("127.0.0.1:9083"), std::string::npos);
  broken = false;
  Status timeout = Thrown(TTransportException(TTransportException::TIMED_OUT, "EAGAIN"), &broken);
  EXPECT_EQ(timeout.code(), Code::kUnavailable);
  EXPECT_TRUE(broken);
  EXPECT_NE(timeout.message().find("may or may not have taken effect"), std::string::npos);
  Status closed = Thrown(TTransportException(TTransportException::END_OF_FILE, "EOF"), &broken);
  EXPECT_EQ(closed.code(), Code::kUnavailable);
}

TEST(MetastoreErrors, ApplicationExceptionsKeepTheConnection) {
  bool broken = true;
  Status unknown = Thrown(
      TApplicationException(TApplicationException::UNKNOWN_METHOD, "Invalid method name: 'x'"),
      &broken);
  EXPECT_EQ(unknown.code(), Code::kUnimplemented);
  EXPECT_FALSE(broken);
  Status internal =
      Thrown(TApplicationException(TApplicationException::INTERNAL_ERROR, "NullPointerException"),
             &broken);
  EXPECT_EQ(internal.code(), Code::kInternal);
  EXPECT_NE(internal.message().find("NullPointerException"), std::string::npos);
}

TEST(MetastoreErrors, NotificationAccessRefusalGetsAHint) {
  // What 4.0.1 answers get_current_notificationEventId when the user is not a proxy superuser
  // (measured on the rig with the check on).
  Status refused = InternalError(
      "hive metastore 127.0.0.1:9083: get_current_notificationEventId: the metastore failed: "
      "Internal error processing get_current_notificationEventId");
  Status hinted = WithNotificationAccessHint(refused);
  EXPECT_EQ(hinted.code(), Code::kInternal);
  EXPECT_NE(hinted.message().find("hadoop.proxyuser"), std::string::npos) << hinted.message();
  Status other = UnavailableError("x");
  EXPECT_EQ(WithNotificationAccessHint(other), other);
}

}  // namespace
}  // namespace lifeboat::hive
