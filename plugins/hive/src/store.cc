#include "store.h"

#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>

#include <algorithm>
#include <set>
#include <system_error>

namespace lifeboat::hive {
namespace fs = std::filesystem;
namespace {

constexpr size_t kOwnWritesKept = 1000;

template <typename T>
StatusOr<std::optional<T>> ReadRecord(const fs::path& file) {
  StatusOr<std::string> bytes = sdk::ReadWholeFile(file);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return std::optional<T>();
    return bytes.status();
  }
  T record;
  if (!record.ParseFromString(*bytes)) {
    return DataLossError("the hive plugin's record " + file.string() +
                             " does not parse; it was damaged on disk (restore the state "
                             "directory from a backup, or delete the record to forget it)",
                         file.string());
  }
  return std::optional<T>(std::move(record));
}

Status RemoveFile(const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) return sdk::ErrnoError(file, "remove", ec.value());
  return OkStatus();
}

std::vector<std::string> List(const fs::path& dir, const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void AddEntries(const hstate::CutRecord& cut, std::set<std::string>& hexes) {
  v1::MemberManifest m;
  if (!m.ParseFromString(cut.manifest())) return;
  for (const auto& e : m.entries()) hexes.insert(sdk::Hex(e.digest()));
}

}  // namespace

Status CheckPointId(const std::string& rp) {
  if (rp.empty() || rp.size() > 200 || rp == "." || rp == ".." ||
      rp.find_first_of("/\\") != std::string::npos || rp.find('\0') != std::string::npos) {
    return InvalidArgumentError("restore point id '" + rp + "' cannot name a record", rp);
  }
  return OkStatus();
}

SetStore::SetStore(fs::path dir) : dir_(std::move(dir)) {
  journal_ =
      std::make_unique<sdk::OpJournal>(std::make_unique<sdk::FileJournalStore>(dir_ / "journal"));
}

Status SetStore::Init() {
  for (const char* sub : {"objects", "cuts", "points", "plans", "partial"}) {
    std::error_code ec;
    fs::create_directories(dir_ / sub, ec);
    if (ec) {
      return sdk::ErrnoError(dir_ / sub, "create the hive plugin's state directory", ec.value());
    }
  }
  return OkStatus();
}

fs::path SetStore::ObjectFile(const std::string& hex) const { return dir_ / "objects" / hex; }
fs::path SetStore::PartialFile(const std::string& hex) const {
  return dir_ / "partial" / (hex + ".part");
}

bool SetStore::HasObject(const std::string& hex, uint64_t size) const {
  std::error_code ec;
  uint64_t have = fs::file_size(ObjectFile(hex), ec);
  return !ec && have == size;
}

StatusOr<std::string> SetStore::PutObject(const std::string& bytes) {
  std::string digest = sdk::Sha256Of(bytes);
  std::string hex = sdk::Hex(digest);
  if (!HasObject(hex, bytes.size())) {
    LIFEBOAT_RETURN_IF_ERROR(sdk::WriteFileAtomically(ObjectFile(hex), bytes));
  }
  return digest;
}

StatusOr<std::string> SetStore::ReadObject(const std::string& hex) const {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string bytes, sdk::ReadWholeFile(ObjectFile(hex)));
  if (sdk::Hex(sdk::Sha256Of(bytes)) != hex) {
    return DataLossError("object " + ObjectFile(hex).string() +
                             " does not hold the bytes its name says (damaged on disk)",
                         hex);
  }
  return bytes;
}

StatusOr<std::string> SetStore::ReadEntry(const v1::Entry& entry) const {
  StatusOr<std::string> bytes = ReadObject(sdk::Hex(entry.digest()));
  if (!bytes.ok()) return bytes.status().WithContext("object of " + entry.path());
  return bytes;
}

StatusOr<std::optional<hstate::CutRecord>> SetStore::ReadCut(const std::string& rp) const {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return ReadRecord<hstate::CutRecord>(dir_ / "cuts" / (rp + ".cut"));
}
Status SetStore::WriteCut(const std::string& rp, const hstate::CutRecord& record) {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return sdk::WriteFileAtomically(dir_ / "cuts" / (rp + ".cut"), record.SerializeAsString());
}
Status SetStore::DeleteCut(const std::string& rp) {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return RemoveFile(dir_ / "cuts" / (rp + ".cut"));
}
std::vector<std::string> SetStore::Cuts() const { return List(dir_ / "cuts", ".cut"); }

