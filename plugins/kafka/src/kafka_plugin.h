// KafkaPlugin: the component plugin for Apache Kafka, over librdkafka.
//
// A data set is a set of topics (names or globs) and of consumer groups (see config.h for the
// selector). The plugin keeps what it must remember in a compacted state topic on each cluster
// (config.h, state_topic): on a source the cut records, on a target the progress records of
// transfers, the offset map of every committed point, and fences. README.md explains offsets,
// exactly-once and failover for consumers.
//
//   cut            per partition the offset at the cut (aligned: the first offset with a
//                  timestamp >= T; T = 0 or no such record: the end), never beyond the last
//                  stable offset; plus the committed offsets of the selected groups
//   plan_transfer  per partition with new records a "copy" task of the source range
//                  [last replicated, cut); creates missing replica topics, reports drift
//   transfer       read_committed from the source, each batch and its progress record in one
//                  transaction on the target; resumes from the last committed progress record
//   verify         count and order-sensitive digest of the range: as read from the source by
//                  the transfer, and as read back from the target now
//   commit         the point's offset map on the target; translated offsets for the selected
//                  groups that have no active members there (rounding down)
//   restore        into a topic prefix (destination) on this cluster: the point's records
//                  (into topics holding other records only with `overwrite`); into the data
//                  set itself: the data is in place, the groups are set again; from a peer
//                  into the cluster the point was cut from: what it took since the cut
//   expire         removes the point's offset map;  release: the cut record on the source
//   sync_security  topic ACLs (source topic -> replica topic), principals mapped
//   fence/unfence  DENY WRITE for User:* on the data set's topics (needs an authorizer;
//                  super users are not stopped)
//
// Thread-safety: every operation may run concurrently with any other; each call makes its own
// librdkafka handles, and the shared Client is thread-safe.
#ifndef LIFEBOAT_PLUGINS_KAFKA_SRC_KAFKA_PLUGIN_H_
#define LIFEBOAT_PLUGINS_KAFKA_SRC_KAFKA_PLUGIN_H_

#include <lifeboat/sdk/fence.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/sdk/throttle.h>
#include <lifeboat/status.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config.h"
#include "rdk.h"

namespace lifeboat::kafka {

class KafkaPlugin : public sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe();
  static Status Validate(const v1::PluginConfig& config);
  static StatusOr<std::unique_ptr<KafkaPlugin>> Create(sdk::Host host,
                                                       const v1::PluginConfig& config);

  KafkaPlugin(sdk::Host host, Config config, std::unique_ptr<Client> client);

  // HEALTHY when the cluster answers metadata; UNREACHABLE otherwise. component_version names
  // the cluster id and broker count (librdkafka does not expose the broker's version).
  // `fenced` lists the data sets fenced on this cluster.
  StatusOr<v1::ProbeResponse> Probe(sdk::Call& call, const v1::ProbeRequest& req) override;
  // Checks the selector and answers it as one data set (globs are matched at each cut).
  // NOT_FOUND when no topic matches now.
  StatusOr<v1::ResolveResponse> Resolve(sdk::Call& call, const v1::ResolveRequest& req) override;
  // Checks that topics match and the state topic exists or can be made (it makes it).
  StatusOr<v1::PrepareResponse> Prepare(sdk::Call& call, const v1::PrepareRequest& req) override;
  // The offsets at the cut (see above), recorded in the source's state topic under the restore
  // point, so that a repeated cut answers the same. CANCELLED when cancelled before it begins.
  StatusOr<v1::CutResponse> Cut(sdk::Call& call, const v1::CutRequest& req) override;
  // Removes the cut record (a tombstone); released also when it was gone.
  StatusOr<v1::ReleaseResponse> Release(sdk::Call& call, const v1::ReleaseRequest& req) override;
  // On the target. FAILED_PRECONDITION when a replica topic has fewer partitions than its
  // source and on_fewer_partitions is "error", or is missing and create_topics is false.
  StatusOr<v1::PlanTransferResponse> PlanTransfer(sdk::Call& call,
                                                  const v1::PlanTransferRequest& req) override;
  // On the target; see above. bytes_copied counts key, value and header bytes written by this
  // call; bytes_skipped what an earlier call had already committed. CANCELLED between batches
  // (every committed batch stays); DATA_LOSS when the source deleted records of the range
  // before they were read.
  StatusOr<v1::TransferResponse> Transfer(sdk::Call& call, const v1::TransferRequest& req) override;
  StatusOr<v1::VerifyResponse> Verify(sdk::Call& call, const v1::VerifyRequest& req) override;
  // FAILED_PRECONDITION when a partition's transfer has not reached the cut. Repeated: the
  // same manifest (from the stored map).
  StatusOr<v1::CommitResponse> Commit(sdk::Call& call, const v1::CommitRequest& req) override;
  // NOT_FOUND when the point has no offset map here (never committed or expired).
  StatusOr<v1::RestoreResponse> Restore(sdk::Call& call, const v1::RestoreRequest& req) override;
  StatusOr<v1::ExpireResponse> Expire(sdk::Call& call, const v1::ExpireRequest& req) override;
  StatusOr<v1::SyncSecurityResponse> SyncSecurity(sdk::Call& call,
                                                  const v1::SyncSecurityRequest& req) override;
  StatusOr<v1::FenceResponse> Fence(sdk::Call& call, const v1::FenceRequest& req) override;
  StatusOr<v1::FenceResponse> Unfence(sdk::Call& call, const v1::FenceRequest& req) override;

