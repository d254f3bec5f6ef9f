// Staging: both halves of a set made ready beside their targets while the node keeps
// running: the archive extracted into <data_dir>.restore-<ID>/ (same file system, so the
// switch is a rename), the dump restored into a staging database. Both run at once, each
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

// Extracts and restores both halves, checks them against the manifest (entries, bytes,
// SHA-256 of what was read, row counts) and writes the restored-from marker into the staged
// data dir. On failure, removes whatever it made; nothing live is touched either way.
Result<StagedHalves> StageHalves(const RestorePlan& plan, Env* env, Progress* progress);

// Removes the staged data dir and drops the staging database (absent ones are fine).
Status DiscardStaged(const RestorePlan& plan, Env* env);

}  // namespace gb
