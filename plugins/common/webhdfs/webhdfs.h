// A small WebHDFS client over libcurl, written from the WebHDFS REST API documentation:
// metadata calls go to the NameNode; CREATE and OPEN are two steps (the NameNode answers 307
// with a DataNode's URL, which takes or gives the data). Errors arrive as
// {"RemoteException": {"exception", "javaClassName", "message"}} and become Status values
// whose code says what the engine should do (see StatusFromResponse).
//
// High availability: the client knows every NameNode HTTP address of the cluster. A request
// goes to the NameNode that last answered as active; when it cannot be reached or answers
// StandbyException, the others are tried in order and the one that serves becomes current.
// Without security, the user is passed as `user.name` (simple authentication).
//
// Thread-safety: every method may be called from several threads at once; each request uses
// its own libcurl handle, and the current NameNode is an atomic index.
#ifndef LIFEBOAT_PLUGINS_COMMON_WEBHDFS_WEBHDFS_H_
#define LIFEBOAT_PLUGINS_COMMON_WEBHDFS_WEBHDFS_H_

#include <lifeboat/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::hdfs {

// One item as WebHDFS's FileStatus describes it.
struct FileStatus {
  std::string path_suffix;  // the name within the listed directory ("" for GETFILESTATUS)
  bool is_dir = false;
  bool is_symlink = false;
  uint64_t length = 0;
  int64_t modification_ms = 0;
  int64_t access_ms = 0;
  std::string owner;
  std::string group;
  uint32_t permission = 0;  // octal digits as bits, e.g. 0755 (sticky bit included)
  uint32_t replication = 0;
  uint64_t block_size = 0;
  bool snapshot_enabled = false;  // the directory is snapshottable
  bool acl_bit = false;           // the item has an ACL beyond its permission bits
  std::string symlink_target;
  uint64_t file_id = 0;  // the inode id: kept by renames, shared by an item and its snapshots
};

// A file open for write (under construction), as the NameNode's fsck reports it.
struct OpenFile {
  std::string path;     // absolute
  uint64_t length = 0;  // the length the NameNode knows: completed blocks and flushed lengths
};

// The files open for write in a report of the NameNode's /fsck servlet asked with
// `openforwrite` (lines "<path> <length> bytes, replicated: ... block(s), OPENFORWRITE: ").
// INTERNAL when the report did not finish ("... is HEALTHY" or "... is CORRUPT" last),
// NOT_FOUND when it says the path does not exist; the report's last line is in the message.
StatusOr<std::vector<OpenFile>> ParseFsckOpenFiles(std::string_view report);

// The value of `key` in the answer of a NameNode's /conf servlet (XML); NOT_FOUND when absent.
StatusOr<std::string> ParseConfValue(std::string_view xml, const std::string& key);

// A snapshot of a snapshottable directory (GETSNAPSHOTLIST).
struct SnapshotInfo {
  std::string name;
  std::string full_path;
  int64_t id = 0;
  int64_t modification_ms = 0;  // the snapshot root's mtime: when the snapshot was taken
  bool deleted = false;         // deletion pending (ordered snapshot deletion)
};

// One change between two snapshots of a directory. Paths are relative to the snapshottable
// directory. As HDFS reports them: a created directory stands for its whole subtree (its
// children are not listed); an overwritten file (CREATE with overwrite) is a DELETE and a
// CREATE of the same path; a MODIFY of an item that was also renamed names it by its path
// in the EARLIER snapshot (translate it through the renames). GETSNAPSHOTDIFFLISTING also
// lists a rename's target as a create (isReference); the client drops that duplicate.
struct SnapshotDiffEntry {
  enum Type { kCreate, kModify, kDelete, kRename };
  Type type = kModify;
  std::string source;  // the path (for a rename: the old one)
  std::string target;  // a rename's new path; "" otherwise
};

