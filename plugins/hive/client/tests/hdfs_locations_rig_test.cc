// Tables on the HDFS rig's file system: the metastore JVM (with the Hadoop 3.5 HDFS client on
// its classpath) creates the directories of databases, tables and partitions it is given on
// hdfs:// locations, and keeps the locations as given. Needs both rigs; skips without the HDFS
// one unless rigs are required.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "rig_fixture.h"

namespace lifeboat::hive::testing {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The "type" WebHDFS reports for `path` ("DIRECTORY", "FILE"), or "" when it does not exist.
std::string HdfsType(const std::string& webhdfs, const std::string& user, const std::string& path) {
  CURL* curl = curl_easy_init();
  std::string body;
  const std::string url = webhdfs + path + "?op=GETFILESTATUS&user.name=" + user;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  long code = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  if (code != 200) return "";
  auto doc = nlohmann::json::parse(body, nullptr, false);
  return doc.is_discarded() ? "" : doc["FileStatus"].value("type", "");
}

TEST(HiveOnHdfsRig, LocationsOnTheHdfsRigAreCreatedAndKept) {
  LIFEBOAT_RIG_ENDPOINTS(hive, "hive");
  LIFEBOAT_RIG_ENDPOINTS(hdfs, "hdfs");
  const Metastore m = MetastoreFrom(hive, "primary");
  const auto& fs = hdfs.at("clusters").at("primary");
  const std::string fs_uri = fs.at("fs_uri").get<std::string>();
  const std::string webhdfs = fs.at("webhdfs").get<std::string>();
  const std::string user = fs.at("user").get<std::string>();
  auto c = MustConnect(m);
  ASSERT_TRUE(c);

  const std::string db = UniqueName("lb_hdfs");
  const std::string db_path = "/lifeboat-hive-test/" + db + ".db";
  ASSERT_TRUE(c->CreateDatabase(SampleDatabase(db, fs_uri + "/lifeboat-hive-test")).ok());
  auto read_db = c->GetDatabase(db);
  ASSERT_TRUE(read_db.ok());
  EXPECT_EQ(read_db->locationUri, fs_uri + db_path);
  EXPECT_EQ(HdfsType(webhdfs, user, db_path), "DIRECTORY");

  const thrift::Table t = SampleTable(db, "orders", fs_uri + db_path + "/orders");
  Status created = c->CreateTable(t);
  ASSERT_TRUE(created.ok()) << created.ToString();
  auto read = c->GetTable(db, "orders");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->sd.location, fs_uri + db_path + "/orders");
  EXPECT_EQ(HdfsType(webhdfs, user, db_path + "/orders"), "DIRECTORY");

  auto added = c->AddPartitions(
      db, "orders",
      {SamplePartition(t, "2024-01-01", "de", fs_uri + db_path + "/orders/dt=2024-01-01/c=de")},
      false);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(HdfsType(webhdfs, user, db_path + "/orders/dt=2024-01-01/c=de"), "DIRECTORY");

  // An external table's files stay when it is dropped, even with deleteData.
  ASSERT_TRUE(c->DropTable(db, "orders", true).ok());
  EXPECT_EQ(HdfsType(webhdfs, user, db_path + "/orders/dt=2024-01-01/c=de"), "DIRECTORY");
  EXPECT_TRUE(c->DropDatabase(db, true, true).ok());
}

}  // namespace
}  // namespace lifeboat::hive::testing
