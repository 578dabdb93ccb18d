#include "hooks.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace lifeboat::core {
namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

Status PostJson(const std::string& name, const std::string& url, const std::string& body,
                int64_t timeout_seconds) {
  static const bool init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!init) return InternalError(name + ": the HTTP client could not start");
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return InternalError(name + ": the HTTP client could not start");
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return UnavailableError(name + ": POST " + url + " failed: " + curl_easy_strerror(rc));
  }
  if (http < 200 || http > 299) {
    return UnavailableError(name + ": POST " + url + " answered HTTP " + std::to_string(http));
  }
  return OkStatus();
}

namespace {

// POSTs {"step": "pause"|"resume"} to `url`; any 2xx answer is success. The response body is
// not read: the hook's service answers once its writers are paused (or resumed).
Status PostHook(const std::string& name, const std::string& url, const char* step,
                int64_t timeout_seconds) {
  return PostJson(name, url, std::string("{\"step\": \"") + step + "\"}", timeout_seconds);
}

}  // namespace

Status RunHook(const v1::Hook& hook, HookStep step) {
  const char* what = step == HookStep::kPause ? "pause" : "resume";
  const std::string& command = step == HookStep::kPause ? hook.pause() : hook.resume();
  const std::string name = "hook " + hook.name() + " (" + what + ")";
  if (command.empty()) return OkStatus();
  const int64_t timeout = hook.timeout_seconds() > 0 ? hook.timeout_seconds() : 60;
  if (hook.kind() == "http") return PostHook(name, command, what, timeout);
  if (hook.kind() != "command") {
    return UnimplementedError(name + ": hook kind '" + hook.kind() +
                              "' is not known; use kind: command or http");
  }
  pid_t pid = ::fork();
  if (pid < 0) return UnavailableError(name + ": cannot start a process");
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
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
