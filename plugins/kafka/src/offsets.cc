#include "offsets.h"

#include <openssl/evp.h>

#include <cstdio>

namespace lifeboat::kafka {

struct RecordDigest::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char state[32] = {};
  ~Impl() { EVP_MD_CTX_free(ctx); }
  void U64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    EVP_DigestUpdate(ctx, b, sizeof b);
  }
  // Length-prefixed bytes; a null field has the length 2^64-1, so it differs from "".
  void Field(const std::optional<std::string>& f) {
    if (!f) {
      U64(~uint64_t{0});
      return;
    }
    U64(f->size());
    EVP_DigestUpdate(ctx, f->data(), f->size());
  }
};

RecordDigest::RecordDigest(const std::string& hex_state) : impl_(std::make_unique<Impl>()) {
  for (size_t i = 0; i < 32 && 2 * i + 1 < hex_state.size(); ++i) {
    impl_->state[i] =
        static_cast<unsigned char>(std::stoi(hex_state.substr(2 * i, 2), nullptr, 16));
  }
}
RecordDigest::~RecordDigest() = default;

void RecordDigest::Add(const Record& r) {
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(impl_->ctx, impl_->state, sizeof impl_->state);
  impl_->U64(static_cast<uint64_t>(r.timestamp_ms));
  impl_->Field(r.key);
  impl_->Field(r.value);
  impl_->U64(r.headers.size());
  for (const auto& [name, v] : r.headers) {
    impl_->Field(name);
    impl_->Field(v);
  }
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, impl_->state, &n);
}

std::string RecordDigest::Hex() const {
  std::string out;
  char buf[3];
  for (unsigned char c : impl_->state) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

int64_t TranslateOffset(int64_t committed, const std::map<int64_t, int64_t>& exact,
                        const std::vector<RangeMap>& ranges, int64_t floor) {
  if (auto it = exact.find(committed); it != exact.end()) return it->second;
  const RangeMap* newest_below = nullptr;
  for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
    if (it->src_start <= committed && committed < it->src_end) return it->tgt_start;
    if (it->src_end <= committed &&
        (newest_below == nullptr || it->src_end > newest_below->src_end)) {
      newest_below = &*it;
    }
  }
  // Between or past the ranges: everything replicated below `committed` was read, and what
  // lies between that range's end and `committed` never reached the target.
  if (newest_below != nullptr) return newest_below->tgt_end;
  return floor;
}

std::string CutKey(const std::string& rp, const std::string& selector) {
  return "cut/" + rp + "/" + selector;
}
std::string ProgressKey(const std::string& source_cluster_id, const std::string& topic,
                        int32_t partition, const std::string& target_topic) {
  return "progress/" + source_cluster_id + "/" + topic + "/" + std::to_string(partition) + "/" +
         target_topic;
}
std::string MapKey(const std::string& rp, const std::string& selector) {
  return "map/" + rp + "/" + selector;
}
std::string FenceKey(const std::string& selector) { return "fence/" + selector; }

}  // namespace lifeboat::kafka
