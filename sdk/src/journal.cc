#include <lifeboat/sdk/files.h>
#include <lifeboat/sdk/journal.h>
#include <lifeboat/v1/journal.pb.h>

#include <chrono>

namespace lifeboat::sdk {

StatusOr<std::optional<std::string>> FileJournalStore::Load() {
  StatusOr<std::string> bytes = ReadWholeFile(path_);
  if (bytes.status().code() == Code::kNotFound) return std::optional<std::string>();
  if (!bytes.ok()) return bytes.status();
  return std::optional<std::string>(std::move(bytes).value());
}

Status FileJournalStore::Save(std::string_view record) {
  return WriteFileAtomically(path_, record);
}

OpJournal::OpJournal(std::unique_ptr<JournalStore> store, size_t capacity)
    : store_(std::move(store)), capacity_(capacity == 0 ? 1 : capacity) {}

namespace {

StatusOr<v1::OpJournalRecord> LoadRecord(JournalStore& store, bool start_over_when_damaged) {
  v1::OpJournalRecord record;
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Load());
  if (bytes && !record.ParseFromString(*bytes)) {
    if (start_over_when_damaged) return v1::OpJournalRecord();
    return DataLossError("the op-id journal's record (" + std::to_string(bytes->size()) +
                         " bytes) does not parse; it was damaged outside Lifeboat");
  }
  return record;
}

}  // namespace

StatusOr<std::optional<std::string>> OpJournal::Find(std::string_view op_id,
                                                     std::string_view operation) {
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(v1::OpJournalRecord record,
                            LoadRecord(*store_, start_over_when_damaged_));
  for (const v1::OpJournalEntry& e : record.entries()) {
    if (e.op_id() != op_id) continue;
    if (e.operation() != operation) {
      return InvalidArgumentError("op_id " + std::string(op_id) + " was already used by " +
                                      e.operation() + "; use a new op_id for " +
                                      std::string(operation),
                                  "op_id");
    }
    return std::optional<std::string>(e.response());
  }
  return std::optional<std::string>();
}

Status OpJournal::Record(std::string_view op_id, std::string_view operation,
                         std::string_view response) {
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(v1::OpJournalRecord record,
                            LoadRecord(*store_, start_over_when_damaged_));
  v1::OpJournalRecord kept;
  for (const v1::OpJournalEntry& e : record.entries()) {
    if (e.op_id() != op_id) *kept.add_entries() = e;
  }
  v1::OpJournalEntry* e = kept.add_entries();
  e->set_op_id(std::string(op_id));
  e->set_operation(std::string(operation));
  e->set_response(std::string(response));
  e->set_recorded_unix_nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
  if (static_cast<size_t>(kept.entries_size()) > capacity_) {
    const int drop = kept.entries_size() - static_cast<int>(capacity_);
    kept.mutable_entries()->DeleteSubrange(0, drop);
  }
  return store_->Save(kept.SerializeAsString());
}

Status OpJournal::Forget(std::string_view op_id) {
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_ASSIGN_OR_RETURN(v1::OpJournalRecord record,
                            LoadRecord(*store_, start_over_when_damaged_));
  v1::OpJournalRecord kept;
  for (const v1::OpJournalEntry& e : record.entries()) {
    if (e.op_id() != op_id) *kept.add_entries() = e;
  }
  if (kept.entries_size() == record.entries_size()) return OkStatus();
  return store_->Save(kept.SerializeAsString());
}

}  // namespace lifeboat::sdk
