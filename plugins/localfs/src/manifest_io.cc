#include "manifest_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/manifest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <grp.h>
#include <pwd.h>

#include <vector>

#include "acl.h"

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
struct ManifestFileEntries::Impl {
  explicit Impl(int fd_in) : fd(fd_in), input(fd_in), stream(&input, 1 << 16), coded(&stream) {}
  Status Corrupt() const {
    return DataLossError("state file " + path + " is corrupt (its manifest does not parse); " +
                             "remove it and redo the operation",
                         path);
  }
  UniqueFd fd;
  FdInput input;
  google::protobuf::io::CopyingInputStreamAdaptor stream;
  google::protobuf::io::CodedInputStream coded;
  std::string path;
  std::string record;
  bool in_cut = false;
  bool inside = false;  // within the CutResponse's manifest field
  google::protobuf::io::CodedInputStream::Limit limit = 0;
  std::string others_raw;  // the manifest's other fields, as read
  bool others_dirty = false;
  v1::MemberManifest others;
};

ManifestFileEntries::ManifestFileEntries(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ManifestFileEntries::~ManifestFileEntries() = default;

StatusOr<std::unique_ptr<ManifestFileEntries>> ManifestFileEntries::Open(const std::string& path,
                                                                         bool in_cut) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  auto impl = std::make_unique<Impl>(fd);
  impl->path = path;
  impl->in_cut = in_cut;
  return std::unique_ptr<ManifestFileEntries>(new ManifestFileEntries(std::move(impl)));
}

StatusOr<bool> ManifestFileEntries::Next(v1::Entry* entry) {
  using google::protobuf::internal::WireFormatLite;
  constexpr int kCutManifest = v1::CutResponse::kManifestFieldNumber;
  constexpr int kEntries = v1::MemberManifest::kEntriesFieldNumber;
  Impl& m = *impl_;
  while (true) {
    const uint32_t tag = m.coded.ReadTag();
    if (tag == 0) {
      if (m.inside && m.coded.BytesUntilLimit() == 0) {
        m.coded.PopLimit(m.limit);
        m.inside = false;
        continue;
      }
      if (m.input.error() != 0) return ErrnoError(m.input.error(), "cannot read", m.path);
      if (m.inside || !m.coded.ConsumedEntireMessage()) return m.Corrupt();
      return false;
    }
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    const bool in_manifest = !m.in_cut || m.inside;
    if (!in_manifest && field == kCutManifest && delimited) {
      uint32_t len = 0;
      if (!m.coded.ReadVarint32(&len) || len > INT32_MAX) return m.Corrupt();
      m.limit = m.coded.PushLimit(static_cast<int>(len));
      m.inside = true;
      continue;
    }
    if (in_manifest && field == kEntries && delimited) {
      uint32_t len = 0;
      // An entry is a path and a few fields: anything near this size is damage.
      constexpr uint32_t kMaxEntryBytes = 64u << 20;
      if (!m.coded.ReadVarint32(&len) || len > kMaxEntryBytes ||
          !m.coded.ReadString(&m.record, static_cast<int>(len)) ||
          !entry->ParseFromString(m.record)) {
        return m.Corrupt();
      }
      return true;
    }
    if (in_manifest) {
      // Kept (the snapshot, counts, names: small), the entries are not.
      google::protobuf::io::StringOutputStream raw(&m.others_raw);
      google::protobuf::io::CodedOutputStream out(&raw);
      if (!WireFormatLite::SkipField(&m.coded, tag, &out)) return m.Corrupt();
      m.others_dirty = true;
      continue;
    }
    if (!WireFormatLite::SkipField(&m.coded, tag)) return m.Corrupt();
  }
}

const v1::MemberManifest& ManifestFileEntries::Others() {
  Impl& m = *impl_;
  if (m.others_dirty) {
    m.others.Clear();
    m.others.ParseFromString(m.others_raw);  // fields that parsed when skipped parse here
    m.others_dirty = false;
  }
  return m.others;
}

Status WriteLargeProto(const std::string& path, const google::protobuf::MessageLite& message) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "cannot create", tmp);
  if (!message.SerializeToFileDescriptor(fd.get())) {
    int err = errno;
    ::unlink(tmp.c_str());
    return err != 0
               ? ErrnoError(err, "cannot write", tmp)
               : InternalError("cannot serialize " + message.GetTypeName() + " for " + path, path);
  }
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "cannot flush", tmp);
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError(errno, "cannot rename", tmp);
  return sdk::SyncDirectory(ParentOf(path));
}

namespace {

// Every field of the manifest in `path` but its entries (counted).
StatusOr<v1::MemberManifest> HeaderOf(const std::string& path, bool in_cut) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto entries, ManifestFileEntries::Open(path, in_cut));
  v1::Entry e;
  uint64_t n = 0;
  for (;;) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, entries->Next(&e));
    if (!more) break;
    ++n;
  }
  v1::MemberManifest header = entries->Others();
  header.clear_entries();
  header.set_entry_count(n);
  return header;
}

// The snapshot reference of the manifest in `path` (inside a cut record with `in_cut`): the
// manifest's first field, written before the entries, so one entry is read at most.
StatusOr<v1::SnapshotRef> SnapshotOf(const std::string& path, bool in_cut) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto entries, ManifestFileEntries::Open(path, in_cut));
  v1::Entry first;
  LIFEBOAT_RETURN_IF_ERROR(entries->Next(&first).status());
  return entries->Others().snapshot();
}

}  // namespace

