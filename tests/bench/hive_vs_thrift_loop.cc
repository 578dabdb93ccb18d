// The hive plugin against the rig's own ceiling (issue 14): a database of N tables x P
// partitions on the primary metastore of the Hive rig, copied to the secondary
//   1. by a plain loop of Thrift calls (get_table, get_partitions from the primary;
//      create_table, add_partitions on the secondary): the ceiling;
//   2. by the plugin: cut -> plan_transfer -> transfer -> commit, full (the plugin as the
//      agents run it: its C table through the SDK's fake host, the target reading its source
//      through the peer stream);
//   3. then E table alters on the primary and the plugin's incremental point, whose time should
//      follow the events: events/s is reported.
// Prints one JSON line: times, the ratio full / loop and the incremental's events/s.
//   hive_bench [--tables=1000] [--partitions=20] [--events=10] [--parallelism=4]
// Needs LIFEBOAT_RIG_HIVE (tools/scripts/rig.sh env hive); exits 77 without it. Timing only:
// asserts nothing about speed.
#include <lifeboat/testing/fake_host.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "hive_test_util.h"
#include "metastore_client.h"
#include "rig_endpoints.h"
#include "rig_fixture.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace lifeboat::hive {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void Die(const std::string& why) {
  std::cerr << "hive_bench: " << why << "\n";
  std::exit(1);
}
void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

