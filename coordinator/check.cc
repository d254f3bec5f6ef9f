// `govern-backup check`: is a backup possible now? One finding per check.
#include <iostream>

#include <nlohmann/json.hpp>

#include "coordinator/commands.h"
#include "coordinator/findings.h"
#include "coordinator/preflight.h"

namespace gb {

Status RunCheck(const GlobalOptions& global) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(config, global.repo, global.wrap_store));
  Preflight preflight = RunPreflight(config, *repository);

  if (global.json) PrintJson(ReportJson("check", preflight.findings), std::cout);
  else PrintFindings(preflight.findings, std::cout);
  if (preflight.ok()) return Status::Ok();
  return Status::Failed("a backup is not possible now: " +
                        std::to_string(CountProblems(preflight.findings)) + " check(s) failed (" +
                        ProblemSubjects(preflight.findings) + ")");
}

}  // namespace gb
