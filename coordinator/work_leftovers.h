// WorkLeftovers: what lies in <repo>/.work and whether whoever made it still runs, so that
// audit reports and prune removes only what an interrupted operation left behind.
//
//   .work/<ID>/                  a backup in progress, or the leftover of one that died
//   .work/verify-<ID>-<PID>/     the scratch extraction of `verify --deep` (no lock taken)
//
// Stateless functions reading the disk; safe from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/repository.h"
#include "coordinator/repository_lock.h"
#include "io/status.h"

namespace gb {

// "verify-<id>-<pid>".
std::string VerifyScratchName(const std::string& id, pid_t pid);

struct WorkEntry {
  std::string path;
  std::string name;
  enum class Kind { kBackup, kVerify, kOther } kind = Kind::kOther;
  bool in_use = false;  // its owner still runs: leave it alone
  std::string owner;    // "backup (pid 123, since ...)" / "verify (pid 456)" when in use
  std::chrono::seconds age{0};
  uint64_t bytes = 0;

  // "leftover of an interrupted backup" / "leftover of an interrupted verify --deep" / ...
  std::string Describe() const;
};

// The operation holding <repo>/.lock right now, if any: its recorded holder, when that
// process still runs. Read without taking the lock, so that looking never makes a backup fail.
std::optional<LockHolder> RunningHolder(const Repository& repository);


// Every entry of <repo>/.work, classified, with age and size.
Result<std::vector<WorkEntry>> ListWorkEntries(const Repository& repository,
                                               std::chrono::system_clock::time_point now);

bool ProcessAlive(pid_t pid);

}  // namespace gb
