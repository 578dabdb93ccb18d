#include "kafka_plugin.h"

#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/restore.h>

#include <algorithm>
#include <set>

#include "offsets.h"
#include "op_journal.h"
#include "restore_checks.h"

namespace lifeboat::kafka {
namespace {

using json = nlohmann::json;

// Topic configs a replica takes from its source. Not copied: placement and durability
// settings that depend on the target's size (min.insync.replicas, throttled replicas), and
// message.timestamp.type (a replica is always CreateTime, or the source's timestamps would be
// overwritten on append).
const std::set<std::string>& CopiedTopicConfigs() {
  static const std::set<std::string> keys = {"cleanup.policy",
                                             "retention.ms",
                                             "retention.bytes",
                                             "min.compaction.lag.ms",
                                             "max.compaction.lag.ms",
                                             "delete.retention.ms",
                                             "min.cleanable.dirty.ratio",
                                             "segment.bytes",
                                             "segment.ms",
                                             "max.message.bytes",
                                             "compression.type",
                                             "local.retention.ms",
                                             "local.retention.bytes"};
  return keys;
}

std::map<std::string, std::string> Relevant(const std::map<std::string, std::string>& configs) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : configs) {
    if (CopiedTopicConfigs().count(k)) out[k] = v;
  }
  return out;
}

std::string PartitionPath(const std::string& topic, int32_t partition) {
  return topic + "/" + std::to_string(partition);
}

StatusOr<json> ParseJson(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return DataLossError(what + " is not the JSON this plugin writes; was it changed by hand?");
  }
  return j;
}

StatusOr<json> SnapshotCut(const v1::SnapshotRef& snap) {
  if (snap.opaque().empty()) {
    return InvalidArgumentError("the snapshot reference of restore point " +
                                snap.restore_point_id() +
                                " carries no kafka cut (was it made by this plugin?)");
  }
  return ParseJson(snap.opaque(), "the cut of restore point " + snap.restore_point_id());
}

StatusOr<std::unique_ptr<Client>> PeerClient(const v1::Peer& peer, Config* parsed) {
  if (peer.config().plugin() != kPluginName) {
    return InvalidArgumentError("the source peer is plugin '" + peer.config().plugin() +
                                "', not kafka");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Config c, ParseConfig(peer.config()));
  if (parsed != nullptr) *parsed = c;
  return Client::Connect(c);
}

}  // namespace

// --- copy one partition exactly once -----------------------------------------------------

StatusOr<CopyResult> CopyPartition(sdk::Call& call, const Config& source, Client& target,
                                   const CopyJob& job) {
  const Config& tc = target.config();
  LIFEBOAT_RETURN_IF_ERROR(EnsureStateTopic(target, tc.state_topic));
  // The producer first: init_transactions fences an earlier transfer of the same partition
  // (a zombie) and aborts its open transaction, so that the progress read next is final.
  const std::string txn_id = "lifeboat-" + job.progress_key;
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<TxnWriter> writer, TxnWriter::Open(tc, txn_id));
  LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(target, tc.state_topic));
  json p = json::object();
  if (auto it = table.find(job.progress_key); it != table.end()) {
    LIFEBOAT_ASSIGN_OR_RETURN(p, ParseJson(it->second, "progress record " + job.progress_key));
  }
  int64_t from = job.start;
  if (p.contains("src_next")) from = std::max<int64_t>(from, p["src_next"].get<int64_t>());
  CopyResult result;
  if (from >= job.end) {
    result.already_done = true;
    return result;
  }
  // This restore point's range on both sides, carried across resumed calls.
  if (p.value("rp", "") != job.restore_point_id) {
    p["rp"] = job.restore_point_id;
    p["rp_src_start"] = from;
    p["rp_tgt_start"] = p.value("tgt_next", int64_t{-1});
    p["rp_records"] = 0;
    p["rp_bytes"] = 0;
    p["rp_digest"] = "";
    p["tr"] = json::object();
  }
  std::set<int64_t> pending;
  for (int64_t c : job.translate) {
    if (c >= p["rp_src_start"].get<int64_t>() && !p["tr"].contains(std::to_string(c))) {
      pending.insert(c);
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader,
                            Reader::Open(source, job.topic, job.partition, from, job.end));
  RecordDigest digest(p["rp_digest"].get<std::string>());
  const std::string item = PartitionPath(job.topic, job.partition);
  // Items are source offsets: done counts the offsets passed (gaps of compaction included).
  sdk::ProgressReporter progress(call, "copy", 0, static_cast<uint64_t>(job.end - job.start));
  bool done = false;
  while (!done) {
    if (call.Cancelled()) {
      return CancelledError("transfer of " + PartitionPath(job.topic, job.partition) +
                            " cancelled at source offset " + std::to_string(from) +
                            "; every committed batch stays, a new call resumes there");
    }
    std::vector<Record> batch;
    LIFEBOAT_ASSIGN_OR_RETURN(
        done, reader->Next(batch, tc.batch_records, static_cast<uint64_t>(tc.batch_bytes)));
    if (batch.empty() && !done) continue;
    LIFEBOAT_RETURN_IF_ERROR(writer->Begin());
    uint64_t batch_bytes = 0;
    for (const Record& r : batch) {
      Status s = writer->Produce(job.target_topic, job.partition, r);
      if (!s.ok()) {
        writer->Abort();
        return s;
      }
      batch_bytes += r.Bytes();
    }
    StatusOr<std::vector<int64_t>> offsets = writer->Flush();
    if (!offsets.ok()) {
      writer->Abort();
      return offsets.status();
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const int64_t tgt = (*offsets)[i];
      if (p["rp_tgt_start"].get<int64_t>() < 0 || (i == 0 && p["rp_records"].get<int64_t>() == 0)) {
        p["rp_tgt_start"] = tgt;
      }
      // A group position c is translated to the first copied record at or after it.
      while (!pending.empty() && *pending.begin() <= batch[i].offset) {
        p["tr"][std::to_string(*pending.begin())] = tgt;
        pending.erase(pending.begin());
      }
      digest.Add(batch[i]);
      p["tgt_next"] = tgt + 1;
    }
    const int64_t src_next = done ? job.end : batch.back().offset + 1;
    if (done) {
      // Positions past the last copied record (up to the cut) read on from the target's end.
      const int64_t tgt_end = p.value("tgt_next", int64_t{-1});
      while (!pending.empty() && *pending.begin() <= job.end && tgt_end >= 0) {
        p["tr"][std::to_string(*pending.begin())] = tgt_end;
        pending.erase(pending.begin());
      }
    }
    p["src_next"] = src_next;
    p["rp_records"] = p["rp_records"].get<int64_t>() + static_cast<int64_t>(batch.size());
    p["rp_bytes"] = p["rp_bytes"].get<int64_t>() + static_cast<int64_t>(batch_bytes);
    p["rp_digest"] = digest.Hex();
    p["target_topic"] = job.target_topic;
    Record progress_record;
    progress_record.key = job.progress_key;
    progress_record.value = p.dump();
    progress_record.timestamp_ms = 0;
    Status s = writer->Produce(tc.state_topic, 0, progress_record);
    if (s.ok()) s = writer->Commit();
    if (!s.ok()) {
      writer->Abort();
      return s;
    }
    // Every batch is reported: a batch is committed work, and batches are large.
    progress.Add(batch_bytes, static_cast<uint64_t>(src_next - from), item, /*force=*/true);
    from = src_next;
    result.bytes_copied += batch_bytes;
    result.records_copied += batch.size();
    if (job.throttle != nullptr) {
      // Fails only when the call was cancelled while waiting; the loop's check then says
      // where the transfer stopped.
      Status paced = job.throttle->Acquire(batch_bytes, &call);
      if (!paced.ok() && !call.Cancelled()) return paced;
    }
  }
  return result;
}

