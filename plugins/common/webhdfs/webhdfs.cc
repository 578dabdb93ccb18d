#include "webhdfs.h"

#include <curl/curl.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

namespace lifeboat::hdfs {
namespace {

constexpr char kPrefix[] = "/webhdfs/v1";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// The short name of a Java exception: "org.apache.hadoop.X" -> "X".
std::string ShortName(std::string name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

bool IsOneOf(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (s == n) return true;
  }
  return false;
}

uint32_t ParseOctal(const std::string& s) {
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') break;
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

std::string Octal(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%o", v);
  return buf;
}

std::mutex op_counts_mu;
std::map<std::string, uint64_t>& OpCounts() {
  static auto* counts = new std::map<std::string, uint64_t>();
  return *counts;
}

void CountOp(const std::string& op) {
  std::lock_guard<std::mutex> lock(op_counts_mu);
  ++OpCounts()[op];
}

}  // namespace

std::map<std::string, uint64_t> NameNodeOpCounts() {
  std::lock_guard<std::mutex> lock(op_counts_mu);
  return OpCounts();
}

std::string UrlEscape(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Status StatusFromResponse(long http_code, std::string_view body, const std::string& what,
                          const std::string& user, std::string* exception_out) {
  if (exception_out != nullptr) exception_out->clear();
  if (http_code >= 200 && http_code < 300) return OkStatus();
  std::string exception;
  std::string message;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("RemoteException") && j["RemoteException"].is_object()) {
    const nlohmann::json& re = j["RemoteException"];
    exception = ShortName(re.value("exception", re.value("javaClassName", std::string())));
    message = re.value("message", std::string());
  }
  if (exception_out != nullptr) *exception_out = exception;
  const std::string as_user = " (as user '" + user + "')";
  if (exception.empty()) {
    std::string text(body.substr(0, 300));
    if (http_code == 401) {
      return Status(Code::kUnauthenticated,
                    what +
                        ": the cluster asks for authentication (HTTP 401): it runs with "
                        "Kerberos/SPNEGO, which this plugin does not support yet",
                    what);
    }
    if (http_code >= 500) {
      return UnavailableError(what + ": HTTP " + std::to_string(http_code) + " " + text, what);
    }
    return InternalError(what + as_user + ": unexpected HTTP " + std::to_string(http_code) +
                             " without a RemoteException: " + text +
                             "; is this a WebHDFS endpoint (dfs.webhdfs.enabled)?",
                         what);
  }
  const std::string detail = what + as_user + ": " + exception + ": " + message;
  if (exception == "FileNotFoundException") return NotFoundError(detail, what);
  if (IsOneOf(exception,
              {"AccessControlException", "SecurityException", "AuthorizationException"})) {
    return PermissionDeniedError(
        detail + "; grant the user access to the path, or configure a user that has it", what);
  }
  if (IsOneOf(exception, {"FileAlreadyExistsException", "AlreadyBeingCreatedException"})) {
    return AlreadyExistsError(detail, what);
  }
  if (IsOneOf(exception, {"SafeModeException", "RetriableException", "StandbyException",
                          "ObserverRetryOnActiveException", "ConnectException"})) {
    return UnavailableError(detail + "; retry later", what);
  }
  if (IsOneOf(exception, {"SnapshotException", "ParentNotDirectoryException",
                          "PathIsNotEmptyDirectoryException", "QuotaExceededException",
                          "NSQuotaExceededException", "DSQuotaExceededException",
                          "PathIsNotDirectoryException", "SnapshotAccessControlException"})) {
    return FailedPreconditionError(detail, what);
  }
  if (IsOneOf(exception,
              {"IllegalArgumentException", "InvalidPathException", "UnsupportedOperationException",
               "HadoopIllegalArgumentException", "NumberFormatException"})) {
    return InvalidArgumentError(detail, what);
  }
  if (http_code >= 500) return UnavailableError(detail, what);
  return InternalError(detail, what);
}

StatusOr<FileStatus> ParseFileStatus(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("type")) {
    return InternalError("WebHDFS answered a FileStatus without 'type': " + j.dump());
  }
  FileStatus st;
  st.path_suffix = j.value("pathSuffix", std::string());
  std::string type = j.value("type", std::string());
  st.is_dir = type == "DIRECTORY";
  st.is_symlink = type == "SYMLINK";
  st.length = j.value("length", uint64_t{0});
  st.modification_ms = j.value("modificationTime", int64_t{0});
  st.access_ms = j.value("accessTime", int64_t{0});
  st.owner = j.value("owner", std::string());
  st.group = j.value("group", std::string());
  st.permission = ParseOctal(j.value("permission", std::string("0")));
  st.replication = j.value("replication", uint32_t{0});
  st.block_size = j.value("blockSize", uint64_t{0});
  st.snapshot_enabled = j.value("snapshotEnabled", false);
  st.acl_bit = j.value("aclBit", false);
  st.symlink_target = j.value("symlink", std::string());
  st.file_id = j.value("fileId", uint64_t{0});
  return st;
}

WebHdfsClient::WebHdfsClient(Options options) : options_(std::move(options)) { GlobalInit(); }

std::string WebHdfsClient::CurrentNameNode() const {
  if (options_.namenodes.empty()) return "";
  return options_.namenodes[current_.load() % options_.namenodes.size()];
}

std::string WebHdfsClient::What(const std::string& op, const std::string& path) const {
  return op + " " + path;
}

WebHdfsClient::Reply WebHdfsClient::Perform(const std::string& method, const std::string& url,
                                            const std::string* upload, bool data_call) {
  Reply r;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    r.error = "curl_easy_init failed";
    return r;
  }
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_seconds);
  if (!data_call) curl_easy_setopt(c, CURLOPT_TIMEOUT, options_.timeout_seconds);
  struct curl_slist* headers = nullptr;
  if (upload != nullptr) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, upload->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(upload->size()));
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    // No "Expect: 100-continue" round trip: the DataNode takes the data at once.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }
  CURLcode rc = curl_easy_perform(c);
  if (headers != nullptr) curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
  char* location = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr) {
    r.location = location;
  }
  return r;
}

