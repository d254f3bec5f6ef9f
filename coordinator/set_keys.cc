#include "coordinator/set_keys.h"

#include "io/age_identity_file.h"

namespace gb {

Status NoIdentityError(const std::string& set_id) {
  return Status::Failed("set " + set_id +
                            " is encrypted and no identity to decrypt it is configured "
                            "([encryption] identity_file is not set)",
                        "set `[encryption] identity_file` to the age identity file whose "
                        "public key is one of the set's recipients (on the restore host)");
}

Result<std::shared_ptr<const SetKeys>> SetKeys::FromConfig(const EncryptionConfig& encryption) {
  std::shared_ptr<SetKeys> keys(new SetKeys());
  for (const std::string& text : encryption.recipients) {
    Result<AgeRecipient> recipient = AgeRecipient::Parse(text);
    if (!recipient.ok())
      return recipient.status().WithContext("[encryption] recipients: " + text);
    keys->recipients_.push_back(std::move(recipient).value());
    keys->recipient_texts_.push_back(text);
  }
  keys->identity_file_ = encryption.identity_file;
  keys->passphrase_file_ = encryption.passphrase_file;
  return std::shared_ptr<const SetKeys>(std::move(keys));
}

Result<std::vector<AgeIdentity>> SetKeys::IdentitiesFor(const std::string& set_id) const {
  if (identity_file_.empty()) return NoIdentityError(set_id);
  std::lock_guard<std::mutex> lock(reading_);
  if (!identities_) {
    Result<std::vector<AgeIdentity>> read =
        ReadIdentityFile(identity_file_, PassphraseSource{passphrase_file_});
    if (!read.ok())
      read = read.status().WithContext("[encryption] identity_file " + identity_file_);
    identities_ = std::move(read);
  }
  return *identities_;
}

Status SetKeys::DecryptionError(const Status& status, AgeFailure failure,
                                const std::string& set_id) const {
  if (failure != AgeFailure::kNoMatch) return status;
  return Status::Failed("no identity in " + identity_file_ + " matches the recipients of set " +
                            set_id,
                        "set `[encryption] identity_file` to the identity whose public key the "
                        "set was encrypted to (its manifest lists them under [encryption] recipients)");
}

}  // namespace gb
