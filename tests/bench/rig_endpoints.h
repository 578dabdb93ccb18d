// The HDFS rig's endpoints for a benchmark run against it (tools/scripts/rig.sh start hdfs).
#ifndef LIFEBOAT_TESTS_BENCH_RIG_ENDPOINTS_H_
#define LIFEBOAT_TESTS_BENCH_RIG_ENDPOINTS_H_

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

namespace lifeboat::bench {

// The endpoints file `*path`, else $LIFEBOAT_RIG_HDFS (then written to `*path`: a benchmark finds
// the rig's other files beside it), parsed. nullopt when there is none: the
// caller exits 77 (ctest's skip), after this said how to start the rig. Exits 1 with why when
// LIFEBOAT_RIG_REQUIRED=1 and there is none, or when the file does not parse.
inline std::optional<nlohmann::json> HdfsRigEndpoints(std::string* endpoints) {
  std::string& path = *endpoints;
  if (path.empty() && std::getenv("LIFEBOAT_RIG_HDFS") != nullptr) {
    path = std::getenv("LIFEBOAT_RIG_HDFS");
  }
  if (path.empty()) {
    const char* required = std::getenv("LIFEBOAT_RIG_REQUIRED");
    if (required != nullptr && std::string(required) == "1") {
      std::fprintf(stderr,
                   "LIFEBOAT_RIG_HDFS is not set: start the rig (tools/scripts/rig.sh start "
                   "hdfs)\n");
      std::exit(1);
    }
    std::printf(
        "skipped: no HDFS rig (tools/scripts/rig.sh start hdfs, then eval \"$(tools/scripts/rig.sh "
        "env hdfs)\")\n");
    return std::nullopt;
  }
  std::ifstream in(path);
  nlohmann::json ep = nlohmann::json::parse(in, nullptr, false);
  if (ep.is_discarded() || !ep.contains("clusters")) {
    std::fprintf(stderr, "cannot read the rig's endpoints in %s\n", path.c_str());
    std::exit(1);
  }
  return ep;
}

}  // namespace lifeboat::bench

#endif  // LIFEBOAT_TESTS_BENCH_RIG_ENDPOINTS_H_
