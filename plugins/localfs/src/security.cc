// sync_security: owner, group, permission bits and POSIX ACLs of the items both clusters
// hold, made equal to the source's, with user and group names translated.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "acl.h"
#include "config.h"
#include "fence.h"
#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"
#include "peer.h"

namespace lifeboat::localfs {
namespace {

// Answers of recent syncs kept per data set (a sync's answer can be long).
constexpr size_t kSecurityJournalKeep = 8;

using NameMap = google::protobuf::Map<std::string, std::string>;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<uint32_t> ParseId(std::string_view s) {
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return id;
}

std::optional<uint32_t> LookUpUser(const std::string& name) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_uid;
  }
  return std::nullopt;
}

std::optional<uint32_t> LookUpGroup(const std::string& name) {
  struct group gr;
  struct group* found = nullptr;
  std::vector<char> buf(16384);
  if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->gr_gid;
  }
  return std::nullopt;
}

// Source ids to this cluster's ids, through names and the request's maps.
//
// Naming the source's ids: localfs reads the source tree on this same host, so its ids are
// named by this host's user database (a plugin for a remote component would ask the source).
// An id without a name is named by its decimal form ("1234"); the maps may translate that
// too, and left alone it stands for the same id here.
class IdTranslator {
 public:
  // `source_names`: the names the source's host gave the ids (a cut manifest read through
  // the stream); null when the source tree is on this host and its user database names them.
  IdTranslator(const NameMap& users, const NameMap& groups,
               const v1::MemberManifest* source_names = nullptr)
      : users_(users), groups_(groups), source_names_(source_names) {}

  // The uid (or gid, with `group`) here for source id `id`. FAILED_PRECONDITION naming the
  // name, how it was reached and the path when this cluster has no such user or group.
  StatusOr<uint32_t> Translate(bool group, uint32_t id, std::string_view role,
                               const std::string& path) {
    auto& cache = group ? group_ids_ : user_ids_;
    auto it = cache.find(id);
    if (it == cache.end()) {
      std::string source = SourceName(group, id);
      if (source.empty()) source = std::to_string(id);
      const NameMap& map = group ? groups_ : users_;
      auto mapped = map.find(source);
      std::string target = mapped == map.end() ? source : mapped->second;
      std::optional<uint32_t> here = group ? LookUpGroup(target) : LookUpUser(target);
      if (!here && AllDigits(target)) here = ParseId(target);
      it = cache.emplace(id, Resolution{source, target, mapped != map.end(), here}).first;
    }
    const Resolution& r = it->second;
    if (r.id) return *r.id;
    const char* kind = group ? "group" : "user";
    const char* map_name = group ? "group_map" : "user_map";
    std::string how = r.mapped ? " (mapped from source " + std::string(kind) + " '" + r.source +
                                     "' by " + map_name + ")"
                               : "";
    return FailedPreconditionError(std::string(kind) + " '" + r.target + "'" + how + " " +
                                       std::string(role) + " '" + path +
                                       "' on the source but does not exist on this cluster; "
                                       "create it, or map '" +
                                       r.source + "' to an existing " + kind + " in " + map_name,
                                   path);
  }

 private:
  struct Resolution {
    std::string source;  // the name on the source (or the decimal id)
    std::string target;  // the name it becomes here
    bool mapped = false;
    std::optional<uint32_t> id;  // its id here, when it exists
  };
  std::string SourceName(bool group, uint32_t id) {
    if (source_names_ == nullptr) return group ? names_.Group(id) : names_.User(id);
    const auto& names = group ? source_names_->group_names() : source_names_->user_names();
    auto it = names.find(id);
    return it == names.end() ? "" : it->second;
  }

  const NameMap& users_;
  const NameMap& groups_;
  const v1::MemberManifest* source_names_;
  NameCache names_;
  std::map<uint32_t, Resolution> user_ids_;
  std::map<uint32_t, Resolution> group_ids_;
};

