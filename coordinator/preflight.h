// Preflight: whether a backup is possible now. `check` prints it; `backup` runs it first
// and refuses on any failure, before DSS is touched.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/findings.h"
#include "coordinator/manifest.h"
#include "coordinator/node_context.h"
#include "coordinator/repository.h"
#include "datadir/archive_writer.h"
#include "datadir/dss_control.h"
#include "io/status.h"
#include "pg/dump_tools.h"
#include "pg/server.h"

namespace gb {

struct Preflight {
  // One per check, in order; subjects: config, node, markers, dss, database, dump tools,
  // repository, space (local) or locks (S3).
  std::vector<Finding> findings;
  std::optional<NodeContext> context;
  std::optional<DssState> dss_state;
  std::optional<ServerIdentity> server;
  std::optional<DumpTools> tools;
  std::optional<DataDirEstimate> estimate;
  std::string estimate_source;  // "" (walked), else the set whose chain recorded the size

  bool ok() const;
  // The first failure, or ok.
  Status FirstFailure() const;
};

struct PreflightOptions {
  bool query_dss = true;     // run bin/dss status
  bool estimate_size = true;  // walk the data dir for the free-space check (CheckSpace)
};

Preflight RunPreflight(const Config& config, const Repository& repository,
                       const PreflightOptions& options = {});

// The "space" finding: the data dir's size (and the database's) against the repository's free
// space. With `recorded_sets` (the repository's complete sets), the size is the one the newest
// set of the node recorded, and the data dir is walked only when there is none: a nightly set
// must not cost a walk of the whole tree. Null: walked (check, dry runs show its figures).
// After a pre-flight whose repository checks passed.
void CheckSpace(Preflight& preflight, const Config& config, const Repository& repository,
                const std::vector<Manifest>* recorded_sets);

}  // namespace gb
