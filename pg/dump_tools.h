// DumpTools: the pg_dump and pg_restore programs to use, and their versions.
#pragma once

#include <string>

#include "io/status.h"

namespace gb {

struct DumpTools {
  std::string pg_dump;      // full path
  std::string pg_restore;   // full path
  std::string pg_dump_version;     // "15.18"
  std::string pg_restore_version;
  int pg_dump_major = 0;
  int pg_restore_major = 0;
};

// Finds pg_dump and pg_restore in `pg_bin_dir` (when set) or PATH and reads their
// versions (`--version`). Missing tools are an error with an install hint.
Result<DumpTools> FindDumpTools(const std::string& pg_bin_dir);

// Finds the newest tools whose major is at least `server_major`: pg_bin_dir if given,
// else PATH, else /usr/lib/postgresql/<N>/bin. Error when none is new enough.
Result<DumpTools> FindDumpToolsFor(const std::string& pg_bin_dir, int server_major);

}  // namespace gb
