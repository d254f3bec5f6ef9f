// AuditLiveNode: the part of `govern-backup audit` that looks at the live node rather than
// the repository: whether it still matches the newest set (DSS version, database, server),
// whether DSS was left stopped by an interrupted backup, and what interrupted or finished
// restores and verify --deep left beside the data dir and the database.
//
// Thread-safety: a plain function; one call per thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/findings.h"
#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "coordinator/repository_lock.h"
#include "coordinator/time_format.h"

namespace gb {

struct LiveNodeAudit {
  const Config* config = nullptr;
  const Manifest* newest = nullptr;             // the newest complete set, if any
  const std::vector<SetEntry>* sets = nullptr;  // every set of the repository
  std::optional<LockHolder> running;            // the operation that holds the repository
  bool backup_leftover = false;                 // an interrupted backup left something
  TimePoint now;
};

// Problems (with what to do) and notes worth knowing, as audit prints them.
std::vector<Finding> AuditLiveNode(const LiveNodeAudit& audit);

// "age 3h, 12.0 MiB" of a file or a tree, for findings about leftovers.
std::string PathAgeAndSize(const std::string& path, TimePoint now);

}  // namespace gb
