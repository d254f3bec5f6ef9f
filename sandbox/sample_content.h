// Sample content for the generated Govern node: a cheap pseudo-random generator, words from a
// Govern-like vocabulary, config-like JSON documents and large files that compress about
// like a real data dir's. Used by sandbox/sample_node.cc only. Rng is not thread-safe (one
// per writer); the free functions are stateless apart from the Rng they are given.
#pragma once

#include <cstdint>
#include <string>

#include "io/status.h"

namespace gb::sample {

// xorshift64*: the benchmark writes a gigabyte of sample data, std::mt19937 is too slow.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed == 0 ? 0x9E3779B97F4A7C15ull : seed) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

uint64_t RandomSeed();

inline constexpr char kAlphaNumeric[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr char kBase64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr char kHex[] = "0123456789abcdef";

std::string RandomString(Rng& rng, size_t length, const std::string& alphabet);

// `count` words of the vocabulary separated by spaces, appended to `out`.
void AppendWords(Rng& rng, size_t count, std::string* out);

// A DSS-like config document (type, id, name, creationTag, tags, a few dozen params).
std::string ConfigJson(Rng& rng, const std::string& type, const std::string& id);

// `bytes` of mixed data (see sample_content.cc) written to a new file `path`, mode 0644.
Status WriteLargeFile(Rng& rng, const std::string& path, uint64_t bytes);

}  // namespace gb::sample
