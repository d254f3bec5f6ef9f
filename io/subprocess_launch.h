// LaunchChild: the fork/exec half of Subprocess (io/subprocess.h), which uses it to start a
// program as SubprocessOptions say (user, environment, working directory, pipes) and keeps
// watching it. Not for other callers: start programs with Subprocess or RunSubprocess.
// Thread-safe: LaunchChild keeps no state; the Fd it returns belong to the caller.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include "io/status.h"
#include "io/subprocess.h"

namespace gb {

// Owns a file descriptor: closes it when destroyed.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A child that became the program, and our ends of its pipes.
struct LaunchedChild {
  pid_t pid = -1;
  Fd stdout_read;
  Fd stderr_read;
  Fd stdin_write;  // invalid when stdin is /dev/null
};

// Starts the program in its own process group, with PR_SET_PDEATHSIG (see Subprocess::Start).
// A program that cannot be run (not found, not executable, bad cwd or uid) is an error, its
// child already reaped.
Result<LaunchedChild> LaunchChild(const SubprocessOptions& options);

}  // namespace gb
