// AgeRangeSource: the plaintext of an age file (io/age_stream.h) as a RangeSource, over the
// RangeSource of the file itself: size() is the plaintext's, and ReadRange(offset, length)
// fetches only the 64 KiB chunks that cover the range (one ranged read), then authenticates
// and decrypts them. The seekable zstd reader, header frames and frame streams then work on
// an encrypted half unchanged, and a ranged read on S3 stays a small one.
//
// Thread-safe as RangeSource requires: fetches run in parallel; decryption is serialised
// (one OpenSSL context, a few GB/s: never the bottleneck next to zstd).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "io/age_header.h"
#include "io/age_keys.h"
#include "io/age_stream.h"
#include "io/range_source.h"
#include "io/status.h"

namespace gb {

// Bytes of the start of a file that hold its age header and payload nonce: a header with
// 100 X25519 recipients is about 10 KiB.
inline constexpr size_t kAgeHeadBytes = 16 * 1024;

// Whether `head` (the first bytes of a file) starts like an age v1 file.
bool LooksLikeAge(std::string_view head);

class AgeRangeSource : public RangeSource {
 public:
  // Reads the head of `cipher`, unwraps its file key with `identities`. `*failure` (if given)
  // tells why it failed (AgeFailure::kNoMatch: none of the identities is a recipient).
  static Result<std::unique_ptr<AgeRangeSource>> Open(std::unique_ptr<RangeSource> cipher,
                                                      const std::vector<AgeIdentity>& identities,
                                                      AgeFailure* failure = nullptr);

  const std::string& name() const override { return cipher_->name(); }
  uint64_t size() const override { return decryptor_.plaintext_size(); }
  Result<std::string> ReadRange(uint64_t offset, size_t length) override;

  // The file's header as parsed (its stanzas, the pair stanza among them).
  const AgeHeader& header() const { return header_; }

 private:
  AgeRangeSource(std::unique_ptr<RangeSource> cipher, AgeHeader header,
                 AgeRangeDecryptor decryptor)
      : cipher_(std::move(cipher)), header_(std::move(header)), decryptor_(std::move(decryptor)) {}

  std::unique_ptr<RangeSource> cipher_;
  const AgeHeader header_;
  std::mutex decrypting_;  // AgeRangeDecryptor keeps one cipher context
  AgeRangeDecryptor decryptor_;
};

// The age header at the start of `file` (no identity needed): to read the pair stanza.
Result<AgeHeader> ReadAgeHeaderAt(RangeSource& file);

}  // namespace gb
