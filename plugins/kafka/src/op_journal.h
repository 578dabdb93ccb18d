// The op-id journals of sync_security, fence and unfence (sdk/journal.h) kept in the plugin's
// state topic.
//
// One key per op id (op/sync_security/<op_id>; op/fence/<selector>/<op_id> for fence and
// unfence of a data set, so that an op id is one call), holding that call's answer: a key per
// answer keeps every record far below a Kafka record's size limit, however long a sync's list of
// changes. A record holds {"op_journal": "<hex of lifeboat.v1.OpJournalRecord>"}. Records
// written before the plugin moved onto the SDK's journal hold the answer's fields as JSON
// ({"changes": [...], "items_compared": N, "items_only_on_source": N}); they are still read,
// and a repeated op id gets that answer.
//
// Thread-safety: as the functions it is given (the plugin's state reads and writes).
#ifndef LIFEBOAT_PLUGINS_KAFKA_SRC_OP_JOURNAL_H_
#define LIFEBOAT_PLUGINS_KAFKA_SRC_OP_JOURNAL_H_

#include <lifeboat/sdk/journal.h>
#include <lifeboat/status.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace lifeboat::kafka {

inline constexpr char kSyncSecurityOp[] = "sync_security";

// Reads a state record (null when absent) / writes one.
using StateReader = std::function<StatusOr<nlohmann::json>(const std::string& key)>;
using StateWriter = std::function<Status(const std::string& key, const nlohmann::json& value)>;

// The journal of sync_security call `op_id`.
std::unique_ptr<sdk::OpJournal> SyncSecurityJournal(const std::string& op_id, StateReader read,
                                                    StateWriter write);

// The journal of fence or unfence call `op_id` of data set `selector`.
std::unique_ptr<sdk::OpJournal> FenceJournal(const std::string& selector, const std::string& op_id,
                                             StateReader read, StateWriter write);

}  // namespace lifeboat::kafka

#endif  // LIFEBOAT_PLUGINS_KAFKA_SRC_OP_JOURNAL_H_
