// `govern-backup prune [--dry-run]`: applies the [retention] policy (retention.h) to the
// complete sets, whole pairs only, and removes what interrupted operations left behind. A set
// that a kept set builds on is kept ("needed by <id>": retention.h).
//
// A set is removed manifest first (then its halves, then its directory), each step made
// durable before the next: an interrupted prune leaves at worst an incomplete set (no
// manifest), which is never listed as restorable and which the next prune removes; never a
// set that looks complete with a half missing.
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "coordinator/commands.h"
#include "coordinator/index_cache.h"
#include "coordinator/json_output.h"
#include "coordinator/node_context.h"
#include "coordinator/repository.h"
#include "coordinator/operation_lock.h"
#include "coordinator/retention.h"
#include "coordinator/work_leftovers.h"
#include "io/text.h"

namespace gb {
namespace {

struct PlanItem {
  std::string id;    // a set id, or a leftover's name
  std::string path;  // what is removed
  bool remove = false;
  bool is_set = true;
  std::vector<std::string> reasons;
  std::optional<Manifest> manifest;  // complete sets
  SetEntry set;                      // is_set: what is removed
  std::optional<PendingWrite> pending;  // an unfinished upload (S3)
};

// Complete sets by the policy; incomplete set directories go; a set whose manifest is
// damaged is kept (its halves may be intact: a person decides).
PlanItem PlanSet(const SetEntry& set, const std::map<std::string, RetentionDecision>& decisions) {
  PlanItem item;
  item.id = set.id;
  item.path = set.id;
  item.set = set;
  if (!set.has_manifest) {
    item.remove = true;
    item.reasons = {"incomplete: no manifest"};
  } else if (!set.manifest.ok()) {
    item.reasons = {"manifest damaged: not judged; see `govern-backup verify " + set.id + "`"};
  } else {
    const RetentionDecision& decision = decisions.at(set.id);
    item.remove = !decision.keep;
    item.reasons = decision.reasons;
    item.manifest = *set.manifest;
  }
  return item;
}

// We hold the lock, so no backup runs; a verify --deep takes no lock and may.
PlanItem PlanLeftover(const WorkEntry& entry) {
  PlanItem item;
  item.is_set = false;
  item.id = entry.name;
  item.path = entry.path;
  item.remove = !entry.in_use;
  item.reasons = {entry.in_use ? "in use by " + entry.owner
                               : entry.Describe() + ", age " + FormatAge(entry.age) + ", " +
                                     FormatBytes(entry.bytes)};
  return item;
}

// On an Object Lock bucket a removed set leaves the listing, while its locked versions stay
// stored (and billed) until their retention ends: the admin is told until when.
Status NoteObjectLock(const Repository& repo, TimePoint now, PlanItem& item) {
  std::optional<TimePoint> until;
  std::vector<std::string> keys = {repo.ManifestKey(item.id)};
  for (const ObjectInfo& object : item.set.objects) keys.push_back(object.key);
  for (const std::string& key : keys) {
    GB_ASSIGN_OR_RETURN(HeadResult head, repo.store().Head(key));
    if (head.exists && head.locked_until && *head.locked_until > now)
      until = until ? std::max(*until, *head.locked_until) : *head.locked_until;
  }
  if (until)
    item.reasons.push_back("Object Lock: its objects leave the listing but stay stored until " +
                           FormatRfc3339(*until));
  return Status::Ok();
}

// An unfinished upload: we hold the lock, so no backup of ours still sends its parts.
PlanItem PlanPendingWrite(const Repository& repo, const PendingWrite& write) {
  PlanItem item;
  item.is_set = false;
  item.id = write.key;
  item.path = repo.Locate(write.key);
  item.remove = true;
  item.reasons = {"unfinished upload, started " + write.initiated};
  item.pending = write;
  return item;
}

// What prune would do: every set, then every leftover. Touches nothing.
Result<std::vector<PlanItem>> PlanPrune(const Repository& repo, const RetentionPolicy& policy,
                                        Env* env) {
  GB_ASSIGN_OR_RETURN(std::vector<SetEntry> sets, repo.ListSets());
  std::map<std::string, RetentionDecision> decisions;
  for (auto& decision : ApplyRetention(CandidatesOf(sets), policy)) decisions[decision.id] = decision;

  std::vector<PlanItem> plan;
  for (const auto& set : sets) plan.push_back(PlanSet(set, decisions));
  for (PlanItem& item : plan)
    if (item.remove && !repo.is_local()) GB_RETURN_IF_ERROR(NoteObjectLock(repo, env->Now(), item));
  if (repo.is_local()) {
    GB_ASSIGN_OR_RETURN(std::vector<WorkEntry> leftovers, ListWorkEntries(repo, env->Now()));
    for (const auto& entry : leftovers) plan.push_back(PlanLeftover(entry));
  }
  GB_ASSIGN_OR_RETURN(std::vector<PendingWrite> pending, repo.store().ListPendingWrites(""));
  for (const auto& write : pending) plan.push_back(PlanPendingWrite(repo, write));
  return plan;
}

// The order of removal: sets newest first, so that an interrupted prune never leaves a
// complete set whose parent it removed; then the leftovers.
std::vector<const PlanItem*> RemovalOrder(const std::vector<PlanItem>& plan) {
  std::vector<const PlanItem*> order;
  for (auto it = plan.rbegin(); it != plan.rend(); ++it)
    if (it->remove && it->is_set) order.push_back(&*it);
  for (const auto& item : plan)
    if (item.remove && !item.is_set) order.push_back(&item);
  return order;
}

// Removes what the plan removes, in RemovalOrder; stops at the first failure.
Status RemovePlanned(Env* env, const Repository& repo, const std::vector<PlanItem>& plan) {
  for (const PlanItem* removed_item : RemovalOrder(plan)) {
    const PlanItem& item = *removed_item;
    Status removed = item.is_set  ? repo.DeleteSet(item.set, env)
                     : item.pending ? repo.store().AbortPendingWrite(*item.pending)
                                    : env->RemoveAll(item.path);
    if (!removed.ok())
      return removed.WithContext("prune: removing " + item.path)
          .WithHint(item.is_set ? "the set's manifest went first, so it is no longer listed as "
                                  "complete; run `govern-backup prune` again"
                                : "remove it by hand");
    spdlog::debug("removed {}", item.path);
  }
  return Status::Ok();
}

struct PlanCounts {
  size_t kept_sets = 0;
  size_t removed_sets = 0;
  size_t removed_leftovers = 0;
};

PlanCounts Count(const std::vector<PlanItem>& plan) {
  PlanCounts counts;
  for (const auto& item : plan) {
    if (item.is_set) (item.remove ? counts.removed_sets : counts.kept_sets) += 1;
    else if (item.remove) counts.removed_leftovers += 1;
  }
  return counts;
}

void PrintPlanText(const std::vector<PlanItem>& plan, bool dry_run) {
  if (dry_run) std::cout << "dry run: nothing is removed\n";
  for (const auto& item : plan) {
    std::cout << (item.remove ? "remove " : "keep   ") << (item.is_set ? item.id : item.path);
    if (!item.reasons.empty()) std::cout << "  (" << Join(item.reasons) << ")";
    std::cout << "\n";
  }
}

void PrintSummaryText(const std::vector<PlanItem>& plan, bool dry_run) {
  PlanCounts counts = Count(plan);
  std::cout << "prune: " << (dry_run ? "would keep " : "kept ") << counts.kept_sets << " set(s), "
            << (dry_run ? "would remove " : "removed ") << counts.removed_sets << " set(s) and "
            << counts.removed_leftovers << " leftover(s)\n";
  if (dry_run) std::cout << "dry run: nothing was removed\n";
}

nlohmann::json PlanJson(const std::vector<PlanItem>& plan, bool dry_run, bool completed) {
  nlohmann::json sets = nlohmann::json::array();
  nlohmann::json leftovers = nlohmann::json::array();
  for (const auto& item : plan) {
    nlohmann::json entry = {{"action", item.remove ? "remove" : "keep"}, {"reasons", item.reasons}};
    if (!item.is_set) {
      entry["path"] = item.path;
      leftovers.push_back(std::move(entry));
      continue;
    }
    entry["id"] = item.id;
    if (item.manifest) entry["created_at"] = FormatRfc3339(item.manifest->created_at);
    sets.push_back(std::move(entry));
  }
  return {{"dry_run", dry_run}, {"completed", completed}, {"sets", std::move(sets)},
          {"leftovers", std::move(leftovers)}};
}

// A copy that outlives its set is never used, but it is the file names of a data dir in
// clear: it goes with the set. On a host without copies there is nothing to do.
void DropIndexCopies(const Config& config, const Repository& repo) {
  Result<std::vector<std::string>> existing = repo.CompleteSetIds();
  if (!existing.ok()) {
    spdlog::warn("the index copies in {} were not pruned: {}", config.backup.cache_dir,
                 existing.status().ToString());
    return;
  }
  IndexCache(config.backup.cache_dir, repo).Prune(*existing);
}

}  // namespace

Status RunPrune(const GlobalOptions& global, const PruneOptions& options) {
  // Step: configuration; a policy that keeps nothing is refused before anything else.
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(const RepositoryConfig* repository_config, config.FindRepository(global.repo));
  RetentionPolicy policy = RetentionPolicy::FromConfig(config.RetentionFor(*repository_config));
  Status valid = ValidateRetention(policy);
  if (!valid.ok()) return valid.WithContext(config.source);
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(*repository_config, global.wrap_store));
  const Repository& repo = *repository;
  if (!repo.Exists()) {
    std::cout << "no repository at " << repo.root() << ": nothing to prune\n";
    return Status::Ok();
  }

  // Step: one operation at a time: no backup writes a work directory while we look.
  GB_ASSIGN_OR_RETURN(
      auto lock, OperationLock::Acquire(repo,
                                        options.dry_run ? LockOperation::kPruneDryRun
                                                        : LockOperation::kPrune,
                                        global.env));

  // Step: the plan, shown before anything goes.
  GB_ASSIGN_OR_RETURN(std::vector<PlanItem> plan, PlanPrune(repo, policy, global.env));
  if (!global.json) PrintPlanText(plan, options.dry_run);

  // Step: the removals, unless dry run.
  Status removed = options.dry_run ? Status::Ok() : RemovePlanned(global.env, repo, plan);

  // Step: the backup host's plaintext copies of the removed sets' indexes (index_cache.h).
  if (!options.dry_run) DropIndexCopies(config, repo);

  // Step: the outcome.
  if (global.json) PrintJson(PlanJson(plan, options.dry_run, removed.ok()));
  else if (removed.ok()) PrintSummaryText(plan, options.dry_run);
  return removed;
}

}  // namespace gb