WebHdfsClient::Reply WebHdfsClient::NameNodeCall(const std::string& method, const std::string& path,
                                                 const std::string& op, const std::string& params,
                                                 std::string* served_by) {
  CountOp(op);
  const size_t n = options_.namenodes.size();
  const size_t first = current_.load();
  std::string errors;
  Reply last;
  for (size_t i = 0; i < n; ++i) {
    size_t idx = (first + i) % n;
    const std::string& nn = options_.namenodes[idx];
    std::string url = nn + kPrefix + UrlEscape(path, /*keep_slash=*/true) + "?op=" + op +
                      "&user.name=" + UrlEscape(options_.user, false) + params;
    Reply r = Perform(method, url, nullptr, /*data_call=*/false);
    if (!r.error.empty()) {
      errors += (errors.empty() ? "" : "; ") + nn + ": " + r.error;
      last = r;
      continue;
    }
    std::string exception;
    (void)StatusFromResponse(r.code, r.body, "", options_.user, &exception);
    if (exception == "StandbyException") {
      errors += (errors.empty() ? "" : "; ") + nn + ": standby";
      last = r;
      continue;
    }
    current_.store(idx);
    if (served_by != nullptr) *served_by = nn;
    return r;
  }
  if (last.error.empty())
    last.error = "no NameNode is active (" + errors + ")";
  else
    last.error = "no NameNode answered (" + errors + ")";
  return last;
}

StatusOr<nlohmann::json> WebHdfsClient::JsonCall(const std::string& method, const std::string& path,
                                                 const std::string& op, const std::string& params,
                                                 std::string* exception) {
  Reply r = NameNodeCall(method, path, op, params, nullptr);
  if (!r.error.empty()) {
    return UnavailableError(What(op, path) + ": " + r.error +
                                "; check that the NameNodes run and that this host reaches "
                                "their HTTP ports",
                            path);
  }
  LIFEBOAT_RETURN_IF_ERROR(
      StatusFromResponse(r.code, r.body, What(op, path), options_.user, exception));
  if (r.body.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    return InternalError(What(op, path) + ": the answer is not JSON: " + r.body.substr(0, 200),
                         path);
  }
  return j;
}

StatusOr<FileStatus> WebHdfsClient::GetFileStatus(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "GETFILESTATUS", ""));
  if (!j.contains("FileStatus")) return InternalError("GETFILESTATUS " + path + ": " + j.dump());
  return ParseFileStatus(j["FileStatus"]);
}

