#include <lifeboat/sdk/config.h>

#include <nlohmann/json.hpp>

namespace lifeboat::sdk {

struct ConfigReader::Impl {
  nlohmann::json doc;
  std::string type;
  std::set<std::string> taken;

  Status Wrong(const std::string& key, const char* wanted) const {
    return InvalidArgumentError(
        type + ": field '" + key + "' must be " + wanted + ", found " + doc.at(key).dump(), key);
  }
};

ConfigReader::ConfigReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConfigReader::ConfigReader(ConfigReader&&) noexcept = default;
ConfigReader& ConfigReader::operator=(ConfigReader&&) noexcept = default;
ConfigReader::~ConfigReader() = default;

StatusOr<ConfigReader> ConfigReader::Parse(const std::string& json, std::string type) {
  auto impl = std::make_unique<Impl>();
  impl->type = std::move(type);
  if (json.empty()) {
    impl->doc = nlohmann::json::object();
  } else {
    impl->doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (impl->doc.is_discarded()) {
      return InvalidArgumentError(impl->type + ": configuration is not valid JSON");
    }
    if (!impl->doc.is_object()) {
      return InvalidArgumentError(impl->type + ": configuration must be a JSON object, found " +
                                  std::string(impl->doc.type_name()));
    }
  }
  return ConfigReader(std::move(impl));
}

StatusOr<std::string> ConfigReader::RequiredString(const std::string& key) {
  impl_->taken.insert(key);
  if (!impl_->doc.contains(key)) {
    return InvalidArgumentError(impl_->type + ": required field '" + key + "' is missing", key);
  }
  if (!impl_->doc[key].is_string()) return impl_->Wrong(key, "a string");
  return impl_->doc[key].get<std::string>();
}

StatusOr<std::string> ConfigReader::String(const std::string& key, std::string fallback) {
  impl_->taken.insert(key);
  if (!impl_->doc.contains(key)) return fallback;
  if (!impl_->doc[key].is_string()) return impl_->Wrong(key, "a string");
  return impl_->doc[key].get<std::string>();
}

StatusOr<int64_t> ConfigReader::Int(const std::string& key, int64_t fallback, int64_t min,
                                    int64_t max) {
  impl_->taken.insert(key);
  if (!impl_->doc.contains(key)) return fallback;
  const auto& v = impl_->doc[key];
  if (!v.is_number_integer()) return impl_->Wrong(key, "an integer");
  int64_t n = v.get<int64_t>();
  if (n < min || n > max) {
    return InvalidArgumentError(impl_->type + ": field '" + key + "' must be between " +
                                    std::to_string(min) + " and " + std::to_string(max) +
                                    ", found " + std::to_string(n),
                                key);
  }
  return n;
}

StatusOr<bool> ConfigReader::Bool(const std::string& key, bool fallback) {
  impl_->taken.insert(key);
  if (!impl_->doc.contains(key)) return fallback;
  if (!impl_->doc[key].is_boolean()) return impl_->Wrong(key, "true or false");
  return impl_->doc[key].get<bool>();
}

StatusOr<std::vector<std::string>> ConfigReader::StringList(const std::string& key) {
  impl_->taken.insert(key);
  std::vector<std::string> out;
  if (!impl_->doc.contains(key)) return out;
  const auto& v = impl_->doc[key];
  if (!v.is_array()) return impl_->Wrong(key, "a list of strings");
  for (const auto& item : v) {
    if (!item.is_string()) return impl_->Wrong(key, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> ConfigReader::StringMap(const std::string& key) {
  impl_->taken.insert(key);
  std::map<std::string, std::string> out;
  if (!impl_->doc.contains(key)) return out;
  const auto& v = impl_->doc[key];
  if (!v.is_object()) return impl_->Wrong(key, "an object of strings");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_string()) return impl_->Wrong(key, "an object of strings");
    if (it.key().empty()) {
      return InvalidArgumentError(impl_->type + ": field '" + key + "' has an empty key", key);
    }
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

Status ConfigReader::Finish() const {
  std::string unknown;
  std::string first;  // the subject: the host points at it (FILE:LINE:COLUMN of the key)
  for (auto it = impl_->doc.begin(); it != impl_->doc.end(); ++it) {
    if (impl_->taken.count(it.key()) == 0) {
      if (!unknown.empty()) unknown += ", ";
      unknown += "'" + it.key() + "'";
      if (first.empty()) first = it.key();
    }
  }
  if (unknown.empty()) return OkStatus();
  std::string known;
  for (const auto& k : impl_->taken) known += (known.empty() ? "" : ", ") + k;
  return InvalidArgumentError(
      impl_->type + ": unknown field(s) " + unknown + "; known fields are: " + known, first);
}

}  // namespace lifeboat::sdk
