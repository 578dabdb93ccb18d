// Benchmark: replicating a Kafka topic from the rig's primary to its secondary with MirrorMaker 2
// (dedicated mode, connect-mirror of the 4.x rig's version, run by tests/rig/mm2) — and, once the
// Kafka plugin's transfer works, with the plugin in the same run (rates and the ratio).
//
// For each case COUNTxBYTES (default 1000000x100 and 100000x10240, issue 6):
//   1. creates a source topic with --partitions partitions on the primary,
//   2. fills it with the data generator (librdkafka producer, lz4-free: compression.codec none;
//      keys "k<i>", values GeneratedValue(i, BYTES)) and reports the generator's rate,
//   3. runs MirrorMaker 2 (java -jar rig-mm2.jar) to the secondary, which prints one JSON line
//      when every record is on the target, and checks the target's record count itself,
//   4. prints one JSON line per tool and case, then a table.
//
// Usage: kafka_mm2_bench [--cases 1000000x100,100000x10240] [--partitions 3] [--system kafka]
//                        [--mm2-jar PATH] [--java PATH] [--mm2-tasks N]
// Needs the Kafka rig: `tools/scripts/rig.sh start kafka && eval "$(tools/scripts/rig.sh env
// kafka)"`. Without it the program exits 77 (ctest: skipped) unless LIFEBOAT_RIG_REQUIRED=1.
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "kafka_rig_client.h"
#include "rig_endpoints.h"

namespace fs = std::filesystem;
namespace rig = lifeboat::testing::rig;

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
    } else {
      Die("unknown argument " + a +
          " (usage: --cases 1000000x100,100000x10240 --partitions 3 --system kafka --mm2-jar PATH"
          " --java PATH --mm2-tasks N)");
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
    double seconds = 0;
    double first = 0;
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
    rows.push_back({"mirrormaker2", c, mm2.value("elapsed_ms", 0) / 1000.0,
                    mm2.value("first_record_ms", 0) / 1000.0});
    std::remove(log.c_str());
    // The plugin side joins here once plugins/kafka transfers (see docs/benchmarks.md).
  }

  std::printf("\n%-14s %10s %8s %10s %12s %10s %12s\n", "tool", "records", "bytes", "seconds",
              "records/s", "MiB/s", "first rec s");
  for (const Row& r : rows) {
    double mib = static_cast<double>(r.c.count) * static_cast<double>(r.c.bytes) / (1 << 20);
    std::printf("%-14s %10lld %8zu %10.2f %12.0f %10.1f %12.2f\n", r.tool.c_str(),
                static_cast<long long>(r.c.count), r.c.bytes, r.seconds, r.c.count / r.seconds,
                mib / r.seconds, r.first);
  }
  return 0;
}
