#include "datadir/dss_control.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <spdlog/spdlog.h>

#include "io/subprocess.h"
#include "io/text.h"

namespace gb {
namespace {

struct PasswdEntry {
  uid_t uid;
  gid_t gid;
  std::string name;
  std::string home;
};

std::optional<PasswdEntry> ToEntry(const struct passwd* pw) {
  if (pw == nullptr) return std::nullopt;
  return PasswdEntry{pw->pw_uid, pw->pw_gid, pw->pw_name, pw->pw_dir ? pw->pw_dir : "/"};
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  for (std::string& line : SplitLines(text)) {
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
  }
  return lines;
}

// The admin's best clue when bin/dss failed: its "[!]" error lines (DSS scripts mark
// errors so, and often follow the error with the remedy), else the last line it printed.
std::string ErrorLinesOrLastLine(const ExitInfo& exit) {
  std::string marked;
  for (const std::string* text : {&exit.stderr_text, &exit.stdout_text}) {
    for (const std::string& line : NonEmptyLines(*text)) {
      if (line.rfind("[!]", 0) == 0) marked += (marked.empty() ? "" : "; ") + line;
    }
    if (!marked.empty()) return marked;
  }
  auto err = NonEmptyLines(exit.stderr_text);
  if (!err.empty()) return err.back();
  auto out = NonEmptyLines(exit.stdout_text);
  if (!out.empty()) return out.back();
  return "";
}

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<DssControlOptions> MakeDssControlOptions(const std::string& data_dir,
                                                const std::string& dss_command,
                                                const std::string& dss_user) {
  DssControlOptions options;
  options.data_dir = data_dir;
  options.dss_command = dss_command.empty() ? data_dir + "/bin/dss" : dss_command;
  if (options.data_dir.empty()) {
    // bin/dss lives in <data_dir>/bin.
    options.data_dir = ParentDirectory(ParentDirectory(options.dss_command));
  }

  if (::geteuid() != 0) {
    auto self = ToEntry(::getpwuid(::geteuid()));
    options.run_as_name = self ? self->name : std::to_string(::geteuid());
    if (!dss_user.empty() && dss_user != options.run_as_name) {
      return Status::Usage("[node].dss_user is '" + dss_user + "' but we run as '" +
                               options.run_as_name + "' and cannot switch users",
                           "run govern-backup as root or as " + dss_user +
                               ", or leave [node].dss_user empty");
    }
    return options;
  }

  std::optional<PasswdEntry> user;
  if (!dss_user.empty()) {
    user = ToEntry(::getpwnam(dss_user.c_str()));
    if (!user) {
      return Status::Usage("[node].dss_user '" + dss_user + "' is not a user on this system",
                           "set [node].dss_user to the account DSS runs as");
    }
  } else {
    struct stat st;
    if (::stat(options.data_dir.c_str(), &st) != 0) {
      return Status::FromErrno("cannot find the owner of data dir " + options.data_dir, errno,
                               "set [node].dss_user to the account DSS runs as");
    }
    user = ToEntry(::getpwuid(st.st_uid));
    if (!user) {
      return Status::Failed("data dir " + options.data_dir + " is owned by uid " +
                                std::to_string(st.st_uid) + ", which is not a user on this system",
                            "set [node].dss_user to the account DSS runs as");
    }
  }
  if (user->uid == 0) {
    return Status::Failed("bin/dss refuses to run as root: set [node].dss_user or chown the "
                          "data dir " + options.data_dir + " to the DSS user");
  }
  options.run_as_uid = user->uid;
  options.run_as_gid = user->gid;
  options.run_as_name = user->name;
  return options;
}

namespace {

Result<ExitInfo> RunDss(const DssControlOptions& options, const std::string& verb,
                        std::chrono::seconds timeout) {
  if (::access(options.dss_command.c_str(), X_OK) != 0) {
    return Status::FromErrno("cannot run " + options.dss_command, errno,
                             "set [node].dss_command to the node's bin/dss");
  }
  SubprocessOptions sub;
  sub.argv = {options.dss_command, verb};
  sub.uid = options.run_as_uid;
  sub.gid = options.run_as_gid;
  sub.cwd = options.data_dir.empty() ? "/" : options.data_dir;
  sub.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  if (options.run_as_uid) {
    auto user = ToEntry(::getpwuid(*options.run_as_uid));
    sub.extra_env["USER"] = options.run_as_name;
    sub.extra_env["LOGNAME"] = options.run_as_name;
    sub.extra_env["HOME"] = user ? user->home : "/";
  }
  spdlog::debug("running {} {} as {}", options.dss_command, verb, options.run_as_name);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunSubprocess(sub));

