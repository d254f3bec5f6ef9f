// keygen: writes a new key file and prints the public half, the only part the backup host
// needs. An age identity (`--out FILE`) decrypts sets encrypted to its recipient; an Ed25519
// key (`--signing --out FILE`) signs manifests that `trusted_keys` then accepts. The file is
// created 0600 and never overwrites another; the secret is never printed or logged.
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/commands.h"
#include "coordinator/json_output.h"
#include "io/age_keys.h"
#include "io/signing.h"

namespace gb {
namespace {

// The public half and how the config takes it.
struct NewKey {
  std::string kind;        // "age identity" | "ed25519 signing key"
  std::string public_key;  // "age1..." | "ed25519:..."
  std::string config_key;  // where it goes: [encryption] recipients | trusted_keys
};

Result<NewKey> WriteAgeIdentity(const std::string& path) {
  GB_ASSIGN_OR_RETURN(AgeIdentity identity, GenerateIdentityFile(path));
  return NewKey{"age identity", identity.Recipient().ToString(), "recipients"};
}

Result<NewKey> WriteSigningKey(const std::string& path) {
  SigningKey key = SigningKey::Generate();
  GB_RETURN_IF_ERROR(key.WriteFile(path));
  return NewKey{"ed25519 signing key", key.PublicKey(), "trusted_keys"};
}

void PrintNewKey(const GlobalOptions& global, const std::string& path, const NewKey& key) {
  if (global.json) {
    PrintJson({{"command", "keygen"}, {"file", path}, {"kind", key.kind},
               {"public_key", key.public_key}, {"config_key", key.config_key}});
    return;
  }
  // stdout is the public key alone, so that scripts can take it; the advice goes to the log.
  std::cout << key.public_key << "\n";
  spdlog::info("{} written to {} (mode 0600); put its public key in [encryption] {}", key.kind,
               path, key.config_key);
}

}  // namespace

Status RunKeygen(const GlobalOptions& global, const KeygenOptions& options) {
  if (options.out.empty())
    return Status::Usage("keygen needs --out FILE", "name a new file; an existing one is never replaced");
  Result<NewKey> key =
      options.signing ? WriteSigningKey(options.out) : WriteAgeIdentity(options.out);
  if (!key.ok()) return key.status().WithContext("keygen");
  PrintNewKey(global, options.out, *key);
  return Status::Ok();
}

}  // namespace gb
