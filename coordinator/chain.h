// Chain: a set and every set it builds on. An incremental set's data-dir half holds only what
// changed since its parent; its index lists every file of the data dir, each pointing into the
// set of the chain that holds its bytes. Restoring, extracting or deep-verifying a set needs
// every set of its chain, complete and sound; pruning must keep them.
//
// Thread-safety: plain functions over a Repository; one call per thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "io/status.h"

namespace gb {

// The chain of set `id`, oldest first: chain.front() is the full set it starts from,
// chain.back() is `id`. A missing or unreadable parent, a loop, a parent of another data
// dir, or a parent without a per-file index (nothing can build on it) is an error naming the set that is missing and the one that needs it (exit 4 for
// restore through RefusalStatus, 3 for verify).
Result<std::vector<Manifest>> LoadChain(const Repository& repository, const std::string& id);

// The same from manifests already read (e.g. CompleteSets()), without reading the store.
Result<std::vector<Manifest>> ChainOf(const std::vector<Manifest>& sets, const std::string& id);

// The ids of `chain`, oldest first.
std::vector<std::string> ChainIds(const std::vector<Manifest>& chain);

// `ids` and every set each builds on, each once, every set after the sets it builds on (the
// order verify and copy take them in). A parent that does not load ends that set's walk:
// LoadChain says why, to whoever needs the whole chain.
std::vector<std::string> WithAncestors(const Repository& repository,
                                       const std::vector<std::string>& ids);

// Per set id, every set of `sets` that builds on it, directly or through other sets, oldest
// first: who needs a set (prune keeps it for them, verify and audit name them when it is
// damaged). A missing set is a key too, so that a broken chain can name who misses it.
std::map<std::string, std::vector<std::string>> DependentsOf(const std::vector<Manifest>& sets);

}  // namespace gb
