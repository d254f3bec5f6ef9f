#include "coordinator/work_leftovers.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "io/atomic_file.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

// The pid in "backup (pid 123, since ...)", as RepositoryLock writes it.
std::optional<pid_t> PidInDescription(const std::string& text) {
  static const std::regex pattern("\\(pid ([0-9]+)");
  std::smatch match;
  if (!std::regex_search(text, match, pattern)) return std::nullopt;
  return static_cast<pid_t>(std::atol(match[1].str().c_str()));
}

}  // namespace

std::string VerifyScratchName(const std::string& id, pid_t pid) {
  return "verify-" + id + "-" + std::to_string(pid);
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::optional<std::string> RunningOperation(const Repository& repository) {
  Result<std::string> text = ReadWholeFile(repository.LockPath());
  if (!text.ok()) return std::nullopt;
  std::string holder = *text;
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
  std::optional<pid_t> pid = PidInDescription(holder);
  // The lock releases itself when its holder dies; the description stays behind.
  if (!pid || !ProcessAlive(*pid)) return std::nullopt;
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
  GB_ASSIGN_OR_RETURN(std::vector<std::string> paths, repository.WorkLeftovers());
  std::optional<std::string> running = RunningOperation(repository);
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
      if (running && running->rfind("backup", 0) == 0) {
        entry.in_use = true;
        entry.owner = *running;
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
