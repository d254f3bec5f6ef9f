// Reading the data-dir half back: a scan that reads every member through (verify), and a
// safe extraction (restore) that refuses absolute paths, "..", and writing through symlinks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

struct ArchiveScan {
  uint64_t entries = 0;       // members, the pair member excluded
  uint64_t source_bytes = 0;  // bytes of regular-file content
  std::string pair_member;    // content of .govern-backup/pair.toml ("" if absent)
};

// The hint of every failure caused by an unsafe archive: a member that is absolute, has
// "..", or would be written through a symlink, i.e. an archive not made by govern-backup.
inline constexpr char kUnsafeArchiveHint[] =
    "the archive was not made by govern-backup or was tampered with";

// Whether `status` is such a failure. datadir/ does not decide exit codes: a restore maps
// these to a refusal (Code::kRefused), other failures (I/O, damage) stay failures.
bool IsUnsafeArchive(const Status& status);

// Reads the whole tar stream, every member's data included. A malformed or truncated
// archive, or an unsafe member name (IsUnsafeArchive), is an error naming the member.
Result<ArchiveScan> ScanArchive(ByteSource& tar_stream);

// One extracted member as the index describes it (datadir/file_index.h's vocabulary).
struct ExtractedMember {
  std::string path;         // normalized: relative, no "./", no trailing '/'
  std::string type;         // file | dir | symlink | hardlink | fifo | char | block
  uint64_t size = 0;        // content bytes of a regular file (holes included)
  std::string sha256;       // of a regular file's content (holes as zeros); "" otherwise
  std::string link_target;  // symlink target, or the (normalized) path a hard link names
};

struct ExtractOptions {
  std::string destination;      // must exist and be empty
  bool restore_owners = true;   // as tar -xp as root; ignored when not root
};

// Called after each member is written (the pair member excluded), with its content's
// SHA-256 computed on the way to the disk: a caller checks the tree against an index
// without reading every file again. An error stops the extraction.
using ExtractedMemberVisitor = std::function<Status(const ExtractedMember&)>;

// Extracts into `destination` with modes, owners (when root), mtimes, symlinks, hard links,
// extended attributes, POSIX ACLs and holes. Fails (IsUnsafeArchive) on absolute members,
// "..", and any member whose path would pass through a symlink. The pair member is not
// extracted; it is returned in the scan. I/O errors name their cause (errno's text).
// On error, what was extracted so far stays in `destination`: the caller removes it.
// With `on_member`, each member is reported (and each regular file hashed) as it is written.
Result<ArchiveScan> ExtractArchive(ByteSource& tar_stream, const ExtractOptions& options,
                                   const ExtractedMemberVisitor& on_member = {});

}  // namespace gb
