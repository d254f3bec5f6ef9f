#include "io/status.h"

#include <cstring>

namespace gb {

Status Status::FromErrno(const std::string& what, int errnum, std::string hint) {
  Status status = Failed(what + ": " + std::strerror(errnum), std::move(hint));
  status.system_errno_ = errnum;
  return status;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (hint_.empty()) return message_;
  return message_ + " (hint: " + hint_ + ")";
}

// The With* variants copy the whole error, so that what they do not change (the code, the
// hint, the errno) is kept.

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  Status changed = *this;
  changed.message_ = context + ": " + message_;
  return changed;
}

Status Status::WithCode(Code code) const {
  if (ok()) return *this;
  Status changed = *this;
  changed.code_ = code;
  return changed;
}

Status Status::WithHint(std::string hint) const {
  if (ok()) return *this;
  Status changed = *this;
  changed.hint_ = std::move(hint);
  return changed;
}

}  // namespace gb
