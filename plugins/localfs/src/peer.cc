#include "peer.h"

#include <fcntl.h>
#include <lifeboat/sdk/files.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "fs.h"

namespace lifeboat::localfs {

StatusOr<PeerSource> PeerSource::Open(const sdk::Call& call, const v1::Peer& peer,
                                      PeerAccess access) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config config, ParsePeerConfig(peer.config()));
  const std::string& cluster = peer.config().cluster();
  bool by_path = false;
  if (access != PeerAccess::kStream) {
    struct stat st;
    const bool here = ::stat(config.root.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    if (access == PeerAccess::kPath && !here) {
      return InvalidArgumentError("peer_access is \"path\" but the root of cluster " + cluster +
                                      ", " + config.root +
                                      ", is not a directory on this host; mount it here, or "
                                      "set peer_access to \"auto\" or \"stream\"",
                                  "peer_access");
    }
    by_path = here;
  }
  if (!by_path && !call.HostHasPeerStream()) {
    return UnimplementedError("the root of cluster " + cluster + " (" + config.root +
                              ") is not a directory on this host, and this host has no peer "
                              "stream (it needs plugin ABI 1.1); upgrade the agent, or mount "
                              "the peer's root here");
  }
  std::string where = "cluster " + cluster + " (" +
                      (by_path ? config.root : std::string("through the peer stream")) + ")";
  return PeerSource(call, peer, Layout(config.root), by_path, std::move(where));
}

StatusOr<std::string> PeerSource::ReadRecord(const v1::SnapshotRef& ref,
                                             const std::string& item) const {
  const std::string key = DataSetKey(ref.data_set().selector());
  if (by_path_) {
    const std::string file =
        item == kItemCut ? JoinPath(layout_.Snapshot(key, ref.restore_point_id()), kCutFile)
                         : JoinPath(layout_.Point(key, ref.restore_point_id()), kManifestFile);
    return sdk::ReadWholeFile(file);
  }
  v1::ReadRequest req;
  *req.mutable_snapshot() = ref;
  req.set_item(item);
  std::string bytes;
  Status s = call_->ReadPeer(peer_, req, [&](std::string_view chunk) -> Status {
    if (bytes.size() + chunk.size() > kMaxRecordBytes) {
      return Status(Code::kResourceExhausted, "the " + item + " record of " + where_ +
                                                  " is larger than " +
                                                  std::to_string(kMaxRecordBytes) + " bytes");
    }
    bytes.append(chunk);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return bytes;
}

sdk::RangeReader PeerSource::Reader(const v1::SnapshotRef& ref, const std::string& item) const {
  v1::ReadRequest req;
  *req.mutable_snapshot() = ref;
  req.set_item(item);
  return sdk::PeerRangeReader(*call_, peer_, std::move(req));
}

}  // namespace lifeboat::localfs
