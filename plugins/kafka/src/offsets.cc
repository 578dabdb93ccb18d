#include "offsets.h"

#include <lifeboat/sdk/digest.h>

#include <optional>

namespace lifeboat::kafka {

struct RecordDigest::Impl {
  sdk::Sha256 sha;
  std::string state = std::string(sdk::kSha256Bytes, '\0');
  void U64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    sha.Update(b, sizeof b);
  }
  // Length-prefixed bytes; a null field has the length 2^64-1, so it differs from "".
  void Field(const std::optional<std::string>& f) {
    if (!f) {
      U64(~uint64_t{0});
      return;
    }
    U64(f->size());
    sha.Update(*f);
  }
};

RecordDigest::RecordDigest(const std::string& hex_state) : impl_(std::make_unique<Impl>()) {
  // A state this class wrote (Hex()); anything else starts from zeros, and the digest then
  // disagrees with the source's where it is compared.
  std::optional<std::string> state = sdk::Unhex(hex_state);
  if (state && state->size() == sdk::kSha256Bytes) impl_->state = std::move(*state);
}
RecordDigest::~RecordDigest() = default;

void RecordDigest::Add(const Record& r) {
  impl_->sha.Update(impl_->state);
  impl_->U64(static_cast<uint64_t>(r.timestamp_ms));
  impl_->Field(r.key);
  impl_->Field(r.value);
  impl_->U64(r.headers.size());
  for (const auto& [name, v] : r.headers) {
    impl_->Field(name);
    impl_->Field(v);
  }
  std::string next = impl_->sha.Finish();
  if (next.size() == sdk::kSha256Bytes) impl_->state = std::move(next);
}

std::string RecordDigest::Hex() const { return sdk::Hex(impl_->state); }

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
