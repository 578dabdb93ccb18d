#include "copy.h"

#include <openssl/evp.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

#include "security.h"

namespace lifeboat::hdfs {
namespace {

std::string AclBits(uint32_t bits) {
  std::string s = "---";
  if (bits & 4) s[0] = 'r';
  if (bits & 2) s[1] = 'w';
  if (bits & 1) s[2] = 'x';
  return s;
}

// A bounded queue of byte pieces between the thread that reads the source and the one that
// writes the target. Both sides block on it; either may end it.
class Pipe {
 public:
  explicit Pipe(size_t capacity) : capacity_(capacity) {}

  // Writer: false once the reader has gone (the writer then stops).
  bool Push(std::string_view piece) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return size_ + piece.size() <= capacity_ || size_ == 0 || reader_gone_; });
    if (reader_gone_) return false;
    pieces_.emplace_back(piece);
    size_ += piece.size();
    cv_.notify_all();
    return true;
  }
  // Writer: the end of the data, with the read's status.
  void Close(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    status_ = std::move(status);
    cv_.notify_all();
  }
  // Reader: up to `max` bytes; 0 at the end (check status()).
  size_t Pull(char* out, size_t max) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !pieces_.empty() || closed_; });
    size_t n = 0;
    while (n < max && !pieces_.empty()) {
      std::string& front = pieces_.front();
      size_t take = std::min(max - n, front.size() - offset_);
      std::memcpy(out + n, front.data() + offset_, take);
      n += take;
      offset_ += take;
      if (offset_ == front.size()) {
        size_ -= front.size();
        pieces_.pop_front();
        offset_ = 0;
      }
    }
    cv_.notify_all();
    return n;
  }
  void ReaderGone() {
    std::lock_guard<std::mutex> lock(mu_);
    reader_gone_ = true;
    cv_.notify_all();
  }
  Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pieces_;
  size_t size_ = 0;
  size_t offset_ = 0;
  bool closed_ = false;
  bool reader_gone_ = false;
  Status status_;
};

constexpr size_t kPipeBytes = 8 << 20;

bool IsStateAttr(const std::string& name) { return name.rfind(kStateAttrPrefix, 0) == 0; }

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  failed_ = ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1;
}
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }
void Sha256::Update(std::string_view data) {
  if (!failed_ && !data.empty()) failed_ = EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1;
}
std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (failed_ || EVP_DigestFinal_ex(ctx_, md, &len) != 1) return "";
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  failed_ = EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1;
  return hex;
}

// (copy.h)
// Runs `fn(i)` for i in [0, n) on up to `threads` threads; the first error stops the rest.
Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!first.ok()) return;
      }
      size_t i = next++;
      if (i >= n) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        // CANCELLED only when nothing worse happened.
        if (first.ok() || (first.code() == Code::kCancelled && s.code() != Code::kCancelled)) {
          first = s;
        }
      }
    }
  };
  int k = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  std::vector<std::thread> pool;
  for (int t = 1; t < k; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return first;
}

void RateLimiter::Acquire(uint64_t bytes) {
  if (rate_ == 0 || bytes == 0) return;
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    credit_ = std::min<double>(
        static_cast<double>(rate_),
        credit_ + std::chrono::duration<double>(now - last_).count() * static_cast<double>(rate_));
    last_ = now;
    credit_ -= static_cast<double>(bytes);
    if (credit_ < 0) wait = std::chrono::duration<double>(-credit_ / static_cast<double>(rate_));
  }
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

