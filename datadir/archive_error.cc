#include "datadir/archive_error.h"

#include <archive.h>

#include <cstring>

namespace gb {

Status LibarchiveError(struct archive* a, const std::string& what, std::string hint) {
  const char* message = a != nullptr ? archive_error_string(a) : nullptr;
  std::string text = what + ": " + (message != nullptr ? message : "libarchive error");
  const int error = a != nullptr ? archive_errno(a) : 0;
  // libarchive uses ARCHIVE_ERRNO_MISC (-1) and friends for its own, non-system errors.
  if (error > 0) {
    const char* cause = std::strerror(error);
    if (text.find(cause) == std::string::npos) text += std::string(": ") + cause;
  }
  return Status::Failed(std::move(text), std::move(hint));
}

}  // namespace gb
