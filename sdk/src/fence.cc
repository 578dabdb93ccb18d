#include <lifeboat/sdk/fence.h>

namespace lifeboat::sdk {
namespace {

// The journal's answer of the request's op id, if it has one.
StatusOr<std::optional<v1::FenceResponse>> Recorded(OpJournal& journal, const v1::FenceRequest& req,
                                                    const std::string& operation) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> found, journal.Find(req.op_id(), operation));
  if (!found) return std::optional<v1::FenceResponse>();
  v1::FenceResponse resp;
  if (!resp.ParseFromString(*found)) {
    return DataLossError("the journal's answer of op_id " + req.op_id() + " (" + operation +
                         ") does not parse");
  }
  return std::optional<v1::FenceResponse>(std::move(resp));
}

Status Answer(const Call& call, OpJournal& journal, const v1::FenceRequest& req,
              const std::string& operation, const v1::FenceResponse& resp,
              UnrecordedAnswer unrecorded) {
  Status recorded = journal.Record(req.op_id(), operation, resp.SerializeAsString());
  if (!recorded.ok()) {
    if (unrecorded == UnrecordedAnswer::kFail) return recorded;
    call.host().Warn(operation + " answer of op_id " + req.op_id() +
                     " not recorded: " + recorded.ToString());
  }
  call.host().Info(resp.detail() + (req.reason().empty() ? "" : ": " + req.reason()));
  return OkStatus();
}

}  // namespace

Status CheckFenceRequest(const v1::FenceRequest& req, const std::string& operation) {
  if (req.op_id().empty()) return InvalidArgumentError(operation + " needs an op_id", "op_id");
  if (req.epoch() == 0) {
    return InvalidArgumentError(operation +
                                    " needs the role epoch (epoch > 0): the epochs of roles "
                                    "start at 1, and 0 means \"no fence\" in its answer",
                                "epoch");
  }
  return OkStatus();
}

StatusOr<v1::FenceResponse> RunFence(const Call& call, OpJournal& journal,
                                     const v1::FenceRequest& req, const FenceSteps& steps,
                                     UnrecordedAnswer unrecorded) {
  LIFEBOAT_RETURN_IF_ERROR(CheckFenceRequest(req, "fence"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<v1::FenceResponse> done, Recorded(journal, req, "fence"));
  if (done) return *done;
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<FenceInPlace> was, steps.in_place());
  const bool raise = !was || req.epoch() > was->epoch;
  const FenceOrder order{req, was, raise, raise ? req.epoch() : was->epoch};
  LIFEBOAT_ASSIGN_OR_RETURN(FenceWork work, steps.apply(order));
  v1::FenceResponse resp;
  resp.set_fenced(true);
  resp.set_epoch(order.epoch);
  resp.set_items_changed(work.items_changed);
  std::string detail = steps.name + " fenced at epoch " + std::to_string(order.epoch);
  if (!work.detail.empty()) detail += " " + work.detail;
  if (!raise) {
    detail += "; it was already fenced at epoch " + std::to_string(was->epoch) +
              ", which it keeps (a fence keeps the higher epoch)";
  }
  resp.set_detail(detail);
  LIFEBOAT_RETURN_IF_ERROR(Answer(call, journal, req, "fence", resp, unrecorded));
  return resp;
}

StatusOr<v1::FenceResponse> RunUnfence(const Call& call, OpJournal& journal,
                                       const v1::FenceRequest& req, const FenceSteps& steps,
                                       UnrecordedAnswer unrecorded) {
  LIFEBOAT_RETURN_IF_ERROR(CheckFenceRequest(req, "unfence"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<v1::FenceResponse> done,
                            Recorded(journal, req, "unfence"));
  if (done) return *done;
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<FenceInPlace> was, steps.in_place());
  v1::FenceResponse resp;
  resp.set_fenced(false);
  if (!was) {
    if (steps.tidy_unfenced) LIFEBOAT_RETURN_IF_ERROR(steps.tidy_unfenced());
    resp.set_detail(steps.name + " was not fenced");
  } else {
    if (req.epoch() < was->epoch) {
      return FailedPreconditionError(
          "unfence of " + steps.name + " carries epoch " + std::to_string(req.epoch()) +
              ", lower than epoch " + std::to_string(was->epoch) + " recorded by its fence" +
              (was->reason.empty() ? "" : " (" + was->reason + ")") +
              "; the caller's view of the roles is stale: only a controller that knows epoch " +
              std::to_string(was->epoch) + " or a later one may unfence it",
          steps.name);
    }
    LIFEBOAT_ASSIGN_OR_RETURN(FenceWork work, steps.lift(*was));
    resp.set_items_changed(work.items_changed);
    std::string detail = steps.name + " unfenced (fenced at epoch " + std::to_string(was->epoch);
    if (!work.detail.empty()) detail += " " + work.detail;
    resp.set_detail(detail + ")");
  }
  LIFEBOAT_RETURN_IF_ERROR(Answer(call, journal, req, "unfence", resp, unrecorded));
  return resp;
}

}  // namespace lifeboat::sdk
