// Reading what a peer instance holds (its cut and point records, objects) through the peer
// stream, and the target's own changes since a point.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_PEER_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_PEER_H_

#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <optional>
#include <string>

#include "events.h"
#include "store.h"

namespace lifeboat::hive {

class HivePlugin;

// The whole of item `item` of `snapshot` on `peer` (records are small).
StatusOr<std::string> ReadPeerItem(const sdk::Call& call, const v1::Peer& peer,
                                   const v1::SnapshotRef& snapshot, const std::string& item);

// Copies into `store` the objects of `manifest` it lacks, from the peer's `snapshot`
// (resumable, checked against their digests). Counts what it moved and what it found.
struct FetchCount {
  uint64_t bytes_copied = 0;
  uint64_t bytes_skipped = 0;
  uint64_t objects = 0;
};
struct ObjectRef {
  std::string hex;
  uint64_t size = 0;
  std::string path;
};
Status FetchObjects(const sdk::Call& call, const v1::Peer& peer, const v1::SnapshotRef& snapshot,
                    const std::vector<ObjectRef>& objects, SetStore& store,
                    uint64_t bandwidth_bytes_per_second, sdk::Throttle* throttle,
                    FetchCount& count);

// Where this cluster's log stood when it held the state of point `rp`: the end of its commit
// here (a point committed here), or the cut (a point cut here). nullopt when neither.
StatusOr<std::optional<hstate::LogPosition>> PositionOf(const SetStore& store,
                                                        const std::string& rp);

// What changed of `sel` on this metastore since `since`, except Lifeboat's own writes (the
// ranges in the store's own_writes). nullopt, with *why set, when the log cannot tell (another
// metastore, a hole).
StatusOr<std::optional<Touched>> OwnChangesSince(MetastoreClient& c, const SetStore& store,
                                                 const Selector& sel,
                                                 const hstate::LogPosition& since,
                                                 std::string* why);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_PEER_H_
