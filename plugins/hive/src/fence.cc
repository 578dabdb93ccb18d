#include "fence.h"

#include <filesystem>
#include <system_error>

#include "hive_plugin.h"

namespace lifeboat::hive {
namespace {

const std::string kEpoch = std::string(kLifeboatParamPrefix) + "fence.epoch";
const std::string kReason = std::string(kLifeboatParamPrefix) + "fence.reason";
const std::string kTime = std::string(kLifeboatParamPrefix) + "fence.time";
const std::string kOp = std::string(kLifeboatParamPrefix) + "fence.op";
const std::string kBefore = std::string(kLifeboatParamPrefix) + "fence.readonly_before";
const std::string kFencePrefix = std::string(kLifeboatParamPrefix) + "fence.";

uint64_t ToU64(const std::string& s) {
  try {
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}

int64_t ToI64(const std::string& s) {
  try {
    return std::stoll(s);
  } catch (...) {
    return 0;
  }
}

std::optional<FenceMark> MarkOf(const Selector& sel, const std::map<std::string, std::string>& p) {
  auto epoch = p.find(kEpoch);
  if (epoch == p.end()) return std::nullopt;
  FenceMark m;
  m.selector = sel.text();
  m.epoch = ToU64(epoch->second);
  auto get = [&](const std::string& k) {
    auto it = p.find(k);
    return it == p.end() ? std::string() : it->second;
  };
  m.reason = get(kReason);
  m.fenced_unix_nanos = ToI64(get(kTime));
  m.op_id = get(kOp);
  m.mechanism = sel.whole_db() ? "readonly" : "marker";
  return m;
}

// The object a fence marks: a database, or a table.
struct Marked {
  std::optional<thrift::Database> db;
  std::optional<thrift::Table> table;
  std::map<std::string, std::string>& params() { return db ? db->parameters : table->parameters; }
};

StatusOr<Marked> ReadMarked(MetastoreClient& c, const Selector& sel) {
  Marked m;
  if (sel.whole_db()) {
    LIFEBOAT_ASSIGN_OR_RETURN(m.db, c.GetDatabase(sel.db));
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(m.table, c.GetTable(sel.db, sel.table));
  }
  return m;
}

Status WriteMarked(MetastoreClient& c, const Selector& sel, Marked& m, const std::string& writer) {
  thrift::EnvironmentContext env;
  env.__set_properties({{kWriterProperty, writer}});
  if (m.db) {
    m.db->__isset.parameters = true;
    m.db->__isset.privileges = false;
    return c.AlterDatabase(sel.db, *m.db);
  }
  m.table->__isset.parameters = true;
  m.table->__isset.colStats = false;
  return c.AlterTable(sel.db, sel.table, *m.table, &env);
}

}  // namespace

StatusOr<std::optional<FenceMark>> FenceOf(MetastoreClient& c, const Selector& sel) {
  StatusOr<Marked> m = ReadMarked(c, sel);
  if (!m.ok()) {
    if (m.status().code() == Code::kNotFound) return std::optional<FenceMark>();
    return m.status();
  }
  return MarkOf(sel, m->params());
}

std::vector<FenceMark> ListFences(HivePlugin& plugin, MetastoreClient& c,
                                  std::vector<std::string>* problems) {
  std::vector<FenceMark> out;
  std::string cluster = plugin.config().cluster.empty() ? "cluster" : plugin.config().cluster;
  for (char& ch : cluster) {
    if (ch == '/' || ch == '\0') ch = '_';
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(plugin.config().state_dir) / cluster;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    StatusOr<Selector> sel = ParseConcreteSelector(it->path().filename().string());
    if (!sel.ok()) continue;
    StatusOr<std::optional<FenceMark>> mark = FenceOf(c, *sel);
    if (!mark.ok()) {
      if (problems != nullptr)
        problems->push_back("hive:" + sel->text() + ": " + mark.status().message());
      continue;
    }
    if (*mark) out.push_back(**mark);
  }
  return out;
}

StatusOr<v1::FenceResponse> HivePlugin::Fence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  return store->journal().FindOrRun<v1::FenceResponse>(
      req.op_id(), "fence", [&]() -> StatusOr<v1::FenceResponse> {
        std::lock_guard<std::mutex> lock(store->mutex());
        LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
        MetastoreClient& c = *lease;
        LIFEBOAT_ASSIGN_OR_RETURN(Marked m, ReadMarked(c, sel));
        std::optional<FenceMark> was = MarkOf(sel, m.params());
        v1::FenceResponse resp;
        resp.set_fenced(true);
        if (was && was->epoch >= req.epoch()) {
          // Fencing again keeps the higher epoch and the fence that recorded it.
          resp.set_epoch(was->epoch);
          resp.set_detail("hive:" + sel.text() + " was fenced already at epoch " +
                          std::to_string(was->epoch));
          return resp;
        }
        LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
        LIFEBOAT_ASSIGN_OR_RETURN(int64_t start, c.GetCurrentNotificationEventId());
        auto& p = m.params();
        if (!was) {
          auto ro = p.find("readonly");
          p[kBefore] = ro == p.end() ? "" : ro->second;
        }
        p[kEpoch] = std::to_string(req.epoch());
        p[kReason] = req.reason();
        p[kTime] = std::to_string(host_.NowUnixNanos());
        p[kOp] = req.op_id();
        if (sel.whole_db()) p["readonly"] = "true";
        Status written = WriteMarked(c, sel, m, "fence epoch " + std::to_string(req.epoch()));
        LIFEBOAT_ASSIGN_OR_RETURN(int64_t end, c.GetCurrentNotificationEventId());
        LIFEBOAT_RETURN_IF_ERROR(store->AddOwnWrites(uuid, start + 1, end,
                                                     "fence epoch " + std::to_string(req.epoch())));
        LIFEBOAT_RETURN_IF_ERROR(written);
        resp.set_epoch(req.epoch());
        resp.set_items_changed(1);
        resp.set_detail(
            sel.whole_db()
                ? "database " + sel.db +
                      " set readonly=true with the fence's marker: HiveServer2 refuses its "
                      "statements when EnforceReadOnlyDatabaseHook is among its pre-execution "
                      "hooks; clients of the metastore's own API are not stopped"
                : "table " + sel.text() +
                      " marked fenced: Hive has no read-only switch per table, so writers are "
                      "not stopped; Lifeboat refuses restores into it");
        host_.Info("fence hive:" + sel.text() + " epoch " + std::to_string(req.epoch()) + ": " +
                   resp.detail());
        return resp;
      });
}

StatusOr<v1::FenceResponse> HivePlugin::Unfence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  return store->journal().FindOrRun<v1::FenceResponse>(
      req.op_id(), "unfence", [&]() -> StatusOr<v1::FenceResponse> {
        std::lock_guard<std::mutex> lock(store->mutex());
        LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
        MetastoreClient& c = *lease;
        v1::FenceResponse resp;
        StatusOr<Marked> read = ReadMarked(c, sel);
        if (!read.ok() && read.status().code() == Code::kNotFound) {
          resp.set_detail("hive:" + sel.text() + " does not exist here: nothing to unfence");
          return resp;
        }
        LIFEBOAT_RETURN_IF_ERROR(read.status());
        Marked m = std::move(*read);
        std::optional<FenceMark> was = MarkOf(sel, m.params());
        if (!was) {
          resp.set_detail("hive:" + sel.text() + " is not fenced");
          return resp;
        }
        if (req.epoch() < was->epoch) {
          return FailedPreconditionError("hive:" + sel.text() + " is fenced at epoch " +
                                             std::to_string(was->epoch) + "; an unfence at epoch " +
                                             std::to_string(req.epoch()) +
                                             " is stale (the roles moved on since) and is refused",
                                         "hive:" + sel.text());
        }
        LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
        LIFEBOAT_ASSIGN_OR_RETURN(int64_t start, c.GetCurrentNotificationEventId());
        auto& p = m.params();
        if (sel.whole_db()) {
          auto before = p.find(kBefore);
          if (before == p.end() || before->second.empty()) {
            p.erase("readonly");
          } else {
            p["readonly"] = before->second;
          }
        }
        for (auto it = p.begin(); it != p.end();) {
          it = it->first.rfind(kFencePrefix, 0) == 0 ? p.erase(it) : std::next(it);
        }
        Status written = WriteMarked(c, sel, m, "unfence epoch " + std::to_string(req.epoch()));
        LIFEBOAT_ASSIGN_OR_RETURN(int64_t end, c.GetCurrentNotificationEventId());
        LIFEBOAT_RETURN_IF_ERROR(store->AddOwnWrites(
            uuid, start + 1, end, "unfence epoch " + std::to_string(req.epoch())));
        LIFEBOAT_RETURN_IF_ERROR(written);
        resp.set_items_changed(1);
        resp.set_detail("hive:" + sel.text() + " unfenced (epoch " + std::to_string(was->epoch) +
                        ")");
        return resp;
      });
}

}  // namespace lifeboat::hive