// What one NameNode says about itself (from its /jmx servlet).
struct NameNodeState {
  std::string address;  // as configured
  bool reachable = false;
  std::string state;    // "active", "standby", "observer", "initializing"
  std::string version;  // e.g. "3.5.0"
  bool safe_mode = false;
  std::string safe_mode_detail;
  std::string error;  // why it was not reachable or not understood
};

// The Status of a WebHDFS answer: OK for 2xx; otherwise the code the RemoteException (or the
// HTTP code, when the body is not one) maps to, with a message naming `what` (operation and
// path), the user, the exception and the server's message:
//   FileNotFoundException                          NOT_FOUND
//   AccessControlException, SecurityException     PERMISSION_DENIED
//   FileAlreadyExistsException, AlreadyBeingCreated ALREADY_EXISTS
//   SafeModeException, RetriableException, StandbyException, ConnectException  UNAVAILABLE
//   SnapshotException, ParentNotDirectory, PathIsNotEmptyDirectory, quota    FAILED_PRECONDITION
//   IllegalArgumentException, InvalidPathException, UnsupportedOperation      INVALID_ARGUMENT
//   HTTP 401 (the cluster wants Kerberos/SPNEGO)   UNAUTHENTICATED
//   other 5xx                                      UNAVAILABLE;  other             INTERNAL
// `exception_out`, when given, receives the exception's short name ("" when none).
Status StatusFromResponse(long http_code, std::string_view body, const std::string& what,
                          const std::string& user, std::string* exception_out = nullptr);

// Parses one FileStatus JSON object.
StatusOr<FileStatus> ParseFileStatus(const nlohmann::json& j);

class WebHdfsClient {
 public:
  struct Options {
    std::vector<std::string> namenodes;  // base URLs "http://host:port", at least one
    std::string user;                    // user.name
    long connect_timeout_seconds = 10;
    long timeout_seconds = 60;  // whole request, metadata calls (data calls: no total limit)
  };
  struct CreateOptions {
    bool overwrite = false;
    std::optional<uint32_t> permission;
    std::optional<uint64_t> block_size;
    std::optional<uint32_t> replication;
  };

  explicit WebHdfsClient(Options options);

  const std::string& user() const { return options_.user; }
  // The NameNode requests go to first (the last one that served).
  std::string CurrentNameNode() const;

  // GETFILESTATUS. NOT_FOUND when `path` does not exist.
  StatusOr<FileStatus> GetFileStatus(const std::string& path);
  // Every entry of directory `path`, paged with LISTSTATUS_BATCH (in name order).
  StatusOr<std::vector<FileStatus>> ListStatus(const std::string& path);
  // MKDIRS (parents included). OK when it exists already.
  Status Mkdirs(const std::string& path, std::optional<uint32_t> permission = std::nullopt);
  // CREATE with `data` as the whole content (NameNode, then the DataNode it names).
  Status Create(const std::string& path, std::string_view data, const CreateOptions& options);
  // OPEN: the whole content of a (small) file.
  StatusOr<std::string> ReadAll(const std::string& path);
  // OPEN of `length` bytes from `offset` (fewer at the end of the file).
  StatusOr<std::string> Read(const std::string& path, uint64_t offset, uint64_t length);
  // APPEND `data` to an existing file (NameNode, then the DataNode it names).
  Status Append(const std::string& path, std::string_view data);
  // SETTIMES; -1 leaves a time unchanged.
  Status SetTimes(const std::string& path, int64_t modification_ms, int64_t access_ms);
  // SETOWNER; an empty name leaves that part unchanged (changing the owner needs the
  // superuser).
  Status SetOwner(const std::string& path, const std::string& owner, const std::string& group);
  // GETFILECHECKSUM: {algorithm, bytes (hex), length}. WebHDFS always answers the
  // MD5-of-MD5-of-CRC32C form, which depends on the block size and bytes per checksum.
  struct FileChecksum {
    std::string algorithm;
    std::string bytes;
    uint64_t length = 0;
  };
  StatusOr<FileChecksum> GetFileChecksum(const std::string& path);
  // DELETE; true when something was deleted, false when `path` did not exist.
  StatusOr<bool> Delete(const std::string& path, bool recursive);
  // RENAME; FAILED_PRECONDITION when HDFS refuses (answer false): the source is missing or
  // the destination exists.
  Status Rename(const std::string& from, const std::string& to);
  Status SetPermission(const std::string& path, uint32_t permission);

