#include "acl.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "fs.h"

namespace lifeboat::localfs {
namespace {

// The attribute format (linux/posix_acl_xattr.h): a little-endian u32 version, then per
// entry a u16 tag, a u16 permission set and a u32 id.
constexpr uint32_t kXattrVersion = 2;
constexpr size_t kHeaderSize = 4;
constexpr size_t kEntrySize = 8;

const char* XattrName(AclKind kind) {
  return kind == AclKind::kAccess ? "system.posix_acl_access" : "system.posix_acl_default";
}

uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
uint16_t LoadU16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) |
                               (static_cast<unsigned char>(p[1]) << 8));
}
void PutU16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

char TagLetter(uint16_t tag) {
  switch (tag) {
    case AclEntry::kUserObj:
    case AclEntry::kUser:
      return 'u';
    case AclEntry::kGroupObj:
    case AclEntry::kGroup:
      return 'g';
    case AclEntry::kMask:
      return 'm';
    case AclEntry::kOther:
      return 'o';
    default:
      return '?';
  }
}

bool Qualified(uint16_t tag) { return tag == AclEntry::kUser || tag == AclEntry::kGroup; }

bool Unsupported(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

// Reads attribute `name` through `get` (lgetxattr or fgetxattr), growing the buffer as
// needed. Returns "" when the attribute does not exist or is not supported.
template <typename Get>
StatusOr<std::string> GetAttr(const Get& get, const std::string& path) {
  std::string buf(256, '\0');
  while (true) {
    ssize_t n = get(buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (errno == ENODATA || Unsupported(errno)) return std::string();
    if (errno != ERANGE) return ErrnoError(errno, "cannot read the ACL of", path);
    ssize_t size = get(nullptr, 0);
    if (size < 0) return ErrnoError(errno, "cannot read the ACL of", path);
    buf.resize(static_cast<size_t>(size) + 64);
  }
}

StatusOr<Acl> Parse(const std::string& bytes, AclKind kind, const std::string& path) {
  if (bytes.empty()) return Acl();
  StatusOr<Acl> acl = Acl::FromXattr(bytes);
  if (!acl.ok()) return acl.status().WithContext("the ACL of " + path);
  if (kind == AclKind::kAccess && acl->IsMinimal()) return Acl();
  return acl;
}

Status WriteError(int err, const std::string& path, const Acl& acl) {
  if (Unsupported(err)) {
    return FailedPreconditionError("cannot set the ACL " + acl.ToText() + " on " + path +
                                       ": its file system does not support POSIX ACLs; mount it "
                                       "with ACL support",
                                   path);
  }
  if (err == EINVAL) {
    return InvalidArgumentError("the kernel refused the ACL " + acl.ToText() + " for " + path +
                                    " as malformed (each of u::, g:: and o:: once, and m:: when "
                                    "there are named entries)",
                                path);
  }
  return ErrnoError(err, "cannot set the ACL of", path);
}

}  // namespace

Acl::Acl(std::vector<AclEntry> entries) : entries_(std::move(entries)) {
  std::sort(entries_.begin(), entries_.end());
}

StatusOr<Acl> Acl::FromXattr(std::string_view bytes) {
  if (bytes.size() < kHeaderSize || (bytes.size() - kHeaderSize) % kEntrySize != 0) {
    return InvalidArgumentError("an ACL attribute of " + std::to_string(bytes.size()) +
                                " bytes is not a version word followed by 8-byte entries");
  }
  uint32_t version = LoadU32(bytes.data());
  if (version != kXattrVersion) {
    return InvalidArgumentError("ACL attribute version " + std::to_string(version) +
                                " is not the supported version 2");
  }
  std::vector<AclEntry> entries;
  for (size_t at = kHeaderSize; at < bytes.size(); at += kEntrySize) {
    AclEntry e;
    e.tag = LoadU16(bytes.data() + at);
    e.perm = LoadU16(bytes.data() + at + 2) & 7;
    e.id = Qualified(e.tag) ? LoadU32(bytes.data() + at + 4) : AclEntry::kNoId;
    if (TagLetter(e.tag) == '?') {
      return InvalidArgumentError("ACL attribute holds an entry of unknown tag " +
                                  std::to_string(e.tag));
    }
    entries.push_back(e);
  }
  return Acl(std::move(entries));
}

std::string Acl::ToXattr() const {
  std::string out;
  out.reserve(kHeaderSize + kEntrySize * entries_.size());
  PutU32(out, kXattrVersion);
  for (const AclEntry& e : entries_) {
    PutU16(out, e.tag);
    PutU16(out, e.perm);
    PutU32(out, e.id);
  }
  return out;
}

StatusOr<Acl> Acl::FromText(std::string_view text) {
  std::vector<AclEntry> entries;
  if (text.empty()) return Acl();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto bad = [&](const std::string& why) {
      return InvalidArgumentError("ACL entry '" + std::string(item) + "' in '" + std::string(text) +
                                  "' " + why + "; write entries like u::rw-, u:1001:r-- or m::r-x");
    };
    size_t c1 = item.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : item.find(':', c1 + 1);
    if (c1 != 1 || c2 == std::string_view::npos || item.size() != c2 + 4) {
      return bad("is not TYPE:ID:PERMS");
    }
    std::string_view qualifier = item.substr(2, c2 - 2);
    std::string_view perms = item.substr(c2 + 1);
    AclEntry e;
    switch (item[0]) {
      case 'u':
        e.tag = qualifier.empty() ? AclEntry::kUserObj : AclEntry::kUser;
        break;
      case 'g':
        e.tag = qualifier.empty() ? AclEntry::kGroupObj : AclEntry::kGroup;
        break;
      case 'm':
        e.tag = AclEntry::kMask;
        break;
      case 'o':
        e.tag = AclEntry::kOther;
        break;
      default:
        return bad("has an unknown type (u, g, m or o)");
    }
    if (!qualifier.empty()) {
      if (!Qualified(e.tag)) return bad("has an id, which only u and g entries take");
      uint32_t id = 0;
      auto [end, ec] = std::from_chars(qualifier.data(), qualifier.data() + qualifier.size(), id);
      if (ec != std::errc() || end != qualifier.data() + qualifier.size() ||
          id == AclEntry::kNoId) {
        return bad("has an id that is not a decimal number below 4294967295");
      }
      e.id = id;
    }
    static constexpr char kLetters[] = "rwx";
    for (int i = 0; i < 3; ++i) {
      if (perms[static_cast<size_t>(i)] == kLetters[i]) {
        e.perm = static_cast<uint16_t>(e.perm | (4 >> i));
      } else if (perms[static_cast<size_t>(i)] != '-') {
        return bad("has permissions that are not of the form rwx with '-' for absent ones");
      }
    }
    entries.push_back(e);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Acl(std::move(entries));
}

std::string Acl::ToText() const {
  return ToText([](uint16_t, uint32_t id) { return std::to_string(id); });
}

std::string Acl::ToText(const std::function<std::string(uint16_t tag, uint32_t id)>& name) const {
  std::string out;
  for (const AclEntry& e : entries_) {
    if (!out.empty()) out += ',';
    out += TagLetter(e.tag);
    out += ':';
    if (Qualified(e.tag)) out += name(e.tag, e.id);
    out += ':';
    out += (e.perm & 4) ? 'r' : '-';
    out += (e.perm & 2) ? 'w' : '-';
    out += (e.perm & 1) ? 'x' : '-';
  }
  return out;
}

Acl Acl::WithMode(uint32_t mode) const {
  Acl out = *this;
  bool has_mask = false;
  for (const AclEntry& e : out.entries_) has_mask = has_mask || e.tag == AclEntry::kMask;
  const uint16_t group_tag = has_mask ? AclEntry::kMask : AclEntry::kGroupObj;
  for (AclEntry& e : out.entries_) {
    if (e.tag == AclEntry::kUserObj) e.perm = static_cast<uint16_t>((mode >> 6) & 7);
    if (e.tag == group_tag) e.perm = static_cast<uint16_t>((mode >> 3) & 7);
    if (e.tag == AclEntry::kOther) e.perm = static_cast<uint16_t>(mode & 7);
  }
  return out;
}

bool Acl::IsMinimal() const {
  for (const AclEntry& e : entries_) {
    if (e.tag != AclEntry::kUserObj && e.tag != AclEntry::kGroupObj && e.tag != AclEntry::kOther) {
      return false;
    }
  }
  return true;
}

StatusOr<Acl> ReadAcl(const std::string& path, AclKind kind) {
  const char* name = XattrName(kind);
  LIFEBOAT_ASSIGN_OR_RETURN(
      std::string bytes,
      GetAttr([&](char* buf, size_t size) { return ::lgetxattr(path.c_str(), name, buf, size); },
              path));
  return Parse(bytes, kind, path);
}

StatusOr<Acl> ReadAccessAclFd(int fd, const std::string& path) {
  const char* name = XattrName(AclKind::kAccess);
  LIFEBOAT_ASSIGN_OR_RETURN(
      std::string bytes,
      GetAttr([&](char* buf, size_t size) { return ::fgetxattr(fd, name, buf, size); }, path));
  return Parse(bytes, AclKind::kAccess, path);
}

Status WriteAcl(const std::string& path, AclKind kind, const Acl& acl) {
  const char* name = XattrName(kind);
  if (acl.empty() || (kind == AclKind::kAccess && acl.IsMinimal())) {
    if (::lremovexattr(path.c_str(), name) != 0 && errno != ENODATA && !Unsupported(errno)) {
      return ErrnoError(errno, "cannot remove the ACL of", path);
    }
    return OkStatus();
  }
  std::string bytes = acl.ToXattr();
  if (::lsetxattr(path.c_str(), name, bytes.data(), bytes.size(), 0) != 0) {
    return WriteError(errno, path, acl);
  }
  return OkStatus();
}

Status WriteAccessAclFd(int fd, const std::string& path, const Acl& acl) {
  const char* name = XattrName(AclKind::kAccess);
  if (acl.empty() || acl.IsMinimal()) {
    if (::fremovexattr(fd, name) != 0 && errno != ENODATA && !Unsupported(errno)) {
      return ErrnoError(errno, "cannot remove the ACL of", path);
    }
    return OkStatus();
  }
  std::string bytes = acl.ToXattr();
  if (::fsetxattr(fd, name, bytes.data(), bytes.size(), 0) != 0) {
    return WriteError(errno, path, acl);
  }
  return OkStatus();
}

}  // namespace lifeboat::localfs
