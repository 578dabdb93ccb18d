// Where a restore puts topics (RestoreRequest.destination is a topic prefix) and how a topic's
// name is checked before anything is made, so that a bad destination is refused, also in a dry
// run, as INVALID_ARGUMENT naming it — not as the broker's "Topic name is invalid" half-way.
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_PLUGINS_KAFKA_SRC_RESTORE_CHECKS_H_
#define LIFEBOAT_PLUGINS_KAFKA_SRC_RESTORE_CHECKS_H_

#include <lifeboat/status.h>

#include <string>

namespace lifeboat::kafka {

// Kafka's limit (Topic.MAX_NAME_LENGTH).
inline constexpr size_t kMaxTopicName = 249;

// The topic prefix of a restore's destination. A prefix as such ("restored-", "dr.") is
// kept. A path-shaped name, as one destination given for every member of a point
// ("/acc-restore"), becomes one: the '/' at its ends dropped, those inside made '.', and a
// '.' appended ("acc-restore."). INVALID_ARGUMENT naming the destination when what is left
// has a character a topic name cannot have (only ASCII letters, digits, '.', '_' and '-').
StatusOr<std::string> TopicPrefix(const std::string& destination);

// OK when `name` is a valid topic name: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
// INVALID_ARGUMENT naming it and `what` (e.g. "restore destination topic") otherwise.
Status ValidateTopicName(const std::string& name, const std::string& what);

}  // namespace lifeboat::kafka

#endif  // LIFEBOAT_PLUGINS_KAFKA_SRC_RESTORE_CHECKS_H_
