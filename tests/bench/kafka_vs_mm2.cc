// Benchmark: replicating a Kafka topic from the rig's primary to its secondary with MirrorMaker 2
// (dedicated mode, connect-mirror of the 4.x rig's version, run by tests/rig/mm2) and with the
// Kafka plugin (plugins/kafka: cut, plan, one transfer thread per partition, commit; its
// verify is timed apart), in the same run on the same source topic: rates and the ratio.
//
// For each case COUNTxBYTES (default 1000000x100 and 100000x10240, issue 6):
//   1. creates a source topic with --partitions partitions on the primary,
//   2. fills it with the data generator (librdkafka producer, lz4-free: compression.codec none;
//      keys "k<i>", values GeneratedValue(i, BYTES)) and reports the generator's rate,
//   3. runs MirrorMaker 2 (java -jar rig-mm2.jar) to the secondary, which prints one JSON line
//      when every record is on the target, and checks the target's record count itself,
//   4. replicates the same topic with the Kafka plugin (exactly once, in transactions of
//      batch_records) to the same-named topic on the secondary, through the plugin's C table
//      as the host calls it (FakeHost), and checks it with the plugin's digest verify,
//   5. prints one JSON line per tool and case, then a table with the ratios
//      mm2_seconds / plugin_seconds (> 1: the plugin is faster), for the whole run (MirrorMaker
//      from start(), the plugin from its cut to its commit) and for the copy alone (MirrorMaker
//      from its first record on the target, the plugin's transfer).
//
// Usage: kafka_mm2_bench [--cases 1000000x100,100000x10240] [--partitions 3] [--system kafka]
//                        [--mm2-jar PATH] [--java PATH] [--mm2-tasks N] [--no-plugin]
//                        [--batch-records N] [--plugin-threads N]
// Needs the Kafka rig: `tools/scripts/rig.sh start kafka && eval "$(tools/scripts/rig.sh env
// kafka)"`. Without it the program exits 77 (ctest: skipped) unless LIFEBOAT_RIG_REQUIRED=1.
#include <lifeboat/testing/fake_host.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kafka_rig_client.h"
#include "rig_endpoints.h"

extern "C" const lb_plugin_api* lifeboat_plugin_init(const lb_host_api* host);

namespace fs = std::filesystem;
namespace rig = lifeboat::testing::rig;
namespace v1 = lifeboat::v1;

namespace {

struct Case {
  int64_t count = 0;
  size_t bytes = 0;
};

struct Options {
  std::vector<Case> cases = {{1000000, 100}, {100000, 10240}};
  int partitions = 3;
  std::string system = "kafka";
  std::string mm2_jar;  // default: beside the endpoints file, jars/rig-mm2/rig-mm2.jar
  std::string java;     // default: $JAVA_HOME/bin/java, else java
  int mm2_tasks = 1;
  bool plugin = true;
  int64_t batch_records = 0;  // 0: the plugin's default
  int plugin_threads = 64;    // transfer tasks at once (one per partition by default)
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "kafka_mm2_bench: " << what << "\n";
  std::exit(1);
}

std::vector<Case> ParseCases(const std::string& text) {
  std::vector<Case> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t x = item.find('x');
    if (x == std::string::npos) Die("--cases wants COUNTxBYTES[,...], got " + item);
    out.push_back({std::stoll(item.substr(0, x)), std::stoul(item.substr(x + 1))});
  }
  if (out.empty()) Die("--cases is empty");
  return out;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--cases") {
      o.cases = ParseCases(next());
    } else if (a == "--partitions") {
      o.partitions = std::stoi(next());
    } else if (a == "--system") {
      o.system = next();
    } else if (a == "--mm2-jar") {
      o.mm2_jar = next();
    } else if (a == "--java") {
      o.java = next();
    } else if (a == "--mm2-tasks") {
      o.mm2_tasks = std::stoi(next());
    } else if (a == "--no-plugin") {
      o.plugin = false;
    } else if (a == "--plugin-threads") {
      o.plugin_threads = std::stoi(next());
    } else if (a == "--batch-records") {
      o.batch_records = std::stoll(next());
    } else {
      Die("unknown argument " + a +
          " (usage: --cases 1000000x100,100000x10240 --partitions 3 --system kafka --mm2-jar PATH"
          " --java PATH --mm2-tasks N --no-plugin --batch-records N --plugin-threads N)");
    }
  }
  return o;
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `cmd` through the shell; returns its exit status and the last line it printed.
std::pair<int, std::string> RunLastLine(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) Die("cannot run " + cmd);
  std::string last, line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      if (!line.empty()) last = line;
      line.clear();
    }
  }
  if (!line.empty()) last = line;
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, last};
}

