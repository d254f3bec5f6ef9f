#include "datadir/deep_extraction.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "datadir/archive_reader.h"
#include "datadir/tree_walker.h"

namespace gb {
namespace {

// Room left for libarchive's own temporary names and the destination prefix.
constexpr size_t kDeepPath = PATH_MAX - 256;
// Anchors sit at multiples of this many characters of the member's path, so that the
// members of one deep directory share their anchor.
constexpr size_t kAnchorStep = 2048;

Status Unsafe(const std::string& member, const std::string& why) {
  return Status::Failed("archive member " + member + " " + why, kUnsafeArchiveHint);
}

}  // namespace

DeepExtraction::~DeepExtraction() {
  for (int fd : {destination_fd_, cwd_fd_, anchor_fd_})
    if (fd >= 0) ::close(fd);
}

Status DeepExtraction::Open(const std::string& destination) {
  destination_ = destination;
  const std::string root = destination.empty() ? "/" : destination;
  destination_fd_ = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (destination_fd_ < 0) return Status::FromErrno("extraction destination " + root, errno);
  cwd_fd_ = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd_fd_ < 0) return Status::FromErrno("cannot open the working directory", errno);
  return Status::Ok();
}

bool DeepExtraction::IsDeep(const std::string& name) const {
  return destination_.size() + 1 + name.size() >= kDeepPath;
}

Status DeepExtraction::OpenAnchor(const std::string& member, const std::string& prefix) {
  if (prefix == anchor_ && anchor_fd_ >= 0) return Status::Ok();
  if (anchor_fd_ >= 0) ::close(anchor_fd_);
  anchor_fd_ = -1;
  anchor_.clear();
  int fd = ::dup(destination_fd_);
  if (fd < 0) return Status::FromErrno("cannot extract archive member " + member, errno);
  size_t start = 0;
  while (start < prefix.size()) {
    size_t end = prefix.find('/', start);
    if (end == std::string::npos) end = prefix.size();
    const std::string component = prefix.substr(start, end - start);
    const int next = OpenDirectoryAt(fd, component.c_str());
    const int error = errno;
    ::close(fd);
    if (next < 0) {
      if (error == ELOOP || error == ENOTDIR) {
        return Unsafe(member, "would be written through the symlink or file " +
                                  prefix.substr(0, end) + " and could escape the destination");
      }
      return Status::FromErrno("cannot extract archive member " + member + ": opening " +
                                   prefix.substr(0, end), error);
    }
    fd = next;
    start = end + 1;
  }
  anchor_fd_ = fd;
  anchor_ = prefix;
  return Status::Ok();
}

// The directories between the anchor and the member: fstatat relative to the anchor, each
// one checked before any path goes through it.
Status DeepExtraction::CheckNoSymlinkBelowAnchor(const std::string& member,
                                                 const std::string& rest) {
  for (size_t slash = rest.find('/'); slash != std::string::npos;
       slash = rest.find('/', slash + 1)) {
    struct stat st;
    const std::string parent = rest.substr(0, slash);
    if (::fstatat(anchor_fd_, parent.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Status::Ok();  // libarchive creates the rest
      return Status::FromErrno("cannot check " + anchor_ + "/" + parent, errno);
    }
    if (S_ISLNK(st.st_mode)) {
      return Unsafe(member, "would be written through the symlink " + anchor_ + "/" + parent +
                                " and could escape the destination");
    }
  }
  return Status::Ok();
}

Result<std::string> DeepExtraction::Enter(const std::string& member, const std::string& name) {
  const size_t cut = name.rfind('/', (name.size() / kAnchorStep) * kAnchorStep);
  if (cut == std::string::npos || cut == 0 || name.size() - cut >= kDeepPath) {
    return Status::Failed("cannot extract archive member " + member +
                          ": a path component is too long");
  }
  GB_RETURN_IF_ERROR(OpenAnchor(member, name.substr(0, cut)));
  const std::string rest = name.substr(cut + 1);
  GB_RETURN_IF_ERROR(CheckNoSymlinkBelowAnchor(member, rest));
  if (::fchdir(anchor_fd_) != 0) {
    return Status::FromErrno("cannot extract archive member " + member + ": entering " + anchor_,
                             errno);
  }
  return rest;
}

Result<std::string> DeepExtraction::LinkTarget(const std::string& member,
                                               const std::string& target) {
  if (!IsDeep(target)) return destination_ + "/" + target;
  if (target.size() <= anchor_.size() || target.compare(0, anchor_.size(), anchor_) != 0 ||
      target[anchor_.size()] != '/') {
    return Status::Failed("cannot extract archive member " + member + ": its hard link target " +
                          target + " is too long a path from there");
  }
  const std::string rest = target.substr(anchor_.size() + 1);
  GB_RETURN_IF_ERROR(CheckNoSymlinkBelowAnchor(member, rest + "/"));
  return rest;
}

Status DeepExtraction::Leave() {
  if (::fchdir(cwd_fd_) != 0) return Status::FromErrno("cannot return to the working directory", errno);
  return Status::Ok();
}

void DeepExtraction::RememberDirectory(const std::string& name, mode_t mode,
                                       struct timespec mtime) {
  directories_.push_back({name, mode, mtime});
}

Status DeepExtraction::FixDirectories() {
  // Archive order has parents first: backwards, a directory's mtime is set after its
  // children were created.
  for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) {
    const size_t slash = it->name.rfind('/');
    GB_RETURN_IF_ERROR(OpenAnchor(it->name, it->name.substr(0, slash)));
    const int fd = OpenDirectoryAt(anchor_fd_, it->name.substr(slash + 1).c_str());
    if (fd < 0) return Status::FromErrno("cannot set the mode and mtime of " + it->name, errno);
    const struct timespec times[2] = {{0, UTIME_OMIT}, it->mtime};
    const bool done = ::fchmod(fd, it->mode & 07777) == 0 && ::futimens(fd, times) == 0;
    const int error = errno;
    ::close(fd);
    if (!done) return Status::FromErrno("cannot set the mode and mtime of " + it->name, error);
  }
  directories_.clear();
  return Status::Ok();
}

}  // namespace gb
