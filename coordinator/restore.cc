// `govern-backup restore ID`: puts a node back to one set, data dir and database together,
// or refuses before touching anything. A flat script: pre-flight (restore_plan), stage
// while the node runs (restore_staging), switch with an undo list (restore_switch).
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "coordinator/commands.h"
#include "coordinator/findings.h"
#include "coordinator/interrupt.h"
#include "coordinator/node_context.h"
#include "coordinator/progress.h"
#include "coordinator/repository.h"
#include "coordinator/operation_lock.h"
#include "coordinator/restore_plan.h"
#include "coordinator/restore_staging.h"
#include "coordinator/restore_switch.h"
#include "coordinator/time_format.h"
#include "io/text.h"

namespace gb {
namespace {

// What would be stopped, moved and created, with sizes.
void PrintRestorePlan(const RestorePlan& plan, std::ostream& out) {
  const Manifest& m = plan.manifest;
  out << "restore set " << m.id << " (" << FormatRfc3339(m.created_at) << ", " << m.consistency
      << ", DSS " << m.node.dss_version << ") from " << plan.set_location << "\n";

  out << "data dir " << plan.data_dir << ":\n";
  out << "  stage    " << plan.staging_dir << " (" << m.datadir.files << " entries, "
      << FormatBytes(m.datadir.source_bytes) << "; " << FormatBytes(plan.datadir_free_bytes)
      << " free)\n";
  switch (plan.target_state) {
    case TargetDirState::kDataDir:
      out << "  set aside " << plan.data_dir << " -> " << plan.aside_dir << "\n";
      break;
    case TargetDirState::kEmpty:
      out << "  replace the empty directory " << plan.data_dir << "\n";
      break;
    case TargetDirState::kAbsent:
      out << "  create   " << plan.data_dir << " (nothing there now)\n";
      break;
  }
  out << "  move     " << plan.staging_dir << " -> " << plan.data_dir << "\n";

  if (plan.has_database) {
    out << "database " << plan.database.dbname << " on " << plan.database.host << ":"
        << plan.database.port << " (PostgreSQL " << plan.server_version << "):\n";
    out << "  stage    " << plan.staging_db << " owned by " << plan.database.user << " (dump "
        << FormatBytes(m.database->dump_bytes) << ", from PostgreSQL " << m.database->server_version
        << ")\n";
    if (plan.database_exists)
      out << "  set aside " << plan.database.dbname << " (" << FormatBytes(plan.live_database_bytes)
          << ") -> " << plan.aside_db << "\n";
    else
      out << "  create   " << plan.database.dbname << " (no such database now)\n";
    out << "  rename   " << plan.staging_db << " -> " << plan.database.dbname << "\n";
  } else {
    out << "database: none in this set\n";
  }

  if (plan.dss && plan.dss_running)
    out << "DSS: running; stopped (" << plan.dss->dss_command << " stop) only for the switch, "
        << (plan.pristine() ? "started again afterwards" : "left stopped afterwards") << "\n";
  else if (plan.dss)
    out << "DSS: stopped; it stays stopped\n";
  else
    out << "DSS: none at " << plan.data_dir << "; not started\n";
  if (!plan.pristine()) {
    std::string why;
    if (plan.relocated()) why += " the data dir moves from " + m.node.data_dir + ";";
    if (plan.renamed_database())
      why += " the database changes from " + m.database->dbname + ";";
    if (plan.upgrade())
      why += " the target runs DSS " + plan.target_dss_version + ", newer than " +
             m.node.dss_version + ";";
    if (plan.target_dss_version.empty()) why += " the target's DSS version is unknown;";
    if (!why.empty()) why.pop_back();
    out << "not a pristine restore:" << why << "; the next steps are printed at the end\n";
  }
}

bool AskToConfirm() {
  std::cout << "Restore? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

// The DSS doc's steps for a restore that is not pristine, with the real paths.
std::vector<std::string> NextSteps(const RestorePlan& plan) {
  std::vector<std::string> steps;
  if (plan.pristine()) return steps;
  const std::string dir = ShellQuote(plan.data_dir);
  const std::string install = plan.install_dir.empty() ? "INSTALL_DIR" : ShellQuote(plan.install_dir);
  const bool reattach = plan.relocated() || plan.upgrade() || plan.target_dss_version.empty();
  if (plan.relocated())
    steps.push_back("mv " + dir + "/pyenv " + dir + "/pyenv.backup   # the path changed: the "
                    "installer rebuilds the Python environment");
  if (reattach) {
    std::string why = "reattach the data dir to the installation";
    if (plan.upgrade())
      why += " and migrate it from DSS " + plan.manifest.node.dss_version + " to " +
             plan.target_dss_version;
    steps.push_back(install + "/installer.sh -d " + dir + " -u   # " + why);
  }
  if (plan.renamed_database())
    steps.push_back("in " + dir + "/config/dip.properties, make psql.jdbc.url name database " +
                    plan.database.dbname + " (it names " + plan.manifest.database->dbname + ")");
  if (reattach)
    steps.push_back("replay the integrations this node uses (DSS doc): " + dir +
                    "/bin/dssadmin install-R-integration, install-hadoop-integration, "
                    "install-spark-integration");
  steps.push_back(dir + "/bin/dss start");
  return steps;
}

struct AsideItem {
  std::string what;
  std::string name;
  std::string delete_command;
};

std::vector<AsideItem> SetAside(const RestorePlan& plan, const SwitchOutcome& outcome) {
  std::vector<AsideItem> items;
  if (!outcome.aside_dir.empty())
    items.push_back({"data dir", outcome.aside_dir, "rm -rf " + ShellQuote(outcome.aside_dir)});
  if (!outcome.aside_db.empty())
    items.push_back({"database", outcome.aside_db,
                     "dropdb -h " + ShellQuote(plan.database.host) + " -p " +
                         std::to_string(plan.database.port) + " -U " +
                         ShellQuote(plan.database.user) + " " + ShellQuote(outcome.aside_db) +
                         "   (or in psql: DROP DATABASE \"" + outcome.aside_db + "\";)"});
  return items;
}

void PrintResultText(const RestorePlan& plan, const StagedHalves& staged,
                     const SwitchOutcome& outcome, double seconds) {
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", seconds);
  std::cout << "restored set " << plan.manifest.id << " in " << took << " s:\n";
  std::cout << "  data dir  " << plan.data_dir << " (" << staged.scan.entries << " entries, "
            << FormatBytes(staged.scan.source_bytes) << ")\n";
  if (plan.has_database) std::cout << "  database  " << plan.database.dbname << "\n";
  if (outcome.dss_started)
    std::cout << "DSS: started again on the restored node\n";
  else if (plan.pristine() && plan.dss)
    std::cout << "DSS: was stopped before the restore and stays stopped (start: "
              << plan.dss->dss_command << " start)\n";
  std::vector<std::string> steps = NextSteps(plan);
  if (!steps.empty()) {
    std::cout << "DSS was not started: this is not a pristine restore. Next steps:\n";
    for (size_t i = 0; i < steps.size(); ++i) std::cout << "  " << i + 1 << ". " << steps[i] << "\n";
  }
  std::vector<AsideItem> aside = SetAside(plan, outcome);
  if (aside.empty()) {
    std::cout << "nothing was replaced, nothing was set aside\n";
  } else {
    std::cout << "set aside (delete when you no longer need them):\n";
    for (const auto& item : aside)
      std::cout << "  " << item.what << "  " << item.name << "\n    delete: " << item.delete_command
                << "\n";
  }
}

// One document: the pre-flight findings, what the plan is (or did, after a restore).
void PrintResultJson(const RestorePlan& plan, const StagedHalves* staged,
                     const SwitchOutcome* outcome, bool dry_run) {
  nlohmann::json document = ReportJson("restore", plan.findings);
  document["id"] = plan.manifest.id;
  document["dry_run"] = dry_run;
  if (plan.refused()) {
    PrintJson(document, std::cout);
    return;
  }
  document["data_dir"] = plan.data_dir;
  document["staging_dir"] = plan.staging_dir;
  document["database"] = plan.has_database ? plan.database.dbname : "";
  document["staging_database"] = plan.has_database ? plan.staging_db : "";
  document["pristine"] = plan.pristine();
  if (staged) document["entries"] = staged->scan.entries;
  if (outcome) {
    document["dss_started"] = outcome->dss_started;
    nlohmann::json aside = nlohmann::json::array();
    for (const auto& item : SetAside(plan, *outcome))
      aside.push_back({{"kind", item.what}, {"name", item.name}, {"delete", item.delete_command}});
    document["set_aside"] = std::move(aside);
  }
  document["next_steps"] = NextSteps(plan);
  PrintJson(document, std::cout);
}

// The pre-flight findings, then (unless refused) the plan. With --json a refusal or a dry
// run is the whole document; a restore that goes ahead reports once, at the end.
void ReportPreflight(const GlobalOptions& global, const RestorePlan& plan, bool dry_run) {
  if (global.json) {
    if (plan.refused() || dry_run) PrintResultJson(plan, nullptr, nullptr, dry_run);
    return;
  }
  if (dry_run && !plan.refused())
    std::cout << "dry run: every pre-flight check passed; nothing is touched\n";
  PrintFindings(plan.findings, std::cout);
  if (!plan.refused()) PrintRestorePlan(plan, std::cout);
}

}  // namespace

Status RunRestore(const GlobalOptions& global, const RestoreOptions& options) {
  auto started = std::chrono::steady_clock::now();
  InstallInterruptHandlers();

  // Step: configuration, and whether we may go ahead without asking.
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  const bool terminal = ::isatty(0) && ::isatty(1);
  if (!options.yes && !options.dry_run && (!terminal || global.json))
    return Status::Usage("restore replaces the live data dir and database and needs a "
                         "confirmation: there is no terminal to ask on",
                         "add --yes (or --dry-run to see the plan first)");
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(config, global.repo, global.wrap_store));
  const Repository& repo = *repository;