// --- descriptor, config ------------------------------------------------------------------

v1::PluginDescriptor KafkaPlugin::Describe() {
  v1::PluginDescriptor d;
  d.set_name(kPluginName);
  d.set_version(kPluginVersion);
  d.set_component(kComponent);
  d.set_config_type(kConfigType);
  d.set_description(
      "Apache Kafka over librdkafka: cuts are per-partition offsets at T (or the end), "
      "replication is exactly once (each batch and its progress record in one transaction on "
      "the target), consumer-group offsets are translated rounding down.");
  for (v1::Capability c :
       {v1::CAP_INCREMENTAL, v1::CAP_CUT_AT_TIME, v1::CAP_RESUMABLE_TRANSFER, v1::CAP_DIGEST_VERIFY,
        v1::CAP_RESTORE, v1::CAP_SECURITY_SYNC, v1::CAP_FENCING}) {
    d.add_capabilities(c);
  }
  return d;
}

Status KafkaPlugin::Validate(const v1::PluginConfig& config) {
  return ParseConfig(config).status();
}

StatusOr<std::unique_ptr<KafkaPlugin>> KafkaPlugin::Create(sdk::Host host,
                                                           const v1::PluginConfig& config) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config parsed, ParseConfig(config));
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Connect(parsed));
  return std::make_unique<KafkaPlugin>(host, std::move(parsed), std::move(client));
}

KafkaPlugin::KafkaPlugin(sdk::Host host, Config config, std::unique_ptr<Client> client)
    : host_(host), config_(std::move(config)), client_(std::move(client)) {}

StatusOr<std::vector<TopicInfo>> KafkaPlugin::MatchingTopics(const Selector& selector) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> all, client_->ListTopics());
  std::vector<TopicInfo> out;
  for (const auto& t : all) {
    if (t.name == config_.state_topic) continue;
    if (selector.MatchesTopic(t.name)) out.push_back(t);
  }
  std::sort(out.begin(), out.end(),
            [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; });
  return out;
}

StatusOr<json> KafkaPlugin::ReadState(const std::string& key) {
  StatusOr<int32_t> exists = client_->PartitionCount(config_.state_topic);
  if (!exists.ok()) {
    if (exists.status().code() == Code::kNotFound) return json();
    return exists.status();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(*client_, config_.state_topic));
  auto it = table.find(key);
  if (it == table.end()) return json();
  return ParseJson(it->second, "state record " + key);
}

Status KafkaPlugin::WriteState(const std::string& key, const json& value) {
  LIFEBOAT_RETURN_IF_ERROR(EnsureStateTopic(*client_, config_.state_topic));
  return WriteTable(*client_, config_.state_topic, key,
                    value.is_null() ? std::nullopt : std::optional<std::string>(value.dump()));
}

// --- probe, resolve, prepare -------------------------------------------------------------

StatusOr<v1::ProbeResponse> KafkaPlugin::Probe(sdk::Call& call, const v1::ProbeRequest& req) {
  v1::ProbeResponse resp;
  int brokers = 0;
  StatusOr<std::vector<TopicInfo>> topics = client_->ListTopics(&brokers);
  if (!topics.ok()) {
    resp.set_health(v1::UNREACHABLE);
    resp.set_detail(topics.status().ToString());
    return resp;
  }
  StatusOr<std::string> id = client_->ClusterId();
  resp.set_health(v1::HEALTHY);
  resp.set_component_version("kafka cluster " + (id.ok() ? *id : std::string("?")));
  resp.set_detail(std::to_string(brokers) + " broker(s), " + std::to_string(topics->size()) +
                  " topic(s); client librdkafka " + rd_kafka_version_str());
  bool has_state = false;
  for (const auto& t : *topics) has_state |= t.name == config_.state_topic;
  if (has_state) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(*client_, config_.state_topic));
    for (const auto& [key, value] : table) {
      if (key.rfind("fence/", 0) != 0) continue;
      LIFEBOAT_ASSIGN_OR_RETURN(json f, ParseJson(value, "fence record " + key));
      v1::FencedDataSet* fd = resp.add_fenced();
      fd->mutable_data_set()->set_component(kComponent);
      fd->mutable_data_set()->set_selector(key.substr(6));
      fd->set_epoch(f.value("epoch", uint64_t{0}));
      fd->set_reason(f.value("reason", ""));
      fd->set_fenced_unix_nanos(f.value("fenced_unix_nanos", int64_t{0}));
      fd->set_mechanism("deny_write_acl");
    }
  }
  return resp;
}

StatusOr<v1::ResolveResponse> KafkaPlugin::Resolve(sdk::Call& call, const v1::ResolveRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, ParseSelector(req.selector()));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, MatchingTopics(sel));
  if (topics.empty()) {
    return NotFoundError(
        "no topic on kafka cluster '" + config_.cluster + "' matches '" + req.selector() + "'",
        req.selector());
  }
  v1::ResolveResponse resp;
  v1::DataSet* ds = resp.add_data_sets();
  ds->set_component(kComponent);
  ds->set_selector(sel.ToString());
  return resp;
}

StatusOr<v1::PrepareResponse> KafkaPlugin::Prepare(sdk::Call& call, const v1::PrepareRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, MatchingTopics(sel));
  LIFEBOAT_RETURN_IF_ERROR(EnsureStateTopic(*client_, config_.state_topic));
  v1::PrepareResponse resp;
  resp.set_detail(std::to_string(topics.size()) + " topic(s) match; state topic " +
                  config_.state_topic + " ready");
  return resp;
}

// --- cut, release ------------------------------------------------------------------------

