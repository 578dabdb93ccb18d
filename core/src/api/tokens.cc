#include <lifeboat/core/api/tokens.h>
#include <lifeboat/core/api/v1/token.pb.h>
#include <lifeboat/core/v1/model.pb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <ctime>

namespace lifeboat::core::api {
namespace {

constexpr char kTokenPrefix[] = "lbt_";
constexpr size_t kIdBytes = 8;       // 64 bits: names the record, not secret
constexpr size_t kSecretBytes = 32;  // 256 bits
constexpr size_t kSaltBytes = 16;
constexpr size_t kMaxNameLength = 64;

std::string Hex(const unsigned char* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return UnavailableError(
        "the random generator (OpenSSL RAND_bytes) failed; no token was made, retry");
  }
  return out;
}

StatusOr<std::string> SaltedHash(std::string_view salt, std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Status(Code::kInternal, "cannot allocate a digest context");
  const bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 &&
                  EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest, &length) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status(Code::kInternal, "SHA-256 failed (OpenSSL)");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

TokenInfo InfoOf(const v1::ApiToken& record) {
  TokenInfo info;
  info.id = record.id();
  info.name = record.name();
  info.role = static_cast<Role>(record.role());
  info.created_unix_nanos = record.created_unix_nanos();
  info.created_by = record.created_by();
  info.expires_unix_nanos = record.expires_unix_nanos();
  return info;
}

std::string IsoTime(int64_t unix_nanos) {
  std::time_t t = static_cast<std::time_t>(unix_nanos / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status Unauthenticated(const std::string& why) {
  return Status(Code::kUnauthenticated,
                why +
                    "; ask an admin for a token (`lifeboat token create`) and pass it with "
                    "--token-file or LIFEBOAT_TOKEN");
}

}  // namespace

Status AddAuditRecord(StateStore& store, StateStore::Batch& batch, int64_t now_unix_nanos,
                      const std::string& actor, const std::string& action,
                      const std::string& subject, const std::string& detail) {
  LIFEBOAT_ASSIGN_OR_RETURN(uint64_t seq, store.NextSequence("audit"));
  core::v1::AuditEvent ev;
  ev.set_time_unix_nanos(now_unix_nanos);
  ev.set_actor(actor);
  ev.set_action(action);
  ev.set_subject(subject);
  ev.set_detail(detail);
  batch.Put(Kind::kAudit, PaddedNumber(seq), ev);
  return OkStatus();
}

TokenStore::TokenStore(StateStore& store, std::function<int64_t()> now)
    : store_(store), now_(std::move(now)) {}

StatusOr<std::vector<std::pair<std::string, TokenInfo>>> TokenStore::ListRecords() const {
  LIFEBOAT_ASSIGN_OR_RETURN(auto records, store_.List<v1::ApiToken>(Kind::kTokens));
  std::vector<std::pair<std::string, TokenInfo>> out;
  for (const auto& r : records) out.emplace_back(r.id(), InfoOf(r));
  return out;
}

StatusOr<NewToken> TokenStore::Create(const std::string& name, Role role, const std::string& actor,
                                      int64_t ttl_seconds) {
  // Up to about a century: a longer one is a mistake, and the nanoseconds must not overflow.
  constexpr int64_t kMaxTtlSeconds = int64_t{100} * 366 * 86400;
  if (ttl_seconds < 0 || ttl_seconds > kMaxTtlSeconds) {
    return InvalidArgumentError(
        "a token's time to live must be from 1 second to 100 years "
        "(0: it never expires), not " +
        std::to_string(ttl_seconds) + " seconds");
  }
  if (!ValidName(name)) {
    return InvalidArgumentError("token name '" + name +
                                "' is not valid; use 1 to 64 letters, digits, '.', '_' or '-'");
  }
  if (!RoleFromName(RoleName(role))) {
    return InvalidArgumentError("unknown role " + std::to_string(static_cast<int>(role)));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto existing, ListRecords());
  for (const auto& [id, info] : existing) {
    if (info.name == name) {
      return AlreadyExistsError("a token named '" + name +
                                "' exists; revoke it first (`lifeboat token revoke " + name +
                                "`) or choose another name");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string id_bytes, RandomBytes(kIdBytes));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string secret_bytes, RandomBytes(kSecretBytes));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string salt, RandomBytes(kSaltBytes));
  const std::string id =
      Hex(reinterpret_cast<const unsigned char*>(id_bytes.data()), id_bytes.size());
  const std::string secret =
      Hex(reinterpret_cast<const unsigned char*>(secret_bytes.data()), secret_bytes.size());
  OPENSSL_cleanse(secret_bytes.data(), secret_bytes.size());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string hash, SaltedHash(salt, secret));