  // Step: one operation at a time (a missing repository is refused by the pre-flight).
  std::unique_ptr<OperationLock> lock;
  if (!options.dry_run && repo.Exists()) {
    GB_ASSIGN_OR_RETURN(lock, OperationLock::Acquire(repo, LockOperation::kRestore, global.env));
  }

  // Step: pre-flight; any refusal leaves everything untouched.
  RestorePlan plan = PlanRestore(config, repo, options, global.env);
  ReportPreflight(global, plan, options.dry_run);
  GB_RETURN_IF_ERROR(RefusalStatus(plan));
  if (options.dry_run) return Status::Ok();

  // Step: the confirmation.
  if (!options.yes && !AskToConfirm())
    return Status::Failed("restore not confirmed; nothing was touched");

  // Step: stage both halves while the node keeps running.
  uint64_t total = plan.manifest.datadir.source_bytes +
                   (plan.manifest.database ? plan.manifest.database->dump_bytes : 0);
  Progress progress("restore " + plan.manifest.id, total);
  GB_ASSIGN_OR_RETURN(StagedHalves staged, StageHalves(plan, global.env, &progress));
  progress.Finish();

  // Step: the switch; a failure puts everything back.
  GB_ASSIGN_OR_RETURN(SwitchOutcome outcome, SwitchHalves(plan, global.env));

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("restore of set {} complete in {:.1f} s", plan.manifest.id, seconds);
  if (global.json) PrintResultJson(plan, &staged, &outcome, false);
  else PrintResultText(plan, staged, outcome, seconds);
  return Status::Ok();
}

}  // namespace gb
