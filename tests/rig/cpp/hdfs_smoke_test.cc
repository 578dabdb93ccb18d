// The HDFS rig end to end: both clusters of the endpoints file answer WebHDFS, and a file
// written through a NameNode's redirect to its DataNode reads back (label rig).
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "rig_endpoints.h"

namespace {

struct Reply {
  long code = 0;
  std::string body;
  std::string location;  // the Location header of a redirect
  std::string error;     // libcurl's, when the request did not complete
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One HTTP request without following redirects. `body` is sent with PUT when not null.
Reply Request(const std::string& method, const std::string& url,
              const std::string* body = nullptr) {
  Reply r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.code);
    char* location = nullptr;
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
        location != nullptr) {
      r.location = location;
    }
  }
  curl_easy_cleanup(curl);
  return r;
}

class HdfsRigSmoke : public ::testing::TestWithParam<std::string> {};

TEST_P(HdfsRigSmoke, WebHdfsAnswersAndStoresAFile) {
  LIFEBOAT_RIG_ENDPOINTS(endpoints, "hdfs");
  ASSERT_EQ(endpoints.value("system", ""), "hdfs");
  const nlohmann::json& cluster = endpoints["clusters"][GetParam()];
  ASSERT_TRUE(cluster.is_object()) << "no cluster '" << GetParam() << "' in " << endpoints;
  const std::string base = cluster.value("webhdfs", "");
  const std::string user = "user.name=" + cluster.value("user", "");
  ASSERT_EQ(base.rfind("http://127.0.0.1:", 0), 0u) << base;

  Reply list = Request("GET", base + "/?op=LISTSTATUS&" + user);
  ASSERT_EQ(list.error, "");
  ASSERT_EQ(list.code, 200) << list.body;
  nlohmann::json listing = nlohmann::json::parse(list.body, nullptr, false);
  ASSERT_TRUE(listing["FileStatuses"]["FileStatus"].is_array()) << list.body;

  // CREATE is two steps: the NameNode answers 307 with a DataNode's URL, which takes the data.
  const std::string path = "/rig-smoke/" + GetParam() + ".txt";
  Reply create = Request("PUT", base + path + "?op=CREATE&overwrite=true&" + user);
  ASSERT_EQ(create.error, "");
  ASSERT_EQ(create.code, 307) << create.body;
  ASSERT_EQ(create.location.rfind("http://127.0.0.1:", 0), 0u)
      << "the DataNode must be reached on loopback: " << create.location;
  const std::string content = "hello from the " + GetParam() + " cluster\n";
  Reply put = Request("PUT", create.location, &content);
  ASSERT_EQ(put.error, "");
  ASSERT_EQ(put.code, 201) << put.body;

  Reply open = Request("GET", base + path + "?op=OPEN&" + user);
  ASSERT_EQ(open.code, 307) << open.body;
  Reply data = Request("GET", open.location);
  ASSERT_EQ(data.code, 200) << data.body;
  EXPECT_EQ(data.body, content);

  Reply status = Request("GET", base + path + "?op=GETFILESTATUS&" + user);
  ASSERT_EQ(status.code, 200) << status.body;
  nlohmann::json st = nlohmann::json::parse(status.body, nullptr, false);
  EXPECT_EQ(st["FileStatus"].value("length", -1), static_cast<int>(content.size()));

  Reply del = Request("DELETE", base + "/rig-smoke?op=DELETE&recursive=true&" + user);
  ASSERT_EQ(del.code, 200) << del.body;
  EXPECT_NE(del.body.find("true"), std::string::npos) << del.body;
}

INSTANTIATE_TEST_SUITE_P(Clusters, HdfsRigSmoke, ::testing::Values("primary", "secondary"));

// The two clusters are distinct: a directory made on one is absent on the other.
TEST(HdfsRigSmokeBoth, ClustersAreSeparate) {
  LIFEBOAT_RIG_ENDPOINTS(endpoints, "hdfs");
  const nlohmann::json& clusters = endpoints["clusters"];
  const std::string primary = clusters["primary"].value("webhdfs", "");
  const std::string secondary = clusters["secondary"].value("webhdfs", "");
  const std::string user = "user.name=" + clusters["primary"].value("user", "");
  ASSERT_NE(primary, secondary);
  Reply mk = Request("PUT", primary + "/rig-only-primary?op=MKDIRS&" + user);
  ASSERT_EQ(mk.code, 200) << mk.body;
  Reply there = Request("GET", secondary + "/rig-only-primary?op=GETFILESTATUS&" + user);
  EXPECT_EQ(there.code, 404) << there.body;
  EXPECT_NE(there.body.find("FileNotFoundException"), std::string::npos) << there.body;
  Reply del = Request("DELETE", primary + "/rig-only-primary?op=DELETE&" + user);
  EXPECT_EQ(del.code, 200) << del.body;
}

}  // namespace
