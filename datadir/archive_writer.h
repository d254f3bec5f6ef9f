// The data-dir half: a pax tar of DATA_DIR minus the excluded top-level folders, written in
// one pass into a ByteSink (libarchive). Keeps modes, owners, mtimes, symlinks, hard links,
// extended attributes and POSIX ACLs (SCHILY.xattr / SCHILY.acl, which GNU tar --xattrs
// --acls reads too) and the holes of sparse files. The tree is read through a TreeWalker's
// directory fds, so paths longer than PATH_MAX are archived (pax path headers).
//
// Thread-safety: one WriteDataDirArchive per sink; several may run at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datadir/file_index.h"
#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

// The member, first in every archive, that carries the pair identity of the set.
inline constexpr char kPairMemberName[] = ".govern-backup/pair.toml";
// The member, last in an incremental set's archive (and in a set taken in two passes), that
// lists, NUL-separated, the paths a by-hand restore deletes after extracting this archive
// over its parent's: what vanished since the parent, or since the first pass read it.
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
};

struct ArchiveWriteStats {
  uint64_t entries = 0;        // archived entries (files, dirs, links), pair member excluded
  uint64_t source_bytes = 0;   // bytes of regular-file content
  std::vector<std::string> excluded_present;   // excluded names that existed
  std::vector<std::string> changed_while_read;  // online: relative paths
  std::vector<std::string> vanished_while_read;  // online: relative paths
};

// Archives `options.source_dir` into `sink`. Offline, a file that changes or vanishes while
// read is an error; online it is recorded. Unreadable files are errors naming the file and
// errno's text. Entries and bytes are counted by MeasureDataDir's rule (tree_stats.h).
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
