#include "coordinator/chain.h"

#include <algorithm>
#include <map>
#include <set>

namespace gb {
namespace {

constexpr char kBrokenChainHint[] =
    "a set needs every set it builds on: restore the missing set into the repository (e.g. "
    "`govern-backup copy` from another repository), or use an older complete chain";

// Walks parents from `id` with `load`, then returns the chain oldest first.
template <typename Load>
Result<std::vector<Manifest>> Walk(const std::string& id, Load load) {
  std::vector<Manifest> chain;
  std::set<std::string> seen;
  std::string next = id;
  std::string needed_by;
  while (!next.empty()) {
    if (!seen.insert(next).second)
      return Status::Failed("set " + needed_by + " builds on set " + next +
                                ", which builds on it again: the chain loops",
                            "the manifests are damaged");
    Result<Manifest> manifest = load(next);
    if (!manifest.ok()) {
      if (needed_by.empty()) return manifest.status();
      return manifest.status()
          .WithContext("set " + needed_by + " builds on set " + next)
          .WithHint(kBrokenChainHint);
    }
    if (!chain.empty() && manifest->node.data_dir != chain.back().node.data_dir)
      return Status::Failed("set " + needed_by + " builds on set " + next + ", which is of " +
                                manifest->node.data_dir + ", not " + chain.back().node.data_dir,
                            "the manifests are damaged");
    if (!chain.empty() && !manifest->index)
      return Status::Failed("set " + needed_by + " builds on set " + next +
                                ", which has no per-file index: no set can build on it",
                            "the manifests are damaged");
    needed_by = next;
    next = manifest->type == SetType::kIncremental ? manifest->parent : std::string();
    chain.push_back(std::move(*manifest));
  }
  return std::vector<Manifest>(chain.rbegin(), chain.rend());
}

}  // namespace

Result<std::vector<Manifest>> LoadChain(const Repository& repository, const std::string& id) {
  return Walk(id, [&](const std::string& each) { return repository.LoadSet(each); });
}

Result<std::vector<Manifest>> ChainOf(const std::vector<Manifest>& sets, const std::string& id) {
  std::map<std::string, const Manifest*> by_id;
  for (const Manifest& manifest : sets) by_id[manifest.id] = &manifest;
  return Walk(id, [&](const std::string& each) -> Result<Manifest> {
    auto found = by_id.find(each);
    if (found == by_id.end())
      return Status::Failed("set " + each + " is missing or incomplete (no valid manifest)");
    return *found->second;
  });
}

std::vector<std::string> ChainIds(const std::vector<Manifest>& chain) {
  std::vector<std::string> ids;
  for (const Manifest& manifest : chain) ids.push_back(manifest.id);
  return ids;
}

std::vector<std::string> WithAncestors(const Repository& repository,
                                       const std::vector<std::string>& ids) {
  std::vector<std::string> ordered;
  std::set<std::string> taken;
  for (const std::string& id : ids) {
    std::vector<std::string> newest_first;
    std::string next = id;
    while (!next.empty() && !taken.count(next) &&
           std::find(newest_first.begin(), newest_first.end(), next) == newest_first.end()) {
      newest_first.push_back(next);
      Result<Manifest> manifest = repository.LoadSet(next);
      next = manifest.ok() && manifest->type == SetType::kIncremental ? manifest->parent : "";
    }
    for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it)
      if (taken.insert(*it).second) ordered.push_back(*it);
  }
  return ordered;
}

std::map<std::string, std::vector<std::string>> DependentsOf(const std::vector<Manifest>& sets) {
  std::map<std::string, const Manifest*> by_id;
  for (const Manifest& manifest : sets) by_id[manifest.id] = &manifest;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [id, manifest] : by_id) {  // by id: oldest first
    std::set<std::string> seen = {id};
    const Manifest* at = manifest;
    while (at != nullptr && at->type == SetType::kIncremental && seen.insert(at->parent).second) {
      dependents[at->parent].push_back(id);
      auto parent = by_id.find(at->parent);
      at = parent == by_id.end() ? nullptr : parent->second;
    }
  }
  return dependents;
}

}  // namespace gb
