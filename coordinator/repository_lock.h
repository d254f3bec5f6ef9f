// RepositoryLock: one operation at a time on a repository. An exclusive flock on
// <repo>/.lock, released by the kernel when the process dies; the file says who holds it
// (a LockHolder, written and parsed here alone). A held lock is owned by one thread; the
// functions reading the holder are safe from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/time_format.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

enum class LockOperation { kBackup, kRestore, kPrune, kPruneDryRun, kCopy };
const char* ToString(LockOperation operation);  // "backup", ..., "prune --dry-run"

// Who holds (or last held) a repository's lock: the lock file's content.
struct LockHolder {
  LockOperation operation = LockOperation::kBackup;
  pid_t pid = 0;
  std::string host;
  TimePoint since;
  // When the holder last said it still runs (store locks are rewritten periodically); absent
  // in a flock file and in a store lock never refreshed, where `since` stands for it.
  std::optional<TimePoint> refreshed = std::nullopt;

  TimePoint LastRefreshed() const { return refreshed.value_or(since); }
  // The written-down rule for a store lock (restic's): not refreshed for `stale_after`, by the
  // reader's clock. A stale lock is still held until `unlock --stale` removes it.
  bool IsStale(TimePoint now, std::chrono::seconds stale_after) const {
    return now - LastRefreshed() > stale_after;
  }
  // "backup (pid 123 on node1, since 2026-11-24T08:15:00Z)", for messages.
  std::string Describe() const;
  std::string ToText() const;
  // An error for text that is not a holder (an empty file, a 0.1.0 free-text line).
  static Result<LockHolder> Parse(const std::string& text);
};

class RepositoryLock {
 public:
  // Takes the lock without waiting, and records `operation` as its holder (clock and host
  // from `env`); when another operation holds it, a Code::kLocked error saying which.
  static Result<std::unique_ptr<RepositoryLock>> Acquire(const std::string& lock_path,
                                                         LockOperation operation, Env* env);
  ~RepositoryLock();
  RepositoryLock(const RepositoryLock&) = delete;
  RepositoryLock& operator=(const RepositoryLock&) = delete;

 private:
  explicit RepositoryLock(int fd) : fd_(fd) {}
  int fd_;
};

// The holder recorded in `lock_path`, read without taking the lock (so that looking never
// makes an operation fail). nullopt when the file is absent or holds no valid holder.
// Whether the holder still runs is the caller's question (the file outlives a dead one).
std::optional<LockHolder> ReadLockHolder(const std::string& lock_path);

}  // namespace gb
