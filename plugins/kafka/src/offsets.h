// Pure pieces of the kafka plugin, kept apart so that unit tests reach them without brokers:
// the order-sensitive record digest, consumer-offset translation, and the JSON records the
// plugin keeps in its state topic.
//
// Thread-safety: RecordDigest is not thread-safe; the free functions are.
#ifndef LIFEBOAT_PLUGINS_KAFKA_SRC_OFFSETS_H_
#define LIFEBOAT_PLUGINS_KAFKA_SRC_OFFSETS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rdk.h"

namespace lifeboat::kafka {

// An order-sensitive digest of a sequence of records, resumable: the state after each record
// is SHA-256(previous state || record), where a record is its timestamp, key, value and
// headers, each length-prefixed (null distinct from empty). Offsets are left out (they differ
// between clusters). Two sequences digest equal when they hold the same records in the same
// order; the state is 32 bytes, so a transfer can store it and carry on after a restart.
class RecordDigest {
 public:
  // `hex_state` continues an earlier digest ("" = a new one).
  explicit RecordDigest(const std::string& hex_state = "");
  ~RecordDigest();
  RecordDigest(const RecordDigest&) = delete;
  RecordDigest& operator=(const RecordDigest&) = delete;

  void Add(const Record& record);
  std::string Hex() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One replicated range of one partition: source offsets [src_start, src_end) landed at
// target offsets [tgt_start, tgt_end).
struct RangeMap {
  int64_t src_start = 0;
  int64_t src_end = 0;
  int64_t tgt_start = 0;
  int64_t tgt_end = 0;
};

// The target offset for a consumer whose committed source offset is `committed` (the next
// record it would read), rounding down: the consumer may re-read records, never skip one.
//   - `exact` holds translations made during the transfer (source offset -> target offset of
//     the first copied record at or after it); an entry for `committed` wins;
//   - else the newest range with src_start <= committed < src_end gives its tgt_start
//     (the consumer re-reads at most that range); outside every range, the tgt_end of the
//     newest range that ends at or below it;
//   - else `floor` (the target's first offset: re-read everything).
int64_t TranslateOffset(int64_t committed, const std::map<int64_t, int64_t>& exact,
                        const std::vector<RangeMap>& ranges, int64_t floor);

// Keys of the state topic.
std::string CutKey(const std::string& restore_point_id, const std::string& selector);
std::string ProgressKey(const std::string& source_cluster_id, const std::string& topic,
                        int32_t partition, const std::string& target_topic);
std::string MapKey(const std::string& restore_point_id, const std::string& selector);
std::string FenceKey(const std::string& selector);

}  // namespace lifeboat::kafka

#endif  // LIFEBOAT_PLUGINS_KAFKA_SRC_OFFSETS_H_
