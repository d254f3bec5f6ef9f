// The wrap around every command run from the command line: what happens after the command,
// whatever it did: the metrics textfile (after backup, verify, audit and prune) and the
// on_failure hook (after any non-zero exit, an interrupted backup or restore included:
// their cleanup has run when they return). Neither runs for a dry run: it touches nothing,
// and a hook or a metric would say something happened. pre_backup and post_backup belong
// to the backup itself (backup.cc). Called from the main thread, once per process.
#pragma once

#include <functional>
#include <string>

#include "coordinator/commands.h"
#include "io/status.h"

namespace gb {

struct WrappedCommand {
  std::string name;      // backup, verify, ...
  bool dry_run = false;  // no hooks, no metrics
  bool uses_config = true;  // false (keygen, demo): no hooks, no metrics
};

// Runs `run` with global.report pointing at a report of its own, logs its error (so that
// the error comes before the on_failure hook's output), then the after-steps. Returns the
// command's exit code: an after-step's failure is logged only.
int RunWrapped(const WrappedCommand& command, GlobalOptions& global,
               const std::function<Status()>& run);

}  // namespace gb