std::optional<CopyMark> ParseCopyMark(const std::string& mark) {
  const size_t space = mark.rfind(' ');
  if (space == std::string::npos) return std::nullopt;
  const size_t mtime = mark.rfind(':', space);
  if (mtime == std::string::npos || mtime == 0) return std::nullopt;
  const size_t length = mark.rfind(':', mtime - 1);
  if (length == std::string::npos || length == 0) return std::nullopt;
  CopyMark out;
  out.snapshot = mark.substr(0, length);
  out.state = mark.substr(space + 1);
  try {
    size_t used = 0;
    const std::string l = mark.substr(length + 1, mtime - length - 1);
    out.length = std::stoull(l, &used);
    if (used != l.size()) return std::nullopt;
    const std::string m = mark.substr(mtime + 1, space - mtime - 1);
    out.mtime = std::stoll(m, &used);
    if (used != m.size()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return out;
}

nlohmann::json StatusToJson(const FileStatus& st) {
  nlohmann::json j = {{"p", st.path_suffix},     {"d", st.is_dir},     {"l", st.length},
                      {"m", st.modification_ms}, {"a", st.access_ms},  {"o", st.owner},
                      {"g", st.group},           {"x", st.permission}, {"r", st.replication},
                      {"b", st.block_size},      {"acl", st.acl_bit}};
  if (st.is_symlink) j["s"] = st.symlink_target;
  if (st.file_id != 0) j["i"] = st.file_id;
  return j;
}

FileStatus StatusFromJson(const nlohmann::json& j) {
  FileStatus st;
  st.path_suffix = j.value("p", std::string());
  st.is_dir = j.value("d", false);
  st.length = j.value("l", uint64_t{0});
  st.modification_ms = j.value("m", int64_t{0});
  st.access_ms = j.value("a", int64_t{0});
  st.owner = j.value("o", std::string());
  st.group = j.value("g", std::string());
  st.permission = j.value("x", uint32_t{0});
  st.replication = j.value("r", uint32_t{0});
  st.block_size = j.value("b", uint64_t{0});
  st.acl_bit = j.value("acl", false);
  st.file_id = j.value("i", uint64_t{0});
  if (j.contains("s")) {
    st.is_symlink = true;
    st.symlink_target = j.value("s", std::string());
  }
  return st;
}

StatusOr<std::string> DigestOf(sdk::Call& call, WebHdfsClient& client, const std::string& path,
                               uint64_t length, uint64_t* bytes_read) {
  Sha256 sha;
  uint64_t n = 0;
  Status read = client.ReadStream(path, 0, length, [&](std::string_view piece) {
    if (call.Cancelled()) return false;
    sha.Update(piece);
    n += piece.size();
    return true;
  });
  if (read.code() == Code::kCancelled || call.Cancelled()) {
    return CancelledError("cancelled while reading " + path, path);
  }
  LIFEBOAT_RETURN_IF_ERROR(read);
  if (bytes_read != nullptr) *bytes_read = n;
  return sha.FinishHex();
}

Status CopyMetadata(WebHdfsClient& src, const std::string& src_path, const FileStatus& source,
                    WebHdfsClient& dst, const std::string& dst_path, const FileStatus* current,
                    bool fenced) {
  // Into a fenced data set: the source's permission becomes the fence's original, the item
  // gets it without the write bits (the ACL spec below too, as its mask is the group bits).
  FileStatus st = source;
  if (fenced) {
    LIFEBOAT_RETURN_IF_ERROR(RecordFenceOriginal(dst, dst_path, source.permission));
    st.permission = FencedPermission(source.permission);
  }
  if (current == nullptr || current->permission != st.permission) {
    LIFEBOAT_RETURN_IF_ERROR(dst.SetPermission(dst_path, st.permission));
  }
  if (current == nullptr || current->owner != st.owner || current->group != st.group) {
    Status owned = dst.SetOwner(dst_path, st.owner, st.group);
    if (owned.code() == Code::kPermissionDenied) {
      return PermissionDeniedError(
          "cannot give " + dst_path + " owner '" + st.owner + "' and group '" + st.group +
              "' as user '" + dst.user() +
              "': keeping owners needs the HDFS superuser on the target (" + owned.message() + ")",
          dst_path);
    }
    LIFEBOAT_RETURN_IF_ERROR(owned);
  }
  if (st.acl_bit) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> entries, src.GetAclEntries(src_path));
    std::vector<std::string> spec;
    bool has_group = false;
    bool has_access_named = false;
    for (const std::string& e : entries) {
      if (e.rfind("group::", 0) == 0) has_group = true;
      if (e.rfind("default:", 0) != 0 && e.rfind("group::", 0) != 0) has_access_named = true;
    }
    spec.push_back("user::" + AclBits((st.permission >> 6) & 7));
    if (!has_group) spec.push_back("group::" + AclBits((st.permission >> 3) & 7));
    for (const std::string& e : entries) spec.push_back(e);
    // With an extended access ACL, the permission's group bits are the mask.
    if (has_access_named || has_group) spec.push_back("mask::" + AclBits((st.permission >> 3) & 7));
    spec.push_back("other::" + AclBits(st.permission & 7));
    LIFEBOAT_RETURN_IF_ERROR(dst.SetAcl(dst_path, spec));
  } else if (current != nullptr && current->acl_bit) {
    LIFEBOAT_RETURN_IF_ERROR(dst.SetAcl(dst_path, {}));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto attrs, src.GetXAttrsEncoded(src_path));
  for (const auto& [name, value] : attrs) {
    if (IsStateAttr(name)) continue;
    LIFEBOAT_RETURN_IF_ERROR(dst.SetXAttrEncoded(dst_path, name, value));
  }
  return OkStatus();
}

