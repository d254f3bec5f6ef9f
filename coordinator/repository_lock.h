// RepositoryLock: one operation at a time on a repository. An exclusive flock on
// <repo>/.lock, released by the kernel when the process dies; the file says who holds it.
#pragma once

#include <memory>
#include <string>

#include "io/status.h"

namespace gb {

class RepositoryLock {
 public:
  // Takes the lock without waiting; when another operation holds it, a Code::kLocked error
  // saying which operation (command, pid, since when).
  static Result<std::unique_ptr<RepositoryLock>> Acquire(const std::string& lock_path,
                                                         const std::string& operation);
  ~RepositoryLock();

 private:
  explicit RepositoryLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace gb