  // ALLOWSNAPSHOT (superuser only: PERMISSION_DENIED otherwise).
  Status AllowSnapshot(const std::string& path);
  // CREATESNAPSHOT; returns the snapshot's path. FAILED_PRECONDITION when the directory is
  // not snapshottable or a snapshot of that name exists (exception "SnapshotException").
  StatusOr<std::string> CreateSnapshot(const std::string& path, const std::string& name);
  // DELETESNAPSHOT; false when no snapshot of that name exists (also when the directory is
  // not snapshottable).
  StatusOr<bool> DeleteSnapshot(const std::string& path, const std::string& name);
  // The changes of directory `path` from snapshot `from` to snapshot `to` ("" = the live
  // directory). GETSNAPSHOTDIFFLISTING, paged (Hadoop 3.4+: large diffs do not have to fit in
  // one answer); GETSNAPSHOTDIFF where the server lacks it. Order: as the server lists them.
  StatusOr<std::vector<SnapshotDiffEntry>> GetSnapshotDiff(const std::string& path,
                                                           const std::string& from,
                                                           const std::string& to);
  // GETSNAPSHOTLIST (Hadoop 3.4+).
  StatusOr<std::vector<SnapshotInfo>> GetSnapshotList(const std::string& path);

  // SETXATTR (create or replace) and GETXATTRS of one attribute; the value is text.
  Status SetXAttr(const std::string& path, const std::string& name, const std::string& value);
  // NOT_FOUND when the item has no such attribute.
  StatusOr<std::string> GetXAttr(const std::string& path, const std::string& name);
  Status RemoveXAttr(const std::string& path, const std::string& name);
  // Every extended attribute of `path` (one GETXATTRS), name -> value as text (the quotes
  // WebHDFS puts around a text value removed). For Lifeboat's own text attributes; binary
  // values are what GetXAttrsEncoded is for.
  StatusOr<std::map<std::string, std::string>> GetXAttrsText(const std::string& path);

  // State, version and safe mode of every configured NameNode, each asked directly.
  std::vector<NameNodeState> ProbeNameNodes();

  // --- NameNode servlets other than WebHDFS (fsck.cc) ------------------------------------
  // The files open for write under `path`, from the active NameNode's /fsck servlet with
  // -openforwrite: one request, the NameNode walks the tree (no WebHDFS operation lists open
  // files). UNAVAILABLE when no NameNode answers; the report's own error otherwise.
  StatusOr<std::vector<OpenFile>> ListOpenFiles(const std::string& path);
  // A setting of the NameNode that serves requests (its /conf servlet), e.g.
  // "dfs.namenode.snapshot.capture.openfiles". NOT_FOUND when it does not say;
  // PERMISSION_DENIED when the servlet is for administrators only.
  StatusOr<std::string> NameNodeConf(const std::string& key);

  // --- The data path: streamed reads and writes, ACLs, every xattr ----------------------
  // Data never sits whole in memory: a read hands the body to `sink` as it arrives, a write
  // pulls its body from `source` (HTTP chunked transfer, as Hadoop's own WebHdfsFileSystem
  // sends it), so a write cut short by its source still ends as a well-formed request and
  // leaves a closed file holding what was sent.

  // Receives the next piece of a read; returns false to stop the read (the call then
  // answers CANCELLED).
  using Sink = std::function<bool(std::string_view piece)>;
  // Fills up to `max` bytes of `buffer` with the next piece of a write; returns how many,
  // 0 at the end of the data, or kAbortUpload to abort the request (the call then answers
  // the error `source` recorded, or ABORTED).
  using Source = std::function<size_t(char* buffer, size_t max)>;
  static constexpr size_t kAbortUpload = static_cast<size_t>(-1);

