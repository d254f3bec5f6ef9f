// Capture: the moment both halves are taken. Stops DSS (offline) or not (online), exports
// a database snapshot, starts pg_dump on it, archives the data dir, and starts DSS again as
// soon as the data dir is captured and pg_dump holds the snapshot; the dump then finishes
// while DSS runs. DSS is started again on every failure if it was running before.
// CaptureHalves is called from one thread; it runs pg_dump's output pump on its own.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "config/config.h"
#include "coordinator/manifest.h"
#include "coordinator/node_context.h"
#include "coordinator/progress.h"
#include "coordinator/repository.h"
#include "io/env.h"
#include "io/status.h"
#include "pg/dump_tools.h"
#include "pg/server.h"

namespace gb {

struct CaptureRequest {
  const NodeContext* context = nullptr;
  const DumpTools* tools = nullptr;        // when the node has a database
  const ServerIdentity* server = nullptr;  // when the node has a database
  Consistency consistency = Consistency::kOffline;
  const Repository* repository = nullptr;  // where the halves are stored
  std::string id;
  std::string pair_token;
  Progress* progress = nullptr;
  Env* env = Env::Default();  // the clock of the DSS window
};

struct CaptureResult {
  ManifestDatadir datadir;
  std::optional<ManifestDatabase> database;
  std::optional<ManifestIndex> index;
  ManifestWindow window;
};

Result<CaptureResult> CaptureHalves(const CaptureRequest& request);

}  // namespace gb
