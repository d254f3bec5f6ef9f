// Repository: the layout of a backup repository on disk.
//
//   <repo>/<ID>/manifest.toml         a complete set (manifest written last)
//   <repo>/<ID>/<ID>.datadir.tar.zst  the data-dir half
//   <repo>/<ID>/<ID>.database.dump.zst  the database half
//   <repo>/.work/<ID>/                a backup in progress (never listed, never restorable)
//   <repo>/.safety/                   databases set aside by restores (safety dumps)
//   <repo>/.lock                      the operation lock
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/time_format.h"
#include "io/status.h"

namespace gb {

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
  std::string WorkRoot() const { return root_ + "/.work"; }
  std::string WorkDir(const std::string& id) const { return WorkRoot() + "/" + id; }
  std::string LockPath() const { return root_ + "/.lock"; }
  std::string SafetyDir() const { return root_ + "/.safety"; }
  std::string ManifestPath(const std::string& id) const {
    return SetDir(id) + "/" + kManifestName;
  }
  static std::string DatadirFileName(const std::string& id) { return id + ".datadir.tar.zst"; }
  static std::string DatabaseFileName(const std::string& id) { return id + ".database.dump.zst"; }

  // Creates the repository (0700) if missing; checks it is a writable directory.
  Status EnsureExists() const;
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
  // Leftover work directories of interrupted backups.
  Result<std::vector<std::string>> WorkLeftovers() const;

 private:
  std::string root_;
};

// Bytes used by a directory tree (for leftovers and sets).
uint64_t TreeBytes(const std::string& path);
// Bytes free for an unprivileged writer on the file system holding `path` (or its parent).
Result<uint64_t> FreeBytes(const std::string& path);

}  // namespace gb