StatusOr<v1::CutResponse> KafkaPlugin::Cut(sdk::Call& call, const v1::CutRequest& req) {
  if (call.Cancelled()) return CancelledError("cut cancelled before it began");
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  const std::string selector = sel.ToString();
  const std::string key = CutKey(req.restore_point_id(), selector);
  LIFEBOAT_ASSIGN_OR_RETURN(json cut, ReadState(key));
  if (cut.is_null()) {
    const int64_t start = host_.NowUnixNanos();
    LIFEBOAT_ASSIGN_OR_RETURN(std::string cluster_id, client_->ClusterId());
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, MatchingTopics(sel));
    // Only aligned mode cuts at T (and an older engine that does not say: T as given). In
    // crash mode T is merely when the cut was asked for, and quiesced mode pauses the
    // writers: both take the end, the last stable offset, so that nothing written before
    // the cut is left out because of a producer-set timestamp.
    v1::Consistency mode = req.mode();
    if (mode == v1::CONSISTENCY_UNSPECIFIED && !req.consistency().empty()) {
      // An engine from before CutRequest.mode names it as text only.
      v1::Consistency_Parse("CONSISTENCY_" + req.consistency(), &mode);
    }
    const bool at_t = mode == v1::CONSISTENCY_UNSPECIFIED || mode == v1::CONSISTENCY_ALIGNED;
    const int64_t t_ms = at_t ? req.cut_unix_nanos() / 1000000 : 0;
    std::vector<TopicPartition> tps;
    for (const auto& t : topics) {
      for (int32_t p = 0; p < t.partitions; ++p) tps.emplace_back(t.name, p);
    }
    std::map<TopicPartition, int64_t> at_time;
    if (t_ms > 0) {
      LIFEBOAT_ASSIGN_OR_RETURN(at_time, client_->OffsetsForTime(tps, t_ms));
    }
    cut = json::object();
    cut["cluster_id"] = cluster_id;
    cut["selector"] = selector;
    cut["mode"] = t_ms > 0 ? "time" : "end";
    cut["t_ms"] = t_ms;
    // As recorded before `mode` existed: "CRASH", "ALIGNED", "QUIESCED" ("" = not given).
    cut["consistency"] = mode == v1::CONSISTENCY_UNSPECIFIED
                             ? std::string()
                             : v1::Consistency_Name(mode).substr(sizeof("CONSISTENCY_") - 1);
    cut["requested_unix_nanos"] = req.cut_unix_nanos();
    json parts = json::array();
    for (const auto& [topic, partition] : tps) {
      if (call.Cancelled()) return CancelledError("cut cancelled");
      LIFEBOAT_ASSIGN_OR_RETURN(auto wm, client_->Watermarks(topic, partition, true));
      int64_t offset = wm.second;  // the last stable offset: nothing undecided is in the cut
      if (t_ms > 0) {
        int64_t o = at_time[{topic, partition}];
        if (o >= 0) offset = std::min(offset, o);
      }
      parts.push_back({{"topic", topic},
                       {"partition", partition},
                       {"low", wm.first},
                       {"cut", std::max(offset, wm.first)}});
    }
    cut["partitions"] = parts;
    json groups = json::object();
    if (!sel.groups.empty()) {
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> names, client_->ListGroups());
      std::sort(names.begin(), names.end());
      for (const auto& g : names) {
        if (!sel.MatchesGroup(g)) continue;
        LIFEBOAT_ASSIGN_OR_RETURN(auto offsets, client_->GroupOffsets(g));
        json go = json::object();
        for (const auto& [tp, off] : offsets) {
          if (sel.MatchesTopic(tp.first)) go[PartitionPath(tp.first, tp.second)] = off;
        }
        groups[g] = go;
      }
    }
    cut["groups"] = groups;
    cut["start_unix_nanos"] = start;
    cut["end_unix_nanos"] = host_.NowUnixNanos();
    cut["op_id"] = req.op_id();
    LIFEBOAT_RETURN_IF_ERROR(WriteState(key, cut));
  }
  v1::CutResponse resp;
  v1::SnapshotRef* snap = resp.mutable_snapshot();
  snap->set_plugin(kPluginName);
  snap->set_cluster(config_.cluster);
  snap->mutable_data_set()->set_component(kComponent);
  snap->mutable_data_set()->set_selector(selector);
  snap->set_restore_point_id(req.restore_point_id());
  snap->set_snapshot_id(cut["cluster_id"].get<std::string>() + "@" + req.restore_point_id());
  snap->set_cut_start_unix_nanos(cut["start_unix_nanos"].get<int64_t>());
  snap->set_cut_end_unix_nanos(cut["end_unix_nanos"].get<int64_t>());
  snap->set_cut_op_id(cut.value("op_id", ""));
  snap->set_opaque(cut.dump());
  v1::MemberManifest* m = resp.mutable_manifest();
  *m->mutable_snapshot() = *snap;
  m->set_digest_algorithm("offsets");
  uint64_t total = 0;
  for (const auto& part : cut["partitions"]) {
    v1::Entry* e = m->add_entries();
    e->set_path(PartitionPath(part["topic"], part["partition"]));
    e->set_type(v1::ENTRY_FILE);
    const int64_t span = part["cut"].get<int64_t>() - part["low"].get<int64_t>();
    e->set_size(static_cast<uint64_t>(span));  // offsets below the cut (an upper bound of records)
    total += static_cast<uint64_t>(span);
  }
  m->set_total_bytes(total);
  m->set_manifest_digest(cut["partitions"].dump() + cut["groups"].dump());
  return resp;
}

StatusOr<v1::ReleaseResponse> KafkaPlugin::Release(sdk::Call& call, const v1::ReleaseRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.snapshot().data_set()));
  const std::string key = CutKey(req.snapshot().restore_point_id(), sel.ToString());
  LIFEBOAT_ASSIGN_OR_RETURN(json cut, ReadState(key));
  if (!cut.is_null()) LIFEBOAT_RETURN_IF_ERROR(WriteState(key, json()));
  v1::ReleaseResponse resp;
  resp.set_released(true);
  return resp;
}

// --- plan, transfer ----------------------------------------------------------------------