StatusOr<std::vector<FileStatus>> WebHdfsClient::ListStatus(const std::string& path) {
  std::vector<FileStatus> out;
  std::string start_after;
  for (;;) {
    // Lower case: Hadoop 3.5's NameNode (Jersey 2) matches parameter names exactly and
    // ignores the documented spelling "startAfter"; every version takes "startafter".
    std::string params =
        start_after.empty() ? "" : "&startafter=" + UrlEscape(start_after, /*keep_slash=*/false);
    LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "LISTSTATUS_BATCH", params));
    const nlohmann::json& listing = j["DirectoryListing"];
    const nlohmann::json& statuses = listing["partialListing"]["FileStatuses"]["FileStatus"];
    if (!statuses.is_array()) {
      return InternalError("LISTSTATUS_BATCH " + path + ": unexpected answer " +
                           j.dump().substr(0, 300));
    }
    for (const nlohmann::json& s : statuses) {
      LIFEBOAT_ASSIGN_OR_RETURN(FileStatus st, ParseFileStatus(s));
      if (!start_after.empty() && st.path_suffix <= start_after) {
        // A server that ignored the position would have us list the same page forever.
        return InternalError("LISTSTATUS_BATCH " + path + ": the page after '" + start_after +
                                 "' starts with '" + st.path_suffix +
                                 "': the NameNode ignored startafter",
                             path);
      }
      out.push_back(std::move(st));
    }
    if (listing.value("remainingEntries", 0) == 0 || statuses.empty()) break;
    start_after = out.back().path_suffix;
  }
  return out;
}

Status WebHdfsClient::Mkdirs(const std::string& path, std::optional<uint32_t> permission) {
  std::string params = permission ? "&permission=" + Octal(*permission) : "";
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("PUT", path, "MKDIRS", params));
  if (!j.value("boolean", false)) {
    return FailedPreconditionError(What("MKDIRS", path) + " answered false", path);
  }
  return OkStatus();
}

Status WebHdfsClient::Create(const std::string& path, std::string_view data,
                             const CreateOptions& options) {
  std::string params = std::string("&overwrite=") + (options.overwrite ? "true" : "false");
  if (options.permission) params += "&permission=" + Octal(*options.permission);
  if (options.block_size) params += "&blocksize=" + std::to_string(*options.block_size);
  if (options.replication) params += "&replication=" + std::to_string(*options.replication);
  Reply r = NameNodeCall("PUT", path, "CREATE", params, nullptr);
  if (!r.error.empty()) return UnavailableError(What("CREATE", path) + ": " + r.error, path);
  if (r.code != 307) {
    LIFEBOAT_RETURN_IF_ERROR(
        StatusFromResponse(r.code, r.body, What("CREATE", path), options_.user));
    return InternalError(What("CREATE", path) + ": expected a redirect to a DataNode, got HTTP " +
                             std::to_string(r.code),
                         path);
  }
  std::string content(data);
  Reply put = Perform("PUT", r.location, &content, /*data_call=*/true);
  if (!put.error.empty()) {
    return UnavailableError(What("CREATE", path) + ": DataNode " + r.location + ": " + put.error,
                            path);
  }
  return StatusFromResponse(put.code, put.body, What("CREATE", path), options_.user);
}

StatusOr<std::string> WebHdfsClient::ReadAll(const std::string& path) {
  Reply r = NameNodeCall("GET", path, "OPEN", "", nullptr);
  if (!r.error.empty()) return UnavailableError(What("OPEN", path) + ": " + r.error, path);
  if (r.code != 307) {
    LIFEBOAT_RETURN_IF_ERROR(StatusFromResponse(r.code, r.body, What("OPEN", path), options_.user));
    return r.body;  // 200 straight from the NameNode (an empty file needs no DataNode)
  }
  Reply data = Perform("GET", r.location, nullptr, /*data_call=*/true);
  if (!data.error.empty()) {
    return UnavailableError(What("OPEN", path) + ": DataNode: " + data.error, path);
  }
  LIFEBOAT_RETURN_IF_ERROR(
      StatusFromResponse(data.code, data.body, What("OPEN", path), options_.user));
  return std::move(data.body);
}