// `acl` of the source with its named entries translated. FAILED_PRECONDITION when a name is
// unknown here or when two source names become one (the kernel takes each id once).
StatusOr<Acl> TranslateAcl(const Acl& acl, IdTranslator& ids, const std::string& what,
                           const std::string& path) {
  std::vector<AclEntry> out;
  std::set<std::pair<uint16_t, uint32_t>> seen;
  for (AclEntry e : acl.entries()) {
    if (e.tag == AclEntry::kUser || e.tag == AclEntry::kGroup) {
      bool group = e.tag == AclEntry::kGroup;
      LIFEBOAT_ASSIGN_OR_RETURN(
          e.id, ids.Translate(group, e.id, "is named in the " + what + " of", path));
      if (!seen.insert({e.tag, e.id}).second) {
        return FailedPreconditionError(
            "the " + what + " of '" + path + "' names two source " + (group ? "groups" : "users") +
                " that the maps turn into the same one here (id " + std::to_string(e.id) +
                "); a POSIX ACL names each once: fix " + (group ? "group_map" : "user_map"),
            path);
      }
    }
    out.push_back(e);
  }
  return Acl(std::move(out));
}

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

// One item of the source's data set: from a walk of its tree (by path), or from the entries
// of its cut's manifest (through the peer stream). ACLs are read when first needed.
struct SourceItem {
  std::string rel;    // "" for the data set's directory itself
  struct stat st {};  // st_mode (type and bits), st_uid, st_gid are what counts
  std::optional<Acl> access, default_acl;  // set up front from a manifest
};

// The source's items through the peer stream: the cut `ref`'s record, read whole.
StatusOr<std::vector<SourceItem>> ItemsOfTheCut(const PeerSource& source,
                                                const v1::SnapshotRef& ref,
                                                v1::MemberManifest& manifest) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, source.ReadRecord(ref, kItemCut));
  v1::CutResponse cut;
  if (!cut.ParseFromString(bytes)) {
    return DataLossError("the cut record of " + ref.restore_point_id() + " from " + source.where() +
                         " is not a cut record (" + std::to_string(bytes.size()) + " bytes)");
  }
  manifest = std::move(*cut.mutable_manifest());
  std::vector<SourceItem> items;
  items.reserve(static_cast<size_t>(manifest.entries_size()));
  for (const v1::Entry& e : manifest.entries()) {
    SourceItem item;
    item.rel = e.path();
    switch (e.type()) {
      case v1::ENTRY_DIRECTORY:
        item.st.st_mode = S_IFDIR;
        break;
      case v1::ENTRY_FILE:
        item.st.st_mode = S_IFREG;
        break;
      case v1::ENTRY_SYMLINK:
        item.st.st_mode = S_IFLNK;
        break;
      default:
        continue;
    }
    item.st.st_mode |= e.mode() & 07777;
    item.st.st_uid = e.uid();
    item.st.st_gid = e.gid();
    LIFEBOAT_ASSIGN_OR_RETURN(item.access, Acl::FromText(e.acl_access()));
    LIFEBOAT_ASSIGN_OR_RETURN(item.default_acl, Acl::FromText(e.acl_default()));
    items.push_back(std::move(item));
  }
  return items;
}

// What one item needs.
struct SecurityChange {
  std::string rel;
  bool is_link = false;
  bool owner = false;  // lchown to uid/gid
  uint32_t uid = 0, gid = 0;
  bool mode = false;
  uint32_t mode_bits = 0;
  bool access = false;
  Acl access_acl;
  bool default_acl = false;
  Acl default_acl_value;
};

}  // namespace

