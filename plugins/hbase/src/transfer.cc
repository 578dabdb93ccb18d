// plan_transfer and transfer (on the target): the HFiles of the point's snapshots that the
// target does not hold yet, copied from the source over WebHDFS into the staging directory,
// one task per HFile, resumable from what the staged file already holds, throttled per job.
#include <lifeboat/sdk/progress.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "hbase_plugin.h"
#include "snapshot_files.h"

namespace lifeboat::hbase {

namespace {

struct Peer {
  Config config;
  Layout layout;
  std::unique_ptr<hdfs::WebHdfsClient> fs;
};

StatusOr<Peer> PeerOf(const v1::Peer& peer) {
  if (peer.config().config_json().empty()) {
    return InvalidArgumentError("the request names no source cluster (Peer.config)");
  }
  StatusOr<Config> c = ParseConfig(peer.config().config_json());
  if (!c.ok()) return c.status().WithContext("the source cluster's configuration");
  Peer p;
  p.config = *c;
  p.layout = Layout{c->root, c->state_dir};
  hdfs::WebHdfsClient::Options o;
  o.namenodes = c->namenodes;
  o.user = c->user;
  p.fs = std::make_unique<hdfs::WebHdfsClient>(o);
  return p;
}

// A bounded queue between the source's read stream and the target's write stream, so that
// an HFile never sits whole in memory.
class Pipe {
 public:
  static constexpr size_t kMaxBuffered = 8 << 20;

  // Reader side: false once the writer closed the pipe.
  bool Push(std::string_view piece) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return closed_ || buffered_ < kMaxBuffered; });
    if (closed_) return false;
    q_.emplace_back(piece);
    buffered_ += piece.size();
    cv_.notify_all();
    return true;
  }
  void Finish(Status status) {
    std::lock_guard<std::mutex> l(mu_);
    eof_ = true;
    read_status_ = std::move(status);
    cv_.notify_all();
  }
  // Writer side: up to `max` bytes into `out`; 0 at the end of the read.
  size_t Pull(char* out, size_t max) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !q_.empty() || eof_; });
    size_t n = 0;
    while (n < max && !q_.empty()) {
      std::string& front = q_.front();
      const size_t take = std::min(max - n, front.size() - front_used_);
      std::memcpy(out + n, front.data() + front_used_, take);
      n += take;
      front_used_ += take;
      if (front_used_ == front.size()) {
        buffered_ -= front.size();
        q_.pop_front();
        front_used_ = 0;
      }
    }
    cv_.notify_all();
    return n;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  Status read_status() {
    std::lock_guard<std::mutex> l(mu_);
    return read_status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  size_t front_used_ = 0;
  size_t buffered_ = 0;
  bool eof_ = false;
  bool closed_ = false;
  Status read_status_;
};

struct StreamResult {
  uint64_t sent = 0;
  bool cancelled = false;
  Status read_status;
};

// Streams `src_path` from `offset` to its end into `dst_path` (created, or appended to when
// `append`). A cancellation ends the upload cleanly, so the target keeps what was sent.
StatusOr<StreamResult> Stream(sdk::Call& call, hdfs::WebHdfsClient& src,
                              const std::string& src_path, uint64_t offset,
                              hdfs::WebHdfsClient& dst, const std::string& dst_path, bool append,
                              const hdfs::WebHdfsClient::CreateOptions& options,
                              sdk::Throttle& throttle, sdk::ProgressReporter& progress,
                              const std::string& item) {
  Pipe pipe;
  StreamResult result;
  std::thread reader([&] {
    Status s = src.ReadStream(src_path, offset, 0,
                              [&](std::string_view piece) { return pipe.Push(piece); });
    pipe.Finish(s);
  });
  hdfs::WebHdfsClient::Source source = [&](char* buffer, size_t max) -> size_t {
    if (result.cancelled || call.Cancelled()) {
      result.cancelled = true;
      return 0;
    }
    const size_t n = pipe.Pull(buffer, max);
    if (n == 0) return 0;
    if (!throttle.Acquire(n, &call).ok()) result.cancelled = true;  // the bytes still go
    result.sent += n;
    progress.Add(n, 0, item);
    return n;
  };
  Status written =
      append ? dst.AppendStream(dst_path, source) : dst.CreateStream(dst_path, options, source);
  pipe.Close();
  reader.join();
  result.read_status = pipe.read_status();
  if (!written.ok()) return written;
  return result;
}

}  // namespace

StatusOr<v1::PlanTransferResponse> HBasePlugin::PlanTransfer(sdk::Call& call,
                                                             const v1::PlanTransferRequest& req) {
  // Not journaled: the plan is worked out again from both clusters' state (the HFiles the
  // target holds), and a plan with thousands of tasks would bloat the journal.
  return DoPlan(call, req);
}

