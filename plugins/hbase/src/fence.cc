// fence and unfence: every table of the data set made READONLY in its descriptor, the
// strongest per-table write stop HBase has (region servers refuse every mutation of a
// read-only region, whoever sends it), with the fence marker (epoch, reason, the table's
// READONLY before) in the same descriptor, so that one modifyTable call changes both.
#include <chrono>

#include "hbase_plugin.h"

namespace lifeboat::hbase {

namespace {

constexpr char kReadOnly[] = "READONLY";

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<FenceMarker> MarkerOf(const t2::TTableDescriptor& d) {
  auto it = d.attributes.find(kFenceAttribute);
  if (it == d.attributes.end()) return std::nullopt;
  return FenceFromJson(it->second);
}

Status Modify(Thrift2Client& thrift, const t2::TTableDescriptor& d) {
  return thrift.Invoke("modifyTable " + FromTTableName(d.tableName),
                       [&](t2::THBaseServiceClient& c) { c.modifyTable(d); });
}

}  // namespace

StatusOr<FenceMarker> HBasePlugin::FenceOf(const DataSetName& ds) {
  FenceMarker best;
  StatusOr<std::vector<std::string>> tables = TablesOf(ds);
  if (!tables.ok()) {
    if (tables.status().code() == Code::kNotFound) return best;
    return tables.status();
  }
  auto thrift = Thrift();
  for (const auto& t : *tables) {
    LIFEBOAT_ASSIGN_OR_RETURN(t2::TTableDescriptor d, thrift->GetTableDescriptor(t));
    std::optional<FenceMarker> m = MarkerOf(d);
    if (m && m->epoch > best.epoch) best = *m;
  }
  return best;
}

Status HBasePlugin::ClearCopiedFence(Thrift2Client& thrift, const std::string& table) {
  LIFEBOAT_ASSIGN_OR_RETURN(t2::TTableDescriptor d, thrift.GetTableDescriptor(table));
  std::optional<FenceMarker> m = MarkerOf(d);
  if (!m) return OkStatus();
  if (m->readonly_before.empty()) {
    d.attributes.erase(kReadOnly);
  } else {
    d.attributes[kReadOnly] = m->readonly_before;
  }
  d.attributes.erase(kFenceAttribute);
  host_.Info("table " + table + " came from a point cut while fenced (epoch " +
             std::to_string(m->epoch) + "): its copy of that fence is lifted");
  return Modify(thrift, d);
}

StatusOr<v1::FenceResponse> HBasePlugin::Fence(sdk::Call&, const v1::FenceRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("fence needs an op_id");
  return journal_.FindOrRun<v1::FenceResponse>(req.op_id(), "fence",
                                               [&] { return DoFence(req, true); });
}

StatusOr<v1::FenceResponse> HBasePlugin::Unfence(sdk::Call&, const v1::FenceRequest& req) {
  if (req.op_id().empty()) return InvalidArgumentError("unfence needs an op_id");
  return journal_.FindOrRun<v1::FenceResponse>(req.op_id(), "unfence",
                                               [&] { return DoFence(req, false); });
}

StatusOr<v1::FenceResponse> HBasePlugin::DoFence(const v1::FenceRequest& req, bool fence) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  StatusOr<std::vector<std::string>> listed = TablesOf(ds);
  std::vector<std::string> tables;
  if (listed.ok()) {
    tables = *listed;
  } else if (listed.status().code() != Code::kNotFound) {
    return listed.status();
  }
  auto thrift = Thrift();
  std::vector<t2::TTableDescriptor> descriptors;
  uint64_t recorded = 0;
  for (const auto& t : tables) {
    LIFEBOAT_ASSIGN_OR_RETURN(t2::TTableDescriptor d, thrift->GetTableDescriptor(t));
    if (std::optional<FenceMarker> m = MarkerOf(d)) recorded = std::max(recorded, m->epoch);
    descriptors.push_back(std::move(d));
  }
  v1::FenceResponse resp;
  if (fence) {
    const uint64_t epoch = std::max(recorded, req.epoch());
    for (auto& d : descriptors) {
      std::optional<FenceMarker> m = MarkerOf(d);
      if (m && m->epoch >= epoch) continue;
      FenceMarker marker;
      if (m) {
        marker = *m;  // keeps readonly_before: what the first fence found
      } else {
        auto ro = d.attributes.find(kReadOnly);
        marker.readonly_before = ro == d.attributes.end() ? "" : ro->second;
      }
      marker.selector = ds.selector();
      marker.epoch = epoch;
      marker.reason = req.reason();
      marker.fenced_unix_nanos = NowNanos();
      d.attributes[kReadOnly] = "true";
      d.attributes[kFenceAttribute] = FenceToJson(marker);
      d.__isset.attributes = true;
      LIFEBOAT_RETURN_IF_ERROR(Modify(*thrift, d));
      resp.set_items_changed(resp.items_changed() + 1);
    }
    resp.set_fenced(true);
    resp.set_epoch(epoch);
    resp.set_detail(std::to_string(descriptors.size()) + " table(s) of hbase:" + ds.selector() +
                    " read-only (READONLY in the table descriptor), epoch " +
                    std::to_string(epoch) +
                    (descriptors.empty() ? "; the data set has no table to fence yet" : ""));
    return resp;
  }
  if (recorded > req.epoch()) {
    return FailedPreconditionError("hbase:" + ds.selector() + " was fenced at epoch " +
                                       std::to_string(recorded) + "; an unfence at epoch " +
                                       std::to_string(req.epoch()) +
                                       " is stale and cannot lift it (the controller's view "
                                       "of the roles is out of date)",
                                   ds.selector());
  }
  for (auto& d : descriptors) {
    std::optional<FenceMarker> m = MarkerOf(d);
    if (!m) continue;
    if (m->readonly_before.empty()) {
      d.attributes.erase(kReadOnly);
    } else {
      d.attributes[kReadOnly] = m->readonly_before;
    }
    // modifyTable builds the descriptor anew from what it is given: an attribute left out
    // is gone.
    d.attributes.erase(kFenceAttribute);
    LIFEBOAT_RETURN_IF_ERROR(Modify(*thrift, d));
    resp.set_items_changed(resp.items_changed() + 1);
  }
  resp.set_fenced(false);
  resp.set_epoch(0);
  resp.set_detail(std::to_string(resp.items_changed()) + " table(s) of hbase:" + ds.selector() +
                  " writable again");
  return resp;
}

}  // namespace lifeboat::hbase
