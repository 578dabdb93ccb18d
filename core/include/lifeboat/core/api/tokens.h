// API tokens: random bearer secrets, each with a name and a role, kept only as a salted
// hash in the state store (column family "tokens").
//
// A token reads `lbt_<id>_<secret>`: `id` is 16 hex digits (64 random bits) naming the
// record, `secret` 64 hex digits (256 random bits, OpenSSL RAND_bytes). The store keeps the
// id, name, role, a random 16-byte salt and SHA-256(salt || secret); the token itself is
// returned once, by Create(), and never stored or logged. A single salted SHA-256 suffices
// because the secret is 256 random bits, not a password: there is nothing to guess with a
// dictionary, and a slow hash (PBKDF2) would only slow down every request (decisions.md D9).
//
// Thread-safety: all methods may be called from several threads.
#ifndef LIFEBOAT_CORE_API_TOKENS_H_
#define LIFEBOAT_CORE_API_TOKENS_H_

#include <lifeboat/core/api/api.h>
#include <lifeboat/core/state_store.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::core::api {

struct TokenInfo {
  std::string id;  // the public part of the token
  std::string name;
  Role role = Role::kViewer;
  int64_t created_unix_nanos = 0;
  std::string created_by;
  int64_t expires_unix_nanos = 0;  // 0: never
};

struct NewToken {
  TokenInfo info;
  std::string token;  // the bearer secret: shown once, stored nowhere
};

class TokenStore {
 public:
  // `store` must outlive this object. `now`: nanoseconds since the Unix epoch.
  TokenStore(StateStore& store, std::function<int64_t()> now);

  // Makes a token named `name` with `role`, and audits it (action "token.create", by
  // `actor`) in the same batch. INVALID_ARGUMENT for a name outside [A-Za-z0-9._-]{1,64};
  // ALREADY_EXISTS when a token has that name (revoke it first); UNAVAILABLE when the
  // random generator fails. `ttl_seconds` > 0: the token is refused that long after it was
  // made; 0: it never expires; below 0: INVALID_ARGUMENT.
  StatusOr<NewToken> Create(const std::string& name, Role role, const std::string& actor,
                            int64_t ttl_seconds = 0);

  // Every token, by name; secrets and hashes are not part of it.
  StatusOr<std::vector<TokenInfo>> List() const;

  // Deletes the token named `name` and audits it ("token.revoke"). NOT_FOUND when none is.
  Status Revoke(const std::string& name, const std::string& actor);

  // The identity of a bearer token. UNAUTHENTICATED for a malformed, unknown, revoked or
  // expired token (the message never contains the token; for an expired one it names the
  // token and when it expired); UNAVAILABLE/DATA_LOSS from the store.
  StatusOr<Identity> Authenticate(std::string_view token) const;

 private:
  StatusOr<std::vector<std::pair<std::string, TokenInfo>>> ListRecords() const;

  StateStore& store_;
  std::function<int64_t()> now_;
};

// Writes an audit record into `batch` (sequence "audit", as the engine's own records).
Status AddAuditRecord(StateStore& store, StateStore::Batch& batch, int64_t now_unix_nanos,
                      const std::string& actor, const std::string& action,
                      const std::string& subject, const std::string& detail);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_API_TOKENS_H_
