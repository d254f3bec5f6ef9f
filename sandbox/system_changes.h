// The changes the sandbox makes to the machine itself when run as root (the demo, the tests,
// the benchmark): a system user for an unprivileged program, and o+x on the ancestors of a
// directory that user must reach. Each is announced on `announce` (stderr in the tool) in one
// line saying what changes and why, before it happens, and skipped silently when already so:
// an admin running `govern-backup demo` on a real host sees exactly what it did.
// Stateless functions; the user database and modes are the machine's, so callers serialize.
#pragma once

#include <sys/types.h>

#include <ostream>
#include <string>

#include "io/status.h"

namespace gb {

struct SystemUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Looks up `name`; when missing, announces and runs `useradd --system --user-group` (no home,
// no login shell). `purpose` completes "... <name> <purpose>", e.g. "to run PostgreSQL".
Result<SystemUser> EnsureSystemUser(const std::string& name, const std::string& purpose,
                                    std::ostream& announce);

// Adds o+x to each ancestor of `directory` that lacks it, so that `who` can reach it.
Status MakeAncestorsTraversable(const std::string& directory, const std::string& who,
                                std::ostream& announce);

}  // namespace gb
