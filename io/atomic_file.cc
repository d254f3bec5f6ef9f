#include "io/atomic_file.h"

#include "io/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace gb {
namespace {

// Beside `path`, named by the writer's pid.
std::string TemporaryPrefix(const std::string& path) { return path + ".tmp-"; }

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string temporary = TemporaryPrefix(path) + std::to_string(getpid());
  // O_TRUNC rather than O_EXCL: a leftover of a dead process with our pid is ours to reuse.
  int fd = open(temporary.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::FromErrno("cannot create " + temporary, errno);
  Status status;
  if (fchmod(fd, mode) != 0) {  // the umask must not loosen or tighten what was asked
    status = Status::FromErrno("cannot set the mode of " + temporary, errno);
  }
  if (status.ok()) status = WriteAll(fd, content.data(), content.size(), temporary);
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

Status RemoveAtomicWriteLeftovers(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string prefix = fs::path(TemporaryPrefix(path)).filename().string();
  const fs::path parent = fs::path(path).parent_path();
  std::error_code error;
  for (fs::directory_iterator it(parent.empty() ? "." : parent, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (name.find_first_not_of("0123456789", prefix.size()) != std::string::npos) continue;
    if (unlink(it->path().c_str()) != 0 && errno != ENOENT)
      return Status::FromErrno("cannot remove the leftover " + it->path().string(), errno,
                               "a temporary file of a killed writer: remove it by hand");
  }
  if (error) return Status::FromErrno("cannot list " + parent.string(), error.value());
  return Status();
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

}  // namespace gb
