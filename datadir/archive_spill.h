// The archiver's scratch: what it must remember between the passes of one set without holding
// it in memory. EntrySpill keeps index entries (zstd-compressed binary records) in an unlinked
// temporary file; VanishedList keeps the NUL-separated paths of the half's vanished
// member the same way; IndexCursor walks a path-ordered entry stream alongside the tree walk
// (the merge-join of a pass); DirectoryChain tells which vanished paths a by-hand restore must
// delete itself. The temporary files are unlinked as soon as they are made: they go away with
// the process, whatever ends it.
//
// The second pass (DSS stopped) passes over the first pass's entries below every directory
// nothing happened in (IndexCursor::PassBelow), and that must not cost DSS's downtime in
// proportion to the size of the data dir: the spill is cut into frames indexed by their last
// path, a frame wholly below such a directory is stepped over unread, and in the frames that
// are read a record is glimpsed in place (path and type) rather than decoded. A gone marker
// carries whether the first pass found its parent to be a directory, which the second pass
// trusts below a quiet directory instead of meeting every directory there again.
//
// Thread-safety: each object is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datadir/file_index.h"
#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

// The types of a spilled marker entry: a path of the set built on that is gone now; the second
// one when the first pass found its parent to be a directory, so that the second pass lists it
// as vanished below a directory nothing happened in since without meeting that parent again.
inline constexpr char kGoneEntryType[] = "gone";
inline constexpr char kGoneInDirectoryEntryType[] = "gone-in-dir";
bool IsGoneMarker(std::string_view type);

class IndexCursor;

// An unlinked temporary file under $TMPDIR (else /tmp), open read-write; `what` names it.
class TempFile {
 public:
  static Result<std::unique_ptr<TempFile>> Create(const std::string& what);
  ~TempFile();
  int fd() const { return fd_; }
  const std::string& what() const { return what_; }
  // Back to the start, for reading.
  Status Rewind();

 private:
  TempFile(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  int fd_;
  std::string what_;
};

// The records are cut into independent zstd frames of about 128 KiB of records (their index,
// with the last path of each, is kept in memory: some 300 bytes per thousand entries), so that
// a reader steps over the frames of a quiet run without reading them.
class EntrySpill {
 public:
  static Result<std::unique_ptr<EntrySpill>> Create(const std::string& what);
  ~EntrySpill();
  Status Add(const FileIndexEntry& entry);
  Status AddGone(const std::string& path, bool parent_is_directory);
  // Ends the writing; then Reader() may be called, as many times as needed.
  Status Finish();
  // A fresh reader from the first entry.
  Result<std::function<Result<bool>(FileIndexEntry&)>> Reader();
  // A fresh cursor from the first entry, whose PassBelow skips records without decoding
  // them; `name` names the stream in errors.
  Result<std::unique_ptr<IndexCursor>> Cursor(std::string name);
  uint64_t entries() const;

 private:
  struct State;
  explicit EntrySpill(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The paths of the vanished member, in the order they are found.
class VanishedList {
 public:
  static Result<std::unique_ptr<VanishedList>> Create();
  Status Add(std::string_view path);
  uint64_t paths() const { return paths_; }
  uint64_t bytes() const { return bytes_; }
  // What was added, NUL-separated, from the start.
  Result<std::unique_ptr<ByteSource>> Read();

 private:
  explicit VanishedList(std::unique_ptr<TempFile> file) : file_(std::move(file)) {}
  std::unique_ptr<TempFile> file_;
  std::unique_ptr<ByteSource> reader_;
  uint64_t paths_ = 0;
  uint64_t bytes_ = 0;
};

// A path-ordered stream of entries (ComparePaths order) read alongside a walk.
class IndexCursor {
 public:
  using NextFn = std::function<Result<bool>(FileIndexEntry&)>;
  using PassedFn = std::function<Status(const FileIndexEntry&)>;
  // An entry passed unread below a directory: its path and type only.
  using GlimpsedFn = std::function<Status(std::string_view path, std::string_view type)>;
  // Hands the stream's next entries below `directory` to `glimpsed`, unread, and stops
  // before the first entry that is not below it. The stream's own fast way to skip.
  using SkipFn = std::function<Status(std::string_view directory, const GlimpsedFn& glimpsed)>;
  // `name` names the stream in errors. Without `skip`, PassBelow reads each entry.
  IndexCursor(NextFn next, std::string name, SkipFn skip = {})
      : next_(std::move(next)), skip_(std::move(skip)), name_(std::move(name)) {}
  // The entry at `path`, or nullptr; the entries before it are handed to `passed`. Paths
  // asked for must grow (the walk's order).
  Result<const FileIndexEntry*> Seek(std::string_view path, const PassedFn& passed);
  // Hands every entry left to `passed`.
  Status Drain(const PassedFn& passed);
  // Hands the entries below directory `path` (the next ones, as it was just sought) to
  // `glimpsed`: a subtree taken as the stream has it, unwalked. Their order is not checked.
  Status PassBelow(std::string_view path, const GlimpsedFn& glimpsed);
  // Whether reading the stream failed (damaged, out of order), as opposed to `passed`.
  bool failed() const { return failed_; }

 private:
  Status Load();

  NextFn next_;
  SkipFn skip_;
  std::string name_;
  FileIndexEntry current_;
  std::string previous_path_;
  bool loaded_ = false;
  bool at_end_ = false;
  bool failed_ = false;
};

// The walk's directories that enclose the last entry met: which vanished paths still sit
// in a directory of the new tree. A vanished path whose parent vanished too goes with it (one
// rm -rf), and one whose parent is now a file or a symlink went when tar replaced the parent;
// listing it would let `rm -rf` follow a symlink that now stands there.
class DirectoryChain {
 public:
  void Met(std::string_view path, bool is_directory);
  // Whether `path` (not met) is at the top or in a directory met and still enclosing.
  bool ParentIsDirectory(std::string_view path);

 private:
  void PopUntilAncestorOf(std::string_view path);
  std::vector<std::string> directories_;
};

}  // namespace gb
