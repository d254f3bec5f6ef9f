#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace gb {
namespace {

Status WriteAll(int fd, const std::string& content, const std::string& path) {
  const char* next = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = write(fd, next, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot write " + path, errno);
    }
    next += n;
    left -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string temporary = path + ".tmp-" + std::to_string(getpid());
  // O_TRUNC rather than O_EXCL: a leftover of a dead process with our pid is ours to reuse.
  int fd = open(temporary.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::FromErrno("cannot create " + temporary, errno);
  Status status;
  if (fchmod(fd, mode) != 0) {  // the umask must not loosen or tighten what was asked
    status = Status::FromErrno("cannot set the mode of " + temporary, errno);
  }
  if (status.ok()) status = WriteAll(fd, content, temporary);
  if (status.ok() && fsync(fd) != 0) status = Status::FromErrno("cannot fsync " + temporary, errno);
  if (close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + temporary, errno);
  if (status.ok() && rename(temporary.c_str(), path.c_str()) != 0) {
    status = Status::FromErrno("cannot rename " + temporary + " to " + path, errno);
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  return FsyncParentDirectory(path);
}

Status FsyncPath(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path + " to fsync it", errno);
  Status status;
  // Some file systems cannot fsync a directory (EINVAL); there is nothing more to do there.
  if (fsync(fd) != 0 && errno != EINVAL) status = Status::FromErrno("cannot fsync " + path, errno);
  close(fd);
  return status;
}

Status FsyncParentDirectory(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return FsyncPath(parent.empty() ? "." : parent);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  std::string content;
  struct stat info;
  if (fstat(fd, &info) == 0 && info.st_size > 0) content.reserve(info.st_size);
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      close(fd);
      return Status::FromErrno("cannot read " + path, error);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

}  // namespace gb