StatusOr<std::string> WebHdfsClient::Read(const std::string& path, uint64_t offset,
                                          uint64_t length) {
  std::string params = "&offset=" + std::to_string(offset) + "&length=" + std::to_string(length);
  Reply r = NameNodeCall("GET", path, "OPEN", params, nullptr);
  if (!r.error.empty()) return UnavailableError(What("OPEN", path) + ": " + r.error, path);
  if (r.code != 307) {
    LIFEBOAT_RETURN_IF_ERROR(StatusFromResponse(r.code, r.body, What("OPEN", path), options_.user));
    return r.body;
  }
  Reply data = Perform("GET", r.location, nullptr, /*data_call=*/true);
  if (!data.error.empty()) {
    return UnavailableError(What("OPEN", path) + ": DataNode: " + data.error, path);
  }
  LIFEBOAT_RETURN_IF_ERROR(
      StatusFromResponse(data.code, data.body, What("OPEN", path), options_.user));
  return std::move(data.body);
}

Status WebHdfsClient::Append(const std::string& path, std::string_view data) {
  Reply r = NameNodeCall("POST", path, "APPEND", "", nullptr);
  if (!r.error.empty()) return UnavailableError(What("APPEND", path) + ": " + r.error, path);
  if (r.code != 307) {
    LIFEBOAT_RETURN_IF_ERROR(
        StatusFromResponse(r.code, r.body, What("APPEND", path), options_.user));
    return InternalError(What("APPEND", path) + ": expected a redirect to a DataNode, got HTTP " +
                             std::to_string(r.code),
                         path);
  }
  std::string content(data);
  Reply post = Perform("POST", r.location, &content, /*data_call=*/true);
  if (!post.error.empty()) {
    return UnavailableError(What("APPEND", path) + ": DataNode: " + post.error, path);
  }
  return StatusFromResponse(post.code, post.body, What("APPEND", path), options_.user);
}

Status WebHdfsClient::SetTimes(const std::string& path, int64_t modification_ms,
                               int64_t access_ms) {
  return JsonCall("PUT", path, "SETTIMES",
                  "&modificationtime=" + std::to_string(modification_ms) +
                      "&accesstime=" + std::to_string(access_ms))
      .status();
}

Status WebHdfsClient::SetOwner(const std::string& path, const std::string& owner,
                               const std::string& group) {
  std::string params;
  if (!owner.empty()) params += "&owner=" + UrlEscape(owner, false);
  if (!group.empty()) params += "&group=" + UrlEscape(group, false);
  return JsonCall("PUT", path, "SETOWNER", params).status();
}

StatusOr<WebHdfsClient::FileChecksum> WebHdfsClient::GetFileChecksum(const std::string& path) {
  // The NameNode redirects to a DataNode, which computes it.
  Reply r = NameNodeCall("GET", path, "GETFILECHECKSUM", "", nullptr);
  if (!r.error.empty()) {
    return UnavailableError(What("GETFILECHECKSUM", path) + ": " + r.error, path);
  }
  std::string body = r.body;
  long code = r.code;
  if (r.code == 307) {
    Reply dn = Perform("GET", r.location, nullptr, /*data_call=*/false);
    if (!dn.error.empty()) {
      return UnavailableError(What("GETFILECHECKSUM", path) + ": DataNode: " + dn.error, path);
    }
    body = dn.body;
    code = dn.code;
  }
  LIFEBOAT_RETURN_IF_ERROR(
      StatusFromResponse(code, body, What("GETFILECHECKSUM", path), options_.user));
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j["FileChecksum"].is_object()) {
    return InternalError(
        What("GETFILECHECKSUM", path) + ": unexpected answer " + body.substr(0, 200), path);
  }
  FileChecksum sum;
  sum.algorithm = j["FileChecksum"].value("algorithm", std::string());
  sum.bytes = j["FileChecksum"].value("bytes", std::string());
  sum.length = j["FileChecksum"].value("length", uint64_t{0});
  return sum;
}

StatusOr<bool> WebHdfsClient::Delete(const std::string& path, bool recursive) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j,
                            JsonCall("DELETE", path, "DELETE",
                                     std::string("&recursive=") + (recursive ? "true" : "false")));
  return j.value("boolean", false);
}

Status WebHdfsClient::Rename(const std::string& from, const std::string& to) {
  LIFEBOAT_ASSIGN_OR_RETURN(
      nlohmann::json j,
      JsonCall("PUT", from, "RENAME", "&destination=" + UrlEscape(to, /*keep_slash=*/true)));
  if (!j.value("boolean", false)) {
    return FailedPreconditionError(What("RENAME", from) + " to " + to +
                                       " answered false: the source is missing or the "
                                       "destination exists",
                                   from);
  }
  return OkStatus();
}

