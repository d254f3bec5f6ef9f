#include "coordinator/repository.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <atomic>
#include <map>
#include <thread>
#include <regex>

#include "datadir/tree_stats.h"
#include "io/text.h"
#include "store/local_store.h"

namespace gb {

namespace fs = std::filesystem;

namespace {

constexpr char kS3ManifestPrefix[] = "manifests/";
constexpr char kS3ManifestSuffix[] = ".toml";
constexpr char kS3SetPrefix[] = "sets/";

std::string SetIdOfManifestKey(const std::string& key) {
  std::string name = key.substr(sizeof(kS3ManifestPrefix) - 1);
  const size_t suffix = sizeof(kS3ManifestSuffix) - 1;
  if (name.size() <= suffix || name.compare(name.size() - suffix, suffix, kS3ManifestSuffix) != 0)
    return "";
  return name.substr(0, name.size() - suffix);
}

}  // namespace

Repository::Repository(std::string name, Kind kind, std::string root, std::unique_ptr<Store> store)
    : name_(std::move(name)), kind_(kind), root_(std::move(root)), store_(std::move(store)) {}

std::unique_ptr<Repository> Repository::Local(const std::string& path, std::string name) {
  return std::make_unique<Repository>(std::move(name), Kind::kLocal, path,
                                      std::make_unique<LocalStore>(path));
}

std::string Repository::ManifestKey(const std::string& id) const {
  if (is_local()) return id + "/" + kManifestName;
  return std::string(kS3ManifestPrefix) + id + kS3ManifestSuffix;
}

std::string Repository::SetPrefix(const std::string& id) const {
  if (is_local()) return id + "/";
  return std::string(kS3SetPrefix) + id + "/";
}

std::string Repository::Locate(const std::string& key) const {
  if (is_local()) return root_ + "/" + key;
  return root_ + key;  // root_ is "s3://bucket/prefix/"
}

bool Repository::Exists() const {
  if (!is_local()) return true;
  std::error_code error;
  return fs::is_directory(root_, error);
}

Status Repository::EnsureExists(Env* env) const {
  if (!is_local()) return Status::Ok();
  // Outermost missing directory first; create_directories would apply the umask to them.
  std::vector<fs::path> missing;
  std::error_code error;
  fs::path at = fs::path(root_).lexically_normal();
  if (at.filename().empty()) at = at.parent_path();  // "repo/" names "repo"
  for (; !at.empty() && !fs::exists(at, error); at = at.parent_path()) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    Status made = env->CreateDirectory(it->string(), 0700);
    // Another process may have made it meanwhile: that is no error.
    if (!made.ok() && !fs::is_directory(*it, error))
      return made.WithContext("cannot create repository " + root_)
          .WithHint("check [repository].path and the permissions of its parent");
  }
  if (!fs::is_directory(root_, error))
    return Status::Failed("repository " + root_ + " is not a directory");
  if (::access(root_.c_str(), W_OK | X_OK) != 0)
    return Status::FromErrno("repository " + root_ + " is not writable", errno,
                             "run as the user that owns the repository, or fix its permissions");
  return Status::Ok();
}

Result<std::string> Repository::CheckWritable() const {
  if (!is_local()) return root_ + " is an S3 repository";
  std::error_code error;
  if (fs::exists(root_, error)) {
    if (!fs::is_directory(root_, error))
      return Status::Failed("repository " + root_ + " is not a directory");
    if (::access(root_.c_str(), W_OK | X_OK) != 0)
      return Status::FromErrno("repository " + root_ + " is not writable", errno,
                               "run as the user that owns the repository, or fix its permissions");
    return root_ + " is writable";
  }
  fs::path parent = fs::path(root_).parent_path();
  while (!parent.empty() && !fs::exists(parent, error)) parent = parent.parent_path();
  if (parent.empty() || ::access(parent.c_str(), W_OK | X_OK) != 0)
    return Status::Failed("repository " + root_ + " does not exist and cannot be created (" +
                              parent.string() + " is not writable)",
                          "create it, or set [repository].path to a writable place");
  return root_ + " does not exist yet; the first backup creates it";
}

