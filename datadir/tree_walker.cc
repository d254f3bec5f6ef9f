#include "datadir/tree_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace gb {
namespace {

WalkTestHook& TestHook() {
  static WalkTestHook hook;
  return hook;
}

void CallTestHook(WalkStage stage, int parent_fd, const char* name) {
  if (TestHook()) TestHook()(stage, parent_fd, name);
}

std::string JoinRelative(std::string_view parent, std::string_view name) {
  std::string out;
  out.reserve(parent.size() + 1 + name.size());
  out.append(parent);
  if (!out.empty()) out += '/';
  out.append(name);
  return out;
}

}  // namespace

void SetWalkTestHook(WalkTestHook hook) { TestHook() = std::move(hook); }

int OpenDirectoryAt(int dir_fd, const char* name) {
  return ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

bool IsVanishedErrno(int error, bool opening_directory) {
  if (error == ENOENT) return true;
  // O_DIRECTORY | O_NOFOLLOW on what is now a file or a symlink.
  return opening_directory && (error == ENOTDIR || error == ELOOP);
}

Status PathReadError(const std::string& path, int error) {
  Status status = Status::FromErrno("cannot read " + path, error);
  if (error == EACCES || error == EPERM) return status.WithHint(kReadPermissionHint);
  return status;
}

struct TreeWalker::Listed {
  std::string name;
  struct stat st;
};

struct TreeWalker::Level {
  int fd = -1;           // -1 while closed to bound the open fds (see kMaxOpenLevels)
  std::string name;      // component, to reopen it from its parent
  std::string relative;  // path from the root ("" for the root)
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<Listed> entries;
  size_t next = 0;
  ~Level() {
    if (fd >= 0) ::close(fd);
  }
};

TreeWalker::TreeWalker(std::string display_root, std::string prefix, SkipTopFn skip_top)
    : display_root_(std::move(display_root)), prefix_(std::move(prefix)),
      skip_top_(std::move(skip_top)) {}

TreeWalker::~TreeWalker() {
  if (pending_fd_ >= 0) ::close(pending_fd_);
}

Result<std::unique_ptr<TreeWalker>> TreeWalker::Open(const std::string& root, SkipTopFn skip_top) {
  std::string display = root;
  while (display.size() > 1 && display.back() == '/') display.pop_back();
  int fd = ::open(display.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOTDIR) return Status::Failed(display + " is not a directory");
    return PathReadError(display, error);
  }
  return Adopt(fd, display == "/" ? "" : display, "", std::move(skip_top));
}

std::unique_ptr<TreeWalker> TreeWalker::Adopt(int fd, std::string display_root,
                                              std::string prefix, SkipTopFn skip_top) {
  std::unique_ptr<TreeWalker> walker(
      new TreeWalker(std::move(display_root), std::move(prefix), std::move(skip_top)));
  walker->pending_fd_ = fd;  // entered by the first Next()
  return walker;
}

int TreeWalker::root_fd() const { return levels_.empty() ? pending_fd_ : levels_.front()->fd; }

std::string TreeWalker::Display(std::string_view relative) const {
  if (relative.empty()) return display_root_.empty() ? "/" : display_root_;
  return display_root_ + "/" + std::string(relative);
}

void TreeWalker::Vanished(std::string relative) { vanished_.push_back(std::move(relative)); }

// Lists `level` whole, each entry lstat-ed, sorted by name.
Status TreeWalker::List(Level& level) {
  const int listing_fd = ::dup(level.fd);
  if (listing_fd < 0) return PathReadError(Display(level.relative), errno);
  DIR* dir = ::fdopendir(listing_fd);
  if (dir == nullptr) {
    const int error = errno;
    ::close(listing_fd);
    return PathReadError(Display(level.relative), error);
  }
  const bool top = levels_.size() == 1 && prefix_.empty();
  Status status;
  for (;;) {
    errno = 0;
    struct dirent* found = ::readdir(dir);
    if (found == nullptr) {
      if (errno != 0) status = PathReadError(Display(level.relative), errno);
      break;
    }
    const char* name = found->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    if (top && skip_top_ && skip_top_(name)) continue;
    CallTestHook(WalkStage::kListed, level.fd, name);
    Listed listed{name, {}};
    if (::fstatat(level.fd, name, &listed.st, AT_SYMLINK_NOFOLLOW) != 0) {
      const int error = errno;
      if (IsVanishedErrno(error, false)) {
        Vanished(JoinRelative(level.relative, name));
        continue;
      }
      status = PathReadError(Display(JoinRelative(level.relative, name)), error);
      break;
    }
    level.entries.push_back(std::move(listed));
  }
  ::closedir(dir);
  std::sort(level.entries.begin(), level.entries.end(),
            [](const Listed& a, const Listed& b) { return a.name < b.name; });
  return status;
}

