// Exit codes of the lifeboat programs (cli.h), shared by lifeboat, lifeboatd and
// lifeboat-agent.
#include "cli.h"

namespace lifeboat::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
    case Code::kPermissionDenied:
    case Code::kAlreadyExists:
      return kExitRefused;
    case Code::kDataLoss:
      return kExitVerifyFailed;
    case Code::kCancelled:
      return kExitCancelled;
    default:
      return kExitFailure;
  }
}

}  // namespace lifeboat::cli
