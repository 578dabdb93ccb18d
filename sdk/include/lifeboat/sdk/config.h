// Reading a plugin's JSON configuration with errors that name the field and say why.
//
// A plugin's configuration arrives as a JSON object (PluginConfig.config_json). ConfigReader
// takes fields one by one and, at Finish(), refuses every key that was never taken, so a
// misspelt key is an error rather than a silently ignored setting.
//
// Thread-safety: none; use one reader per parse.
#ifndef LIFEBOAT_SDK_CONFIG_H_
#define LIFEBOAT_SDK_CONFIG_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lifeboat::sdk {

class ConfigReader {
 public:
  // Parses `json`; an empty string reads as {}. `type` names the schema in messages.
  static StatusOr<ConfigReader> Parse(const std::string& json, std::string type);

  ConfigReader(ConfigReader&&) noexcept;
  ConfigReader& operator=(ConfigReader&&) noexcept;
  ~ConfigReader();

  // Each getter records the key as known. A present key of the wrong type is an error;
  // an absent one yields `fallback` (optional getters) or an error (Required*).
  StatusOr<std::string> RequiredString(const std::string& key);
  StatusOr<std::string> String(const std::string& key, std::string fallback);
  StatusOr<int64_t> Int(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  StatusOr<bool> Bool(const std::string& key, bool fallback);
  StatusOr<std::vector<std::string>> StringList(const std::string& key);
  // A JSON object whose values are all strings (e.g. {"hdfs://a": "hdfs://b"}); empty when
  // absent. An empty key is refused (a mapping from nothing is a mistake, not a default).
  StatusOr<std::map<std::string, std::string>> StringMap(const std::string& key);

  // INVALID_ARGUMENT naming every key that no getter took (the first one as its subject).
  Status Finish() const;

 private:
  struct Impl;
  explicit ConfigReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_CONFIG_H_
