#include "peer.h"

#include <fcntl.h>
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
    return ReadFileBytes(file);
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

Status PeerSource::CopyItem(const v1::SnapshotRef& ref, const std::string& item, int dst_fd,
                            const std::string& dst_path, uint64_t offset, uint64_t length,
                            uint64_t chunk_bytes, Sha256& sha,
                            const ChunkCallback& on_chunk) const {
  if (length == 0) return on_chunk(0);
  v1::ReadRequest req;
  *req.mutable_snapshot() = ref;
  req.set_item(item);
  req.set_offset(offset);
  req.set_length(length);
  uint64_t at = offset;
  uint64_t chunk_start = offset;
  const uint64_t end = offset + length;
  Status s = call_->ReadPeer(peer_, req, [&](std::string_view data) -> Status {
    if (data.size() > end - at) {
      return DataLossError(where_ + " sent more of " + item + " than the " +
                           std::to_string(length) + " bytes asked for");
    }
    LIFEBOAT_RETURN_IF_ERROR(PwriteAll(dst_fd, data.data(), data.size(), at, dst_path));
    sha.Update(data.data(), data.size());
    at += data.size();
    if (at - chunk_start >= chunk_bytes || at == end) {
      // As CopyRange: start the write-back now; durability comes from commit's syncfs.
      ::sync_file_range(dst_fd, static_cast<off_t>(chunk_start),
                        static_cast<off_t>(at - chunk_start), SYNC_FILE_RANGE_WRITE);
      const uint64_t n = at - chunk_start;
      chunk_start = at;
      return on_chunk(n);
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (at < end) {
    return Status(Code::kOutOfRange,
                  item + " from " + where_ + " ended at byte " + std::to_string(at) + " of " +
                      std::to_string(end),
                  item);
  }
  return OkStatus();
}

}  // namespace lifeboat::localfs
