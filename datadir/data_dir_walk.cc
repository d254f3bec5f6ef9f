#include "datadir/data_dir_walk.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace gb {
namespace {

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

int CompareByName(const FTSENT** a, const FTSENT** b) {
  return std::strcmp((*a)->fts_name, (*b)->fts_name);
}

}  // namespace

std::string ExclusionKey(std::string_view name) {
  if (name == "analysis-data") return "analysis_data";
  return std::string(name);
}

Result<std::unique_ptr<DataDirWalk>> DataDirWalk::Open(const std::string& root,
                                                       const std::vector<std::string>& exclude) {
  std::unique_ptr<DataDirWalk> walk(new DataDirWalk());
  walk->root_ = StripTrailingSlashes(root);
  for (const std::string& name : exclude) walk->excluded_keys_.insert(ExclusionKey(name));

  struct stat st;
  if (stat(walk->root_.c_str(), &st) != 0) {
    return Status::FromErrno("cannot read data directory " + walk->root_, errno);
  }
  if (!S_ISDIR(st.st_mode)) return Status::Failed(walk->root_ + " is not a directory");

  char* paths[] = {walk->root_.data(), nullptr};
  walk->fts_ = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_COMFOLLOW, CompareByName);
  if (walk->fts_ == nullptr) {
    return Status::FromErrno("cannot walk data directory " + walk->root_, errno);
  }
  return walk;
}

DataDirWalk::~DataDirWalk() {
  if (fts_ != nullptr) fts_close(fts_);
}

Result<FTSENT*> DataDirWalk::Next() {
  for (;;) {
    errno = 0;
    FTSENT* entry = fts_read(fts_);
    if (entry == nullptr) {
      if (errno != 0) return Status::FromErrno("walking " + root_, errno);
      return static_cast<FTSENT*>(nullptr);
    }
    if (entry->fts_level == 0) {
      if (entry->fts_info == FTS_DNR || entry->fts_info == FTS_ERR) return entry;
      continue;
    }
    if (entry->fts_info == FTS_DP) continue;
    // The live .govern-backup/ (a restore's restored-from marker) describes this node, not
    // the set being written: each set carries its own pair member there instead.
    if (entry->fts_level == 1 && std::strcmp(entry->fts_name, kPairDirName) == 0) {
      fts_set(fts_, entry, FTS_SKIP);
      continue;
    }
    if (entry->fts_level == 1 && excluded_keys_.count(ExclusionKey(entry->fts_name)) > 0) {
      excluded_present_.push_back(entry->fts_name);
      fts_set(fts_, entry, FTS_SKIP);
      if (on_excluded_) on_excluded_(entry);
      continue;
    }
    return entry;
  }
}

std::string_view DataDirWalk::Relative(const FTSENT* entry) const {
  std::string_view path(entry->fts_path, entry->fts_pathlen);
  if (entry->fts_level == 0) return {};
  size_t prefix = root_ == "/" ? 1 : root_.size() + 1;
  return path.substr(prefix);
}

}  // namespace gb
