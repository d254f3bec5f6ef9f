// `govern-backup check`: is a backup possible now? One finding per check.
#include <iostream>

#include <nlohmann/json.hpp>

#include "coordinator/commands.h"
#include "coordinator/findings.h"
#include "coordinator/key_checks.h"
#include "coordinator/metrics.h"
#include "coordinator/preflight.h"
#include "coordinator/repository_checks.h"
#include "coordinator/task_wait.h"

namespace gb {

Status RunCheck(const GlobalOptions& global) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(config, global.repo, global.wrap_store));
  Preflight preflight = RunPreflight(config, *repository);
  preflight.findings.push_back(DssTasksFinding(config, preflight.dss_state));
  const std::vector<Finding> keys = CheckKeys(config.encryption);
  const bool backup_possible = preflight.ok() && AllOk(keys);
  preflight.findings.insert(preflight.findings.end(), keys.begin(), keys.end());
  preflight.findings.push_back(MetricsTextfileFinding(config.metrics.textfile));
  // The other repositories too: a copy to one that cannot take it fails only later.
  for (const auto& [name, settings] : config.repositories) {
    if (name == repository->name()) continue;
    Result<std::unique_ptr<Repository>> other = OpenRepository(settings, global.wrap_store);
    if (!other.ok()) {
      preflight.findings.push_back(Finding::Problem("repository " + name, other.status()));
      continue;
    }
    for (Finding& finding : CheckRepositoryAccess(config, **other))
      preflight.findings.push_back(std::move(finding));
  }

  if (global.json) PrintJson(ReportJson("check", preflight.findings), std::cout);
  else PrintFindings(preflight.findings, std::cout);
  if (AllOk(preflight.findings)) return Status::Ok();
  const std::string failed = std::to_string(CountProblems(preflight.findings)) +
                             " check(s) failed (" + ProblemSubjects(preflight.findings) + ")";
  if (backup_possible)  // only other repositories failed: the backup itself would run
    return Status::Failed("a backup is possible, but copies would fail: " + failed);
  return Status::Failed("a backup is not possible now: " + failed);
}

}  // namespace gb
