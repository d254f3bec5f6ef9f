// MeasureTree: entries and bytes below a directory, read by several threads from a shared
// queue of directories, so that a cold tree of many small files is measured at the disk's
// parallel speed (it runs before DSS is stopped, on the path of every backup).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "io/status.h"

namespace gb {

struct TreeStats {
  uint64_t entries = 0;  // everything below the root except sockets
  uint64_t bytes = 0;    // regular-file content; a hard-linked file counts once
};

// `skip_top` leaves out top-level names (exclusions). Unreadable directories or entries are
// errors naming the path.
Result<TreeStats> MeasureTree(const std::string& root,
                              const std::function<bool(std::string_view)>& skip_top = {},
                              int threads = 8);

}  // namespace gb
