#include "coordinator/repository_checks.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/config.h"
#include "coordinator/format_bytes.h"

namespace gb {
namespace {

std::string Subject(const std::string& what, const Repository& repository) {
  return repository.name() == RepositoryConfig::kMainName ? what : what + " " + repository.name();
}

std::string Days(std::chrono::seconds duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::hours>(duration).count() / 24) + "d";
}

// An Object Lock retention shorter than what [retention] keeps leaves the older kept sets
// deletable: worth a warning, not a refusal (the backup itself is fine).
void CheckObjectLock(const Config& config, const RepositoryConfig& settings,
                     const Repository& repository, std::vector<Finding>& findings) {
  if (settings.object_lock.empty()) return;
  const std::chrono::seconds horizon = RetentionHorizon(config.RetentionFor(settings));
  std::string detail = "every object is written locked (" + settings.object_lock + ") for " +
                       Days(settings.object_lock_retain);
  if (settings.object_lock_retain < horizon) {
    detail = "warning: " + detail + ", but the retention rules keep sets up to " + Days(horizon) +
             ": the older kept sets are no longer protected (raise object_lock_retain to " +
             Days(horizon) + ")";
    spdlog::warn("repository {}: {}", repository.name(), detail);
  }
  findings.push_back(Finding::Ok(Subject("object lock", repository), detail));
}

// One probe answers whether the endpoint, the credentials and the bucket are right, whether
// we may write (with the Object Lock headers, when configured), and which lock protocol the
// bucket supports.
void CheckRemote(const Repository& repository, std::vector<Finding>& findings) {
  Result<CreateProtocol> protocol = repository.store().ProbeCreateProtocol();
  if (!protocol.ok()) {
    findings.push_back(Finding::Problem(
        Subject("repository", repository),
        protocol.status().WithContext("cannot write a probe object to " + repository.root())));
    return;
  }
  findings.push_back(Finding::Ok(Subject("repository", repository),
                                 repository.root() + " is reachable and writable (credentials accepted)"));
  findings.push_back(Finding::Ok(
      Subject("locks", repository),
      *protocol == CreateProtocol::kConditionalCreate
          ? std::string("the bucket honours conditional writes (If-None-Match): one lock object")
          : std::string("the bucket ignores conditional writes (versioning on): the list-based "
                        "lock protocol is used")));
}

}  // namespace

std::chrono::seconds RetentionHorizon(const RetentionConfig& retention) {
  using Days = std::chrono::duration<int64_t, std::ratio<86400>>;
  return std::max({retention.keep_within,
                   std::chrono::seconds(Days(retention.keep_daily)),
                   std::chrono::seconds(Days(7 * retention.keep_weekly)),
                   std::chrono::seconds(Days(31 * retention.keep_monthly))});
}

std::vector<Finding> CheckRepositoryAccess(const Config& config, const Repository& repository) {
  std::vector<Finding> findings;
  if (repository.is_local()) {
    Result<std::string> writable = repository.CheckWritable();
    findings.push_back(writable.ok()
                           ? Finding::Ok(Subject("repository", repository), *writable)
                           : Finding::Problem(Subject("repository", repository), writable.status()));
    return findings;
  }
  CheckRemote(repository, findings);
  Result<const RepositoryConfig*> settings = config.FindRepository(repository.name());
  if (settings.ok()) CheckObjectLock(config, **settings, repository, findings);
  return findings;
}

}  // namespace gb
