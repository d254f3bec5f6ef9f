// Hooks: the admin's shell commands of [hooks] (pre_backup, post_backup, on_failure), run
// with /bin/sh -c for at most [hooks] timeout (then killed: a failed hook). Their output
// goes to our log line by line, prefixed with the hook's name: stdout as it comes, stderr
// (its last 64 KiB) when the hook ends. Their environment describes the run:
//   GOVERN_BACKUP_COMMAND              the command: backup, verify, ...
//   GOVERN_BACKUP_REPOSITORY           the repository's name: main, or a NAME of [repositories]
//   GOVERN_BACKUP_REPOSITORY_LOCATION  where it is: its path, or its s3:// url
//   GOVERN_BACKUP_SET_ID               the set made (or being made), when there is one
//   GOVERN_BACKUP_STATUS               success | failure (post_backup, on_failure)
//   GOVERN_BACKUP_EXIT_CODE            the command's exit code (post_backup: 0)
// A hook is run from the thread that calls; no state is kept between calls.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "io/status.h"

namespace gb {

// What a hook is told about the run.
struct HookRun {
  std::string command;
  std::string repository;  // --repo, "" = main
  std::string set_id;      // "" = none
  std::optional<int> exit_code;  // unset before the command ran (pre_backup)
};

// pre_backup: Ok when none is configured or it exited 0; else the failure (exit 1), before
// anything is written to the repository and before DSS is touched.
Status RunPreBackupHook(const Config& config, const HookRun& run);

// post_backup, after a complete set: its failure has code kCopyFailed (exit 6: the set is
// complete, a step after it failed), so that a wrapper neither takes the set for missing
// nor the run for clean.
Status RunPostBackupHook(const Config& config, const HookRun& run);

// on_failure, after a command that failed (any non-zero exit, a signal included). Its own
// failure is logged; it never changes the exit code.
void RunOnFailureHook(const Config& config, const HookRun& run);

}  // namespace gb
