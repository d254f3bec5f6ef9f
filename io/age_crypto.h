// The OpenSSL 3.0 primitives age v1 is built from (X25519, HKDF-SHA-256, HMAC-SHA-256,
// ChaCha20-Poly1305, scrypt, CSPRNG) and age's strict unpadded base64, as small functions
// over byte strings. Nothing here is written by hand except the base64 canonicality check.
// Stateless functions are safe from any thread; a ChaChaPoly object is not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/status.h"

namespace gb::age {

constexpr size_t kKeySize = 32;      // X25519 keys, HKDF outputs, AEAD keys
constexpr size_t kFileKeySize = 16;  // age's per-file key
constexpr size_t kTagSize = 16;      // Poly1305 tag
constexpr size_t kNonceSize = 12;    // ChaCha20-Poly1305 nonce

// Standard-alphabet base64 without '=' padding (age.md "Conventions").
std::string Base64Encode(std::string_view data);
// Refuses padding, characters outside the alphabet, and non-canonical encodings (non-zero
// trailing bits), as age.md requires of decoders.
bool Base64Decode(std::string_view text, std::string* out);

std::string RandomBytes(size_t size);

// HKDF-SHA-256 with a 32-byte output. An empty salt is RFC 5869's default salt.
Result<std::string> Hkdf(std::string_view ikm, std::string_view salt, std::string_view info);
Result<std::string> HmacSha256(std::string_view key, std::string_view data);

// X25519 public key of a 32-byte secret.
Result<std::string> X25519Public(std::string_view secret);
// X25519(secret, peer); fails for low-order peers (an all-zero shared secret).
Result<std::string> X25519Shared(std::string_view secret, std::string_view peer);

// scrypt(N = 2^log_n, r = 8, p = 1) with a 32-byte output and enough memory allowed for N.
Result<std::string> Scrypt(std::string_view passphrase, std::string_view salt, int log_n);

// ChaCha20-Poly1305 with one key and a fresh nonce per message, no associated data.
// Keeps one OpenSSL context per direction so that sealing 64 KiB chunks costs no setup.
class ChaChaPoly {
 public:
  explicit ChaChaPoly(std::string_view key);
  ~ChaChaPoly();
  ChaChaPoly(const ChaChaPoly&) = delete;
  ChaChaPoly& operator=(const ChaChaPoly&) = delete;

  // Writes size + kTagSize bytes to `out`.
  Status Seal(const uint8_t nonce[kNonceSize], const void* in, size_t size, void* out);
  // `size` includes the tag; writes size - kTagSize bytes. False when authentication fails.
  bool Open(const uint8_t nonce[kNonceSize], const void* in, size_t size, void* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One message under an all-zero nonce: how age wraps a file key in a recipient stanza.
Result<std::string> SealZeroNonce(std::string_view key, std::string_view plaintext);
// False when authentication fails (the wrong identity).
bool OpenZeroNonce(std::string_view key, std::string_view ciphertext, std::string* plaintext);

// Overwrites a secret held in a string before it is released.
void Wipe(std::string& secret);

}  // namespace gb::age
