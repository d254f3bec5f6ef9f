#include "coordinator/open_repository.h"

#include "coordinator/set_keys.h"
#include "store/local_store.h"
#include "store/s3_store.h"

namespace gb {

S3Config S3ConfigOf(const RepositoryConfig& repository) {
  S3Config s3;
  s3.endpoint = repository.endpoint;
  s3.bucket = repository.bucket;
  s3.prefix = repository.prefix;
  s3.region = repository.region;
  s3.uri_style = repository.uri_style == "host" ? UriStyle::kHost : UriStyle::kPath;
  s3.ca_file = repository.ca_file;
  s3.part_size = static_cast<size_t>(repository.part_size);
  s3.upload_concurrency = repository.upload_concurrency;
  s3.retry_max_time = repository.retry_max_time;
  // The config was validated when read: the mode parses.
  s3.object_lock = ParseObjectLockMode(repository.object_lock).value();
  s3.object_lock_retain = repository.object_lock_retain;
  return s3;
}

S3CredentialSource CredentialSourceOf(const RepositoryConfig& repository) {
  S3CredentialSource source;
  if (repository.credentials == "file") {
    source.kind = S3CredentialSource::Kind::kKeyFiles;
    source.access_key_file = repository.access_key_file;
    source.secret_key_file = repository.secret_key_file;
  } else if (repository.credentials == "profile") {
    source.kind = S3CredentialSource::Kind::kProfile;
    source.profile_file = repository.shared_credentials_file;
    source.profile = repository.profile;
  }
  return source;
}

Result<std::unique_ptr<Repository>> OpenRepository(const RepositoryConfig& repository,
                                                   const StoreWrapper& wrap) {
  std::unique_ptr<Store> store;
  std::string root;
  Repository::Kind kind = Repository::Kind::kLocal;
  if (repository.is_s3()) {
    const std::string where = "repository " + repository.name + " (" + repository.url + ")";
    Result<S3Credentials> credentials = LoadCredentials(CredentialSourceOf(repository));
    if (!credentials.ok()) return credentials.status().WithContext(where);
    Result<std::unique_ptr<S3Store>> opened = S3Store::Open(S3ConfigOf(repository), *credentials);
    if (!opened.ok()) return opened.status().WithContext(where);
    store = std::move(opened).value();
    root = "s3://" + repository.bucket + "/" + repository.prefix;
    kind = Repository::Kind::kS3;
  } else {
    store = std::make_unique<LocalStore>(repository.path);
    root = repository.path;
  }
  if (wrap) store = wrap(std::move(store));
  return std::make_unique<Repository>(repository.name, kind, root, std::move(store));
}

Result<std::unique_ptr<Repository>> OpenRepository(const Config& config, const std::string& name,
                                                   const StoreWrapper& wrap) {
  GB_ASSIGN_OR_RETURN(const RepositoryConfig* repository, config.FindRepository(name));
  GB_ASSIGN_OR_RETURN(std::unique_ptr<Repository> opened, OpenRepository(*repository, wrap));
  GB_ASSIGN_OR_RETURN(std::shared_ptr<const SetKeys> keys, SetKeys::FromConfig(config.encryption));
  opened->set_keys(std::move(keys));
  return opened;
}

}  // namespace gb