StatusOr<v1::PlanTransferResponse> KafkaPlugin::PlanTransfer(sdk::Call& call,
                                                             const v1::PlanTransferRequest& req) {
  Config source;
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Client> src, PeerClient(req.source(), &source));
  LIFEBOAT_ASSIGN_OR_RETURN(json cut, SnapshotCut(req.snapshot()));
  LIFEBOAT_RETURN_IF_ERROR(EnsureStateTopic(*client_, config_.state_topic));
  const std::string src_id = cut["cluster_id"];
  // Replica topics: created when missing, partitions added when allowed, drift reported.
  std::map<std::string, int32_t> source_partitions;
  for (const auto& part : cut["partitions"]) {
    std::string t = part["topic"];
    source_partitions[t] = std::max(source_partitions[t], part["partition"].get<int32_t>() + 1);
  }
  std::vector<std::string> notes;
  for (const auto& [topic, n] : source_partitions) {
    const std::string replica = config_.replica_topic_prefix + topic;
    LIFEBOAT_ASSIGN_OR_RETURN(auto src_configs, src->TopicConfigs(topic));
    auto want = Relevant(src_configs);
    StatusOr<int32_t> have = client_->PartitionCount(replica);
    if (!have.ok() && have.status().code() != Code::kNotFound) return have.status();
    if (!have.ok()) {
      if (!config_.create_topics) {
        return FailedPreconditionError(
            "replica topic " + replica + " is missing on kafka cluster '" + config_.cluster +
                "' and create_topics is false: create it with " + std::to_string(n) +
                " partitions (as " + topic + " has), or set create_topics",
            replica);
      }
      want["message.timestamp.type"] = "CreateTime";
      LIFEBOAT_RETURN_IF_ERROR(client_->CreateTopic(replica, n, want));
      notes.push_back("created " + replica + " with " + std::to_string(n) + " partitions");
      continue;
    }
    if (*have < n) {
      if (!config_.add_partitions) {
        return FailedPreconditionError(
            "replica topic " + replica + " on kafka cluster '" + config_.cluster + "' has " +
                std::to_string(*have) + " partitions, its source " + topic + " has " +
                std::to_string(n) +
                ": records cannot keep their partition. Add partitions to the replica "
                "(kafka-topics --alter --partitions " +
                std::to_string(n) + "), or set on_fewer_partitions to \"add\"",
            replica);
      }
      LIFEBOAT_RETURN_IF_ERROR(client_->AddPartitions(replica, n));
      notes.push_back("added partitions to " + replica + ": " + std::to_string(*have) + " -> " +
                      std::to_string(n));
    } else if (*have > n) {
      notes.push_back(replica + " has " + std::to_string(*have) + " partitions, " + topic +
                      " has " + std::to_string(n) + "; the extra ones stay empty");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto tgt_configs, client_->TopicConfigs(replica));
    auto have_rel = Relevant(tgt_configs);
    if (have_rel != want) {
      std::string drift;
      for (const auto& [k, v] : want) {
        if (have_rel[k] != v)
          drift += " " + k + "=" + v +
                   " (replica: " + (have_rel.count(k) ? have_rel[k] : "default") + ")";
      }
      for (const auto& [k, v] : have_rel) {
        if (!want.count(k)) drift += " " + k + " unset (replica: " + v + ")";
      }
      if (config_.sync_topic_configs) {
        auto merged = tgt_configs;
        for (const auto& k : CopiedTopicConfigs()) merged.erase(k);
        for (const auto& [k, v] : want) merged[k] = v;
        LIFEBOAT_RETURN_IF_ERROR(client_->SetTopicConfigs(replica, merged));
        notes.push_back("synced configs of " + replica + ":" + drift);
      } else {
        notes.push_back("config drift of " + replica + " from " + topic + ":" + drift);
      }
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(*client_, config_.state_topic));
  v1::PlanTransferResponse resp;
  // Incremental: the base point is committed here and no partition starts below what the base
  // already held (a partition without a progress record that is new since the base, or was
  // empty in it, starts at its first offset, which is all of its change).
  bool all_have_progress = true;
  std::map<std::string, int64_t> in_base;  // partition -> the base's source end
  bool base_known = false;
  if (!req.base_restore_point_id().empty()) {
    auto it = table.find(MapKey(req.base_restore_point_id(), cut["selector"]));
    if (it != table.end()) {
      LIFEBOAT_ASSIGN_OR_RETURN(json base, ParseJson(it->second, "offset map " + it->first));
      base_known = true;
      for (const auto& part : base["partitions"]) {
        in_base[PartitionPath(part["topic"], part["partition"])] = part["src_end"].get<int64_t>();
      }
    }
  }
  for (const auto& part : cut["partitions"]) {
    if (call.Cancelled()) return CancelledError("plan cancelled");
    const std::string topic = part["topic"];
    const int32_t partition = part["partition"];
    const std::string replica = config_.replica_topic_prefix + topic;
    const std::string pkey = ProgressKey(src_id, topic, partition, replica);
    int64_t start = part["low"];
    const int64_t end = part["cut"];
    if (auto it = table.find(pkey); it != table.end()) {
      LIFEBOAT_ASSIGN_OR_RETURN(json p, ParseJson(it->second, "progress " + pkey));
      const int64_t next = p.value("src_next", int64_t{0});
      if (next < start) {
        notes.push_back(PartitionPath(topic, partition) + ": source offsets [" +
                        std::to_string(next) + ", " + std::to_string(start) +
                        ") were deleted by retention before they were replicated");
      }
      start = std::max(start, next);
    } else if (auto b = in_base.find(PartitionPath(topic, partition));
               !base_known || (b != in_base.end() && b->second > start)) {
      all_have_progress = false;
    }
    if (start >= end) {
      resp.set_items_unchanged(resp.items_unchanged() + 1);
      continue;
    }
    // The bytes of the range: read whole when small (exact), else sampled and extrapolated.
    uint64_t bytes = 0, records = 0;
    {
      LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r,
                                Reader::Open(source, topic, partition, start, end));
      std::vector<Record> sample;
      bool whole = false;
      while (!whole && sample.size() < 20000 && bytes < (8u << 20)) {
        const size_t before = sample.size();
        LIFEBOAT_ASSIGN_OR_RETURN(whole, r->Next(sample, 20000, 8 << 20));
        for (size_t i = before; i < sample.size(); ++i) bytes += sample[i].Bytes();
      }
      records = sample.size();
      if (!whole && !sample.empty()) {
        const int64_t span = end - start;
        const int64_t seen = sample.back().offset + 1 - start;
        bytes =
            bytes * static_cast<uint64_t>(span) / static_cast<uint64_t>(std::max<int64_t>(seen, 1));
        records = records * static_cast<uint64_t>(span) /
                  static_cast<uint64_t>(std::max<int64_t>(seen, 1));
      }
    }
    json task = {
        {"topic", topic}, {"partition", partition}, {"target_topic", replica}, {"start", start},
        {"end", end},     {"progress_key", pkey}};
    json tr = json::array();
    for (const auto& [g, offsets] : cut["groups"].items()) {
      auto it = offsets.find(PartitionPath(topic, partition));
      if (it != offsets.end()) tr.push_back(it->get<int64_t>());
    }
    task["translate"] = tr;
    v1::TransferTask* t = resp.add_tasks();
    t->set_task_id(PartitionPath(topic, partition));
    t->set_kind("copy");
    t->add_paths(PartitionPath(topic, partition));
    t->set_bytes(bytes);
    t->set_items(records);
    t->set_opaque(task.dump());
    resp.set_bytes_to_copy(resp.bytes_to_copy() + bytes);
    resp.set_items_to_copy(resp.items_to_copy() + records);
  }
  resp.set_incremental(!req.base_restore_point_id().empty() && base_known && all_have_progress);
  if (!req.base_restore_point_id().empty() && !base_known) {
    resp.set_full_reason("the base point " + req.base_restore_point_id() +
                         " has no offset map on this cluster (not committed here, or expired)");
  } else if (!req.base_restore_point_id().empty() && !all_have_progress) {
    resp.set_full_reason(
        "partitions of the base point without a progress record on the target start at the "
        "source's first offset");
  }
  for (const auto& n : notes)
    host_.Warn("kafka plan " + req.snapshot().restore_point_id() + ": " + n);
  if (!notes.empty()) {
    std::string all;
    for (const auto& n : notes) all += (all.empty() ? "" : "; ") + n;
    resp.set_full_reason(resp.full_reason().empty() ? all : resp.full_reason() + "; " + all);
  }
  return resp;
}

StatusOr<v1::TransferResponse> KafkaPlugin::Transfer(sdk::Call& call,
                                                     const v1::TransferRequest& req) {
  if (call.Cancelled()) return CancelledError("transfer cancelled before it began");
  Config source;
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Client> src, PeerClient(req.source(), &source));
  LIFEBOAT_ASSIGN_OR_RETURN(
      json task, ParseJson(req.task().opaque(), "transfer task " + req.task().task_id()));
  CopyJob job;
  job.topic = task["topic"];
  job.partition = task["partition"];
  job.target_topic = task["target_topic"];
  job.start = task["start"];
  job.end = task["end"];
  job.progress_key = task["progress_key"];
  job.restore_point_id = req.snapshot().restore_point_id();
  for (const auto& c : task["translate"]) job.translate.push_back(c.get<int64_t>());
  uint64_t bw = config_.bandwidth_bytes_per_second;
  if (req.bandwidth_bytes_per_second() > 0 && (bw == 0 || req.bandwidth_bytes_per_second() < bw)) {
    bw = req.bandwidth_bytes_per_second();
  }
  job.throttle = throttles_.For(job.restore_point_id, bw);
  LIFEBOAT_ASSIGN_OR_RETURN(CopyResult r, CopyPartition(call, source, *client_, job));
  v1::TransferResponse resp;
  resp.set_bytes_copied(r.bytes_copied);
  if (r.already_done) resp.set_bytes_skipped(req.task().bytes());
  resp.set_items_done(r.records_copied);
  return resp;
}

// --- verify, commit ----------------------------------------------------------------------

