#include "hooks.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace lifeboat::core {

Status RunHook(const v1::Hook& hook, HookStep step) {
  const char* what = step == HookStep::kPause ? "pause" : "resume";
  const std::string& command = step == HookStep::kPause ? hook.pause() : hook.resume();
  const std::string name = "hook " + hook.name() + " (" + what + ")";
  if (hook.kind() != "command") {
    return UnimplementedError(name + ": hook kind '" + hook.kind() +
                              "' is not available yet; use kind: command");
  }
  if (command.empty()) return OkStatus();
  pid_t pid = ::fork();
  if (pid < 0) return UnavailableError(name + ": cannot start a process");
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const int64_t timeout = hook.timeout_seconds() > 0 ? hook.timeout_seconds() : 60;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return UnavailableError(name + ": lost track of the process");
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return UnavailableError(name + ": did not finish within " + std::to_string(timeout) +
                              "s and was killed: " + command);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return OkStatus();
  std::string why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return UnavailableError(name + ": " + why + ": " + command);
}

}  // namespace lifeboat::core
