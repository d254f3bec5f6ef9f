#include "coordinator/index_cache.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "io/atomic_file.h"
#include "io/sha256.h"

namespace gb {
namespace fs = std::filesystem;

namespace {
constexpr char kCopySuffix[] = ".index.zst";
}  // namespace

IndexCache::IndexCache(const std::string& cache_dir, const Repository& repository)
    : directory_(cache_dir + "/" + repository.name() + "-" +
                 Sha256::OfString(repository.root()).substr(0, 12)) {}

std::string IndexCache::PathOf(const std::string& id) const {
  return directory_ + "/" + id + kCopySuffix;
}

Status IndexCache::Store(const std::string& id, const std::string& plain_zstd) const {
  // The copies name every file of the data dir: folders made here are the owner's only,
  // whatever the umask (an existing cache_dir is left as the admin made it).
  std::error_code error;
  for (const fs::path& folder : {fs::path(directory_).parent_path(), fs::path(directory_)}) {
    if (fs::is_directory(folder, error)) continue;
    fs::create_directories(folder, error);
    if (error || chmod(folder.c_str(), 0700) != 0)
      return Status::Failed("cannot create the index cache " + folder.string() +
                                (error ? ": " + error.message() : std::string()),
                            "set [backup] cache_dir to a directory this user may write");
  }
  return WriteFileAtomically(PathOf(id), plain_zstd, 0600);
}

Result<std::unique_ptr<ZstdReader>> IndexCache::Open(const Manifest& set) const {
  const std::string path = PathOf(set.id);
  if (!set.index || set.index->plain_sha256.empty())
    return Status::Failed("set " + set.id + " records no hash for a local copy of its index");
  std::error_code error;
  if (!fs::exists(path, error))
    return Status::Failed("no local copy of the index of set " + set.id + " in " + directory_);
  GB_ASSIGN_OR_RETURN(std::string sha256, Sha256::OfFile(path));
  if (sha256 != set.index->plain_sha256)
    return Status::Failed("the local copy " + path + " of the index of set " + set.id +
                          " does not match its manifest");
  GB_ASSIGN_OR_RETURN(std::unique_ptr<ZstdFileReader> reader, ZstdFileReader::Open(path));
  return std::unique_ptr<ZstdReader>(std::move(reader));
}

void IndexCache::Prune(const std::vector<std::string>& existing) const {
  const std::set<std::string> keep(existing.begin(), existing.end());
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory_, error)) {
    const std::string name = entry.path().filename().string();
    const size_t suffix = name.size() - std::min(name.size(), sizeof(kCopySuffix) - 1);
    if (name.compare(suffix, std::string::npos, kCopySuffix) != 0) continue;
    if (keep.count(name.substr(0, suffix))) continue;
    std::error_code removed;
    fs::remove(entry.path(), removed);
    if (removed)
      spdlog::warn("cannot remove the stale index copy {}: {}", entry.path().string(),
                   removed.message());
  }
}

}  // namespace gb
