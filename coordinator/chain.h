// Chain: a set and every set it builds on. An incremental set's data-dir half holds only what
// changed since its parent; its index lists every file of the data dir, each pointing into the
// set of the chain that holds its bytes. Restoring, extracting or deep-verifying a set needs
// every set of its chain, complete and sound; pruning must keep them.
//
// Thread-safety: plain functions over a Repository; one call per thread.
#pragma once

#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "io/status.h"

namespace gb {

// The chain of set `id`, oldest first: chain.front() is the full set it starts from,
// chain.back() is `id`. A missing or unreadable parent, a loop, or a parent of another
// data dir is an error naming the set that is missing and the one that needs it (exit 4 for
// restore through RefusalStatus, 3 for verify).
Result<std::vector<Manifest>> LoadChain(const Repository& repository, const std::string& id);

// The same from manifests already read (e.g. CompleteSets()), without reading the store.
Result<std::vector<Manifest>> ChainOf(const std::vector<Manifest>& sets, const std::string& id);

// The ids of `chain`, oldest first.
std::vector<std::string> ChainIds(const std::vector<Manifest>& chain);

}  // namespace gb
