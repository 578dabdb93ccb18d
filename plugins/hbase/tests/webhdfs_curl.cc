#include "webhdfs_curl.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

namespace lifeboat::hbase::testing {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One request; redirects are followed only when `follow` (OPEN's GET).
HttpReply Request(const std::string& method, const std::string& url, const std::string* body,
                  bool follow) {
  HttpReply r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
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

bool AnswersTrue(const HttpReply& r) {
  return r.code == 200 && r.body.find("true") != std::string::npos;
}

}  // namespace

std::string WebHdfs::Url(const std::string& path, const std::string& op) const {
  return base_ + path + "?op=" + op + "&user.name=" + user_;
}

HttpReply WebHdfs::Status(const std::string& path) const {
  return Request("GET", Url(path, "GETFILESTATUS"), nullptr, false);
}

std::vector<std::string> WebHdfs::List(const std::string& path) const {
  HttpReply r = Request("GET", Url(path, "LISTSTATUS"), nullptr, false);
  std::vector<std::string> names;
  if (r.code != 200) return names;
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded()) return names;
  for (const auto& st : doc["FileStatuses"]["FileStatus"]) {
    names.push_back(st.value("pathSuffix", ""));
  }
  return names;
}

HttpReply WebHdfs::Read(const std::string& path) const {
  return Request("GET", Url(path, "OPEN"), nullptr, true);
}

bool WebHdfs::Write(const std::string& path, const std::string& data, std::string* error) const {
  HttpReply create = Request("PUT", Url(path, "CREATE") + "&overwrite=false", nullptr, false);
  if (create.code != 307 || create.location.empty()) {
    *error =
        "CREATE " + path + ": " + std::to_string(create.code) + " " + create.body + create.error;
    return false;
  }
  HttpReply put = Request("PUT", create.location, &data, false);
  if (put.code != 201) {
    *error = "CREATE " + path + " at the DataNode: " + std::to_string(put.code) + " " + put.body +
             put.error;
    return false;
  }
  return true;
}

bool WebHdfs::Mkdirs(const std::string& path) const {
  return AnswersTrue(Request("PUT", Url(path, "MKDIRS"), nullptr, false));
}

bool WebHdfs::Rename(const std::string& from, const std::string& to) const {
  return AnswersTrue(Request("PUT", Url(from, "RENAME") + "&destination=" + to, nullptr, false));
}

bool WebHdfs::Delete(const std::string& path, bool recursive) const {
  return AnswersTrue(Request("DELETE",
                             Url(path, "DELETE") + "&recursive=" + (recursive ? "true" : "false"),
                             nullptr, false));
}

}  // namespace lifeboat::hbase::testing
