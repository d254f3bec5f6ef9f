// Helpers shared by the io tests: a scratch directory and reproducible test data.
#pragma once

#include <stdlib.h>

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/env.h"
#include "io/subprocess.h"

namespace gb::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its content at the end.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/gb-io-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~ScratchDir() { (void)Env::Default()->RemoveAll(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
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
