// DssControl: status, stop and start of a DSS node through its bin/dss, run as the DSS
// user (bin/dss refuses root), with timeouts; its output goes to our log.
// A DssControl holds only its options: calls from several threads run several bin/dss.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "io/status.h"

namespace gb {

enum class DssState { kRunning, kStopped };

struct DssControlOptions {
  std::string dss_command;        // <data_dir>/bin/dss
  std::optional<uid_t> run_as_uid;  // set when we are root: the DSS user
  std::optional<gid_t> run_as_gid;
  std::string run_as_name;        // for messages and HOME/USER of the child
  std::string data_dir;           // bin/dss's working directory and where its logs are
  std::chrono::seconds status_timeout{30};
  std::chrono::seconds stop_timeout{120};
  std::chrono::seconds start_timeout{300};
};

// Resolves who runs bin/dss: `dss_user` if set, else the owner of `data_dir`. When we are
// not root, bin/dss runs as ourselves (a `dss_user` naming someone else is then an error).
// Refuses root as the DSS user; an unknown `dss_user` is a usage error naming it.
Result<DssControlOptions> MakeDssControlOptions(const std::string& data_dir,
                                                const std::string& dss_command,
                                                const std::string& dss_user);

class DssControl {
 public:
  explicit DssControl(DssControlOptions options) : options_(std::move(options)) {}

  // Running (exit 0, or 3 when some program is stopped) or stopped (exit 1 with
  // "not running"); anything else is an error.
  Result<DssState> Query() const;
  // Stops DSS and confirms with status; a node already stopped is not an error.
  Status Stop() const;
  // Starts DSS and confirms with status; a node already running is not an error. Fails
  // with bin/dss's "[!]" error lines (else its last line) if it does not come up.
  Status Start() const;

  const DssControlOptions& options() const { return options_; }

 private:
  DssControlOptions options_;
};

}  // namespace gb