std::string Repository::NewSetId(TimePoint now, const std::string& newest) {
  std::string time = FormatCompact(now);
  if (!LooksLikeSetId(newest) || newest.substr(0, time.size()) < time)
    return time + "-" + RandomHex(3);
  // Within newest's second: a suffix above its own, in small random steps so that thousands
  // of sets fit in one second; past the last suffix, the next second.
  constexpr uint32_t kSuffixes = 1u << 24, kStep = 1u << 12;
  time = newest.substr(0, time.size());
  uint32_t next = static_cast<uint32_t>(std::stoul(newest.substr(time.size() + 1), nullptr, 16)) + 1;
  if (next >= kSuffixes) {
    std::tm parts{};
    ::strptime(time.c_str(), "%Y%m%dT%H%M%SZ", &parts);
    time = FormatCompact(std::chrono::system_clock::from_time_t(::timegm(&parts) + 1));
    next = 0;
  }
  const uint32_t random = static_cast<uint32_t>(std::stoul(RandomHex(2), nullptr, 16));
  const uint32_t suffix = next + random % std::min(kStep, kSuffixes - next);
  char text[8];
  std::snprintf(text, sizeof text, "%06x", suffix);
  return time + "-" + text;
}

bool Repository::LooksLikeSetId(const std::string& name) {
  static const std::regex pattern("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$");
  return std::regex_match(name, pattern);
}

Result<std::vector<std::string>> Repository::LocalSetIds() const {
  std::vector<std::string> ids;
  std::error_code error;
  fs::directory_iterator it(root_, error);
  if (error) return Status::Failed("cannot read repository " + root_ + ": " + error.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (LooksLikeSetId(name) && entry.is_directory(error)) ids.push_back(name);
  }
  return ids;
}

Result<Manifest> Repository::ReadManifest(const std::string& id) const {
  StringSink text;
  GB_RETURN_IF_ERROR(store_->Get(ManifestKey(id), 0, Store::kToEnd, text));
  return Manifest::Parse(text.bytes(), Locate(ManifestKey(id)));
}

std::vector<Result<Manifest>> Repository::ReadManifests(const std::vector<std::string>& ids) const {
  std::vector<Result<Manifest>> manifests(ids.size(), Status::Failed("not read"));
  std::atomic<size_t> next{0};
  auto read_some = [&] {
    for (size_t i = next++; i < ids.size(); i = next++) manifests[i] = ReadManifest(ids[i]);
  };
  std::vector<std::thread> readers;
  for (size_t t = 1; t < std::min<size_t>(kManifestReaders, ids.size()); ++t)
    readers.emplace_back(read_some);
  read_some();
  for (std::thread& reader : readers) reader.join();
  return manifests;
}

Result<std::vector<SetEntry>> Repository::ListSets() const {
  std::map<std::string, SetEntry> sets;
  auto entry_for = [&sets](const std::string& id) -> SetEntry& {
    SetEntry& set = sets[id];
    set.id = id;
    return set;
  };
  if (is_local()) {
    // Set by set: a listing of the root would walk .work's scratch trees too.
    GB_ASSIGN_OR_RETURN(std::vector<std::string> ids, LocalSetIds());
    for (const std::string& id : ids) {
      SetEntry& set = entry_for(id);
      GB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(SetPrefix(id)));
      for (ObjectInfo& object : objects) {
        if (object.key == ManifestKey(id)) set.has_manifest = true;
        else set.objects.push_back(std::move(object));
      }
    }
  } else {
    GB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> manifests, store_->List(kS3ManifestPrefix));
    for (const ObjectInfo& object : manifests) {
      std::string id = SetIdOfManifestKey(object.key);
      if (LooksLikeSetId(id)) entry_for(id).has_manifest = true;
    }
    GB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(kS3SetPrefix));
    for (ObjectInfo& object : objects) {
      std::string id = object.key.substr(sizeof(kS3SetPrefix) - 1);
      id = id.substr(0, id.find('/'));
      if (LooksLikeSetId(id)) entry_for(id).objects.push_back(std::move(object));
    }
  }
  std::vector<std::string> with_manifest;
  for (const auto& [id, set] : sets)
    if (set.has_manifest) with_manifest.push_back(id);
  std::vector<Result<Manifest>> manifests = ReadManifests(with_manifest);
  for (size_t i = 0; i < with_manifest.size(); ++i)
    sets[with_manifest[i]].manifest = std::move(manifests[i]);
  std::vector<SetEntry> listed;
  for (auto& [id, set] : sets) listed.push_back(std::move(set));
  return listed;
}