StatusOr<std::optional<hstate::PointRecord>> SetStore::ReadPoint(const std::string& rp) const {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return ReadRecord<hstate::PointRecord>(dir_ / "points" / (rp + ".point"));
}
Status SetStore::WritePoint(const std::string& rp, const hstate::PointRecord& record) {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return sdk::WriteFileAtomically(dir_ / "points" / (rp + ".point"), record.SerializeAsString());
}
Status SetStore::DeletePoint(const std::string& rp) {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return RemoveFile(dir_ / "points" / (rp + ".point"));
}
std::vector<std::string> SetStore::Points() const { return List(dir_ / "points", ".point"); }

StatusOr<std::optional<hstate::PlanRecord>> SetStore::ReadPlan(const std::string& rp) const {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return ReadRecord<hstate::PlanRecord>(dir_ / "plans" / (rp + ".plan"));
}
Status SetStore::WritePlan(const std::string& rp, const hstate::PlanRecord& record) {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return sdk::WriteFileAtomically(dir_ / "plans" / (rp + ".plan"), record.SerializeAsString());
}
Status SetStore::DeletePlan(const std::string& rp) {
  LIFEBOAT_RETURN_IF_ERROR(CheckPointId(rp));
  return RemoveFile(dir_ / "plans" / (rp + ".plan"));
}
std::vector<std::string> SetStore::Plans() const { return List(dir_ / "plans", ".plan"); }

StatusOr<hstate::OwnWrites> SetStore::ReadOwnWrites() const {
  LIFEBOAT_ASSIGN_OR_RETURN(auto record, ReadRecord<hstate::OwnWrites>(dir_ / "own_writes"));
  return record ? *record : hstate::OwnWrites();
}

Status SetStore::AddOwnWrites(const std::string& uuid, int64_t first, int64_t last,
                              const std::string& what) {
  if (last < first) return OkStatus();  // nothing was logged
  LIFEBOAT_ASSIGN_OR_RETURN(hstate::OwnWrites record, ReadOwnWrites());
  if (record.metastore_uuid() != uuid) {
    // Another metastore (reset, or restored from a backup): the old ids mean nothing there.
    record.Clear();
    record.set_metastore_uuid(uuid);
  }
  auto* range = record.add_ranges();
  range->set_first(first);
  range->set_last(last);
  range->set_what(what);
  if (static_cast<size_t>(record.ranges_size()) > kOwnWritesKept) {
    record.mutable_ranges()->DeleteSubrange(
        0, record.ranges_size() - static_cast<int>(kOwnWritesKept));
  }
  return sdk::WriteFileAtomically(dir_ / "own_writes", record.SerializeAsString());
}

StatusOr<std::optional<hstate::CutRecord>> SetStore::StateOf(const std::string& rp) const {
  LIFEBOAT_ASSIGN_OR_RETURN(auto point, ReadPoint(rp));
  if (point) return std::optional<hstate::CutRecord>(point->cut());
  return ReadCut(rp);
}

StatusOr<uint64_t> SetStore::CollectGarbage() {
  std::set<std::string> keep;
  for (const std::string& rp : Cuts()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto cut, ReadCut(rp));
    if (cut) AddEntries(*cut, keep);
  }
  for (const std::string& rp : Points()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto point, ReadPoint(rp));
    if (point) AddEntries(point->cut(), keep);
  }
  for (const std::string& rp : Plans()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto plan, ReadPlan(rp));
    hstate::CutRecord cut;
    if (plan && cut.ParseFromString(plan->cut())) AddEntries(cut, keep);
  }
  uint64_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "objects", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (keep.count(name) != 0) continue;
    // Temporary files of a write in progress (WriteFileAtomically) are not objects yet.
    if (name.size() != 64) continue;
    LIFEBOAT_RETURN_IF_ERROR(RemoveFile(it->path()));
    ++removed;
  }
  for (fs::directory_iterator it(dir_ / "partial", ec), end; !ec && it != end; it.increment(ec)) {
    std::string hex = it->path().stem().string();
    if (keep.count(hex) == 0 || fs::exists(ObjectFile(hex))) {
      LIFEBOAT_RETURN_IF_ERROR(RemoveFile(it->path()));
    }
  }
  return removed;
}

StatusOr<v1::MemberManifest> ManifestOf(const hstate::CutRecord& cut) {
  v1::MemberManifest m;
  if (!m.ParseFromString(cut.manifest())) {
    return DataLossError("a hive cut record holds a manifest that does not parse");
  }
  return m;
}

StatusOr<v1::SnapshotRef> SnapshotOf(const hstate::CutRecord& cut) {
  v1::SnapshotRef s;
  if (!s.ParseFromString(cut.snapshot())) {
    return DataLossError("a hive cut record holds a snapshot reference that does not parse");
  }
  return s;
}

}  // namespace lifeboat::hive
