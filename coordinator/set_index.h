// SetIndex: the per-file index of a set (datadir/file_index.h) read from the repository,
// streamed, and the entries that lie under the paths a command names (ls, extract). A
// format-1 set (0.1.0) has no index: opening it says so, with what to do instead.
//
// Thread-safety: one thread per call; nothing is shared between calls.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "datadir/file_index.h"
#include "io/zstd_file.h"
#include "io/status.h"

namespace gb {

// `path` as the index spells members: relative, no "./", no trailing '/'; "" = the whole
// set. A ".." component is a usage error (nothing outside the data dir is in a set).
Result<std::string> NormalizeSetPath(const std::string& path);

// Whether `entry_path` is `selected` or lies under it ("" selects everything).
bool IsUnder(const std::string& entry_path, const std::string& selected);

// Calls `visit` for every index entry under one of `paths` (normalized), in archive order,
// reading the index once as a stream (decompressed only up to the last selected path, all of
// it hashed). A path with no entry is an error naming it (exit 1), as is a set without an
// index. An index that cannot be read, or not to the end, and whose stored bytes are not the
// manifest's is said to be damaged, whatever layer tripped on the damage first.
Status ForEachSelectedEntry(const Repository& repository, const Manifest& manifest,
                            const std::vector<std::string>& paths,
                            const std::function<Status(const FileIndexEntry&)>& visit);

// After the whole index of `manifest` was read from `stream`: an error unless its bytes are
// the ones the manifest recorded (what the entries said is trusted only then). `name`
// names the index object.
Status CheckIndexDigest(const Manifest& manifest, const ZstdReader& stream,
                        const std::string& name);

// The error for a set without an index (format 1), naming it and the by-hand ways.
Status NoIndexError(const Repository& repository, const Manifest& manifest);

}  // namespace gb
