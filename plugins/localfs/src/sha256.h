// Streaming SHA-256 over OpenSSL's EVP interface, the digest of every localfs manifest.
//
// Thread-safety: one Sha256 per thread; distinct objects may be used concurrently.
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_SHA256_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_SHA256_H_

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace lifeboat::localfs {

inline constexpr char kDigestAlgorithm[] = "sha256";
inline constexpr size_t kDigestSize = 32;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // The 32-byte digest of everything fed so far, and a fresh start. Returns "" if OpenSSL
  // failed at any point (callers treat a digest of the wrong size as an internal error).
  std::string Finish();
  // Starts over, discarding what was fed.
  void Reset();

 private:
  evp_md_ctx_st* ctx_;
  bool failed_ = false;
};

std::string Sha256Of(std::string_view data);

// Lower-case hexadecimal, for messages and mismatch reports.
std::string Hex(std::string_view bytes);

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_SHA256_H_
