// Helpers shared by the age tests: in-memory byte streams and a decryption that keeps the
// plaintext released before a failure (what the CCTV vectors hash).
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "io/age_stream.h"
#include "io/byte_stream.h"

namespace gb::testing {

using ::gb::StringSink;
using ::gb::StringSource;

// Decrypts `ciphertext` reading `piece` bytes at a time; returns the outcome and appends the
// plaintext released on the way to `*released`.
inline AgeFailure DecryptReleased(std::string_view ciphertext,
                                  const std::vector<AgeIdentity>& identities, std::string* released,
                                  size_t piece = 10000) {
  StringSource input{std::string(ciphertext)};
  AgeFailure failure = AgeFailure::kNone;
  auto source = AgeDecryptingSource::Open(&input, identities, "test file", &failure);
  if (!source.ok()) return failure;
  std::string buffer(piece, '\0');
  while (true) {
    auto n = (*source)->Read(buffer.data(), buffer.size());
    if (!n.ok()) return (*source)->failure();
    if (*n == 0) return AgeFailure::kNone;
    released->append(buffer.data(), *n);
  }
}

}  // namespace gb::testing
