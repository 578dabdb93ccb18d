// The target side's manifests on disk (issue 13): a staged cut and a committed point each hold
// an index of their entries, an sdk::ManifestWriter file ("index.lbm", sorted by path, with a
// sparse index), so that plan, transfer and commit read entries by path or by range from disk
// and no call holds a whole manifest. Also: the plan's range tasks, which name a range of the
// cut instead of every path in it, and the checks a cut record must pass as it streams by.
//
// Thread-safety: IndexCursor is not thread-safe (one per call); the free functions are.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_STAGED_INDEX_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_STAGED_INDEX_H_

#include <lifeboat/sdk/manifest.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace lifeboat::localfs {

// In a staging or point directory: the entries sorted by path (sdk/manifest.h's format).
inline constexpr char kIndexFile[] = "index.lbm";
// In a staging directory: the cut record's fields other than its entries (a CutResponse whose
// manifest has entry_count set and no entries), written once the plan has read the whole cut.
inline constexpr char kCutRefFile[] = "cut.ref";
// In a staging directory: the id of the base point an incremental plan links from.
inline constexpr char kBaseFile[] = "base";
// In a staging directory: present when some path of the cut ends in ".lbpart" (optionally
// followed by digits), so that a partial file's name must be checked against the manifest.
inline constexpr char kPartNamesFile[] = "lbpart-names";

// The index's records: one index record per this many entries (a seek reads at most this
// many records forward).
inline constexpr uint32_t kIndexEvery = 64;

// Checks a manifest's entries as they stream by, in order: valid relative paths, sorted and
// unique, each below a directory entry of the manifest, files with a SHA-256 digest.
// INVALID_ARGUMENT naming the first entry that is not. Holds the directories' paths only.
class ManifestChecker {
 public:
  Status Add(const v1::Entry& e);

 private:
  std::unordered_set<std::string> dirs_;
  std::string last_;
  bool first_ = true;
};

// True when `path` ends in ".lbpart" or ".lbpart" followed by digits (a partial file's name).
bool LooksLikePartName(std::string_view path);

// How an index.lbm is written (sorted input, small buffer, kIndexEvery, localfs's digest).
sdk::ManifestWriterOptions IndexWriterOptions();

// `point_dir`/index.lbm, written from its manifest.pb first when the point was committed
// before points had one. DATA_LOSS when manifest.pb does not parse.
Status EnsurePointIndex(const std::string& point_dir);

// Entries of an index looked up by path. Paths asked in increasing order cost one forward
// pass over the range they span; a smaller path than the last one asked seeks again.
class IndexCursor {
 public:
  // NOT_FOUND when the index does not exist, DATA_LOSS when it is damaged.
  static StatusOr<std::unique_ptr<IndexCursor>> Open(const std::string& file);

  // The entry of `path`, or nullptr when the index has none.
  StatusOr<const v1::Entry*> Find(std::string_view path);
  // Every entry with first <= path <= last, in order (all of them when `whole`).
  Status ForRange(std::string_view first, std::string_view last, bool whole,
                  const std::function<Status(const v1::Entry&)>& each);

 private:
  explicit IndexCursor(std::unique_ptr<sdk::ManifestReader> reader) : reader_(std::move(reader)) {}
  Status Advance();

  std::unique_ptr<sdk::ManifestReader> reader_;
  v1::Entry current_;
  bool have_ = false;     // current_ holds the entry at the reader's position
  bool started_ = false;  // a Seek has positioned the reader
  std::string last_asked_;
};

// A task that names a range of the cut (in path order, both ends included) instead of its
// paths: the plan of a million files lists no path it does not copy (issue 13).
//   tree: the directories and symbolic links of the range
//   copy: every file of the range (a full plan, no seeding)
//   link: every file of the range that the base point holds at the same path with the same
//         content and metadata (SameMetadata), hard-linked from there
// `whole`: the range is the whole cut.
struct TaskRange {
  std::string base_rp;  // link: the base point
  std::string first;
  std::string last;
  bool whole = false;
};
std::string EncodeTaskRange(const TaskRange& range);
// The range a task's opaque bytes carry, nullopt when the task lists its paths instead.
// INVALID_ARGUMENT for a range that does not parse.
StatusOr<std::optional<TaskRange>> DecodeTaskRange(const v1::TransferTask& task);

// Copies the CutResponse's manifest field of `cut_file` (a staged cut.pb) into `out`, then
// `append` (serialized MemberManifest fields: a parse takes the last value of a field), as a
// stream and atomically (durable): the point's manifest.pb without holding the entries.
Status WriteManifestFromCut(const std::string& cut_file, const std::string& out,
                            const std::string& append);

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_STAGED_INDEX_H_
