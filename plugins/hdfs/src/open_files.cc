#include "open_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace lifeboat::hdfs {

std::string EncodeCutRecord(const CutRecord& record) {
  nlohmann::json open = nlohmann::json::array();
  for (const OpenAtCut& o : record.open) open.push_back({o.path, o.length, o.mtime_ms, o.state});
  return nlohmann::json({{"snapshot_ms", record.snapshot_ms},
                         {"detection", record.detection},
                         {"capture_openfiles", record.capture_openfiles},
                         {"looked_unix_ms", record.looked_unix_ms},
                         {"open", open}})
      .dump();
}

CutRecord DecodeCutRecord(std::string_view text) {
  CutRecord r;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return r;
  r.snapshot_ms = j.value("snapshot_ms", int64_t{0});
  r.detection = j.value("detection", std::string());
  r.capture_openfiles = j.value("capture_openfiles", std::string());
  r.looked_unix_ms = j.value("looked_unix_ms", int64_t{0});
  const nlohmann::json open = j.value("open", nlohmann::json::array());
  for (const nlohmann::json& o : open) {
    if (!o.is_array() || o.size() != 4 || !o[0].is_string() || !o[1].is_number_unsigned() ||
        !o[2].is_number_integer() || !o[3].is_string()) {
      continue;
    }
    r.open.push_back({o[0].get<std::string>(), o[1].get<uint64_t>(), o[2].get<int64_t>(),
                      o[3].get<std::string>()});
  }
  return r;
}

CutRecord FindOpenAtCut(const std::string& path, int64_t snapshot_ms, const OpenFilesSeen& fsck,
                        v1::MemberManifest& manifest) {
  CutRecord record;
  record.snapshot_ms = snapshot_ms;
  record.looked_unix_ms = fsck.looked_unix_ms;
  std::map<std::string, uint64_t> listed_open;  // relative path -> length fsck saw
  if (fsck.files.ok()) {
    record.detection = "fsck";
    const std::string prefix = path == "/" ? "/" : path + "/";
    for (const OpenFile& f : *fsck.files) {
      if (f.path.rfind(prefix, 0) == 0) listed_open[f.path.substr(prefix.size())] = f.length;
    }
  } else {
    record.detection = "fsck failed: " + fsck.files.status().message();
  }
  for (const v1::Entry& e : manifest.entries()) {
    if (e.type() != v1::ENTRY_FILE) continue;
    const int64_t mtime_ms = e.mtime_unix_nanos() / 1000000;
    auto seen = listed_open.find(e.path());
    if (mtime_ms >= snapshot_ms) {
      // Closed after the snapshot (fsck may have seen it open just before the close): the
      // snapshot shows the closed file; nothing tells its length at the snapshot.
      record.open.push_back({e.path(), e.size(), mtime_ms, kClosedAfter});
    } else if (seen != listed_open.end()) {
      // Both looks came after the snapshot: the smaller length is the nearer to it.
      record.open.push_back(
          {e.path(), std::min<uint64_t>(seen->second, e.size()), mtime_ms, kStillOpen});
    }
  }
  HoldOpenFiles(record, manifest);
  return record;
}

void HoldOpenFiles(const CutRecord& record, v1::MemberManifest& manifest) {
  std::map<std::string, const OpenAtCut*> by_path;
  for (const OpenAtCut& o : record.open) by_path[o.path] = &o;
  uint64_t total = 0;
  for (v1::Entry& e : *manifest.mutable_entries()) {
    auto it = by_path.find(e.path());
    if (it != by_path.end() && e.type() == v1::ENTRY_FILE) {
      e.set_size(std::min<uint64_t>(e.size(), it->second->length));
      e.set_mtime_unix_nanos(it->second->mtime_ms * 1000000);
    }
    if (e.type() == v1::ENTRY_FILE) total += e.size();
  }
  manifest.set_total_bytes(total);
}

std::string DescribeOpenAtCut(const std::vector<OpenAtCut>& open) {
  if (open.empty()) return "";
  std::string out =
      std::to_string(open.size()) + (open.size() == 1 ? " file" : " files") + " open at the cut (";
  for (size_t i = 0; i < open.size() && i < 5; ++i) {
    const OpenAtCut& o = open[i];
    out += (i ? "; " : "") + o.path + ": " +
           (o.state == kStillOpen
                ? "held at the " + std::to_string(o.length) + " bytes the NameNode knew"
                : "closed after the cut, held as closed (" + std::to_string(o.length) + " bytes)");
  }
  if (open.size() > 5) out += "; and " + std::to_string(open.size() - 5) + " more";
  return out + ")";
}

std::map<std::string, OpenAtCut> HoldAtCut(const CutRecord& record, int64_t snapshot_ms,
                                           std::map<std::string, FileStatus>& listing) {
  std::map<std::string, OpenAtCut> held;
  for (const OpenAtCut& o : record.open) {
    auto it = listing.find(o.path);
    if (it == listing.end() || it->second.is_dir || it->second.is_symlink) continue;
    FileStatus& st = it->second;
    OpenAtCut h = o;
    // The snapshot's view has only grown since the cut looked (HDFS appends; a truncate
    // after a close records a snapshot diff that keeps the earlier blocks).
    h.length = std::min(st.length, o.length);
    st.length = h.length;
    st.modification_ms = o.mtime_ms;
    held[o.path] = h;
  }
  if (snapshot_ms > 0) {
    for (auto& [p, st] : listing) {
      if (st.is_dir || st.is_symlink || held.count(p) || st.modification_ms < snapshot_ms) {
        continue;
      }
      held[p] = {p, st.length, st.modification_ms, kClosedAfter};
    }
  }
  return held;
}

}  // namespace lifeboat::hdfs
