#include "manifest_io.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <unistd.h>

#include <cerrno>

#include <grp.h>
#include <pwd.h>

#include <vector>

#include "acl.h"
#include "sha256.h"

namespace lifeboat::localfs {

namespace {

// A file descriptor as protobuf's copying input stream (the lite runtime has no file
// stream of its own).
class FdInput : public google::protobuf::io::CopyingInputStream {
 public:
  explicit FdInput(int fd) : fd_(fd) {}
  int Read(void* buffer, int size) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, static_cast<size_t>(size));
      if (n >= 0) return static_cast<int>(n);
      if (errno != EINTR) {
        errno_ = errno;
        return -1;
      }
    }
  }
  int error() const { return errno_; }

 private:
  int fd_;
  int errno_ = 0;
};

}  // namespace

StatusOr<int64_t> ReadCommittedUnixNanos(const std::string& path) {
  using google::protobuf::internal::WireFormatLite;
  constexpr int kCommittedField = v1::MemberManifest::kCommittedUnixNanosFieldNumber;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "cannot open", path);
  FdInput input(fd.get());
  google::protobuf::io::CopyingInputStreamAdaptor stream(&input, 1 << 16);
  google::protobuf::io::CodedInputStream coded(&stream);
  int64_t committed = 0;
  while (true) {
    const uint32_t tag = coded.ReadTag();
    if (tag == 0) break;  // the end (or a malformed tag, told apart below)
    if (WireFormatLite::GetTagFieldNumber(tag) == kCommittedField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!coded.ReadVarint64(&v)) break;
      committed = static_cast<int64_t>(v);  // the last occurrence wins, as in a parse
      continue;
    }
    if (!WireFormatLite::SkipField(&coded, tag)) break;
  }
  if (input.error() != 0) return ErrnoError(input.error(), "cannot read", path);
  if (!coded.ConsumedEntireMessage()) {
    return DataLossError("state file " + path +
                             " is corrupt (it does not parse as lifeboat.v1.MemberManifest); "
                             "remove it and redo the operation",
                         path);
  }
  return committed;
}
namespace {

void PutString(std::string& out, std::string_view s) {
  AppendU32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

}  // namespace

v1::EntryType EntryTypeOf(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return v1::ENTRY_FILE;
  if (S_ISDIR(st.st_mode)) return v1::ENTRY_DIRECTORY;
  if (S_ISLNK(st.st_mode)) return v1::ENTRY_SYMLINK;
  return v1::ENTRY_TYPE_UNSPECIFIED;
}

std::string ManifestDigest(const v1::MemberManifest& manifest) {
  Sha256 sha;
  bool acls = false;
  for (const v1::Entry& e : manifest.entries()) {
    acls = acls || !e.acl_access().empty() || !e.acl_default().empty();
  }
  std::string buf = acls ? "lifeboat.localfs.manifest.v2\n" : "lifeboat.localfs.manifest.v1\n";
  for (const v1::Entry& e : manifest.entries()) {
    PutString(buf, e.path());
    buf += static_cast<char>(e.type());
    AppendU64(buf, e.size());
    AppendU64(buf, static_cast<uint64_t>(e.mtime_unix_nanos()));
    AppendU32(buf, e.mode());
    AppendU32(buf, e.uid());
    AppendU32(buf, e.gid());
    PutString(buf, e.owner());
    PutString(buf, e.group());
    PutString(buf, e.symlink_target());
    PutString(buf, e.digest());
    if (acls) {
      PutString(buf, e.acl_access());
      PutString(buf, e.acl_default());
    }
    if (buf.size() > (1 << 20)) {
      sha.Update(buf);
      buf.clear();
    }
  }
  sha.Update(buf);
  return sha.Finish();
}

namespace {

StatusOr<Acl> EntryAcl(const v1::Entry& e, AclKind kind) {
  const std::string& text = kind == AclKind::kAccess ? e.acl_access() : e.acl_default();
  StatusOr<Acl> acl = Acl::FromText(text);
  if (!acl.ok()) return acl.status().WithContext("the manifest entry of " + e.path());
  return acl;
}

}  // namespace

Status ApplyEntryMetadata(const std::string& path, const v1::Entry& e) {
  if (e.type() == v1::ENTRY_SYMLINK) {
    return ApplyPathMetadata(path, true, e.uid(), e.gid(), e.mode(), e.mtime_unix_nanos());
  }
  // ACLs first: the chown and chmod after them settle the owner, set-id bits and the mode
  // (whose group bits are the access ACL's mask in both).
  LIFEBOAT_ASSIGN_OR_RETURN(Acl access, EntryAcl(e, AclKind::kAccess));
  LIFEBOAT_RETURN_IF_ERROR(WriteAcl(path, AclKind::kAccess, access));
  if (e.type() == v1::ENTRY_DIRECTORY) {
    LIFEBOAT_ASSIGN_OR_RETURN(Acl inherited, EntryAcl(e, AclKind::kDefault));
    LIFEBOAT_RETURN_IF_ERROR(WriteAcl(path, AclKind::kDefault, inherited));
  }
  return ApplyPathMetadata(path, false, e.uid(), e.gid(), e.mode(), e.mtime_unix_nanos());
}

Status ApplyEntryMetadata(int fd, const std::string& path, const v1::Entry& e) {
  LIFEBOAT_ASSIGN_OR_RETURN(Acl access, EntryAcl(e, AclKind::kAccess));
  LIFEBOAT_RETURN_IF_ERROR(WriteAccessAclFd(fd, path, access));
  return ApplyFileMetadata(fd, path, e.uid(), e.gid(), e.mode(), e.mtime_unix_nanos());
}

bool AclsDiffer(const std::string& path, const v1::Entry& e) {
  if (e.type() != v1::ENTRY_FILE && e.type() != v1::ENTRY_DIRECTORY) return false;
  StatusOr<Acl> access = ReadAcl(path, AclKind::kAccess);
  if (!access.ok() || access->ToText() != e.acl_access()) return true;
  if (e.type() != v1::ENTRY_DIRECTORY) return false;
  StatusOr<Acl> inherited = ReadAcl(path, AclKind::kDefault);
  return !inherited.ok() || inherited->ToText() != e.acl_default();
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string Printable(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (IsValidUtf8(s)) {
    bool plain = true;
    for (unsigned char c : s) plain = plain && c >= 0x20 && c != 0x7f;
    if (plain) return std::string(s);
  }
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

const std::string& NameCache::User(uint32_t uid) {
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  std::string name;
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    name = found->pw_name;
  }
  if (!IsValidUtf8(name)) name.clear();
  return users_.emplace(uid, std::move(name)).first->second;
}

const std::string& NameCache::Group(uint32_t gid) {
  auto it = groups_.find(gid);
  if (it != groups_.end()) return it->second;
  std::string name;
  struct group gr;
  struct group* found = nullptr;
  std::vector<char> buf(16384);
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    name = found->gr_name;
  }
  if (!IsValidUtf8(name)) name.clear();
  return groups_.emplace(gid, std::move(name)).first->second;
}

}  // namespace lifeboat::localfs
