// PairIdentity: what each half carries inside its own bytes (a zstd skippable frame, and
// for the archive also the .govern-backup/pair.toml member) so that halves of different
// sets can be told apart without trusting the manifest. Plain values; safe to share.
#pragma once

#include <string>

#include "io/status.h"

namespace gb {

inline constexpr char kRoleDatadir[] = "datadir";
inline constexpr char kRoleDatabase[] = "database";

struct PairIdentity {
  std::string id;
  std::string pair_token;
  std::string role;  // kRoleDatadir | kRoleDatabase

  std::string ToText() const;
  static Result<PairIdentity> Parse(const std::string& text, const std::string& where);
};

// 128 random bits as 32 lowercase hex digits.
std::string NewPairToken();

}  // namespace gb
