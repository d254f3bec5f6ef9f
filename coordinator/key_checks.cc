#include "coordinator/key_checks.h"

#include <algorithm>
#include <set>

#include "io/age_header.h"
#include "io/age_identity_file.h"
#include "io/age_keys.h"
#include "io/signing.h"
#include "io/text.h"

namespace gb {
namespace {

constexpr char kRecipients[] = "encryption recipients";
constexpr char kIdentity[] = "identity file";
constexpr char kPassphrase[] = "passphrase file";
constexpr char kSigningKey[] = "signing key";
constexpr char kTrustedKeys[] = "trusted keys";

std::string Counted(size_t count, const std::vector<std::string>& keys) {
  return std::to_string(count) + " (" + Join(keys, ", ") + ")";
}

Finding Recipients(const EncryptionConfig& encryption) {
  if (!encryption.encrypts()) return Finding::Ok(kRecipients, "none: sets are not encrypted");
  return Finding::Ok(kRecipients, Counted(encryption.recipients.size(), encryption.recipients) +
                                      ": every half and index is encrypted to them");
}

// The recipients of `identities` that the config encrypts to.
size_t MatchingRecipients(const std::vector<AgeIdentity>& identities,
                          const EncryptionConfig& encryption) {
  std::set<std::string> configured;
  for (const std::string& text : encryption.recipients)
    if (Result<AgeRecipient> parsed = AgeRecipient::Parse(text); parsed.ok())
      configured.insert(parsed->ToString());
  size_t matching = 0;
  for (const AgeIdentity& identity : identities)
    if (!identity.is_passphrase() && configured.count(identity.Recipient().ToString())) ++matching;
  return matching;
}

// The identity file: safe, readable, and (it should not be here at all) a warning.
void IdentityFile(const EncryptionConfig& encryption, std::vector<Finding>& findings) {
  const std::string& path = encryption.identity_file;
  if (path.empty()) {
    findings.push_back(Finding::Ok(
        kIdentity, encryption.encrypts()
                       ? "none on this host: the recommended setup (backups need only the "
                         "recipients; restore, extract and verify --deep take the identity from "
                         "where it is kept offline)"
                       : "none"));
    return;
  }
  Status safe = CheckPrivateFileMode(path, "identity file");
  if (!safe.ok()) {
    findings.push_back(Finding::Problem(kIdentity, safe));
    return;
  }
  std::vector<AgeIdentity> identities;
  const bool protected_file = ReadAgeFileHeader(path).ok();  // `age -p` of an identity file
  if (!protected_file || !encryption.passphrase_file.empty()) {
    Result<std::vector<AgeIdentity>> read =
        ReadIdentityFile(path, PassphraseSource{encryption.passphrase_file});
    if (!read.ok()) {
      findings.push_back(Finding::Problem(
          kIdentity, read.status().WithContext("[encryption] identity_file does not read")));
      return;
    }
    identities = std::move(read).value();
  }
  std::string where = path + (protected_file ? " (passphrase-protected)" : "");
  findings.push_back(Finding::Warning(
      kIdentity, where + " is on the backup host: restore needs it, backups do not; the "
                         "backup host should not need it: keep it offline"));
  if (!identities.empty() && encryption.encrypts() &&
      MatchingRecipients(identities, encryption) == 0)
    findings.push_back(Finding::Warning(
        kIdentity, path + " holds no identity of the configured recipients: it cannot decrypt "
                          "the sets this node makes"));
}

void PassphraseFile(const EncryptionConfig& encryption, std::vector<Finding>& findings) {
  if (encryption.passphrase_file.empty()) return;
  Status safe = CheckPrivateFileMode(encryption.passphrase_file, "passphrase file");
  findings.push_back(safe.ok() ? Finding::Ok(kPassphrase, encryption.passphrase_file + ": mode 0600")
                               : Finding::Problem(kPassphrase, safe));
}

// The signing key: it reads, and the keys this node's sets are checked against hold it.
void SigningKeyFile(const EncryptionConfig& encryption, std::vector<Finding>& findings) {
  if (!encryption.signs()) {
    if (encryption.trusted_keys.empty())
      findings.push_back(Finding::Ok(kSigningKey, "none: manifests are not signed"));
    else
      findings.push_back(Finding::Warning(
          kSigningKey, "none, but trusted_keys is set: the sets this node makes are unsigned, "
                       "and verify and restore here refuse unsigned sets (fine on a host that "
                       "only restores)"));
    return;
  }
  Result<SigningKey> key = SigningKey::ReadFile(encryption.signing_key_file);
  if (!key.ok()) {
    findings.push_back(Finding::Problem(
        kSigningKey, key.status().WithContext("[encryption] signing_key_file does not read")));
    return;
  }
  const std::string public_key = key->PublicKey();
  const auto& trusted = encryption.trusted_keys;
  if (!trusted.empty() && std::find(trusted.begin(), trusted.end(), public_key) == trusted.end()) {
    findings.push_back(Finding::Problem(
        kSigningKey,
        "the public key " + public_key + " of " + encryption.signing_key_file +
            " is not among [encryption] trusted_keys: a host that restores with this trusted_keys "
            "refuses every set this node signs",
        "add \"" + public_key + "\" to [encryption] trusted_keys"));
    return;
  }
  findings.push_back(Finding::Ok(kSigningKey, public_key + " (" + encryption.signing_key_file +
                                                  ") signs every manifest"));
}

Finding TrustedKeys(const EncryptionConfig& encryption) {
  if (encryption.trusted_keys.empty())
    return Finding::Ok(kTrustedKeys, encryption.signs()
                                         ? "none besides this node's own signing key"
                                         : "none: manifests are not checked");
  return Finding::Ok(kTrustedKeys,
                     Counted(encryption.trusted_keys.size(), encryption.trusted_keys) +
                         ": verify and restore accept only sets they signed");
}

}  // namespace

std::vector<Finding> CheckKeys(const EncryptionConfig& encryption) {
  std::vector<Finding> findings;
  findings.push_back(Recipients(encryption));
  IdentityFile(encryption, findings);
  PassphraseFile(encryption, findings);
  SigningKeyFile(encryption, findings);
  findings.push_back(TrustedKeys(encryption));
  return findings;
}

}  // namespace gb