// Waits until every partition of `topic` is stable on `bootstrap`: its last stable offset (what
// a read_committed client sees) equals its end offset, i.e. the markers of the transactions
// committed so far are written. Up to 60 s; returns the seconds waited.
double WaitStable(const std::string& bootstrap, const std::string& topic) {
  auto committed = rig::NewKafkaClient(
      RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"isolation.level", "read_committed"}});
  auto uncommitted = rig::NewKafkaClient(
      RD_KAFKA_CONSUMER,
      {{"bootstrap.servers", bootstrap}, {"isolation.level", "read_uncommitted"}});
  if (!committed.ok() || !uncommitted.ok()) Die("cannot make the clients to watch " + topic);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(committed->get(), topic.c_str(), nullptr);
  if (rd_kafka_metadata(committed->get(), 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      md->topic_cnt != 1) {
    Die("no metadata for " + topic);
  }
  const int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  auto t0 = std::chrono::steady_clock::now();
  while (Since(t0) < 60) {
    bool stable = true;
    for (int32_t p = 0; p < partitions && stable; ++p) {
      auto lso = rig::Watermarks(committed->get(), topic, p);
      auto end = rig::Watermarks(uncommitted->get(), topic, p);
      stable = lso.ok() && end.ok() && lso->second == end->second;
    }
    if (stable) return Since(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Die(topic + " on " + bootstrap + " did not become stable within 60 s");
}

struct PluginTimes {
  double cut = 0, plan = 0, transfer = 0, commit = 0, verify = 0;
  double settle = 0;  // part of transfer: waiting until the target is stable (see RunPlugin)
  int tasks = 0;
  double Total() const { return cut + plan + transfer + commit; }
};

// One backup of `topic` with the Kafka plugin, primary -> secondary, timed by phase.
PluginTimes RunPlugin(const std::string& primary, const std::string& secondary,
                      const std::string& topic, int64_t batch_records, int parallel) {
  lifeboat::testing::FakeHost host;
  const lb_plugin_api* api = lifeboat_plugin_init(host.table());
  if (api == nullptr) Die("lifeboat_plugin_init of the kafka plugin returned null");
  auto config = [&](const std::string& cluster, const std::string& bootstrap) {
    nlohmann::json c = {{"bootstrap_servers", bootstrap}, {"timeout_seconds", 60}};
    if (batch_records > 0) c["batch_records"] = batch_records;
    v1::PluginConfig pc;
    pc.set_plugin("kafka");
    pc.set_cluster(cluster);
    pc.set_config_json(c.dump());
    return pc;
  };
  const v1::PluginConfig src_config = config("primary", primary);
  auto src = host.Create(api, src_config);
  if (!src.ok()) Die("kafka plugin on the primary: " + src.status().ToString());
  auto dst = host.Create(api, config("secondary", secondary));
  if (!dst.ok()) Die("kafka plugin on the secondary: " + dst.status().ToString());
  PluginTimes t;
  const std::string rp = "bench-" + topic;
  auto t0 = std::chrono::steady_clock::now();
  v1::CutRequest cut;
  cut.set_op_id("cut-" + rp);
  cut.mutable_data_set()->set_component("kafka");
  cut.mutable_data_set()->set_selector(topic);
  cut.set_restore_point_id(rp);
  auto c = host.Call<v1::CutResponse>(api, *src, LB_OP_CUT, cut);
  if (!c.ok()) Die("plugin cut: " + c.status().ToString());
  t.cut = Since(t0);
  t0 = std::chrono::steady_clock::now();
  v1::PlanTransferRequest plan;
  plan.set_op_id("plan-" + rp);
  *plan.mutable_source()->mutable_config() = src_config;
  *plan.mutable_snapshot() = c->snapshot();
  auto p = host.Call<v1::PlanTransferResponse>(api, *dst, LB_OP_PLAN_TRANSFER, plan);
  if (!p.ok()) Die("plugin plan: " + p.status().ToString());
  t.plan = Since(t0);
  t.tasks = p->tasks_size();
  // Up to `threads` tasks at once (a task is a partition), as the engine runs them in parallel.
  t0 = std::chrono::steady_clock::now();
  std::vector<std::string> errors(static_cast<size_t>(p->tasks_size()));
  std::atomic<int> next_task{0};
  auto worker = [&] {
    for (int i = next_task++; i < p->tasks_size(); i = next_task++) {
      v1::TransferRequest req;
      req.set_op_id("transfer-" + rp + "-" + p->tasks(i).task_id());
      *req.mutable_source()->mutable_config() = src_config;
      *req.mutable_snapshot() = c->snapshot();
      *req.mutable_task() = p->tasks(i);
      auto r = host.Call<v1::TransferResponse>(api, *dst, LB_OP_TRANSFER, req);
      if (!r.ok()) errors[static_cast<size_t>(i)] = r.status().ToString();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, std::min(parallel, p->tasks_size())); ++i) {
    threads.emplace_back(worker);
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) {
    if (!e.empty()) Die("plugin transfer: " + e);
  }
  // The plugin's commit and verify read the target with read_committed right away; the
  // markers of the last transactions land a moment after their commit returned, and a commit
  // or verify that runs first sees too little (found by this benchmark: "replicated up to
  // source offset 0", or verify mismatches; reported to the plugin). Until the plugin waits
  // itself, the benchmark waits here, and counts it as transfer time.
  t.settle = WaitStable(secondary, "__lifeboat_state") + WaitStable(secondary, topic);
  t.transfer = Since(t0);
  t0 = std::chrono::steady_clock::now();
  v1::VerifyRequest verify;
  verify.set_op_id("verify-" + rp);
  *verify.mutable_snapshot() = c->snapshot();
  verify.set_level(v1::VERIFY_DIGEST);
  auto v = host.Call<v1::VerifyResponse>(api, *dst, LB_OP_VERIFY, verify);
  if (!v.ok()) Die("plugin verify: " + v.status().ToString());
  if (!v->ok()) Die("plugin verify: " + std::to_string(v->mismatches_size()) + " mismatches");
  t.verify = Since(t0);
  t0 = std::chrono::steady_clock::now();
  v1::CommitRequest commit;
  commit.set_op_id("commit-" + rp);
  *commit.mutable_snapshot() = c->snapshot();
  auto cm = host.Call<v1::CommitResponse>(api, *dst, LB_OP_COMMIT, commit);
  if (!cm.ok()) Die("plugin commit: " + cm.status().ToString());
  t.commit = Since(t0);
  // The digest verify reads both sides again: timed, but not part of the comparison
  // (MirrorMaker checks nothing).
  api->destroy(*src);
  api->destroy(*dst);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  auto ep = rig::LoadEndpoints(o.system);
  if (!ep.ok()) {
    std::cerr << ep.status().ToString() << "\n";
    if (ep.status().code() == lifeboat::Code::kNotFound && !rig::RigRequired()) return 77;
    return 1;
  }
  const std::string primary = (*ep)["clusters"]["primary"].value("bootstrap_servers", "");
  const std::string secondary = (*ep)["clusters"]["secondary"].value("bootstrap_servers", "");
  const std::string version = ep->value("version", "?");
  if (o.mm2_jar.empty()) {
    fs::path endpoints = std::getenv(rig::EndpointsVariable(o.system).c_str());
    o.mm2_jar = (endpoints.parent_path() / "jars" / "rig-mm2" / "rig-mm2.jar").string();
  }
  if (!fs::exists(o.mm2_jar)) Die(o.mm2_jar + " is missing: run tools/scripts/rig.sh build");
  if (o.java.empty()) {
    const char* home = std::getenv("JAVA_HOME");
    o.java = home != nullptr && *home != '\0' ? std::string(home) + "/bin/java" : "java";
    if (home == nullptr && fs::exists("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")) {
      o.java = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";
    }
  }
  std::printf("Kafka %s rig: primary %s -> secondary %s, %d partitions\n", version.c_str(),
              primary.c_str(), secondary.c_str(), o.partitions);

  auto producer = rig::NewKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", primary},
                                                          {"linger.ms", "20"},
                                                          {"batch.size", "1000000"},
                                                          {"queue.buffering.max.kbytes", "262144"},
                                                          {"compression.codec", "none"},
                                                          {"acks", "all"}});
  if (!producer.ok()) Die(producer.status().ToString());
  auto target = rig::NewKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", secondary}});
  if (!target.ok()) Die(target.status().ToString());

  struct Row {
    std::string tool;
    Case c;
    double seconds = 0;  // the whole run
    double copy = 0;     // the copy alone
  };
  std::vector<Row> rows;
  for (const Case& c : o.cases) {
    const std::string topic =
        rig::UniqueName("bench-" + std::to_string(c.count) + "x" + std::to_string(c.bytes));
    lifeboat::Status st = rig::CreateTopic(producer->get(), topic, o.partitions);
    if (!st.ok()) Die(st.ToString());
    auto t0 = std::chrono::steady_clock::now();
    st = rig::ProduceRecords(producer->get(), topic, c.count, c.bytes);
    if (!st.ok()) Die(st.ToString());
    double gen = Since(t0);
    const double mib = static_cast<double>(c.count) * static_cast<double>(c.bytes) / (1 << 20);
    std::printf(
        "{\"tool\": \"generator\", \"topic\": \"%s\", \"records\": %lld, \"bytes\": %zu, "
        "\"seconds\": %.3f, \"records_per_s\": %.0f, \"mib_per_s\": %.1f}\n",
        topic.c_str(), static_cast<long long>(c.count), c.bytes, gen, c.count / gen, mib / gen);
    std::fflush(stdout);

    // MirrorMaker 2, dedicated mode, in its own JVM.
    std::string log = (fs::temp_directory_path() / (topic + ".mm2.log")).string();
    std::string cmd = Quote(o.java) + " -Xms256m -Xmx1g -jar " + Quote(o.mm2_jar) + " --source " +
                      Quote(primary) + " --target " + Quote(secondary) + " --topic " +
                      Quote(topic) + " --tasks " + std::to_string(o.mm2_tasks) +
                      " --timeout-s 1800 2>" + Quote(log);
    t0 = std::chrono::steady_clock::now();
    auto [rc, line] = RunLastLine(cmd);
    double wall = Since(t0);
    nlohmann::json mm2 = nlohmann::json::parse(line, nullptr, false);
    if (rc != 0 || mm2.is_discarded() || !mm2.value("complete", false)) {
      Die("MirrorMaker 2 did not finish (exit " + std::to_string(rc) + ", last line '" + line +
          "'; log " + log + ")");
    }
    // Check the replica ourselves: every record is there.
    auto got = rig::RecordsInTopic(target->get(), mm2.value("target_topic", ""), o.partitions);
    if (!got.ok()) Die("replica of " + topic + ": " + got.status().ToString());
    if (got.value() != c.count) {
      Die("replica of " + topic + " holds " + std::to_string(got.value()) + " records, not " +
          std::to_string(c.count));
    }
    mm2["bytes"] = c.bytes;
    mm2["process_seconds"] = wall;
    mm2["mib_per_s"] = mib / (mm2.value("elapsed_ms", 1) / 1000.0);
    std::printf("%s\n", mm2.dump().c_str());
    std::fflush(stdout);
    rows.push_back(
        {"mirrormaker2", c, mm2.value("elapsed_ms", 0) / 1000.0, mm2.value("copy_ms", 0) / 1000.0});
    std::remove(log.c_str());

    if (o.plugin) {
      PluginTimes pt = RunPlugin(primary, secondary, topic, o.batch_records, o.plugin_threads);
      std::printf(
          "{\"tool\": \"lifeboat-kafka\", \"topic\": \"%s\", \"records\": %lld, "
          "\"bytes\": %zu, \"tasks\": %d, \"cut_s\": %.3f, \"plan_s\": %.3f, "
          "\"transfer_s\": %.3f, \"settle_s\": %.3f, \"commit_s\": %.3f, \"verify_s\": %.3f, "
          "\"seconds\": %.3f, \"records_per_s\": %.0f, \"mib_per_s\": %.1f}\n",
          topic.c_str(), static_cast<long long>(c.count), c.bytes, pt.tasks, pt.cut, pt.plan,
          pt.transfer, pt.settle, pt.commit, pt.verify, pt.Total(), c.count / pt.Total(),
          mib / pt.Total());
      std::fflush(stdout);
      rows.push_back({"lifeboat-kafka", c, pt.Total(), pt.transfer});
    }
  }

  std::printf("\n%-14s %10s %8s %10s %12s %10s %10s %12s\n", "tool", "records", "bytes", "seconds",
              "records/s", "MiB/s", "copy s", "copy rec/s");
  for (const Row& r : rows) {
    double mib = static_cast<double>(r.c.count) * static_cast<double>(r.c.bytes) / (1 << 20);
    std::printf("%-14s %10lld %8zu %10.2f %12.0f %10.1f %10.2f %12.0f\n", r.tool.c_str(),
                static_cast<long long>(r.c.count), r.c.bytes, r.seconds, r.c.count / r.seconds,
                mib / r.seconds, r.copy, r.copy > 0 ? r.c.count / r.copy : 0.0);
  }
  // Ratios per case: MirrorMaker's time over the plugin's (> 1: the plugin is faster).
  for (size_t i = 0; i + 1 < rows.size(); ++i) {
    if (rows[i].tool == "mirrormaker2" && rows[i + 1].tool == "lifeboat-kafka") {
      std::printf("ratio %lldx%zu: whole run %.2f, copy alone %.2f\n",
                  static_cast<long long>(rows[i].c.count), rows[i].c.bytes,
                  rows[i].seconds / rows[i + 1].seconds,
                  rows[i + 1].copy > 0 ? rows[i].copy / rows[i + 1].copy : 0.0);
    }
  }
  return 0;
}
