// A guard in front of yaml-cpp: ParseYaml (and so LoadYamlFile and the API's apply) runs it first.
//
// yaml-cpp 0.7 (Debian 12) never returns from YAML::LoadAll() on a stream in which a document
// begins with a token that cannot start a node — a flow entry ',' as in ",", "--- ,",
// "a: 1\n---\n," — and allocates until the process runs out of memory (yaml-cpp issue #1040;
// fixed upstream by pull request #1319, after 0.8.0). Over the API that is a way for any
// operator-token holder, or one typo, to take the daemon down (api_request_fuzz found it); in a
// file, a `lifeboat apply` or an agent's --config that never ends. ParseYaml calls the guard, so
// every way YAML comes in is covered.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_SRC_POLICY_YAML_GUARD_H_
#define LIFEBOAT_CORE_SRC_POLICY_YAML_GUARD_H_

#include <lifeboat/status.h>

#include <string>

namespace lifeboat::core {

// Walks `text` with yaml-cpp's event parser (keeping nothing) and refuses, with
// INVALID_ARGUMENT "NAME:LINE:COLUMN: (document): ...", a stream in which the parser stops
// advancing. Other syntax errors pass: ParseYaml reports them with their position.
Status CheckYamlTerminates(const std::string& text, const std::string& name);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_SRC_POLICY_YAML_GUARD_H_