Result<std::vector<std::string>> Repository::CompleteSetIds() const {
  std::vector<std::string> ids;
  if (is_local()) {
    GB_ASSIGN_OR_RETURN(std::vector<std::string> dirs, LocalSetIds());
    for (const std::string& id : dirs) {
      GB_ASSIGN_OR_RETURN(HeadResult head, store_->Head(ManifestKey(id)));
      if (head.exists) ids.push_back(id);
    }
  } else {
    GB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> manifests, store_->List(kS3ManifestPrefix));
    for (const ObjectInfo& object : manifests)
      if (LooksLikeSetId(SetIdOfManifestKey(object.key)))
        ids.push_back(SetIdOfManifestKey(object.key));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<Manifest>> Repository::CompleteSets() const {
  GB_ASSIGN_OR_RETURN(std::vector<std::string> ids, CompleteSetIds());
  std::vector<Manifest> complete;
  for (Result<Manifest>& manifest : ReadManifests(ids)) {
    if (manifest.ok()) complete.push_back(std::move(manifest).value());
  }
  return complete;
}

Result<Manifest> Repository::LoadSet(const std::string& id) const {
  if (!LooksLikeSetId(id))
    return Status::Failed("no backup set " + id + " in " + root_ + " (not a set id)",
                          "`govern-backup list` shows the sets");
  GB_ASSIGN_OR_RETURN(HeadResult head, store_->Head(ManifestKey(id)));
  if (head.exists) return ReadManifest(id);
  GB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(SetPrefix(id)));
  if (objects.empty())
    return Status::Failed("no backup set " + id + " in " + root_,
                          "`govern-backup list` shows the sets");
  return Status::Failed("set " + id + " has no manifest: it is incomplete",
                        "an interrupted backup or prune left it; `govern-backup audit` reports it");
}

Status Repository::CommitManifest(const Manifest& manifest) const {
  StringSource text(manifest.ToText());
  Result<ObjectInfo> stored = store_->Put(ManifestKey(manifest.id), text);
  if (!stored.ok())
    return stored.status().WithContext("cannot write the manifest of set " + manifest.id);
  return Status::Ok();
}

Status Repository::DeleteSet(const SetEntry& set, Env* env) const {
  GB_RETURN_IF_ERROR(store_->Delete(ManifestKey(set.id)));
  for (const ObjectInfo& object : set.objects) GB_RETURN_IF_ERROR(store_->Delete(object.key));
  if (is_local()) return env->RemoveAll(root_ + "/" + set.id);
  return Status::Ok();
}

UnfinishedSet::~UnfinishedSet() {
  if (committed_) return;
  SetEntry set;
  set.id = id_;
  Result<std::vector<ObjectInfo>> objects = repository_.store().List(repository_.SetPrefix(id_));
  if (objects.ok()) set.objects = *objects;
  Status removed = objects.ok() ? repository_.DeleteSet(set, env_) : objects.status();
  if (!removed.ok())
    spdlog::error("could not remove the unfinished set {}: {} (`govern-backup prune` removes it)",
                  repository_.Locate(repository_.SetPrefix(id_)), removed.message());
}

uint64_t SetEntry::bytes() const {
  uint64_t total = 0;
  for (const ObjectInfo& object : objects) total += object.size;
  return total;
}

uint64_t TreeBytes(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return 0;
  if (!S_ISDIR(info.st_mode)) return static_cast<uint64_t>(info.st_size);
  Result<TreeStats> stats = MeasureTree(path);
  // Only shown beside a leftover's name: a tree that cannot be read whole shows 0 bytes
  // rather than failing the listing that mentions it.
  return stats.ok() ? stats->bytes : 0;
}

Result<uint64_t> FreeBytes(const std::string& path) {
  fs::path probe = path;
  std::error_code error;
  while (!probe.empty() && !fs::exists(probe, error)) probe = probe.parent_path();
  struct statvfs info {};
  if (::statvfs(probe.empty() ? "/" : probe.c_str(), &info) != 0)
    return Status::FromErrno("cannot read free space of " + path, errno);
  return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
}

}  // namespace gb
