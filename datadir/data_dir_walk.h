// The data dir's walking rules, shared by the archive writer, the estimate and the
// read-ahead: which top-level names are left out of a set (the exclusions and the live
// .govern-backup/ folder) and the walk of what remains (a TreeWalker).
//
// Thread-safety: DataDirSkipTop's function records into `excluded_present`, which the
// caller owns: one walk at a time per vector.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datadir/tree_walker.h"
#include "io/status.h"

namespace gb {

// The top-level folder of the pair member and of a restore's restored-from marker.
inline constexpr char kPairDirName[] = ".govern-backup";

// "analysis_data" and "analysis-data" name the same DSS folder across versions.
std::string ExclusionKey(std::string_view name);

// Skips the live .govern-backup/ (a restore's restored-from marker describes this node, not
// the set being written: each set carries its own pair member there instead) and the
// `exclude` names, appending those that exist to `excluded_present` when given.
SkipTopFn DataDirSkipTop(const std::vector<std::string>& exclude,
                         std::vector<std::string>* excluded_present = nullptr);

// A walk of `root` by those rules.
Result<std::unique_ptr<TreeWalker>> OpenDataDirWalk(
    const std::string& root, const std::vector<std::string>& exclude,
    std::vector<std::string>* excluded_present = nullptr);

}  // namespace gb
