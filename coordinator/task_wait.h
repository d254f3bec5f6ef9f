// TaskWait: the first step of DSS's own backup procedure, "make sure you don't have any job
// running, then stop DSS", done by asking the DSS public API for running long tasks
// ([node] api_key_file, api_url, wait_for_tasks).
//
// backup asks twice: once before any work (a refused key, an unreachable API or a garbled
// answer fails the backup there, DSS untouched), and once right before it stops DSS, waiting
// while tasks run (saying which, in the log and on the terminal) up to wait_for_tasks, then
// giving up (exit 1) without stopping DSS. The step is skipped, and the log says why, when no
// key is configured, when the backup is online (DSS is not stopped) or when DSS is stopped
// already. `check` asks once (DssTasksFinding).
// Used from the backup's one thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/config.h"
#include "coordinator/findings.h"
#include "coordinator/manifest.h"
#include "datadir/dss_api.h"
#include "datadir/dss_control.h"
#include "io/status.h"

namespace gb {

class TaskWait {
 public:
  // The step as this backup will do it. A key file that cannot be used, or an install.ini
  // without a port (and no api_url), is an error now.
  static Result<TaskWait> Prepare(const Config& config, Consistency consistency,
                                  std::optional<DssState> dss_state);

  // The first ask: fails on any error of the API; running tasks are only logged (they may end
  // during the first pass).
  Status FirstAsk() const;
  // The decisive ask, right before DSS stops: returns once no task runs; fails (exit 1) when
  // some still run after wait_for_tasks, or on a signal.
  Status WaitUntilIdle() const;

  // One line for --dry-run: what would be asked, or why nothing is.
  std::string Plan() const;

  // Polling interval while tasks run.
  static constexpr std::chrono::seconds kPollInterval{2};

 private:
  TaskWait(std::optional<DssApiClient> client, std::string skip_reason,
           std::chrono::seconds wait_for_tasks, std::string wait_text)
      : client_(std::move(client)),
        skip_reason_(std::move(skip_reason)),
        wait_for_tasks_(wait_for_tasks),
        wait_text_(std::move(wait_text)) {}

  std::optional<DssApiClient> client_;  // absent when skipped
  std::string skip_reason_;
  std::chrono::seconds wait_for_tasks_;
  std::string wait_text_;
};

// `check`'s finding "dss tasks": one request with the configured key; OK with the number of
// running tasks, the API's error, or "skipped: ..." when the backup would not ask.
Finding DssTasksFinding(const Config& config, std::optional<DssState> dss_state);

}  // namespace gb
