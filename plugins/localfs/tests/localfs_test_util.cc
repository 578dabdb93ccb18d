#include "localfs_test_util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace lifeboat::localfs::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  char tmpl[] = "/tmp/localfs-test-XXXXXX";
  char* made = ::mkdtemp(tmpl);
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  // Points may hold directories without write permission, and a test that failed while a
  // data set was fenced leaves immutable items; open them up before removing.
  std::error_code ec;
  ClearImmutable(path_);
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_symlink(ec)) ClearImmutable(it->path().string());
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(path_, ec);
}

std::optional<bool> IsImmutable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  ::close(fd);
  if (!ok) return std::nullopt;
  return (flags & FS_IMMUTABLE_FL) != 0;
}

void ClearImmutable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL) != 0) {
    flags &= ~FS_IMMUTABLE_FL;
    ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  ::close(fd);
}

Harness::Harness() { api_ = lifeboat_plugin_init(host_.table()); }

Harness::~Harness() {
  for (auto& c : clusters_) {
    if (c->instance != nullptr) api_->destroy(c->instance);
  }
}

Cluster& Harness::AddCluster(const std::string& name, const std::string& extra_json) {
  auto c = std::make_unique<Cluster>();
  c->name = name;
  c->config.set_plugin("localfs");
  c->config.set_cluster(name);
  std::string json = "{\"root\": \"" + c->root.path() + "\"";
  if (!extra_json.empty()) json += ", " + extra_json;
  json += "}";
  c->config.set_config_json(json);
  StatusOr<lb_instance*> made = host_.Create(api_, c->config);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  if (made.ok()) c->instance = *made;
  clusters_.push_back(std::move(c));
  return *clusters_.back();
}

StatusOr<v1::SyncSecurityResponse> Harness::SyncSecurity(Cluster& target, Cluster& source,
                                                         const std::string& selector,
                                                         const std::string& op_id,
                                                         v1::SyncSecurityRequest req) {
  req.set_op_id(op_id);
  *req.mutable_source()->mutable_config() = source.config;
  *req.mutable_data_set() = DataSet(selector);
  return Call<v1::SyncSecurityResponse>(target, LB_OP_SYNC_SECURITY, req);
}

StatusOr<v1::FenceResponse> Harness::Fence(Cluster& c, const std::string& selector, uint64_t epoch,
                                           const std::string& op_id, const std::string& reason) {
  v1::FenceRequest req;
  req.set_op_id(op_id);
  *req.mutable_data_set() = DataSet(selector);
  req.set_epoch(epoch);
  req.set_reason(reason);
  return Call<v1::FenceResponse>(c, LB_OP_FENCE, req);
}

StatusOr<v1::FenceResponse> Harness::Unfence(Cluster& c, const std::string& selector,
                                             uint64_t epoch, const std::string& op_id) {
  v1::FenceRequest req;
  req.set_op_id(op_id);
  *req.mutable_data_set() = DataSet(selector);
  req.set_epoch(epoch);
  return Call<v1::FenceResponse>(c, LB_OP_UNFENCE, req);
}

StatusOr<v1::ProbeResponse> Harness::Probe(Cluster& c) {
  return Call<v1::ProbeResponse>(c, LB_OP_PROBE, v1::ProbeRequest());
}

v1::DataSet DataSet(const std::string& selector) {
  v1::DataSet ds;
  ds.set_component("localfs");
  ds.set_selector(selector);
  return ds;
}

StatusOr<v1::CutResponse> Harness::Cut(Cluster& c, const std::string& selector,
                                       const std::string& rp, const std::string& op_id) {
  v1::CutRequest req;
  req.set_op_id(op_id);
  *req.mutable_data_set() = DataSet(selector);
  req.set_restore_point_id(rp);
  return Call<v1::CutResponse>(c, LB_OP_CUT, req);
}

