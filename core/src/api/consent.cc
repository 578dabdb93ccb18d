#include "consent.h"

namespace lifeboat::core::api {

Status RequireConfirm(const nlohmann::json& body, const std::string& expected,
                      const std::string& action) {
  const std::string wanted = "{\"confirm\": \"" + expected + "\"}";
  auto it = body.find("confirm");
  if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
    return InvalidArgumentError(action + ": the body must say what you agree to, " + wanted +
                                " (a dry run, ?dry_run=true, needs none)");
  }
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("field 'confirm' must be a string, not ") +
                                it->type_name() + "; send " + wanted);
  }
  if (it->get<std::string>() != expected) {
    return InvalidArgumentError("the body confirms '" + it->get<std::string>().substr(0, 80) +
                                "', but " + action + "; send " + wanted);
  }
  return OkStatus();
}

Status OnlyKnownFields(const nlohmann::json& body, std::initializer_list<const char*> known) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return InvalidArgumentError("unknown field '" + key.substr(0, 80) +
                                  "' in the body; known: " + list);
    }
  }
  return OkStatus();
}

}  // namespace lifeboat::core::api
