// IndexCache: the backup host's plaintext copies of its sets' indexes ([backup] cache_dir).
// An encrypted repository's backup host holds public keys only, yet an incremental set reads
// its parent's index; the host reads the data dir in clear anyway, so a local copy of the
// index (file names, sizes, hashes) leaks nothing it does not already hold. Each copy is the
// zstd stream inside the stored age file, named by repository and set id, checked against the
// manifest's [index] plain_sha256 before use, and dropped once its set is gone.
//
//   <cache_dir>/<repository name>-<12 hex digits of the repository's root>/<ID>.index.zst
//
// Thread-safety: none needed; one backup at a time holds the repository lock.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "io/status.h"
#include "io/zstd_file.h"

namespace gb {

class IndexCache {
 public:
  IndexCache(const std::string& cache_dir, const Repository& repository);

  const std::string& directory() const { return directory_; }
  std::string PathOf(const std::string& id) const;
  // Writes the copy of set `id`'s index (its zstd stream), atomically, 0600 in a 0700 folder.
  Status Store(const std::string& id, const std::string& plain_zstd) const;
  // The copy of `set`'s index, read as OpenHalf would read the stored one; an error when there
  // is none or it does not match the manifest.
  Result<std::unique_ptr<ZstdReader>> Open(const Manifest& set) const;
  // Removes the copies of sets that are not in `existing` (ids). Failures are only logged:
  // a stale copy is never used (its set is gone) and costs only its bytes.
  void Prune(const std::vector<std::string>& existing) const;

 private:
  std::string directory_;
};

}  // namespace gb
