// The data-dir half: a pax tar of DATA_DIR minus the excluded top-level folders, written into
// a ByteSink (libarchive, tar_member_writer.h): all of it (a full set) or what changed since
// the set it builds on (incremental), in one pass or in two (the second one with DSS stopped,
// re-reading only what changed since the first). Keeps modes, owners, mtimes, symlinks, hard
// links, extended attributes and POSIX ACLs (SCHILY.xattr / SCHILY.acl, which GNU tar --xattrs
// --acls reads too) and the holes of sparse files. The tree is read through a TreeWalker's
// directory fds, so paths longer than PATH_MAX are archived (pax path headers).
//
// By hand, a chain of halves is restored oldest first: `zstd -dc HALF | tar -x
// --recursive-unlink`, then `xargs -0 rm -rf --` of the vanished member's paths.
//
// Thread-safety: one archiver per sink; several may run at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datadir/file_index.h"
#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

// The member, first in every archive, that carries the pair identity of the set.
inline constexpr char kPairMemberName[] = ".govern-backup/pair.toml";
// The member, last in every archive (empty when nothing vanished), that lists, NUL-separated,
// the paths a by-hand restore deletes after extracting this archive over its parent's: what
// vanished since the parent, or since the first pass read it. Only the topmost path of what
// went is listed (a removed folder once), and nothing below a path that is now a file or a
// symlink (tar replaced it; `rm -rf` would follow the symlink).
inline constexpr char kVanishedMemberName[] = ".govern-backup/vanished";

struct ArchiveWriteOptions {
  std::string source_dir;                  // what to archive (the data dir, or its snapshot)
  std::vector<std::string> exclude;        // top-level names; analysis_data == analysis-data
  std::string pair_member;                 // content of .govern-backup/pair.toml
  bool online = false;                     // DSS is running: record changes instead of failing
  std::function<void(uint64_t bytes_done)> progress;  // called now and then; may be empty
  // Called once per archived member (not the pair member), in archive order, after every
  // byte of the member (padding included) reached the sink: the place to cut a frame.
  // set_id is left empty. An error stops the archive. May be empty.
  std::function<Status(const FileIndexEntry& member)> on_member;

  // The id of the set being written: the `set` of the index entries archived here.
  std::string set_id;
  // The index of the set this one builds on (an incremental set), read in path order: an
  // entry unchanged since (change_rule.h) is not archived but indexed as it is there, and its
  // entries not found any more are listed in the vanished member. nullptr: a full set.
  FileIndexReader* parent = nullptr;
  // Two passes (DSS running, offline): the first pass tolerates changes like an online one;
  // the caller stops DSS, then SecondPass re-reads what changed since, strictly.
  bool two_passes = false;
  // Two passes: the first one keeps a change journal (change_journal.h), and the second one
  // enters only the directories where something happened since. false: it stats everything.
  bool change_journal = false;
  // Every entry of the new set's index, in path order (DESIGN rule 1). One pass: called
  // during FirstPass; two passes: during WriteIndex. May be empty.
  std::function<Status(const FileIndexEntry& entry)> on_entry;
};

struct ArchiveWriteStats {
  uint64_t entries = 0;        // archived members (both passes), pair and vanished excluded
  uint64_t source_bytes = 0;   // bytes of regular-file content archived
  uint64_t vanished = 0;       // paths in the vanished member
  uint64_t second_pass = 0;    // members archived again by the second pass
  // Files the second pass read again because they were written too close to the moment the
  // first pass read them for their times to tell (racy): their content, and how many bytes.
  uint64_t racy_read_again = 0;
  uint64_t racy_bytes_read_again = 0;
  // The second pass: the paths its change journal named, or why it walked everything ("" when
  // it used the journal).
  uint64_t journal_paths = 0;
  std::string journal_not_used;
  std::vector<std::string> excluded_present;   // excluded names that existed
  std::vector<std::string> changed_while_read;  // online: relative paths
  std::vector<std::string> vanished_while_read;  // online: relative paths
};

// The data-dir half of one set, pass by pass: Start (the pair member), FirstPass, SecondPass
// when two_passes, Finish (the vanished member, last, and the end of the archive), then, with
// two passes, WriteIndex. Unreadable files are errors naming the file and errno's text;
// offline (the second pass, or one offline pass), a file that changes or vanishes while read
// is an error too. Memory hardly grows with the number of files: the parent's index and the
// first pass's entries are streamed (archive_spill.h), the latter with an index of its frames
// (some 300 bytes per thousand entries) that lets the second pass step over quiet folders.
class DataDirArchiver {
 public:
  static Result<std::unique_ptr<DataDirArchiver>> Start(const ArchiveWriteOptions& options,
                                                        ByteSink& sink);
  ~DataDirArchiver();
  Status FirstPass();
  Status SecondPass();
  Result<ArchiveWriteStats> Finish();
  Status WriteIndex();
  // Whether a failure came from reading the parent's index (then a full set may be taken).
  bool parent_failed() const;

 private:
  struct State;
  explicit DataDirArchiver(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// One pass: Start, FirstPass, Finish (and on_entry called along).
Result<ArchiveWriteStats> WriteDataDirArchive(const ArchiveWriteOptions& options, ByteSink& sink);

// Size of what WriteDataDirArchive would archive (for dry runs, estimates and free space),
// by MeasureDataDir; it runs while DSS may still write, so vanished entries are left out.
struct DataDirEstimate {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> excluded;  // name and size of excluded folders
};
Result<DataDirEstimate> EstimateDataDir(const std::string& source_dir,
                                        const std::vector<std::string>& exclude);

}  // namespace gb
