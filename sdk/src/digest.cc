#include <lifeboat/sdk/digest.h>
#include <openssl/evp.h>

namespace lifeboat::sdk {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { Reset(); }

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Reset() {
  failed_ = ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1;
}

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

}  // namespace lifeboat::sdk
