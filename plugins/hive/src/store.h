// The hive plugin's state on the agent's local disk (Config.state_dir). The metastore has no
// snapshots, so a point's metadata is kept here, as content-addressed objects (model.h) and
// records naming them:
//
//   <state_dir>/<cluster>/<data set>/
//     objects/<sha256 hex>      an object's bytes, written once (temporary file + rename)
//     cuts/<point>.cut          CutRecord: a cut taken on this cluster (the source side)
//     points/<point>.point      PointRecord: a point committed on this cluster (the target)
//     plans/<point>.plan        PlanRecord: what plan_transfer decided for a point coming in
//     partial/<hex>.part        an object being transferred (resumed from its length)
//     own_writes                OwnWrites: the event ids of Lifeboat's own writes here
//     journal                   the op-id journal (sdk::OpJournal) of this data set
//
// Objects are shared by the cuts and points of the data set on this cluster: an unchanged
// table costs nothing per point, and a point coming back after a failover finds most of its
// objects here already. An object goes when no record names it (CollectGarbage).
//
// Thread-safety: a SetStore is used under its mutex() for everything that reads and writes
// records together (cut, commit, release, expire, garbage); objects may be read and written
// (PutObject is atomic and idempotent) without it.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_STORE_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_STORE_H_

#include <lifeboat/sdk/journal.h>
#include <lifeboat/status.h>
#include <lifeboat/v1/manifest.pb.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/hive/state/v1/state.pb.h"

namespace lifeboat::hive {

namespace hstate = ::lifeboat::hive::state::v1;

class SetStore {
 public:
  explicit SetStore(std::filesystem::path dir);

  // Creates the directories; the error names the path and the reason.
  Status Init();
  const std::filesystem::path& dir() const { return dir_; }
  std::mutex& mutex() { return mu_; }
  sdk::OpJournal& journal() { return *journal_; }

  // ---- Objects ----
  std::filesystem::path ObjectFile(const std::string& hex) const;
  std::filesystem::path PartialFile(const std::string& hex) const;
  bool HasObject(const std::string& hex, uint64_t size) const;
  // Stores `bytes` (if not there) and returns the raw SHA-256 of them.
  StatusOr<std::string> PutObject(const std::string& bytes);
  // The object's bytes, checked against its name (DATA_LOSS when they differ).
  StatusOr<std::string> ReadObject(const std::string& hex) const;
  // The object an entry of a manifest names.
  StatusOr<std::string> ReadEntry(const v1::Entry& entry) const;

  // ---- Records ---- (nullopt when absent)
  StatusOr<std::optional<hstate::CutRecord>> ReadCut(const std::string& rp) const;
  Status WriteCut(const std::string& rp, const hstate::CutRecord& record);
  Status DeleteCut(const std::string& rp);
  std::vector<std::string> Cuts() const;  // point ids, sorted
  StatusOr<std::optional<hstate::PointRecord>> ReadPoint(const std::string& rp) const;
  Status WritePoint(const std::string& rp, const hstate::PointRecord& record);
  Status DeletePoint(const std::string& rp);
  std::vector<std::string> Points() const;
  StatusOr<std::optional<hstate::PlanRecord>> ReadPlan(const std::string& rp) const;
  Status WritePlan(const std::string& rp, const hstate::PlanRecord& record);
  Status DeletePlan(const std::string& rp);
  std::vector<std::string> Plans() const;
  StatusOr<hstate::OwnWrites> ReadOwnWrites() const;
  // Adds a range of event ids (metastore `uuid`) written by Lifeboat.
  Status AddOwnWrites(const std::string& uuid, int64_t first, int64_t last,
                      const std::string& what);

  // The state a record holds (the cut of a point, its own or inside a point record): the
  // point as cut, whichever way this cluster holds it. nullopt when neither.
  StatusOr<std::optional<hstate::CutRecord>> StateOf(const std::string& rp) const;

  // Deletes every object no record and no plan names, and partial files of objects that are
  // already complete. Returns how many objects went.
  StatusOr<uint64_t> CollectGarbage();

 private:
  std::filesystem::path dir_;
  std::mutex mu_;
  std::unique_ptr<sdk::OpJournal> journal_;
};

// The manifest a cut record holds.
StatusOr<v1::MemberManifest> ManifestOf(const hstate::CutRecord& cut);
// The snapshot reference a cut record holds.
StatusOr<v1::SnapshotRef> SnapshotOf(const hstate::CutRecord& cut);

// A restore point id checked for use as a file name: INVALID_ARGUMENT otherwise.
Status CheckPointId(const std::string& rp);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_STORE_H_