  // OPEN of `length` bytes from `offset` (0 = to the end), streamed into `sink`.
  Status ReadStream(const std::string& path, uint64_t offset, uint64_t length, const Sink& sink);
  // CREATE (two steps) with the body pulled from `source`.
  Status CreateStream(const std::string& path, const CreateOptions& options, const Source& source);
  // APPEND to an existing file with the body pulled from `source`.
  Status AppendStream(const std::string& path, const Source& source);

  // GETACLSTATUS: the entries beyond the permission bits, as HDFS lists them
  // ("user:alice:rwx", "default:group::r-x", ...). An item without an ACL has none.
  StatusOr<std::vector<std::string>> GetAclEntries(const std::string& path);
  // SETACL with `entries` as the full ACL spec (the base entries user::, group::, other::
  // included); REMOVEACL when `entries` is empty.
  Status SetAcl(const std::string& path, const std::vector<std::string>& entries);
  // Every extended attribute of `path`, name -> value hex-encoded as WebHDFS writes it
  // ("0x..."), so that binary values survive; SetXAttrEncoded takes such a value back.
  StatusOr<std::map<std::string, std::string>> GetXAttrsEncoded(const std::string& path);
  Status SetXAttrEncoded(const std::string& path, const std::string& name,
                         const std::string& encoded_value);
  // TRUNCATE to `new_length`; true when done at once, false when block recovery runs
  // (the file accepts appends once it has finished).
  StatusOr<bool> Truncate(const std::string& path, uint64_t new_length);
  // Any NameNode operation answering JSON (for tests and rarely used calls): `params`
  // already escaped, each starting with '&'.
  StatusOr<nlohmann::json> RawCall(const std::string& method, const std::string& path,
                                   const std::string& op, const std::string& params);

 private:
  struct Reply {
    long code = 0;
    std::string body;
    std::string location;
    std::string error;  // transport error, "" when an HTTP answer came
  };
  // A DataNode request streaming its body in and out (see Sink and Source).
  // The two-step upload of CREATE and APPEND: the NameNode's redirect, then `source`
  // streamed to the DataNode it names.
  Status UploadStream(const std::string& method, const std::string& op, const std::string& path,
                      const std::string& params, const Source& source);
  Reply PerformStream(const std::string& method, const std::string& url, const Sink* sink,
                      const Source* source, bool* stopped);
  // The DataNode URL the NameNode redirects `op` on `path` to; "" with `reply` set when the
  // NameNode answered by itself (e.g. OPEN of an empty file).
  StatusOr<std::string> Redirect(const std::string& method, const std::string& path,
                                 const std::string& op, const std::string& params, Reply* reply);
  // One HTTP request; `upload` is sent as the body when given.
  Reply Perform(const std::string& method, const std::string& url, const std::string* upload,
                bool data_call);
  // A NameNode operation with failover: `method` on `path` with `op` and `params` (already
  // escaped). Returns the first answer that is not a transport error or StandbyException.
  Reply NameNodeCall(const std::string& method, const std::string& path, const std::string& op,
                     const std::string& params, std::string* served_by);
  // NameNodeCall plus StatusFromResponse and JSON parsing of the body.
  StatusOr<nlohmann::json> JsonCall(const std::string& method, const std::string& path,
                                    const std::string& op, const std::string& params,
                                    std::string* exception = nullptr);
  std::string What(const std::string& op, const std::string& path) const;

  Options options_;
  std::atomic<size_t> current_{0};
};

// How many NameNode operations this process sent, by op ("LISTSTATUS_BATCH" -> n), counted
// once per call whichever NameNode answered: every client adds here. For the tests and
// benchmarks that measure what a step asks of the NameNode (issue 13: an incremental's plan
// must not list the whole data set).
std::map<std::string, uint64_t> NameNodeOpCounts();

// Percent-encodes everything but unreserved characters and, when `keep_slash`, '/'.
std::string UrlEscape(std::string_view s, bool keep_slash);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_COMMON_WEBHDFS_WEBHDFS_H_
