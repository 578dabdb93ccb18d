// Where a test finds the real clusters that tools/scripts/rig.sh started.
//
// rig.sh writes each system's endpoints to a JSON file and `rig.sh env SYSTEM` exports its
// path as LIFEBOAT_RIG_<SYSTEM> (LIFEBOAT_RIG_HDFS for hdfs). tools/scripts/test.sh starts the
// rigs, exports those variables and sets LIFEBOAT_RIG_REQUIRED=1: there a missing rig fails
// the test. Run by hand (plain `ctest`) without the variable, a rig test skips and says how
// to run it.
//
// Thread-safety: free functions without shared state; safe from any thread.
#ifndef LIFEBOAT_TESTS_RIG_RIG_ENDPOINTS_H_
#define LIFEBOAT_TESTS_RIG_RIG_ENDPOINTS_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include <lifeboat/status.h>

namespace lifeboat::testing::rig {

// The environment variable that names `system`'s endpoints file: "hdfs" → LIFEBOAT_RIG_HDFS.
std::string EndpointsVariable(std::string_view system);

// True when the caller demands real rigs (LIFEBOAT_RIG_REQUIRED=1, set by tools/scripts/test.sh).
bool RigRequired();

// The parsed endpoints file of `system`.
// NOT_FOUND when the variable is unset (the message says how to start the rig);
// FAILED_PRECONDITION when it names a file that is missing or not JSON (the rig is down or
// still starting).
StatusOr<nlohmann::json> LoadEndpoints(std::string_view system);

}  // namespace lifeboat::testing::rig

// In a TEST body or SetUp: declares `const nlohmann::json& var`, the endpoints of `system`.
// Skips the test when no rig was started and none is required; fails it otherwise.
#define LIFEBOAT_RIG_ENDPOINTS(var, system)                         \
  auto var##_or_ = ::lifeboat::testing::rig::LoadEndpoints(system); \
  if (!var##_or_.ok()) {                                            \
    if (var##_or_.status().code() == ::lifeboat::Code::kNotFound && \
        !::lifeboat::testing::rig::RigRequired()) {                 \
      GTEST_SKIP() << var##_or_.status().message();                 \
    }                                                               \
    FAIL() << var##_or_.status().ToString();                        \
  }                                                                 \
  const nlohmann::json& var = *var##_or_

#endif  // LIFEBOAT_TESTS_RIG_RIG_ENDPOINTS_H_
