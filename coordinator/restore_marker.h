// RestoredFromMarker: the marker a restore leaves in the data dir it restored, so that
// `audit` can say which set the live node came from. A small TOML file; this module alone
// writes and reads it. Plain functions over the file system; safe from any thread.
#pragma once

#include <optional>
#include <string>

#include "coordinator/time_format.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

// Relative to the data dir.
inline constexpr char kRestoredFromMarker[] = ".govern-backup/restored-from.toml";

struct RestoredFromMarker {
  std::string id;
  std::string pair_token;
  TimePoint restored_at;
  std::string from_data_dir;  // the data dir the set was taken from
  std::string dss_version;
  std::string database;       // the database restored with it; "" when the set has none

  std::string ToText() const;
  // An error names `where` and what is missing; unknown keys are ignored.
  static Result<RestoredFromMarker> Parse(const std::string& text, const std::string& where);
};

// Writes <data_dir>/.govern-backup/restored-from.toml (the folder 0700, the file 0600,
// atomically). When run as root, both take the owner of `data_dir`: audit may run as the
// DSS user.
Status WriteRestoredFromMarker(const std::string& data_dir, const RestoredFromMarker& marker,
                               Env* env);

// The marker of `data_dir`; nullopt when there is none (a node never restored), an error
// when it is there but unreadable or incomplete.
Result<std::optional<RestoredFromMarker>> ReadRestoredFromMarker(const std::string& data_dir);

}  // namespace gb
