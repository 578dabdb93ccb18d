#include <lifeboat/sdk/digest.h>
#include <openssl/evp.h>

namespace lifeboat::sdk {
namespace {

// Fetched once: an implicit fetch on every EVP_DigestInit_ex takes a lock inside OpenSSL,
// which shows when thousands of small files are hashed on several threads. Never freed: it
// lives as long as the library.
const EVP_MD* Md() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? static_cast<const EVP_MD*>(fetched) : EVP_sha256();
  }();
  return md;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { Reset(); }

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Reset() { failed_ = ctx_ == nullptr || EVP_DigestInit_ex(ctx_, Md(), nullptr) != 1; }

void Sha256::Update(const void* data, size_t size) {
  if (failed_ || size == 0) return;
  failed_ = EVP_DigestUpdate(ctx_, data, size) != 1;
}

std::string Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = !failed_ && EVP_DigestFinal_ex(ctx_, md, &len) == 1 && len == kSha256Bytes;
  Reset();
  if (!ok) return "";
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string Sha256::FinishHex() {
  std::string raw = Finish();
  return raw.empty() ? "" : Hex(raw);
}

std::string Sha256Of(std::string_view data) {
  Sha256 sha;
  sha.Update(data);
  return sha.Finish();
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace lifeboat::sdk