StatusOr<v1::SnapshotRef> ReadPointSnapshot(const std::string& path) {
  return SnapshotOf(path, /*in_cut=*/false);
}

StatusOr<v1::MemberManifest> ReadPointHeader(const std::string& path) {
  return HeaderOf(path, /*in_cut=*/false);
}

StatusOr<v1::SnapshotRef> ReadCutSnapshot(const std::string& path) {
  return SnapshotOf(path, /*in_cut=*/true);
}

StatusOr<v1::CutResponse> ReadCutHeader(const std::string& path) {
  LIFEBOAT_ASSIGN_OR_RETURN(v1::MemberManifest header, HeaderOf(path, /*in_cut=*/true));
  v1::CutResponse cut;
  *cut.mutable_snapshot() = header.snapshot();
  *cut.mutable_manifest() = std::move(header);
  return cut;
}

StatusOr<v1::Entry> LstatEntry(const std::string& tree, const std::string& rel) {
  const std::string abs = JoinPath(tree, rel);
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) return ErrnoError(errno, "cannot inspect", abs);
  v1::Entry e;
  e.set_path(rel);
  e.set_type(EntryTypeOf(st));
  e.set_mode(st.st_mode & 07777);
  e.set_uid(st.st_uid);
  e.set_gid(st.st_gid);
  e.set_mtime_unix_nanos(MtimeNs(st));
  if (S_ISREG(st.st_mode)) {
    e.set_size(static_cast<uint64_t>(st.st_size));
    std::string id;
    AppendU64(id, static_cast<uint64_t>(st.st_dev));
    AppendU64(id, static_cast<uint64_t>(st.st_ino));
    e.set_digest(id);  // not a digest: see the header
  }
  if (S_ISLNK(st.st_mode)) {
    StatusOr<std::string> link = ReadLink(abs);
    // (A manifest holds UTF-8 only; the cut refuses other targets.)
    e.set_symlink_target(!link.ok()           ? "(" + link.status().message() + ")"
                         : IsValidUtf8(*link) ? *link
                                              : Printable(*link));
  }
  return e;
}

Status WalkTreeSorted(
    const sdk::Call& call, const std::string& tree, const std::string& out,
    const std::function<void(const std::string& raw, v1::EntryType type)>& unnamed) {
  // The tree's items kept in memory before a sorted run goes to disk.
  constexpr size_t kWalkBufferBytes = size_t{16} << 20;
  sdk::ManifestWriterOptions options;
  options.buffer_bytes = kWalkBufferBytes;
  options.durable = false;  // scratch
  sdk::ManifestWriter writer(out, options);
  std::vector<std::string> pending = {""};
  size_t seen = 0;
  while (!pending.empty()) {
    const std::string rel = std::move(pending.back());
    pending.pop_back();
    const std::string dir = rel.empty() ? tree : JoinPath(tree, rel);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoError(errno, "cannot list", dir);
    struct Closer {
      DIR* d;
      ~Closer() { ::closedir(d); }
    } closer{d};
    while (struct dirent* de = ::readdir(d)) {
      if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
      if (++seen % 1024 == 0 && call.Cancelled()) {
        return CancelledError("cancelled while listing " + tree + "; run the operation again");
      }
      const std::string child = rel.empty() ? de->d_name : rel + "/" + de->d_name;
      LIFEBOAT_ASSIGN_OR_RETURN(v1::Entry e, LstatEntry(tree, child));
      if (e.type() == v1::ENTRY_DIRECTORY) pending.push_back(child);
      if (IsValidUtf8(child)) {
        LIFEBOAT_RETURN_IF_ERROR(writer.Add(std::move(e)));
      } else {
        unnamed(child, e.type());
      }
    }
  }
  return writer.Finish().status();
}

v1::EntryType EntryTypeOf(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return v1::ENTRY_FILE;
  if (S_ISDIR(st.st_mode)) return v1::ENTRY_DIRECTORY;
  if (S_ISLNK(st.st_mode)) return v1::ENTRY_SYMLINK;
  return v1::ENTRY_TYPE_UNSPECIFIED;
}

std::string ManifestDigest(const v1::MemberManifest& manifest) {
  return sdk::CanonicalManifestDigest(manifest.entries(), kManifestDigestDomain);
}

v1::MemberManifest WithoutEntries(const v1::MemberManifest& manifest) {
  // Field by field: a copy of the whole message would copy the entries first.
  v1::MemberManifest out;
  if (manifest.has_snapshot()) *out.mutable_snapshot() = manifest.snapshot();
  out.set_digest_algorithm(manifest.digest_algorithm());
  out.set_total_bytes(manifest.total_bytes());
  out.set_manifest_digest(manifest.manifest_digest());
  out.set_base_restore_point_id(manifest.base_restore_point_id());
  out.set_committed_unix_nanos(manifest.committed_unix_nanos());
  *out.mutable_user_names() = manifest.user_names();
  *out.mutable_group_names() = manifest.group_names();
  out.set_entry_count(manifest.entries_size() != 0 ? static_cast<uint64_t>(manifest.entries_size())
                                                   : manifest.entry_count());
  return out;
}

void KeepEntriesHome(v1::MemberManifest& manifest) {
  if (manifest.entries_size() == 0) return;
  manifest.set_entry_count(static_cast<uint64_t>(manifest.entries_size()));
  manifest.clear_entries();
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