Status WebHdfsClient::SetPermission(const std::string& path, uint32_t permission) {
  return JsonCall("PUT", path, "SETPERMISSION", "&permission=" + Octal(permission)).status();
}

Status WebHdfsClient::AllowSnapshot(const std::string& path) {
  return JsonCall("PUT", path, "ALLOWSNAPSHOT", "").status();
}

StatusOr<std::string> WebHdfsClient::CreateSnapshot(const std::string& path,
                                                    const std::string& name) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("PUT", path, "CREATESNAPSHOT",
                                                       "&snapshotname=" + UrlEscape(name, false)));
  return j.value("Path", path + "/.snapshot/" + name);
}

StatusOr<bool> WebHdfsClient::DeleteSnapshot(const std::string& path, const std::string& name) {
  std::string exception;
  StatusOr<nlohmann::json> j = JsonCall("DELETE", path, "DELETESNAPSHOT",
                                        "&snapshotname=" + UrlEscape(name, false), &exception);
  if (j.ok()) return true;
  // "Cannot delete snapshot NAME from path PATH: the snapshot does not exist."
  // "...: the snapshot does not exist." / "Directory is not a snapshottable directory: P"
  if (exception == "SnapshotException" &&
      (j.status().message().find("does not exist") != std::string::npos ||
       j.status().message().find("not a snapshottable directory") != std::string::npos)) {
    return false;
  }
  return j.status();
}

StatusOr<std::vector<SnapshotDiffEntry>> WebHdfsClient::GetSnapshotDiff(const std::string& path,
                                                                        const std::string& from,
                                                                        const std::string& to) {
  std::vector<SnapshotDiffEntry> out;
  const std::string names =
      "&oldsnapshotname=" + UrlEscape(from, false) + "&snapshotname=" + UrlEscape(to, false);
  std::string start_path;
  int64_t index = -1;
  for (int page = 0;; ++page) {
    std::string params = names;
    if (page > 0) {
      params += "&snapshotdiffstartpath=" + UrlEscape(start_path, false) +
                "&snapshotdiffindex=" + std::to_string(index);
    }
    std::string exception;
    StatusOr<nlohmann::json> j =
        JsonCall("GET", path, "GETSNAPSHOTDIFFLISTING", params, &exception);
    if (!j.ok() && page == 0 && j.status().code() == Code::kInvalidArgument) {
      break;  // an older NameNode: no paged listing; one GETSNAPSHOTDIFF below
    }
    if (!j.ok()) return j.status();
    const nlohmann::json& listing = (*j)["SnapshotDiffReportListing"];
    if (!listing.is_object()) {
      return InternalError(
          "GETSNAPSHOTDIFFLISTING " + path + ": unexpected answer " + j->dump().substr(0, 300),
          path);
    }
    auto add = [&out](const nlohmann::json& list, SnapshotDiffEntry::Type type) {
      if (!list.is_array()) return;
      for (const nlohmann::json& e : list) {
        SnapshotDiffEntry entry;
        entry.type = type;
        entry.source = e.value("sourcePath", std::string());
        entry.target = e.value("targetPath", std::string());
        // A rename is listed among the deletes, with the new path as targetPath.
        if (type == SnapshotDiffEntry::kDelete && !entry.target.empty()) {
          entry.type = SnapshotDiffEntry::kRename;
        }
        out.push_back(std::move(entry));
      }
    };
    add(listing.value("deleteList", nlohmann::json()), SnapshotDiffEntry::kDelete);
    add(listing.value("createList", nlohmann::json()), SnapshotDiffEntry::kCreate);
    add(listing.value("modifyList", nlohmann::json()), SnapshotDiffEntry::kModify);
    std::string last_path = listing.value("lastPath", std::string());
    int64_t last_index = listing.value("lastIndex", int64_t{-1});
    if (last_path.empty() && last_index == -1) {
      // The listing reports a rename twice: in deleteList with its targetPath, and as a
      // create of the target (isReference). Keep the rename only, as GETSNAPSHOTDIFF does.
      std::set<std::string> rename_targets;
      for (const SnapshotDiffEntry& e : out) {
        if (e.type == SnapshotDiffEntry::kRename) rename_targets.insert(e.target);
      }
      std::erase_if(out, [&](const SnapshotDiffEntry& e) {
        return e.type == SnapshotDiffEntry::kCreate && rename_targets.count(e.source) > 0;
      });
      return out;
    }
    if (last_path == start_path && last_index == index && page > 0) {
      return InternalError("GETSNAPSHOTDIFFLISTING " + path + ": the listing does not advance (" +
                               last_path + ", " + std::to_string(last_index) + ")",
                           path);
    }
    start_path = last_path;
    index = last_index;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "GETSNAPSHOTDIFF", names));
  const nlohmann::json& list = j["SnapshotDiffReport"]["diffList"];
  if (!list.is_array()) {
    return InternalError(
        "GETSNAPSHOTDIFF " + path + ": unexpected answer " + j.dump().substr(0, 300), path);
  }
  for (const nlohmann::json& e : list) {
    SnapshotDiffEntry entry;
    std::string type = e.value("type", std::string());
    entry.type = type == "CREATE"   ? SnapshotDiffEntry::kCreate
                 : type == "DELETE" ? SnapshotDiffEntry::kDelete
                 : type == "RENAME" ? SnapshotDiffEntry::kRename
                                    : SnapshotDiffEntry::kModify;
    entry.source = e.value("sourcePath", std::string());
    entry.target = e.value("targetPath", std::string());
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<std::vector<SnapshotInfo>> WebHdfsClient::GetSnapshotList(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "GETSNAPSHOTLIST", ""));
  const nlohmann::json& list = j["SnapshotList"];
  std::vector<SnapshotInfo> out;
  if (!list.is_array()) return out;
  for (const nlohmann::json& s : list) {
    SnapshotInfo info;
    info.full_path = s.value("fullPath", std::string());
    info.id = s.value("snapshotID", int64_t{0});
    info.deleted = s.value("deletionStatus", std::string("ACTIVE")) != "ACTIVE";
    if (s.contains("dirStatus") && s["dirStatus"].is_object()) {
      info.name = s["dirStatus"].value("pathSuffix", std::string());
      info.modification_ms = s["dirStatus"].value("modificationTime", int64_t{0});
    }
    if (info.name.empty()) info.name = info.full_path.substr(info.full_path.rfind('/') + 1);
    out.push_back(std::move(info));
  }
  return out;
}

