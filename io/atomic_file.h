// Durable file-system primitives: write a file atomically, fsync a directory.
#pragma once

#include <sys/types.h>

#include <string>

#include "io/files.h"
#include "io/status.h"

namespace gb {

// Writes `content` to a temporary file beside `path`, fsyncs it, renames it over `path`
// and fsyncs the directory: readers see the old content or the new, never a mix.
Status WriteFileAtomically(const std::string& path, const std::string& content,
                           mode_t mode = 0600);

// Removes the temporary files that WriteFileAtomically(path) left behind when its process
// died before the rename. Only for a caller that serialises the writers of `path` (a lock):
// the file of a writer still at work would go too.
Status RemoveAtomicWriteLeftovers(const std::string& path);

Status FsyncPath(const std::string& path);       // a file or a directory
Status FsyncParentDirectory(const std::string& path);

}  // namespace gb
