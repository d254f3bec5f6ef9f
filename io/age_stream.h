// The age v1 payload (STREAM): a 16-byte nonce, then 64 KiB plaintext chunks each sealed with
// ChaCha20-Poly1305 under the nonce "11-byte big-endian counter || last-chunk flag".
//
// AgeEncryptingSink encrypts as a ByteSink in front of another sink (e.g. between the zstd
// compressor and the file or object), holding one chunk at most: no plaintext reaches disk.
// AgeDecryptingSource decrypts a ByteSource and releases each chunk once authenticated; the
// stream ends only after an authenticated final chunk followed by end of file.
// AgeRangeDecryptor decrypts a plaintext range [begin, end) from the ciphertext bytes of only
// the chunks covering it (an object-store range GET).
// None of these classes is thread-safe; use one object per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/age_header.h"
#include "io/age_keys.h"
#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

inline constexpr size_t kAgeChunkSize = 64 * 1024;

struct AgeEncryptOptions {
  std::vector<AgeRecipient> recipients;   // every one can decrypt; at least one
  std::optional<std::string> pair_token;  // travels in clear in the header's pair stanza
};

class AgeEncryptingSink : public ByteSink {
 public:
  // Writes the header and the nonce to `downstream` (not owned; must outlive this object).
  static Result<std::unique_ptr<AgeEncryptingSink>> Create(ByteSink* downstream,
                                                           const AgeEncryptOptions& options);
  ~AgeEncryptingSink() override;

  Status Write(const void* data, size_t size) override;
  // Seals the final chunk. Required: a file without it does not decrypt (truncation).
  Status Finish();

  uint64_t plaintext_bytes() const;
  uint64_t ciphertext_bytes() const;  // everything written downstream, header included

 private:
  AgeEncryptingSink();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class AgeDecryptingSource : public ByteSource {
 public:
  // Reads the header and nonce from `upstream` (not owned) and unwraps the file key with
  // `identities`. `origin` names the file in errors; `*failure` (if given) says why it failed.
  static Result<std::unique_ptr<AgeDecryptingSource>> Open(
      ByteSource* upstream, const std::vector<AgeIdentity>& identities, const std::string& origin,
      AgeFailure* failure = nullptr);
  ~AgeDecryptingSource() override;

  // Plaintext; 0 only after the final chunk authenticated and the input ended.
  Result<size_t> Read(void* buffer, size_t capacity) override;

  const AgeHeader& header() const;
  AgeFailure failure() const;  // of the last Read() error; kNone before any

 private:
  AgeDecryptingSource();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class AgeRangeDecryptor {
 public:
  struct Span {
    uint64_t offset = 0;  // in the file
    uint64_t size = 0;
  };

  // `head`: the first bytes of the file, at least its header and nonce (4 KiB is plenty for
  // a few recipients). `file_size` decides which chunk is the final one: pass the size the
  // manifest recorded, so that a truncated file fails rather than ending early.
  static Result<AgeRangeDecryptor> Open(std::string_view head, uint64_t file_size,
                                        const std::vector<AgeIdentity>& identities,
                                        const std::string& origin, AgeFailure* failure = nullptr);
  AgeRangeDecryptor(AgeRangeDecryptor&&);
  ~AgeRangeDecryptor();

  uint64_t plaintext_size() const;
  // The file bytes to fetch for plaintext [begin, end); REQUIRES begin <= end <= plaintext_size.
  Span CipherSpan(uint64_t begin, uint64_t end) const;
  // `cipher`: exactly the bytes of CipherSpan(begin, end).
  Result<std::string> Decrypt(uint64_t begin, uint64_t end, std::string_view cipher) const;

 private:
  AgeRangeDecryptor();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whole-buffer forms for small payloads (an encrypted key file, a manifest).
Result<std::string> AgeEncryptString(std::string_view plaintext, const AgeEncryptOptions& options);
Result<std::string> AgeDecryptString(std::string_view ciphertext,
                                     const std::vector<AgeIdentity>& identities,
                                     const std::string& origin, AgeFailure* failure = nullptr);

}  // namespace gb
