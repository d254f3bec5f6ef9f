// Errors from libarchive calls: libarchive's message with the cause the system gave
// (archive_errno), so that "Write failed" reads "Write failed: No space left on device".
//
// Thread-safety: reads the archive's error state; use from the thread that owns it.
#pragma once

#include <string>

#include "io/status.h"

struct archive;

namespace gb {

// "<what>: <libarchive's message>[: <strerror(archive_errno)>]" (the errno text is left out
// when the message already has it). `a` may be null.
Status LibarchiveError(struct archive* a, const std::string& what, std::string hint = {});

}  // namespace gb
