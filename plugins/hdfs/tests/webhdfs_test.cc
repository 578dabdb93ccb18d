// WebHDFS answers as the client reads them: RemoteExceptions to status codes, FileStatus
// parsing, data set paths, URL escaping. No cluster needed.
#include <gtest/gtest.h>

#include "hdfs_plugin.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {
namespace {

std::string Remote(const std::string& exception, const std::string& message) {
  return R"({"RemoteException":{"exception":")" + exception +
         R"(","javaClassName":"org.apache.hadoop.x.)" + exception + R"(","message":")" + message +
         R"("}})";
}

TEST(WebHdfsErrors, RemoteExceptionsMapToCodes) {
  struct Case {
    long http;
    std::string exception;
    Code code;
  } cases[] = {
      {404, "FileNotFoundException", Code::kNotFound},
      {403, "AccessControlException", Code::kPermissionDenied},
      {401, "SecurityException", Code::kPermissionDenied},
      {403, "FileAlreadyExistsException", Code::kAlreadyExists},
      {403, "SafeModeException", Code::kUnavailable},
      {403, "StandbyException", Code::kUnavailable},
      {403, "RetriableException", Code::kUnavailable},
      {403, "SnapshotException", Code::kFailedPrecondition},
      {403, "NSQuotaExceededException", Code::kFailedPrecondition},
      {403, "PathIsNotEmptyDirectoryException", Code::kFailedPrecondition},
      {400, "IllegalArgumentException", Code::kInvalidArgument},
      {400, "UnsupportedOperationException", Code::kInvalidArgument},
      {500, "NullPointerException", Code::kUnavailable},
      {403, "IOException", Code::kInternal},
  };
  for (const Case& c : cases) {
    std::string exception;
    Status s = StatusFromResponse(c.http, Remote(c.exception, "the server's words"),
                                  "GETFILESTATUS /a", "alice", &exception);
    EXPECT_EQ(s.code(), c.code) << c.exception << ": " << s.ToString();
    EXPECT_EQ(exception, c.exception);
    EXPECT_NE(s.message().find("GETFILESTATUS /a"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("alice"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("the server's words"), std::string::npos) << s.ToString();
    EXPECT_EQ(s.subject(), "GETFILESTATUS /a");
  }
}

TEST(WebHdfsErrors, SuccessAndBodiesWithoutRemoteException) {
  EXPECT_TRUE(StatusFromResponse(200, "{}", "x", "u").ok());
  EXPECT_TRUE(StatusFromResponse(201, "", "x", "u").ok());
  Status auth =
      StatusFromResponse(401, "<html>Authentication required</html>", "LISTSTATUS /", "u");
  EXPECT_EQ(auth.code(), Code::kUnauthenticated);
  EXPECT_NE(auth.message().find("SPNEGO"), std::string::npos) << auth.ToString();
  EXPECT_EQ(StatusFromResponse(503, "busy", "x", "u").code(), Code::kUnavailable);
  Status odd = StatusFromResponse(404, "<html>Not Found</html>", "LISTSTATUS /", "u");
  EXPECT_EQ(odd.code(), Code::kInternal);
  EXPECT_NE(odd.message().find("dfs.webhdfs.enabled"), std::string::npos) << odd.ToString();
}

TEST(WebHdfsFileStatus, ParsesTheDocumentedFields) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "accessTime": 1320171722771, "blockSize": 33554432, "group": "supergroup",
    "length": 24930, "modificationTime": 1320171722771, "owner": "webuser",
    "pathSuffix": "a.patch", "permission": "1644", "replication": 1, "type": "FILE",
    "aclBit": true})");
  StatusOr<FileStatus> st = ParseFileStatus(j);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->path_suffix, "a.patch");
  EXPECT_FALSE(st->is_dir);
  EXPECT_EQ(st->length, 24930u);
  EXPECT_EQ(st->modification_ms, 1320171722771);
  EXPECT_EQ(st->permission, 01644u);
  EXPECT_EQ(st->block_size, 33554432u);
  EXPECT_EQ(st->replication, 1u);
  EXPECT_EQ(st->owner, "webuser");
  EXPECT_EQ(st->group, "supergroup");
  EXPECT_TRUE(st->acl_bit);
  EXPECT_FALSE(st->snapshot_enabled);

  StatusOr<FileStatus> dir = ParseFileStatus(nlohmann::json::parse(
      R"({"type": "DIRECTORY", "permission": "755", "snapshotEnabled": true})"));
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->is_dir);
  EXPECT_TRUE(dir->snapshot_enabled);
  EXPECT_EQ(dir->permission, 0755u);
  EXPECT_FALSE(ParseFileStatus(nlohmann::json::parse(R"({"length": 1})")).ok());
}

TEST(WebHdfsUrl, EscapesAllButUnreserved) {
  EXPECT_EQ(UrlEscape("/a b/ü:c", true), "/a%20b/%C3%BC%3Ac");
  EXPECT_EQ(UrlEscape("/a", false), "%2Fa");
  EXPECT_EQ(UrlEscape("A-z_0.9~", false), "A-z_0.9~");
}

TEST(HdfsDataSetPath, NormalizesAndRefuses) {
  auto ds = [](const std::string& component, const std::string& selector) {
    v1::DataSet d;
    d.set_component(component);
    d.set_selector(selector);
    return d;
  };
  EXPECT_EQ(*DataSetPath(ds("hdfs", "/data//sales/")), "/data/sales");
  EXPECT_EQ(*DataSetPath(ds("hdfs", "/")), "/");
  EXPECT_EQ(DataSetPath(ds("hdfs", "data")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DataSetPath(ds("hdfs", "/a/../b")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DataSetPath(ds("hdfs", "/a/b:c")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DataSetPath(ds("localfs", "/a")).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::hdfs