Status WebHdfsClient::SetXAttr(const std::string& path, const std::string& name,
                               const std::string& value) {
  // The flag must say whether the attribute exists: try CREATE, then REPLACE.
  std::string base = "&xattr.name=" + UrlEscape(name, false) +
                     "&xattr.value=" + UrlEscape("\"" + value + "\"", false);
  StatusOr<nlohmann::json> created = JsonCall("PUT", path, "SETXATTR", base + "&flag=CREATE");
  if (created.ok()) return OkStatus();
  return JsonCall("PUT", path, "SETXATTR", base + "&flag=REPLACE").status();
}

StatusOr<std::string> WebHdfsClient::GetXAttr(const std::string& path, const std::string& name) {
  std::string exception;
  StatusOr<nlohmann::json> j =
      JsonCall("GET", path, "GETXATTRS", "&xattr.name=" + UrlEscape(name, false) + "&encoding=text",
               &exception);
  if (!j.ok()) {
    // A missing attribute is "IOException: At least one of the attributes provided was not
    // found."
    if (j.status().message().find("not found") != std::string::npos &&
        j.status().code() != Code::kNotFound) {
      return NotFoundError(What("GETXATTRS", path) + ": no attribute " + name, path);
    }
    return j.status();
  }
  for (const nlohmann::json& x : (*j)["XAttrs"]) {
    if (x.value("name", std::string()) == name) {
      std::string v = x.value("value", std::string());
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return NotFoundError(What("GETXATTRS", path) + ": no attribute " + name, path);
}

StatusOr<std::map<std::string, std::string>> WebHdfsClient::GetXAttrsText(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "GETXATTRS", "&encoding=text"));
  std::map<std::string, std::string> out;
  const nlohmann::json& list = j["XAttrs"];
  if (list.is_array()) {
    for (const nlohmann::json& x : list) {
      std::string v = x.contains("value") && x["value"].is_string() ? x["value"].get<std::string>()
                                                                    : std::string();
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      out[x.value("name", std::string())] = v;
    }
  }
  return out;
}

Status WebHdfsClient::RemoveXAttr(const std::string& path, const std::string& name) {
  return JsonCall("PUT", path, "REMOVEXATTR", "&xattr.name=" + UrlEscape(name, false)).status();
}

// --- The data path ------------------------------------------------------------------------

