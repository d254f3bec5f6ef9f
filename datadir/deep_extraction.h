// DeepExtraction: extracting members whose path below the destination is longer than
// PATH_MAX allows (DSS trees can be that deep; GNU tar archives and restores them).
//
// archive_write_disk takes names, not directory fds, so such a member is named relative to
// an "anchor": a directory of its path, opened component by component from the destination
// without following symlinks, that becomes the working directory while the member is
// written. libarchive's own deep-path support (a chdir per member) leaves the deferred fixes
// of directories (mode, mtime) to full names that no call can reach; the directories placed
// here are fixed by DeepExtraction instead, through fds, after libarchive's close. Their
// POSIX ACLs (deferred by libarchive too) are not restored; their files' are.
//
// Thread-safety: changes the process's working directory between Enter and Leave: one
// extraction at a time, and no other thread may use relative paths meanwhile (none does).
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

#include "io/status.h"

namespace gb {

class DeepExtraction {
 public:
  DeepExtraction() = default;
  ~DeepExtraction();
  DeepExtraction(const DeepExtraction&) = delete;
  DeepExtraction& operator=(const DeepExtraction&) = delete;

  // `destination`: the resolved extraction root ("" for "/").
  Status Open(const std::string& destination);

  // Whether `name` (relative to the destination) is too long a path to hand to libarchive.
  bool IsDeep(const std::string& name) const;

  // Makes the working directory the anchor of `name` and returns `name` relative to it.
  // Fails (with kUnsafeArchiveHint) if a directory on the way is a symlink.
  Result<std::string> Enter(const std::string& member, const std::string& name);
  // A hard link target for the member entered: relative to its anchor, or destination-
  // prefixed when short enough.
  Result<std::string> LinkTarget(const std::string& member, const std::string& target);
  // Back to the working directory of the process.
  Status Leave();

  // A directory placed by Enter, to be given `mode` and `mtime` by FixDirectories.
  void RememberDirectory(const std::string& name, mode_t mode, struct timespec mtime);
  // Sets the remembered directories' modes and mtimes, deepest first.
  Status FixDirectories();

 private:
  struct Directory {
    std::string name;
    mode_t mode;
    struct timespec mtime;
  };

  Status OpenAnchor(const std::string& member, const std::string& prefix);
  Status CheckNoSymlinkBelowAnchor(const std::string& member, const std::string& rest);

  std::string destination_;
  int destination_fd_ = -1;
  int cwd_fd_ = -1;
  std::string anchor_;  // the anchor's path relative to the destination
  int anchor_fd_ = -1;
  std::vector<Directory> directories_;
};

}  // namespace gb
