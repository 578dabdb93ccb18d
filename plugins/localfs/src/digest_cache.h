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
// The file is written atomically but not synced: it is only a cache, and one that is
// missing or damaged (a trailing SHA-256 tells) is ignored.
//
// Thread-safety: none; the plugin holds the data set's lock around its use.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_DIGEST_CACHE_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_DIGEST_CACHE_H_

#include <lifeboat/status.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

namespace lifeboat::localfs {

class DigestCache {
 public:
  struct Record {
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    std::string digest;
  };

  // The cache in `path`; an empty one when the file is absent or damaged.
  static DigestCache Load(const std::string& path);
  Status Save(const std::string& path) const;

  // The cached digest of `rel`, or nullptr. `before_link` is the source file's stat just
  // before the plugin linked it into the snapshot, `after_link` the link's stat right after.
  const std::string* Find(const std::string& rel, const struct stat& before_link,
                          const struct stat& after_link) const;

  // The plugin is about to unlink (or has just linked) a name of inode `inode` whose ctime was
  // `old_ctime_ns`; the call left it at `new_ctime_ns`. Moves the record of `rel` along if it
  // was current. Returns true when a record changed.
  bool Chain(const std::string& rel, uint64_t inode, int64_t old_ctime_ns, int64_t new_ctime_ns);

  const Record* Get(const std::string& rel) const;

  // Replaces the records with `records` (those of the cut just made).
  void ReplaceRecords(std::unordered_map<std::string, Record> records) {
    records_ = std::move(records);
  }

  size_t size() const { return records_.size(); }

 private:
  std::unordered_map<std::string, Record> records_;
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_DIGEST_CACHE_H_
