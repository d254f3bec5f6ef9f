// Repository: the layout of a backup repository on disk, the one place its names live.
//
//   <repo>/<ID>/manifest.toml           a complete set (manifest written last)
//   <repo>/<ID>/<ID>.datadir.tar.zst    the data-dir half
//   <repo>/<ID>/<ID>.database.dump.zst  the database half
//   <repo>/.work/<ID>/                  a backup in progress (never listed, never restorable)
//   <repo>/.lock                        the operation lock (repository_lock.h)
//
// A Repository is an immutable path; its methods read the disk each time and are safe from
// any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/time_format.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

inline constexpr char kManifestName[] = "manifest.toml";
inline constexpr char kLockFileName[] = ".lock";
inline constexpr char kWorkDirName[] = ".work";
inline constexpr char kDatadirHalfSuffix[] = ".datadir.tar.zst";
inline constexpr char kDatabaseHalfSuffix[] = ".database.dump.zst";

// One directory of the repository as found on disk.
struct SetEntry {
  std::string id;
  std::string dir;
  bool has_manifest = false;
  Result<Manifest> manifest = Status::Failed("not loaded");  // when has_manifest
};

class Repository {
 public:
  explicit Repository(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string SetDir(const std::string& id) const { return root_ + "/" + id; }
  std::string WorkRoot() const { return root_ + "/" + kWorkDirName; }
  std::string WorkDir(const std::string& id) const { return WorkRoot() + "/" + id; }
  std::string LockPath() const { return root_ + "/" + kLockFileName; }
  std::string ManifestPath(const std::string& id) const {
    return SetDir(id) + "/" + kManifestName;
  }
  static std::string DatadirFileName(const std::string& id) { return id + kDatadirHalfSuffix; }
  static std::string DatabaseFileName(const std::string& id) { return id + kDatabaseHalfSuffix; }

  // Creates the repository if missing, and each missing parent, 0700 whatever the umask
  // (a parent made world-writable would let anyone swap the repository); checks it is a
  // writable directory.
  Status EnsureExists(Env* env) const;
  // The same checks without creating anything: a missing repository is fine when its
  // nearest existing parent is writable. Returns what was found.
  Result<std::string> CheckWritable() const;
  // A new id that sorts by time: 20261124T081500Z-3f9a1c.
  static std::string NewSetId(TimePoint now);
  static bool LooksLikeSetId(const std::string& name);

  // Every set directory (name like a set id), sorted by id, manifests loaded.
  Result<std::vector<SetEntry>> ListSets() const;
  // Complete sets (valid manifest), oldest first.
  Result<std::vector<Manifest>> CompleteSets() const;
  // The set `id` with its manifest; a missing set or a manifest-less directory is an error.
  Result<Manifest> LoadSet(const std::string& id) const;

 private:
  std::string root_;
};

// Apparent bytes of a file, or of a directory tree by MeasureTree's rule (for leftovers and
// sets shown to the admin); 0 when it cannot be read.
uint64_t TreeBytes(const std::string& path);
// Bytes free for an unprivileged writer on the file system holding `path` (or its parent).
Result<uint64_t> FreeBytes(const std::string& path);

}  // namespace gb
