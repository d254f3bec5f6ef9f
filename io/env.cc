#include "io/env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "io/atomic_file.h"

namespace gb {

Env* Env::Default() {
  static Env env;
  return &env;
}

Status Env::Rename(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) == 0) return Status::Ok();
  int error = errno;
  std::string hint;
  if (error == EXDEV) hint = "both paths must be on the same file system";
  return Status::FromErrno("cannot rename " + from + " to " + to, error, hint);
}

Status Env::CreateDirectory(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0) {
    return Status::FromErrno("cannot create directory " + path, errno);
  }
  // mkdir applies the umask; the caller's mode is what it needs (e.g. 0700 for a set).
  if (chmod(path.c_str(), mode) != 0) {
    return Status::FromErrno("cannot set the mode of directory " + path, errno);
  }
  return Status::Ok();
}

Status Env::RemoveAll(const std::string& path) {
  // remove_all removes symbolic links themselves and never follows them.
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) return Status::Failed("cannot remove " + path + ": " + error.message());
  return Status::Ok();
}

Status Env::WriteFileAtomically(const std::string& path, const std::string& content,
                                mode_t mode) {
  return gb::WriteFileAtomically(path, content, mode);
}

std::chrono::system_clock::time_point Env::Now() { return std::chrono::system_clock::now(); }

std::string Env::HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

}  // namespace gb
