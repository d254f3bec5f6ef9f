// The command line of CONTRACT.md (CLI11), logging set-up, and dispatch to the commands.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <sstream>
#include <vector>

#include "coordinator/command_wrap.h"
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
    {kExitCopyFailed, "the backup set is complete, but copying it to another repository failed "
                      "(or the post_backup hook failed)"},
};

std::string ExitCodesFooter() {
  std::ostringstream footer;
  footer << "Exit codes:\n";
  for (const ExitCodeHelp& entry : kExitCodeHelp) {
    footer << "  " << entry.code << "  " << entry.meaning << "\n";
  }
  return footer.str();
}

// Every option of every command, filled by CLI11 while parsing; it outlives the parse.
struct CommandLine {
  GlobalOptions global;
  int verbose = 0;
  bool quiet = false;
  BackupOptions backup;
  std::string show_id;
  VerifyOptions verify;
  AuditOptions audit;
  RestoreOptions restore;
  PruneOptions prune;
  DemoOptions demo;
  KeygenOptions keygen;
  CopyOptions copy;
  UnlockOptions unlock;
  LsOptions ls;
  ExtractCommandOptions extract;
  DiffOptions diff;
};

// A subcommand and what runs when it was the one given.
struct Command {
  CLI::App* app;
  std::function<Status()> run;
};

void AddGlobalOptions(CLI::App& app, CommandLine& line) {
  app.add_option("-c,--config", line.global.config_path,
                 "config file (default: $GOVERN_BACKUP_CONFIG, else /etc/govern-backup/config.toml)");
  app.add_flag("--json", line.global.json, "print one JSON document on stdout");
  app.add_option("--repo", line.global.repo,
                 "the repository to work on: main ([repository], the default) or a NAME of "
                 "[repositories.NAME]");
  app.add_flag("-v,--verbose", line.verbose, "more log output on stderr (-vv for all)");
  app.add_flag("-q,--quiet", line.quiet, "only warnings and errors on stderr");
}

// `--json` after the command name too (`govern-backup list --json`), as CONTRACT.md shows it.
void AddJsonFlag(CLI::App* command, CommandLine& line) {
  command->add_flag("--json", line.global.json, "print JSON");
}

void ReadOnlyCommands(CLI::App& app, CommandLine& line, std::vector<Command>& commands) {
  auto* check = app.add_subcommand("check", "is a backup possible now? config, node, database, "
                                            "dump tools, repository, free space");
  commands.push_back({check, [&] { return RunCheck(line.global); }});
  auto* list = app.add_subcommand("list", "every set: id, time, consistency, sizes, status");
  AddJsonFlag(list, line);
  commands.push_back({list, [&] { return RunList(line.global); }});
  auto* show = app.add_subcommand("show", "one set's manifest");
  show->add_option("ID", line.show_id, "set id")->required();
  AddJsonFlag(show, line);
  commands.push_back({show, [&] { return RunShow(line.global, line.show_id); }});
  auto* verify = app.add_subcommand("verify", "check sets; --deep also test-restores them");
  verify->add_option("ID", line.verify.ids, "set ids (default: the newest set)");
  verify->add_flag("--all", line.verify.all, "every set");
  verify->add_flag("--deep", line.verify.deep, "also extract and restore into scratch space");
  AddJsonFlag(verify, line);
  commands.push_back({verify, [&] { return RunVerify(line.global, line.verify); }});
  auto* audit = app.add_subcommand("audit", "repository-wide and live-node consistency audit");
  AddJsonFlag(audit, line);
  audit->add_option("--max-age", line.audit.max_age,
                    "the newest complete set must be younger than this (e.g. 26h)");
  audit->add_flag("--quick", line.audit.quick,
                  "check sizes and embedded identities only; do not read the halves through");
  commands.push_back({audit, [&] { return RunAudit(line.global, line.audit); }});
  auto* ls = app.add_subcommand("ls", "the files of a set, from its index (format 2 sets)");
  ls->add_option("ID", line.ls.id, "set id")->required();
  ls->add_option("PATH", line.ls.path, "a file or a folder, relative to the data dir");
  AddJsonFlag(ls, line);
  commands.push_back({ls, [&] { return RunLs(line.global, line.ls); }});
  auto* diff = app.add_subcommand(
      "diff", "files added, removed and changed between two sets, and the database tables "
              "whose content changed");
  diff->add_option("ID1", line.diff.from, "the earlier set")->required();
  diff->add_option("ID2", line.diff.to, "the later set")->required();
  AddJsonFlag(diff, line);
  commands.push_back({diff, [&] { return RunDiff(line.global, line.diff); }});
  auto* extract = app.add_subcommand(
      "extract", "files and folders of a set into an empty directory, reading only their part "
                 "of the set");
  extract->add_option("ID", line.extract.id, "set id")->required();
  extract->add_option("PATH", line.extract.paths, "files and folders, relative to the data dir")
      ->required();
  extract->add_option("--to", line.extract.to, "an empty or new directory, not in the data dir")
      ->required();
  AddJsonFlag(extract, line);
  commands.push_back({extract, [&] { return RunExtract(line.global, line.extract); }});
}

