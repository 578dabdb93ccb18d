#include "consent.h"

#include <unistd.h>

#include <chrono>
#include <iostream>

#include "describe.h"

namespace lifeboat::cli {
namespace {

using nlohmann::json;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status Ask(const Consent& consent, bool yes) {
  if (yes) return OkStatus();
  if (::isatty(STDIN_FILENO) == 0) {
    return FailedPreconditionError(
        "to " + consent.action + " lifeboat asks you to agree on a terminal, and this is none; " +
        "pass --yes to agree in advance (run it with --dry-run first to see what it does)");
  }
  std::cerr << "About to " << consent.action << ":\n";
  for (const auto& f : consent.facts) std::cerr << "  " << f << "\n";
  for (const auto& w : consent.warnings) std::cerr << "  WARNING: " << w << "\n";
  std::cerr << "Type '" << consent.name << "' to go on (anything else stops): " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) answer.pop_back();
  if (answer != consent.name) {
    return FailedPreconditionError("not confirmed (you typed '" + answer.substr(0, 40) +
                                   "', not '" + consent.name + "'); nothing was done");
  }
  return OkStatus();
}

void AddPointFacts(Session& s, const std::string& service, const std::string& cluster,
                   const std::string& point_id, Consent& consent, const std::string& label) {
  auto body = s.client->Call("GET", "/v1/services/" + Seg(service) + "/points");
  if (!body.ok()) {
    consent.facts.push_back("the restore points could not be read: " + body.status().ToString());
    return;
  }
  auto points = ListFromJson<model::RestorePoint>(*body, "restore_points");
  if (!points.ok()) return;
  const model::RestorePoint* chosen = nullptr;
  for (const auto& p : *points) {
    if (!point_id.empty()) {
      if (p.id() == point_id) chosen = &p;
      continue;
    }
    if (p.state() != model::RP_COMMITTED || p.target_cluster() != cluster) continue;
    if (chosen == nullptr || p.id() > chosen->id()) chosen = &p;
  }
  if (chosen == nullptr) {
    consent.warnings.push_back(label + cluster + " holds no committed restore point of " + service);
    return;
  }
  // Whole seconds: a point's age needs no finer grain.
  const int64_t age = (NowSeconds() - chosen->cut_unix_nanos() / 1000000000) * 1000000000;
  consent.facts.push_back(label + "point " + chosen->id() + ", cut at " +
                          Time(chosen->cut_unix_nanos()) + " (" + HumanDuration(age) + " ago)");
  consent.facts.push_back(label + "writes after that cut are not in it: " + HumanDuration(age) +
                          " of them (until now) will not come along");
}

void AddPrimaryHealth(Session& s, const std::string& primary, Consent& consent) {
  auto body = s.client->Call("GET", "/v1/health?check=true");
  if (!body.ok()) {
    consent.facts.push_back("the health of " + primary +
                            " could not be read: " + body.status().ToString());
    return;
  }
  for (const auto& item : body->value("clusters", json::array())) {
    model::ClusterHealth h;
    if (!FromJson(item, &h).ok() || h.cluster() != primary) continue;
    const std::string state = Short(model::ClusterHealthState_Name(h.state()), "CLUSTER_");
    if (h.state() == model::CLUSTER_HEALTHY) {
      consent.warnings.push_back(
          "the primary " + primary +
          " looks healthy (its agent and plugins answer): the writes it takes until it is "
          "fenced are lost to the service; for a planned move, stop its writers first");
    } else {
      consent.facts.push_back("the primary " + primary + " is " + state +
                              (h.detail().empty() ? "" : ": " + h.detail()));
    }
  }
}

}  // namespace lifeboat::cli
