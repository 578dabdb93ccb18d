// The byte-level encodings of Hive metastore notification messages: the gzip(json-2.0) format
// is the JSON text gzipped, then base64 (java.util.Base64's basic alphabet, padded). These
// functions undo each step; notification_events.h uses them.
//
// Thread-safety: free functions without shared state.
#ifndef LIFEBOAT_PLUGINS_HIVE_CLIENT_CODEC_H_
#define LIFEBOAT_PLUGINS_HIVE_CLIENT_CODEC_H_

#include <lifeboat/status.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace lifeboat::hive {

// Decodes standard base64 (RFC 4648 section 4; padding required, as Java writes it; line
// breaks and other whitespace are skipped). INVALID_ARGUMENT naming the offset of the first
// character that is not base64, or when the length is not a whole number of quads.
StatusOr<std::string> Base64Decode(std::string_view text);

// Inflates a gzip stream (RFC 1952; several members are concatenated as gzip does). Refuses to
// produce more than `max_output` bytes (RESOURCE_EXHAUSTED) so that a hostile message cannot
// exhaust memory; DATA_LOSS when the stream is corrupt or truncated.
StatusOr<std::string> Gunzip(std::string_view data, size_t max_output);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_CLIENT_CODEC_H_
