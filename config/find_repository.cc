// Config::FindRepository / RetentionFor: a repository by the name --repo and copy --to give.
#include <string>
#include <vector>

#include "config/config.h"
#include "io/text.h"

namespace gb {

Result<const RepositoryConfig*> Config::FindRepository(const std::string& name) const {
  if (name.empty() || name == RepositoryConfig::kMainName) return &repository;
  const auto found = repositories.find(name);
  if (found != repositories.end()) return &found->second;
  std::vector<std::string> names = {RepositoryConfig::kMainName};
  for (const auto& [known, unused] : repositories) names.push_back(known);
  return Status::Usage("no repository named '" + name + "' in " + source,
                       "the repositories are " + Join(names, ", ") +
                           " (main is [repository]; the others are [repositories.NAME])");
}

const RetentionConfig& Config::RetentionFor(const RepositoryConfig& repository) const {
  return repository.retention ? *repository.retention : retention;
}

}  // namespace gb