namespace {

struct StreamContext {
  CURL* curl = nullptr;
  const WebHdfsClient::Sink* sink = nullptr;
  const WebHdfsClient::Source* source = nullptr;
  std::string* error_body = nullptr;
  bool stopped = false;
};

size_t StreamWrite(char* data, size_t size, size_t n, void* p) {
  auto* ctx = static_cast<StreamContext*>(p);
  long code = 0;
  curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &code);
  // An error's body is a RemoteException, never data for the sink.
  if (ctx->sink == nullptr || code < 200 || code >= 300) {
    if (ctx->error_body->size() < 64 * 1024) ctx->error_body->append(data, size * n);
    return size * n;
  }
  if (!(*ctx->sink)(std::string_view(data, size * n))) {
    ctx->stopped = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  return size * n;
}

size_t StreamRead(char* buffer, size_t size, size_t n, void* p) {
  auto* ctx = static_cast<StreamContext*>(p);
  size_t got = (*ctx->source)(buffer, size * n);
  if (got == WebHdfsClient::kAbortUpload) {
    ctx->stopped = true;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

}  // namespace

WebHdfsClient::Reply WebHdfsClient::PerformStream(const std::string& method, const std::string& url,
                                                  const Sink* sink, const Source* source,
                                                  bool* stopped) {
  Reply r;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    r.error = "curl_easy_init failed";
    return r;
  }
  CURL* c = curl.get();
  StreamContext ctx;
  ctx.curl = c;
  ctx.sink = sink;
  ctx.source = source;
  ctx.error_body = &r.body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_seconds);
  // No total limit for data, but a stalled transfer (under 1 byte/s for the metadata
  // timeout) is an error.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &StreamWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
  struct curl_slist* headers = nullptr;
  if (source != nullptr) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &StreamRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &ctx);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  CURLcode rc = curl_easy_perform(c);
  if (headers != nullptr) curl_slist_free_all(headers);
  if (stopped != nullptr) *stopped = ctx.stopped;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
  if (rc != CURLE_OK && !ctx.stopped) r.error = curl_easy_strerror(rc);
  return r;
}

StatusOr<std::string> WebHdfsClient::Redirect(const std::string& method, const std::string& path,
                                              const std::string& op, const std::string& params,
                                              Reply* reply) {
  *reply = NameNodeCall(method, path, op, params, nullptr);
  if (!reply->error.empty()) {
    return UnavailableError(What(op, path) + ": " + reply->error +
                                "; check that the NameNodes run and that this host reaches "
                                "their HTTP ports",
                            path);
  }
  if (reply->code == 307 && !reply->location.empty()) return reply->location;
  LIFEBOAT_RETURN_IF_ERROR(
      StatusFromResponse(reply->code, reply->body, What(op, path), options_.user));
  return std::string();
}

Status WebHdfsClient::ReadStream(const std::string& path, uint64_t offset, uint64_t length,
                                 const Sink& sink) {
  std::string params = "&offset=" + std::to_string(offset);
  if (length > 0) params += "&length=" + std::to_string(length);
  Reply nn;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string url, Redirect("GET", path, "OPEN", params, &nn));
  if (url.empty()) {
    // Answered by the NameNode itself (an empty file needs no DataNode).
    if (!nn.body.empty() && !sink(nn.body)) return CancelledError("read of " + path + " stopped");
    return OkStatus();
  }
  bool stopped = false;
  Reply r = PerformStream("GET", url, &sink, nullptr, &stopped);
  if (stopped) return CancelledError("read of " + path + " stopped", path);
  if (!r.error.empty()) {
    return UnavailableError(
        What("OPEN", path) + ": DataNode " + url.substr(0, url.find('?')) + ": " + r.error, path);
  }
  return StatusFromResponse(r.code, r.body, What("OPEN", path), options_.user);
}

Status WebHdfsClient::CreateStream(const std::string& path, const CreateOptions& options,
                                   const Source& source) {
  std::string params = std::string("&overwrite=") + (options.overwrite ? "true" : "false");
  if (options.permission) params += "&permission=" + Octal(*options.permission);
  if (options.block_size) params += "&blocksize=" + std::to_string(*options.block_size);
  if (options.replication) params += "&replication=" + std::to_string(*options.replication);
  return UploadStream("PUT", "CREATE", path, params, source);
}

Status WebHdfsClient::AppendStream(const std::string& path, const Source& source) {
  return UploadStream("POST", "APPEND", path, "", source);
}

