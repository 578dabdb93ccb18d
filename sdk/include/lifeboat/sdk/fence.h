// The opening and closing every fence and unfence share (docs/plugin-guide.md, "fence /
// unfence: what they must guarantee"), around what only the component knows: how its fence
// marker is read, and how writes are stopped and allowed again.
//
//   fence:   op id and epoch checked; a repeated op id answers from the journal; the fence in
//            place read; raised when there is none or the request's epoch is higher (the
//            request's epoch, reason and op id are then the ones to record), otherwise it
//            keeps its own (a fence keeps the higher epoch) and the component only finishes
//            what an interrupted fence left; answered fenced at the epoch in force.
//   unfence: the same checks; not fenced = OK ("was not fenced"); an epoch lower than the
//            fence's refused with FAILED_PRECONDITION naming both (a controller with a stale
//            view of the roles must not un-demote a cluster); otherwise lifted, answered not
//            fenced at epoch 0.
// Each answer is recorded in the journal under the op id before it is returned, and logged.
//
// Thread-safety: none of its own. The plugin holds its lock of the data set around the call
// (a fence and an unfence of one data set must not interleave).
#ifndef LIFEBOAT_SDK_FENCE_H_
#define LIFEBOAT_SDK_FENCE_H_

#include <lifeboat/sdk/journal.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace lifeboat::sdk {

// The fence in place on a data set, as its marker on the cluster says.
struct FenceInPlace {
  uint64_t epoch = 0;
  std::string reason;
};

// What a fence or unfence did: items it fenced or released, and what it did, for operators
// ("by write_bits (12 items)"); the helper puts it after "<data set> fenced at epoch N".
struct FenceWork {
  uint64_t items_changed = 0;
  std::string detail;
};

// What the fence is to record and make true.
struct FenceOrder {
  const v1::FenceRequest& req;
  // The fence in place before this call, if any.
  const std::optional<FenceInPlace>& was;
  // True: record the request's epoch, reason and op id (a new fence, or a higher epoch).
  // False: the fence in place keeps its own; only finish what it has not changed yet.
  bool raise;
  // The epoch in force after the call: the request's when raised, else the fence's.
  uint64_t epoch;
};

// The component's part.
struct FenceSteps {
  // The data set, as operators name it in messages ("hdfs:/data/x").
  std::string name;
  // Reads the fence marker; nullopt when the data set is not fenced.
  std::function<StatusOr<std::optional<FenceInPlace>>()> in_place;
  // Fences (or finishes fencing) as `order` says.
  std::function<StatusOr<FenceWork>(const FenceOrder& order)> apply;
  // Lifts the fence in place exactly, marker last.
  std::function<StatusOr<FenceWork>(const FenceInPlace& was)> lift;
  // Optional: run by an unfence that finds no fence, to clear what an unfence interrupted
  // after removing the marker left behind.
  std::function<Status()> tidy_unfenced;
};

// How an answer that could not be recorded in the journal is taken. kFail: the call fails
// (the engine repeats it; fence and unfence are safe to repeat). kWarn: the call succeeds
// and a warning is logged, for a journal kept where a fenced data set may refuse the write.
enum class UnrecordedAnswer { kFail, kWarn };

// The request checks RunFence and RunUnfence begin with: an op id, an epoch > 0
// (INVALID_ARGUMENT otherwise). A plugin that looks at the cluster before calling them calls
// this first, so that a bad request is refused before anything else is said.
Status CheckFenceRequest(const v1::FenceRequest& req, const std::string& operation);

// The fence operation: checks, journal, epoch rules, answer. `journal` keeps the answers of
// both fence and unfence of the data set (one op id is one call).
StatusOr<v1::FenceResponse> RunFence(const Call& call, OpJournal& journal,
                                     const v1::FenceRequest& req, const FenceSteps& steps,
                                     UnrecordedAnswer unrecorded = UnrecordedAnswer::kFail);

// The unfence operation, likewise.
StatusOr<v1::FenceResponse> RunUnfence(const Call& call, OpJournal& journal,
                                       const v1::FenceRequest& req, const FenceSteps& steps,
                                       UnrecordedAnswer unrecorded = UnrecordedAnswer::kFail);

}  // namespace lifeboat::sdk

#endif  // LIFEBOAT_SDK_FENCE_H_