StatusOr<v1::VerifyResponse> KafkaPlugin::Verify(sdk::Call& call, const v1::VerifyRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(json cut, SnapshotCut(req.snapshot()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(*client_, config_.state_topic));
  const std::string rp = req.snapshot().restore_point_id();
  v1::VerifyResponse resp;
  for (const auto& part : cut["partitions"]) {
    if (call.Cancelled()) return CancelledError("verify cancelled");
    const std::string topic = part["topic"];
    const int32_t partition = part["partition"];
    const std::string path = PartitionPath(topic, partition);
    const std::string replica = config_.replica_topic_prefix + topic;
    const std::string pkey = ProgressKey(cut["cluster_id"], topic, partition, replica);
    const int64_t end = part["cut"];
    auto it = table.find(pkey);
    json p;
    if (it != table.end()) {
      LIFEBOAT_ASSIGN_OR_RETURN(p, ParseJson(it->second, "progress " + pkey));
    }
    const int64_t next = p.is_null() ? part["low"].get<int64_t>() : p.value("src_next", int64_t{0});
    if (next < end) {
      v1::Mismatch* m = resp.add_mismatches();
      m->set_path(path);
      m->set_what("missing");
      m->set_expected("source offsets up to " + std::to_string(end));
      m->set_found("replicated up to " + std::to_string(next));
      continue;
    }
    resp.set_items_checked(resp.items_checked() + 1);
    if (p.is_null() || p.value("rp", "") != rp || req.level() == v1::VERIFY_NONE) continue;
    const int64_t tgt_start = p["rp_tgt_start"], tgt_end = p.value("tgt_next", int64_t{-1});
    const int64_t want_records = p["rp_records"];
    RecordDigest digest;
    int64_t records = 0;
    uint64_t bytes = 0;
    if (want_records > 0) {
      LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r,
                                Reader::Open(config_, replica, partition, tgt_start, tgt_end));
      bool done = false;
      while (!done) {
        std::vector<Record> batch;
        LIFEBOAT_ASSIGN_OR_RETURN(done, r->Next(batch, 50000, 64 << 20));
        for (const auto& rec : batch) {
          digest.Add(rec);
          bytes += rec.Bytes();
        }
        records += static_cast<int64_t>(batch.size());
      }
    }
    resp.set_bytes_checked(resp.bytes_checked() + bytes);
    // A compacted replica may have been cleaned since the copy (the broker keeps the newest
    // record per key, at any time): its records are then a subset, and neither count nor
    // digest can match. Checked there: nothing beyond what was copied (README.md, verify).
    LIFEBOAT_ASSIGN_OR_RETURN(auto replica_configs, client_->TopicConfigs(replica));
    const bool compacted = replica_configs["cleanup.policy"].find("compact") != std::string::npos;
    if (compacted && records <= want_records) continue;
    if (records != want_records) {
      v1::Mismatch* m = resp.add_mismatches();
      m->set_path(path);
      m->set_what("count");
      m->set_expected(std::to_string(want_records));
      m->set_found(std::to_string(records));
    } else if (req.level() == v1::VERIFY_DIGEST && want_records > 0 &&
               digest.Hex() != p["rp_digest"].get<std::string>()) {
      v1::Mismatch* m = resp.add_mismatches();
      m->set_path(path);
      m->set_what("digest");
      m->set_expected(p["rp_digest"].get<std::string>());
      m->set_found(digest.Hex());
    }
  }
  resp.set_ok(resp.mismatches_size() == 0);
  for (const auto& m : resp.mismatches()) {
    host_.Warn("kafka verify " + rp + ": " + m.path() + ": " + m.what() + ", expected " +
               m.expected() + ", found " + m.found());
  }
  return resp;
}

namespace {

v1::MemberManifest MapManifest(const v1::SnapshotRef& snap, const json& map) {
  v1::MemberManifest m;
  *m.mutable_snapshot() = snap;
  m.mutable_snapshot()->set_opaque(map.dump());
  m.set_digest_algorithm("sha256-chain");
  uint64_t total = 0;
  for (const auto& part : map["partitions"]) {
    v1::Entry* e = m.add_entries();
    e->set_path(PartitionPath(part["topic"], part["partition"]));
    e->set_type(v1::ENTRY_FILE);
    e->set_size(part.value("records", uint64_t{0}));
    e->set_digest(part.value("digest", ""));
    total += part.value("bytes", uint64_t{0});
  }
  m.set_total_bytes(total);
  m.set_manifest_digest(map["partitions"].dump() + map["groups"].dump());
  m.set_committed_unix_nanos(map.value("committed_unix_nanos", int64_t{0}));
  return m;
}

}  // namespace

StatusOr<v1::CommitResponse> KafkaPlugin::Commit(sdk::Call& call, const v1::CommitRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(json cut, SnapshotCut(req.snapshot()));
  const std::string rp = req.snapshot().restore_point_id();
  const std::string selector = cut["selector"];
  const std::string mkey = MapKey(rp, selector);
  LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(*client_, config_.state_topic));
  v1::CommitResponse resp;
  if (auto it = table.find(mkey); it != table.end()) {
    LIFEBOAT_ASSIGN_OR_RETURN(json map, ParseJson(it->second, "offset map " + mkey));
    *resp.mutable_manifest() = MapManifest(req.snapshot(), map);
    return resp;
  }
  // Ranges of older points (for group positions below this point's range).
  std::map<std::string, std::vector<RangeMap>> history;
  for (const auto& [k, v] : table) {
    if (k.rfind("map/", 0) != 0) continue;
    if (k.size() < selector.size() ||
        k.compare(k.size() - selector.size(), selector.size(), selector) != 0)
      continue;
    LIFEBOAT_ASSIGN_OR_RETURN(json old, ParseJson(v, "offset map " + k));
    if (old.value("source_cluster_id", "") != cut["cluster_id"]) continue;
    for (const auto& part : old["partitions"]) {
      history[PartitionPath(part["topic"], part["partition"])].push_back(
          {part["src_start"], part["src_end"], part["tgt_start"], part["tgt_end"]});
    }
  }
  json map = {{"restore_point_id", rp},
              {"selector", selector},
              {"source_cluster_id", cut["cluster_id"]},
              {"partitions", json::array()},
              {"groups", json::object()}};
  std::map<std::string, json> progress;
  for (const auto& part : cut["partitions"]) {
    const std::string topic = part["topic"];
    const int32_t partition = part["partition"];
    const std::string replica = config_.replica_topic_prefix + topic;
    const std::string path = PartitionPath(topic, partition);
    const std::string pkey = ProgressKey(cut["cluster_id"], topic, partition, replica);
    const int64_t end = part["cut"];
    json p;
    if (auto it = table.find(pkey); it != table.end()) {
      LIFEBOAT_ASSIGN_OR_RETURN(p, ParseJson(it->second, "progress " + pkey));
    }
    const int64_t next = p.is_null() ? part["low"].get<int64_t>() : p.value("src_next", int64_t{0});
    if (next < end) {
      return FailedPreconditionError("cannot commit restore point " + rp + ": " + path +
                                         " is replicated up to source offset " +
                                         std::to_string(next) + ", the cut is at " +
                                         std::to_string(end) + "; run the transfer first",
                                     path);
    }
    json e = {{"topic", topic}, {"partition", partition}, {"target_topic", replica}};
    const bool own = !p.is_null() && p.value("rp", "") == rp;
    const int64_t tgt_next = p.is_null() ? 0 : p.value("tgt_next", int64_t{0});
    e["src_start"] = own ? p["rp_src_start"].get<int64_t>() : end;
    e["src_end"] = end;
    e["tgt_start"] = own ? p["rp_tgt_start"].get<int64_t>() : tgt_next;
    e["tgt_end"] = tgt_next;
    e["records"] = own ? p["rp_records"].get<int64_t>() : 0;
    e["bytes"] = own ? p["rp_bytes"].get<int64_t>() : 0;
    e["digest"] = own ? p["rp_digest"].get<std::string>() : "";
    e["tr"] = own ? p["tr"] : json::object();
    if (e["tgt_start"].get<int64_t>() < 0) e["tgt_start"] = tgt_next;
    map["partitions"].push_back(e);
    progress[path] = e;
  }
  // Consumer groups: translated, rounding down, set where nobody consumes on the target.
  for (const auto& [group, offsets] : cut["groups"].items()) {
    json g = {{"offsets", json::object()}};
    std::map<TopicPartition, int64_t> to_set;
    for (const auto& [path, committed] : offsets.items()) {
      auto pe = progress.find(path);
      if (pe == progress.end()) continue;
      const json& e = pe->second;
      std::map<int64_t, int64_t> exact;
      for (const auto& [c, t] : e["tr"].items()) exact[std::stoll(c)] = t.get<int64_t>();
      std::vector<RangeMap> ranges = history[path];
      ranges.push_back({e["src_start"], e["src_end"], e["tgt_start"], e["tgt_end"]});
      LIFEBOAT_ASSIGN_OR_RETURN(auto wm,
                                client_->Watermarks(e["target_topic"], e["partition"], false));
      const int64_t c = committed.get<int64_t>();
      const int64_t t =
          TranslateOffset(std::min<int64_t>(c, e["src_end"]), exact, ranges, wm.first);
      g["offsets"][path] = {{"source", c}, {"target", t}};
      to_set[{e["target_topic"], e["partition"]}] = t;
    }
    StatusOr<GroupInfo> info = client_->DescribeGroup(group);
    if (!info.ok() && info.status().code() != Code::kNotFound) return info.status();
    if (info.ok() && info->members > 0) {
      g["applied"] = false;
      g["note"] = "the group has " + std::to_string(info->members) +
                  " active member(s) on the target; offsets not set (Kafka allows it only for "
                  "an empty group)";
      host_.Warn("kafka commit " + rp + ": group " + group + ": " + g["note"].get<std::string>());
    } else if (!to_set.empty()) {
      // Never move a group backwards where it already read further on the target.
      LIFEBOAT_ASSIGN_OR_RETURN(auto current, client_->GroupOffsets(group));
      for (auto it = to_set.begin(); it != to_set.end();) {
        auto cur = current.find(it->first);
        it = cur != current.end() && cur->second > it->second ? to_set.erase(it) : std::next(it);
      }
      if (!to_set.empty()) LIFEBOAT_RETURN_IF_ERROR(client_->AlterGroupOffsets(group, to_set));
      g["applied"] = true;
    }
    map["groups"][group] = g;
  }
  map["committed_unix_nanos"] = host_.NowUnixNanos();
  LIFEBOAT_RETURN_IF_ERROR(WriteState(mkey, map));
  *resp.mutable_manifest() = MapManifest(req.snapshot(), map);
  return resp;
}

