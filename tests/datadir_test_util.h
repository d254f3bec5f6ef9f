// Helpers shared by the datadir tests: a scratch directory the DSS user can traverse, and
// small file helpers.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/subprocess.h"

#include "tests/support/scratch_dir.h"

namespace gb::testing {

// Mode 0755: the unprivileged node owner must reach what is generated inside.
class NodeScratchDir : public ScratchDir {
 public:
  NodeScratchDir() : ScratchDir("gb-datadir-test-", 0755) {}
};


inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace gb::testing
