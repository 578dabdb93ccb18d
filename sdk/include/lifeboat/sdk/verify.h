// The verify loop: a cut's manifest entries against what the target holds.
//
// The manifest is a stream sorted by path (issue 13: a manifest never has to be one message).
// A target that can list its copy in the same order is merged with it as both go: an entry
// the target lacks is "missing", an item of the target the manifest lacks is "extra". A
// target that cannot list in order (its items spread over several places) is asked for each
// entry instead (VerifyOptions::find_each), and nothing is extra. A type or size that
// differs is a mismatch, and so is the metadata VerifyOptions names. That is all at NONE (the
// listing alone; a find_each target, which has no listing, is not asked at all). At SIZE and
// DIGEST every file whose type and size held is then handed to VerifyTarget::CheckFile, up
// to `threads` at a time: by default that reads the file back at DIGEST and compares its
// digest with the manifest's; a target that vouches for bytes another way (a checksum the
// storage keeps, a record of an earlier verify) overrides it.
//
// Thread-safety: VerifyTarget::Find, ::CheckFile and ::Digest are called from up to
// `threads` threads at once; VerifyFindings may be used from any of them.
#ifndef LIFEBOAT_SDK_VERIFY_H_
#define LIFEBOAT_SDK_VERIFY_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace lifeboat::sdk {

// What the target holds of one item.
struct TargetItem {
  std::string path;  // relative to the data set root, as manifest entries name it
  v1::EntryType type = v1::ENTRY_FILE;
  uint64_t size = 0;
  // Compared only when VerifyOptions asks (compare_mtime, compare_mode, compare_owner).
  int64_t mtime_unix_nanos = 0;
  uint32_t mode = 0;
  // (Initialised so that {path, type, size} still compiles warning-free.)
  std::string owner = {};
  std::string group = {};
  // A symbolic link's target (compare_symlink_target).
  std::string symlink_target = {};
  // Numeric ids, for a target's own CheckItem (the loop compares owner and group by name).
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Where the target found the item, for its own CheckFile; the loop does not read it.
  std::string location = {};
};

// The name verify gives a type in a mismatch ("file", "directory", "symlink", "unknown").
const char* EntryTypeName(v1::EntryType type);

// Adds a mismatch to `resp` (a check of the plugin's own after VerifyEntries; set ok after).
void AddMismatch(v1::VerifyResponse& resp, const std::string& path, const std::string& what,
                 const std::string& expected, const std::string& found);

// What a verify found, shared by the loop and the target's CheckFile (thread-safe).
class VerifyFindings {
 public:
  explicit VerifyFindings(size_t max_listed) : max_listed_(max_listed) {}
  // One mismatch of `path`: `what` differs ("missing", "size", "digest", "mode", ...).
  void Mismatch(const std::string& path, const std::string& what, const std::string& expected,
                const std::string& found);
  // Bytes read back to check them (VerifyResponse.bytes_checked).
  void AddBytesRead(uint64_t n) { bytes_read_ += n; }

  // The response: mismatches by path (a path's own in the order found), ok, the counts.
  v1::VerifyResponse Finish(uint64_t items_checked);

 private:
  std::mutex mu_;
  v1::VerifyResponse resp_;
  uint64_t count_ = 0;
  size_t max_listed_;
  std::atomic<uint64_t> bytes_read_{0};
};

class VerifyTarget {
 public:
  virtual ~VerifyTarget() = default;
  // Hands every item of the target's copy to `each`, sorted by path (byte order); a non-OK
  // status from `each` stops the listing and is returned. (Not called with find_each.)
  virtual Status List(const std::function<Status(const TargetItem&)>& each);
  // With find_each: the target's item for manifest entry `want`, nullopt when it has none.
  virtual StatusOr<std::optional<TargetItem>> Find(const Call& call, const v1::Entry& want);
  // The raw digest (the manifest's algorithm) of file `path` of the target's copy, read
  // back; used by the default CheckFile.
  virtual StatusOr<std::string> Digest(const Call& call, const std::string& path);
  // Vouches for the bytes of file `got`, whose type and size match `want`, at `level` (SIZE
  // or DIGEST): reports what differs to `findings` and the bytes it read. An error stops the
  // verify and comes back as it is (a read error is not a mismatch: the copy may be fine).
  // The default, at DIGEST, compares Digest(path) with the manifest's digest ("digest").
  virtual Status CheckFile(const Call& call, v1::VerifyLevel level, const v1::Entry& want,
                           const TargetItem& got, VerifyFindings& findings);
  // The target's own comparison of an item whose type (and a file's size) matched `want`,
  // after the metadata VerifyOptions names: what only this kind of copy keeps (ACLs, numeric
  // ids). Called at every level, in manifest order, from one thread. The default finds
  // nothing.
  virtual Status CheckItem(const v1::Entry& want, const TargetItem& got, VerifyFindings& findings);
};

// Yields the manifest's entries sorted by path: true with *entry set, false at the end.
using EntryStream = std::function<StatusOr<bool>(v1::Entry* entry)>;

// The entries of a manifest held whole, in its order (sorted by path, as manifests are);
// `m` must outlive the stream.
EntryStream EntriesOf(const v1::MemberManifest& m);

struct VerifyOptions {
  v1::VerifyLevel level = v1::VERIFY_DIGEST;
  int threads = 4;
  // Mismatches listed in the response at most; the rest are counted in the message of the
  // last one ("... and N more").
  size_t max_mismatches = 1000;
  // Look each entry up (VerifyTarget::Find) rather than merging with a listing.
  bool find_each = false;
  // Metadata compared after type and size: a file's mtime (not a
  // directory's: creating items in it moves it), the permission bits ("mode", octal), and
  // owner and group by name ("owner", "user:group").
  bool compare_mtime = false;
  bool compare_mode = false;
  bool compare_owner = false;
  // With compare_mode and compare_owner: a directory's too. A copy whose directories get
  // their mode and owner at commit (a staged copy) leaves them out.
  bool compare_directories = true;
  // A symbolic link's target ("symlink_target"), read by the target into TargetItem.
  bool compare_symlink_target = false;
};

// Compares the manifest with the target. ok = no mismatch. items_checked counts manifest
// entries, bytes_checked the bytes read back (VerifyFindings::AddBytesRead). Progress is
// reported as phase "verify", a file at a time. CANCELLED on cancel; errors of the target's
// listing, lookups or reads come back as they are.
StatusOr<v1::VerifyResponse> VerifyEntries(const Call& call, const EntryStream& manifest,
                                           VerifyTarget& target, const VerifyOptions& options);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_VERIFY_H_
