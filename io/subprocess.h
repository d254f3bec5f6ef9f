// Subprocess: a child program with its stdout streamed or captured, stderr captured,
// optionally run as another user, with a timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/status.h"

namespace gb {

struct SubprocessOptions {
  std::vector<std::string> argv;                   // argv[0] is the program (PATH searched)
  std::map<std::string, std::string> extra_env;    // added to (or overriding) our environment
  std::vector<std::string> unset_env;              // removed from the environment
  std::optional<uid_t> uid;                        // run as this user (needs root)
  std::optional<gid_t> gid;
  std::string cwd;
  bool stdout_pipe = false;  // true: stdout_fd() streams it; false: captured into stdout_text
  std::string stdin_text;    // fed to stdin, then closed (stdin is /dev/null when empty)
  // true: the caller streams stdin through stdin_fd() (a blocking pipe; a write after the
  // child exited fails with EPIPE and SIGPIPE if not blocked) and ends it with CloseStdin();
  // stdin_text is then ignored.
  bool stdin_pipe = false;
  std::chrono::milliseconds timeout{0};  // 0 = none; on expiry SIGTERM, then SIGKILL after 5 s
};

struct ExitInfo {
  int exit_code = -1;      // when it exited
  int term_signal = 0;     // when a signal killed it
  bool timed_out = false;
  std::string stdout_text;  // when stdout was captured
  std::string stderr_text;  // the last 64 KiB of stderr
  std::chrono::milliseconds timeout{0};  // the timeout that applied, for Describe()

  bool success() const { return exit_code == 0 && term_signal == 0 && !timed_out; }
  // "exited with 3", "killed by signal 9", "timed out after 20 s", followed by the last
  // line of stderr if any.
  std::string Describe() const;
};

class Subprocess {
 public:
  // Starts the program; the child is placed in its own process group and gets SIGTERM if
  // we die (PR_SET_PDEATHSIG). Linux sends that signal when the *thread* that called
  // Start() ends, so start a child from a thread that outlives it. A program that cannot
  // be run (not found, not executable, bad cwd or uid) is an error here, not an exit code.
  static Result<std::unique_ptr<Subprocess>> Start(const SubprocessOptions& options);
  ~Subprocess();  // kills and reaps a child still running

  pid_t pid() const;
  int stdout_fd() const;  // valid with stdout_pipe
  int stdin_fd() const;   // valid with stdin_pipe, until CloseStdin()
  void CloseStdin();      // the child sees end of file; idempotent
  // Waits for exit (enforcing the timeout); collects stderr and captured stdout.
  ExitInfo Wait();
  void Signal(int signal);

 private:
  Subprocess();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Starts, waits, returns the exit information (captured stdout).
Result<ExitInfo> RunSubprocess(const SubprocessOptions& options);

}  // namespace gb
