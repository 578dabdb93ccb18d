#include "op_journal.h"

#include <lifeboat/sdk/digest.h>
#include <lifeboat/v1/journal.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <optional>
#include <utility>

namespace lifeboat::kafka {
namespace {

using json = nlohmann::json;

class StateTopicStore : public sdk::JournalStore {
 public:
  // `scope`: the key's part before the op id ("sync_security", "fence").
  StateTopicStore(const std::string& scope, std::string op_id, StateReader read, StateWriter write)
      : op_id_(std::move(op_id)),
        key_("op/" + scope + "/" + op_id_),
        read_(std::move(read)),
        write_(std::move(write)) {}

  StatusOr<std::optional<std::string>> Load() override {
    LIFEBOAT_ASSIGN_OR_RETURN(json record, read_(key_));
    if (record.is_null()) return std::optional<std::string>();
    if (record.contains("op_journal")) {
      std::optional<std::string> bytes = sdk::Unhex(record.value("op_journal", ""));
      if (!bytes) {
        return DataLossError("state record " + key_ + " holds a journal that is not hex; it was " +
                             "changed outside Lifeboat: delete the key and sync again");
      }
      return bytes;
    }
    return FromOldRecord(record);
  }

  Status Save(std::string_view record) override {
    return write_(key_, json{{"op_journal", sdk::Hex(record)}});
  }

 private:
  // A record of an agent from before the SDK's journal: the answer's fields as JSON.
  std::optional<std::string> FromOldRecord(const json& record) const {
    v1::SyncSecurityResponse resp;
    for (const auto& c : record.value("changes", json::array())) {
      resp.add_changes(c.get<std::string>());
    }
    resp.set_items_compared(record.value("items_compared", uint64_t{0}));
    resp.set_items_only_on_source(record.value("items_only_on_source", uint64_t{0}));
    v1::OpJournalRecord journal;
    v1::OpJournalEntry* e = journal.add_entries();
    e->set_op_id(op_id_);
    e->set_operation(kSyncSecurityOp);
    e->set_response(resp.SerializeAsString());
    return journal.SerializeAsString();
  }

  std::string op_id_;
  std::string key_;
  StateReader read_;
  StateWriter write_;
};

}  // namespace

std::unique_ptr<sdk::OpJournal> SyncSecurityJournal(const std::string& op_id, StateReader read,
                                                    StateWriter write) {
  return std::make_unique<sdk::OpJournal>(
      std::make_unique<StateTopicStore>(kSyncSecurityOp, op_id, std::move(read), std::move(write)),
      /*capacity=*/1);
}

std::unique_ptr<sdk::OpJournal> FenceJournal(const std::string& selector, const std::string& op_id,
                                             StateReader read, StateWriter write) {
  auto journal = std::make_unique<sdk::OpJournal>(
      std::make_unique<StateTopicStore>("fence/" + selector, op_id, std::move(read),
                                        std::move(write)),
      /*capacity=*/1);
  // Fence and unfence are safe to run again: a damaged record must not stop a failover.
  journal->set_start_over_when_damaged(true);
  return journal;
}

}  // namespace lifeboat::kafka
