// Helpers of the localfs unit tests: temporary roots, a plugin driven through its C table
// by FakeHost, file builders, and a comparable picture of a directory tree.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_TESTS_LOCALFS_TEST_UTIL_H_
#define LIFEBOAT_PLUGINS_LOCALFS_TESTS_LOCALFS_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <lifeboat/abi.h>
#include <lifeboat/testing/fake_host.h>
#include <lifeboat/v1/plugin.pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::localfs::testing {

namespace v1 = ::lifeboat::v1;

// A directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Whether `path` carries the immutable attribute; std::nullopt when it cannot be told (no
// such item, or a file system without inode flags).
std::optional<bool> IsImmutable(const std::string& path);
// Clears the immutable attribute of `path` if it has it (best effort).
void ClearImmutable(const std::string& path);

// One plugin instance on its own root ("cluster").
struct Cluster {
  std::string name;
  TempDir root;
  v1::PluginConfig config;
  lb_instance* instance = nullptr;
};

// Drives the plugin through lifeboat_plugin_init() and the C table, as the host does.
class Harness {
 public:
  Harness();
  ~Harness();

  lifeboat::testing::FakeHost& host() { return host_; }
  const lb_plugin_api* api() const { return api_; }

  // A cluster on a fresh root; `extra_json` is added to the config object (", ..." form
  // without the leading comma, e.g. "\"chunk_bytes\": 4096").
  Cluster& AddCluster(const std::string& name, const std::string& extra_json = "");

  template <typename Resp, typename Req>
  StatusOr<Resp> Call(Cluster& c, lb_op op, const Req& req) {
    return host_.Call<Resp>(api_, c.instance, op, req);
  }

  // The manifest in the cut record of `rp` on `c` (snapshots/<key>/<rp>/cut.pb): the cut's
  // response carries only its counts and digest (issue 13). Fails the test when absent.
  v1::MemberManifest CutRecord(Cluster& c, const std::string& selector, const std::string& rp);

  // Operations with the usual arguments.
  StatusOr<v1::CutResponse> Cut(Cluster& c, const std::string& selector, const std::string& rp,
                                const std::string& op_id);
  StatusOr<v1::PlanTransferResponse> Plan(Cluster& target, Cluster& source,
                                          const v1::SnapshotRef& ref, const std::string& base,
                                          const std::string& op_id, bool force_full = false);
  StatusOr<v1::TransferResponse> Transfer(Cluster& target, Cluster& source,
                                          const v1::SnapshotRef& ref, const v1::TransferTask& task,
                                          const std::string& op_id, uint64_t bandwidth = 0);
  StatusOr<v1::VerifyResponse> Verify(Cluster& target, const v1::SnapshotRef& ref,
                                      v1::VerifyLevel level);
  StatusOr<v1::CommitResponse> Commit(Cluster& target, const v1::SnapshotRef& ref,
                                      const std::string& base, const std::string& op_id);
  // `destination` as an operator gives it: the data set lands at <destination><selector>
  // ("" = in place). `overwrite`: the consent to replace what is there.
  StatusOr<v1::RestoreResponse> Restore(Cluster& c, const std::string& selector,
                                        const std::string& rp, const std::string& destination,
                                        bool dry_run, const std::string& op_id,
                                        bool overwrite = false);
  StatusOr<v1::ExpireResponse> Expire(Cluster& c, const std::string& selector,
                                      const std::vector<std::string>& rps,
                                      const std::string& op_id);
  StatusOr<v1::ReleaseResponse> Release(Cluster& c, const v1::SnapshotRef& ref,
                                        const std::string& op_id);
  // sync_security on `target` from `source`; `req` holds the maps and dry_run, the rest is
  // filled in.
  StatusOr<v1::SyncSecurityResponse> SyncSecurity(Cluster& target, Cluster& source,
                                                  const std::string& selector,
                                                  const std::string& op_id,
                                                  v1::SyncSecurityRequest req = {});
  StatusOr<v1::FenceResponse> Fence(Cluster& c, const std::string& selector, uint64_t epoch,
                                    const std::string& op_id, const std::string& reason = "");
  StatusOr<v1::FenceResponse> Unfence(Cluster& c, const std::string& selector, uint64_t epoch,
                                      const std::string& op_id);
  StatusOr<v1::ProbeResponse> Probe(Cluster& c);

  // What a full replication does: plan, every task, verify at digest level, commit.
  // Fails the test on any error. Returns the plan and adds up the transfers in `*moved`.
  struct Replicated {
    v1::PlanTransferResponse plan;
    uint64_t bytes_copied = 0;
    uint64_t bytes_skipped = 0;
    v1::CommitResponse commit;
  };
  Replicated Replicate(Cluster& target, Cluster& source, const v1::SnapshotRef& ref,
                       const std::string& base, const std::string& op_prefix);

 private:
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  std::vector<std::unique_ptr<Cluster>> clusters_;
};

v1::DataSet DataSet(const std::string& selector);

// File builders. Paths are absolute. Parents are created.
void WriteFile(const std::string& path, const std::string& content, uint32_t mode = 0644);
std::string ReadFile(const std::string& path);
void MakeDir(const std::string& path, uint32_t mode = 0755);
void SetMtime(const std::string& path, int64_t mtime_ns);
// Deterministic pseudo-random bytes.
std::string Bytes(size_t n, uint32_t seed);
std::string Sha256Hex(const std::string& data);
uint64_t InodeOf(const std::string& path);

// A picture of a tree for comparisons: per relative path its type, permission bits, size,
// file mtime, file content or link target. Directory mtimes are included when asked.
struct Node {
  char type = '?';  // 'f', 'd', 'l'
  uint32_t mode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string data;  // content or link target
  bool operator==(const Node& o) const {
    return type == o.type && mode == o.mode && size == o.size && mtime_ns == o.mtime_ns &&
           data == o.data;
  }
};
std::map<std::string, Node> Picture(const std::string& dir, bool dir_mtimes = true);
std::string Describe(const std::map<std::string, Node>& picture);

// A small tree with files, an empty directory, nested directories, symbolic links and
// unusual modes, all with mtimes in the past. Returns nothing; see the .cc for the list.
void BuildSampleTree(const std::string& dir);

}  // namespace lifeboat::localfs::testing

#endif  // LIFEBOAT_PLUGINS_LOCALFS_TESTS_LOCALFS_TEST_UTIL_H_