// --- restore, expire ---------------------------------------------------------------------

StatusOr<v1::RestoreResponse> KafkaPlugin::Restore(sdk::Call& call, const v1::RestoreRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  const std::string selector = sel.ToString();
  const bool compare_only = req.dry_run() && req.compare_only();
  // The destination is a topic prefix: each topic lands at <prefix><topic>.
  std::string prefix;
  if (!req.destination().empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(prefix, TopicPrefix(req.destination()));
  }
  // The cluster holding the point: a peer (failback: the secondary's replicas copied back
  // into this cluster), or this one.
  std::unique_ptr<Client> peer;
  Config holder_config = config_;
  if (req.has_source()) {
    LIFEBOAT_ASSIGN_OR_RETURN(peer, PeerClient(req.source(), &holder_config));
  }
  Client& holder = peer ? *peer : *client_;
  json map;
  {
    StatusOr<int32_t> has_state = holder.PartitionCount(holder_config.state_topic);
    if (has_state.ok()) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto table, ReadTable(holder, holder_config.state_topic));
      if (auto it = table.find(MapKey(req.restore_point_id(), selector)); it != table.end()) {
        LIFEBOAT_ASSIGN_OR_RETURN(map, ParseJson(it->second, "offset map " + it->first));
      }
    } else if (has_state.status().code() != Code::kNotFound) {
      return has_state.status();
    }
  }
  if (map.is_null()) {
    return NotFoundError("restore point " + req.restore_point_id() + " of kafka:" + selector +
                             " has no offset map on cluster '" + holder_config.cluster +
                             "' (never committed here, or expired)",
                         req.restore_point_id());
  }
  v1::RestoreResponse resp;
  if (req.destination().empty() && !compare_only) {
    LIFEBOAT_ASSIGN_OR_RETURN(json fence, ReadState(FenceKey(selector)));
    if (!fence.is_null()) {
      return FailedPreconditionError("kafka:" + selector + " is fenced on cluster '" +
                                         config_.cluster + "' (epoch " +
                                         std::to_string(fence.value("epoch", uint64_t{0})) +
                                         "); unfence it before restoring into it",
                                     selector);
    }
  }
  if (req.destination().empty() && !peer && compare_only) {
    // How the replica topics differ from the point: the records appended after it.
    for (const auto& part : map["partitions"]) {
      const std::string replica = part["target_topic"];
      const int32_t partition = part["partition"];
      const int64_t end = part["tgt_end"];
      StatusOr<int32_t> count = client_->PartitionCount(replica);
      if (!count.ok() && count.status().code() != Code::kNotFound) return count.status();
      if (!count.ok() || *count <= partition) {
        resp.add_changes(PartitionPath(replica, partition) + ": gone");
        continue;
      }
      LIFEBOAT_ASSIGN_OR_RETURN(auto wm, client_->Watermarks(replica, partition, false));
      if (wm.second != end) {
        resp.add_changes(PartitionPath(replica, partition) + ": ends at offset " +
                         std::to_string(wm.second) + ", the point at " + std::to_string(end));
      }
    }
    return resp;
  }
  if (req.destination().empty() && !peer) {
    // The records are in the replica topics already; Kafka cannot cut a log's tail, so the
    // point is "restored" by pointing the groups at it again.
    for (const auto& [group, g] : map["groups"].items()) {
      std::map<TopicPartition, int64_t> offsets;
      for (const auto& part : map["partitions"]) {
        auto it = g["offsets"].find(PartitionPath(part["topic"], part["partition"]));
        if (it != g["offsets"].end())
          offsets[{part["target_topic"], part["partition"]}] = (*it)["target"];
      }
      if (offsets.empty()) continue;
      resp.add_changes("group " + group + ": offsets of restore point " + req.restore_point_id());
      if (!req.dry_run()) {
        Status s = client_->AlterGroupOffsets(group, offsets);
        if (!s.ok()) resp.add_changes("group " + group + " not set: " + s.ToString());
      }
    }
    for (const auto& part : map["partitions"]) {
      resp.add_changes("topic " + part["target_topic"].get<std::string>() + " partition " +
                       std::to_string(part["partition"].get<int>()) +
                       " holds the point up to offset " +
                       std::to_string(part["tgt_end"].get<int64_t>()));
    }
    return resp;
  }
  // Into topics <destination><source topic> of this cluster: the replicas' records up to the
  // point, read from the holder (this cluster or the peer), exactly once. From a peer with no
  // destination, into the topics of the data set themselves, which must then be empty here
  // (appending the point to records this cluster holds would duplicate them).
  std::map<std::string, int32_t> partitions;
  for (const auto& part : map["partitions"]) {
    std::string t = part["target_topic"];
    partitions[t] = std::max(partitions[t], part["partition"].get<int32_t>() + 1);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string holder_id, holder.ClusterId());
  if (req.destination().empty()) {
    // A point cut from this very cluster (its old primary, before a failback): its records
    // are here up to the cut; what differs is what this cluster took since.
    LIFEBOAT_ASSIGN_OR_RETURN(std::string here_id, client_->ClusterId());
    if (map.value("source_cluster_id", "") == here_id) {
      LIFEBOAT_ASSIGN_OR_RETURN(std::vector<SinceChange> since, SinceCut(sel, map));
      std::vector<std::string> kept;  // changes a restore in place cannot undo
      for (const auto& c : since) {
        resp.add_changes(c.text);
        if (!c.gone) kept.push_back(c.text);
      }
      if (since.empty() || req.dry_run()) return resp;
      if (!kept.empty()) {
        return FailedPreconditionError(
            "kafka:" + selector + " on cluster '" + config_.cluster + "' took " +
                std::to_string(kept.size()) + " change(s) after restore point " +
                req.restore_point_id() + " was cut from it (first: " + kept.front() +
                "); Kafka cannot remove records, so the point cannot be restored in place. "
                "Restore under a topic prefix (destination)",
            selector);
      }
      // Only partitions gone since the cut: made again below from the holder's copy, which
      // removes nothing that is here.
      resp.clear_changes();
    }
    for (const auto& part : map["partitions"]) {
      const std::string dest = part["topic"];
      StatusOr<int32_t> exists = client_->PartitionCount(dest);
      if (!exists.ok() && exists.status().code() != Code::kNotFound) return exists.status();
      if (!exists.ok() || *exists <= part["partition"].get<int32_t>()) continue;
      LIFEBOAT_ASSIGN_OR_RETURN(auto wm, client_->Watermarks(dest, part["partition"], false));
      if (wm.second > wm.first) {
        // Already holding this very copy (a repeated restore) is fine: its progress says so.
        LIFEBOAT_ASSIGN_OR_RETURN(json prog, ReadState(ProgressKey(holder_id, part["target_topic"],
                                                                   part["partition"], dest)));
        if (!prog.is_null()) continue;
        return FailedPreconditionError(
            "cannot restore " + req.restore_point_id() + " of kafka:" + selector + " from '" +
                holder_config.cluster + "' into " + PartitionPath(dest, part["partition"]) +
                " on cluster '" + config_.cluster + "': it holds records already (offsets [" +
                std::to_string(wm.first) + ", " + std::to_string(wm.second) +
                ")), and appending the point would duplicate them. Restore under a topic "
                "prefix (destination), or delete the topic first",
            PartitionPath(dest, part["partition"]));
      }
    }
  }
  // Every topic the restore would write is checked before anything is made; one that holds
  // records Lifeboat did not copy there is written only with the operator's consent.
  sdk::RestoreConflicts conflicts;
  for (const auto& part : map["partitions"]) {
    if (prefix.empty()) break;  // into the data set itself: checked above
    const std::string dest = prefix + part["topic"].get<std::string>();
    LIFEBOAT_RETURN_IF_ERROR(ValidateTopicName(dest, "restore destination topic"));
    const int32_t partition = part["partition"];
    StatusOr<int32_t> exists = client_->PartitionCount(dest);
    if (!exists.ok() && exists.status().code() != Code::kNotFound) return exists.status();
    if (!exists.ok() || *exists <= partition) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(auto wm, client_->Watermarks(dest, partition, false));
    if (wm.second <= wm.first) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(
        json prog, ReadState(ProgressKey(holder_id, part["target_topic"], partition, dest)));
    if (!prog.is_null()) continue;  // this very copy, begun before: it resumes
    conflicts.overwrites.push_back(PartitionPath(dest, partition) + " (" +
                                   std::to_string(wm.second - wm.first) + " records)");
  }
  LIFEBOAT_RETURN_IF_ERROR(sdk::CheckRestoreConsent(
      req, prefix.empty() ? "kafka:" + selector : "topics " + prefix + "*", conflicts));
  for (const auto& part : map["partitions"]) {
    const std::string replica = part["target_topic"];
    const std::string dest = prefix + part["topic"].get<std::string>();
    const int32_t partition = part["partition"];
    if (req.dry_run()) {
      resp.add_changes("would copy " + PartitionPath(replica, partition) + " up to offset " +
                       std::to_string(part["tgt_end"].get<int64_t>()) + " into " + dest);
      continue;
    }
    StatusOr<int32_t> have = client_->PartitionCount(dest);
    if (!have.ok()) {
      if (have.status().code() != Code::kNotFound) return have.status();
      LIFEBOAT_ASSIGN_OR_RETURN(auto configs, holder.TopicConfigs(replica));
      auto want = Relevant(configs);
      want["message.timestamp.type"] = "CreateTime";
      LIFEBOAT_RETURN_IF_ERROR(client_->CreateTopic(dest, partitions[replica], want));
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto wm, holder.Watermarks(replica, partition, false));
    CopyJob job;
    job.topic = replica;
    job.partition = partition;
    job.target_topic = dest;
    job.start = wm.first;
    job.end = part["tgt_end"];
    job.progress_key = ProgressKey(holder_id, replica, partition, dest);
    job.restore_point_id = req.restore_point_id();
    job.throttle = throttles_.For("restore:" + req.restore_point_id() + ":" + req.op_id(),
                                  config_.bandwidth_bytes_per_second);
    LIFEBOAT_ASSIGN_OR_RETURN(CopyResult r, CopyPartition(call, holder_config, *client_, job));
    resp.set_bytes_written(resp.bytes_written() + r.bytes_copied);
    if (!r.already_done) {
      resp.add_changes("copied " + std::to_string(r.records_copied) + " records of " +
                       PartitionPath(replica, partition) + " into " + dest);
    }
  }
  return resp;
}

