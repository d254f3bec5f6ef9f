#include "coordinator/command_wrap.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <set>

#include "coordinator/exit_codes.h"
#include "coordinator/hooks.h"
#include "coordinator/metrics.h"
#include "coordinator/node_context.h"
#include "coordinator/open_repository.h"
#include "coordinator/repository.h"

namespace gb {
namespace {

bool WritesMetrics(const std::string& command) {
  static const std::set<std::string> commands = {"backup", "verify", "audit", "prune"};
  return commands.count(command) > 0;
}

// The complete sets now in the repository; unset (the gauges keep their values) when it
// cannot be listed, e.g. when that is why the command failed.
std::optional<std::vector<std::string>> CompleteSetIds(const Config& config,
                                                       const GlobalOptions& global) {
  Result<std::unique_ptr<Repository>> repository =
      OpenRepository(config, global.repo, global.wrap_store);
  if (!repository.ok()) return std::nullopt;
  Result<std::vector<std::string>> ids = (*repository)->CompleteSetIds();
  if (!ids.ok()) return std::nullopt;
  return std::move(ids).value();
}

void WriteMetrics(const Config& config, const GlobalOptions& global, const std::string& command,
                  int exit_code, double seconds, const CommandReport& report) {
  CommandMetrics metrics;
  metrics.command = command;
  metrics.repository = global.repo.empty() ? RepositoryConfig::kMainName : global.repo;
  metrics.exit_code = exit_code;
  metrics.duration_seconds = seconds;
  metrics.finished_at = global.env->Now();
  metrics.complete_set_ids = CompleteSetIds(config, global);
  metrics.report = &report;
  Status written = UpdateMetricsTextfile(config.metrics.textfile, metrics);
  if (!written.ok())
    spdlog::warn("{} (the command's own outcome stands)", written.ToString());
}

}  // namespace

int RunWrapped(const WrappedCommand& command, GlobalOptions& global,
               const std::function<Status()>& run) {
  const auto started = std::chrono::steady_clock::now();
  CommandReport report;
  global.report = &report;
  Status status = run();
  global.report = nullptr;
  std::cout.flush();
  const int exit_code = ReportAndExit(status);
  if (command.dry_run || !command.uses_config) return exit_code;
  // A config that does not load (the command's own exit 2, said already) has no hooks.
  Result<Config> config = LoadConfig(global.config_path);
  if (!config.ok()) return exit_code;
  if (WritesMetrics(command.name) && !config->metrics.textfile.empty())
    WriteMetrics(*config, global, command.name, exit_code,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                 report);
  if (exit_code != kExitOk)
    RunOnFailureHook(*config, {command.name, global.repo, report.set_id, exit_code});
  return exit_code;
}

}  // namespace gb
