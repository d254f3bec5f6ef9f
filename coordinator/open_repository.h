// OpenRepository: the repository a command works on, from the configuration: [repository]
// ("main") or [repositories.NAME] (--repo NAME), on a LocalStore or an S3Store with its
// credentials. Opening sends nothing over the network; the first request tells whether the
// endpoint, the credentials and the bucket are right (check tests them).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "coordinator/repository.h"
#include "io/status.h"
#include "store/s3_config.h"
#include "store/s3_credentials.h"

namespace gb {

// A test seam: wraps the store a command is about to use (a store that fails at step N).
using StoreWrapper = std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)>;

Result<std::unique_ptr<Repository>> OpenRepository(const RepositoryConfig& repository,
                                                   const StoreWrapper& wrap = nullptr);
// The repository `name` of `config` ("" = main): an unknown name is a usage error. Its
// [encryption] keys come with it (Repository::keys()).
Result<std::unique_ptr<Repository>> OpenRepository(const Config& config, const std::string& name,
                                                   const StoreWrapper& wrap = nullptr);

// The S3 settings and the credentials' source of an S3 repository's configuration.
S3Config S3ConfigOf(const RepositoryConfig& repository);
S3CredentialSource CredentialSourceOf(const RepositoryConfig& repository);

}  // namespace gb
