// Status and StatusOr: expected failures as values, shared by the SDK and the core.
//
// A Status is OK or carries a canonical code, a message saying what was wrong and what to
// do, and optionally the subject (file, field, data set) it concerns. Codes carry their
// retry meaning (see lb_code in <lifeboat/abi.h>). Header-only so that plugins and the core
// use the same type without linking each other.
//
// Thread-safety: values; a const Status may be read from several threads.
#ifndef LIFEBOAT_STATUS_H_
#define LIFEBOAT_STATUS_H_

#include <lifeboat/abi.h>

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lifeboat {

enum class Code : int32_t {
  kOk = LB_OK,
  kCancelled = LB_CANCELLED,
  kUnknown = LB_UNKNOWN,
  kInvalidArgument = LB_INVALID_ARGUMENT,
  kDeadlineExceeded = LB_DEADLINE_EXCEEDED,
  kNotFound = LB_NOT_FOUND,
  kAlreadyExists = LB_ALREADY_EXISTS,
  kPermissionDenied = LB_PERMISSION_DENIED,
  kResourceExhausted = LB_RESOURCE_EXHAUSTED,
  kFailedPrecondition = LB_FAILED_PRECONDITION,
  kAborted = LB_ABORTED,
  kOutOfRange = LB_OUT_OF_RANGE,
  kUnimplemented = LB_UNIMPLEMENTED,
  kInternal = LB_INTERNAL,
  kUnavailable = LB_UNAVAILABLE,
  kDataLoss = LB_DATA_LOSS,
  kUnauthenticated = LB_UNAUTHENTICATED,
};

// Upper-case canonical name ("INVALID_ARGUMENT"); "CODE_<n>" for a number outside the set.
inline std::string CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kCancelled:
      return "CANCELLED";
    case Code::kUnknown:
      return "UNKNOWN";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kAlreadyExists:
      return "ALREADY_EXISTS";
    case Code::kPermissionDenied:
      return "PERMISSION_DENIED";
    case Code::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case Code::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case Code::kAborted:
      return "ABORTED";
    case Code::kOutOfRange:
      return "OUT_OF_RANGE";
    case Code::kUnimplemented:
      return "UNIMPLEMENTED";
    case Code::kInternal:
      return "INTERNAL";
    case Code::kUnavailable:
      return "UNAVAILABLE";
    case Code::kDataLoss:
      return "DATA_LOSS";
    case Code::kUnauthenticated:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int32_t>(code));
  }
}

// True for codes in the canonical set [0, 16].
inline bool IsKnownCode(int32_t code) { return code >= 0 && code <= 16; }

// What the engine does with a failure of this code: retry the call with backoff.
inline bool IsRetryable(Code code) {
  switch (code) {
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string subject = {})
      : code_(code), message_(std::move(message)), subject_(std::move(subject)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The file, field or data set concerned; may be empty.
  const std::string& subject() const { return subject_; }

  // "INVALID_ARGUMENT: root: must be an absolute path" style text for people.
  std::string ToString() const {
    if (ok()) return "OK";
    std::string out = CodeName(code_) + ": ";
    if (!subject_.empty()) out += subject_ + ": ";
    out += message_;
    return out;
  }

  // Returns a copy whose message is prefixed by `context` ("while cutting x: ...").
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_, subject_);
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_ && a.subject_ == b.subject_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string subject_;
};

inline Status OkStatus() { return Status(); }
inline Status CancelledError(std::string m, std::string s = {}) {
  return Status(Code::kCancelled, std::move(m), std::move(s));
}
inline Status InvalidArgumentError(std::string m, std::string s = {}) {
  return Status(Code::kInvalidArgument, std::move(m), std::move(s));
}
inline Status NotFoundError(std::string m, std::string s = {}) {
  return Status(Code::kNotFound, std::move(m), std::move(s));
}
inline Status AlreadyExistsError(std::string m, std::string s = {}) {
  return Status(Code::kAlreadyExists, std::move(m), std::move(s));
}
inline Status PermissionDeniedError(std::string m, std::string s = {}) {
  return Status(Code::kPermissionDenied, std::move(m), std::move(s));
}
inline Status FailedPreconditionError(std::string m, std::string s = {}) {
  return Status(Code::kFailedPrecondition, std::move(m), std::move(s));
}
inline Status AbortedError(std::string m, std::string s = {}) {
  return Status(Code::kAborted, std::move(m), std::move(s));
}
inline Status UnimplementedError(std::string m, std::string s = {}) {
  return Status(Code::kUnimplemented, std::move(m), std::move(s));
}
inline Status InternalError(std::string m, std::string s = {}) {
  return Status(Code::kInternal, std::move(m), std::move(s));
}
inline Status UnavailableError(std::string m, std::string s = {}) {
  return Status(Code::kUnavailable, std::move(m), std::move(s));
}
inline Status DataLossError(std::string m, std::string s = {}) {
  return Status(Code::kDataLoss, std::move(m), std::move(s));
}
inline Status OutOfRangeError(std::string m, std::string s = {}) {
  return Status(Code::kOutOfRange, std::move(m), std::move(s));
}
inline Status ResourceExhaustedError(std::string m, std::string s = {}) {
  return Status(Code::kResourceExhausted, std::move(m), std::move(s));
}

// A value or the Status saying why there is none. Never holds an OK status without a value.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) {
      v_ = Status(Code::kInternal, "StatusOr constructed from an OK status without a value");
    }
  }
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // Precondition: ok().
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace lifeboat

// Returns the status of `expr` from the enclosing function when it is not OK.
#define LIFEBOAT_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::lifeboat::Status lifeboat_status_ = (expr);        \
    if (!lifeboat_status_.ok()) return lifeboat_status_; \
  } while (0)

#define LIFEBOAT_CONCAT_INNER_(a, b) a##b
#define LIFEBOAT_CONCAT_(a, b) LIFEBOAT_CONCAT_INNER_(a, b)

// `LIFEBOAT_ASSIGN_OR_RETURN(auto x, F());` assigns the value of a StatusOr or returns its
// status from the enclosing function.
#define LIFEBOAT_ASSIGN_OR_RETURN(lhs, expr) \
  LIFEBOAT_ASSIGN_OR_RETURN_IMPL_(LIFEBOAT_CONCAT_(lifeboat_statusor_, __LINE__), lhs, expr)
#define LIFEBOAT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#endif  // LIFEBOAT_STATUS_H_
