#include "coordinator/parent_choice.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "coordinator/chain.h"
#include "datadir/data_dir_walk.h"

namespace gb {
namespace {

ParentChoice Full(std::string reason) { return ParentChoice{std::nullopt, std::move(reason)}; }

// Excludes as the walk applies them: analysis_data and analysis-data are one name.
std::vector<std::string> ExclusionKeys(const std::vector<std::string>& names) {
  std::vector<std::string> keys;
  for (const std::string& name : names) keys.push_back(ExclusionKey(name));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// Why `newest` cannot be built on, or "" when it can.
std::string Unusable(const Config& config, const Manifest& newest) {
  const std::string set = "the newest set " + newest.id;
  if (newest.format < 2 || !newest.index || !newest.datadir.seekable)
    return set + " has no file index or no seekable half (written by 0.1.0)";
  if (ExclusionKeys(newest.datadir.excluded) != ExclusionKeys(config.backup.exclude))
    return set + " was taken with other [backup] exclude names";
  return "";
}

std::string Age(std::chrono::seconds age) {
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(age).count();
  if (hours >= 48) return std::to_string(hours / 24) + "d";
  if (hours >= 1) return std::to_string(hours) + "h";
  return std::to_string(std::chrono::duration_cast<std::chrono::minutes>(age).count()) + "m";
}

}  // namespace

ParentChoice ChooseParent(const Config& config, const Result<std::vector<Manifest>>& sets,
                          const std::string& data_dir, bool force_full, TimePoint now) {
  if (force_full) return Full("backup --full");
  if (!config.backup.incremental) return Full("[backup] incremental = false");
  if (!sets.ok()) return Full("the repository's sets could not be listed: " + sets.status().message());
  const Manifest* newest = nullptr;
  for (const Manifest& set : *sets)  // oldest first
    if (set.node.data_dir == data_dir) newest = &set;
  if (newest == nullptr) return Full("no earlier set of " + data_dir + " in this repository");
  const std::string unusable = Unusable(config, *newest);
  if (!unusable.empty()) return Full(unusable);
  Result<std::vector<Manifest>> chain = ChainOf(*sets, newest->id);
  if (!chain.ok()) return Full("the chain of " + newest->id + " is broken: " + chain.status().message());
  const Manifest& full = chain->front();
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - full.created_at);
  if (age >= config.backup.full_every)
    return Full("the chain's full set " + full.id + " is " + Age(age) + " old ([backup] full_every = " +
                config.backup.full_every_text + ")");
  return ParentChoice{*newest, "builds on " + newest->id + " (a chain of " +
                                   std::to_string(chain->size()) + " set" +
                                   (chain->size() > 1 ? "s" : "") + " since the full set " +
                                   full.id + ")"};
}

}  // namespace gb
