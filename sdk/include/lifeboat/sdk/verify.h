// The verify loop: a cut's manifest entries against what the target holds.
//
// Both sides are streams sorted by path (issue 13: a manifest never has to be one message),
// merged as they go: an entry the target lacks is "missing", an item of the target the
// manifest lacks is "extra", a type or size that differs is reported at every level above
// NONE, and at DIGEST the target's files are read back and their digests compared, up to
// `threads` at a time.
//
// Thread-safety: VerifyTarget::Digest is called from up to `threads` threads at once.
#ifndef LIFEBOAT_SDK_VERIFY_H_
#define LIFEBOAT_SDK_VERIFY_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace lifeboat::sdk {

// What the target holds of one item.
struct TargetItem {
  std::string path;  // relative to the data set root, as manifest entries name it
  v1::EntryType type = v1::ENTRY_FILE;
  uint64_t size = 0;
};

class VerifyTarget {
 public:
  virtual ~VerifyTarget() = default;
  // Hands every item of the target's copy to `each`, sorted by path (byte order); a non-OK
  // status from `each` stops the listing and is returned.
  virtual Status List(const std::function<Status(const TargetItem&)>& each) = 0;
  // The raw digest (the manifest's algorithm) of file `path` of the target's copy, read back.
  virtual StatusOr<std::string> Digest(const Call& call, const std::string& path) = 0;
};

// Yields the manifest's entries sorted by path: true with *entry set, false at the end.
using EntryStream = std::function<StatusOr<bool>(v1::Entry* entry)>;

struct VerifyOptions {
  v1::VerifyLevel level = v1::VERIFY_DIGEST;
  int threads = 4;
  // Mismatches listed in the response at most; the rest are counted in the message of the
  // last one ("... and N more").
  size_t max_mismatches = 1000;
};

// Compares the manifest with the target. ok = no mismatch. items_checked counts manifest
// entries, bytes_checked the bytes read back for digests. Progress is reported as
// phase "verify". CANCELLED on cancel; errors of the target's listing or reads come back as
// they are (a read error is not a mismatch: the copy may be fine).
StatusOr<v1::VerifyResponse> VerifyEntries(const Call& call, const EntryStream& manifest,
                                           VerifyTarget& target, const VerifyOptions& options);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_VERIFY_H_
