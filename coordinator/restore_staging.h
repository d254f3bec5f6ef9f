// Staging: both halves of a set made ready beside their targets while the node keeps
// running: the data dir made into <data_dir>.restore-<ID>/ (same file system, so the
// switch is a rename), the dump restored into a staging database. A set with an index
// (format 2, full or incremental) is made from its index, each file read from the set of
// its chain that holds it (set_tree.h); a 0.1.0 set's archive is extracted as one stream. Both run at once, each
// on its own thread; the functions here are called from one thread.
#pragma once

#include <string>

#include "coordinator/progress.h"
#include "coordinator/restore_plan.h"
#include "datadir/archive_reader.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

struct StagedHalves {
  std::string dir;       // the staged data dir
  std::string database;  // the staging database, "" when the set has none
  ArchiveScan scan;
};

// Extracts and restores both halves, checks them against the manifest and the index
// (entries, bytes, identity of every half read, SHA-256 of what was read: each file's, or
// the whole half's for a 0.1.0 set; row counts) and writes the restored-from marker into the staged
// data dir. On failure, removes whatever it made; nothing live is touched either way.
Result<StagedHalves> StageHalves(const RestorePlan& plan, Env* env, Progress* progress);

// Removes the staged data dir and drops the staging database (absent ones are fine).
Status DiscardStaged(const RestorePlan& plan, Env* env);

}  // namespace gb
