#include "coordinator/hooks.h"

#include <spdlog/spdlog.h>

#include <map>

#include "io/subprocess.h"
#include "io/text.h"

namespace gb {
namespace {

std::map<std::string, std::string> HookEnvironment(const Config& config, const HookRun& run) {
  std::map<std::string, std::string> env;
  env["GOVERN_BACKUP_COMMAND"] = run.command;
  const std::string name = run.repository.empty() ? RepositoryConfig::kMainName : run.repository;
  env["GOVERN_BACKUP_REPOSITORY"] = name;
  Result<const RepositoryConfig*> repository = config.FindRepository(run.repository);
  if (repository.ok())
    env["GOVERN_BACKUP_REPOSITORY_LOCATION"] =
        (*repository)->is_s3() ? (*repository)->url : (*repository)->path;
  if (!run.set_id.empty()) env["GOVERN_BACKUP_SET_ID"] = run.set_id;
  if (run.exit_code) {
    env["GOVERN_BACKUP_STATUS"] = *run.exit_code == 0 ? "success" : "failure";
    env["GOVERN_BACKUP_EXIT_CODE"] = std::to_string(*run.exit_code);
  }
  return env;
}

void LogOutput(const std::string& hook, const char* stream, const std::string& text) {
  for (const std::string& line : SplitLines(text))
    if (!line.empty()) spdlog::info("{} hook{}: {}", hook, stream, line);
}

// Runs one hook; Ok when it is not configured. The error names the hook and its command.
Status RunHook(const Config& config, const std::string& hook, const std::string& command,
               const HookRun& run) {
  if (command.empty()) return Status::Ok();
  spdlog::info("running the {} hook: {}", hook, command);
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", command};
  options.extra_env = HookEnvironment(config, run);
  options.timeout = config.hooks.timeout;
  Result<ExitInfo> ran = RunSubprocess(options);
  const std::string where = "the " + hook + " hook (`" + command + "`)";
  const std::string hint = "fix the command of [hooks] " + hook + " or remove it";
  if (!ran.ok()) return ran.status().WithContext(where).WithHint(hint);
  LogOutput(hook, "", ran->stdout_text);
  LogOutput(hook, " (stderr)", ran->stderr_text);
  if (ran->success()) return Status::Ok();
  return Status::Failed(where + " " + ran->Describe(),
                        ran->timed_out ? "it may take at most [hooks] timeout = " +
                                             config.hooks.timeout_text + "; " + hint
                                       : hint);
}

}  // namespace

Status RunPreBackupHook(const Config& config, const HookRun& run) {
  Status status = RunHook(config, "pre_backup", config.hooks.pre_backup, run);
  if (status.ok()) return status;
  return status.WithContext("no backup taken, DSS untouched");
}

Status RunPostBackupHook(const Config& config, const HookRun& run) {
  Status status = RunHook(config, "post_backup", config.hooks.post_backup, run);
  if (status.ok()) return status;
  return Status::Failed("set " + run.set_id + " is complete, but " + status.message(),
                        status.hint())
      .WithCode(Code::kCopyFailed);
}

void RunOnFailureHook(const Config& config, const HookRun& run) {
  Status status = RunHook(config, "on_failure", config.hooks.on_failure, run);
  if (!status.ok()) spdlog::error("{}", status.ToString());
}

}  // namespace gb
