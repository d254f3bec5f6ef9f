#include "datadir/index_metadata.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gb {
namespace {

Status SetFailed(const std::string& what, const std::string& path) {
  return Status::Failed("cannot set the " + what + " of " + path + ": " + std::strerror(errno));
}

}  // namespace

Status IndexMetadata::Apply(const FileIndexEntry& entry) {
  const std::string path = root_ + "/" + entry.path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return Status::Failed("cannot read " + path + " after extracting it: " + std::strerror(errno));
  const bool symlink = S_ISLNK(st.st_mode);
  bool changed = false;
  if (owners_ && geteuid() == 0) {
    const uid_t uid = names_.UidOf(entry.user, static_cast<uid_t>(entry.uid));
    const gid_t gid = names_.GidOf(entry.group, static_cast<gid_t>(entry.gid));
    if (st.st_uid != uid || st.st_gid != gid) {
      if (::lchown(path.c_str(), uid, gid) != 0) return SetFailed("owner", path);
      changed = true;
      if (!symlink && ::lstat(path.c_str(), &st) != 0) return SetFailed("owner", path);
    }
  }
  if (!symlink && (st.st_mode & 07777) != entry.mode) {
    if (::chmod(path.c_str(), static_cast<mode_t>(entry.mode)) != 0) return SetFailed("mode", path);
    changed = true;
  }
  // Whole seconds: a plain ustar header keeps no more, so every member would differ in its
  // nanoseconds; a header older than the index differs in seconds.
  const int64_t index_seconds =
      entry.mtime_ns >= 0 ? entry.mtime_ns / 1000000000 : -((-entry.mtime_ns + 999999999) / 1000000000);
  if (static_cast<int64_t>(st.st_mtim.tv_sec) != index_seconds) {
    // Whole seconds, as the member of a full set would give them: a restore of a chain and
    // one of a full set of the same moment make the same tree.
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;  // atime is not kept
    times[1].tv_sec = static_cast<time_t>(index_seconds);
    times[1].tv_nsec = 0;
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return SetFailed("modification time", path);
    changed = true;
  }
  if (changed) ++changed_;
  return Status::Ok();
}

}  // namespace gb
