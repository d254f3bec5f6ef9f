// Repository: the layout of a backup repository in its Store (store/store.h), the one place
// its key names live, for both kinds of repository.
//
//   local (the 0.1.0 layout, kept so that old sets stay readable):
//     <ID>/manifest.toml                  a complete set (the manifest is written last)
//     <ID>/<ID>.datadir.tar.zst           the data-dir half
//     <ID>/<ID>.database.dump.zst         the database half
//     .lock                               the operation lock (flock, repository_lock.h)
//     .work/                              scratch of verify --deep (work_leftovers.h)
//   S3 (manifests under a prefix of their own: listing sets never lists data objects):
//     manifests/<ID>.toml                 a complete set (PUT last, after every half is checked)
//     sets/<ID>/<ID>.datadir.tar.zst
//     sets/<ID>/<ID>.database.dump.zst
//     locks/...                           the operation lock (store_lock.h)
//
// With [encryption] recipients, every object of a set but its manifest is an age file around
// the zstd stream (same names; coordinator/half_stream.h reads both kinds).
//
// A Repository owns its Store; its methods read the store each time and are safe from any
// thread (the Store is).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/manifest.h"
#include "coordinator/time_format.h"
#include "io/env.h"
#include "io/status.h"
#include "store/store.h"

namespace gb {

class SetKeys;

inline constexpr char kManifestName[] = "manifest.toml";
inline constexpr char kLockFileName[] = ".lock";
inline constexpr char kWorkDirName[] = ".work";
inline constexpr char kDatadirHalfSuffix[] = ".datadir.tar.zst";
inline constexpr char kDatabaseHalfSuffix[] = ".database.dump.zst";

// One set as found in the store: its manifest (when it has one) and its data objects.
struct SetEntry {
  std::string id;
  std::vector<ObjectInfo> objects;  // every object of the set but its manifest
  bool has_manifest = false;
  Result<Manifest> manifest = Status::Failed("not loaded");  // when has_manifest
  uint64_t bytes() const;
};

class Repository {
 public:
  enum class Kind { kLocal, kS3 };

  // `root` is the directory of a local repository, or the s3:// URL of a remote one (for
  // messages). `store` is rooted there.
  Repository(std::string name, Kind kind, std::string root, std::unique_ptr<Store> store);
  // A local repository on LocalStore (tests, the demo, 0.1.0 call sites).
  static std::unique_ptr<Repository> Local(const std::string& path, std::string name = "main");

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  bool is_local() const { return kind_ == Kind::kLocal; }
  // The directory (local) or the s3://bucket/prefix/ URL (S3).
  const std::string& root() const { return root_; }
  Store& store() const { return *store_; }
  // The age keys new sets are encrypted with and encrypted sets decrypted with (set_keys.h);
  // null = none configured (sets written in clear; an encrypted set cannot be decrypted).
  const SetKeys* keys() const { return keys_.get(); }
  void set_keys(std::shared_ptr<const SetKeys> keys) { keys_ = std::move(keys); }

  std::string ManifestKey(const std::string& id) const;
  std::string SetPrefix(const std::string& id) const;  // ends with "/"
  std::string ObjectKey(const std::string& id, const std::string& file) const {
    return SetPrefix(id) + file;
  }
  // Where a key is, for messages: a path, or an s3:// URL.
  std::string Locate(const std::string& key) const;
  static std::string DatadirFileName(const std::string& id) { return id + kDatadirHalfSuffix; }
  static std::string DatabaseFileName(const std::string& id) { return id + kDatabaseHalfSuffix; }

  // Local repositories only: the lock file and the scratch directory.
  std::string LockPath() const { return root_ + "/" + kLockFileName; }
  std::string WorkRoot() const { return root_ + "/" + kWorkDirName; }

  // Local: creates the directory if missing, and each missing parent, 0700 whatever the
  // umask (a parent made world-writable would let anyone swap the repository); checks it is
  // a writable directory. S3: nothing to create (check tests the bucket).
  Status EnsureExists(Env* env) const;
  // Local: the same checks without creating anything (a missing repository is fine when its
  // nearest existing parent is writable). Returns what was found.
  Result<std::string> CheckWritable() const;
  // Whether anything was ever stored: false for a local directory that does not exist.
  bool Exists() const;

  // A new id that sorts by time, 20261124T081500Z-3f9a1c, and after `newest` (the newest id
  // in the repository, "" for none): the parent choice, list and prune read id order as the
  // order sets were taken in, which must hold for two sets of one second (the random suffix
  // alone would order them by chance) and after the clock stepped back.
  static std::string NewSetId(TimePoint now, const std::string& newest = "");
  static bool LooksLikeSetId(const std::string& name);

  // Every set, complete or not (data objects without a manifest are what an interrupted
  // backup left), sorted by id, manifests loaded.
  Result<std::vector<SetEntry>> ListSets() const;
  // The ids of the sets that have a manifest, oldest first, without reading the manifests.
  Result<std::vector<std::string>> CompleteSetIds() const;
  // Complete sets (valid manifest), oldest first; reads manifests only.
  Result<std::vector<Manifest>> CompleteSets() const;
  // The set `id` with its manifest; a missing set or a set without manifest is an error.
  Result<Manifest> LoadSet(const std::string& id) const;

  // Stores `manifest`: the commit that makes its set complete, so it comes last.
  Status CommitManifest(const Manifest& manifest) const;
  // Removes a set: its manifest first (so that it is never listed half-deleted), then its
  // objects. Local: then its directory, with whatever else lies in it.
  Status DeleteSet(const SetEntry& set, Env* env) const;

 private:
  Result<std::vector<std::string>> LocalSetIds() const;
  Result<Manifest> ReadManifest(const std::string& id) const;
  // The manifests of `ids`, in order, kManifestReaders at a time: on S3 each is a round trip,
  // and a repository of a thousand sets must list in seconds, not minutes.
  std::vector<Result<Manifest>> ReadManifests(const std::vector<std::string>& ids) const;
  static constexpr size_t kManifestReaders = 8;

  std::string name_;
  Kind kind_;
  std::string root_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<const SetKeys> keys_;
};

// A set being written: unless Committed() is called, going out of scope removes what was
// stored of it (a killed process leaves it instead, for audit to report and prune to remove).
class UnfinishedSet {
 public:
  UnfinishedSet(const Repository& repository, std::string id, Env* env)
      : repository_(repository), id_(std::move(id)), env_(env) {}
  ~UnfinishedSet();
  UnfinishedSet(const UnfinishedSet&) = delete;
  UnfinishedSet& operator=(const UnfinishedSet&) = delete;
  void Committed() { committed_ = true; }

 private:
  const Repository& repository_;
  std::string id_;
  Env* env_;
  bool committed_ = false;
};

// Apparent bytes of a file, or of a directory tree by MeasureTree's rule (for leftovers and
// sets shown to the admin); 0 when it cannot be read.
uint64_t TreeBytes(const std::string& path);
// Bytes free for an unprivileged writer on the file system holding `path` (or its parent).
Result<uint64_t> FreeBytes(const std::string& path);

}  // namespace gb
