#include "snapshot_manifest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "table_name.h"

namespace lifeboat::hbase {
namespace {

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// HBase's HFile name: hex digits, optionally "_SeqId_<n>_" (bulk loads) or "_del".
bool IsHFileName(std::string_view s) {
  size_t u = s.find('_');
  if (u == std::string_view::npos) return IsHex(s);
  if (!IsHex(s.substr(0, u))) return false;
  std::string_view rest = s.substr(u);
  if (rest == "_del") return true;
  constexpr std::string_view kSeq = "_SeqId_";
  if (rest.substr(0, kSeq.size()) != kSeq || rest.back() != '_') return false;
  std::string_view digits = rest.substr(kSeq.size(), rest.size() - kSeq.size() - 1);
  return !digits.empty() &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string TableDir(std::string_view ns, std::string_view table) {
  return "data/" + std::string(ns) + "/" + std::string(table);
}

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_md5(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// Where the bytes of HFile `hfile` (a plain name or a link name) of `family` in region
// `region` of table ns:table live.
void Locate(std::string_view ns, std::string_view table, std::string_view region,
            std::string_view family, std::string_view hfile, SnapshotStoreFile* out) {
  std::string rel;
  if (auto link = ParseHFileLinkName(hfile)) {
    rel = TableDir(link->ns, link->table) + "/" + link->region + "/" + std::string(family) + "/" +
          link->hfile;
  } else {
    rel = TableDir(ns, table) + "/" + std::string(region) + "/" + std::string(family) + "/" +
          std::string(hfile);
  }
  out->data_path = rel;
  out->archive_path = "archive/" + rel;
}

}  // namespace

std::string SnapshotDirectory(std::string_view name) {
  return std::string(kSnapshotDir) + "/" + std::string(name);
}

StatusOr<pb::SnapshotDescription> ParseSnapshotInfo(std::string_view bytes) {
  pb::SnapshotDescription d;
  if (!d.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLossError("the snapshot's .snapshotinfo (" + std::to_string(bytes.size()) +
                         " bytes) does not parse as a SnapshotDescription");
  }
  return d;
}

StatusOr<pb::SnapshotDataManifest> ParseDataManifest(std::string_view bytes) {
  pb::SnapshotDataManifest m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLossError("the snapshot's data.manifest (" + std::to_string(bytes.size()) +
                         " bytes) does not parse as a SnapshotDataManifest");
  }
  return m;
}

std::string EncodedRegionName(const pb::RegionInfo& region) {
  std::string name = FormatTableName(region.table_name());
  name += ',';
  name += region.start_key();
  name += ',';
  name += std::to_string(region.region_id());
  if (region.replica_id() > 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "_%04X", static_cast<unsigned>(region.replica_id()));
    name += buf;
  }
  return Md5Hex(name);
}

std::optional<HFileLinkName> ParseHFileLinkName(std::string_view name) {
  size_t last_eq = name.rfind('=');
  if (last_eq == std::string_view::npos) return std::nullopt;
  std::string_view head = name.substr(0, last_eq);
  std::string_view tail = name.substr(last_eq + 1);
  size_t dash = tail.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  HFileLinkName link;
  link.region = std::string(tail.substr(0, dash));
  link.hfile = std::string(tail.substr(dash + 1));
  if (!IsHex(link.region) || !IsHFileName(link.hfile)) return std::nullopt;
  size_t first_eq = head.find('=');
  if (first_eq == std::string_view::npos) {
    link.ns = "default";
    link.table = std::string(head);
  } else {
    link.ns = std::string(head.substr(0, first_eq));
    link.table = std::string(head.substr(first_eq + 1));
  }
  if (link.ns.empty() || link.table.empty() || link.table.find('=') != std::string::npos) {
    return std::nullopt;
  }
  return link;
}

std::optional<std::pair<std::string, std::string>> ParseReferenceName(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view file = name.substr(0, dot);
  std::string_view parent = name.substr(dot + 1);
  if (!IsHex(parent)) return std::nullopt;
  if (!IsHFileName(file) && !ParseHFileLinkName(file)) return std::nullopt;
  return std::pair<std::string, std::string>(std::string(file), std::string(parent));
}

StatusOr<std::vector<SnapshotStoreFile>> ListStoreFiles(const pb::SnapshotDataManifest& manifest) {
  std::vector<SnapshotStoreFile> out;
  for (const auto& rm : manifest.region_manifests()) {
    const pb::TableName& t = rm.region_info().table_name();
    const std::string region = EncodedRegionName(rm.region_info());
    for (const auto& ff : rm.family_files()) {
      for (const auto& sf : ff.store_files()) {
        SnapshotStoreFile f;
        f.region = region;
        f.family = ff.family_name();
        f.name = sf.name();
        if (sf.has_file_size()) f.manifest_size = sf.file_size();
        if (sf.has_reference()) {
          auto ref = ParseReferenceName(sf.name());
          if (!ref) {
            return InvalidArgumentError("region " + region + " family " + f.family +
                                        ": store file '" + sf.name() +
                                        "' carries a Reference but is not named "
                                        "<hfile>.<parent region>");
          }
          f.kind = SnapshotStoreFile::Kind::kReference;
          Locate(t.namespace_(), t.qualifier(), ref->second, f.family, ref->first, &f);
        } else if (ParseHFileLinkName(sf.name())) {
          f.kind = SnapshotStoreFile::Kind::kLink;
          Locate(t.namespace_(), t.qualifier(), region, f.family, sf.name(), &f);
        } else if (IsHFileName(sf.name())) {
          Locate(t.namespace_(), t.qualifier(), region, f.family, sf.name(), &f);
        } else {
          return InvalidArgumentError("region " + region + " family " + f.family +
                                      ": store file '" + sf.name() +
                                      "' is neither an HFile, a reference nor a link name");
        }
        out.push_back(std::move(f));
      }
    }
  }
  return out;
}

std::vector<SnapshotStoreFile> DistinctHFiles(const std::vector<SnapshotStoreFile>& files) {
  std::map<std::string, SnapshotStoreFile> by_path;
  for (const SnapshotStoreFile& f : files) by_path.emplace(f.archive_path, f);
  std::vector<SnapshotStoreFile> out;
  out.reserve(by_path.size());
  for (auto& [path, f] : by_path) out.push_back(std::move(f));
  return out;
}

}  // namespace lifeboat::hbase
