// The op-id journal: "a repeated call with the same op id returns the first answer" for the
// operations whose answer cannot be worked out again from the component's state (a cut's
// snapshot reference, a fence's report, a sync's list of changes).
//
// A journal keeps the newest answers (by default 1,000) of one scope — a data set, an
// instance — in one record that lives wherever the plugin keeps state that must survive it:
// a file on the target (FileJournalStore), an extended attribute, a topic. Find-or-run:
// a recorded op id answers from the record; an unknown one runs, and its successful answer is
// recorded before it is returned. Failures are not recorded: the engine retries them.
//
// Thread-safety: an OpJournal may be used from several threads; FindOrRun holds the
// journal's lock only to read and write the record, not while the operation runs (two calls
// with one op id at once may both run; the engine never makes them).
#ifndef LIFEBOAT_SDK_JOURNAL_H_
#define LIFEBOAT_SDK_JOURNAL_H_

#include <lifeboat/status.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat::sdk {

// Where a journal's record lives. Load: the bytes last saved, nullopt when none was ever
// saved. Save: replaces them atomically (a reader sees the old or the new record).
class JournalStore {
 public:
  virtual ~JournalStore() = default;
  virtual StatusOr<std::optional<std::string>> Load() = 0;
  virtual Status Save(std::string_view record) = 0;
};

// A record in a local file, replaced atomically (files.h).
class FileJournalStore : public JournalStore {
 public:
  explicit FileJournalStore(std::filesystem::path path) : path_(std::move(path)) {}
  StatusOr<std::optional<std::string>> Load() override;
  Status Save(std::string_view record) override;

 private:
  std::filesystem::path path_;
};

class OpJournal {
 public:
  // `capacity`: answers kept; the oldest go first.
  explicit OpJournal(std::unique_ptr<JournalStore> store, size_t capacity = 1000);

  // The recorded answer of `op_id` (serialized response bytes), when `operation` recorded
  // it; nullopt when the op id is unknown; INVALID_ARGUMENT when another operation used it
  // ("op_id X was already used by fence; use a new op_id for unfence").
  StatusOr<std::optional<std::string>> Find(std::string_view op_id, std::string_view operation);

  // Records `response` as the answer of `op_id` by `operation`.
  Status Record(std::string_view op_id, std::string_view operation, std::string_view response);

  // What a record that does not parse means. By default DATA_LOSS for every call: the answers
  // it held are gone, and repeating an operation may not be safe. With `true` it reads as
  // empty (a repeated op id runs again) and the next Record replaces it: for journals whose
  // operations are safe to run again (a fence raised to the epoch it has is a no-op), where a
  // record damaged outside Lifeboat must not block a failover.
  void set_start_over_when_damaged(bool start_over) { start_over_when_damaged_ = start_over; }

  // Forgets `op_id` (clean-up once an answer can no longer be asked for, e.g. the point it
  // made was expired). OK when it was not recorded.
  Status Forget(std::string_view op_id);

  // Find-or-run for a typed response (any protobuf message): the recorded answer when there
  // is one; otherwise run(), and its answer recorded when it succeeded. An empty op id runs
  // without recording (INVALID_ARGUMENT would be harsher than the engine deserves for
  // read-only work; mutating operations check for one themselves).
  template <typename Resp>
  StatusOr<Resp> FindOrRun(std::string_view op_id, std::string_view operation,
                           const std::function<StatusOr<Resp>()>& run) {
    if (op_id.empty()) return run();
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> found, Find(op_id, operation));
    if (found) {
      Resp resp;
      if (!resp.ParseFromString(*found)) {
        return DataLossError("the journal's answer of op_id " + std::string(op_id) +
                             " does not parse as " + resp.GetTypeName());
      }
      return resp;
    }
    StatusOr<Resp> resp = run();
    if (!resp.ok()) return resp;
    LIFEBOAT_RETURN_IF_ERROR(Record(op_id, operation, resp->SerializeAsString()));
    return resp;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<JournalStore> store_;
  size_t capacity_;
  bool start_over_when_damaged_ = false;
};

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_JOURNAL_H_
