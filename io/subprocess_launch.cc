#include "io/subprocess_launch.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "io/text.h"

extern char** environ;

namespace gb {
namespace {

// What the child reports through the exec-error pipe when it cannot become the program.
enum class ChildStage : int { kChdir = 1, kGroups, kGid, kUid, kExec };

struct ChildFailure {
  ChildStage stage;
  int error;
};

Status MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("cannot create a pipe", errno);
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return Status::Ok();
}

// A password given on a command line (a libpq "password=" keyword or a URI's user:password@)
// must not reach the log.
std::string RedactPassword(std::string arg) {
  size_t at = arg.find("password=");
  if (at != std::string::npos) {
    size_t start = at + 9;
    size_t end = arg.find_first_of(" &", start);
    arg.replace(start, end == std::string::npos ? std::string::npos : end - start, "***");
  }
  size_t scheme = arg.find("://");
  if (scheme != std::string::npos) {
    size_t authority_end = arg.find_first_of("/?", scheme + 3);
    size_t user_end = arg.rfind('@', authority_end);
    if (user_end != std::string::npos && user_end > scheme) {
      size_t colon = arg.find(':', scheme + 3);
      if (colon != std::string::npos && colon < user_end) {
        arg.replace(colon + 1, user_end - colon - 1, "***");
      }
    }
  }
  return arg;
}

// The command line for the log. Not ShellQuote: the *** of a redacted argument would make it
// quote arguments that do not need it, and the line is for reading, not for pasting.
std::string JoinArgv(const std::vector<std::string>& argv) {
  std::vector<std::string> shown;
  for (const std::string& raw : argv) {
    const std::string arg = RedactPassword(raw);
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    shown.push_back(plain ? arg : "'" + arg + "'");
  }
  return Join(shown, " ");
}

// Who the child runs as, when SubprocessOptions::uid asks for another user.
struct ChildIdentity {
  bool switch_user = false;
  uid_t uid = 0;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;         // supplementary groups, set with setgroups()
  std::optional<std::string> name;   // from the user database, when the uid is in it
  std::string home;

  // " as uid N" for messages, "" when not switching.
  std::string AsUser() const { return switch_user ? " as uid " + std::to_string(uid) : ""; }
};

Result<ChildIdentity> ResolveUser(const SubprocessOptions& options) {
  ChildIdentity identity;
  identity.gid = options.gid;
  if (!options.uid) return identity;
  identity.switch_user = true;
  identity.uid = *options.uid;
  std::vector<char> buffer(16384);
  passwd entry;
  passwd* found = nullptr;
  getpwuid_r(identity.uid, &entry, buffer.data(), buffer.size(), &found);
  if (found != nullptr) {
    identity.name = entry.pw_name;
    identity.home = entry.pw_dir;
    if (!identity.gid) identity.gid = entry.pw_gid;
    int count = 64;
    identity.groups.resize(count);
    if (getgrouplist(entry.pw_name, *identity.gid, identity.groups.data(), &count) < 0) {
      identity.groups.resize(count);
      getgrouplist(entry.pw_name, *identity.gid, identity.groups.data(), &count);
    }
    identity.groups.resize(count);
  } else if (!identity.gid) {
    return Status::Failed("cannot run " + options.argv[0] + " as uid " +
                          std::to_string(identity.uid) + ": no such user and no group given");
  }
  if (identity.groups.empty()) identity.groups.push_back(*identity.gid);
  return identity;
}

// Our environment, with the account's HOME/USER/LOGNAME when switching user, then the
// caller's additions and removals; "NAME=value" strings.
std::vector<std::string> BuildEnvironment(const SubprocessOptions& options,
                                          const ChildIdentity& identity) {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (equals == nullptr) continue;
    environment[std::string(*entry, static_cast<size_t>(equals - *entry))] = equals + 1;
  }
  if (identity.name) {
    environment["HOME"] = identity.home;
    environment["USER"] = *identity.name;
    environment["LOGNAME"] = *identity.name;
  }
  for (const auto& [name, value] : options.extra_env) environment[name] = value;
  for (const std::string& name : options.unset_env) environment.erase(name);
  std::vector<std::string> strings;
  for (const auto& [name, value] : environment) strings.push_back(name + "=" + value);
  return strings;
}

// What execvpe() needs, as arrays of C strings built before fork().
struct ExecPlan {
  ExecPlan(const SubprocessOptions& options, ChildIdentity child)
      : identity(std::move(child)),
        argv_strings(options.argv),
        env_strings(BuildEnvironment(options, identity)),
        cwd(options.cwd.empty() ? nullptr : options.cwd.c_str()),
        parent(getpid()) {
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }

  ChildIdentity identity;
  std::vector<std::string> argv_strings;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* cwd;  // nullptr: ours
  pid_t parent;
};

// The child's stdin, stdout and stderr, and the exec-error pipe through which it reports
// what kept it from becoming the program (closed on a successful exec).
struct ChildPipes {
  Fd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
  Fd failure_read, failure_write;

