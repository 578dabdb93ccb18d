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

Status PeerSource::FetchRecord(const v1::SnapshotRef& ref, const std::string& item,
                               const std::string& dest) const {
  const std::string key = DataSetKey(ref.data_set().selector());
  const std::string tmp = dest + ".part";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return ErrnoError(errno, "cannot create", tmp);
  uint64_t written = 0;
  auto write = [&](std::string_view chunk) -> Status {
    if (written + chunk.size() > kMaxRecordBytes * 16) {
      return Status(Code::kResourceExhausted, "the " + item + " record of " + where_ +
                                                  " is larger than " +
                                                  std::to_string(kMaxRecordBytes * 16) + " bytes");
    }
    LIFEBOAT_RETURN_IF_ERROR(WriteAll(out.get(), chunk, tmp));
    written += chunk.size();
    return OkStatus();
  };
  Status s;
  if (by_path_) {
    const std::string file =
        item == kItemCut ? JoinPath(layout_.Snapshot(key, ref.restore_point_id()), kCutFile)
                         : JoinPath(layout_.Point(key, ref.restore_point_id()), kManifestFile);
    UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) {
      s = ErrnoError(errno, "cannot open", file);
    } else {
      std::vector<char> buf(size_t{1} << 20);
      for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          s = ErrnoError(errno, "cannot read", file);
          break;
        }
        if (n == 0) break;
        s = write(std::string_view(buf.data(), static_cast<size_t>(n)));
        if (!s.ok()) break;
      }
    }
  } else {
    v1::ReadRequest req;
    *req.mutable_snapshot() = ref;
    req.set_item(item);
    s = call_->ReadPeer(peer_, req, write);
  }
  if (s.ok() && ::fsync(out.get()) != 0) s = ErrnoError(errno, "cannot flush", tmp);
  out.Reset();
  if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0)
    s = ErrnoError(errno, "cannot rename", tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return sdk::SyncDirectory(ParentOf(dest));
}

sdk::RangeReader PeerSource::Reader(const v1::SnapshotRef& ref, const std::string& item) const {
  v1::ReadRequest req;
  *req.mutable_snapshot() = ref;
  req.set_item(item);
  return sdk::PeerRangeReader(*call_, peer_, std::move(req));
}

}  // namespace lifeboat::localfs
