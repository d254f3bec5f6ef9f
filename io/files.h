// Whole-file and whole-buffer I/O: the one write loop, the one file reader, the one
// temporary-directory maker of the tool. Every error names the path and the errno's text.
// Stateless functions; safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "io/status.h"

namespace gb {

// Writes all `size` bytes to `fd`, retrying short writes and EINTR. `what` names the file
// in the error ("cannot write <what>: No space left on device").
Status WriteAll(int fd, const void* data, size_t size, const std::string& what);

// Creates or truncates `path` with exactly `mode` (the umask is not applied) and writes
// `content`. Not atomic and not fsynced: for atomic replacement see io/atomic_file.h.
Status WriteFile(const std::string& path, std::string_view content, mode_t mode = 0600);

Result<std::string> ReadWholeFile(const std::string& path);

// Creates a fresh directory named `<parent>/<prefix>XXXXXX` (mode 0700) and returns its path.
Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix);

}  // namespace gb
