// The command line of CONTRACT.md (CLI11), logging set-up, and dispatch to the commands.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "coordinator/commands.h"
#include "coordinator/exit_codes.h"
#include "version.h"  // generated from project(VERSION) in CMakeLists.txt

namespace gb {
namespace {

void SetUpLogging(int verbose, bool quiet) {
  auto logger = spdlog::stderr_color_mt("govern-backup");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(quiet ? spdlog::level::warn
                          : verbose >= 2 ? spdlog::level::trace
                          : verbose == 1 ? spdlog::level::debug
                                         : spdlog::level::info);
}

// Reserved by CONTRACT.md for `copy` (not built yet); exit_codes.h will own it with the command.
constexpr int kExitCopyFailed = 6;

// The exit codes of CONTRACT.md, for --help. The values are exit_codes.h's; the words are
// for the admin reading --help.
struct ExitCodeHelp {
  int code;
  const char* meaning;
};
constexpr ExitCodeHelp kExitCodeHelp[] = {
    {kExitOk, "success"},
    {kExitFailed, "the operation failed; the message says what, and nothing that existed was lost"},
    {kExitUsage, "usage or configuration error (the message names the key or flag)"},
    {kExitProblems, "verify or audit found problems"},
    {kExitRefused, "restore refused by a pre-flight check before anything live was touched"},
    {kExitLocked, "another govern-backup operation holds the repository lock"},
    {kExitCopyFailed,
     "the set is complete but copying it to another repository failed (reserved for copy)"},
};

std::string ExitCodesFooter() {
  std::ostringstream footer;
  footer << "Exit codes:\n";
  for (const ExitCodeHelp& entry : kExitCodeHelp) {
    footer << "  " << entry.code << "  " << entry.meaning << "\n";
  }
  return footer.str();
}

}  // namespace

int RunCommandLine(int argc, char** argv) {
  CLI::App app{"govern-backup: paired, verifiable backups of Dataiku Govern nodes "
               "(data directory + PostgreSQL database)",
               "govern-backup"};
  app.set_version_flag("--version", std::string("govern-backup ") + kVersion);
  app.footer(ExitCodesFooter());
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions global;
  int verbose = 0;
  bool quiet = false;
  app.add_option("-c,--config", global.config_path,
                 "config file (default: $GOVERN_BACKUP_CONFIG, else /etc/govern-backup/config.toml)");
  app.add_flag("--json", global.json, "print one JSON document on stdout");
  app.add_flag("-v,--verbose", verbose, "more log output on stderr (-vv for all)");
  app.add_flag("-q,--quiet", quiet, "only warnings and errors on stderr");

  auto* check = app.add_subcommand("check", "is a backup possible now? config, node, database, "
                                            "dump tools, repository, free space");

  BackupOptions backup;
  auto* backup_cmd = app.add_subcommand("backup", "take one paired backup; prints the new set id");
  backup_cmd->add_flag("--online", backup.online, "do not stop DSS (consistency = online)");
  backup_cmd->add_flag("--dry-run", backup.dry_run, "show what would be done, touch nothing");
  backup_cmd->add_option("--note", backup.note, "a note recorded in the manifest");

  auto* list = app.add_subcommand("list", "every set: id, time, consistency, sizes, status");
  list->add_flag("--json", global.json, "print JSON");

  std::string show_id;
  auto* show = app.add_subcommand("show", "one set's manifest");
  show->add_option("ID", show_id, "set id")->required();
  show->add_flag("--json", global.json, "print JSON");

  VerifyOptions verify;
  auto* verify_cmd = app.add_subcommand("verify", "check sets; --deep also test-restores them");
  verify_cmd->add_option("ID", verify.ids, "set ids (default: the newest set)");
  verify_cmd->add_flag("--all", verify.all, "every set");
  verify_cmd->add_flag("--deep", verify.deep, "also extract and restore into scratch space");
  verify_cmd->add_flag("--json", global.json, "print JSON");

  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand("audit", "repository-wide and live-node consistency audit");
  audit_cmd->add_flag("--json", global.json, "print JSON");
  audit_cmd->add_option("--max-age", audit.max_age,
                        "the newest complete set must be younger than this (e.g. 26h)");
  audit_cmd->add_flag("--quick", audit.quick,
                      "check sizes and embedded identities only; do not read the halves through");

  RestoreOptions restore;
  auto* restore_cmd = app.add_subcommand("restore", "put the node back to one set, both halves");
  restore_cmd->add_option("ID", restore.id, "set id")->required();
  restore_cmd->add_option("--data-dir", restore.data_dir, "restore the data dir here instead");
  restore_cmd->add_option("--dbname", restore.dbname, "restore into this database instead");
  restore_cmd->add_flag("--dry-run", restore.dry_run, "run every check, print the plan, touch nothing");
  restore_cmd->add_flag("--yes", restore.yes, "do not ask for confirmation");

  PruneOptions prune;
  auto* prune_cmd = app.add_subcommand("prune", "apply the retention policy, whole pairs only");
  prune_cmd->add_flag("--dry-run", prune.dry_run, "show what would be removed, remove nothing");

  DemoOptions demo;
  auto* demo_cmd = app.add_subcommand(
      "demo", "the main job on an embedded default: a throwaway PostgreSQL and a sample Govern "
              "node, backed up, verified and restored");
  demo_cmd->add_flag("--keep", demo.keep, "keep the sandbox for exploring");
  demo_cmd->add_option("--dir", demo.directory, "where to build the sandbox");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  SetUpLogging(verbose, quiet);

  Status status;
  if (*check) status = RunCheck(global);
  else if (*backup_cmd) status = RunBackup(global, backup);
  else if (*list) status = RunList(global);
  else if (*show) status = RunShow(global, show_id);
  else if (*verify_cmd) status = RunVerify(global, verify);
  else if (*audit_cmd) status = RunAudit(global, audit);
  else if (*restore_cmd) status = RunRestore(global, restore);
  else if (*prune_cmd) status = RunPrune(global, prune);
  else if (*demo_cmd) status = RunDemo(global, demo);
  std::cout.flush();
  return ReportAndExit(status);
}

}  // namespace gb
