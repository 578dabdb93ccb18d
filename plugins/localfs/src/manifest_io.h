// Reading and writing the plugin's protobuf state files, the canonical digest of a
// manifest, and owner names.
//
// Thread-safety: free functions are safe from any thread; NameCache is not.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_MANIFEST_IO_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_MANIFEST_IO_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fs.h"

namespace lifeboat::localfs {

// Parses the protobuf message in `path`. NOT_FOUND when the file does not exist, DATA_LOSS
// when it does not parse.
template <typename Message>
StatusOr<Message> ReadProto(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  Message message;
  if (!message.ParseFromString(bytes)) {
    return DataLossError("state file " + path + " is corrupt (it does not parse as " +
                             message.GetTypeName() + "); remove it and redo the operation",
                         path);
  }
  return message;
}

// MemberManifest.committed_unix_nanos of the manifest in `path` (0 when unset), read as the
// file streams by, without parsing its entries: a point of a million files need not be
// loaded to learn when it was committed. NOT_FOUND when the file does not exist, DATA_LOSS
// when it is not a well-formed message.
StatusOr<int64_t> ReadCommittedUnixNanos(const std::string& path);

// Serializes `message` into `path` atomically (see WriteFileAtomic).
template <typename Message>
Status WriteProto(const std::string& path, const Message& message, bool durable) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return InternalError("cannot serialize " + message.GetTypeName() + " for " + path, path);
  }
  return WriteFileAtomic(path, bytes, durable);
}

// The manifest type of what `st` describes; ENTRY_TYPE_UNSPECIFIED for sockets, FIFOs and
// devices.
v1::EntryType EntryTypeOf(const struct stat& st);

// Little-endian integers appended to a byte string (state file formats).
inline void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void AppendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// SHA-256 over the canonical serialization of `manifest`'s entries (in their order):
//   "lifeboat.localfs.manifest.v1\n", then per entry, integers little-endian and strings
//   as a u32 length followed by the bytes:
//   path, u8 type, u64 size, i64 mtime_unix_nanos, u32 mode, u32 uid, u32 gid, owner,
//   group, symlink_target, digest.
// When any entry carries an ACL the header is "lifeboat.localfs.manifest.v2\n" and every
// entry ends with acl_access and acl_default as two more strings; manifests without ACLs
// keep the digest they had before ACLs were recorded.
std::string ManifestDigest(const v1::MemberManifest& manifest);

// Applies what `e` records to the item at `path`: ACLs (access, and default for a
// directory; an empty text removes one), then owner (as root), permission bits and mtime
// (see ApplyPathMetadata). The fd form is for an open regular file. INVALID_ARGUMENT when an
// ACL text of `e` does not parse.
Status ApplyEntryMetadata(const std::string& path, const v1::Entry& e);
Status ApplyEntryMetadata(int fd, const std::string& path, const v1::Entry& e);

// Whether the ACLs of the item at `path` differ from those `e` records (an ACL that cannot
// be read counts as different).
bool AclsDiffer(const std::string& path, const v1::Entry& e);

// True when `s` is valid UTF-8. Manifests carry paths in protobuf string fields, which
// must be UTF-8, so a name that is not cannot be recorded.
bool IsValidUtf8(std::string_view s);

// Printable form of a file name for messages: bytes outside printable ASCII and UTF-8 are
// written as \xNN.
std::string Printable(std::string_view s);

// User and group names by id, looked up once each.
class NameCache {
 public:
  const std::string& User(uint32_t uid);
  const std::string& Group(uint32_t gid);

 private:
  std::map<uint32_t, std::string> users_;
  std::map<uint32_t, std::string> groups_;
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_MANIFEST_IO_H_