StatusOr<v1::ExpireResponse> KafkaPlugin::Expire(sdk::Call& call, const v1::ExpireRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  v1::ExpireResponse resp;
  for (const auto& rp : req.restore_point_ids()) {
    const std::string key = MapKey(rp, sel.ToString());
    LIFEBOAT_ASSIGN_OR_RETURN(json map, ReadState(key));
    if (map.is_null()) {
      resp.add_already_absent(rp);
      continue;
    }
    LIFEBOAT_RETURN_IF_ERROR(WriteState(key, json()));
    resp.add_removed(rp);
  }
  return resp;
}

// --- security, fencing -------------------------------------------------------------------

namespace {

bool IsFenceAcl(const Acl& a) {
  return !a.allow && a.principal == "User:*" && a.operation == "WRITE";
}

std::string MapPrincipal(const std::string& principal,
                         const google::protobuf::Map<std::string, std::string>& users,
                         const google::protobuf::Map<std::string, std::string>& groups) {
  size_t colon = principal.find(':');
  if (colon == std::string::npos) return principal;
  const std::string kind = principal.substr(0, colon), name = principal.substr(colon + 1);
  const auto& m = kind == "Group" ? groups : users;
  auto it = m.find(name);
  return it == m.end() ? principal : kind + ":" + it->second;
}

// The ACL resources that cover the data set's topics on a cluster: each matching topic
// (literal) and, for a glob "abc*" (one trailing '*', no other wildcard), the prefix "abc".
std::vector<std::pair<std::string, bool>> FenceResources(const Selector& sel,
                                                         const std::vector<TopicInfo>& topics,
                                                         const std::string& prefix) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& t : topics) out.emplace_back(t.name, false);
  for (const auto& p : sel.topics) {
    if (IsGlob(p) && p.back() == '*' && p.find_first_of("*?") == p.size() - 1 && p.size() > 1) {
      out.emplace_back(prefix + p.substr(0, p.size() - 1), true);
    }
  }
  return out;
}

}  // namespace

