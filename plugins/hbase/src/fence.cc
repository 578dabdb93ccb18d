// fence and unfence: every table of the data set made READONLY in its descriptor, the
// strongest per-table write stop HBase has (region servers refuse every mutation of a
// read-only region, whoever sends it), with the fence marker (epoch, reason, the table's
// READONLY before) in the same descriptor, so that one modifyTable call changes both.
#include <lifeboat/sdk/fence.h>

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

StatusOr<v1::FenceResponse> HBasePlugin::Fence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  std::vector<t2::TTableDescriptor> tables;
  auto thrift = Thrift();
  sdk::FenceSteps steps = FenceStepsOf(ds, *thrift, tables);
  steps.apply = [&](const sdk::FenceOrder& order) -> StatusOr<sdk::FenceWork> {
    sdk::FenceWork work;
    for (auto& d : tables) {
      std::optional<FenceMarker> m = MarkerOf(d);
      if (m && m->epoch >= order.epoch) continue;
      FenceMarker marker;
      if (m) {
        marker = *m;  // keeps readonly_before: what the first fence found
      } else {
        auto ro = d.attributes.find(kReadOnly);
        marker.readonly_before = ro == d.attributes.end() ? "" : ro->second;
      }
      marker.selector = ds.selector();
      marker.epoch = order.epoch;
      marker.reason = order.raise ? req.reason() : order.was->reason;
      marker.fenced_unix_nanos = NowNanos();
      d.attributes[kReadOnly] = "true";
      d.attributes[kFenceAttribute] = FenceToJson(marker);
      d.__isset.attributes = true;
      LIFEBOAT_RETURN_IF_ERROR(Modify(*thrift, d));
      ++work.items_changed;
    }
    work.detail = "by READONLY in the table descriptor of " + std::to_string(tables.size()) +
                  " table(s)" + (tables.empty() ? "; the data set has no table to fence yet" : "");
    return work;
  };
  return sdk::RunFence(call, journal_, req, steps);
}

StatusOr<v1::FenceResponse> HBasePlugin::Unfence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  std::vector<t2::TTableDescriptor> tables;
  auto thrift = Thrift();
  sdk::FenceSteps steps = FenceStepsOf(ds, *thrift, tables);
  steps.lift = [&](const sdk::FenceInPlace&) -> StatusOr<sdk::FenceWork> {
    sdk::FenceWork work;
    for (auto& d : tables) {
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
      ++work.items_changed;
    }
    work.detail = "by READONLY; " + std::to_string(work.items_changed) + " table(s) writable again";
    return work;
  };
  return sdk::RunUnfence(call, journal_, req, steps);
}

sdk::FenceSteps HBasePlugin::FenceStepsOf(const DataSetName& ds, Thrift2Client& thrift,
                                          std::vector<t2::TTableDescriptor>& tables) {
  sdk::FenceSteps steps;
  steps.name = "hbase:" + ds.selector();
  // The fence in place: the highest marker among the data set's tables, whose descriptors
  // are kept in `tables` for the fence or unfence that follows.
  steps.in_place = [this, ds, &thrift, &tables]() -> StatusOr<std::optional<sdk::FenceInPlace>> {
    StatusOr<std::vector<std::string>> listed = TablesOf(ds);
    if (!listed.ok() && listed.status().code() != Code::kNotFound) return listed.status();
    std::optional<sdk::FenceInPlace> best;
    for (const auto& t : listed.ok() ? *listed : std::vector<std::string>()) {
      LIFEBOAT_ASSIGN_OR_RETURN(t2::TTableDescriptor d, thrift.GetTableDescriptor(t));
      std::optional<FenceMarker> m = MarkerOf(d);
      if (m && (!best || m->epoch > best->epoch)) best = sdk::FenceInPlace{m->epoch, m->reason};
      tables.push_back(std::move(d));
    }
    return best;
  };
  return steps;
}

}  // namespace lifeboat::hbase
