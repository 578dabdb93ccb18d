// POSIX ACLs of files and directories, read and written through the extended attributes
// the kernel keeps them in (system.posix_acl_access, system.posix_acl_default), in a
// canonical form that compares, translates ids and prints.
//
// Why the attributes and not libacl: the attribute is the kernel's own format (a version
// word, then sorted {tag, permissions, id} triples), so reading, comparing and rewriting an
// ACL is a few lines without a name lookup anywhere; libacl's text functions resolve names
// through this host's user database, which is exactly what a sync across clusters must
// control itself (see security.cc). Tests use libacl to cross-check this codec.
//
// Thread-safety: values and free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_ACL_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_ACL_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::localfs {

enum class AclKind {
  kAccess,   // who may do what with the item itself
  kDefault,  // what items created in a directory inherit
};

struct AclEntry {
  // The kernel's tag values, in the order an ACL lists them.
  enum Tag : uint16_t {
    kUserObj = 0x01,   // the owner
    kUser = 0x02,      // a named user (id)
    kGroupObj = 0x04,  // the owning group
    kGroup = 0x08,     // a named group (id)
    kMask = 0x10,      // the most kUser, kGroupObj and kGroup entries may grant
    kOther = 0x20,
  };
  static constexpr uint32_t kNoId = 0xffffffffu;

  uint16_t tag = 0;
  uint16_t perm = 0;    // 4 = r, 2 = w, 1 = x
  uint32_t id = kNoId;  // uid for kUser, gid for kGroup, kNoId otherwise

  bool operator==(const AclEntry& o) const { return tag == o.tag && perm == o.perm && id == o.id; }
  bool operator<(const AclEntry& o) const { return tag != o.tag ? tag < o.tag : id < o.id; }
};

// One ACL, its entries sorted by (tag, id). Empty means "none": no default ACL, or no access
// ACL beyond the permission bits.
class Acl {
 public:
  Acl() = default;
  explicit Acl(std::vector<AclEntry> entries);

  // Parses the kernel's attribute value. INVALID_ARGUMENT when it is not one.
  static StatusOr<Acl> FromXattr(std::string_view bytes);
  std::string ToXattr() const;

  // Parses the text form ToText() writes ("u::rw-,u:1001:r--,g::r-x,m::r-x,o::---", ids in
  // decimal); "" is the empty ACL. INVALID_ARGUMENT naming the bad entry otherwise.
  static StatusOr<Acl> FromText(std::string_view text);
  // Comma-separated entries with numeric ids; "" for the empty ACL.
  std::string ToText() const;
  // The same with each id written by `name` (e.g. a user name when it is known).
  std::string ToText(const std::function<std::string(uint16_t tag, uint32_t id)>& name) const;

  // The ACL as chmod(2) to `mode` leaves it: the owner, other, and mask (or, without a mask,
  // owning group) entries take the permission bits' values; named entries stay.
  Acl WithMode(uint32_t mode) const;

  bool empty() const { return entries_.empty(); }
  // Only owner, owning group and other: the permission bits say it all.
  bool IsMinimal() const;
  const std::vector<AclEntry>& entries() const { return entries_; }

  bool operator==(const Acl& o) const { return entries_ == o.entries_; }
  bool operator!=(const Acl& o) const { return !(*this == o); }

 private:
  std::vector<AclEntry> entries_;
};

// The ACL of `kind` on `path` (a final symbolic link is not followed: links have none).
// Empty when there is none, when the access ACL is minimal, and when the file system does
// not support ACLs. An error naming the path when the attribute cannot be read or parsed.
StatusOr<Acl> ReadAcl(const std::string& path, AclKind kind);
// The access ACL of an open file (same rules).
StatusOr<Acl> ReadAccessAclFd(int fd, const std::string& path);

// Makes the ACL of `kind` on `path` equal `acl`; an empty one removes it (for the access
// ACL the permission bits then rule alone). Setting an access ACL changes the group bits
// of the mode to its mask, so callers set the mode after it. FAILED_PRECONDITION when the
// file system does not support ACLs and `acl` is not empty.
Status WriteAcl(const std::string& path, AclKind kind, const Acl& acl);
// The access ACL of an open file (same rules).
Status WriteAccessAclFd(int fd, const std::string& path, const Acl& acl);

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_ACL_H_
