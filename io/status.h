// Status and Result<T>: the outcome of an operation that can fail.
//
// An error says what failed (message, naming the file, key, set or half concerned) and,
// where the admin can do something about it, a hint. Its code decides the exit code of the
// command in one place (coordinator/exit_codes.h). A message never contains a password.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace gb {

enum class Code {
  kOk = 0,
  kFailed,    // the operation failed; nothing that existed was lost          (exit 1)
  kUsage,     // bad command line or configuration                            (exit 2)
  kProblems,  // verify or audit found problems                               (exit 3)
  kRefused,   // a restore pre-flight check refused before touching anything  (exit 4)
  kLocked,    // another operation holds the repository lock                  (exit 5)
  kCopyFailed,  // the backup set is complete, copying it elsewhere failed      (exit 6)
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // success

  static Status Ok() { return Status(); }
  static Status Failed(std::string message, std::string hint = {}) {
    return Status(Code::kFailed, std::move(message), std::move(hint));
  }
  static Status Usage(std::string message, std::string hint = {}) {
    return Status(Code::kUsage, std::move(message), std::move(hint));
  }
  static Status Problems(std::string message, std::string hint = {}) {
    return Status(Code::kProblems, std::move(message), std::move(hint));
  }
  static Status Refused(std::string message, std::string hint = {}) {
    return Status(Code::kRefused, std::move(message), std::move(hint));
  }
  static Status Locked(std::string message, std::string hint = {}) {
    return Status(Code::kLocked, std::move(message), std::move(hint));
  }
  // An error from a failed system call: message is "<what>: <strerror(errnum)>". The errno
  // is kept (system_errno()) so that callers decide on the kind of failure, not on its text.
  static Status FromErrno(const std::string& what, int errnum, std::string hint = {});

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }
  // The errno of an error made by FromErrno (kept through WithContext/WithCode/WithHint),
  // else 0.
  int system_errno() const { return system_errno_; }

  // "message" or "message (hint: ...)".
  std::string ToString() const;
  // The same error, its message prefixed with "context: ".
  Status WithContext(const std::string& context) const;
  // The same error with another code (e.g. a read failure that becomes a refusal).
  Status WithCode(Code code) const;
  // The same error with a hint (replacing any earlier one).
  Status WithHint(std::string hint) const;

 private:
  Status(Code code, std::string message, std::string hint)
      : code_(code), message_(std::move(message)), hint_(std::move(hint)) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
  int system_errno_ = 0;
};

// A value or the error that prevented it.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                 // NOLINT: implicit by design
  // REQUIRES: !status.ok(). A success without a value is a programming error: it becomes a
  // failure here rather than an empty optional dereferenced later.
  Result(Status status) : status_(std::move(status)) {          // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Failed("internal error: a result without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace gb

// Returns early from a function returning Status or Result<T> when `expr` is an error.
#define GB_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::gb::Status _gb_status = (expr);          \
    if (!_gb_status.ok()) return _gb_status;   \
  } while (0)

#define GB_CONCAT_INNER(a, b) a##b
#define GB_CONCAT(a, b) GB_CONCAT_INNER(a, b)
// `GB_ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define GB_ASSIGN_OR_RETURN(lhs, expr)                                   \
  auto GB_CONCAT(_gb_result_, __LINE__) = (expr);                        \
  if (!GB_CONCAT(_gb_result_, __LINE__).ok())                            \
    return GB_CONCAT(_gb_result_, __LINE__).status();                    \
  lhs = std::move(GB_CONCAT(_gb_result_, __LINE__)).value()