// Enters the directory returned last (or the root, on the first call).
Status TreeWalker::Descend() {
  auto level = std::make_unique<Level>();
  level->fd = pending_fd_;
  pending_fd_ = -1;
  struct stat st;
  if (::fstat(level->fd, &st) != 0) return PathReadError(Display(current_relative_), errno);
  level->dev = st.st_dev;
  level->ino = st.st_ino;
  if (levels_.empty()) {
    level->relative = prefix_;
  } else {
    level->name = std::string(current_.name);
    level->relative = current_relative_;
  }
  levels_.push_back(std::move(level));
  CloseShallowLevels();
  return List(*levels_.back());
}

// Keeps at most kMaxOpenLevels directory fds (plus the root's): a path deeper than the fd
// limit is still walked.
void TreeWalker::CloseShallowLevels() {
  if (levels_.size() <= static_cast<size_t>(kMaxOpenLevels) + 1) return;
  Level& shallow = *levels_[levels_.size() - kMaxOpenLevels - 1];
  if (shallow.fd >= 0) {
    ::close(shallow.fd);
    shallow.fd = -1;
  }
}

// Reopens the top level, closed while the walk was deeper, by name from its nearest open
// ancestor; the directories on the way keep their fds within the kMaxOpenLevels window.
// A directory on the way that is gone or no longer the one listed makes the top vanished.
Status TreeWalker::ReopenTop() {
  const size_t top = levels_.size() - 1;
  size_t open = top;
  while (levels_[open]->fd < 0) --open;  // the root is never closed
  int parent = levels_[open]->fd;
  for (size_t k = open + 1; k <= top; ++k) {
    Level& level = *levels_[k];
    const bool parent_kept = levels_[k - 1]->fd == parent;
    const int fd = OpenDirectoryAt(parent, level.name.c_str());
    const int error = errno;
    if (!parent_kept) ::close(parent);
    struct stat st;
    const bool same = fd >= 0 && ::fstat(fd, &st) == 0 && st.st_dev == level.dev &&
                      st.st_ino == level.ino;
    if (!same) {
      if (fd >= 0) ::close(fd);
      if (fd >= 0 || IsVanishedErrno(error, true)) {
        Vanished(levels_[top]->relative);
        levels_[top]->entries.clear();
        return Status::Ok();
      }
      return PathReadError(Display(level.relative), error);
    }
    if (top - k < static_cast<size_t>(kMaxOpenLevels)) level.fd = fd;
    parent = fd;
  }
  return Status::Ok();
}

Result<const WalkEntry*> TreeWalker::Next() {
  if (pending_fd_ >= 0) GB_RETURN_IF_ERROR(Descend());
  while (!levels_.empty()) {
    Level& level = *levels_.back();
    if (level.next == level.entries.size()) {
      levels_.pop_back();
      if (!levels_.empty() && levels_.back()->fd < 0) GB_RETURN_IF_ERROR(ReopenTop());
      continue;
    }
    Listed& listed = level.entries[level.next++];
    current_relative_ = JoinRelative(level.relative, listed.name);
    int fd = -1;
    if (S_ISDIR(listed.st.st_mode)) {
      CallTestHook(WalkStage::kOpeningDirectory, level.fd, listed.name.c_str());
      fd = OpenDirectoryAt(level.fd, listed.name.c_str());
      if (fd < 0) {
        const int error = errno;
        if (IsVanishedErrno(error, true)) {
          Vanished(current_relative_);
          continue;
        }
        return PathReadError(Display(current_relative_), error);
      }
      pending_fd_ = fd;
    }
    current_.name = listed.name;
    current_.relative = current_relative_;
    current_.st = listed.st;
    current_.parent_fd = level.fd;
    current_.fd = fd;
    current_.depth = static_cast<int>(levels_.size());
    return &current_;
  }
  return static_cast<const WalkEntry*>(nullptr);
}

int TreeWalker::TakeDirectory() {
  const int fd = pending_fd_;
  pending_fd_ = -1;
  return fd;
}

}  // namespace gb
