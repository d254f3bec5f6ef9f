// SetDiff: what changed between two sets of a repository, from what the sets record about
// themselves, without reading their halves: files added, removed and changed (by merging the
// two per-file indexes as streams, both in ComparePaths order: never one whole in memory),
// and tables whose row count or content hash differ (from the manifests).
//
// A file is "changed" when what a restore makes of it differs: type, content, size, mode,
// owner or link target. Its mtime, ctime, inode and which set holds its bytes are not
// compared: a file re-archived unchanged (e.g. racy) is not a change.
//
// Thread-safety: plain functions; one call per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "datadir/file_index.h"
#include "io/status.h"

namespace gb {

enum class ChangeKind { kAdded, kRemoved, kChanged };
const char* ToString(ChangeKind kind);  // "added" | "removed" | "changed"

struct FileChange {
  ChangeKind kind = ChangeKind::kChanged;
  std::string path;
  std::vector<std::string> fields;     // kChanged: of "type", "content", "size", "mode",
                                       // "owner", "link"
  const FileIndexEntry* from = nullptr;  // absent for kAdded; valid during the visit only
  const FileIndexEntry* to = nullptr;    // absent for kRemoved
};

struct ChangeCounts {
  uint64_t added = 0;
  uint64_t removed = 0;
  uint64_t changed = 0;
  uint64_t unchanged = 0;
};

// The fields in which `to` differs from `from` (same path), in FileChange::fields' order.
std::vector<std::string> ChangedFields(const FileIndexEntry& from, const FileIndexEntry& to);

// Calls `visit` for every file added, removed or changed from set `from` to set `to`, in
// path order, reading both indexes once. A set without an index is NoIndexError; an index
// out of order is an error naming it.
Result<ChangeCounts> DiffFiles(const Repository& repository, const Manifest& from,
                               const Manifest& to,
                               const std::function<Status(const FileChange&)>& visit);

struct TableChange {
  ChangeKind kind = ChangeKind::kChanged;
  std::string table;                // "schema.table"
  std::vector<std::string> fields;  // kChanged: "rows" and/or "content"
  std::optional<uint64_t> from_rows, to_rows;
  std::string from_hash, to_hash;   // "" when the set recorded none
};

struct TableDiff {
  std::vector<TableChange> changes;  // by table name
  ChangeCounts counts;
  // False when one of the sets records no content hashes (an older set) or hashes of
  // another scheme: only row counts were compared; `note` says so, naming the set.
  bool contents_compared = true;
  std::string note;
};

// The tables of `from` and `to` compared by their recorded row counts and content hashes.
// A set without a database half (or without row counts) is an error naming it.
Result<TableDiff> DiffTables(const Manifest& from, const Manifest& to);

}  // namespace gb
