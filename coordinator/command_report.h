// CommandReport: what a command tells the wrap around it (coordinator/command_wrap.h) once it
// is done, for the hooks' environment and the metrics textfile. Commands fill it through
// GlobalOptions::report when it is set, rather than running hooks or writing metrics
// themselves. Plain values, filled and read by the command's one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gb {

// The figures of the backup that made a complete set.
struct BackupFigures {
  uint64_t datadir_bytes = 0;   // stored bytes of the data-dir half
  uint64_t database_bytes = 0;  // stored bytes of the database half (0: no database)
  bool has_database = false;
  double dss_downtime_seconds = 0;
};

struct CommandReport {
  std::string set_id;                   // backup: the set it made or was making
  std::optional<BackupFigures> backup;  // backup: set once its set is complete
  // audit: the subjects of its problems (empty: clean); unset when the audit did not report.
  std::optional<std::vector<std::string>> audit_problem_subjects;
};

}  // namespace gb
