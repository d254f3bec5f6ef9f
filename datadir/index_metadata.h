// IndexMetadata: puts an extracted entry's mode, owner and mtime back to what the per-file
// index records, where they differ. An incremental set does not archive a folder again when
// only its mode, owner or times changed (tar would have to empty it to extract it over the
// older one), and a file that pass 2 confirmed by its content keeps an older member: in both
// cases the member's header is older than the index entry, which is the truth of the set.
//
// Thread-safety: one per thread (it caches owner lookups).
#pragma once

#include <string>

#include "datadir/file_index.h"
#include "datadir/owner_names.h"
#include "io/status.h"

namespace gb {

class IndexMetadata {
 public:
  // `root`: the directory the entries were extracted into. `owners`: set owners too (as
  // root; the names are mapped on this host like the extraction maps them).
  IndexMetadata(std::string root, bool owners) : root_(std::move(root)), owners_(owners) {}

  // Owner, then mode (chown clears set-id bits), then mtime of `entry`'s path, each only when
  // it differs (mtime: compared and set in whole seconds, as a ustar header keeps it); a
  // missing path is an error naming it. Symlinks:
  // owner and mtime only.
  Status Apply(const FileIndexEntry& entry);
  uint64_t changed() const { return changed_; }

 private:
  std::string root_;
  bool owners_;
  OwnerNames names_;
  uint64_t changed_ = 0;
};

}  // namespace gb
