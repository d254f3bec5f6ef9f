// SetTree: the data dir of a set made again from its per-file index, each entry read from
// the set of its chain whose data-dir half holds its bytes (an incremental set's unchanged
// files live in its ancestors). What restore stages, extract copies out (a selection of
// paths) and verify --deep test-extracts, for full and incremental sets alike.
//
// How: the index of the set (chain.back()) is read once, streamed; each selected entry's
// member range goes to the list of the set that holds it (consecutive ranges merged, so
// memory follows the number of runs, not of files). Each holder's seekable half is opened
// after its identity frame is checked to be that holder's (id, pair token, data-dir role);
// then the wanted ranges of every holder, holders oldest first, are presented as ONE tar
// stream (frames fetched and decompressed ahead: io/frame_stream.h) to ONE extraction, so
// that directory modes and times are set once, at the end. Every member's content is hashed
// on its way to the disk and the whole tree is checked against the index: as many entries,
// and the same (path, type, content SHA-256, link target) for each.
//
// Thread-safety: one call per thread; nothing is shared between calls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "io/status.h"

namespace gb {

struct SetTreeOptions {
  std::string destination;         // must exist and be empty
  // Paths as `ls` and `extract` take them (set_index.h); empty = the whole data dir. The
  // file a selected hard link names comes too, selected or not (tar stores it once).
  std::vector<std::string> paths;
  bool restore_owners = true;      // as tar -xp as root; ignored when not root
  int threads = 0;                 // decompressing threads; 0 = up to 4 cores
  // Called as the tar stream is read with the bytes read so far; an error (an interrupt)
  // stops the extraction. May be empty.
  std::function<Status(uint64_t tar_bytes)> on_progress;
};

struct SetTree {
  uint64_t entries = 0;     // extracted: the selected entries of the index
  uint64_t file_bytes = 0;  // content of regular files (a hard-linked file's once)
  uint64_t tar_bytes = 0;   // uncompressed bytes read from the holders' halves
  std::vector<std::string> holders;  // ids of the sets read from, oldest first
};

// Whether `manifest`'s data dir can be made from its index: format 2, with an index and a
// seekable data-dir half. Other sets (0.1.0) are read as one stream.
bool HasSetTree(const Manifest& manifest);

// Extracts set chain.back() (or the selected paths) into options.destination. `chain` is
// the set's chain as LoadChain returns it (oldest first). An entry pointing outside the
// chain, a holder that is missing, not seekable or not the set it claims, a damaged frame,
// or a tree that does not match the index is an error naming the set and what is wrong;
// an unsafe member fails as ExtractArchive says (IsUnsafeArchive). On error, what was
// extracted so far stays in the destination: the caller removes it.
Result<SetTree> MaterialiseSetTree(const Repository& repository,
                                   const std::vector<Manifest>& chain,
                                   const SetTreeOptions& options);

}  // namespace gb