namespace {

// Metadata, times, and the "done" mark of a file whose data is in place.
Status FinishCopy(WebHdfsClient& src, const std::string& src_path, const FileStatus& st,
                  WebHdfsClient& dst, const std::string& dst_path, const CopyOptions& options) {
  // What the new file got by itself (a parent's default ACL, the umask) is compared, so
  // that an inherited ACL the source's file does not have is removed.
  LIFEBOAT_ASSIGN_OR_RETURN(FileStatus created, dst.GetFileStatus(dst_path));
  LIFEBOAT_RETURN_IF_ERROR(
      CopyMetadata(src, src_path, st, dst, dst_path, &created, options.fenced));
  // After every write (extended attributes do not move the modification time).
  LIFEBOAT_RETURN_IF_ERROR(dst.SetTimes(dst_path, st.modification_ms, st.access_ms));
  if (options.record_state) {
    LIFEBOAT_RETURN_IF_ERROR(dst.SetXAttr(dst_path, kCopyAttr, options.identity + " done"));
  }
  return OkStatus();
}

}  // namespace

StatusOr<CopyResult> CopyFile(sdk::Call& call, WebHdfsClient& src, const std::string& src_path,
                              const FileStatus& st, WebHdfsClient& dst, const std::string& dst_path,
                              const CopyOptions& options) {
  CopyResult result;
  // What is there already?
  uint64_t resume_from = 0;
  Sha256 sha;
  StatusOr<FileStatus> there = dst.GetFileStatus(dst_path);
  if (!there.ok() && there.status().code() != Code::kNotFound) return there.status();
  if (there.ok() && there->is_dir) {
    // A directory where the file goes: the plan's tree task removes such; be safe anyway.
    LIFEBOAT_RETURN_IF_ERROR(dst.Delete(dst_path, /*recursive=*/true).status());
    there = NotFoundError(dst_path);
  }
  if (there.ok() && options.record_state) {
    StatusOr<std::string> marker = dst.GetXAttr(dst_path, kCopyAttr);
    if (marker.ok() && *marker == options.identity + " done" && there->length == st.length) {
      result.bytes_skipped = st.length;
      return result;
    }
    // What a point that never committed left of the same source version serves as well
    // (README "A point that did not commit"): its data, or its prefix once checked.
    const std::optional<CopyMark> mark = marker.ok() ? ParseCopyMark(*marker) : std::nullopt;
    const std::optional<CopyMark> want = ParseCopyMark(options.identity + " want");
    const bool same_version = mark && want && mark->length == want->length &&
                              mark->mtime == want->mtime && mark->snapshot != want->snapshot;
    if (same_version && (mark->state == "data" || mark->state == "partial")) {
      marker = options.identity + " " + mark->state;
    }
    if (marker.ok() && *marker == options.identity + " data" && there->length == st.length) {
      // Data copied by an earlier call that failed afterwards: finish the metadata.
      result.bytes_skipped = st.length;
      LIFEBOAT_ASSIGN_OR_RETURN(result.sha256_hex, dst.GetXAttr(dst_path, kDigestAttr));
      LIFEBOAT_RETURN_IF_ERROR(FinishCopy(src, src_path, st, dst, dst_path, options));
      return result;
    }
    if (marker.ok() && *marker == options.identity + " partial" && there->length > 0 &&
        there->length <= st.length) {
      // Resume: the prefix must be the same on both sides.
      uint64_t n = there->length;
      LIFEBOAT_ASSIGN_OR_RETURN(std::string theirs, DigestOf(call, dst, dst_path, n));
      Sha256 prefix;
      uint64_t read = 0;
      Status s = src.ReadStream(src_path, 0, n, [&](std::string_view piece) {
        if (call.Cancelled()) return false;
        prefix.Update(piece);
        sha.Update(piece);
        read += piece.size();
        return true;
      });
      if (call.Cancelled()) return CancelledError("cancelled while resuming " + dst_path);
      LIFEBOAT_RETURN_IF_ERROR(s);
      if (read == n && prefix.FinishHex() == theirs) {
        resume_from = n;
      } else {
        sha.FinishHex();  // starts over
      }
    }
  }
  result.bytes_skipped = resume_from;

  // Stream the rest: a reader thread fills the pipe from the source's DataNode; this thread
  // sends it to the target's DataNode.
  Pipe pipe(kPipeBytes);
  std::thread reader;
  const uint64_t remaining = st.length - resume_from;
  if (remaining > 0) {
    reader = std::thread([&] {
      Status s = src.ReadStream(src_path, resume_from, remaining,
                                [&](std::string_view piece) { return pipe.Push(piece); });
      pipe.Close(s);
    });
  } else {
    pipe.Close(OkStatus());
  }
  bool cancelled = false;
  uint64_t sent = 0;
  uint64_t reported = 0;
  Status source_error;
  WebHdfsClient::Source source = [&](char* buffer, size_t max) -> size_t {
    if (call.Cancelled()) {
      cancelled = true;
      return 0;  // a clean end: the target keeps what was sent
    }
    size_t n = pipe.Pull(buffer, max);
    if (n == 0) {
      Status s = pipe.status();
      if (!s.ok()) {
        // End the write cleanly: the target keeps a correct prefix, closed (an aborted
        // request could leave the file open under a lease for a minute), and a retry
        // resumes after it.
        source_error = s;
        return 0;
      }
      return 0;
    }
    for (RateLimiter* l : options.limiters) l->Acquire(n);
    sha.Update(std::string_view(buffer, n));
    sent += n;
    if (options.on_progress && (sent - reported >= (1 << 20) || reported == 0)) {
      reported = sent;
      options.on_progress(sent);
    }
    return n;
  };
  Status written;
  if (resume_from > 0) {
    written = dst.AppendStream(dst_path, source);
  } else {
    WebHdfsClient::CreateOptions co;
    co.overwrite = true;
    // Fenced: created without write bits at once, so that no application can open it for
    // append between the close and the metadata (the superuser writes it regardless).
    co.permission = (options.fenced ? FencedPermission(st.permission) : st.permission) & 0777;
    if (options.preserve_block_size && st.block_size > 0) co.block_size = st.block_size;
    if (options.replication == 0 && st.replication > 0) co.replication = st.replication;
    if (options.replication > 0) co.replication = static_cast<uint32_t>(options.replication);
    if (remaining == 0) {
      written = dst.Create(dst_path, "", co);
    } else {
      written = dst.CreateStream(dst_path, co, source);
    }
  }
  pipe.ReaderGone();
  if (reader.joinable()) reader.join();
  result.bytes_copied = sent;
  // A copy cut short keeps its prefix, marked partial, with the file's length and time then
  // (so that anyone else's write to it afterwards shows: leftovers.h).
  auto mark_partial = [&] {
    if (!options.record_state) return;
    if (!dst.SetXAttr(dst_path, kCopyAttr, options.identity + " partial").ok()) return;
    StatusOr<FileStatus> left = dst.GetFileStatus(dst_path);
    if (left.ok()) {
      (void)dst.SetXAttr(
          dst_path, kPartialAttr,
          std::to_string(left->length) + ":" + std::to_string(left->modification_ms));
    }
  };
  if (!source_error.ok() && written.ok()) mark_partial();
  if (!source_error.ok()) {
    // A read that broke off mid-stream (a DataNode or NameNode gone) is worth a retry.
    const Code code =
        source_error.code() == Code::kInternal ? Code::kUnavailable : source_error.code();
    return Status(code,
                  "copying " + src_path + " to " + dst_path +
                      ": reading the source failed: " + source_error.message(),
                  src_path);
  }
  if (written.code() == Code::kAlreadyExists) {
    // AlreadyBeingCreatedException: an earlier write's lease is still held; it expires.
    return UnavailableError(written.message() + "; retry once the earlier writer's lease expires",
                            dst_path);
  }
  LIFEBOAT_RETURN_IF_ERROR(written);
  if (cancelled) {
    mark_partial();
    return CancelledError("transfer cancelled in " + dst_path + " after " +
                              std::to_string(resume_from + sent) + " of " +
                              std::to_string(st.length) + " bytes; it resumes there",
                          dst_path);
  }
  if (resume_from + sent != st.length) {
    return UnavailableError("copying " + src_path + ": the source gave " +
                                std::to_string(resume_from + sent) + " bytes, its length is " +
                                std::to_string(st.length),
                            src_path);
  }
  result.sha256_hex = sha.FinishHex();
  if (options.record_state) {
    // The data is complete: a failure in what follows (metadata) is retried without
    // moving the data again.
    LIFEBOAT_RETURN_IF_ERROR(dst.SetXAttr(dst_path, kDigestAttr, result.sha256_hex));
    LIFEBOAT_RETURN_IF_ERROR(dst.SetXAttr(dst_path, kCopyAttr, options.identity + " data"));
  }
  LIFEBOAT_RETURN_IF_ERROR(FinishCopy(src, src_path, st, dst, dst_path, options));
  return result;
}

}  // namespace lifeboat::hdfs