  Client& client() { return *client_; }

 private:
  // Topics of this cluster that `selector` matches (the state topic never does).
  StatusOr<std::vector<TopicInfo>> MatchingTopics(const Selector& selector);
  // How this cluster's topics of `selector` differ from the point whose offset map is `map`,
  // a point cut from this cluster: per partition of the point, the records appended after its
  // cut (or fewer than it holds: the topic was made again), partitions and topics gone, and
  // the matching topics or partitions made since. One line each; empty when nothing changed.
  // (restore_checks.cc)
  struct SinceChange {
    std::string text;
    bool gone = false;  // a partition of the point that is no longer here (it can be made again)
  };
  StatusOr<std::vector<SinceChange>> SinceCut(const Selector& selector, const nlohmann::json& map);
  StatusOr<nlohmann::json> ReadState(const std::string& key);
  Status WriteState(const std::string& key, const nlohmann::json& value);
  // The fence's opening shared by fence and unfence (sdk/fence.h): the data set's fence
  // record read from the state topic into `record`; and the journal of a fence or unfence.
  sdk::FenceSteps FenceStepsOf(const Selector& sel, nlohmann::json& record);
  std::unique_ptr<sdk::OpJournal> FenceOpJournal(const Selector& sel, const std::string& op_id);

  sdk::Host host_;
  Config config_;
  std::unique_ptr<Client> client_;
  // Bandwidth buckets of the jobs copying now: the partitions of one job share one.
  sdk::JobThrottle throttles_;
};

// One partition copied exactly once from `source` to this cluster: records of source offsets
// [start, end) of `topic`/`partition` to `target_topic`/`partition`, each batch and its
// progress record (key `progress_key` in the target's state topic) in one transaction.
struct CopyJob {
  std::string topic;
  int32_t partition = 0;
  std::string target_topic;
  int64_t start = 0;
  int64_t end = 0;
  std::string progress_key;
  std::string restore_point_id;
  std::vector<int64_t> translate;  // source offsets (group positions) to translate exactly
  // The job's bandwidth bucket (sdk/throttle.h), shared by its partitions; null = unlimited.
  std::shared_ptr<sdk::Throttle> throttle;
};
struct CopyResult {
  uint64_t bytes_copied = 0;
  uint64_t records_copied = 0;
  bool already_done = false;
};
StatusOr<CopyResult> CopyPartition(sdk::Call& call, const Config& source, Client& target,
                                   const CopyJob& job);

}  // namespace lifeboat::kafka

#endif  // LIFEBOAT_PLUGINS_KAFKA_SRC_KAFKA_PLUGIN_H_
