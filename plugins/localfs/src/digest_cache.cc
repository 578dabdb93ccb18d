#include "digest_cache.h"

#include <cstring>

#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include "fs.h"
#include "manifest_io.h"

namespace lifeboat::localfs {
namespace {

// File format: kMagic, u32 record count,
// records (u32 path length, path, u64 inode, u64 size, i64 mtime, i64 ctime, u8 digest
// length, digest), then the SHA-256 of everything before it. Integers little-endian.
constexpr char kMagic[] = "lifeboat.localfs.digest-cache.v1\n";

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool U64(uint64_t& v) {
    if (data_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i)
      v |= uint64_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
    pos_ += 8;
    return true;
  }
  bool U32(uint32_t& v) {
    if (data_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
      v |= uint32_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
    pos_ += 4;
    return true;
  }
  bool Bytes(size_t n, std::string& out) {
    if (data_.size() - pos_ < n) return false;
    out.assign(data_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

DigestCache DigestCache::Load(const std::string& path) {
  DigestCache cache;
  StatusOr<std::string> bytes = sdk::ReadWholeFile(path);
  if (!bytes.ok()) return cache;
  const std::string& all = *bytes;
  size_t magic_len = std::strlen(kMagic);
  if (all.size() < magic_len + sdk::kSha256Bytes || all.compare(0, magic_len, kMagic) != 0) {
    return cache;
  }
  std::string_view body(all.data(), all.size() - sdk::kSha256Bytes);
  if (sdk::Sha256Of(body) != std::string_view(all).substr(body.size())) return cache;
  Reader r(body.substr(magic_len));
  DigestCache loaded;
  uint32_t records = 0;
  if (!r.U32(records)) return cache;
  loaded.records_.reserve(records);
  for (uint32_t i = 0; i < records; ++i) {
    uint32_t path_len;
    std::string rel, digest, digest_len;
    Record rec;
    uint64_t mtime, ctime;
    if (!r.U32(path_len) || !r.Bytes(path_len, rel) || !r.U64(rec.inode) || !r.U64(rec.size) ||
        !r.U64(mtime) || !r.U64(ctime) || !r.Bytes(1, digest_len) ||
        !r.Bytes(static_cast<unsigned char>(digest_len[0]), rec.digest)) {
      return cache;
    }
    rec.mtime_ns = static_cast<int64_t>(mtime);
    rec.ctime_ns = static_cast<int64_t>(ctime);
    loaded.records_.emplace(std::move(rel), std::move(rec));
  }
  if (!r.done()) return cache;
  return loaded;
}

Status DigestCache::Save(const std::string& path) const {
  std::string out = kMagic;
  AppendU32(out, static_cast<uint32_t>(records_.size()));
  for (const auto& [rel, rec] : records_) {
    AppendU32(out, static_cast<uint32_t>(rel.size()));
    out += rel;
    AppendU64(out, rec.inode);
    AppendU64(out, rec.size);
    AppendU64(out, static_cast<uint64_t>(rec.mtime_ns));
    AppendU64(out, static_cast<uint64_t>(rec.ctime_ns));
    out += static_cast<char>(rec.digest.size());
    out += rec.digest;
  }
  out += sdk::Sha256Of(out);
  return sdk::WriteFileAtomically(path, out, /*durable=*/false);
}

const std::string* DigestCache::Find(const std::string& rel, const struct stat& before_link,
                                     const struct stat& after_link) const {
  const Record* rec = Get(rel);
  if (rec == nullptr || rec->digest.size() != sdk::kSha256Bytes) return nullptr;
  auto same = [&](const struct stat& st) {
    return rec->inode == static_cast<uint64_t>(st.st_ino) &&
           rec->size == static_cast<uint64_t>(st.st_size) && rec->mtime_ns == MtimeNs(st);
  };
  if (!same(before_link) || !same(after_link)) return nullptr;
  // Nothing but the plugin's own links and unlinks touched the inode since the record.
  if (CtimeNs(before_link) != rec->ctime_ns) return nullptr;
  return &rec->digest;
}

bool DigestCache::Chain(const std::string& rel, uint64_t inode, int64_t old_ctime_ns,
                        int64_t new_ctime_ns) {
  auto it = records_.find(rel);
  if (it == records_.end() || it->second.inode != inode || it->second.ctime_ns != old_ctime_ns) {
    return false;
  }
  it->second.ctime_ns = new_ctime_ns;
  return true;
}

const DigestCache::Record* DigestCache::Get(const std::string& rel) const {
  auto it = records_.find(rel);
  return it == records_.end() ? nullptr : &it->second;
}

}  // namespace lifeboat::localfs
