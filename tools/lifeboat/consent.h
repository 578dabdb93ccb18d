// Asking the operator before something that moves a service or may destroy data: failover,
// failback, restore, unfence. On a terminal the command shows what it is about to do (the
// service, the point it restores and its age, the writes that will not come along, a
// warning when the primary looks healthy) and waits for the operator to type the name it
// names; `--yes` agrees in advance (scripts). Without a terminal and without --yes it refuses
// (exit 4) and says to pass --yes. The API is then sent {"confirm": "<name>"} (consent.h of
// the API).
//
// Thread-safety: one command, one thread.
#ifndef LIFEBOAT_TOOLS_LIFEBOAT_CONSENT_H_
#define LIFEBOAT_TOOLS_LIFEBOAT_CONSENT_H_

#include <lifeboat/status.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_session.h"

namespace lifeboat::cli {

// What the operator is asked to agree to.
struct Consent {
  std::string action;              // "fail over sales", "restore sales", ...
  std::vector<std::string> facts;  // one line each: what happens, the point, its age, ...
  std::vector<std::string> warnings;
  std::string name;  // what to type (and what the API's confirm names)
};

// OK when the operator agreed (typed `consent.name`, or `yes`). FAILED_PRECONDITION (exit 4)
// without a terminal and without --yes ("pass --yes"), or when the operator typed something
// else ("nothing was done").
Status Ask(const Consent& consent, bool yes);

// The facts of a switch or restore, from the API: the point named (`point_id`), or else the
// newest committed point held by `cluster`, its cut and age, the writes since (each line
// begun with `label`); the health of `primary`. A fact that cannot be read says so rather
// than failing the command.
void AddPointFacts(Session& s, const std::string& service, const std::string& cluster,
                   const std::string& point_id, Consent& consent, const std::string& label = "");
void AddPrimaryHealth(Session& s, const std::string& primary, Consent& consent);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_LIFEBOAT_CONSENT_H_
