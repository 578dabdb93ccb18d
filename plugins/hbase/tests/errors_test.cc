// How HBase's exceptions become Status codes and messages (errors.h). Unit: no cluster.
#include "errors.h"

#include <gtest/gtest.h>

namespace lifeboat::hbase {
namespace {

TEST(HBaseErrors, ExceptionClassesMapByRetryMeaning) {
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.snapshot.SnapshotExistsException"),
            Code::kAlreadyExists);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.TableNotFoundException"), Code::kNotFound);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.snapshot.SnapshotDoesNotExistException"),
            Code::kNotFound);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.NamespaceNotFoundException"),
            Code::kNotFound);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.TableNotDisabledException"),
            Code::kFailedPrecondition);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.security.AccessDeniedException"),
            Code::kPermissionDenied);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.PleaseHoldException"), Code::kUnavailable);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.ipc.ServerNotRunningYetException"),
            Code::kUnavailable);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.snapshot.CorruptedSnapshotException"),
            Code::kDataLoss);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.snapshot.HBaseSnapshotException"),
            Code::kAborted);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.ipc.FatalConnectionException"),
            Code::kFailedPrecondition);
  EXPECT_EQ(CodeForException("java.lang.IllegalArgumentException"), Code::kInvalidArgument);
  EXPECT_EQ(CodeForException("org.apache.hadoop.hbase.exceptions.UnknownProtocolException"),
            Code::kUnimplemented);
  EXPECT_EQ(CodeForException("java.io.IOException"), Code::kUnknown);
  EXPECT_EQ(CodeForException(""), Code::kUnknown);
}

TEST(HBaseErrors, StackTraceGivesTheMessageWithoutTheClass) {
  const std::string cls = "org.apache.hadoop.hbase.snapshot.SnapshotExistsException";
  EXPECT_EQ(MessageFromStackTrace(cls, cls + ": Snapshot 's1' already stored on the filesystem."
                                             "\n\tat org.apache.hadoop.hbase.Foo.bar(Foo.java:1)"),
            "Snapshot 's1' already stored on the filesystem.");
  EXPECT_EQ(MessageFromStackTrace(cls, "something else\nmore"), "something else");
  EXPECT_EQ(MessageFromStackTrace(cls, cls), "");
  EXPECT_EQ(MessageFromStackTrace(cls, ""), "");
}

TEST(HBaseErrors, ClassAtTheStartOfAMessage) {
  EXPECT_EQ(ExceptionClassInMessage("org.apache.hadoop.hbase.TableExistsException: ns:t"),
            "org.apache.hadoop.hbase.TableExistsException");
  EXPECT_EQ(ExceptionClassInMessage("ns:t"), "");
  EXPECT_EQ(ExceptionClassInMessage("no_such_table"), "");
  EXPECT_EQ(ExceptionClassInMessage("java.lang.OutOfMemoryError"), "java.lang.OutOfMemoryError");
  EXPECT_EQ(ExceptionClassInMessage("Table.name is wrong"), "");
}

TEST(HBaseErrors, StatusNamesContextClassAndMessage) {
  Status s = StatusFromException("org.apache.hadoop.hbase.TableNotFoundException", "ns:t",
                                 "HBase master 127.0.0.1:1: Snapshot");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "HBase master 127.0.0.1:1: Snapshot: TableNotFoundException: ns:t");
}

}  // namespace
}  // namespace lifeboat::hbase
