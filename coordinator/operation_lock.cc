#include "coordinator/operation_lock.h"

#include "coordinator/store_lock.h"

namespace gb {
namespace {

class LocalOperationLock : public OperationLock {
 public:
  explicit LocalOperationLock(std::unique_ptr<RepositoryLock> lock) : lock_(std::move(lock)) {}
  Status Healthy() const override { return Status::Ok(); }

 private:
  std::unique_ptr<RepositoryLock> lock_;
};

class RemoteOperationLock : public OperationLock {
 public:
  explicit RemoteOperationLock(std::unique_ptr<StoreLock> lock) : lock_(std::move(lock)) {}
  Status Healthy() const override { return lock_->Healthy(); }

 private:
  std::unique_ptr<StoreLock> lock_;
};

}  // namespace

Result<std::unique_ptr<OperationLock>> OperationLock::Acquire(const Repository& repository,
                                                              LockOperation operation, Env* env) {
  if (repository.is_local()) {
    GB_ASSIGN_OR_RETURN(auto lock, RepositoryLock::Acquire(repository.LockPath(), operation, env));
    return std::unique_ptr<OperationLock>(new LocalOperationLock(std::move(lock)));
  }
  GB_ASSIGN_OR_RETURN(CreateProtocol protocol, repository.store().ProbeCreateProtocol());
  StoreLockOptions options;
  options.operation = operation;
  options.env = env;
  GB_ASSIGN_OR_RETURN(auto lock, StoreLock::Acquire(repository.store(), protocol, options));
  return std::unique_ptr<OperationLock>(new RemoteOperationLock(std::move(lock)));
}

}  // namespace gb
