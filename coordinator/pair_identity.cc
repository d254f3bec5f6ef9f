#include "coordinator/pair_identity.h"

#include <sys/random.h>

#include <toml++/toml.h>

#include <cstdio>
#include <sstream>

namespace gb {

std::string PairIdentity::ToText() const {
  std::ostringstream out;
  out << "# govern-backup pair identity: this half belongs to the set below\n"
      << "id = \"" << id << "\"\n"
      << "pair_token = \"" << pair_token << "\"\n"
      << "role = \"" << role << "\"\n";
  return out.str();
}

Result<PairIdentity> PairIdentity::Parse(const std::string& text, const std::string& where) {
  if (text.empty()) return Status::Failed(where + " carries no pair identity");
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& error) {
    return Status::Failed(where + " has an unreadable pair identity: " +
                          std::string(error.description()));
  }
  PairIdentity identity;
  identity.id = table["id"].value_or(std::string());
  identity.pair_token = table["pair_token"].value_or(std::string());
  identity.role = table["role"].value_or(std::string());
  if (identity.id.empty() || identity.pair_token.empty() || identity.role.empty())
    return Status::Failed(where + " has an incomplete pair identity (id, pair_token, role)");
  return identity;
}

std::string NewPairToken() {
  unsigned char bytes[16];
  size_t filled = 0;
  while (filled < sizeof bytes) {
    ssize_t got = getrandom(bytes + filled, sizeof bytes - filled, 0);
    if (got > 0) filled += static_cast<size_t>(got);
  }
  char hex[33];
  for (size_t i = 0; i < sizeof bytes; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string(hex, 32);
}

}  // namespace gb