StatusOr<v1::SyncSecurityResponse> KafkaPlugin::SyncSecurity(sdk::Call& call,
                                                             const v1::SyncSecurityRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  // A repeated op id answers what the first call did (the ACLs are equal by then, so a
  // second comparison would report nothing).
  std::unique_ptr<sdk::OpJournal> journal;
  if (!req.dry_run() && !req.op_id().empty()) {
    journal = SyncSecurityJournal(
        req.op_id(), [this](const std::string& key) { return ReadState(key); },
        [this](const std::string& key, const json& value) { return WriteState(key, value); });
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> done,
                              journal->Find(req.op_id(), kSyncSecurityOp));
    v1::SyncSecurityResponse resp;
    if (done && resp.ParseFromString(*done)) return resp;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<Client> src, PeerClient(req.source(), nullptr));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<Acl> src_acls, src->DescribeTopicAcls());
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<Acl> dst_acls, client_->DescribeTopicAcls());
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> src_topics, src->ListTopics());
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> dst_topics, client_->ListTopics());
  std::set<std::string> here;
  for (const auto& t : dst_topics) here.insert(t.name);
  v1::SyncSecurityResponse resp;
  std::set<std::string> compared;
  for (const auto& t : src_topics) {
    if (t.name == config_.state_topic || !sel.MatchesTopic(t.name)) continue;
    const std::string replica = config_.replica_topic_prefix + t.name;
    if (!here.count(replica)) {
      resp.set_items_only_on_source(resp.items_only_on_source() + 1);
      continue;
    }
    compared.insert(replica);
    std::set<Acl> want, have;
    for (const auto& a : src_acls) {
      if (a.prefixed || a.topic != t.name || IsFenceAcl(a)) continue;
      Acl m = a;
      m.topic = replica;
      m.principal = MapPrincipal(a.principal, req.user_map(), req.group_map());
      want.insert(m);
    }
    for (const auto& a : dst_acls) {
      if (!a.prefixed && a.topic == replica && !IsFenceAcl(a)) have.insert(a);
    }
    std::vector<Acl> add, remove;
    for (const auto& a : want) {
      if (!have.count(a)) add.push_back(a);
    }
    for (const auto& a : have) {
      if (!want.count(a)) remove.push_back(a);
    }
    for (const auto& a : add) resp.add_changes("add " + a.ToString());
    for (const auto& a : remove) resp.add_changes("remove " + a.ToString());
    if (!req.dry_run()) {
      LIFEBOAT_RETURN_IF_ERROR(client_->CreateAcls(add));
      LIFEBOAT_RETURN_IF_ERROR(client_->DeleteAcls(remove));
    }
  }
  resp.set_items_compared(compared.size());
  if (journal != nullptr) {
    LIFEBOAT_RETURN_IF_ERROR(
        journal->Record(req.op_id(), kSyncSecurityOp, resp.SerializeAsString()));
  }
  return resp;
}

sdk::FenceSteps KafkaPlugin::FenceStepsOf(const Selector& sel, json& record) {
  sdk::FenceSteps steps;
  steps.name = "kafka:" + sel.ToString();
  // The fence record in the state topic, left in `record` (null when not fenced).
  steps.in_place = [this, key = FenceKey(sel.ToString()),
                    &record]() -> StatusOr<std::optional<sdk::FenceInPlace>> {
    LIFEBOAT_ASSIGN_OR_RETURN(record, ReadState(key));
    if (record.is_null()) return std::optional<sdk::FenceInPlace>();
    return std::optional<sdk::FenceInPlace>(
        sdk::FenceInPlace{record.value("epoch", uint64_t{0}), record.value("reason", "")});
  };
  return steps;
}

std::unique_ptr<sdk::OpJournal> KafkaPlugin::FenceOpJournal(const Selector& sel,
                                                            const std::string& op_id) {
  return FenceJournal(
      sel.ToString(), op_id, [this](const std::string& key) { return ReadState(key); },
      [this](const std::string& key, const json& value) { return WriteState(key, value); });
}

StatusOr<v1::FenceResponse> KafkaPlugin::Fence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  json f;
  sdk::FenceSteps steps = FenceStepsOf(sel, f);
  steps.apply = [&](const sdk::FenceOrder& order) -> StatusOr<sdk::FenceWork> {
    // The ACLs of the fence in place cover the data set's topics, present and future.
    if (!order.raise) return sdk::FenceWork{0, "by DENY WRITE ACLs"};
    // The data set's topics on this cluster, under their replica names.
    Selector here = sel;
    for (auto& t : here.topics) t = config_.replica_topic_prefix + t;
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, MatchingTopics(here));
    std::vector<Acl> acls;
    for (const auto& [name, prefixed] : FenceResources(sel, topics, config_.replica_topic_prefix)) {
      Acl a;
      a.topic = name;
      a.prefixed = prefixed;
      a.principal = "User:*";
      a.operation = "WRITE";
      a.allow = false;
      acls.push_back(a);
    }
    Status made = client_->CreateAcls(acls);
    if (made.code() == Code::kUnimplemented) {
      return FailedPreconditionError(
          "cannot fence kafka:" + sel.ToString() + " on cluster '" + config_.cluster +
              "': its brokers have no authorizer, and Kafka has no other way to refuse writes "
              "to a topic. Configure authorizer.class.name (StandardAuthorizer under KRaft) "
              "with the agent's principal in super.users",
          sel.ToString());
    }
    LIFEBOAT_RETURN_IF_ERROR(made);
    json rec = {{"epoch", req.epoch()},
                {"reason", req.reason()},
                {"fenced_unix_nanos", host_.NowUnixNanos()},
                {"op_id", req.op_id()}};
    json list = json::array();
    for (const auto& a : acls) list.push_back({{"topic", a.topic}, {"prefixed", a.prefixed}});
    rec["acls"] = list;
    if (!f.is_null()) {
      for (const auto& a : f["acls"]) rec["acls"].push_back(a);
    }
    LIFEBOAT_RETURN_IF_ERROR(WriteState(FenceKey(sel.ToString()), rec));
    return sdk::FenceWork{acls.size(), "by DENY WRITE for User:* on " +
                                           std::to_string(acls.size()) +
                                           " topic resource(s); super users are not stopped"};
  };
  return sdk::RunFence(call, *FenceOpJournal(sel, req.op_id()), req, steps);
}

StatusOr<v1::FenceResponse> KafkaPlugin::Unfence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, DataSetSelector(req.data_set()));
  json f;
  sdk::FenceSteps steps = FenceStepsOf(sel, f);
  steps.lift = [&](const sdk::FenceInPlace&) -> StatusOr<sdk::FenceWork> {
    std::vector<Acl> acls;
    for (const auto& a : f["acls"]) {
      Acl acl;
      acl.topic = a["topic"];
      acl.prefixed = a["prefixed"];
      acl.principal = "User:*";
      acl.operation = "WRITE";
      acl.allow = false;
      acls.push_back(acl);
    }
    LIFEBOAT_RETURN_IF_ERROR(client_->DeleteAcls(acls));
    LIFEBOAT_RETURN_IF_ERROR(WriteState(FenceKey(sel.ToString()), json()));
    return sdk::FenceWork{acls.size(),
                          "by DENY WRITE ACLs; " + std::to_string(acls.size()) + " removed"};
  };
  return sdk::RunUnfence(call, *FenceOpJournal(sel, req.op_id()), req, steps);
}

}  // namespace lifeboat::kafka
