// TreeWalker: the one walk of a directory tree that every datadir reader shares (the archive
// writer, the read-ahead, MeasureTree). It works on directory file descriptors (openat,
// fstatat with AT_SYMLINK_NOFOLLOW, fdopendir), so that a tree deeper than PATH_MAX is walked
// like any other, and it never follows a symlink.
//
// Order: name-sorted pre-order; the root itself is not an entry. At most kMaxOpenLevels
// directory fds are held: deeper, the fds of the shallower levels are closed and reopened by
// name from the nearest open ancestor on the way back up.
//
// Vanished entries: DSS may be writing while we walk. An entry whose fstatat says ENOENT, or a
// directory whose openat says ENOENT / ENOTDIR / ELOOP (removed, or replaced by a file or a
// symlink) after it was listed, is "vanished": it is not returned, and its path is recorded in
// vanished() so that the caller decides (online backups list it, the pre-flight ignores it,
// an offline backup fails). Every other error names the path and errno's text.
//
// Thread-safety: one walker per thread. Separate walkers may run at once.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace gb {

// Whether a top-level name (a direct child of the root) is left out, neither returned nor
// entered.
using SkipTopFn = std::function<bool(std::string_view name)>;

struct WalkEntry {
  std::string_view name;      // last component
  std::string_view relative;  // from the root, "config/general-settings.json"
  struct stat st;             // lstat of the entry, as listed
  int parent_fd = -1;         // the open parent directory: openat/readlinkat(parent_fd, name)
  int fd = -1;                // for a directory: itself, open; -1 for other entries
  int depth = 0;              // 1 for the root's children
};

class TreeWalker {
 public:
  static constexpr int kMaxOpenLevels = 64;

  // Opens `root` (a directory; a symlink to one is followed, as the data dir may be one).
  static Result<std::unique_ptr<TreeWalker>> Open(const std::string& root, SkipTopFn skip_top = {});
  // Walks the directory `fd` (taken over: the walker closes it), naming paths in messages
  // and vanished() as `prefix` + "/" + relative; entries' `relative` also start with `prefix`
  // when it is not empty. skip_top applies to the children of `fd` only when `prefix` is empty.
  static std::unique_ptr<TreeWalker> Adopt(int fd, std::string display_root, std::string prefix,
                                           SkipTopFn skip_top = {});
  ~TreeWalker();
  TreeWalker(const TreeWalker&) = delete;
  TreeWalker& operator=(const TreeWalker&) = delete;

  // The next entry, or nullptr at the end. The entry and its fds stay valid until the next
  // call. A directory entry is entered on the next call unless TakeDirectory() took it.
  Result<const WalkEntry*> Next();

  // Takes the fd of the directory entry just returned (the caller now owns and closes it);
  // the walker does not enter it. Lets MeasureTree hand subtrees to other threads.
  int TakeDirectory();

  // Paths (from the root) of the entries that vanished after they were listed.
  const std::vector<std::string>& vanished() const { return vanished_; }
  const std::string& display_root() const { return display_root_; }
  int root_fd() const;

 private:
  struct Listed;
  struct Level;

  TreeWalker(std::string display_root, std::string prefix, SkipTopFn skip_top);
  Status List(Level& level);
  Status Descend();
  Status ReopenTop();
  void CloseShallowLevels();
  void Vanished(std::string relative);
  std::string Display(std::string_view relative) const;
  std::string ChildPath(const Level& level, std::string_view name) const;

  std::string display_root_;
  std::string prefix_;
  SkipTopFn skip_top_;
  std::vector<std::unique_ptr<Level>> levels_;
  WalkEntry current_;
  std::string current_relative_;
  int pending_fd_ = -1;  // the directory just returned, to enter on the next call
  std::vector<std::string> vanished_;
};

// A directory opened for walking: O_DIRECTORY | O_NOFOLLOW, relative to `dir_fd`.
int OpenDirectoryAt(int dir_fd, const char* name);

// Whether an errno from fstatat/openat on a listed entry means it vanished meanwhile.
bool IsVanishedErrno(int error, bool opening_directory);

// Test seam: called between readdir and fstatat (kListed) and before a listed directory is
// opened (kOpeningDirectory), with the parent's fd and the entry's name, so that a test can
// remove or replace the entry at exactly that moment. Set only by tests, before walking;
// called from every walking thread.
enum class WalkStage { kListed, kOpeningDirectory };
using WalkTestHook = std::function<void(WalkStage stage, int parent_fd, const char* name)>;
void SetWalkTestHook(WalkTestHook hook);

// Hint for permission errors met while reading a tree.
inline constexpr char kReadPermissionHint[] =
    "run govern-backup as root or as the owner of the data directory";

// "cannot read <path>: <strerror>", with kReadPermissionHint for EACCES / EPERM.
Status PathReadError(const std::string& path, int error);

}  // namespace gb
