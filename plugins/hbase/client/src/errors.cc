#include "errors.h"

#include <array>
#include <cctype>
#include <utility>

namespace lifeboat::hbase {
namespace {

std::string_view SimpleName(std::string_view cls) {
  size_t dot = cls.rfind('.');
  return dot == std::string_view::npos ? cls : cls.substr(dot + 1);
}

struct Mapping {
  std::string_view simple_name;
  Code code;
};

// Exact simple names first; then the suffix rules in CodeForException.
constexpr std::array kMappings = {
    Mapping{"SnapshotExistsException", Code::kAlreadyExists},
    Mapping{"TableExistsException", Code::kAlreadyExists},
    Mapping{"NamespaceExistException", Code::kAlreadyExists},
    Mapping{"TableNotFoundException", Code::kNotFound},
    Mapping{"SnapshotDoesNotExistException", Code::kNotFound},
    Mapping{"UnknownSnapshotException", Code::kNotFound},
    Mapping{"NamespaceNotFoundException", Code::kNotFound},
    Mapping{"UnknownRegionException", Code::kNotFound},
    Mapping{"UnknownScannerException", Code::kNotFound},
    Mapping{"NoSuchColumnFamilyException", Code::kNotFound},
    Mapping{"TableNotEnabledException", Code::kFailedPrecondition},
    Mapping{"TableNotDisabledException", Code::kFailedPrecondition},
    Mapping{"SnapshotTTLExpiredException", Code::kFailedPrecondition},
    Mapping{"QuotaExceededException", Code::kFailedPrecondition},
    Mapping{"AccessDeniedException", Code::kPermissionDenied},
    Mapping{"PleaseHoldException", Code::kUnavailable},
    Mapping{"ServerNotRunningYetException", Code::kUnavailable},
    Mapping{"MasterNotRunningException", Code::kUnavailable},
    Mapping{"CallQueueTooBigException", Code::kUnavailable},
    Mapping{"RegionServerStoppedException", Code::kUnavailable},
    Mapping{"NotServingRegionException", Code::kUnavailable},
    Mapping{"RetryImmediatelyException", Code::kUnavailable},
    Mapping{"ConnectException", Code::kUnavailable},
    Mapping{"ConnectionClosedException", Code::kUnavailable},
    Mapping{"CallTimeoutException", Code::kDeadlineExceeded},
    Mapping{"TimeoutIOException", Code::kDeadlineExceeded},
    Mapping{"CorruptedSnapshotException", Code::kDataLoss},
    Mapping{"SnapshotCreationException", Code::kAborted},
    Mapping{"RestoreSnapshotException", Code::kAborted},
    Mapping{"HBaseSnapshotException", Code::kAborted},
    // The server refused the connection itself (for instance: it wants Kerberos).
    Mapping{"FatalConnectionException", Code::kFailedPrecondition},
    Mapping{"UnknownProtocolException", Code::kUnimplemented},
    Mapping{"UnsupportedOperationException", Code::kUnimplemented},
    Mapping{"IllegalArgumentException", Code::kInvalidArgument},
    Mapping{"DoNotRetryIOException", Code::kInvalidArgument},
};

bool IsClassChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '$' || c == '_';
}

}  // namespace

Code CodeForException(std::string_view exception_class) {
  std::string_view simple = SimpleName(exception_class);
  for (const Mapping& m : kMappings) {
    if (m.simple_name == simple) return m.code;
  }
  return Code::kUnknown;
}

std::string MessageFromStackTrace(std::string_view exception_class, std::string_view trace) {
  std::string_view first = trace.substr(0, trace.find('\n'));
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ')) first.remove_suffix(1);
  if (!exception_class.empty() && first.substr(0, exception_class.size()) == exception_class) {
    first.remove_prefix(exception_class.size());
    if (first.substr(0, 1) == ":") first.remove_prefix(1);
    while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
  }
  return std::string(first);
}

std::string ExceptionClassInMessage(std::string_view message) {
  size_t n = 0;
  while (n < message.size() && IsClassChar(message[n])) ++n;
  std::string_view cls = message.substr(0, n);
  // A class name has a package (a dot) and ends in Exception or Error; anything else is prose.
  if (cls.find('.') == std::string_view::npos) return "";
  std::string_view simple = SimpleName(cls);
  auto ends = [&](std::string_view s) {
    return simple.size() >= s.size() && simple.substr(simple.size() - s.size()) == s;
  };
  if (!ends("Exception") && !ends("Error")) return "";
  return std::string(cls);
}

Status StatusFromException(std::string_view exception_class, std::string_view message,
                           std::string_view context) {
  std::string text(context);
  text += ": ";
  text += SimpleName(exception_class);
  if (!message.empty()) {
    text += ": ";
    text += message;
  }
  return Status(CodeForException(exception_class), std::move(text));
}

}  // namespace lifeboat::hbase
