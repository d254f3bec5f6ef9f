// The one place where an error becomes an exit code (CONTRACT.md, "Exit codes": the file
// is ../shared/CONTRACT.md beside this repository). Stateless; safe from any thread.
#pragma once

#include "io/status.h"

namespace gb {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitProblems = 3;
inline constexpr int kExitRefused = 4;
inline constexpr int kExitLocked = 5;
inline constexpr int kExitCopyFailed = 6;

int ExitCodeFor(const Status& status);

// Logs the error (and its hint) for the admin, then returns its exit code.
int ReportAndExit(const Status& status);

}  // namespace gb
