// Capture: the moment both halves are taken. Offline with DSS running, in two passes: the data
// dir is archived while DSS runs, then DSS stops, a database snapshot is exported and pg_dump
// starts on it, a second pass re-reads what changed in the data dir meanwhile, and DSS starts
// again; DSS is down for the second pass and the snapshot export only. Online (DSS kept
// running), with DSS already stopped, or from a volume snapshot: one pass. The dump and the
// index are finished while DSS runs. DSS is started again on every failure if it was running
// before.
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

class TaskWait;  // coordinator/task_wait.h

struct CaptureRequest {
  const NodeContext* context = nullptr;
  const DumpTools* tools = nullptr;        // when the node has a database
  const ServerIdentity* server = nullptr;  // when the node has a database
  Consistency consistency = Consistency::kOffline;
  const Repository* repository = nullptr;  // where the halves are stored
  std::string id;
  std::string pair_token;
  const Manifest* parent = nullptr;  // the set to build on (incremental), or nullptr (full)
  Progress* progress = nullptr;
  Env* env = Env::Default();  // the clock of the DSS window
  const TaskWait* task_wait = nullptr;  // asked right before DSS stops; nullptr: not asked
};

struct CaptureResult {
  SetType type = SetType::kFull;  // full when the parent's index could not be read
  std::string parent;
  ManifestDatadir datadir;
  std::optional<ManifestDatabase> database;
  std::optional<ManifestIndex> index;
  ManifestWindow window;
  std::vector<std::string> recipients;  // of an encrypted set ([encryption] recipients)
};

Result<CaptureResult> CaptureHalves(const CaptureRequest& request);

}  // namespace gb
