// Copying complete sets between repositories (`copy`, `backup --copy-to`): see copy.cc.
// Called from one thread; it locks the target repository while it copies.
#pragma once

#include <string>
#include <vector>

#include "coordinator/repository.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

struct CopyOutcome {
  std::vector<std::string> copied;   // now complete in the target
  std::vector<std::string> present;  // complete there already: not copied again
  std::string failed;                // the set whose copy failed, if any
};

// Copies the sets `ids` (all complete sets when empty) and every set they build on, each after
// its parents, that `to` lacks. A set whose chain is incomplete in `from` is not copied: an
// error naming it, after the others are copied.
Result<CopyOutcome> CopySets(const Repository& from, const Repository& to,
                             const std::vector<std::string>& ids, Env* env);

}  // namespace gb
