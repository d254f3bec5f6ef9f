// `govern-backup unlock [--stale | --force]`: removes the lock objects of a remote repository
// that no operation will remove: those not refreshed for 30 minutes (--stale, the default), or
// every one (--force, when the admin knows that no operation runs). A local repository's lock
// is an flock the kernel releases when its holder dies: there is nothing to remove.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "coordinator/commands.h"
#include "coordinator/json_output.h"
#include "coordinator/node_context.h"
#include "coordinator/store_lock.h"

namespace gb {

Status RunUnlock(const GlobalOptions& global, const UnlockOptions& options) {
  if (options.stale_only && options.force)
    return Status::Usage("unlock: --stale or --force, not both");
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  if (repo->is_local()) {
    std::cout << repo->root() << " is a local repository: its lock is released by the kernel "
              << "when its holder exits; nothing to remove\n";
    return Status::Ok();
  }
  GB_ASSIGN_OR_RETURN(std::vector<StoreLockEntry> removed,
                      RemoveStoreLocks(repo->store(), global.env->Now(), !options.force,
                                       StoreLockOptions().stale_after));
  GB_ASSIGN_OR_RETURN(std::vector<StoreLockEntry> left,
                      ListStoreLocks(repo->store(), global.env->Now(), StoreLockOptions().stale_after));
  if (global.json) {
    nlohmann::json removed_json = nlohmann::json::array();
    for (const StoreLockEntry& lock : removed)
      removed_json.push_back({{"key", lock.key}, {"holder", lock.holder.Describe()}});
    nlohmann::json left_json = nlohmann::json::array();
    for (const StoreLockEntry& lock : left)
      left_json.push_back({{"key", lock.key}, {"holder", lock.holder.Describe()}});
    PrintJson({{"command", "unlock"}, {"repository", repo->root()}, {"removed", removed_json},
               {"held", left_json}});
  } else {
    for (const StoreLockEntry& lock : removed)
      std::cout << "removed lock " << repo->Locate(lock.key) << ": " << lock.holder.Describe() << "\n";
    for (const StoreLockEntry& lock : left)
      std::cout << "kept lock " << repo->Locate(lock.key) << ": " << lock.holder.Describe()
                << " (refreshed recently; --force removes it)\n";
    if (removed.empty() && left.empty()) std::cout << "no lock in " << repo->root() << "\n";
  }
  return Status::Ok();
}

}  // namespace gb