class Bench {
 public:
  Bench(json endpoints, int tables, int partitions, int events, int parallelism)
      : endpoints_(std::move(endpoints)),
        tables_(tables),
        partitions_(partitions),
        events_(events),
        parallelism_(parallelism) {
    db_ = "bench_" + std::to_string(::getpid());
    state_ = std::filesystem::temp_directory_path() / ("lifeboat-hive-bench-" + db_);
    primary_ = testing::MetastoreFrom(endpoints_, "primary");
    secondary_ = testing::MetastoreFrom(endpoints_, "secondary");
    p_ = Connect(primary_);
    s_ = Connect(secondary_);
    api_ = lifeboat_plugin_init(host_.table());
    host_.SetPeerReader([this](const v1::PeerReadRequest& req,
                               const std::function<Status(std::string_view)>& sink) -> Status {
      host_.ClearEmitted();
      auto r = host_.Call<v1::ReadResponse>(api_, src_, LB_OP_READ, req.read());
      std::string bytes = host_.Emitted();
      host_.ClearEmitted();
      if (!r.ok()) return r.status();
      return sink(bytes);
    });
  }
  ~Bench() {
    if (src_ != nullptr) api_->destroy(src_);
    if (dst_ != nullptr) api_->destroy(dst_);
    for (MetastoreClient* c : {p_.get(), s_.get()}) {
      auto dbs = c->GetAllDatabases();
      if (!dbs.ok()) continue;
      for (const auto& d : *dbs) {
        if (d.find(db_) != std::string::npos) (void)c->DropDatabase(d, false, true);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(state_, ec);
  }

  json Run() {
    const auto t0 = Clock::now();
    Populate();
    const double setup = Since(t0);
    const double loop = Loop();
    src_ = Instance("primary");
    dst_ = Instance("secondary");
    const double full = Point("rp1", "");
    for (int i = 0; i < events_; ++i) {
      auto t = p_->GetTable(db_, "t" + std::to_string(i % tables_));
      if (!t.ok()) Die(t.status().ToString());
      t->parameters["bench.change"] = std::to_string(i);
      Must(p_->AlterTable(db_, t->tableName, *t), "alter");
    }
    const double incremental = Point("rp2", "rp1");
    return {{"tables", tables_},
            {"partitions_per_table", partitions_},
            {"parallelism", parallelism_},
            {"setup_seconds", setup},
            {"thrift_loop_seconds", loop},
            {"lifeboat_full_seconds", full},
            {"full_over_loop", full / loop},
            {"events", events_},
            {"lifeboat_incremental_seconds", incremental},
            {"incremental_events_per_second", events_ / incremental},
            {"phases_seconds", phases_},
            {"retries", Retries()}};
  }

 private:
  static std::unique_ptr<MetastoreClient> Connect(const testing::Metastore& m) {
    auto c = MetastoreClient::Connect(m.options);
    if (!c.ok()) Die(c.status().ToString());
    return std::move(*c);
  }

  void Populate() {
    const std::string wh = primary_.external_warehouse + "/" + db_;
    thrift::Database db = testing::SampleDatabase(db_, primary_.external_warehouse);
    Must(p_->CreateDatabase(db), "database");
    for (int t = 0; t < tables_; ++t) {
      const std::string name = "t" + std::to_string(t);
      thrift::Table table = testing::MakeTable(db_, name, wh + "/" + name, true);
      Must(p_->CreateTable(table), name);
      std::vector<thrift::Partition> parts;
      for (int p = 0; p < partitions_; ++p) {
        parts.push_back(testing::MakePartition(table, "2024-01-" + std::to_string(100 + p)));
      }
      if (!parts.empty()) {
        auto added = p_->AddPartitions(db_, name, parts, false);
        if (!added.ok()) Die(added.status().ToString());
      }
    }
  }

  // The ceiling: the same objects read and created by a plain loop of Thrift calls.
  double Loop() {
    const auto t0 = Clock::now();
    const std::string target = db_ + "_loop";
    auto db = p_->GetDatabase(db_);
    if (!db.ok()) Die(db.status().ToString());
    db->__set_name(target);
    db->__set_locationUri(secondary_.external_warehouse + "/" + target + ".db");
    Must(s_->CreateDatabase(*db), "loop database");
    auto names = p_->GetAllTables(db_);
    if (!names.ok()) Die(names.status().ToString());
    for (const auto& name : *names) {
      auto t = p_->GetTable(db_, name);
      if (!t.ok()) Die(t.status().ToString());
      auto parts = p_->GetPartitions(db_, name);
      if (!parts.ok()) Die(parts.status().ToString());
      t->__set_dbName(target);
      Must(s_->CreateTable(*t), "loop " + name);
      for (auto& p : *parts) p.__set_dbName(target);
      if (!parts->empty()) {
        auto added = s_->AddPartitions(target, name, *parts, false);
        if (!added.ok()) Die(added.status().ToString());
      }
    }
    return Since(t0);
  }

  lb_instance* Instance(const std::string& cluster) {
    json cfg = {{"metastore", endpoints_["clusters"][cluster]["thrift"]},
                {"state_dir", (state_ / cluster).string()},
                {"timeout_seconds", 600},
                {"parallelism", parallelism_}};
    v1::PluginConfig c;
    c.set_plugin("hive");
    c.set_cluster(cluster);
    c.set_config_json(cfg.dump());
    auto made = host_.Create(api_, c);
    if (!made.ok()) Die(made.status().ToString());
    return *made;
  }

  template <typename Resp, typename Req>
  Resp Call(lb_instance* i, lb_op op, const Req& req, const std::string& what) {
    auto r = host_.Call<Resp>(api_, i, op, req);
    if (!r.ok()) Die(what + ": " + r.status().ToString());
    return *r;
  }

  // One point, cut to commit; seconds.
  double Point(const std::string& rp, const std::string& base) {
    const auto t0 = Clock::now();
    v1::CutRequest cut;
    cut.set_op_id("cut-" + rp);
    cut.mutable_data_set()->set_component("hive");
    cut.mutable_data_set()->set_selector(db_);
    cut.set_restore_point_id(rp);
    auto snap = Call<v1::CutResponse>(src_, LB_OP_CUT, cut, "cut").snapshot();
    phases_[rp]["cut"] = Since(t0);
    const auto t1 = Clock::now();
    v1::Peer peer;
    peer.mutable_config()->set_plugin("hive");
    peer.mutable_config()->set_cluster("primary");
    v1::PlanTransferRequest plan;
    plan.set_op_id("plan-" + rp);
    *plan.mutable_source() = peer;
    *plan.mutable_snapshot() = snap;
    plan.set_base_restore_point_id(base);
    auto planned = Call<v1::PlanTransferResponse>(dst_, LB_OP_PLAN_TRANSFER, plan, "plan");
    if (!base.empty() && !planned.incremental()) Die("not incremental: " + planned.full_reason());
    for (const auto& task : planned.tasks()) {
      v1::TransferRequest t;
      t.set_op_id("transfer-" + rp + "-" + task.task_id());
      *t.mutable_source() = peer;
      *t.mutable_snapshot() = snap;
      *t.mutable_task() = task;
      Call<v1::TransferResponse>(dst_, LB_OP_TRANSFER, t, "transfer");
    }
    phases_[rp]["plan_transfer"] = Since(t1);
    const auto t2 = Clock::now();
    v1::CommitRequest commit;
    commit.set_op_id("commit-" + rp);
    *commit.mutable_snapshot() = snap;
    commit.set_base_restore_point_id(base);
    Call<v1::CommitResponse>(dst_, LB_OP_COMMIT, commit, "commit");
    phases_[rp]["commit"] = Since(t2);
    return Since(t0);
  }

  // Tables the plugin wrote again after a failure (its warnings).
  int Retries() const {
    int n = 0;
    for (const auto& line : host_.Logs()) n += line.find("writing it again") != std::string::npos;
    return n;
  }

  json endpoints_;
  json phases_ = json::object();
  int tables_, partitions_, events_, parallelism_;
  std::string db_;
  std::filesystem::path state_;
  testing::Metastore primary_, secondary_;
  std::unique_ptr<MetastoreClient> p_, s_;
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  lb_instance* src_ = nullptr;
  lb_instance* dst_ = nullptr;
};

int Flag(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--" + name + "=", 0) == 0) return std::stoi(a.substr(name.size() + 3));
  }
  return fallback;
}

}  // namespace
}  // namespace lifeboat::hive

int main(int argc, char** argv) {
  auto endpoints = lifeboat::testing::rig::LoadEndpoints("hive");
  if (!endpoints.ok()) {
    std::cerr << "hive_bench: skipped: " << endpoints.status().message() << "\n";
    return 77;
  }
  lifeboat::hive::Bench bench(*endpoints, lifeboat::hive::Flag(argc, argv, "tables", 1000),
                              lifeboat::hive::Flag(argc, argv, "partitions", 20),
                              lifeboat::hive::Flag(argc, argv, "events", 10),
                              lifeboat::hive::Flag(argc, argv, "parallelism", 4));
  std::cout << bench.Run().dump() << std::endl;
  return 0;
}
