#include "coordinator/repository.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <regex>

#include "datadir/tree_stats.h"
#include "io/text.h"

namespace gb {

namespace fs = std::filesystem;

Status Repository::EnsureExists(Env* env) const {
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

std::string Repository::NewSetId(TimePoint now) { return FormatCompact(now) + "-" + RandomHex(3); }

bool Repository::LooksLikeSetId(const std::string& name) {
  static const std::regex pattern("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$");
  return std::regex_match(name, pattern);
}

Result<std::vector<SetEntry>> Repository::ListSets() const {
  std::vector<SetEntry> sets;
  std::error_code error;
  fs::directory_iterator it(root_, error);
  if (error) return Status::Failed("cannot read repository " + root_ + ": " + error.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (!LooksLikeSetId(name) || !entry.is_directory()) continue;
    SetEntry set;
    set.id = name;
    set.dir = entry.path().string();
    set.has_manifest = fs::exists(ManifestPath(set.id));
    if (set.has_manifest) set.manifest = Manifest::Load(ManifestPath(set.id));
    sets.push_back(std::move(set));
  }
  std::sort(sets.begin(), sets.end(),
            [](const SetEntry& a, const SetEntry& b) { return a.id < b.id; });
  return sets;
}

Result<std::vector<Manifest>> Repository::CompleteSets() const {
  GB_ASSIGN_OR_RETURN(auto sets, ListSets());
  std::vector<Manifest> complete;
  for (auto& set : sets)
    if (set.has_manifest && set.manifest.ok()) complete.push_back(set.manifest.value());
  return complete;
}

Result<Manifest> Repository::LoadSet(const std::string& id) const {
  std::string dir = SetDir(id);
  std::error_code error;
  if (!LooksLikeSetId(id) || !fs::is_directory(dir, error))
    return Status::Failed("no backup set " + id + " in " + root_,
                          "`govern-backup list` shows the sets");
  if (!fs::exists(ManifestPath(id), error))
    return Status::Failed("set " + id + " has no manifest: it is incomplete",
                          "an interrupted backup or prune left it; `govern-backup audit` reports it");
  return Manifest::Load(ManifestPath(id));
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
