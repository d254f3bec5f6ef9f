#include "coordinator/work_leftovers.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

namespace gb {
namespace {

namespace fs = std::filesystem;

// Every entry of <repo>/.work, sorted; none when there is no .work yet.
Result<std::vector<std::string>> WorkPaths(const Repository& repository) {
  std::vector<std::string> paths;
  std::error_code error;
  if (!fs::exists(repository.WorkRoot(), error)) return paths;
  fs::directory_iterator it(repository.WorkRoot(), error), end;
  for (; !error && it != end; it.increment(error)) paths.push_back(it->path().string());
  if (error)
    return Status::Failed("cannot read " + repository.WorkRoot() + ": " + error.message(),
                          "check the repository's permissions");
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

std::string VerifyScratchName(const std::string& id, pid_t pid) {
  return "verify-" + id + "-" + std::to_string(pid);
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::optional<LockHolder> RunningHolder(const Repository& repository) {
  std::optional<LockHolder> holder = ReadLockHolder(repository.LockPath());
  // The lock releases itself when its holder dies; the description stays behind.
  if (!holder || !ProcessAlive(holder->pid)) return std::nullopt;
  return holder;
}

std::string WorkEntry::Describe() const {
  switch (kind) {
    case Kind::kBackup: return "leftover of an interrupted backup";
    case Kind::kVerify: return "leftover of an interrupted verify --deep";
    case Kind::kOther: break;
  }
  return "unknown leftover";
}

Result<std::vector<WorkEntry>> ListWorkEntries(const Repository& repository,
                                               std::chrono::system_clock::time_point now) {
  std::vector<WorkEntry> entries;
  GB_ASSIGN_OR_RETURN(std::vector<std::string> paths, WorkPaths(repository));
  std::optional<LockHolder> running = RunningHolder(repository);
  static const std::regex verify_pattern("^verify-(.+)-([0-9]+)$");
  for (const auto& path : paths) {
    WorkEntry entry;
    entry.path = path;
    entry.name = fs::path(path).filename().string();
    std::smatch match;
    if (Repository::LooksLikeSetId(entry.name)) {
      entry.kind = WorkEntry::Kind::kBackup;
      // Only a backup writes set-named work directories, under the lock: while a backup
      // holds the lock, the work directory may be its own.
      if (running && running->operation == LockOperation::kBackup) {
        entry.in_use = true;
        entry.owner = running->Describe();
      }
    } else if (std::regex_match(entry.name, match, verify_pattern)) {
      entry.kind = WorkEntry::Kind::kVerify;
      pid_t pid = static_cast<pid_t>(std::atol(match[2].str().c_str()));
      if (ProcessAlive(pid)) {
        entry.in_use = true;
        entry.owner = "verify --deep (pid " + std::to_string(pid) + ")";
      }
    }
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0) {
      auto modified = std::chrono::system_clock::from_time_t(info.st_mtime);
      entry.age = std::chrono::duration_cast<std::chrono::seconds>(now - modified);
    }
    entry.bytes = TreeBytes(path);
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace gb