Status WebHdfsClient::UploadStream(const std::string& method, const std::string& op,
                                   const std::string& path, const std::string& params,
                                   const Source& source) {
  Reply nn;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string url, Redirect(method, path, op, params, &nn));
  if (url.empty()) {
    return InternalError(
        What(op, path) + ": expected a redirect to a DataNode, got HTTP " + std::to_string(nn.code),
        path);
  }
  bool stopped = false;
  Reply r = PerformStream(method, url, nullptr, &source, &stopped);
  if (stopped) return AbortedError(What(op, path) + ": the data source failed", path);
  if (!r.error.empty()) return UnavailableError(What(op, path) + ": DataNode: " + r.error, path);
  return StatusFromResponse(r.code, r.body, What(op, path), options_.user);
}

StatusOr<std::vector<std::string>> WebHdfsClient::GetAclEntries(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "GETACLSTATUS", ""));
  std::vector<std::string> out;
  const nlohmann::json& entries = j["AclStatus"]["entries"];
  if (entries.is_array()) {
    for (const nlohmann::json& e : entries) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

Status WebHdfsClient::SetAcl(const std::string& path, const std::vector<std::string>& entries) {
  if (entries.empty()) return JsonCall("PUT", path, "REMOVEACL", "").status();
  std::string spec;
  for (const std::string& e : entries) spec += (spec.empty() ? "" : ",") + e;
  return JsonCall("PUT", path, "SETACL", "&aclspec=" + UrlEscape(spec, false)).status();
}

StatusOr<std::map<std::string, std::string>> WebHdfsClient::GetXAttrsEncoded(
    const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("GET", path, "GETXATTRS", "&encoding=hex"));
  std::map<std::string, std::string> out;
  const nlohmann::json& list = j["XAttrs"];
  if (list.is_array()) {
    for (const nlohmann::json& x : list) {
      std::string value = x.value("value", std::string());
      if (x["value"].is_null()) value = "0x";
      out[x.value("name", std::string())] = value;
    }
  }
  return out;
}

Status WebHdfsClient::SetXAttrEncoded(const std::string& path, const std::string& name,
                                      const std::string& encoded_value) {
  std::string base =
      "&xattr.name=" + UrlEscape(name, false) + "&xattr.value=" + UrlEscape(encoded_value, false);
  if (JsonCall("PUT", path, "SETXATTR", base + "&flag=CREATE").ok()) return OkStatus();
  return JsonCall("PUT", path, "SETXATTR", base + "&flag=REPLACE").status();
}

StatusOr<bool> WebHdfsClient::Truncate(const std::string& path, uint64_t new_length) {
  LIFEBOAT_ASSIGN_OR_RETURN(nlohmann::json j, JsonCall("POST", path, "TRUNCATE",
                                                       "&newlength=" + std::to_string(new_length)));
  return j.value("boolean", false);
}

StatusOr<nlohmann::json> WebHdfsClient::RawCall(const std::string& method, const std::string& path,
                                                const std::string& op, const std::string& params) {
  return JsonCall(method, path, op, params);
}

std::vector<NameNodeState> WebHdfsClient::ProbeNameNodes() {
  std::vector<NameNodeState> out;
  for (const std::string& nn : options_.namenodes) {
    NameNodeState s;
    s.address = nn;
    Reply status =
        Perform("GET", nn + "/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus", nullptr, false);
    if (!status.error.empty() || status.code != 200) {
      s.error = status.error.empty() ? "HTTP " + std::to_string(status.code) : status.error;
      out.push_back(s);
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(status.body, nullptr, false);
    if (j.is_discarded() || !j["beans"].is_array() || j["beans"].empty()) {
      s.error = "its /jmx has no NameNodeStatus: is this a NameNode's HTTP address?";
      out.push_back(s);
      continue;
    }
    s.reachable = true;
    s.state = j["beans"][0].value("State", std::string());
    Reply info =
        Perform("GET", nn + "/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo", nullptr, false);
    nlohmann::json ij = nlohmann::json::parse(info.body, nullptr, false);
    if (info.error.empty() && info.code == 200 && !ij.is_discarded() && ij["beans"].is_array() &&
        !ij["beans"].empty()) {
      const nlohmann::json& b = ij["beans"][0];
      s.version = b.value("SoftwareVersion", std::string());
      s.safe_mode_detail = b.value("Safemode", std::string());
      s.safe_mode = !s.safe_mode_detail.empty();
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace lifeboat::hdfs
