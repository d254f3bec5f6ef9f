// MeasureTree: the one count of what a tree holds, used wherever a tree is measured or
// checked (the pre-flight estimate, the archive's expected size, the staged and the
// test-extracted trees of restore and verify). It walks with several TreeWalkers sharing a
// queue of subtrees, so that a cold tree of many small files is measured at the disk's
// parallel speed (it runs before DSS is stopped, on the path of every backup).
//
// The counting rule (the archive writer archives by the same rule, so that the two agree):
//  - an entry is every name below the root, whatever its type (file, directory, symlink,
//    fifo, device), except sockets, which a tar cannot carry; the root itself is not one;
//  - bytes are the apparent sizes (st_size) of regular files; a file with several hard
//    links is one entry per name but its bytes count once; holes of sparse files count;
//  - `skip_top` leaves out top-level names, entries and bytes below them included;
//    MeasureDataDir skips the data dir's live `.govern-backup` identity folder and the
//    excluded names (analysis_data == analysis-data), as the archive does;
//  - an entry that vanishes between its listing and its stat (or a directory before it is
//    opened) is not counted, and its path is listed in `vanished`: DSS may be writing;
//  - any other error (permission, I/O) fails the count, naming the path and errno's text.
//
// Thread-safety: MeasureTree may be called from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datadir/tree_walker.h"
#include "io/status.h"

namespace gb {

struct TreeStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  std::vector<std::string> vanished;  // relative paths, in no particular order
};

Result<TreeStats> MeasureTree(const std::string& root, const SkipTopFn& skip_top = {},
                              int threads = 8);

// What WriteDataDirArchive archives of `root` (the pair member aside), and what a tree
// extracted from such an archive holds: call it with `exclude` empty on a staged or test-
// extracted tree to compare with the manifest's datadir.files and datadir.source_bytes.
Result<TreeStats> MeasureDataDir(const std::string& root,
                                 const std::vector<std::string>& exclude = {});

}  // namespace gb
