// RestorePlan: restore's pre-flight. Everything a restore will do is decided here, from the
// set, the config and the live node, before anything is touched. Each check is one finding
// (findings.h): passed with what it found, or refused (exit 4) saying what is wrong and what
// to do about it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/commands.h"
#include "coordinator/findings.h"
#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "datadir/dss_control.h"
#include "io/env.h"
#include "io/status.h"
#include "pg/connection.h"
#include "pg/dump_tools.h"

namespace gb {

// What the restore finds at the target data dir.
enum class TargetDirState {
  kAbsent,   // nothing there: the staged copy simply moves in
  kEmpty,    // an empty directory (the DSS doc's `mkdir new_datadir_location`)
  kDataDir,  // a DSS data dir: it is moved aside
};

struct RestorePlan {
  Manifest manifest;
  // The set and every set it builds on, oldest first (chain.h): back() is `manifest`; a full
  // set's chain is itself. Each was checked: complete, its data-dir half and index present
  // with the sizes and pair identities its manifest records.
  std::vector<Manifest> chain;
  const Repository* repository = nullptr;  // where the set is
  std::string set_location;   // <repo>/<ID>/ or s3://bucket/prefix/sets/<ID>/, for messages
  std::string datadir_file;   // where each half is (a path or an s3:// URL), for messages
  std::string database_file;

  // The data dir.
  std::string data_dir;        // the target
  TargetDirState target_state = TargetDirState::kAbsent;
  mode_t target_mode = 0755;   // of the target root (kept), or for a new one
  std::optional<uid_t> target_uid;  // owner of the target root; unset = the staged files' owner
  std::optional<gid_t> target_gid;
  std::string staging_dir;     // <data_dir>.restore-<ID>
  std::string aside_dir;       // <data_dir>.pre-restore-<time>, when kDataDir
  uint64_t datadir_need_bytes = 0;
  uint64_t datadir_free_bytes = 0;

  // DSS at the target.
  std::optional<DssControlOptions> dss;  // when the target is a DSS data dir
  bool dss_running = false;
  std::string target_dss_version;        // "" when unknown
  std::string target_version_source;     // where it was read
  std::string install_dir;               // for installer.sh in the next steps

  // The database.
  bool has_database = false;
  ConnectionParams database;   // server and user; dbname = the target database
  bool database_exists = false;
  std::string staging_db;      // <db>_restore_<short id>
  std::string aside_db;        // <db>_pre_restore_<time>, when the database exists
  std::string server_version;  // of the target server
  uint64_t live_database_bytes = 0;
  DumpTools tools;

  std::vector<Finding> findings;  // one per check; any problem refuses the restore

  bool refused() const { return !AllOk(findings); }

  bool relocated() const { return data_dir != manifest.node.data_dir; }
  bool renamed_database() const {
    return has_database && manifest.database && database.dbname != manifest.database->dbname;
  }
  bool upgrade() const;  // the target runs a newer DSS than the set was taken on
  // Same path, same version, same database: DSS may be started right away.
  bool pristine() const { return !relocated() && !renamed_database() && !upgrade() &&
                                 !target_dss_version.empty(); }
};

// Runs every pre-flight check; reads only. It never fails: what prevents a restore is a
// refused finding in the plan.
RestorePlan PlanRestore(const Config& config, const Repository& repository,
                        const RestoreOptions& options, Env* env);

// Ok, or one Code::kRefused status naming the refused checks (the findings say the rest).
Status RefusalStatus(const RestorePlan& plan);

}  // namespace gb