  // Status is polled often: its chatter belongs to debug; start and stop are events.
  auto level = verb == "status" ? spdlog::level::debug : spdlog::level::info;
  for (const std::string* text : {&exit.stdout_text, &exit.stderr_text}) {
    for (const std::string& line : NonEmptyLines(*text)) spdlog::log(level, "bin/dss: {}", line);
  }
  if (exit.timed_out) {
    return Status::Failed("bin/dss " + verb + " timed out after " +
                              std::to_string(timeout.count()) + " s",
                          "see " + options.data_dir + "/run/supervisord.log");
  }
  return exit;
}

std::string Explain(const ExitInfo& exit) {
  std::string what = exit.term_signal != 0 ? "killed by signal " + std::to_string(exit.term_signal)
                                           : "exited with " + std::to_string(exit.exit_code);
  std::string clue = ErrorLinesOrLastLine(exit);
  return clue.empty() ? what : what + ": " + clue;
}

}  // namespace

Result<DssState> DssControl::Query() const {
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunDss(options_, "status", options_.status_timeout));
  if (exit.term_signal == 0 && exit.exit_code == 0) return DssState::kRunning;
  if (exit.term_signal == 0 && exit.exit_code == 3) {
    spdlog::warn("DSS is running but some of its programs are stopped (bin/dss status exit 3)");
    return DssState::kRunning;
  }
  // bin/dss has no exit code of its own for "stopped": 1 is also any failure of the
  // script, and only its "not running" message tells the two apart.
  if (exit.term_signal == 0 && exit.exit_code == 1 &&
      (exit.stderr_text + exit.stdout_text).find("not running") != std::string::npos) {
    return DssState::kStopped;
  }
  return Status::Failed("bin/dss status failed: " + Explain(exit),
                            "run '" + options_.dss_command + " status' as " +
                                options_.run_as_name + " to see why");
}

Status DssControl::Stop() const {
  GB_ASSIGN_OR_RETURN(DssState before, Query());
  if (before == DssState::kStopped) {
    spdlog::info("DSS is already stopped");
    return Status::Ok();
  }
  spdlog::info("stopping DSS ({} stop as {})", options_.dss_command, options_.run_as_name);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunDss(options_, "stop", options_.stop_timeout));
  GB_ASSIGN_OR_RETURN(DssState after, Query());
  if (!exit.success()) {
    // A DSS that went down by itself between our status and our stop is stopped all the same.
    if (after == DssState::kStopped) {
      spdlog::info("DSS is stopped (bin/dss stop: {})", Explain(exit));
      return Status::Ok();
    }
    return Status::Failed("bin/dss stop failed: " + Explain(exit) + "; DSS is still running",
                              "see " + options_.data_dir + "/run/supervisord.log");
  }
  if (after != DssState::kStopped) {
    return Status::Failed("bin/dss stop exited 0 but bin/dss status says DSS is still running",
                              "see " + options_.data_dir + "/run/supervisord.log");
  }
  spdlog::info("DSS stopped");
  return Status::Ok();
}

Status DssControl::Start() const {
  GB_ASSIGN_OR_RETURN(DssState before, Query());
  if (before == DssState::kRunning) {
    spdlog::info("DSS is already running");
    return Status::Ok();
  }
  spdlog::info("starting DSS ({} start as {})", options_.dss_command, options_.run_as_name);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunDss(options_, "start", options_.start_timeout));
  if (!exit.success()) {
    return Status::Failed("bin/dss start failed: " + Explain(exit),
                              "see " + options_.data_dir + "/run/backend.log and " +
                                  options_.data_dir + "/run/supervisord.log");
  }
  GB_ASSIGN_OR_RETURN(DssState after, Query());
  if (after != DssState::kRunning) {
    return Status::Failed("bin/dss start exited 0 but bin/dss status says DSS is not running",
                              "see " + options_.data_dir + "/run/backend.log");
  }
  spdlog::info("DSS started");
  return Status::Ok();
}

}  // namespace gb