  Status Open(const SubprocessOptions& options) {
    if (options.stdin_pipe) {
      GB_RETURN_IF_ERROR(MakePipe(stdin_read, stdin_write));
    } else if (options.stdin_text.empty()) {
      stdin_read.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (stdin_read.get() < 0) return Status::FromErrno("cannot open /dev/null", errno);
    } else {
      GB_RETURN_IF_ERROR(MakePipe(stdin_read, stdin_write));
      fcntl(stdin_write.get(), F_SETFL, O_NONBLOCK);  // fed by a thread that must not block
    }
    GB_RETURN_IF_ERROR(MakePipe(stdout_read, stdout_write));
    GB_RETURN_IF_ERROR(MakePipe(stderr_read, stderr_write));
    return MakePipe(failure_read, failure_write);
  }

  // In the parent after fork(): the child's ends, so that end of file reaches us.
  void CloseChildEnds() {
    failure_write.reset();
    stdin_read.reset();
    stdout_write.reset();
    stderr_write.reset();
  }
};

[[noreturn]] void ReportChildFailure(int failure_fd, ChildStage stage) {
  ChildFailure failure{stage, errno};
  ssize_t ignored = write(failure_fd, &failure, sizeof failure);
  (void)ignored;
  _exit(127);
}

// The child between fork() and exec: only async-signal-safe calls from here on.
[[noreturn]] void ChildMain(const ExecPlan& plan, const ChildPipes& pipes) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != plan.parent) _exit(127);  // we died before the line above took effect
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action;
  std::memset(&default_action, 0, sizeof default_action);
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
  const int sources[3] = {pipes.stdin_read.get(), pipes.stdout_write.get(),
                          pipes.stderr_write.get()};
  for (int target = 0; target < 3; ++target) {
    if (sources[target] == target) {
      fcntl(target, F_SETFD, 0);
    } else {
      dup2(sources[target], target);
    }
  }
#ifdef SYS_close_range
  syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
  const ChildIdentity& identity = plan.identity;
  const int failure_fd = pipes.failure_write.get();
  if (identity.switch_user && setgroups(identity.groups.size(), identity.groups.data()) != 0) {
    ReportChildFailure(failure_fd, ChildStage::kGroups);
  }
  if (identity.gid && setgid(*identity.gid) != 0) ReportChildFailure(failure_fd, ChildStage::kGid);
  if (identity.switch_user && setuid(identity.uid) != 0) {
    ReportChildFailure(failure_fd, ChildStage::kUid);
  }
  if (plan.cwd != nullptr && chdir(plan.cwd) != 0) {
    ReportChildFailure(failure_fd, ChildStage::kChdir);
  }
  execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  ReportChildFailure(failure_fd, ChildStage::kExec);
}

// Waits for the exec-error pipe to close (the exec succeeded) or to carry a ChildFailure,
// which becomes the error, the child reaped.
Status DecodeChildFailure(int failure_fd, pid_t pid, const SubprocessOptions& options,
                          const ChildIdentity& identity) {
  ChildFailure failure{};
  ssize_t got;
  do {
    got = read(failure_fd, &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got != static_cast<ssize_t>(sizeof failure)) return Status::Ok();
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  const std::string& program = options.argv[0];
  const std::string reason = std::strerror(failure.error);
  switch (failure.stage) {
    case ChildStage::kChdir:
      return Status::Failed("cannot run " + program + " in " + options.cwd + ": " + reason);
    case ChildStage::kGroups:
    case ChildStage::kGid:
    case ChildStage::kUid:
      return Status::Failed("cannot run " + program + identity.AsUser() + ": " + reason,
                            "switching user needs root");
    case ChildStage::kExec:
      break;
  }
  return Status::Failed("cannot run " + program + ": " + reason,
                        failure.error == ENOENT ? "is it installed and on PATH?" : "");
}

}  // namespace

Result<LaunchedChild> LaunchChild(const SubprocessOptions& options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return Status::Failed("cannot start a subprocess without a program name");
  }
  // Everything the child needs is prepared here: after fork() only system calls are safe.
  GB_ASSIGN_OR_RETURN(ChildIdentity identity, ResolveUser(options));
  ExecPlan plan(options, std::move(identity));
  ChildPipes pipes;
  GB_RETURN_IF_ERROR(pipes.Open(options));
  spdlog::debug("running{}: {}", plan.identity.AsUser(), JoinArgv(options.argv));

  LaunchedChild child;
  child.pid = fork();
  if (child.pid < 0) return Status::FromErrno("cannot start " + options.argv[0], errno);
  if (child.pid == 0) ChildMain(plan, pipes);

  pipes.CloseChildEnds();
  GB_RETURN_IF_ERROR(
      DecodeChildFailure(pipes.failure_read.get(), child.pid, options, plan.identity));
  child.stdout_read = std::move(pipes.stdout_read);
  child.stderr_read = std::move(pipes.stderr_read);
  child.stdin_write = std::move(pipes.stdin_write);
  return child;
}

}  // namespace gb
