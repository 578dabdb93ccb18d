// A small command for shell tests against the Kafka rig (tests/e2e/*_rig_test.sh):
//   kafka_rig_tool create BOOTSTRAP TOPIC PARTITIONS   make a topic
//   kafka_rig_tool produce BOOTSTRAP TOPIC COUNT       COUNT records (generated values)
//   kafka_rig_tool records BOOTSTRAP TOPIC             print end − start summed over its
//   partitions,
//                                                      or "absent" when there is no such topic
// Exit 0 on success, 1 with the error on stderr otherwise. Test code only.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kafka_rig_client.h"

namespace {

using lifeboat::testing::rig::CreateTopic;
using lifeboat::testing::rig::NewKafkaClient;
using lifeboat::testing::rig::ProduceRecords;
using lifeboat::testing::rig::RecordsInTopic;

int Usage() {
  std::fprintf(stderr,
               "usage: kafka_rig_tool create BOOTSTRAP TOPIC PARTITIONS\n"
               "       kafka_rig_tool produce BOOTSTRAP TOPIC COUNT\n"
               "       kafka_rig_tool records BOOTSTRAP TOPIC\n");
  return 2;
}

int Fail(const lifeboat::Status& s) {
  std::fprintf(stderr, "kafka_rig_tool: %s\n", s.ToString().c_str());
  return 1;
}

// The partition count of `topic`, 0 when it does not exist.
int Partitions(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 10000);
  int n = 0;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
      md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    n = md->topics[0].partition_cnt;
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const std::string cmd = argv[1], bootstrap = argv[2], topic = argv[3];
  std::map<std::string, std::string> conf = {{"bootstrap.servers", bootstrap},
                                             {"allow.auto.create.topics", "false"}};
  if (cmd == "produce") conf.erase("allow.auto.create.topics");
  auto rk = NewKafkaClient(cmd == "produce" ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf);
  if (!rk.ok()) return Fail(rk.status());
  if (cmd == "create" && argc == 5) {
    lifeboat::Status s = CreateTopic(rk->get(), topic, std::atoi(argv[4]));
    return s.ok() ? 0 : Fail(s);
  }
  if (cmd == "produce" && argc == 5) {
    lifeboat::Status s = ProduceRecords(rk->get(), topic, std::atoll(argv[4]), 100);
    return s.ok() ? 0 : Fail(s);
  }
  if (cmd == "records" && argc == 4) {
    const int partitions = Partitions(rk->get(), topic);
    if (partitions == 0) {
      std::printf("absent\n");
      return 0;
    }
    auto n = RecordsInTopic(rk->get(), topic, partitions);
    if (!n.ok()) return Fail(n.status());
    std::printf("%lld\n", static_cast<long long>(*n));
    return 0;
  }
  return Usage();
}
