// ChangeJournal: what changed in the data dir between the first pass of an offline backup and
// the DSS stop, as inotify reports it, so that the second pass (DSS stopped) enters only the
// directories where something happened instead of stat'ing every entry: DSS is then down for
// what changed, not for the size of the data dir.
//
// The first pass watches each directory before it lists the directory's children (Watch):
// whatever happens in a directory after that raises an event, and what happened before was
// seen by the first pass itself. A directory created or moved in since is entered whole. The
// second pass asks MustEnter for each directory it meets (its own entry changed or not: a
// chmod, or times too recent to trust, say nothing of what is below) and takes the first
// pass's entries below one it need not enter as they are, racy ones included.
//
// A write through one name of a hard-linked file raises no event under its other names: the
// caller marks every name of a hard-link group (Look), and the second pass stats them all.
//
// The journal gives up (usable() is false, why_not() says why, and the second pass walks
// everything, as without it) when inotify is not available, a watch cannot be added (the
// fs.inotify.max_user_watches limit), the kernel's event queue overflowed, or too many paths
// changed. Writes through a shared memory mapping raise no event at all (inotify's limit):
// a node where something writes the data dir that way sets [backup] change_journal = false.
// Nor does a new hard link to a file, under the file's first name: such a pair is restored
// as two files with the same content.
//
// Thread-safety: one thread.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gb {

class ChangeJournal {
 public:
  // Never null: a journal that could not start is not usable().
  static std::unique_ptr<ChangeJournal> Start();
  ~ChangeJournal();
  ChangeJournal(const ChangeJournal&) = delete;
  ChangeJournal& operator=(const ChangeJournal&) = delete;

  // Watches the open directory `fd` at `relative` ("" = the root). Directories are watched in
  // the walk's order (pre-order), each after its parent.
  void Watch(int fd, std::string_view relative);
  // Reads the events queued so far without waiting. Called now and then during the first pass
  // (the kernel's queue is bounded) and once after DSS stopped.
  void Collect();
  // The second pass must stat `path` (relative) whatever happens.
  void Look(const std::string& path) { Changed(path); }
  // From now on the journal is not used, for `why`.
  void GiveUp(std::string why);

  bool usable() const { return why_not_.empty(); }
  const std::string& why_not() const { return why_not_; }
  // Paths (relative) where something happened (changed, created, removed, moved, chmod'ed),
  // and those marked by Look.
  size_t changed_paths() const { return changed_.size(); }
  // Whether the second pass must look inside directory `relative`: something happened in it
  // or below it, or it is new since its parent was listed (or lies in such a directory).
  bool MustEnter(std::string_view relative) const;

 private:
  ChangeJournal() = default;
  struct Directory {
    int parent = 0;    // watch descriptor of the parent; 0 for the root
    std::string name;  // last component; "" for the root
  };
  std::string PathOf(int watch) const;
  void Changed(const std::string& path);

  int fd_ = -1;
  std::vector<Directory> directories_;  // by watch descriptor (the kernel numbers them from 1)
  std::vector<std::pair<std::string, int>> open_chain_;  // the walk's ancestors: path, watch
  std::set<std::string> changed_;
  std::set<std::string> enter_;     // every directory above a changed path
  std::set<std::string> new_dirs_;  // created or moved in: entered whole
  std::string why_not_;
};

}  // namespace gb