void ChangingCommands(CLI::App& app, CommandLine& line, std::vector<Command>& commands) {
  auto* backup = app.add_subcommand("backup", "take one paired backup; prints the new set id");
  backup->add_flag("--online", line.backup.online, "do not stop DSS (consistency = online)");
  backup->add_flag("--dry-run", line.backup.dry_run, "show what would be done, touch nothing");
  backup->add_flag("--full", line.backup.full, "take a full set, not an incremental one");
  backup->add_option("--note", line.backup.note, "a note recorded in the manifest");
  backup->add_option("--copy-to", line.backup.copy_to,
                     "then copy the new set to repository NAME (exit 6 if only the copy fails)");
  commands.push_back({backup, [&] { return RunBackup(line.global, line.backup); }});
  auto* restore = app.add_subcommand("restore", "put the node back to one set, both halves");
  restore->add_option("ID", line.restore.id, "set id")->required();
  restore->add_option("--data-dir", line.restore.data_dir, "restore the data dir here instead");
  restore->add_option("--dbname", line.restore.dbname, "restore into this database instead");
  restore->add_flag("--dry-run", line.restore.dry_run,
                    "run every check, print the plan, touch nothing");
  restore->add_flag("--yes", line.restore.yes, "do not ask for confirmation");
  commands.push_back({restore, [&] { return RunRestore(line.global, line.restore); }});
  auto* prune = app.add_subcommand("prune", "apply the retention policy, whole pairs only");
  prune->add_flag("--dry-run", line.prune.dry_run, "show what would be removed, remove nothing");
  commands.push_back({prune, [&] { return RunPrune(line.global, line.prune); }});
  auto* copy = app.add_subcommand(
      "copy", "copy complete sets that repository NAME lacks (default: every set)");
  copy->add_option("--to", line.copy.to, "the target repository (a NAME of [repositories])")
      ->required();
  copy->add_option("ID", line.copy.ids, "set ids (default: every complete set)");
  AddJsonFlag(copy, line);
  commands.push_back({copy, [&] { return RunCopy(line.global, line.copy); }});
  auto* unlock = app.add_subcommand(
      "unlock", "remove a lock left behind in a remote repository (default: the stale ones)");
  unlock->add_flag("--stale", line.unlock.stale_only, "only locks not refreshed for 30 minutes");
  unlock->add_flag("--force", line.unlock.force,
                   "every lock, even one a running operation holds (make sure none runs)");
  AddJsonFlag(unlock, line);
  commands.push_back({unlock, [&] { return RunUnlock(line.global, line.unlock); }});
  auto* demo = app.add_subcommand(
      "demo", "the main job on an embedded default: a throwaway PostgreSQL and a sample Govern "
              "node, backed up, verified and restored");
  demo->add_flag("--keep", line.demo.keep, "keep the sandbox for exploring");
  demo->add_option("--dir", line.demo.directory, "where to build the sandbox");
  commands.push_back({demo, [&] { return RunDemo(line.global, line.demo); }});
  auto* keygen = app.add_subcommand(
      "keygen", "write an age identity (prints its recipient), or with --signing an Ed25519 "
                "key (prints its public key)");
  keygen->add_option("--out", line.keygen.out, "the key file to create (mode 0600)")->required();
  keygen->add_flag("--signing", line.keygen.signing, "an Ed25519 signing key for manifests");
  AddJsonFlag(keygen, line);
  commands.push_back({keygen, [&] { return RunKeygen(line.global, line.keygen); }});
}

// What the wrap needs to know of a command: dry runs and commands without the node's
// config (keygen, demo) run no hooks and write no metrics.
WrappedCommand WrapFor(const CommandLine& line, const std::string& name) {
  WrappedCommand wrapped;
  wrapped.name = name;
  wrapped.dry_run = (name == "backup" && line.backup.dry_run) ||
                    (name == "restore" && line.restore.dry_run) ||
                    (name == "prune" && line.prune.dry_run);
  wrapped.uses_config = name != "keygen" && name != "demo";
  return wrapped;
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

  CommandLine line;
  AddGlobalOptions(app, line);
  std::vector<Command> commands;
  ReadOnlyCommands(app, line, commands);
  ChangingCommands(app, line, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  SetUpLogging(line.verbose, line.quiet);

  for (const Command& command : commands)
    if (*command.app)
      return RunWrapped(WrapFor(line, command.app->get_name()), line.global, command.run);
  return kExitUsage;  // not reached: CLI11 requires one command
}

}  // namespace gb
