// age v1 keys: X25519 identities ("AGE-SECRET-KEY-1...") and recipients ("age1..."), their
// Bech32 text forms, passphrase identities/recipients (scrypt), and the key file written by
// `age-keygen`. Reading a key file from disk (plain or passphrase-protected) is in
// io/age_identity_file.h. Values are immutable once built; safe to share between threads.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace gb {

namespace age {
// BIP173 Bech32 without the length limit (age.md); `hrp` decides the case of the output.
std::string Bech32Encode(const std::string& hrp, std::string_view data);
// Refuses mixed case, a bad checksum or padding; on success sets the HRP (in the case of the
// text: age identities are uppercase, recipients lowercase) and the data.
bool Bech32Decode(std::string_view text, std::string* hrp, std::string* data);
}  // namespace age

class AgeRecipient {
 public:
  // "age1..." (an X25519 public key). The error quotes the text: recipients are public.
  static Result<AgeRecipient> Parse(std::string_view text);
  // Encrypts to a passphrase (an scrypt stanza, which must then be the only recipient).
  // `work_factor` is log2(N); age's default is 18 (about 1 s).
  static AgeRecipient Passphrase(std::string passphrase, int work_factor = 18);

  bool is_passphrase() const { return is_passphrase_; }
  const std::string& public_key() const { return key_; }  // 32 bytes; X25519 only
  const std::string& passphrase() const { return key_; }  // scrypt only
  int work_factor() const { return work_factor_; }
  std::string ToString() const;  // "age1..." ; X25519 only

 private:
  friend class AgeIdentity;
  AgeRecipient(bool is_passphrase, std::string key, int work_factor)
      : is_passphrase_(is_passphrase), key_(std::move(key)), work_factor_(work_factor) {}
  bool is_passphrase_;
  std::string key_;
  int work_factor_;
};

class AgeIdentity {
 public:
  static AgeIdentity Generate();
  // "AGE-SECRET-KEY-1...". The error never quotes the text (it is a secret).
  static Result<AgeIdentity> Parse(std::string_view text);
  // Decrypts scrypt stanzas; `max_work_factor` bounds the time and memory an attacker-chosen
  // header can make us spend (age's own cap is 22).
  static AgeIdentity Passphrase(std::string passphrase, int max_work_factor = 22);

  AgeIdentity(const AgeIdentity& other) = default;
  AgeIdentity& operator=(const AgeIdentity& other) = default;
  ~AgeIdentity();

  bool is_passphrase() const { return is_passphrase_; }
  const std::string& secret_key() const { return secret_; }  // 32 bytes; X25519 only
  const std::string& passphrase() const { return secret_; }  // scrypt only
  int max_work_factor() const { return max_work_factor_; }
  std::string ToString() const;    // "AGE-SECRET-KEY-1..."; X25519 only
  AgeRecipient Recipient() const;  // X25519 only

 private:
  AgeIdentity(bool is_passphrase, std::string secret, int max_work_factor)
      : is_passphrase_(is_passphrase),
        secret_(std::move(secret)),
        max_work_factor_(max_work_factor) {}
  bool is_passphrase_;
  std::string secret_;
  int max_work_factor_;
};

// The three lines `age-keygen` writes: "# created: <RFC 3339>", "# public key: age1...",
// then the identity.
std::string FormatIdentityFile(const AgeIdentity& identity, std::time_t created);

// Parses key-file text: one identity per line; empty lines and '#' lines are ignored.
// `origin` names the file in errors; errors give the line number, never the line.
Result<std::vector<AgeIdentity>> ParseIdentities(std::string_view text, const std::string& origin);

// Generates an identity into a new file (O_EXCL, mode 0600) in age-keygen's format and
// returns it.
Result<AgeIdentity> GenerateIdentityFile(const std::string& path);

}  // namespace gb
