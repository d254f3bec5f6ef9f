// `govern-backup prune [--dry-run]`: applies the [retention] policy (retention.h) to the
// complete sets, whole pairs only, and removes what interrupted operations left behind.
//
// A set is removed manifest first (then its halves, then its directory), each step made
// durable before the next: an interrupted prune leaves at worst an incomplete set (no
// manifest), which is never listed as restorable and which the next prune removes; never a
// set that looks complete with a half missing.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "coordinator/commands.h"
#include "coordinator/json_writer.h"
#include "coordinator/node_context.h"
#include "coordinator/repository.h"
#include "coordinator/repository_lock.h"
#include "coordinator/retention.h"
#include "coordinator/work_leftovers.h"
#include "io/atomic_file.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

struct PlanItem {
  std::string id;    // a set id, or a path for a leftover
  std::string path;  // what is removed
  bool remove = false;
  bool is_set = true;
  std::vector<std::string> reasons;
  const Manifest* manifest = nullptr;  // complete sets
};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

// Manifest first, then the halves, then the directory; each made durable before the next.
Status RemoveSet(Env* env, const Repository& repo, const PlanItem& item) {
  std::string dir = repo.SetDir(item.id);
  std::string manifest_path = repo.ManifestPath(item.id);
  std::error_code error;
  if (fs::exists(manifest_path, error)) {
    GB_RETURN_IF_ERROR(env->RemoveAll(manifest_path));
    GB_RETURN_IF_ERROR(FsyncPath(dir));
  }
  if (item.manifest) {
    GB_RETURN_IF_ERROR(env->RemoveAll(dir + "/" + item.manifest->datadir.file));
    if (item.manifest->database)
      GB_RETURN_IF_ERROR(env->RemoveAll(dir + "/" + item.manifest->database->file));
  }
  GB_RETURN_IF_ERROR(env->RemoveAll(dir));
  return FsyncPath(repo.root());
}

void PrintLine(const PlanItem& item) {
  std::string label = item.is_set ? item.id : item.path;
  std::cout << (item.remove ? "remove " : "keep   ") << label;
  if (!item.reasons.empty()) std::cout << "  (" << Join(item.reasons) << ")";
  std::cout << "\n";
}

void PrintJson(const std::vector<PlanItem>& plan, bool dry_run, bool done) {
  JsonWriter json;
  json.BeginObject().Key("dry_run").Bool(dry_run).Key("completed").Bool(done).Key("sets").BeginArray();
  for (const auto& item : plan) {
    if (!item.is_set) continue;
    json.BeginObject().Key("id").String(item.id).Key("action").String(item.remove ? "remove" : "keep");
    if (item.manifest) json.Key("created_at").String(FormatRfc3339(item.manifest->created_at));
    json.Key("reasons").BeginArray();
    for (const auto& reason : item.reasons) json.String(reason);
    json.EndArray().EndObject();
  }
  json.EndArray().Key("leftovers").BeginArray();
  for (const auto& item : plan) {
    if (item.is_set) continue;
    json.BeginObject().Key("path").String(item.path).Key("action").String(item.remove ? "remove" : "keep")
        .Key("reasons").BeginArray();
    for (const auto& reason : item.reasons) json.String(reason);
    json.EndArray().EndObject();
  }
  json.EndArray().EndObject();
  std::cout << json.str() << "\n";
}

}  // namespace

Status RunPrune(const GlobalOptions& global, const PruneOptions& options) {
  // Step: configuration; a policy that keeps nothing is refused before anything else.
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  RetentionPolicy policy = RetentionPolicy::FromConfig(config.retention);
  Status valid = ValidateRetention(policy);
  if (!valid.ok()) return valid.WithContext(config.source);
  Repository repo(config.repository.path);
  std::error_code error;
  if (!fs::is_directory(repo.root(), error)) {
    std::cout << "no repository at " << repo.root() << ": nothing to prune\n";
    return Status::Ok();
  }

  // Step: one operation at a time: no backup writes a work directory while we look.
  GB_ASSIGN_OR_RETURN(auto lock, RepositoryLock::Acquire(repo.LockPath(),
                                                         options.dry_run ? "prune --dry-run" : "prune"));

  // Step: the plan. Complete sets by the policy; incomplete set directories go; a set whose
  // manifest is damaged is kept (its halves may be intact: a person decides).
  GB_ASSIGN_OR_RETURN(std::vector<SetEntry> sets, repo.ListSets());
  std::vector<RetentionCandidate> candidates;
  for (const auto& set : sets)
    if (set.has_manifest && set.manifest.ok()) candidates.push_back({set.id, set.manifest->created_at});
  std::map<std::string, RetentionDecision> decisions;
  for (auto& decision : ApplyRetention(candidates, policy)) decisions[decision.id] = decision;

  std::vector<PlanItem> plan;
  for (const auto& set : sets) {
    PlanItem item;
    item.id = set.id;
    item.path = set.dir;
    if (!set.has_manifest) {
      item.remove = true;
      item.reasons = {"incomplete: no manifest"};
    } else if (!set.manifest.ok()) {
      item.reasons = {"manifest damaged: not judged; see `govern-backup verify " + set.id + "`"};
    } else {
      const RetentionDecision& decision = decisions.at(set.id);
      item.remove = !decision.keep;
      item.reasons = decision.reasons;
      item.manifest = &*set.manifest;
    }
    plan.push_back(std::move(item));
  }
  GB_ASSIGN_OR_RETURN(std::vector<WorkEntry> leftovers, ListWorkEntries(repo, global.env->Now()));
  for (const auto& entry : leftovers) {
    PlanItem item;
    item.is_set = false;
    item.id = entry.name;
    item.path = entry.path;
    // We hold the lock, so no backup runs; a verify --deep takes no lock and may.
    item.remove = !entry.in_use;
    item.reasons = {entry.in_use ? "in use by " + entry.owner
                                 : entry.Describe() + ", age " + FormatAge(entry.age) + ", " +
                                       FormatBytes(entry.bytes)};
    plan.push_back(std::move(item));
  }

  // Step: report and, unless dry run, remove.
  if (!global.json && options.dry_run) std::cout << "dry run: nothing is removed\n";
  size_t kept = 0, removed_sets = 0, removed_leftovers = 0;
  for (const auto& item : plan) {
    if (!global.json) PrintLine(item);
    if (!item.remove) {
      kept += item.is_set ? 1 : 0;
      continue;
    }
    if (!options.dry_run) {
      Status removed = item.is_set ? RemoveSet(global.env, repo, item) : global.env->RemoveAll(item.path);
      if (!removed.ok()) {
        if (global.json) PrintJson(plan, options.dry_run, false);
        return removed.WithContext("prune: removing " + item.path)
            .WithHint(item.is_set ? "the set's manifest went first, so it is no longer listed as "
                                    "complete; run `govern-backup prune` again"
                                  : "remove it by hand");
      }
      spdlog::debug("removed {}", item.path);
    }
    (item.is_set ? removed_sets : removed_leftovers) += 1;
  }

  if (global.json) {
    PrintJson(plan, options.dry_run, true);
  } else {
    std::cout << "prune: " << (options.dry_run ? "would keep " : "kept ") << kept << " set(s), "
              << (options.dry_run ? "would remove " : "removed ") << removed_sets << " set(s) and "
              << removed_leftovers << " leftover(s)\n";
    if (options.dry_run) std::cout << "dry run: nothing was removed\n";
  }
  return Status::Ok();
}

}  // namespace gb
