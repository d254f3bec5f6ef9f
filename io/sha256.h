// Sha256: incremental SHA-256 (OpenSSL EVP), as lowercase hex.
#pragma once

#include <memory>
#include <string>

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  // Finishes the digest; the object must not be updated afterwards (until Reset()).
  std::string HexDigest();
  // Finishes the digest into `digest` (32 bytes) and starts a new one: hashing many small
  // strings (rows) with one OpenSSL context instead of one each.
  void DigestAndReset(unsigned char digest[32]);
  // Starts a new digest, whatever was hashed: one context for many files (a new one looks the
  // algorithm up again, under a lock).
  void Reset();

  static std::string OfString(const std::string& data);
  static Result<std::string> OfFile(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A ByteSink that hashes and counts what passes through it, on its way to `target` (or
// nowhere): a copy checked against a recorded SHA-256 without a second read.
class HashingSink : public ByteSink {
 public:
  HashingSink() = default;
  explicit HashingSink(ByteSink& target) : target_(&target) {}
  Status Write(const void* data, size_t size) override {
    hash_.Update(data, size);
    bytes_ += size;
    return target_ != nullptr ? target_->Write(data, size) : Status::Ok();
  }
  std::string HexDigest() { return hash_.HexDigest(); }
  uint64_t bytes() const { return bytes_; }

 private:
  ByteSink* target_ = nullptr;
  Sha256 hash_;
  uint64_t bytes_ = 0;
};

}  // namespace gb
