// SetKeys: the age keys a repository's sets are written and read with, from [encryption]:
// the recipients every new half and index is encrypted to (public), and the identities that
// decrypt them, read from identity_file only when something must be decrypted (a backup host
// holds no identity; a restore host reads it once, with the passphrase from passphrase_file or
// the terminal). Attached to the Repository when it is opened (open_repository.h), so that the
// half readers and writers (half_stream.h) find them without every command passing them on.
//
// Thread-safe: the identities are read once under a lock; everything else is immutable.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "io/age_header.h"
#include "io/age_keys.h"
#include "io/status.h"

namespace gb {

class SetKeys {
 public:
  // Recipients were checked when the config was read; a key that does not parse is still an
  // error here, naming it.
  static Result<std::shared_ptr<const SetKeys>> FromConfig(const EncryptionConfig& encryption);

  // Whether new sets are encrypted.
  bool encrypts() const { return !recipients_.empty(); }
  const std::vector<AgeRecipient>& recipients() const { return recipients_; }
  const std::vector<std::string>& recipient_texts() const { return recipient_texts_; }
  bool has_identity() const { return !identity_file_.empty(); }

  // The identities that decrypt set `set_id` (named in errors): none configured is an error
  // naming the set and `[encryption] identity_file`.
  Result<std::vector<AgeIdentity>> IdentitiesFor(const std::string& set_id) const;

  // The error for an age file of set `set_id` that did not decrypt: a clear one for the usual
  // cause (kNoMatch: the identity file holds none of the set's recipients), else `status`.
  Status DecryptionError(const Status& status, AgeFailure failure,
                         const std::string& set_id) const;

 private:
  SetKeys() = default;
  std::vector<AgeRecipient> recipients_;
  std::vector<std::string> recipient_texts_;
  std::string identity_file_;
  std::string passphrase_file_;
  mutable std::mutex reading_;
  mutable std::optional<Result<std::vector<AgeIdentity>>> identities_;  // once read
};

// The error when an encrypted set must be decrypted on a host whose repository has no keys.
Status NoIdentityError(const std::string& set_id);

}  // namespace gb
