// Helpers shared by the io tests: a scratch directory and reproducible test data.
#pragma once

#include <stdlib.h>

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/byte_stream.h"
#include "io/env.h"
#include "io/subprocess.h"

#include "tests/support/scratch_dir.h"

namespace gb::testing {


// A sink that keeps only the number of bytes written (benchmarks).
class CountingSink : public ByteSink {
 public:
  Status Write(const void*, size_t size) override {
    bytes += size;
    return Status::Ok();
  }
  uint64_t bytes = 0;
};

inline SubprocessOptions Command(std::vector<std::string> argv) {
  SubprocessOptions options;
  options.argv = std::move(argv);
  return options;
}

// Text that compresses somewhat, like a data directory: words from a small vocabulary
// mixed with random bytes.
inline std::string MakeTestData(size_t size, unsigned seed = 1) {
  static const char* kWords[] = {"project", "dataset ", "recipe", "{\"name\": ", "govern\n",
                                 "blueprint", " 2024-01-01T00:00:00Z ", "artifact", "\t"};
  std::mt19937 random(seed);
  std::string data;
  data.reserve(size + 32);
  while (data.size() < size) {
    unsigned pick = random() % 12;
    if (pick < 9) {
      data += kWords[pick];
    } else {
      for (int i = 0; i < 8; ++i) data.push_back(static_cast<char>(random()));
    }
  }
  data.resize(size);
  return data;
}

}  // namespace gb::testing
