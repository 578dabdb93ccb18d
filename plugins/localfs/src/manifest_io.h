// Reading and writing the plugin's protobuf state files, the canonical digest of a
// manifest, and owner names.
//
// Thread-safety: free functions are safe from any thread; NameCache is not.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_MANIFEST_IO_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_MANIFEST_IO_H_

#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/verify.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fs.h"

namespace lifeboat::localfs {

// Parses the protobuf message in `path`. NOT_FOUND when the file does not exist, DATA_LOSS
// when it does not parse.
template <typename Message>
StatusOr<Message> ReadProto(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, sdk::ReadWholeFile(path));
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

// The entries of the MemberManifest in a state file, one at a time as the file streams by
// (issue 13): a point's manifest.pb, or with `in_cut` the manifest inside a cut record
// (cut.pb, a CutResponse). A point of a million files need not be parsed whole to be read
// in order. Open: NOT_FOUND when the file does not exist; Next: DATA_LOSS when it is not a
// well-formed message.
class ManifestFileEntries {
 public:
  static StatusOr<std::unique_ptr<ManifestFileEntries>> Open(const std::string& path, bool in_cut);
  ~ManifestFileEntries();
  // The next entry: true with *entry set, false at the end.
  StatusOr<bool> Next(v1::Entry* entry);
  // The manifest's fields other than its entries, as far as read: the snapshot (written
  // before the entries) is there once Next() has been called.
  const v1::MemberManifest& Others();
  // This reader as an sdk::EntryStream; it must outlive the stream.
  sdk::EntryStream AsStream() {
    return [this](v1::Entry* e) { return Next(e); };
  }

 private:
  struct Impl;
  explicit ManifestFileEntries(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The snapshot reference of the MemberManifest in `path` (a point's manifest.pb), read from
// the head of the file: its entries are not parsed. NOT_FOUND when the file does not exist.
StatusOr<v1::SnapshotRef> ReadPointSnapshot(const std::string& path);
// Every field of the MemberManifest in `path` but its entries, entry_count set to their
// number: the file is streamed, never parsed whole.
StatusOr<v1::MemberManifest> ReadPointHeader(const std::string& path);

// The same of a cut record (cut.pb): its reference, and the record without its entries.
StatusOr<v1::SnapshotRef> ReadCutSnapshot(const std::string& path);
StatusOr<v1::CutResponse> ReadCutHeader(const std::string& path);

// Every item below `tree` (not following symbolic links) as the entry its lstat (and
// readlink) gives (LstatEntry: a file's digest field holds its device and inode), written
// sorted by path into the manifest file `out` (sdk::ManifestWriter:
// sorted runs on disk, not durable: a scratch file). Items whose names are not UTF-8 cannot
// be manifest entries: `unnamed` gets their raw relative path and type instead.
Status WalkTreeSorted(
    const sdk::Call& call, const std::string& tree, const std::string& out,
    const std::function<void(const std::string& raw, v1::EntryType type)>& unnamed);
// The entry of item `rel` below `tree` as lstat (and readlink) see it. A regular file's
// `digest` field carries its device and inode number instead (two u64, little-endian): these
// entries describe what is on disk for a comparison, and are never a manifest.
StatusOr<v1::Entry> LstatEntry(const std::string& tree, const std::string& rel);

// Serializes `message` into `path` atomically (see sdk::WriteFileAtomically).
template <typename Message>
Status WriteProto(const std::string& path, const Message& message, bool durable) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return InternalError("cannot serialize " + message.GetTypeName() + " for " + path, path);
  }
  return sdk::WriteFileAtomically(path, bytes, durable);
}

// WriteProto() for a large message: serialized straight into the file (no copy of its bytes in
// memory: a cut record of a million files is ~150 MB), then flushed and renamed into place.
Status WriteLargeProto(const std::string& path, const google::protobuf::MessageLite& message);

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

// The domain of localfs's manifest digest: sdk::CanonicalManifestDigest (sdk/manifest.h)
// with it is SHA-256 over "lifeboat.localfs.manifest.v1\n" (".v2\n" when any entry carries
// an ACL) and the entries' fields, as localfs has always recorded it.
inline constexpr char kManifestDigestDomain[] = "lifeboat.localfs.manifest";

// The canonical digest of `manifest`'s entries (in their order).
std::string ManifestDigest(const v1::MemberManifest& manifest);

// `manifest` as it crosses the plugin boundary (issue 13): the entries stay in the plugin's
// records (cut.pb, manifest.pb); the response carries their count, bytes and digest.
void KeepEntriesHome(v1::MemberManifest& manifest);
// A copy of every field of `manifest` but its entries, entry_count set to their number.
v1::MemberManifest WithoutEntries(const v1::MemberManifest& manifest);

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
