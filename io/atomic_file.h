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

Status FsyncPath(const std::string& path);       // a file or a directory
Status FsyncParentDirectory(const std::string& path);

}  // namespace gb
