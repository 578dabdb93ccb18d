// Local files written so that a crash never leaves half of one: the pieces of a plugin's own
// records (journals, plans, manifests) that live on a local disk.
//
// Thread-safety: functions only; two writers of one path race as rename(2) does (last wins).
#ifndef LIFEBOAT_SDK_FILES_H_
#define LIFEBOAT_SDK_FILES_H_

#include <lifeboat/status.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace lifeboat::sdk {

// Replaces `path` with `data` atomically and durably: written to a temporary file in the
// same directory, flushed to disk, renamed over `path`, and the directory flushed. A reader
// sees the old content or the new, never a mix; after a crash, one of the two. Errors name
// the path and the system's reason (PERMISSION_DENIED, NOT_FOUND for a missing directory,
// RESOURCE_EXHAUSTED for a full disk, INTERNAL otherwise).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view data);

// The whole content of `path`; NOT_FOUND when it does not exist.
StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path);

// Flushes a directory's entries (after a rename or create in it) to disk.
Status SyncDirectory(const std::filesystem::path& dir);

// A Status for errno `err` of `what` on `path`, e.g. "open /x/y: Permission denied".
Status ErrnoError(const std::filesystem::path& path, std::string_view what, int err);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_FILES_H_
