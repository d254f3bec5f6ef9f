#include "io/files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace gb {

Status WriteAll(int fd, const void* data, size_t size, const std::string& what) {
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, next, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot write " + what, errno);
    }
    next += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteFile(const std::string& path, std::string_view content, mode_t mode) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  Status status;
  if (::fchmod(fd, mode) != 0) status = Status::FromErrno("cannot set the mode of " + path, errno);
  if (status.ok()) status = WriteAll(fd, content.data(), content.size(), path);
  if (::close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + path, errno);
  return status;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  std::string content;
  struct stat info;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) content.reserve(static_cast<size_t>(info.st_size));
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return Status::FromErrno("cannot read " + path, error);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix) {
  std::string pattern = (parent.empty() ? std::string("/tmp") : parent) + "/" + prefix + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::FromErrno("cannot create a temporary directory " + pattern, errno);
  }
  return pattern;
}

}  // namespace gb
