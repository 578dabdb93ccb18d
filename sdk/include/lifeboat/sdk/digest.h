// Streaming SHA-256, the content digest of Lifeboat's manifests ("sha256").
//
// Thread-safety: one Sha256 per thread; distinct objects may be used concurrently.
#ifndef LIFEBOAT_SDK_DIGEST_H_
#define LIFEBOAT_SDK_DIGEST_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace lifeboat::sdk {

// MemberManifest.digest_algorithm of the digests Sha256 makes.
inline constexpr char kSha256Algorithm[] = "sha256";
inline constexpr size_t kSha256Bytes = 32;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // The 32 raw bytes of everything fed so far, and a fresh start. "" when OpenSSL failed at
  // any point (callers treat a digest of the wrong size as an internal error).
  std::string Finish();
  // The same as lower-case hex.
  std::string FinishHex();
  // Starts over, discarding what was fed.
  void Reset();

 private:
  evp_md_ctx_st* ctx_;
  bool failed_ = false;
};

// SHA-256 of `data`, raw bytes.
std::string Sha256Of(std::string_view data);

// Lower-case hexadecimal of raw bytes, for messages, records and mismatch reports.
std::string Hex(std::string_view bytes);

// The bytes of hexadecimal text (either case), the inverse of Hex(); nullopt when `hex` has
// an odd length or a character that is not a hex digit.
std::optional<std::string> Unhex(std::string_view hex);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_DIGEST_H_