v1::MemberManifest Harness::CutRecord(Cluster& c, const std::string& selector,
                                      const std::string& rp) {
  std::string key;
  for (char ch : selector) {
    if (ch == '/')
      key += "%2F";
    else if (ch == '%')
      key += "%25";
    else
      key += ch;
  }
  std::ifstream in(std::string(c.root / ".lifeboat/snapshots") + "/" + key + "/" + rp + "/cut.pb",
                   std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  v1::CutResponse cut;
  EXPECT_TRUE(in.good() || in.eof()) << "no cut record of " << rp;
  EXPECT_TRUE(!bytes.empty() && cut.ParseFromString(bytes)) << "no cut record of " << rp;
  return cut.manifest();
}

StatusOr<v1::PlanTransferResponse> Harness::Plan(Cluster& target, Cluster& source,
                                                 const v1::SnapshotRef& ref,
                                                 const std::string& base, const std::string& op_id,
                                                 bool force_full) {
  v1::PlanTransferRequest req;
  req.set_op_id(op_id);
  *req.mutable_source()->mutable_config() = source.config;
  *req.mutable_snapshot() = ref;
  req.set_base_restore_point_id(base);
  req.set_force_full(force_full);
  return Call<v1::PlanTransferResponse>(target, LB_OP_PLAN_TRANSFER, req);
}

StatusOr<v1::TransferResponse> Harness::Transfer(Cluster& target, Cluster& source,
                                                 const v1::SnapshotRef& ref,
                                                 const v1::TransferTask& task,
                                                 const std::string& op_id, uint64_t bandwidth) {
  v1::TransferRequest req;
  req.set_op_id(op_id);
  *req.mutable_source()->mutable_config() = source.config;
  *req.mutable_snapshot() = ref;
  *req.mutable_task() = task;
  req.set_bandwidth_bytes_per_second(bandwidth);
  return Call<v1::TransferResponse>(target, LB_OP_TRANSFER, req);
}

StatusOr<v1::VerifyResponse> Harness::Verify(Cluster& target, const v1::SnapshotRef& ref,
                                             v1::VerifyLevel level) {
  v1::VerifyRequest req;
  req.set_op_id("verify-" + ref.restore_point_id());
  *req.mutable_snapshot() = ref;
  req.set_level(level);
  return Call<v1::VerifyResponse>(target, LB_OP_VERIFY, req);
}

StatusOr<v1::CommitResponse> Harness::Commit(Cluster& target, const v1::SnapshotRef& ref,
                                             const std::string& base, const std::string& op_id) {
  v1::CommitRequest req;
  req.set_op_id(op_id);
  *req.mutable_snapshot() = ref;
  req.set_base_restore_point_id(base);
  return Call<v1::CommitResponse>(target, LB_OP_COMMIT, req);
}

StatusOr<v1::RestoreResponse> Harness::Restore(Cluster& c, const std::string& selector,
                                               const std::string& rp,
                                               const std::string& destination, bool dry_run,
                                               const std::string& op_id, bool overwrite) {
  v1::RestoreRequest req;
  req.set_op_id(op_id);
  *req.mutable_data_set() = DataSet(selector);
  req.set_restore_point_id(rp);
  req.set_destination(destination);
  req.set_dry_run(dry_run);
  req.set_overwrite(overwrite);
  return Call<v1::RestoreResponse>(c, LB_OP_RESTORE, req);
}

StatusOr<v1::ExpireResponse> Harness::Expire(Cluster& c, const std::string& selector,
                                             const std::vector<std::string>& rps,
                                             const std::string& op_id) {
  v1::ExpireRequest req;
  req.set_op_id(op_id);
  *req.mutable_data_set() = DataSet(selector);
  for (const auto& rp : rps) req.add_restore_point_ids(rp);
  return Call<v1::ExpireResponse>(c, LB_OP_EXPIRE, req);
}

StatusOr<v1::ReleaseResponse> Harness::Release(Cluster& c, const v1::SnapshotRef& ref,
                                               const std::string& op_id) {
  v1::ReleaseRequest req;
  req.set_op_id(op_id);
  *req.mutable_snapshot() = ref;
  return Call<v1::ReleaseResponse>(c, LB_OP_RELEASE, req);
}

Harness::Replicated Harness::Replicate(Cluster& target, Cluster& source, const v1::SnapshotRef& ref,
                                       const std::string& base, const std::string& op_prefix) {
  Replicated out;
  StatusOr<v1::PlanTransferResponse> plan = Plan(target, source, ref, base, op_prefix + "-plan");
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return out;
  out.plan = *plan;
  for (const auto& task : plan->tasks()) {
    StatusOr<v1::TransferResponse> t =
        Transfer(target, source, ref, task, op_prefix + "-" + task.task_id());
    EXPECT_TRUE(t.ok()) << task.task_id() << ": " << t.status().ToString();
    if (!t.ok()) return out;
    out.bytes_copied += t->bytes_copied();
    out.bytes_skipped += t->bytes_skipped();
  }
  StatusOr<v1::VerifyResponse> verified = Verify(target, ref, v1::VERIFY_DIGEST);
  EXPECT_TRUE(verified.ok()) << verified.status().ToString();
  if (verified.ok()) {
    EXPECT_TRUE(verified->ok()) << verified->DebugString();
  }
  StatusOr<v1::CommitResponse> committed = Commit(target, ref, base, op_prefix + "-commit");
  EXPECT_TRUE(committed.ok()) << committed.status().ToString();
  if (committed.ok()) out.commit = *committed;
  return out;
}

void MakeDir(const std::string& path, uint32_t mode) {
  fs::create_directories(path);
  ::chmod(path.c_str(), mode);
}

void WriteFile(const std::string& path, const std::string& content, uint32_t mode) {
  fs::create_directories(fs::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ::chmod(path.c_str(), mode);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void SetMtime(const std::string& path, int64_t mtime_ns) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = mtime_ns / 1000000000;
  times[1].tv_nsec = mtime_ns % 1000000000;
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

std::string Bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

uint64_t InodeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

std::map<std::string, Node> Picture(const std::string& dir, bool dir_mtimes) {
  std::map<std::string, Node> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::string rel = fs::relative(it->path(), dir).generic_string();
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    Node n;
    n.mode = st.st_mode & 07777;
    if (S_ISREG(st.st_mode)) {
      n.type = 'f';
      n.size = static_cast<uint64_t>(st.st_size);
      n.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
      n.data = ReadFile(it->path());
    } else if (S_ISDIR(st.st_mode)) {
      n.type = 'd';
      if (dir_mtimes) n.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    } else if (S_ISLNK(st.st_mode)) {
      n.type = 'l';
      n.mode = 0;
      n.data = fs::read_symlink(it->path(), ec).string();
    }
    out[rel] = n;
  }
  return out;
}

std::string Describe(const std::map<std::string, Node>& picture) {
  std::string out;
  for (const auto& [rel, n] : picture) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), " %c %04o size=%llu mtime=%lld", n.type, n.mode,
                  static_cast<unsigned long long>(n.size), static_cast<long long>(n.mtime_ns));
    out += rel + buf + (n.type == 'l' ? " -> " + n.data : "") + "\n";
  }
  return out;
}

