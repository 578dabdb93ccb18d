#include "fence.h"

#include <lifeboat/sdk/fence.h>

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

namespace {

// The fence's opening shared by fence and unfence (sdk/fence.h): the marker read from the
// database or table, which is left in `marked` (nullopt when the object is not there).
sdk::FenceSteps StepsOf(MetastoreClient& c, const Selector& sel, std::optional<Marked>& marked) {
  sdk::FenceSteps steps;
  steps.name = "hive:" + sel.text();
  steps.in_place = [&c, sel, &marked]() -> StatusOr<std::optional<sdk::FenceInPlace>> {
    StatusOr<Marked> read = ReadMarked(c, sel);
    using Found = std::optional<sdk::FenceInPlace>;
    if (!read.ok() && read.status().code() == Code::kNotFound) return Found();
    LIFEBOAT_RETURN_IF_ERROR(read.status());
    marked = std::move(*read);
    std::optional<FenceMark> was = MarkOf(sel, marked->params());
    if (!was) return Found();
    return Found(sdk::FenceInPlace{was->epoch, was->reason});
  };
  return steps;
}

// Writes the marked object, the metastore events that makes recorded as Lifeboat's own (not
// changes of the target).
Status WriteFenceChange(MetastoreClient& c, SetStore& store, const Selector& sel, Marked& m,
                        const std::string& what) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string uuid, c.GetMetastoreDbUuid());
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t start, c.GetCurrentNotificationEventId());
  Status written = WriteMarked(c, sel, m, what);
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t end, c.GetCurrentNotificationEventId());
  LIFEBOAT_RETURN_IF_ERROR(store.AddOwnWrites(uuid, start + 1, end, what));
  return written;
}

}  // namespace

StatusOr<v1::FenceResponse> HivePlugin::Fence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  std::optional<Marked> marked;
  sdk::FenceSteps steps = StepsOf(c, sel, marked);
  steps.apply = [&](const sdk::FenceOrder& order) -> StatusOr<sdk::FenceWork> {
    const std::string how =
        sel.whole_db()
            ? "by readonly=true and the fence's marker: HiveServer2 refuses its statements "
              "when EnforceReadOnlyDatabaseHook is among its pre-execution hooks; clients of "
              "the metastore's own API are not stopped"
            : "by the fence's marker on the table: Hive has no read-only switch per table, so "
              "writers are not stopped; Lifeboat refuses restores into it";
    // One alter call sets the marker and readonly together: a fence in place is whole, and
    // one that keeps its higher epoch has nothing to finish.
    if (!order.raise) return sdk::FenceWork{0, how};
    if (!marked) {
      return NotFoundError("hive:" + sel.text() + " does not exist on cluster " + config_.cluster +
                               ": nothing to fence; check the selector",
                           "hive:" + sel.text());
    }
    auto& p = marked->params();
    if (!order.was) {
      auto ro = p.find("readonly");
      p[kBefore] = ro == p.end() ? "" : ro->second;
    }
    p[kEpoch] = std::to_string(req.epoch());
    p[kReason] = req.reason();
    p[kTime] = std::to_string(host_.NowUnixNanos());
    p[kOp] = req.op_id();
    if (sel.whole_db()) p["readonly"] = "true";
    LIFEBOAT_RETURN_IF_ERROR(
        WriteFenceChange(c, *store, sel, *marked, "fence epoch " + std::to_string(req.epoch())));
    return sdk::FenceWork{1, how};
  };
  return sdk::RunFence(call, store->journal(), req, steps);
}

StatusOr<v1::FenceResponse> HivePlugin::Unfence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  std::lock_guard<std::mutex> lock(store->mutex());
  LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  MetastoreClient& c = *lease;
  std::optional<Marked> marked;
  sdk::FenceSteps steps = StepsOf(c, sel, marked);
  steps.lift = [&](const sdk::FenceInPlace&) -> StatusOr<sdk::FenceWork> {
    auto& p = marked->params();
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
    LIFEBOAT_RETURN_IF_ERROR(
        WriteFenceChange(c, *store, sel, *marked, "unfence epoch " + std::to_string(req.epoch())));
    return sdk::FenceWork{1, sel.whole_db() ? "by readonly=true; readonly put back as it was"
                                            : "by the marker; the marker removed"};
  };
  return sdk::RunUnfence(call, store->journal(), req, steps);
}

}  // namespace lifeboat::hive
