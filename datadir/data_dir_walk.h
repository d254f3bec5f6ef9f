// DataDirWalk: the physical, name-sorted walk of a data dir that the archive writer, the
// estimate and the read-ahead share: the root itself, the excluded top-level entries, the
// live .govern-backup/ and the post-order visits of directories are left out.
#pragma once

#include <fts.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace gb {

// The top-level folder of the pair member and of a restore's restored-from marker.
inline constexpr char kPairDirName[] = ".govern-backup";

// "analysis_data" and "analysis-data" name the same DSS folder across versions.
std::string ExclusionKey(std::string_view name);

class DataDirWalk {
 public:
  static Result<std::unique_ptr<DataDirWalk>> Open(const std::string& root,
                                                   const std::vector<std::string>& exclude);
  ~DataDirWalk();

  // The next entry, or nullptr at the end. Entries keep fts's fts_info (FTS_NS, FTS_DNR ...
  // for those that could not be read).
  Result<FTSENT*> Next();

  // Path of `entry` relative to the root, e.g. "config/general-settings.json".
  std::string_view Relative(const FTSENT* entry) const;

  const std::string& root() const { return root_; }
  const std::vector<std::string>& excluded_present() const { return excluded_present_; }
  void set_on_excluded(std::function<void(const FTSENT*)> callback) {
    on_excluded_ = std::move(callback);
  }

 private:
  DataDirWalk() = default;

  std::string root_;
  std::set<std::string> excluded_keys_;
  std::vector<std::string> excluded_present_;
  std::function<void(const FTSENT*)> on_excluded_;
  FTS* fts_ = nullptr;
};

}  // namespace gb