StatusOr<v1::PlanTransferResponse> HBasePlugin::DoPlan(sdk::Call& call,
                                                       const v1::PlanTransferRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Peer src, PeerOf(req.source()));
  const std::string& rp = req.snapshot().restore_point_id();
  LIFEBOAT_ASSIGN_OR_RETURN(PointRecord point, PointFromJson(req.snapshot().opaque()));
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(point.selector));
  StatusOr<std::string> manifest_bytes =
      src.fs->ReadAll(src.layout.CutDir(rp) + "/" + kManifestFile);
  if (!manifest_bytes.ok()) {
    if (manifest_bytes.status().code() == Code::kNotFound) {
      return AbortedError("the cut of point " + rp + " is gone from the source (" +
                              src.layout.CutDir(rp) + "): cut again",
                          rp);
    }
    return manifest_bytes.status();
  }
  v1::MemberManifest manifest;
  if (!manifest.ParseFromString(*manifest_bytes)) {
    return DataLossError("the cut manifest of point " + rp + " on the source does not parse", rp);
  }

  // The snapshots' descriptor files, staged for commit.
  const std::string staging = layout_.StagingDir(rp);
  for (const PointTable& t : point.tables) {
    if (call.Cancelled()) return CancelledError("plan of " + rp + " cancelled");
    for (std::string_view file : {kSnapshotInfoFile, kDataManifestFile}) {
      const std::string from = src.layout.SnapshotDir(t.snapshot) + "/" + std::string(file);
      StatusOr<std::string> bytes = src.fs->ReadAll(from);
      if (!bytes.ok()) {
        if (bytes.status().code() == Code::kNotFound) {
          return AbortedError("snapshot " + t.snapshot + " of point " + rp +
                                  " is gone from the source (released or deleted): cut again",
                              t.snapshot);
        }
        return bytes.status();
      }
      LIFEBOAT_RETURN_IF_ERROR(WriteSmallFile(
          fs_, staging + "/snapshots/" + t.snapshot + "/" + std::string(file), *bytes));
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(WriteSmallFile(fs_, staging + "/" + kManifestFile, *manifest_bytes));
  LIFEBOAT_RETURN_IF_ERROR(WriteSmallFile(fs_, staging + "/" + kPointFile, PointToJson(point)));

  v1::PlanTransferResponse resp;
  bool base_here = false;
  std::set<std::string> base_items;
  if (!req.base_restore_point_id().empty()) {
    StatusOr<PointFiles> base =
        LoadPoint(fs_, layout_, layout_.PointDir(req.base_restore_point_id()));
    if (base.ok()) {
      base_here = true;
      for (const auto& e : base->manifest.entries()) {
        if (e.type() == v1::ENTRY_FILE) base_items.insert(e.path());
      }
    } else if (base.status().code() != Code::kNotFound) {
      return base.status();
    }
  }
  std::set<std::string> now_items;
  for (const v1::Entry& e : manifest.entries()) {
    if (e.type() != v1::ENTRY_FILE) continue;
    now_items.insert(e.path());
    if (!req.force_full()) {
      LIFEBOAT_ASSIGN_OR_RETURN(std::string held, HeldPath(ds.ns, e.path(), e.size()));
      if (!held.empty()) {
        resp.set_items_unchanged(resp.items_unchanged() + 1);
        continue;
      }
    }
    v1::TransferTask* task = resp.add_tasks();
    task->set_task_id(e.path());
    task->set_kind("hfile");
    task->add_paths(e.path());
    task->set_bytes(e.size());
    task->set_items(1);
    task->set_opaque(
        nlohmann::json({{"ns", ds.ns}, {"item", e.path()}, {"size", e.size()}}).dump());
    resp.set_bytes_to_copy(resp.bytes_to_copy() + e.size());
    resp.set_items_to_copy(resp.items_to_copy() + 1);
  }
  // Store files of the base that this point no longer lists: compacted away or dropped (a
  // major compaction rewrites every file of a store, so the plan then copies it all again).
  for (const auto& b : base_items) {
    if (now_items.count(b) == 0) resp.set_items_deleted(resp.items_deleted() + 1);
  }
  if (req.base_restore_point_id().empty()) {
    resp.set_incremental(false);
  } else if (req.force_full()) {
    resp.set_full_reason("force_full: every HFile is copied again");
  } else if (!base_here) {
    resp.set_full_reason("the base point " + req.base_restore_point_id() +
                         " is not committed on this cluster; only HFiles already in its "
                         "archive/ are skipped");
  } else {
    resp.set_incremental(true);
  }
  return resp;
}

StatusOr<v1::TransferResponse> HBasePlugin::Transfer(sdk::Call& call,
                                                     const v1::TransferRequest& req) {
  if (call.Cancelled()) {
    return CancelledError("transfer of " + req.task().task_id() + " cancelled before it started");
  }
  return CopyHFile(call, req);
}

StatusOr<v1::TransferResponse> HBasePlugin::CopyHFile(sdk::Call& call,
                                                      const v1::TransferRequest& req) {
  nlohmann::json task = nlohmann::json::parse(req.task().opaque(), nullptr, false);
  if (task.is_discarded() || !task.is_object() || !task["item"].is_string()) {
    return InvalidArgumentError("task " + req.task().task_id() +
                                " is not an hbase plugin task: plan again");
  }
  const std::string ns = task.value("ns", "");
  const std::string item = task.value("item", "");
  const uint64_t size = task.value("size", uint64_t{0});
  const std::string& rp = req.snapshot().restore_point_id();
  const std::string archive_rel = ArchivePathOfItem(ns, item);
  const std::string staged = layout_.StagingDir(rp) + "/" + archive_rel;

  v1::TransferResponse resp;
  resp.set_items_done(1);
  // Held already (committed by this or another point): HFiles are immutable.
  LIFEBOAT_ASSIGN_OR_RETURN(std::string held, HeldPath(ns, item, size));
  if (!held.empty()) {
    resp.set_bytes_skipped(size);
    return resp;
  }
  uint64_t have = 0;
  StatusOr<hdfs::FileStatus> st = fs_.GetFileStatus(staged);
  if (st.ok()) {
    if (st->length == size) {
      resp.set_bytes_skipped(size);
      return resp;
    }
    if (st->length < size) {
      have = st->length;
    } else {
      LIFEBOAT_RETURN_IF_ERROR(fs_.Delete(staged, false).status());
    }
  } else if (st.status().code() != Code::kNotFound) {
    return st.status();
  }

  LIFEBOAT_ASSIGN_OR_RETURN(Peer src, PeerOf(req.source()));
  // The source's copy lives in data/ while its table holds it and in archive/ after a
  // compaction, split or drop moved it (the snapshot keeps it there): try both, in order.
  std::vector<std::string> places = {src.config.root + "/data/" + ns + "/" + item,
                                     src.config.root + "/" + archive_rel};
  std::shared_ptr<sdk::Throttle> throttle = throttles_.For(rp, req.bandwidth_bytes_per_second());
  sdk::ProgressReporter progress(call, "copy", size, 1);
  progress.Add(have, 0, item, /*force=*/false);
  uint64_t copied = 0;
  Status last;
  for (const std::string& from : places) {
    StatusOr<hdfs::FileStatus> src_st = src.fs->GetFileStatus(from);
    if (!src_st.ok()) {
      last = src_st.status();
      if (last.code() == Code::kNotFound) continue;
      return last;
    }
    if (src_st->length != size) {
      return DataLossError("HFile " + from + " on the source holds " +
                               std::to_string(src_st->length) + " bytes, the cut recorded " +
                               std::to_string(size) + ": the snapshot changed; cut again",
                           item);
    }
    hdfs::WebHdfsClient::CreateOptions options;
    options.overwrite = true;
    options.block_size = src_st->block_size;  // so that HDFS file checksums compare
    StatusOr<StreamResult> r = Stream(call, *src.fs, from, have, fs_, staged, have > 0, options,
                                      *throttle, progress, item);
    if (!r.ok()) return r.status();
    copied += r->sent;
    have += r->sent;
    if (r->cancelled) {
      progress.Flush();
      return CancelledError("transfer of " + item + " cancelled after " + std::to_string(have) +
                            " of " + std::to_string(size) + " bytes (the next call resumes)");
    }
    last = r->read_status;
    if (last.ok()) break;
    // A file the cleaner moved or removed mid-copy: the next place continues from `have`.
    if (last.code() != Code::kNotFound) return last;
  }
  progress.Flush();
  if (!last.ok()) {
    return Status(last.code() == Code::kNotFound ? Code::kAborted : last.code(),
                  "HFile " + item + " is neither in data/ nor in archive/ on the source (" +
                      last.message() + "): the source snapshot was deleted; cut again",
                  item);
  }
  if (have != size) {
    return DataLossError("HFile " + item + ": copied " + std::to_string(have) +
                             " bytes, the cut recorded " + std::to_string(size),
                         item);
  }
  resp.set_bytes_copied(copied);
  resp.set_bytes_skipped(size - copied);
  return resp;
}

}  // namespace lifeboat::hbase
