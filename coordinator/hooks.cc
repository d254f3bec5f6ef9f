#include "coordinator/hooks.h"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <thread>

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

// Logs the hook's stdout line by line as it comes (a hook that mounts a disk or copies a
// set may take minutes: its progress belongs in the log while it runs). Returns at end of
// file, or once `exited` is set and the pipe is empty (a grandchild may keep it open).
void ForwardLines(int fd, const std::string& hook, const std::atomic<bool>& exited) {
  std::string pending;
  char buffer[4096];
  while (true) {
    pollfd ready_fd{fd, POLLIN, 0};
    const bool done = exited.load();
    int ready = poll(&ready_fd, 1, done ? 0 : 100);
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = ready > 0 ? read(fd, buffer, sizeof buffer) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      pending.append(buffer, static_cast<size_t>(n));
      const size_t last_newline = pending.rfind('\n');
      if (last_newline != std::string::npos) {
        LogOutput(hook, "", pending.substr(0, last_newline));
        pending.erase(0, last_newline + 1);
      }
      continue;
    }
    if (ready > 0 || ready < 0 || done) break;  // end of file, an error, or exited and drained
  }
  LogOutput(hook, "", pending);
}

// Runs the hook, its stdout logged as it comes; stderr is logged when it ends.
Result<ExitInfo> RunLogged(const SubprocessOptions& options, const std::string& hook) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process, Subprocess::Start(options));
  std::atomic<bool> exited{false};
  std::thread forward([&] { ForwardLines(process->stdout_fd(), hook, exited); });
  ExitInfo exit = process->Wait();
  exited.store(true);
  forward.join();
  LogOutput(hook, " (stderr)", exit.stderr_text);
  return exit;
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
  options.stdout_pipe = true;
  Result<ExitInfo> ran = RunLogged(options, hook);
  const std::string where = "the " + hook + " hook (`" + command + "`)";
  const std::string hint = "fix the command of [hooks] " + hook + " or remove it";
  if (!ran.ok()) return ran.status().WithContext(where).WithHint(hint);
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
