#include "io/status.h"

#include <cstring>

namespace gb {

Status Status::FromErrno(const std::string& what, int errnum, std::string hint) {
  return Failed(what + ": " + std::strerror(errnum), std::move(hint));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (hint_.empty()) return message_;
  return message_ + " (hint: " + hint_ + ")";
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, hint_);
}

Status Status::WithCode(Code code) const {
  if (ok()) return *this;
  return Status(code, message_, hint_);
}

Status Status::WithHint(std::string hint) const {
  if (ok()) return *this;
  return Status(code_, message_, std::move(hint));
}

}  // namespace gb
