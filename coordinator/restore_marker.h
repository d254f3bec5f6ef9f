// The marker a restore leaves in the data dir it restored, so that `audit` can say which
// set the live node came from. A small TOML file with keys id, pair_token, restored_at.
#pragma once

namespace gb {

// Relative to the data dir.
inline constexpr char kRestoredFromMarker[] = ".govern-backup/restored-from.toml";

}  // namespace gb