void BuildSampleTree(const std::string& dir) {
  const int64_t t = 1600000000LL * 1000000000 + 123456789;  // a past mtime with nanoseconds
  MakeDir(dir);
  WriteFile(dir + "/a.txt", "alpha\n", 0644);
  WriteFile(dir + "/empty.bin", "", 0600);
  WriteFile(dir + "/big.bin", Bytes(300000, 7), 0640);
  WriteFile(dir + "/sub/b.txt", "beta\n", 0755);
  WriteFile(dir + "/sub/deeper/c.dat", Bytes(5000, 3), 0444);
  WriteFile(dir + "/sub/name with space & ü.txt", "unicode\n", 0644);
  MakeDir(dir + "/emptydir", 0750);
  MakeDir(dir + "/locked", 0755);
  WriteFile(dir + "/locked/inside.txt", "inside\n", 0644);
  fs::create_symlink("a.txt", dir + "/link-to-a");
  fs::create_symlink("../missing/target", dir + "/sub/dangling");
  fs::create_directory_symlink("sub", dir + "/link-to-sub");
  int64_t k = 0;
  for (const char* f : {"a.txt", "empty.bin", "big.bin", "sub/b.txt", "sub/deeper/c.dat",
                        "sub/name with space & ü.txt", "locked/inside.txt", "link-to-a",
                        "sub/dangling", "link-to-sub"}) {
    SetMtime(dir + "/" + f, t + (k++) * 1000003);
  }
  ::chmod((dir + "/locked").c_str(), 0555);
  for (const char* d : {"sub/deeper", "sub", "emptydir", "locked"}) {
    SetMtime(dir + "/" + d, t - (k++) * 7000001);
  }
}

}  // namespace lifeboat::localfs::testing
