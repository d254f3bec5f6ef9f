// What a restore does not bring back, for comparing a restored tree with the node's: the
// folders [backup] excludes by default, and .govern-backup (the restored-from marker).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace gb {
namespace testing {

inline std::vector<std::string> SkippedByRestore() {
  std::vector<std::string> skip = BackupConfig::DefaultExcludes();
  skip.push_back(".govern-backup");
  return skip;
}

}  // namespace testing
}  // namespace gb
