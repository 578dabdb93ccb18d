#include "rig_endpoints.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lifeboat::testing::rig {

std::string EndpointsVariable(std::string_view system) {
  std::string name = "LIFEBOAT_RIG_";
  for (char c : system) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

bool RigRequired() {
  const char* v = std::getenv("LIFEBOAT_RIG_REQUIRED");
  return v != nullptr && std::string_view(v) == "1";
}

StatusOr<nlohmann::json> LoadEndpoints(std::string_view system) {
  const std::string var = EndpointsVariable(system);
  const char* path = std::getenv(var.c_str());
  if (path == nullptr || *path == '\0') {
    return NotFoundError(var + " is not set: this test needs the " + std::string(system) +
                         " rig. Run it through tools/scripts/test.sh, or start the rig with "
                         "`tools/scripts/rig.sh start " +
                         std::string(system) + "` and `eval \"$(tools/scripts/rig.sh env " +
                         std::string(system) + ")\"` first");
  }
  std::ifstream in(path);
  if (!in) {
    return FailedPreconditionError(std::string(path) + " (from " + var +
                                   ") cannot be read: is the rig up? Check `tools/scripts/rig.sh "
                                   "status " +
                                   std::string(system) + "`");
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return FailedPreconditionError(std::string(path) + " (from " + var +
                                   ") is not a JSON object: the rig wrote something unexpected");
  }
  return doc;
}

}  // namespace lifeboat::testing::rig
