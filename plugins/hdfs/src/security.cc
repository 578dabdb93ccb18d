// fence, unfence and sync_security of the HDFS plugin (see security.h for the mechanism).
#include "security.h"

#include <lifeboat/sdk/fence.h>
#include <lifeboat/sdk/journal.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/v1/journal.pb.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "hdfs_plugin.h"

namespace lifeboat::hdfs {
namespace {

// Answers kept in user.lifeboat.ops, and the size they may take: HDFS limits an extended
// attribute (name and value) to dfs.namenode.fs-limits.max-xattr-size, 16384 bytes by default.
constexpr size_t kJournalKeep = 16;
constexpr size_t kJournalMaxBytes = 12000;
// Lines of a sync_security answer kept in the journal; a repeat of a larger sync answers
// these and one line saying how many more there were.
constexpr int kJournalMaxChanges = 40;

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string OctalText(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::optional<uint32_t> ParseOctalText(const std::string& s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

// One lock per data set directory (per cluster): fence, unfence and sync_security of the
// same data set never interleave inside this process.
std::shared_ptr<std::mutex> DataSetLock(const std::string& cluster, const std::string& path) {
  static std::mutex table_mu;
  static auto* table = new std::map<std::string, std::shared_ptr<std::mutex>>();
  std::lock_guard<std::mutex> guard(table_mu);
  auto& slot = (*table)[cluster + "\n" + path];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

std::string MarkerJson(const FenceMarker& m) {
  return nlohmann::json{{"epoch", m.epoch},
                        {"reason", m.reason},
                        {"fenced_unix_nanos", m.fenced_unix_nanos},
                        {"op_id", m.op_id},
                        {"complete", m.complete}}
      .dump();
}

// SETXATTR that only creates: false (and nothing written) when the item has the attribute.
StatusOr<bool> CreateXAttr(WebHdfsClient& client, const std::string& path, const std::string& name,
                           const std::string& value) {
  StatusOr<nlohmann::json> done =
      client.RawCall("PUT", path, "SETXATTR",
                     "&xattr.name=" + UrlEscape(name, false) +
                         "&xattr.value=" + UrlEscape("\"" + value + "\"", false) + "&flag=CREATE");
  if (done.ok()) return true;
  // "XAttr: NAME already exists. The REPLACE flag must be specified."
  if (done.status().message().find("already exists") != std::string::npos) return false;
  return done.status();
}

// RemoveXAttr that counts an absent attribute as removed.
Status RemoveXAttrIfPresent(WebHdfsClient& client, const std::string& path,
                            const std::string& name) {
  Status removed = client.RemoveXAttr(path, name);
  if (removed.ok()) return removed;
  // "No matching attributes found for remove operation"
  if (removed.code() == Code::kNotFound ||
      removed.message().find("No matching attributes") != std::string::npos) {
    return OkStatus();
  }
  return removed;
}

// --- The journal of answers (user.lifeboat.ops) -------------------------------------------

nlohmann::json FenceEntry(const std::string& op_id, const std::string& operation,
                          const v1::FenceResponse& r) {
  return {{"op_id", op_id},     {"operation", operation}, {"fenced", r.fenced()},
          {"epoch", r.epoch()}, {"detail", r.detail()},   {"items_changed", r.items_changed()}};
}

v1::FenceResponse FenceFromEntry(const nlohmann::json& e) {
  v1::FenceResponse r;
  r.set_fenced(e.value("fenced", false));
  r.set_epoch(e.value("epoch", uint64_t{0}));
  r.set_detail(e.value("detail", std::string()));
  r.set_items_changed(e.value("items_changed", uint64_t{0}));
  return r;
}

nlohmann::json SyncEntry(const std::string& op_id, const v1::SyncSecurityResponse& r) {
  nlohmann::json changes = nlohmann::json::array();
  for (int i = 0; i < r.changes_size() && i < kJournalMaxChanges; ++i)
    changes.push_back(r.changes(i));
  return {{"op_id", op_id},
          {"operation", "sync_security"},
          {"changes", changes},
          {"changes_total", r.changes_size()},
          {"items_compared", r.items_compared()},
          {"items_only_on_source", r.items_only_on_source()}};
}

v1::SyncSecurityResponse SyncFromEntry(const nlohmann::json& e) {
  v1::SyncSecurityResponse r;
  int kept = 0;
  for (const nlohmann::json& c : e.value("changes", nlohmann::json::array())) {
    r.add_changes(c.is_string() ? c.get<std::string>() : c.dump());
    ++kept;
  }
  int total = e.value("changes_total", kept);
  if (total > kept) {
    r.add_changes("(and " + std::to_string(total - kept) +
                  " more changes, not kept for repeated calls)");
  }
  r.set_items_compared(e.value("items_compared", uint64_t{0}));
  r.set_items_only_on_source(e.value("items_only_on_source", uint64_t{0}));
  return r;
}

// The journal as sdk::OpJournal's store. The attribute keeps the JSON it always had (the
// journals of older agents read as they are; an operator reads it with getfattr): an array,
// oldest first, of {"op_id", "operation", the answer's fields}. An attribute holds little, so
// a save drops the oldest answers beyond kJournalMaxBytes, and a sync's answer keeps
// kJournalMaxChanges lines. Answers already in the attribute are written back as they are.
class XAttrJournalStore : public sdk::JournalStore {
 public:
  XAttrJournalStore(WebHdfsClient& client, std::string path)
      : client_(client), path_(std::move(path)) {}

  StatusOr<std::optional<std::string>> Load() override {
    nlohmann::json journal = Read();
    v1::OpJournalRecord record;
    for (const nlohmann::json& e : journal) {
      v1::OpJournalEntry* entry = record.add_entries();
      entry->set_op_id(e.value("op_id", std::string()));
      entry->set_operation(e.value("operation", std::string()));
      entry->set_response(entry->operation() == "sync_security"
                              ? SyncFromEntry(e).SerializeAsString()
                              : FenceFromEntry(e).SerializeAsString());
    }
    return std::optional<std::string>(record.SerializeAsString());
  }

  Status Save(std::string_view bytes) override {
    v1::OpJournalRecord record;
    if (!record.ParseFromString(std::string(bytes))) return InternalError("bad journal record");
    std::map<std::string, nlohmann::json> kept;
    for (const nlohmann::json& e : Read()) kept[e.value("op_id", std::string())] = e;
    nlohmann::json journal = nlohmann::json::array();
    for (const v1::OpJournalEntry& e : record.entries()) {
      auto it = kept.find(e.op_id());
      if (it != kept.end() && it->second.value("operation", std::string()) == e.operation()) {
        journal.push_back(it->second);
      } else if (e.operation() == "sync_security") {
        v1::SyncSecurityResponse r;
        r.ParseFromString(e.response());
        journal.push_back(SyncEntry(e.op_id(), r));
      } else {
        v1::FenceResponse r;
        r.ParseFromString(e.response());
        journal.push_back(FenceEntry(e.op_id(), e.operation(), r));
      }
    }
    while (journal.size() > 1 && journal.dump().size() > kJournalMaxBytes) {
      journal.erase(journal.begin());
    }
    return client_.SetXAttr(path_, kOpsJournalAttr, journal.dump());
  }

 private:
  // The entries; none when the attribute is absent or unreadable (the call is then done
  // again, as it always was).
  nlohmann::json Read() {
    StatusOr<std::string> text = client_.GetXAttr(path_, kOpsJournalAttr);
    if (!text.ok()) return nlohmann::json::array();
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    nlohmann::json out = nlohmann::json::array();
    if (!j.is_array()) return out;
    for (const nlohmann::json& e : j) {
      if (e.is_object()) out.push_back(e);
    }
    return out;
  }

  WebHdfsClient& client_;
  std::string path_;
};

// The journal of fence, unfence and sync_security answers of data set `path`; a failure to
// record is for the caller to log: the call's work is done, only a repeat of it would find no
// recorded answer (and do it again).
std::unique_ptr<sdk::OpJournal> OpsJournal(WebHdfsClient& client, const std::string& path) {
  return std::make_unique<sdk::OpJournal>(std::make_unique<XAttrJournalStore>(client, path),
                                          kJournalKeep);
}

// --- ACL text -----------------------------------------------------------------------------

// An ACL entry "[default:]type:name:perms" split in its parts.
struct AclEntryParts {
  bool is_default = false;
  std::string type;  // user, group, mask, other
  std::string name;
  std::string perms;
};

std::optional<AclEntryParts> SplitAclEntry(const std::string& entry) {
  AclEntryParts p;
  std::string rest = entry;
  if (rest.rfind("default:", 0) == 0) {
    p.is_default = true;
    rest = rest.substr(8);
  }
  size_t first = rest.find(':');
  size_t last = rest.rfind(':');
  if (first == std::string::npos || last == first) return std::nullopt;
  p.type = rest.substr(0, first);
  p.name = rest.substr(first + 1, last - first - 1);
  p.perms = rest.substr(last + 1);
  return p;
}

std::string JoinAclEntry(const AclEntryParts& p) {
  return (p.is_default ? "default:" : "") + p.type + ":" + p.name + ":" + p.perms;
}

std::string Rwx(uint32_t bits) {
  std::string s = "---";
  if (bits & 4) s[0] = 'r';
  if (bits & 2) s[1] = 'w';
  if (bits & 1) s[2] = 'x';
  return s;
}

std::string AclText(const std::vector<std::string>& entries) {
  if (entries.empty()) return "none";
  std::string out;
  for (const std::string& e : entries) out += (out.empty() ? "" : ",") + e;
  return out;
}

// The ACL entries of an item (none without the ACL bit: no request made).
StatusOr<std::vector<std::string>> AclOf(WebHdfsClient& client, const std::string& path,
                                         const FileStatus& st) {
  if (!st.acl_bit) return std::vector<std::string>();
  return client.GetAclEntries(path);
}

std::string Translate(const google::protobuf::Map<std::string, std::string>& map,
                      const std::string& name) {
  auto it = map.find(name);
  return it == map.end() ? name : it->second;
}

}  // namespace

// --- Public helpers ---------------------------------------------------------------------

std::string FenceIndexName(const std::string& path) { return UrlEscape(path, false); }

std::string FenceIndexPath(const std::string& path) {
  return std::string(kFenceIndexDir) + "/" + FenceIndexName(path);
}

std::optional<std::string> PathFromFenceIndexName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = hex(name[i + 1]);
    int lo = hex(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.empty() || out.front() != '/') return std::nullopt;
  return out;
}

StatusOr<std::optional<FenceMarker>> ReadFenceMarker(WebHdfsClient& client,
                                                     const std::string& path) {
  StatusOr<std::string> text = client.GetXAttr(path, kFenceMarkerAttr);
  if (!text.ok()) {
    if (text.status().code() != Code::kNotFound) return text.status();
    // NOT_FOUND is also what a missing directory answers: tell them apart.
    LIFEBOAT_RETURN_IF_ERROR(client.GetFileStatus(path).status());
    return std::optional<FenceMarker>();
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("epoch")) {
    return DataLossError("the fence marker " + std::string(kFenceMarkerAttr) + " of hdfs:" + path +
                             " does not parse (" + text->substr(0, 200) +
                             "); an administrator can remove it with `hdfs dfs -setfattr -x " +
                             kFenceMarkerAttr + " " + path + "` once the data set may be written",
                         path);
  }
  FenceMarker m;
  m.epoch = j.value("epoch", uint64_t{0});
  m.reason = j.value("reason", std::string());
  m.fenced_unix_nanos = j.value("fenced_unix_nanos", int64_t{0});
  m.op_id = j.value("op_id", std::string());
  m.complete = j.value("complete", false);
  return std::optional<FenceMarker>(m);
}

Status CheckNotFenced(WebHdfsClient& client, const std::string& path, std::string_view action) {
  auto refuse = [&](const std::string& dir, const FenceMarker& m) {
    return FailedPreconditionError(
        "hdfs:" + dir + " is fenced at epoch " + std::to_string(m.epoch) +
            (m.reason.empty() ? "" : " (" + m.reason + ")") + ", so " + std::string(action) +
            " is refused: it would write a data set that must not change on this cluster; "
            "unfence it (with epoch " +
            std::to_string(m.epoch) + " or higher) once this cluster may be written again",
        "hdfs:" + dir);
  };
  // The path and each of its ancestors.
  std::vector<std::string> dirs;
  for (std::string p = path; !p.empty();
       p = p == "/" ? "" : p.substr(0, std::max<size_t>(p.rfind('/'), 1))) {
    dirs.push_back(p);
  }
  for (const std::string& dir : dirs) {
    StatusOr<std::optional<FenceMarker>> m = ReadFenceMarker(client, dir);
    if (!m.ok()) {
      if (m.status().code() == Code::kNotFound) continue;  // not there (yet)
      return m.status();
    }
    if (*m) return refuse(dir, **m);
  }
  // Fenced data sets below the path.
  StatusOr<std::vector<FileStatus>> index = client.ListStatus(kFenceIndexDir);
  if (!index.ok()) {
    if (index.status().code() == Code::kNotFound) return OkStatus();
    return index.status().WithContext("cannot read the fence index " + std::string(kFenceIndexDir));
  }
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (const FileStatus& e : *index) {
    std::optional<std::string> fenced = PathFromFenceIndexName(e.path_suffix);
    if (!fenced || fenced->rfind(prefix, 0) != 0) continue;
    StatusOr<std::optional<FenceMarker>> m = ReadFenceMarker(client, *fenced);
    if (m.ok() && *m) return refuse(*fenced, **m);
  }
  return OkStatus();
}

std::string FenceModeText(uint32_t permission) { return OctalText(permission); }

std::optional<uint32_t> ParseFenceModeText(const std::string& text) { return ParseOctalText(text); }

StatusOr<bool> FencedAt(WebHdfsClient& client, const std::string& root) {
  StatusOr<std::string> marker = client.GetXAttr(root, kFenceMarkerAttr);
  if (marker.ok()) return true;
  if (marker.status().code() == Code::kNotFound) return false;
  return marker.status();
}

StatusOr<uint32_t> UnfencedPermission(WebHdfsClient& client, const std::string& path,
                                      uint32_t permission) {
  // A fence leaves no write bit: an item with one is not (or no longer) fenced.
  if ((permission & 0222) != 0) return permission;
  StatusOr<std::string> original = client.GetXAttr(path, kFenceModeAttr);
  if (!original.ok()) {
    if (original.status().code() == Code::kNotFound) return permission;
    return original.status();
  }
  std::optional<uint32_t> mode = ParseOctalText(*original);
  // Someone set another permission during the fence: theirs stands (as for unfence).
  if (!mode || FencedPermission(*mode) != permission) return permission;
  return *mode;
}

Status RecordFenceOriginal(WebHdfsClient& client, const std::string& path,
                           uint32_t source_permission) {
  if ((source_permission & 0222) == 0) return RemoveXAttrIfPresent(client, path, kFenceModeAttr);
  return client.SetXAttr(path, kFenceModeAttr, OctalText(source_permission));
}

Status SettleFence(WebHdfsClient& client, const std::string& path, bool fenced) {
  StatusOr<FileStatus> st = client.GetFileStatus(path);
  if (!st.ok()) return st.status().code() == Code::kNotFound ? OkStatus() : st.status();
  if (fenced) {
    if ((st->permission & 0222) == 0) return OkStatus();
    LIFEBOAT_RETURN_IF_ERROR(client.SetXAttr(path, kFenceModeAttr, OctalText(st->permission)));
    return client.SetPermission(path, FencedPermission(st->permission));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(uint32_t original, UnfencedPermission(client, path, st->permission));
  if (original != st->permission) LIFEBOAT_RETURN_IF_ERROR(client.SetPermission(path, original));
  return RemoveXAttrIfPresent(client, path, kFenceModeAttr);
}

void AddFencedDataSets(WebHdfsClient& client, v1::ProbeResponse& probe) {
  StatusOr<std::vector<FileStatus>> index = client.ListStatus(kFenceIndexDir);
  if (!index.ok()) {
    if (index.status().code() != Code::kNotFound) {
      probe.set_detail(probe.detail() + "; fenced data sets unknown: " + index.status().ToString());
    }
    return;
  }
  for (const FileStatus& e : *index) {
    std::optional<std::string> path = PathFromFenceIndexName(e.path_suffix);
    if (!path) continue;
    StatusOr<std::optional<FenceMarker>> m = ReadFenceMarker(client, *path);
    if (!m.ok()) {
      if (m.status().code() == Code::kNotFound) continue;  // the directory is gone
      probe.set_detail(probe.detail() + "; cannot read the fence of " + *path + ": " +
                       m.status().ToString());
      continue;
    }
    if (!*m) continue;  // an index entry left by an interrupted unfence
    v1::FencedDataSet* f = probe.add_fenced();
    f->mutable_data_set()->set_component(kComponent);
    f->mutable_data_set()->set_selector(*path);
    f->set_epoch((*m)->epoch);
    f->set_reason((*m)->reason);
    f->set_fenced_unix_nanos((*m)->fenced_unix_nanos);
    f->set_mechanism(std::string(kFenceMechanism) + ((*m)->complete ? "" : " (incomplete)"));
  }
}

std::vector<std::string> FullAclSpec(uint32_t permission, const std::vector<std::string>& entries) {
  if (entries.empty()) return {};
  std::vector<std::string> access;
  std::vector<std::string> defaults;
  bool named = false;
  bool group_entry = false;
  for (const std::string& e : entries) {
    std::optional<AclEntryParts> p = SplitAclEntry(e);
    if (!p) continue;
    if (p->is_default) {
      defaults.push_back(e);
      continue;
    }
    if (p->type == "group" && p->name.empty()) group_entry = true;
    if (!p->name.empty()) named = true;
    if (p->type == "mask" || (p->type == "user" && p->name.empty()) || p->type == "other") {
      continue;  // from the permission bits below
    }
    access.push_back(e);
  }
  std::vector<std::string> out;
  out.push_back("user::" + Rwx((permission >> 6) & 7));
  for (const std::string& e : access) out.push_back(e);
  if (named || group_entry) {
    // The group bits of an item with an ACL are its mask.
    if (!group_entry) out.push_back("group::" + Rwx((permission >> 3) & 7));
    out.push_back("mask::" + Rwx((permission >> 3) & 7));
  } else {
    out.push_back("group::" + Rwx((permission >> 3) & 7));
  }
  out.push_back("other::" + Rwx(permission & 7));
  for (const std::string& e : defaults) out.push_back(e);
  return out;
}

StatusOr<std::vector<std::string>> TranslateAcl(
    const std::vector<std::string>& entries,
    const google::protobuf::Map<std::string, std::string>& user_map,
    const google::protobuf::Map<std::string, std::string>& group_map, const std::string& path) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& e : entries) {
    std::optional<AclEntryParts> p = SplitAclEntry(e);
    if (!p) {
      return InternalError("hdfs:" + path + " has an ACL entry '" + e + "' that is not understood",
                           path);
    }
    if (!p->name.empty() && p->type == "user") p->name = Translate(user_map, p->name);
    if (!p->name.empty() && p->type == "group") p->name = Translate(group_map, p->name);
    std::string key = (p->is_default ? "default:" : "") + p->type + ":" + p->name;
    if (!seen.insert(key).second) {
      return FailedPreconditionError("the ACL of '" + path + "' names two source " +
                                         (p->type == "group" ? "groups" : "users") +
                                         " that the maps turn into the same " + p->type + " '" +
                                         p->name + "' here; an HDFS ACL names each once: fix " +
                                         (p->type == "group" ? "group_map" : "user_map"),
                                     path);
    }
    out.push_back(JoinAclEntry(*p));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- fence --------------------------------------------------------------------------------

namespace {

// The fence's opening shared by fence and unfence (sdk/fence.h): the marker of directory
// `path`, left in `marker`.
sdk::FenceSteps FenceStepsOf(WebHdfsClient& client, const std::string& path,
                             std::optional<FenceMarker>& marker) {
  sdk::FenceSteps steps;
  steps.name = "hdfs:" + path;
  steps.in_place = [&client, path, &marker]() -> StatusOr<std::optional<sdk::FenceInPlace>> {
    LIFEBOAT_ASSIGN_OR_RETURN(marker, ReadFenceMarker(client, path));
    if (!marker) return std::optional<sdk::FenceInPlace>();
    return std::optional<sdk::FenceInPlace>(sdk::FenceInPlace{marker->epoch, marker->reason});
  };
  return steps;
}

}  // namespace

StatusOr<v1::FenceResponse> HdfsPlugin::Fence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(sdk::CheckFenceRequest(req, "fence"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  auto lock = DataSetLock(config_.cluster, path);
  std::lock_guard<std::mutex> guard(*lock);

  StatusOr<FileStatus> root = client_.GetFileStatus(path);
  if (!root.ok() && root.status().code() == Code::kNotFound) {
    return NotFoundError("data set hdfs:" + path + " has no directory on HDFS cluster '" +
                             config_.cluster +
                             "', so there is nothing to fence; check the selector",
                         path);
  }
  LIFEBOAT_RETURN_IF_ERROR(root.status());
  if (!root->is_dir) {
    return InvalidArgumentError(path + " is a file; an hdfs data set is a directory", path);
  }
  std::optional<FenceMarker> existing;
  sdk::FenceSteps steps = FenceStepsOf(client_, path, existing);
  steps.apply = [&](const sdk::FenceOrder& order) -> StatusOr<sdk::FenceWork> {
    FenceMarker marker = existing.value_or(FenceMarker());
    if (order.raise) {
      marker.epoch = req.epoch();
      marker.reason = req.reason();
      marker.fenced_unix_nanos = host_.NowUnixNanos();
      marker.op_id = req.op_id();
    }
    marker.complete = false;
    // The index entry first, then the marker, then the bits: whatever is interrupted leaves
    // a marker that a repeated fence finishes and an unfence undoes, and probe finds it.
    Status indexed = client_.Mkdirs(FenceIndexPath(path));
    if (!indexed.ok()) {
      return indexed.WithContext("cannot record the fence of hdfs:" + path + " in " +
                                 kFenceIndexDir +
                                 " (the plugin's user must be the HDFS superuser, or an "
                                 "administrator creates /.lifeboat owned by it)");
    }
    LIFEBOAT_RETURN_IF_ERROR(client_.SetXAttr(path, kFenceMarkerAttr, MarkerJson(marker)));
    uint64_t items = 0;
    LIFEBOAT_ASSIGN_OR_RETURN(uint64_t changed, StripWriteBits(call, path, *root, &items));
    marker.complete = true;
    LIFEBOAT_RETURN_IF_ERROR(client_.SetXAttr(path, kFenceMarkerAttr, MarkerJson(marker)));
    return sdk::FenceWork{changed, "by write_bits (" + std::to_string(items) + " items, " +
                                       std::to_string(changed) +
                                       " changed now); the HDFS superuser can still write it"};
  };
  return sdk::RunFence(call, *OpsJournal(client_, path), req, steps, sdk::UnrecordedAnswer::kWarn);
}

// Top-down: a directory loses its write bits before it is listed, so no entry that an
// ordinary user adds afterwards can be missed. Returns the items changed now.
StatusOr<uint64_t> HdfsPlugin::StripWriteBits(sdk::Call& call, const std::string& path,
                                              const FileStatus& root, uint64_t* items) {
  uint64_t changed = 0;
  uint64_t reported = 0;
  std::deque<std::pair<std::string, FileStatus>> todo = {{path, root}};
  sdk::ProgressReporter progress(call, "fence", 0, 0);
  while (!todo.empty()) {
    if (call.Cancelled()) {
      return CancelledError("fence of hdfs:" + path + " cancelled part way; fence again to finish",
                            path);
    }
    auto [item, st] = std::move(todo.front());
    todo.pop_front();
    if (st.is_symlink) continue;
    ++*items;
    if ((st.permission & 0222) != 0) {
      // The original first: if it is there already (a fence before, then someone gave the
      // bits back), it is the one to restore, and stays.
      StatusOr<bool> created = CreateXAttr(client_, item, kFenceModeAttr, OctalText(st.permission));
      if (!created.ok() && created.status().code() == Code::kNotFound) continue;  // gone
      LIFEBOAT_RETURN_IF_ERROR(created.status());
      Status stripped = client_.SetPermission(item, st.permission & ~0222u);
      if (!stripped.ok() && stripped.code() == Code::kNotFound) continue;
      LIFEBOAT_RETURN_IF_ERROR(stripped);
      ++changed;
    }
    if (!st.is_dir) continue;
    StatusOr<std::vector<FileStatus>> children = client_.ListStatus(item);
    if (!children.ok() && children.status().code() == Code::kNotFound) continue;
    LIFEBOAT_RETURN_IF_ERROR(children.status());
    for (FileStatus& c : *children) todo.emplace_back(Join(item, c.path_suffix), std::move(c));
    progress.Add(0, *items - reported, item);
    reported = *items;
  }
  progress.Flush();
  return changed;
}

// --- unfence ------------------------------------------------------------------------------

StatusOr<v1::FenceResponse> HdfsPlugin::Unfence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(sdk::CheckFenceRequest(req, "unfence"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  auto lock = DataSetLock(config_.cluster, path);
  std::lock_guard<std::mutex> guard(*lock);

  StatusOr<FileStatus> root = client_.GetFileStatus(path);
  if (!root.ok() && root.status().code() == Code::kNotFound) {
    return NotFoundError("data set hdfs:" + path + " has no directory on HDFS cluster '" +
                             config_.cluster + "'; check the selector",
                         path);
  }
  LIFEBOAT_RETURN_IF_ERROR(root.status());
  std::optional<FenceMarker> marker;
  sdk::FenceSteps steps = FenceStepsOf(client_, path, marker);
  steps.tidy_unfenced = [&] {
    // An index entry left by an unfence interrupted after the marker went.
    (void)client_.Delete(FenceIndexPath(path), /*recursive=*/false);
    return OkStatus();
  };
  steps.lift = [&](const sdk::FenceInPlace&) -> StatusOr<sdk::FenceWork> {
    std::vector<std::string> kept;  // items whose permission changed while fenced
    LIFEBOAT_ASSIGN_OR_RETURN(uint64_t restored, RestoreWriteBits(call, path, *root, &kept));
    // The marker last: until it is gone, a repeated unfence (or fence) finds the fence.
    LIFEBOAT_RETURN_IF_ERROR(RemoveXAttrIfPresent(client_, path, kFenceMarkerAttr));
    StatusOr<bool> unindexed = client_.Delete(FenceIndexPath(path), /*recursive=*/false);
    if (!unindexed.ok())
      host_.Warn("fence index entry not removed: " + unindexed.status().ToString());
    std::string detail = "by write_bits; " + std::to_string(restored) + " permissions restored";
    if (!kept.empty()) {
      detail += "; " + std::to_string(kept.size()) +
                " items had their permission changed while fenced and keep it, e.g. " +
                kept.front();
    }
    return sdk::FenceWork{restored, detail};
  };
  return sdk::RunUnfence(call, *OpsJournal(client_, path), req, steps,
                         sdk::UnrecordedAnswer::kWarn);
}

// The permissions the fence recorded put back, top-down; an item whose permission changed
// while fenced keeps it (listed in `kept`). Returns the permissions restored.
StatusOr<uint64_t> HdfsPlugin::RestoreWriteBits(sdk::Call& call, const std::string& path,
                                                const FileStatus& root,
                                                std::vector<std::string>* kept) {
  uint64_t restored = 0;
  std::deque<std::pair<std::string, FileStatus>> todo = {{path, root}};
  while (!todo.empty()) {
    if (call.Cancelled()) {
      return CancelledError(
          "unfence of hdfs:" + path + " cancelled part way; unfence again to finish", path);
    }
    auto [item, st] = std::move(todo.front());
    todo.pop_front();
    if (st.is_symlink) continue;
    StatusOr<std::string> original = client_.GetXAttr(item, kFenceModeAttr);
    if (original.ok()) {
      std::optional<uint32_t> mode = ParseOctalText(*original);
      if (mode && st.permission == *mode) {
        // Restored already by an unfence that stopped before removing the attribute.
      } else if (mode && st.permission == (*mode & ~0222u)) {
        Status set = client_.SetPermission(item, *mode);
        if (!set.ok() && set.code() != Code::kNotFound) return set;
        ++restored;
      } else {
        // Someone (an administrator, a sync) set another permission during the fence:
        // theirs is newer than the one the fence took away.
        kept->push_back(item);
      }
      Status removed = RemoveXAttrIfPresent(client_, item, kFenceModeAttr);
      if (!removed.ok() && removed.code() != Code::kNotFound) return removed;
    } else if (original.status().code() != Code::kNotFound) {
      return original.status();
    }
    if (!st.is_dir) continue;
    StatusOr<std::vector<FileStatus>> children = client_.ListStatus(item);
    if (!children.ok() && children.status().code() == Code::kNotFound) continue;
    LIFEBOAT_RETURN_IF_ERROR(children.status());
    for (FileStatus& c : *children) todo.emplace_back(Join(item, c.path_suffix), std::move(c));
  }
  return restored;
}

// --- sync_security ------------------------------------------------------------------------

namespace {

// What one item of the target needs.
struct SecurityChange {
  std::string path;          // on the target
  std::string owner, group;  // to set ("" = leave)
  std::optional<uint32_t> permission;
  std::optional<std::vector<std::string>> acl;  // full spec; empty = REMOVEACL
};

}  // namespace

StatusOr<v1::SyncSecurityResponse> HdfsPlugin::SyncSecurity(sdk::Call& call,
                                                            const v1::SyncSecurityRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("sync_security needs an op_id", "op_id");
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
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, DataSetPath(req.data_set()));
  StatusOr<Config> source_config = ParseConfig(req.source().config());
  if (!source_config.ok()) return source_config.status().WithContext("source configuration");
  WebHdfsClient::Options so;
  so.namenodes = source_config->namenodes;
  so.user = source_config->user;
  so.timeout_seconds = source_config->timeout_seconds;
  WebHdfsClient source(so);
  auto lock = DataSetLock(config_.cluster, path);
  std::lock_guard<std::mutex> guard(*lock);

  StatusOr<FileStatus> src_root = source.GetFileStatus(path);
  if (!src_root.ok() && src_root.status().code() == Code::kNotFound) {
    return NotFoundError("data set hdfs:" + path + " has no directory on the source cluster '" +
                             source_config->cluster + "'; check the selector",
                         path);
  }
  LIFEBOAT_RETURN_IF_ERROR(src_root.status());
  StatusOr<FileStatus> dst_root = client_.GetFileStatus(path);
  if (!dst_root.ok() && dst_root.status().code() == Code::kNotFound) {
    return NotFoundError("data set hdfs:" + path + " has no directory on HDFS cluster '" +
                             config_.cluster + "', so there is nothing to sync; restore it first",
                         path);
  }
  LIFEBOAT_RETURN_IF_ERROR(dst_root.status());
  const std::unique_ptr<sdk::OpJournal> journal = OpsJournal(client_, path);
  if (!req.dry_run()) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> done,
                              journal->Find(req.op_id(), "sync_security"));
    v1::SyncSecurityResponse recorded;
    if (done && recorded.ParseFromString(*done)) return recorded;
    LIFEBOAT_RETURN_IF_ERROR(CheckNotFenced(client_, path, "sync_security of " + path));
  }

  // Everything is decided before anything changes: a refused ACL stops the sync with
  // nothing half done.
  v1::SyncSecurityResponse resp;
  std::vector<SecurityChange> changes;
  // (relative path, source status, target status) of pairs still to compare.
  struct Pair {
    std::string rel;
    FileStatus src, dst;
  };
  std::deque<Pair> todo = {{"", *src_root, *dst_root}};
  uint64_t seen = 0;
  while (!todo.empty()) {
    if (++seen % 256 == 0 && call.Cancelled()) {
      return CancelledError("sync_security cancelled before changing anything; run it again");
    }
    Pair p = std::move(todo.front());
    todo.pop_front();
    const std::string item = p.rel.empty() ? path : Join(path, p.rel);
    const std::string shown = p.rel.empty() ? "." : p.rel;
    resp.set_items_compared(resp.items_compared() + 1);
    SecurityChange c;
    c.path = item;
    std::string line;
    auto note = [&](const std::string& what) { line += (line.empty() ? "" : "; ") + what; };
    const std::string owner = Translate(req.user_map(), p.src.owner);
    const std::string group = Translate(req.group_map(), p.src.group);
    if (owner != p.dst.owner) {
      c.owner = owner;
      note("owner " + p.dst.owner + " -> " + owner);
    }
    if (group != p.dst.group) {
      c.group = group;
      note("group " + p.dst.group + " -> " + group);
    }
    if (!p.src.is_symlink) {
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> src_acl, AclOf(source, item, p.src));
      LIFEBOAT_ASSIGN_OR_RETURN(src_acl,
                                TranslateAcl(src_acl, req.user_map(), req.group_map(), shown));
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> dst_acl, AclOf(client_, item, p.dst));
      std::sort(dst_acl.begin(), dst_acl.end());
      if (src_acl != dst_acl) {
        c.acl = FullAclSpec(p.src.permission, src_acl);
        note("ACL " + AclText(dst_acl) + " -> " + AclText(src_acl));
      }
      if (p.src.permission != p.dst.permission) {
        note("permission " + OctalText(p.dst.permission) + " -> " + OctalText(p.src.permission));
      }
      if (p.src.permission != p.dst.permission || c.acl) c.permission = p.src.permission;
    }
    if (!line.empty()) {
      resp.add_changes("update " + shown + ": " + line);
      changes.push_back(std::move(c));
    }
    if (!p.src.is_dir) continue;
    StatusOr<std::vector<FileStatus>> src_children = source.ListStatus(item);
    LIFEBOAT_RETURN_IF_ERROR(src_children.status());
    StatusOr<std::vector<FileStatus>> dst_children = client_.ListStatus(item);
    LIFEBOAT_RETURN_IF_ERROR(dst_children.status());
    std::map<std::string, FileStatus> here;
    for (FileStatus& d : *dst_children) here.emplace(d.path_suffix, std::move(d));
    for (FileStatus& s : *src_children) {
      auto it = here.find(s.path_suffix);
      // Present on one side only, or a file against a directory: a difference of content,
      // which backups and restores settle, not this.
      if (it == here.end() || it->second.is_dir != s.is_dir ||
          it->second.is_symlink != s.is_symlink) {
        resp.set_items_only_on_source(resp.items_only_on_source() + 1);
        continue;
      }
      std::string rel = p.rel.empty() ? s.path_suffix : p.rel + "/" + s.path_suffix;
      todo.push_back({rel, std::move(s), std::move(it->second)});
    }
  }
  if (req.dry_run()) return resp;

