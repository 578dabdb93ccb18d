#include "peer.h"

#include <lifeboat/sdk/copy.h>
#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/progress.h>

#include <filesystem>
#include <system_error>

namespace lifeboat::hive {

StatusOr<std::string> ReadPeerItem(const sdk::Call& call, const v1::Peer& peer,
                                   const v1::SnapshotRef& snapshot, const std::string& item) {
  v1::ReadRequest read;
  *read.mutable_snapshot() = snapshot;
  read.set_item(item);
  std::string out;
  Status s = call.ReadPeer(peer, read, [&](std::string_view chunk) {
    out.append(chunk);
    return OkStatus();
  });
  if (!s.ok()) {
    return s.WithContext("reading '" + item + "' of " + snapshot.restore_point_id() +
                         " from cluster " + peer.config().cluster());
  }
  return out;
}

Status FetchObjects(const sdk::Call& call, const v1::Peer& peer, const v1::SnapshotRef& snapshot,
                    const std::vector<ObjectRef>& objects, SetStore& store,
                    uint64_t bandwidth_bytes_per_second, sdk::Throttle* throttle,
                    FetchCount& count) {
  uint64_t total = 0;
  for (const auto& o : objects) total += o.size;
  sdk::ProgressReporter progress(call, "transfer", total, objects.size());
  for (const auto& o : objects) {
    if (call.Cancelled()) return CancelledError("transfer of hive objects cancelled");
    if (store.HasObject(o.hex, o.size)) {
      count.bytes_skipped += o.size;
      ++count.objects;
      progress.Add(0, 1, o.path);
      continue;
    }
    v1::ReadRequest read;
    *read.mutable_snapshot() = snapshot;
    read.set_item("object/" + o.hex);
    sdk::CopyOptions opts;
    opts.throttle = throttle;
    uint64_t reported = 0;
    opts.on_bytes = [&](uint64_t moved) {
      progress.Add(moved - reported, 0, o.path);
      reported = moved;
    };
    const std::filesystem::path partial = store.PartialFile(o.hex);
    StatusOr<sdk::CopyResult> copied =
        sdk::CopyResumable(call, sdk::PeerRangeReader(call, peer, read), o.size, partial, opts);
    if (!copied.ok()) return copied.status().WithContext("object " + o.path);
    count.bytes_copied += copied->bytes_copied;
    count.bytes_skipped += copied->bytes_skipped;
    if (sdk::Hex(copied->sha256) != o.hex) {
      std::error_code ec;
      std::filesystem::remove(partial, ec);
      return DataLossError("object " + o.path + " read from cluster " + peer.config().cluster() +
                               " does not match its digest " + o.hex +
                               " (damaged on the way or in the source's state directory)",
                           o.path);
    }
    std::error_code ec;
    std::filesystem::rename(partial, store.ObjectFile(o.hex), ec);
    if (ec) return sdk::ErrnoError(store.ObjectFile(o.hex), "rename into place", ec.value());
    LIFEBOAT_RETURN_IF_ERROR(sdk::SyncDirectory(store.ObjectFile(o.hex).parent_path()));
    ++count.objects;
    progress.Add(0, 1, o.path);
  }
  progress.Flush();
  return OkStatus();
}

StatusOr<std::optional<hstate::LogPosition>> PositionOf(const SetStore& store,
                                                        const std::string& rp) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto point, store.ReadPoint(rp));
  if (point) return std::optional<hstate::LogPosition>(point->commit_end());
  LIFEBOAT_ASSIGN_OR_RETURN(auto cut, store.ReadCut(rp));
  if (cut) return std::optional<hstate::LogPosition>(cut->position());
  return std::optional<hstate::LogPosition>();
}

StatusOr<std::optional<Touched>> OwnChangesSince(MetastoreClient& c, const SetStore& store,
                                                 const Selector& sel,
                                                 const hstate::LogPosition& since,
                                                 std::string* why) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t now, c.GetCurrentNotificationEventId());
  if (uuid != since.metastore_uuid() || now < since.event_id()) {
    *why = "the metastore is not the one that held the base point (database " + uuid + ", was " +
           since.metastore_uuid() + ")";
    return std::optional<Touched>();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(hstate::OwnWrites own, store.ReadOwnWrites());
  auto ours = [&](int64_t id) {
    if (own.metastore_uuid() != uuid) return false;
    for (const auto& r : own.ranges()) {
      if (id >= r.first() && id <= r.last()) return true;
    }
    return false;
  };
  Touched changes;
  LogGap gap;
  Status s = ReadEvents(
      c, since.event_id(), now,
      [&](const thrift::NotificationEvent& e) {
        return ours(e.eventId) ? OkStatus() : Classify(e, sel, changes);
      },
      &gap);
  if (!s.ok()) {
    if (gap.first_missing == 0) return s;
    *why = gap.Describe();
    return std::optional<Touched>();
  }
  return std::optional<Touched>(std::move(changes));
}

}  // namespace lifeboat::hive
