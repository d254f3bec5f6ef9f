// RepositoryChecks: whether a repository can take a backup now, as findings: a local directory
// is (or can be made) writable; an S3 bucket answers with these credentials, takes a write, and
// honours conditional writes or not (which lock protocol applies); its Object Lock retention
// covers what [retention] keeps. Shared by backup's pre-flight (the main repository) and
// `check` (every configured repository). Stateless; the network calls are the store's.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/findings.h"
#include "coordinator/repository.h"

namespace gb {

// Subjects: "repository", "locks", "object lock", each followed by " <name>" for a repository
// other than main.
std::vector<Finding> CheckRepositoryAccess(const Config& config, const Repository& repository);

// How long [retention] may keep a set, by its time-based rules (keep_last counts sets, not
// time, and is left out): the Object Lock retention a repository needs to protect them all.
std::chrono::seconds RetentionHorizon(const RetentionConfig& retention);

}  // namespace gb
