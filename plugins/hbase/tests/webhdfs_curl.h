// The few WebHDFS calls the HBase client rig test needs, over libcurl. Written before the
// WebHDFS client became a shared library (plugins/common/webhdfs, which the hbase plugin
// uses); the client test keeps this small helper so that it checks the rig's WebHDFS on its own.
//
// Thread-safety: free functions; each request uses its own curl handle.
#ifndef LIFEBOAT_PLUGINS_HBASE_TESTS_WEBHDFS_CURL_H_
#define LIFEBOAT_PLUGINS_HBASE_TESTS_WEBHDFS_CURL_H_

#include <string>
#include <vector>

namespace lifeboat::hbase::testing {

struct HttpReply {
  long code = 0;
  std::string body;
  std::string location;
  std::string error;  // libcurl's, when the request did not complete
};

class WebHdfs {
 public:
  // `base`: "http://host:port/webhdfs/v1"; `user`: user.name.
  WebHdfs(std::string base, std::string user) : base_(std::move(base)), user_(std::move(user)) {}

  // GETFILESTATUS: the HTTP code (200 exists, 404 missing) and the body.
  HttpReply Status(const std::string& path) const;
  // LISTSTATUS: the names in directory `path`; empty when it does not exist.
  std::vector<std::string> List(const std::string& path) const;
  // OPEN (following the DataNode redirect): the whole file; reply.code 200 when read.
  HttpReply Read(const std::string& path) const;
  // CREATE in two steps (NameNode, then the DataNode it names); true when stored (201).
  bool Write(const std::string& path, const std::string& data, std::string* error) const;
  // MKDIRS, RENAME, DELETE; true when the answer is 200 with "true".
  bool Mkdirs(const std::string& path) const;
  bool Rename(const std::string& from, const std::string& to) const;
  bool Delete(const std::string& path, bool recursive) const;

 private:
  std::string Url(const std::string& path, const std::string& op) const;
  std::string base_;
  std::string user_;
};

}  // namespace lifeboat::hbase::testing

#endif  // LIFEBOAT_PLUGINS_HBASE_TESTS_WEBHDFS_CURL_H_