StatusOr<v1::SyncSecurityResponse> LocalfsPlugin::SyncSecurity(sdk::Call& call,
                                                               const v1::SyncSecurityRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("sync_security needs an op_id", "op_id");
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  for (const auto* map : {&req.user_map(), &req.group_map()}) {
    const char* field = map == &req.user_map() ? "user_map" : "group_map";
    for (const auto& [from, to] : *map) {
      if (from.empty() || to.empty()) {
        return InvalidArgumentError(std::string(field) + " maps '" + from + "' to '" + to +
                                        "'; both names must be non-empty",
                                    field);
      }
    }
  }
  StatusOr<PeerSource> source = PeerSource::Open(call, req.source(), config_.peer_access);
  if (!source.ok()) return source.status().WithContext("source configuration");
  if (!source->by_path() && !req.has_snapshot()) {
    // The live data set's owners, modes and ACLs are not an item of the stream; its cut's
    // manifest is, and the engine names the cut it just committed.
    return InvalidArgumentError(
        "security sync reads the source's live data set by path, and " + source->where() +
            " is not reachable by path from this host; name a cut of the data set on the "
            "source (snapshot) to sync from its manifest through the peer stream",
        "snapshot");
  }
  if (req.has_snapshot() && (req.snapshot().data_set().selector() != req.data_set().selector() ||
                             req.snapshot().data_set().component() != req.data_set().component())) {
    return InvalidArgumentError("the snapshot of sync_security is a cut of " +
                                    DataSetName(req.snapshot().data_set()) + ", not of " +
                                    DataSetName(req.data_set()),
                                "snapshot");
  }
  const std::string& selector = req.data_set().selector();
  const std::string name = DataSetName(req.data_set());
  const std::string key = DataSetKey(selector);
  auto dest_lock = locks_.Get("dest:" + selector);
  std::unique_lock<std::shared_mutex> guard(*dest_lock);

  const std::unique_ptr<sdk::OpJournal> journal =
      OpenOpJournal(layout_.SecurityJournal(key), kSecurityJournalKeep);
  if (!req.dry_run()) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> done,
                              journal->Find(req.op_id(), "sync_security"));
    v1::SyncSecurityResponse resp;
    if (done && resp.ParseFromString(*done)) return resp;
    LIFEBOAT_RETURN_IF_ERROR(CheckNotFenced(layout_, selector, "sync_security of " + selector));
  }

  // By path: the live data set. Through the stream: the cut's manifest, which holds every
  // item but the data set's directory itself (its owner and mode are left as they are).
  const std::string src_dir = source->by_path()
                                  ? source->layout().DataDir(selector)
                                  : source->where() + " cut " + req.snapshot().restore_point_id();
  const std::string dst_dir = layout_.DataDir(selector);
  struct stat dst_root;
  std::vector<SourceItem> items;
  v1::MemberManifest manifest;  // through the stream: the cut's, for the ids' names
  if (source->by_path()) {
    struct stat src_root;
    if (::lstat(src_dir.c_str(), &src_root) != 0 || !S_ISDIR(src_root.st_mode)) {
      return NotFoundError("data set " + name + " has no directory " + src_dir +
                               " on the source; check the selector and the source's root",
                           src_dir);
    }
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<WalkEntry> walked, WalkTree(src_dir));
    items.reserve(walked.size() + 1);
    items.push_back(SourceItem{"", src_root, std::nullopt, std::nullopt});
    for (WalkEntry& w : walked) {
      items.push_back(SourceItem{std::move(w.rel), w.st, std::nullopt, std::nullopt});
    }
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(items, ItemsOfTheCut(*source, req.snapshot(), manifest));
  }
  if (::lstat(dst_dir.c_str(), &dst_root) != 0 || !S_ISDIR(dst_root.st_mode)) {
    return NotFoundError("data set " + name + " has no directory " + dst_dir +
                             " on this cluster, so there is nothing to sync; restore it first",
                         dst_dir);
  }

  // Everything is decided before anything changes: an unknown name stops the sync with
  // nothing half done.
  IdTranslator ids(req.user_map(), req.group_map(), source->by_path() ? nullptr : &manifest);
  NameCache here;
  auto user_name = [&](uint32_t uid) {
    const std::string& n = here.User(uid);
    return n.empty() ? std::to_string(uid) : n;
  };
  auto group_name = [&](uint32_t gid) {
    const std::string& n = here.Group(gid);
    return n.empty() ? std::to_string(gid) : n;
  };
  auto acl_text = [&](const Acl& acl) {
    if (acl.empty()) return std::string("none");
    return acl.ToText([&](uint16_t tag, uint32_t id) {
      return tag == AclEntry::kUser ? user_name(id) : group_name(id);
    });
  };
  v1::SyncSecurityResponse resp;
  std::vector<SecurityChange> changes;
  size_t seen = 0;
  for (SourceItem& w : items) {
    if (++seen % 256 == 0 && call.Cancelled()) {
      return CancelledError("sync_security cancelled before changing anything; run it again");
    }
    const bool is_dir = S_ISDIR(w.st.st_mode);
    const bool is_link = S_ISLNK(w.st.st_mode);
    if (!is_dir && !is_link && !S_ISREG(w.st.st_mode)) continue;  // not part of a data set
    const std::string shown = w.rel.empty() ? "." : w.rel;
    const std::string src = JoinPath(src_dir, w.rel);
    const std::string dst = JoinPath(dst_dir, w.rel);
    struct stat st;
    if (::lstat(dst.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return ErrnoError(errno, "cannot inspect", dst);
      resp.set_items_only_on_source(resp.items_only_on_source() + 1);
      continue;
    }
    if ((st.st_mode & S_IFMT) != (w.st.st_mode & S_IFMT)) {
      // A file here where the source has a directory (or the like) is a difference of
      // content, which a backup and restore settle, not this.
      resp.set_items_only_on_source(resp.items_only_on_source() + 1);
      continue;
    }
    resp.set_items_compared(resp.items_compared() + 1);

    SecurityChange c;
    c.rel = w.rel;
    c.is_link = is_link;
    std::string line;
    auto note = [&](const std::string& what) { line += (line.empty() ? "" : "; ") + what; };
    LIFEBOAT_ASSIGN_OR_RETURN(c.uid, ids.Translate(false, w.st.st_uid, "owns", shown));
    LIFEBOAT_ASSIGN_OR_RETURN(c.gid, ids.Translate(true, w.st.st_gid, "is the group of", shown));
    if (c.uid != st.st_uid) note("owner " + user_name(st.st_uid) + " -> " + user_name(c.uid));
    if (c.gid != st.st_gid) note("group " + group_name(st.st_gid) + " -> " + group_name(c.gid));
    c.owner = c.uid != st.st_uid || c.gid != st.st_gid;
    if (!is_link) {
      c.mode_bits = w.st.st_mode & 07777;
      if (c.mode_bits != (st.st_mode & 07777)) {
        c.mode = true;
        note("mode " + Octal(st.st_mode) + " -> " + Octal(c.mode_bits));
      }
      if (!w.access) {
        LIFEBOAT_ASSIGN_OR_RETURN(w.access, ReadAcl(src, AclKind::kAccess));
      }
      LIFEBOAT_ASSIGN_OR_RETURN(c.access_acl, TranslateAcl(*w.access, ids, "access ACL", shown));
      LIFEBOAT_ASSIGN_OR_RETURN(Acl dst_access, ReadAcl(dst, AclKind::kAccess));
      if (c.access_acl != dst_access) {
        c.access = true;
        note("access ACL " + acl_text(dst_access) + " -> " + acl_text(c.access_acl));
      }
      if (is_dir) {
        if (!w.default_acl) {
          LIFEBOAT_ASSIGN_OR_RETURN(w.default_acl, ReadAcl(src, AclKind::kDefault));
        }
        LIFEBOAT_ASSIGN_OR_RETURN(c.default_acl_value,
                                  TranslateAcl(*w.default_acl, ids, "default ACL", shown));
        LIFEBOAT_ASSIGN_OR_RETURN(Acl dst_default, ReadAcl(dst, AclKind::kDefault));
        if (c.default_acl_value != dst_default) {
          c.default_acl = true;
          note("default ACL " + acl_text(dst_default) + " -> " + acl_text(c.default_acl_value));
        }
      }
    }
    if (line.empty()) continue;
    resp.add_changes("update " + shown + ": " + line);
    changes.push_back(std::move(c));
  }
  if (req.dry_run()) return resp;

  for (const SecurityChange& c : changes) {
    if (call.Cancelled()) {
      return CancelledError("sync_security cancelled part way; run it again to finish");
    }
    const std::string dst = JoinPath(dst_dir, c.rel);
    if (c.owner && ::lchown(dst.c_str(), c.uid, c.gid) != 0) {
      return ErrnoError(errno, "cannot change the owner of", dst,
                        errno == EPERM ? "changing owners needs root (CAP_CHOWN)" : "");
    }
    if (c.is_link) continue;
    if (c.access) LIFEBOAT_RETURN_IF_ERROR(WriteAcl(dst, AclKind::kAccess, c.access_acl));
    if (c.default_acl) {
      LIFEBOAT_RETURN_IF_ERROR(WriteAcl(dst, AclKind::kDefault, c.default_acl_value));
    }
    // Last: chown clears set-id bits and an access ACL sets the group bits to its mask.
    struct stat now;
    if (::lstat(dst.c_str(), &now) != 0) return ErrnoError(errno, "cannot inspect", dst);
    if ((now.st_mode & 07777) != c.mode_bits && ::chmod(dst.c_str(), c.mode_bits) != 0) {
      return ErrnoError(errno, "cannot set the mode of", dst);
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(journal->Record(req.op_id(), "sync_security", resp.SerializeAsString()));
  host_.Info("synced the security of " + name + " from " + src_dir + ": " +
             std::to_string(resp.changes_size()) + " of " + std::to_string(resp.items_compared()) +
             " items changed, " + std::to_string(resp.items_only_on_source()) +
             " only on the source");
  return resp;
}

}  // namespace lifeboat::localfs
