#include "coordinator/pair_identity.h"

#include "coordinator/toml_text.h"
#include "io/text.h"

namespace gb {

std::string PairIdentity::ToText() const {
  return FormatToml(toml::table{{"id", id}, {"pair_token", pair_token}, {"role", role}},
                    "# govern-backup pair identity: this half belongs to the set below");
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

std::string NewPairToken() { return RandomHex(16); }

}  // namespace gb