  for (const SecurityChange& c : changes) {
    if (call.Cancelled()) {
      return CancelledError("sync_security cancelled part way; run it again to finish");
    }
    if (!c.owner.empty() || !c.group.empty()) {
      Status owned = client_.SetOwner(c.path, c.owner, c.group);
      if (!owned.ok()) {
        return owned.WithContext("changing the owner or group of hdfs:" + c.path +
                                 " needs the HDFS superuser");
      }
    }
    if (c.acl) LIFEBOAT_RETURN_IF_ERROR(client_.SetAcl(c.path, *c.acl));
    // Last: SETACL sets the permission bits from the spec; this restores the sticky bit and
    // the exact bits (on an item with an ACL, the group bits are its mask).
    if (c.permission) LIFEBOAT_RETURN_IF_ERROR(client_.SetPermission(c.path, *c.permission));
  }
  Status recorded = journal->Record(req.op_id(), "sync_security", resp.SerializeAsString());
  if (!recorded.ok()) host_.Warn("sync_security answer not recorded: " + recorded.ToString());
  host_.Info("synced the security of hdfs:" + path + " from cluster '" + source_config->cluster +
             "': " + std::to_string(resp.changes_size()) + " of " +
             std::to_string(resp.items_compared()) + " items changed, " +
             std::to_string(resp.items_only_on_source()) + " only on the source");
  return resp;
}

}  // namespace lifeboat::hdfs
