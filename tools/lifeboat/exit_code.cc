// Exit codes of the lifeboat programs (cli.h), shared by lifeboat, lifeboatd and
// lifeboat-agent. The one place a Status code becomes an exit code: in-process the Status
// comes from the engine; against a daemon from the API's error body ({"error": {"code":
// ...}}), whose code name is the same, so a command exits the same either way.
#include "cli.h"

namespace lifeboat::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
    case Code::kOutOfRange:
      return kExitUsage;  // bad input: a malformed file, a value out of range
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kFailedPrecondition:
    case Code::kPermissionDenied:
    case Code::kUnauthenticated:
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
