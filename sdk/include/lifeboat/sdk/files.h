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
//
// `durable` false skips both flushes: the replacement is still atomic across a crash of the
// process, but after a crash of the machine the file may hold either version or be empty.
// For records that are cheap to make again (caches, plans), where an fsync per write costs
// more than they are worth.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view data,
                           bool durable = true);

// The whole content of `path`; NOT_FOUND when it does not exist.
StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path);

// Flushes a directory's entries (after a rename or create in it) to disk.
Status SyncDirectory(const std::filesystem::path& dir);

// A Status for errno `err` of `what` on `path`, e.g. "open /x/y: Permission denied; give the
// agent's user access to it". The code: NOT_FOUND (ENOENT, ENOTDIR), PERMISSION_DENIED
// (EACCES, EPERM), RESOURCE_EXHAUSTED (a full disk or quota, out of file handles or memory),
// ALREADY_EXISTS (EEXIST, ENOTEMPTY), FAILED_PRECONDITION (a read-only file system, a
// directory or link in the way, a name too long), UNAVAILABLE (EIO, EAGAIN, EINTR,
// ETIMEDOUT), INTERNAL otherwise. `hint` says what to do; without one, the RESOURCE_EXHAUSTED
// and PERMISSION_DENIED errors get a general one.
Status ErrnoError(const std::filesystem::path& path, std::string_view what, int err,
                  std::string_view hint = {});

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_FILES_H_
