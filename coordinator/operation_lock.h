// OperationLock: one operation that changes a repository at a time, whatever host it runs on:
// the flock of a local repository (repository_lock.h: released by the kernel when its holder
// dies), the lock objects of a remote one (store_lock.h: refreshed while held, stale after 30
// minutes, removed by `unlock`). Owned by the thread that took it.
#pragma once

#include <memory>

#include "coordinator/repository.h"
#include "coordinator/repository_lock.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

class OperationLock {
 public:
  virtual ~OperationLock() = default;
  // Takes the lock without waiting: a Code::kLocked error naming the holder when held.
  static Result<std::unique_ptr<OperationLock>> Acquire(const Repository& repository,
                                                        LockOperation operation, Env* env);
  // OK while the lock is surely still ours; checked before a commit.
  virtual Status Healthy() const = 0;
};

}  // namespace gb
