#include "coordinator/repository_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "coordinator/toml_text.h"
#include "io/files.h"

namespace gb {
namespace {

constexpr LockOperation kOperations[] = {LockOperation::kBackup, LockOperation::kRestore,
                                         LockOperation::kPrune, LockOperation::kPruneDryRun,
                                         LockOperation::kCopy};

std::optional<LockOperation> ParseOperation(const std::string& text) {
  for (LockOperation each : kOperations)
    if (text == ToString(each)) return each;
  return std::nullopt;
}

// What the holder wrote, read through `fd` (open on the lock file).
std::string ReadHolderText(int fd) {
  std::string text(4096, '\0');
  ssize_t got = ::pread(fd, text.data(), text.size(), 0);
  text.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return text;
}

}  // namespace

const char* ToString(LockOperation operation) {
  switch (operation) {
    case LockOperation::kBackup: return "backup";
    case LockOperation::kRestore: return "restore";
    case LockOperation::kPrune: return "prune";
    case LockOperation::kPruneDryRun: return "prune --dry-run";
    case LockOperation::kCopy: return "copy";
  }
  return "backup";
}

std::string LockHolder::Describe() const {
  return std::string(ToString(operation)) + " (pid " + std::to_string(pid) +
         (host.empty() ? "" : " on " + host) + ", since " + FormatRfc3339(since) + ")";
}

std::string LockHolder::ToText() const {
  toml::table table{{"operation", ToString(operation)},
                    {"pid", static_cast<int64_t>(pid)},
                    {"host", host},
                    {"since", ToTomlTime(since)}};
  if (refreshed) table.insert("refreshed", ToTomlTime(*refreshed));
  return FormatToml(table, "# govern-backup: the operation holding this repository's lock");
}

Result<LockHolder> LockHolder::Parse(const std::string& text) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& error) {
    return Status::Failed("not a lock holder: " + std::string(error.description()));
  }
  std::optional<LockOperation> operation =
      ParseOperation(table["operation"].value_or(std::string()));
  std::optional<int64_t> pid = table["pid"].value_exact<int64_t>();
  std::optional<toml::date_time> since = table["since"].value_exact<toml::date_time>();
  std::optional<TimePoint> since_point = since ? FromTomlTime(*since) : std::nullopt;
  if (!operation || !pid || *pid <= 0 || !since_point)
    return Status::Failed("not a lock holder: it needs operation, pid and since");
  std::optional<TimePoint> refreshed;
  if (toml::node* node = table.get("refreshed")) {
    std::optional<toml::date_time> value = node->value_exact<toml::date_time>();
    refreshed = value ? FromTomlTime(*value) : std::nullopt;
    if (!refreshed) return Status::Failed("not a lock holder: refreshed is not a date-time");
  }
  return LockHolder{*operation, static_cast<pid_t>(*pid), table["host"].value_or(std::string()),
                    *since_point, refreshed};
}

Result<std::unique_ptr<RepositoryLock>> RepositoryLock::Acquire(const std::string& lock_path,
                                                                LockOperation operation,
                                                                Env* env) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot open lock file " + lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    std::string text = ReadHolderText(fd);
    ::close(fd);
    if (error != EWOULDBLOCK) return Status::FromErrno("cannot lock " + lock_path, error);
    Result<LockHolder> holder = LockHolder::Parse(text);
    return Status::Locked("the repository is busy: " +
                              (holder.ok() ? holder->Describe()
                                           : std::string("another govern-backup operation")) +
                              " holds " + lock_path,
                          "wait for it to finish; the lock goes away by itself if it dies");
  }
  auto lock = std::unique_ptr<RepositoryLock>(new RepositoryLock(fd));
  std::string text = LockHolder{operation, ::getpid(), env->HostName(), env->Now()}.ToText();
  if (::ftruncate(fd, 0) != 0 || !WriteAll(fd, text.data(), text.size(), lock_path).ok()) {
    // The lock holds regardless; only the description for others is lost, and readers
    // treat a missing or partial holder as unknown.
  }
  return lock;
}

RepositoryLock::~RepositoryLock() {
  // The holder's description goes with the lock. Failing to clear it is harmless: the flock
  // is what excludes, and readers check that the recorded pid still runs.
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::close(fd_);  // releases the flock
}

std::optional<LockHolder> ReadLockHolder(const std::string& lock_path) {
  Result<std::string> text = ReadWholeFile(lock_path);
  if (!text.ok()) return std::nullopt;
  Result<LockHolder> holder = LockHolder::Parse(*text);
  if (!holder.ok()) return std::nullopt;
  return *holder;
}

}  // namespace gb
