// Preflight: whether a backup is possible now. `check` prints it; `backup` runs it first
// and refuses on any failure, before DSS is touched.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/findings.h"
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

  bool ok() const;
  // The first failure, or ok.
  Status FirstFailure() const;
};

struct PreflightOptions {
  bool query_dss = true;     // run bin/dss status
  bool estimate_size = true;  // walk the data dir for the free-space check
};

Preflight RunPreflight(const Config& config, const Repository& repository,
                       const PreflightOptions& options = {});

}  // namespace gb
