// Reading the data-dir half back: a scan that reads every member through (verify), and a
// safe extraction (restore) that refuses absolute paths, "..", and writing through symlinks.
#pragma once

#include <cstdint>
#include <string>

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

struct ArchiveScan {
  uint64_t entries = 0;       // members, the pair member excluded
  uint64_t source_bytes = 0;  // bytes of regular-file content
  std::string pair_member;    // content of .govern-backup/pair.toml ("" if absent)
};

// Reads the whole tar stream, every member's data included. A malformed or truncated
// archive, or an unsafe member name, is an error naming the member.
Result<ArchiveScan> ScanArchive(ByteSource& tar_stream);

struct ExtractOptions {
  std::string destination;      // must exist and be empty
  bool restore_owners = true;   // as tar -xp as root; ignored when not root
};

// Extracts into `destination` with modes, owners (when root), mtimes, symlinks and hard
// links. Refuses (Code::kRefused) absolute members, "..", and any member whose path would
// pass through a symlink. The pair member is not extracted; it is returned in the scan.
// On error, what was extracted so far stays in `destination`: the caller removes it.
Result<ArchiveScan> ExtractArchive(ByteSource& tar_stream, const ExtractOptions& options);

}  // namespace gb
