// The commands of govern-backup, one file each (check.cc, backup.cc, ...), each a flat
// script of named steps. They print results on stdout and log to stderr; their Status
// becomes the exit code in exit_codes.cc.
#pragma once

#include <string>
#include <vector>

#include "coordinator/command_report.h"
#include "coordinator/open_repository.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

struct GlobalOptions {
  std::string config_path;  // --config; "" = $GOVERN_BACKUP_CONFIG or the default
  std::string repo;         // --repo NAME; "" = [repository] ("main")
  bool json = false;
  Env* env = Env::Default();
  StoreWrapper wrap_store;  // tests only: a store that fails at step N
  CommandReport* report = nullptr;  // set by the wrap (command_wrap.h): what the command did
};

struct BackupOptions {
  bool online = false;
  bool dry_run = false;
  bool full = false;  // --full: a full set whatever [backup] incremental says
  std::string note;
  std::string copy_to;  // --copy-to NAME: copy the new set there afterwards
};

struct CopyOptions {
  std::string to;                // the target repository's name
  std::vector<std::string> ids;  // "" = every complete set the target lacks
};

struct UnlockOptions {
  bool stale_only = false;  // --stale (the default when neither is given)
  bool force = false;       // --force: every lock
};

struct RestoreOptions {
  std::string id;
  std::string data_dir;  // --data-dir: restore somewhere else
  std::string dbname;    // --dbname: restore into another database
  bool dry_run = false;
  bool yes = false;
};

struct VerifyOptions {
  std::vector<std::string> ids;
  bool all = false;
  bool deep = false;
};

struct AuditOptions {
  std::string max_age;  // "" = no staleness check
  bool quick = false;   // sizes and embedded identities only, halves not read through
};

struct PruneOptions {
  bool dry_run = false;
};

struct DemoOptions {
  bool keep = false;
  std::string directory;  // "" = a new temporary directory
};

struct KeygenOptions {
  std::string out;       // the key file to create; never overwritten
  bool signing = false;  // an Ed25519 signing key instead of an age identity
};

struct LsOptions {
  std::string id;
  std::string path;  // "" = every file of the set
};

struct DiffOptions {
  std::string from;  // ID1
  std::string to;    // ID2
};

struct ExtractCommandOptions {
  std::string id;
  std::vector<std::string> paths;  // files and folders, relative to the data dir
  std::string to;                  // --to DIR: empty or absent, never inside the data dir
};

Status RunCheck(const GlobalOptions& global);
Status RunBackup(const GlobalOptions& global, const BackupOptions& options);
Status RunList(const GlobalOptions& global);
Status RunShow(const GlobalOptions& global, const std::string& id);
Status RunVerify(const GlobalOptions& global, const VerifyOptions& options);
Status RunAudit(const GlobalOptions& global, const AuditOptions& options);
Status RunRestore(const GlobalOptions& global, const RestoreOptions& options);
Status RunPrune(const GlobalOptions& global, const PruneOptions& options);
Status RunDemo(const GlobalOptions& global, const DemoOptions& options);
Status RunKeygen(const GlobalOptions& global, const KeygenOptions& options);
Status RunCopy(const GlobalOptions& global, const CopyOptions& options);
Status RunUnlock(const GlobalOptions& global, const UnlockOptions& options);
Status RunLs(const GlobalOptions& global, const LsOptions& options);
Status RunExtract(const GlobalOptions& global, const ExtractCommandOptions& options);
Status RunDiff(const GlobalOptions& global, const DiffOptions& options);

// Parses the command line, runs the command, returns the process exit code.
int RunCommandLine(int argc, char** argv);

}  // namespace gb
