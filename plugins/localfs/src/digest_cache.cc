#include "digest_cache.h"

#include <fcntl.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs.h"
#include "manifest_io.h"

namespace lifeboat::localfs {
namespace {

constexpr char kMagic[] = "lifeboat.localfs.digest-cache.v2\n";
constexpr size_t kTrailerBytes = 8 + sdk::kSha256Bytes;

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

}  // namespace

bool CacheVouches(const DigestRecord& rec, const StatStamp& before_link,
                  const StatStamp& after_link) {
  if (rec.digest.size() != sdk::kSha256Bytes) return false;
  auto same = [&](const StatStamp& st) {
    return rec.inode == st.inode && rec.size == st.size && rec.mtime_ns == st.mtime_ns;
  };
  if (!same(before_link) || !same(after_link)) return false;
  // Nothing but the plugin's own links and unlinks touched the inode since the record.
  return before_link.ctime_ns == rec.ctime_ns;
}

struct DigestCacheReader::Impl {
  UniqueFd fd;
  std::vector<char> buf = std::vector<char>(size_t{1} << 16);
  size_t pos = 0, len = 0;
  uint64_t left = 0;  // bytes of records not yet read
  bool ended = true;
  std::string rel;  // the record Find() holds
  DigestRecord rec;
  bool have = false;

  bool Read(void* out, size_t n) {
    char* o = static_cast<char*>(out);
    if (n > left) return false;
    while (n > 0) {
      if (pos == len) {
        ssize_t got = ::read(fd.get(), buf.data(), buf.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        pos = 0;
        len = static_cast<size_t>(got);
      }
      size_t k = std::min(n, len - pos);
      std::memcpy(o, buf.data() + pos, k);
      pos += k;
      o += k;
      n -= k;
      left -= k;
    }
    return true;
  }
  bool Next(std::string* r, DigestRecord* d) {
    if (ended) return false;
    char u32[4], u64[8];
    uint32_t n = 0;
    if (left == 0 || !Read(u32, 4)) return End();
    for (int i = 0; i < 4; ++i) n |= uint32_t{static_cast<unsigned char>(u32[i])} << (8 * i);
    if (n > left) return End();
    r->resize(n);
    if (!Read(r->data(), n)) return End();
    uint64_t v[4];
    for (uint64_t& x : v) {
      if (!Read(u64, 8)) return End();
      x = GetU64(u64);
    }
    d->inode = v[0];
    d->size = v[1];
    d->mtime_ns = static_cast<int64_t>(v[2]);
    d->ctime_ns = static_cast<int64_t>(v[3]);
    unsigned char dl = 0;
    if (!Read(&dl, 1)) return End();
    d->digest.resize(dl);
    if (!Read(d->digest.data(), dl)) return End();
    return true;
  }
  bool End() {
    ended = true;
    return false;
  }
};

DigestCacheReader::DigestCacheReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DigestCacheReader::~DigestCacheReader() = default;

std::unique_ptr<DigestCacheReader> DigestCacheReader::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  std::unique_ptr<DigestCacheReader> empty(new DigestCacheReader(std::move(impl)));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return empty;
  struct stat st;
  const size_t magic_len = std::strlen(kMagic);
  if (::fstat(fd.get(), &st) != 0 ||
      static_cast<uint64_t>(st.st_size) < magic_len + kTrailerBytes) {
    return empty;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  // The whole file is checked against its trailing SHA-256 before any record is used.
  std::string head(magic_len, '\0'), tail(kTrailerBytes, '\0');
  if (::pread(fd.get(), head.data(), magic_len, 0) != static_cast<ssize_t>(magic_len) ||
      head != kMagic ||
      ::pread(fd.get(), tail.data(), kTrailerBytes, static_cast<off_t>(size - kTrailerBytes)) !=
          static_cast<ssize_t>(kTrailerBytes)) {
    return empty;
  }
  sdk::Sha256 sha;
  std::vector<char> buf(size_t{1} << 16);
  for (uint64_t left = size - sdk::kSha256Bytes; left > 0;) {
    ssize_t n =
        ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return empty;
    sha.Update(buf.data(), static_cast<size_t>(n));
    left -= static_cast<uint64_t>(n);
  }
  if (sha.Finish() != tail.substr(8)) return empty;
  if (::lseek(fd.get(), static_cast<off_t>(magic_len), SEEK_SET) < 0) return empty;
  auto ok = std::make_unique<Impl>();
  ok->fd = std::move(fd);
  ok->left = size - magic_len - kTrailerBytes;
  ok->ended = false;
  return std::unique_ptr<DigestCacheReader>(new DigestCacheReader(std::move(ok)));
}

bool DigestCacheReader::Next(std::string* rel, DigestRecord* rec) { return impl_->Next(rel, rec); }

const DigestRecord* DigestCacheReader::Find(std::string_view rel) {
  Impl& m = *impl_;
  while (!m.have || m.rel < rel) {
    m.have = m.Next(&m.rel, &m.rec);
    if (!m.have) return nullptr;
  }
  return m.rel == rel ? &m.rec : nullptr;
}

struct DigestCacheWriter::Hash {
  sdk::Sha256 sha;
};

DigestCacheWriter::DigestCacheWriter(std::string path)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), hash_(std::make_unique<Hash>()) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  buf_ = kMagic;
}

DigestCacheWriter::~DigestCacheWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Status DigestCacheWriter::Flush() {
  hash_->sha.Update(buf_);
  Status written = WriteAll(fd_, buf_, tmp_);
  if (!written.ok()) failed_ = true;
  buf_.clear();
  return written;
}

Status DigestCacheWriter::Add(std::string_view rel, const DigestRecord& rec) {
  if (fd_ < 0) return ErrnoError(ENOENT, "cannot create", tmp_);
  if (count_ > 0 && !(last_ < rel)) {
    return InvalidArgumentError("digest cache records out of order at " + std::string(rel),
                                std::string(rel));
  }
  last_.assign(rel);
  ++count_;
  AppendU32(buf_, static_cast<uint32_t>(rel.size()));
  buf_.append(rel);
  AppendU64(buf_, rec.inode);
  AppendU64(buf_, rec.size);
  AppendU64(buf_, static_cast<uint64_t>(rec.mtime_ns));
  AppendU64(buf_, static_cast<uint64_t>(rec.ctime_ns));
  buf_ += static_cast<char>(rec.digest.size());
  buf_ += rec.digest;
  if (buf_.size() >= (size_t{1} << 16)) return Flush();
  return OkStatus();
}

Status DigestCacheWriter::Finish() {
  if (fd_ < 0) return ErrnoError(ENOENT, "cannot create", tmp_);
  if (failed_) return InternalError("the digest cache " + tmp_ + " was not written whole", tmp_);
  AppendU64(buf_, count_);
  LIFEBOAT_RETURN_IF_ERROR(Flush());
  LIFEBOAT_RETURN_IF_ERROR(WriteAll(fd_, hash_->sha.Finish(), tmp_));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    return ErrnoError(err, "cannot rename", tmp_);
  }
  return OkStatus();
}

}  // namespace lifeboat::localfs
