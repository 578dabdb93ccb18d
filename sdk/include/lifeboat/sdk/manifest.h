// Manifests as sorted streams on disk (issue 13): memory that does not grow with the number
// of files.
//
// A plugin hands entries to a ManifestWriter in any order; it keeps at most a bounded buffer,
// sorts and spills runs to files beside the manifest, and Finish() merges the runs (k-way)
// into one manifest file: entries sorted by path in byte order, each a length-delimited
// v1::Entry record, so no record grows with the number of files. The entry count, the
// bytes of the files and the canonical manifest digest are computed as the entries stream
// by. A ManifestReader streams the entries back in order (usable as the EntryStream of
// verify.h) and can start at a path through a sparse index written with them, so a peer can
// page through a manifest. DiffManifests merges two sorted streams (a base point against a
// new one).
//
// The file, written to a temporary name, flushed and renamed (as sdk::WriteFileAtomically):
//   "LBMANIF1"                           8 bytes of magic
//   records                              varint length + serialized v1::Entry, sorted
//   index                                every Nth record: varint path length, path,
//                                        u64 offset of that record (little-endian)
//   trailer (72 bytes)                   u64 entry count, u64 total bytes, 32-byte digest,
//                                        u64 offset of the index, u64 index records,
//                                        "LBMEND01"
// A file without the closing trailer (a half-written one) is refused as DATA_LOSS, never
// read as a shorter manifest.
//
// The canonical digest: SHA-256 over "<domain>.v1\n" and per entry, integers little-endian
// and strings as a u32 length followed by the bytes: path, u8 type, u64 size, i64
// mtime_unix_nanos, u32 mode, u32 uid, u32 gid, owner, group, symlink_target, digest. When
// any entry carries an ACL the header is "<domain>.v2\n" and every entry ends with
// acl_access and acl_default as two more strings. With the domain "lifeboat.localfs.manifest"
// it is the digest the localfs plugin has always recorded.
//
// Thread-safety: one writer or reader per thread; distinct objects may be used concurrently.
#ifndef LIFEBOAT_SDK_MANIFEST_H_
#define LIFEBOAT_SDK_MANIFEST_H_

#include <lifeboat/sdk/verify.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/manifest.pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::sdk {

inline constexpr char kDefaultManifestDomain[] = "lifeboat.manifest";

// What a finished manifest sums up: the values MemberManifest carries when the entries are
// not inline (entry_count, total_bytes, manifest_digest).
struct ManifestSummary {
  uint64_t entry_count = 0;
  uint64_t total_bytes = 0;  // sizes of the file entries
  std::string digest;        // raw canonical digest (32 bytes)
};

// The canonical digest computed entry by entry (see the file comment).
class ManifestDigester {
 public:
  explicit ManifestDigester(std::string_view domain = kDefaultManifestDomain);
  ~ManifestDigester();
  ManifestDigester(const ManifestDigester&) = delete;
  ManifestDigester& operator=(const ManifestDigester&) = delete;
  void Add(const v1::Entry& e);
  // The raw digest; the object is spent.
  std::string Finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The canonical digest of entries given in order.
std::string CanonicalManifestDigest(const google::protobuf::RepeatedPtrField<v1::Entry>& entries,
                                    std::string_view domain = kDefaultManifestDomain);

struct ManifestWriterOptions {
  // Entries buffered in memory before a sorted run is spilled to disk (estimated bytes).
  size_t buffer_bytes = size_t{64} << 20;
  // The digest's domain (see the file comment).
  std::string digest_domain = kDefaultManifestDomain;
  // One index record per this many entries.
  uint32_t index_every = 1024;
  // false: no fsync of the file and its directory (still atomic against a crash of the
  // process; see sdk::WriteFileAtomically).
  bool durable = true;
};

class ManifestWriter {
 public:
  // Writes the manifest to `path` on Finish(). Runs are spilled into a fresh directory
  // beside it ("<path>.runs-XXXXXX"), removed by Finish() and by the destructor.
  explicit ManifestWriter(std::filesystem::path path, ManifestWriterOptions options = {});
  ~ManifestWriter();
  ManifestWriter(const ManifestWriter&) = delete;
  ManifestWriter& operator=(const ManifestWriter&) = delete;

  // Takes one entry, in any order. Errors of spilling a run (a full disk) come back here.
  Status Add(v1::Entry entry);
  // Sorts and merges what was added into the manifest file and renames it into place.
  // INVALID_ARGUMENT naming the path when a path was added twice (no file is written then).
  StatusOr<ManifestSummary> Finish();

  // Runs spilled so far (for tests and progress).
  size_t runs() const { return runs_.size(); }

 private:
  Status Spill();
  Status MakeRunDir();

  std::filesystem::path path_;
  ManifestWriterOptions options_;
  std::vector<v1::Entry> buffer_;
  size_t buffered_bytes_ = 0;
  std::filesystem::path run_dir_;
  std::vector<std::filesystem::path> runs_;
  bool finished_ = false;
};

class ManifestReader {
 public:
  // Opens a manifest file and checks its trailer. NOT_FOUND when the file does not exist,
  // DATA_LOSS when it is not a whole manifest (a half-written or damaged file).
  static StatusOr<std::unique_ptr<ManifestReader>> Open(const std::filesystem::path& path);
  ~ManifestReader();

  const ManifestSummary& summary() const { return summary_; }

  // The next entry in path order: true with *entry set, false at the end. DATA_LOSS when a
  // record does not parse, the order breaks or the count disagrees with the trailer.
  StatusOr<bool> Next(v1::Entry* entry);
  // Positions the stream at the first entry whose path is >= `path` (byte order).
  Status Seek(std::string_view path);
  // This reader as an EntryStream (verify.h); the reader must outlive the stream.
  EntryStream AsStream();

 private:
  struct Impl;
  explicit ManifestReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  ManifestSummary summary_;
};

// Entries of a message's `entries` as an EntryStream (inline manifests, older plugins).
EntryStream EntriesStream(const google::protobuf::RepeatedPtrField<v1::Entry>& entries);

// What DiffManifests reports; any callback may be left empty. A non-OK status from one stops
// the diff and is returned.
struct ManifestDiff {
  std::function<Status(const v1::Entry& added)> added;
  std::function<Status(const v1::Entry& removed)> removed;
  std::function<Status(const v1::Entry& base, const v1::Entry& next)> changed;
  std::function<Status(const v1::Entry& base, const v1::Entry& next)> unchanged;
  // Whether two entries of one path are the same; by default all their fields.
  std::function<bool(const v1::Entry& base, const v1::Entry& next)> same;
};

// Merges two streams sorted by path: a path only in `next` is added, only in `base` removed,
// in both changed or unchanged. INVALID_ARGUMENT when a stream is not sorted and unique.
Status DiffManifests(const EntryStream& base, const EntryStream& next, const ManifestDiff& diff);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_MANIFEST_H_
