// Hooks that pause and resume a service's writers for `quiesced` cuts.
#ifndef LIFEBOAT_CORE_ENGINE_HOOKS_H_
#define LIFEBOAT_CORE_ENGINE_HOOKS_H_

#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/status.h>

#include <string>

namespace lifeboat::core {

enum class HookStep { kPause, kResume };

// Runs one step of a hook and waits for it, at most hook.timeout_seconds (default 60).
// kind "command": `/bin/sh -c <command>`; exit 0 is success, anything else (or the timeout,
// after which the command is killed) is UNAVAILABLE with its exit status.
// kind "http": POST {"step": "pause"|"resume"} to the URL; a 2xx answer is success, anything
// else (or the timeout) is UNAVAILABLE. Other kinds are UNIMPLEMENTED.
Status RunHook(const v1::Hook& hook, HookStep step);

// POSTs `body` (JSON) to `url` and waits at most `timeout_seconds`; a 2xx answer is success,
// anything else UNAVAILABLE naming `name`, the URL and what happened.
Status PostJson(const std::string& name, const std::string& url, const std::string& body,
                int64_t timeout_seconds);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_HOOKS_H_
