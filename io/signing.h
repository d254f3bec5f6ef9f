// Ed25519 signatures (OpenSSL EVP_PKEY_ED25519) for manifests: a signing key kept in a
// private PEM file, public keys in a one-line text form for a `trusted_keys = [...]` list,
// and verification that tells valid, unsigned, unknown key and invalid (tampered) apart.
//
// Text forms:
//   private key file: PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), mode 0600, readable by
//                     `openssl pkey -in FILE -noout -text`;
//   public key:       "ed25519:" + unpadded base64 of the 32 raw bytes (51 characters);
//   signature value:  unpadded base64 of the 64-byte signature.
// A SigningKey is immutable after creation and may be shared between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace gb {

struct Signature {
  std::string public_key;  // "ed25519:..." of the key that signed
  std::string value;       // base64 of the 64-byte signature
};

class SigningKey {
 public:
  static SigningKey Generate();
  // Refuses a file readable by group or others. Errors never include the key.
  static Result<SigningKey> ReadFile(const std::string& path);
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;

  // Creates `path` (O_EXCL, mode 0600) holding the private key as PKCS#8 PEM.
  Status WriteFile(const std::string& path) const;
  std::string PublicKey() const;  // "ed25519:..."
  Result<Signature> Sign(std::string_view data) const;

 private:
  SigningKey();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks the text form of a public key; the error quotes it (public keys are not secret).
Status ValidatePublicKey(const std::string& text);

enum class SignatureCheck {
  kValid,       // signed by a trusted key, and the data is what was signed
  kUnsigned,    // no signature
  kUnknownKey,  // signed by a key that is not in the trusted list
  kInvalid,     // a trusted key, but the signature does not match the data (tampered)
};

struct SignatureVerdict {
  SignatureCheck check = SignatureCheck::kUnsigned;
  std::string public_key;        // the signer's key as stated by the signature, if any
  std::string Describe() const;  // one line for the admin
};

// Verifies `signature` over `data` against `trusted_keys` (text forms).
SignatureVerdict VerifySignature(std::string_view data, const std::optional<Signature>& signature,
                                 const std::vector<std::string>& trusted_keys);

}  // namespace gb
