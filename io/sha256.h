// Sha256: incremental SHA-256 (OpenSSL EVP), as lowercase hex.
#pragma once

#include <memory>
#include <string>

#include "io/status.h"

namespace gb {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  // Finishes the digest; the object must not be updated afterwards.
  std::string HexDigest();

  static std::string OfString(const std::string& data);
  static Result<std::string> OfFile(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gb
