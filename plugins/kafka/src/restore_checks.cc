#include "restore_checks.h"

#include <algorithm>
#include <map>

#include "kafka_plugin.h"

namespace lifeboat::kafka {
namespace {

std::string PartitionPath(const std::string& topic, int32_t partition) {
  return topic + "/" + std::to_string(partition);
}

bool TopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

StatusOr<std::string> TopicPrefix(const std::string& destination) {
  std::string prefix = destination;
  if (prefix.find('/') != std::string::npos) {
    const size_t first = prefix.find_first_not_of('/');
    const size_t last = prefix.find_last_not_of('/');
    prefix = first == std::string::npos ? "" : prefix.substr(first, last - first + 1);
    std::replace(prefix.begin(), prefix.end(), '/', '.');
    if (!prefix.empty()) prefix += '.';
  }
  if (prefix.empty()) {
    return InvalidArgumentError("restore destination '" + destination +
                                    "' leaves no topic prefix; give one, e.g. restored-",
                                destination);
  }
  for (char c : prefix) {
    if (!TopicChar(c)) {
      return InvalidArgumentError(
          "restore destination '" + destination + "' is not a topic prefix: '" + std::string(1, c) +
              "' cannot be in a topic name (only ASCII letters, digits, '.', '_' and '-'); give "
              "kafka its own, e.g. --destination kafka=restored-",
          destination);
    }
  }
  return prefix;
}

Status ValidateTopicName(const std::string& name, const std::string& what) {
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgumentError(what + " '" + name + "' is not a valid topic name", name);
  }
  if (name.size() > kMaxTopicName) {
    return InvalidArgumentError(what + " '" + name.substr(0, 60) + "...' is " +
                                    std::to_string(name.size()) +
                                    " characters long; Kafka allows " +
                                    std::to_string(kMaxTopicName) + ": use a shorter prefix",
                                name);
  }
  for (char c : name) {
    if (!TopicChar(c)) {
      return InvalidArgumentError(what + " '" + name + "' has '" + std::string(1, c) +
                                      "', which a topic name cannot have (only ASCII letters, "
                                      "digits, '.', '_' and '-')",
                                  name);
    }
  }
  return OkStatus();
}

// ---- the changes of a cluster since a point cut from it (a KafkaPlugin member) -----------

StatusOr<std::vector<std::string>> KafkaPlugin::SinceCut(const Selector& selector,
                                                         const nlohmann::json& map) {
  std::vector<std::string> out;
  std::map<std::string, int32_t> in_point;  // topic -> partitions the point has
  for (const auto& part : map["partitions"]) {
    const std::string topic = part["topic"];
    const int32_t partition = part["partition"];
    in_point[topic] = std::max(in_point[topic], partition + 1);
    const int64_t cut = part["src_end"];
    StatusOr<int32_t> count = client_->PartitionCount(topic);
    if (!count.ok() && count.status().code() != Code::kNotFound) return count.status();
    if (!count.ok() || *count <= partition) {
      out.push_back(PartitionPath(topic, partition) + ": gone (the point has it up to offset " +
                    std::to_string(cut) + ")");
      continue;
    }
    // The high watermark: every record appended, also of transactions still open.
    LIFEBOAT_ASSIGN_OR_RETURN(auto wm, client_->Watermarks(topic, partition, false));
    if (wm.second > cut) {
      out.push_back(PartitionPath(topic, partition) + ": " + std::to_string(wm.second - cut) +
                    " record offset(s) after the point, [" + std::to_string(cut) + ", " +
                    std::to_string(wm.second) + ")");
    } else if (wm.second < cut) {
      out.push_back(PartitionPath(topic, partition) + ": ends at offset " +
                    std::to_string(wm.second) + ", the point at " + std::to_string(cut) +
                    " (the topic was made again?)");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<TopicInfo> now, MatchingTopics(selector));
  for (const auto& t : now) {
    auto known = in_point.find(t.name);
    if (known == in_point.end()) {
      out.push_back("topic " + t.name + " (" + std::to_string(t.partitions) +
                    " partition(s)) made after the point");
    } else if (t.partitions > known->second) {
      out.push_back("topic " + t.name + ": " + std::to_string(t.partitions - known->second) +
                    " partition(s) added after the point");
    }
  }
  return out;
}

}  // namespace lifeboat::kafka
