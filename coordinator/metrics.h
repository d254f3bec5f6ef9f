// Metrics: the [metrics] textfile that node_exporter's textfile collector reads, rewritten
// atomically (a temporary file in the same directory, then a rename: io/atomic_file.h)
// after each backup, verify, audit and prune. Every figure is labelled with the repository's
// name; the file holds the figures of every command and repository, each command replacing
// only its own (the previous file is read back; a line of it that is not a sample is dropped
// with a warning, a file we cannot read at all is replaced with one). Families (gauges):
//   govern_backup_last_run_timestamp_seconds{repository,command}      when it last finished
//   govern_backup_last_success_timestamp_seconds{repository,command}  when it last exited 0
//   govern_backup_last_exit_code{repository,command}
//   govern_backup_last_duration_seconds{repository,command}
//   govern_backup_last_backup_bytes{repository,half="datadir|database"}  the last complete set
//   govern_backup_last_backup_dss_downtime_seconds{repository}
//   govern_backup_sets{repository}                                     complete sets
//   govern_backup_newest_set_timestamp_seconds{repository}  the newest complete set's time
//                                                 (from its id), whoever made it
//   govern_backup_audit_findings{repository,kind}  problems of the last audit, every kind
//                                                 listed (0 when none)
// Processes that rewrite one file at once are serialised by a lock on its directory; the
// temporary file of a writer killed before its rename is removed by the next update.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/command_report.h"
#include "coordinator/findings.h"
#include "io/status.h"

namespace gb {

struct CommandMetrics {
  std::string command;     // backup, verify, audit, prune
  std::string repository;  // the repository's name
  int exit_code = 0;
  double duration_seconds = 0;
  std::chrono::system_clock::time_point finished_at;
  // The complete sets' ids; unset when the repository could not be listed (the gauges keep
  // their values).
  std::optional<std::vector<std::string>> complete_set_ids;
  const CommandReport* report = nullptr;
};

Status UpdateMetricsTextfile(const std::string& path, const CommandMetrics& metrics);

// For `check`: whether the textfile can be written (its folder exists and is writable, the
// file itself, if any, is a regular file). A warning when not: backups still run, but their
// metrics would be missing (and the "no success for 26 h" alert would fire).
Finding MetricsTextfileFinding(const std::string& path);

// The kind an audit problem is counted under, from its subject: set, repository, lock,
// retention, node, database or leftover (a path: a stray file, an unfinished upload).
std::string AuditFindingKind(const std::string& subject);

}  // namespace gb
