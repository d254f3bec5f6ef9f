#include "coordinator/repository_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "coordinator/time_format.h"

namespace gb {

Result<std::unique_ptr<RepositoryLock>> RepositoryLock::Acquire(const std::string& lock_path,
                                                                const std::string& operation) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot open lock file " + lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    std::string holder(512, '\0');
    ssize_t got = ::pread(fd, holder.data(), holder.size(), 0);
    holder.resize(got > 0 ? static_cast<size_t>(got) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd);
    if (error != EWOULDBLOCK) return Status::FromErrno("cannot lock " + lock_path, error);
    return Status::Locked("the repository is busy: " +
                              (holder.empty() ? std::string("another govern-backup operation")
                                              : holder) +
                              " holds " + lock_path,
                          "wait for it to finish; the lock goes away by itself if it dies");
  }
  std::string description = operation + " (pid " + std::to_string(::getpid()) + ", since " +
                            FormatRfc3339(std::chrono::system_clock::now()) + ")\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, description.data(), description.size(), 0) < 0) {
    // The lock holds regardless; only the description for others is lost.
  }
  return std::unique_ptr<RepositoryLock>(new RepositoryLock(fd));
}

RepositoryLock::~RepositoryLock() {
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::close(fd_);  // releases the flock
}

}  // namespace gb
