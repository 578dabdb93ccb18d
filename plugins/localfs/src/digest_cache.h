// The per-data-set digest cache of the source side, so that an incremental cut reads only
// what changed.
//
// A record keeps, for one path of a cut, the inode, size, mtime and ctime of the snapshot's
// hard link and the SHA-256 of its content. link(2) and unlink(2) stamp the ctime of the
// inode they touch, so the plugin's own cuts and releases move every ctime; the cache follows
// them by chaining: when the plugin links or unlinks a file whose ctime still equals the
// recorded one, the record takes the ctime that the plugin's own call produced. Anything else
// that moves the ctime (a write, even one that puts the old mtime back, a chmod, a chown, a
// rename) breaks the chain and forces a re-read.
//
// A digest is only recorded when the file's mtime is older than the moment its read began
// ("racily clean" files, as git calls them, are read again next time): a write in the same
// clock tick as the read could otherwise leave mtime and size as they were.
//
// Limit: a write that restores the old size and mtime in the microseconds between the
// plugin's stat and its link or unlink of that file is not noticed.
//
// The file holds its records sorted by path and is read and written as a stream (issue 13:
// a map of every file of a data set was the largest thing a cut and a release held):
//   "lifeboat.localfs.digest-cache.v2\n"
//   records: u32 path length, path, u64 inode, u64 size, i64 mtime, i64 ctime, u8 digest
//            length, digest (integers little-endian), sorted by path, unique
//   u64 record count, then the SHA-256 of everything before it
// It is written atomically but not synced: it is only a cache, and one that is missing,
// damaged (the trailing SHA-256 tells, checked before any record is used) or of the older
// format is ignored: every file is read once more.
//
// Thread-safety: none; the plugin holds the data set's lock around its use.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_DIGEST_CACHE_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_DIGEST_CACHE_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lifeboat::localfs {

struct DigestRecord {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  std::string digest;
};

// The inode, size, mtime and ctime of a file as a stat gave them.
struct StatStamp {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
};

// Whether `rec` vouches for the content of a file whose stat just before the plugin linked it
// into the snapshot was `before_link`, and whose link's stat right after was `after_link`.
bool CacheVouches(const DigestRecord& rec, const StatStamp& before_link,
                  const StatStamp& after_link);

// The records of a cache file in path order.
class DigestCacheReader {
 public:
  // The cache in `path`; one without records when the file is absent, damaged or older.
  static std::unique_ptr<DigestCacheReader> Open(const std::string& path);
  ~DigestCacheReader();

  // The next record: false at the end (or at damage, which ends the cache early).
  bool Next(std::string* rel, DigestRecord* rec);
  // The record of `rel`, or nullptr. Paths must be asked in increasing order.
  const DigestRecord* Find(std::string_view rel);

 private:
  struct Impl;
  explicit DigestCacheReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A new cache file, records added in path order; in place once Finish() returns OK.
class DigestCacheWriter {
 public:
  explicit DigestCacheWriter(std::string path);
  ~DigestCacheWriter();
  DigestCacheWriter(const DigestCacheWriter&) = delete;
  DigestCacheWriter& operator=(const DigestCacheWriter&) = delete;

  // INVALID_ARGUMENT when `rel` is not after the previous path.
  Status Add(std::string_view rel, const DigestRecord& rec);
  Status Finish();

 private:
  Status Flush();
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  std::string buf_;
  std::string last_;
  uint64_t count_ = 0;
  bool failed_ = false;
  struct Hash;
  std::unique_ptr<Hash> hash_;
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_DIGEST_CACHE_H_
