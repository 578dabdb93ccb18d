// How a localfs instance reads what its peer holds (a transfer's source snapshot, a restore's
// point on the other cluster): by path when the peer's root is a directory on this host, or
// through the host's peer stream (ABI 1.1: the peer's instance serves LB_OP_READ, read.cc) when
// it is not — or when the configuration says so (`peer_access`).
//
// Items of the peer stream, relative to the ReadRequest's snapshot (data set, restore point):
//   "cut"           the snapshot's cut record (snapshots/<key>/<rp>/cut.pb)
//   "tree/<path>"   a file of the snapshot's tree; <path> must be a file of the cut's manifest
//   "point"         the committed point's manifest (points/<key>/<rp>/manifest.pb)
//   "point/<path>"  a file of the point's tree; <path> must be a file of that manifest
//
// Thread-safety: a PeerSource is immutable and may be used from several threads of one call.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_PEER_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_PEER_H_

#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <string>

#include "config.h"
#include "layout.h"

namespace lifeboat::localfs {

inline constexpr char kItemCut[] = "cut";
inline constexpr char kItemTreePrefix[] = "tree/";
inline constexpr char kItemPoint[] = "point";
inline constexpr char kItemPointPrefix[] = "point/";

// The largest cut record or manifest read whole through the stream.
inline constexpr uint64_t kMaxRecordBytes = uint64_t{1} << 30;

class PeerSource {
 public:
  // Decides how `call` reaches `peer`: by path with PeerAccess::kPath, or kAuto when the peer's
  // root is a directory on this host; through the peer stream otherwise. INVALID_ARGUMENT for
  // a malformed peer configuration, or (kPath) a root that is not a directory here;
  // UNIMPLEMENTED (never retried) when the stream is needed and the host is older than ABI
  // 1.1. `call` must outlive the PeerSource.
  static StatusOr<PeerSource> Open(const sdk::Call& call, const v1::Peer& peer, PeerAccess access);

  bool by_path() const { return by_path_; }
  // The peer's layout; its paths can be opened only when by_path().
  const Layout& layout() const { return layout_; }
  // "cluster X (/root)" or "cluster X (through the peer stream)", for messages.
  const std::string& where() const { return where_; }

  // A whole record item ("cut", "point"): its bytes. NOT_FOUND when the peer does not hold it;
  // the peer's status otherwise.
  StatusOr<std::string> ReadRecord(const v1::SnapshotRef& ref, const std::string& item) const;

  // A whole record item, written to `dest` as it arrives (atomically and durably), never
  // held in memory: a cut record of a million files is ~150 MB (issue 13). NOT_FOUND when the
  // peer does not hold it; the peer's status otherwise.
  Status FetchRecord(const v1::SnapshotRef& ref, const std::string& item,
                     const std::string& dest) const;

  // Reads ranges of the file item `item` (sdk::CopyResumable's source). OUT_OF_RANGE when
  // the item ends early; NOT_FOUND when the peer no longer holds it; the peer's status
  // otherwise. Only through the stream (!by_path()).
  sdk::RangeReader Reader(const v1::SnapshotRef& ref, const std::string& item) const;

 private:
  PeerSource(const sdk::Call& call, v1::Peer peer, Layout layout, bool by_path, std::string where)
      : call_(&call),
        peer_(std::move(peer)),
        layout_(std::move(layout)),
        by_path_(by_path),
        where_(std::move(where)) {}

  const sdk::Call* call_;
  v1::Peer peer_;
  Layout layout_;
  bool by_path_;
  std::string where_;
};

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_PEER_H_