  v1::ApiToken record;
  record.set_id(id);
  record.set_name(name);
  record.set_role(static_cast<int32_t>(role));
  record.set_salt(salt);
  record.set_secret_sha256(hash);
  record.set_created_unix_nanos(now_());
  record.set_created_by(actor);
  if (ttl_seconds > 0) {
    record.set_expires_unix_nanos(record.created_unix_nanos() + ttl_seconds * 1000000000);
  }
  StateStore::Batch batch;
  batch.Put(Kind::kTokens, id, record);
  LIFEBOAT_RETURN_IF_ERROR(AddAuditRecord(
      store_, batch, now_(), actor, "token.create", name,
      std::string("role ") + RoleName(role) +
          (ttl_seconds > 0 ? ", expires " + IsoTime(record.expires_unix_nanos()) : "")));
  LIFEBOAT_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  NewToken out;
  out.info = InfoOf(record);
  out.token = kTokenPrefix + id + "_" + secret;
  return out;
}

StatusOr<std::vector<TokenInfo>> TokenStore::List() const {
  LIFEBOAT_ASSIGN_OR_RETURN(auto records, ListRecords());
  std::vector<TokenInfo> out;
  for (auto& [id, info] : records) out.push_back(std::move(info));
  std::sort(out.begin(), out.end(),
            [](const TokenInfo& a, const TokenInfo& b) { return a.name < b.name; });
  return out;
}

Status TokenStore::Revoke(const std::string& name, const std::string& actor) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto records, ListRecords());
  for (const auto& [id, info] : records) {
    if (info.name != name) continue;
    StateStore::Batch batch;
    batch.Delete(Kind::kTokens, id);
    LIFEBOAT_RETURN_IF_ERROR(
        AddAuditRecord(store_, batch, now_(), actor, "token.revoke", name, ""));
    return store_.Write(batch, /*sync=*/true);
  }
  return NotFoundError("no token named '" + name + "'; `lifeboat token list` shows them");
}

StatusOr<Identity> TokenStore::Authenticate(std::string_view token) const {
  // lbt_<16 hex>_<64 hex>
  const size_t prefix = sizeof(kTokenPrefix) - 1;
  if (token.size() != prefix + 2 * kIdBytes + 1 + 2 * kSecretBytes ||
      !token.starts_with(kTokenPrefix) || token[prefix + 2 * kIdBytes] != '_') {
    return Unauthenticated("the bearer token is malformed (expected lbt_<id>_<secret>)");
  }
  const std::string_view id = token.substr(prefix, 2 * kIdBytes);
  const std::string_view secret = token.substr(prefix + 2 * kIdBytes + 1);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) {
    return Unauthenticated("the bearer token is malformed (expected lbt_<id>_<secret>)");
  }
  v1::ApiToken record;
  Status s = store_.Get(Kind::kTokens, id, &record);
  if (s.code() == Code::kNotFound) return Unauthenticated("unknown or revoked token");
  if (!s.ok()) return s;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string hash, SaltedHash(record.salt(), secret));
  // Constant time: the comparison must not tell an attacker how many bytes matched.
  if (hash.size() != record.secret_sha256().size() ||
      CRYPTO_memcmp(hash.data(), record.secret_sha256().data(), hash.size()) != 0) {
    return Unauthenticated("unknown or revoked token");
  }
  // Checked after the secret: only the holder of the token learns that it expired.
  if (record.expires_unix_nanos() != 0 && now_() >= record.expires_unix_nanos()) {
    return Status(Code::kUnauthenticated,
                  "token '" + record.name() + "' expired at " +
                      IsoTime(record.expires_unix_nanos()) +
                      "; ask an admin for a new one (`lifeboat token revoke " + record.name() +
                      "`, then `lifeboat token create " + record.name() + " --ttl 30d`)");
  }
  auto role = static_cast<Role>(record.role());
  if (!RoleFromName(RoleName(role))) {
    return DataLossError("token '" + record.name() + "' has an unknown role " +
                         std::to_string(record.role()));
  }
  return Identity{record.name(), role};
}

}  // namespace lifeboat::core::api
