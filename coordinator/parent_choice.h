// ParentChoice: which set a new backup builds on (an incremental set), or why it is a full
// one. The parent is the newest complete set of the repository for the same data dir, if it
// can be built on: format 2 with an index and a seekable half, the same excludes, a complete
// chain, and a chain whose full set is younger than [backup] full_every. Otherwise the new set
// is full, and `reason` says why (logged, and shown by --dry-run).
//
// Thread-safety: a plain function over manifests already read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/manifest.h"
#include "io/time_text.h"

namespace gb {

struct ParentChoice {
  std::optional<Manifest> parent;  // nullopt: a full set
  std::string reason;              // why this parent, or why a full set
};

// `sets`: the repository's complete sets (Repository::CompleteSets, listed once by the
// backup); `force_full`: backup --full.
ParentChoice ChooseParent(const Config& config, const Result<std::vector<Manifest>>& sets,
                          const std::string& data_dir, bool force_full, TimePoint now);

}  // namespace gb
