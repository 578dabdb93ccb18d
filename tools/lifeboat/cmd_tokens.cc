// `lifeboat token create | list | revoke`: API tokens for `--server` clients (admin only).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>

#include "api_session.h"
#include "output.h"

namespace lifeboat::cli {
namespace {

using json = nlohmann::json;

// Writes `token` to a new file only its owner can read; refuses to overwrite.
Status WriteSecretFile(const std::string& path, const std::string& token) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return FailedPreconditionError("cannot create " + path + ": " + std::strerror(errno) +
                                   (errno == EEXIST ? " (it exists; choose a new file)" : ""));
  }
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool closed = ::close(fd) == 0;
  if (!ok || !closed) return UnavailableError("cannot write " + path + ": " + std::strerror(errno));
  return OkStatus();
}

// "90m", "12h", "30d", "2w", "3600s" -> seconds. INVALID_ARGUMENT otherwise.
StatusOr<int64_t> ParseTtl(const std::string& text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string unit(end, text.data() + text.size());
  const int64_t scale = unit == "s"   ? 1
                        : unit == "m" ? 60
                        : unit == "h" ? 3600
                        : unit == "d" ? 86400
                        : unit == "w" ? 7 * 86400
                                      : 0;
  if (ec != std::errc() || end == text.data() || n <= 0 || scale == 0 ||
      n > INT64_MAX / 1000000000 / scale) {
    return InvalidArgumentError("--ttl '" + text + "' must be a duration like 90m, 12h, 30d or 2w");
  }
  return n * scale;
}

}  // namespace

void AddTokenCommands(CLI::App& app, GlobalOptions& global, ApiArgs& a, int* exit_code) {
  CLI::App* token = app.add_subcommand("token", "API tokens for --server clients (admin)");
  token->require_subcommand(1);
  token->footer(
      "A token is shown once, when it is made; only a salted hash of it is kept.\n"
      "Example (before starting the daemon, or with --server and an admin token):\n"
      "  lifeboat token create ops --role operator --out ops.token\n"
      "  lifeboat --server http://127.0.0.1:7340 --token-file ops.token jobs list");

  static std::string name, role = "viewer", out;
  CLI::App* create = token->add_subcommand("create", "Make a token with a role");
  create->add_option("NAME", name, "A name for the token's holder (letters, digits, . _ -)")
      ->required();
  create->add_option("--role", role, "viewer, operator or admin")
      ->check(CLI::IsMember({"viewer", "operator", "admin"}))
      ->capture_default_str();
  static std::string ttl;
  create->add_option("--ttl", ttl,
                     "Expire the token after this long: 90m, 12h, 30d, 52w (default: never)");
  create->add_option("--out", out,
                     "Write the token to this new file (mode 0600) instead of standard output");
  create->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      json body = {{"name", name}, {"role", role}};
      if (!ttl.empty()) {
        LIFEBOAT_ASSIGN_OR_RETURN(int64_t seconds, ParseTtl(ttl));
        body["ttl_seconds"] = seconds;
      }
      LIFEBOAT_ASSIGN_OR_RETURN(json made, s.client->CallJson("POST", "/v1/tokens", body));
      const int64_t expires = made.value("expires_unix_nanos", int64_t{0});
      const std::string until = expires == 0 ? "" : ", expires " + Time(expires);
      const std::string secret = made.value("token", "");
      if (!out.empty()) {
        LIFEBOAT_RETURN_IF_ERROR(WriteSecretFile(out, secret));
        if (Structured(global)) {
          // The record as the API gives it, the secret replaced by where it went.
          json record = made;
          record.erase("token");
          record["file"] = out;
          PrintStructured(global, record);
          return kExitOk;
        }
        std::cout << "token " << name << " (" << role << until << ") written to " << out << "\n";
      } else if (Structured(global)) {
        PrintStructured(global, made);
      } else {
        std::cerr << "token " << name << " (" << role << until
                  << "); it is shown only this once, keep it in a file only you can read:\n";
        std::cout << secret << "\n";
      }
      return kExitOk;
    });
  });

  token->add_subcommand("list", "List tokens (names and roles; never the secrets)")
      ->callback([&global, &a, exit_code] {
        *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
          LIFEBOAT_ASSIGN_OR_RETURN(json body, s.client->Call("GET", "/v1/tokens"));
          const json tokens = body.value("tokens", json::array());
          if (Structured(global)) {
            PrintStructured(global, tokens);
            return kExitOk;
          }
          std::printf("%-24s %-9s %-21s %-21s %-16s %s\n", "NAME", "ROLE", "CREATED (UTC)",
                      "EXPIRES (UTC)", "BY", "ID");
          for (const auto& t : tokens) {
            const int64_t expires = t.value("expires_unix_nanos", int64_t{0});
            std::printf("%-24s %-9s %-21s %-21s %-16s %s\n", t.value("name", "").c_str(),
                        t.value("role", "").c_str(),
                        Time(t.value("created_unix_nanos", int64_t{0})).c_str(),
                        expires == 0 ? "never" : Time(expires).c_str(),
                        t.value("created_by", "").c_str(), t.value("id", "").c_str());
          }
          return kExitOk;
        });
      });

  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token by name");
  revoke->add_option("NAME", name)->required();
  revoke->callback([&global, &a, exit_code] {
    *exit_code = WithApi(global, a, [&global](Session& s) -> StatusOr<int> {
      LIFEBOAT_ASSIGN_OR_RETURN(json answer, s.client->Call("DELETE", "/v1/tokens/" + Seg(name)));
      if (Structured(global)) {
        PrintStructured(global, answer);
        return kExitOk;
      }
      std::cout << "revoked token " << name << "\n";
      return kExitOk;
    });
  });
}

}  // namespace lifeboat::cli
