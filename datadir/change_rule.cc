#include "datadir/change_rule.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "datadir/tree_walker.h"
#include "io/sha256.h"

namespace gb {

const char* IndexTypeOf(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISCHR(mode)) return "char";
  if (S_ISBLK(mode)) return "block";
  return "socket";
}

int64_t TimeNs(const struct timespec& time) {
  return static_cast<int64_t>(time.tv_sec) * 1000000000 + time.tv_nsec;
}

int64_t WallClockNs() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return TimeNs(now);
}

bool IsRacy(const struct stat& st, int64_t read_at_ns) {
  return std::max(TimeNs(st.st_mtim), TimeNs(st.st_ctim)) > read_at_ns - kRacyWindowNs;
}

Result<std::string> ReadLinkAt(int dir_fd, const std::string& name, const struct stat& st,
                               const std::string& path) {
  std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
  for (;;) {
    ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (n < 0) return PathReadError(path, errno);
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);  // the link changed since lstat
  }
}

bool NeedsArchiving(const FileIndexEntry& before, const struct stat& now,
                    std::string_view link_target) {
  if (before.racy) return true;
  if (S_ISREG(now.st_mode) && now.st_nlink > 1) return true;
  // A "hardlink" entry has no content of its own: a file left alone by its group needs it.
  if (before.type != IndexTypeOf(now.st_mode)) return true;
  const uint64_t size = S_ISREG(now.st_mode) ? static_cast<uint64_t>(now.st_size) : 0;
  if (before.mode != (now.st_mode & 07777) || before.uid != now.st_uid ||
      before.gid != now.st_gid || before.size != size ||
      before.mtime_ns != TimeNs(now.st_mtim) || before.ctime_ns != TimeNs(now.st_ctim) ||
      before.inode != static_cast<uint64_t>(now.st_ino))
    return true;
  return S_ISLNK(now.st_mode) && before.link_target != link_target;
}

bool SameHeader(const FileIndexEntry& before, const struct stat& now,
                std::string_view link_target) {
  const uint64_t size = S_ISREG(now.st_mode) ? static_cast<uint64_t>(now.st_size) : 0;
  return before.type == IndexTypeOf(now.st_mode) && before.mode == (now.st_mode & 07777) &&
         before.uid == now.st_uid && before.gid == now.st_gid && before.size == size &&
         before.mtime_ns == TimeNs(now.st_mtim) &&
         (!S_ISLNK(now.st_mode) || before.link_target == link_target);
}

Result<std::string> ContentSha256At(int dir_fd, const std::string& name, const std::string& path) {
  const int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0) return PathReadError(path, errno);
  Sha256 hash;
  std::string buffer(1 << 20, '\0');
  for (;;) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return PathReadError(path, error);
    }
    if (n == 0) break;
    hash.Update(buffer.data(), static_cast<size_t>(n));
  }
  close(fd);
  return hash.HexDigest();
}

}  // namespace gb
