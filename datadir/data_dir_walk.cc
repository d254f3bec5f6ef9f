#include "datadir/data_dir_walk.h"

#include <set>

namespace gb {

std::string ExclusionKey(std::string_view name) {
  if (name == "analysis-data") return "analysis_data";
  return std::string(name);
}

SkipTopFn DataDirSkipTop(const std::vector<std::string>& exclude,
                         std::vector<std::string>* excluded_present) {
  std::set<std::string> keys;
  for (const std::string& name : exclude) keys.insert(ExclusionKey(name));
  return [keys = std::move(keys), excluded_present](std::string_view name) {
    if (name == kPairDirName) return true;
    if (keys.count(ExclusionKey(name)) == 0) return false;
    if (excluded_present != nullptr) excluded_present->emplace_back(name);
    return true;
  };
}

Result<std::unique_ptr<TreeWalker>> OpenDataDirWalk(const std::string& root,
                                                    const std::vector<std::string>& exclude,
                                                    std::vector<std::string>* excluded_present) {
  return TreeWalker::Open(root, DataDirSkipTop(exclude, excluded_present));
}

}  // namespace gb
