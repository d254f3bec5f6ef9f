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
#include "sandbox/sample_node.h"

#include "tests/support/scratch_dir.h"

namespace gb::testing {

// Mode 0755: the unprivileged node owner must reach what is generated inside.
class NodeScratchDir : public ScratchDir {
 public:
  NodeScratchDir() : ScratchDir("gb-datadir-test-", 0755) {}
};


// A sample node of 24 small files at `root` with its DSS double running: what the tests of
// bin/dss (the double and our control of it) start from.
inline Result<SampleNode> MakeRunningSmallNode(const std::string& root) {
  SampleNodeOptions options;
  options.root = root;
  options.small_files = 24;
  options.large_files = 0;
  options.start_running = true;
  return GenerateSampleNode(options);
}

// A stopped sample node at `root` with one large file of 256 KiB besides `options`' files:
// what the tests of node discovery and of the generator start from.
inline SampleNode MakeStoppedNode(SampleNodeOptions options, const std::string& root) {
  options.root = root;
  options.start_running = false;
  options.large_files = 1;
  options.large_file_bytes = 256 * 1024;
  Result<SampleNode> node = GenerateSampleNode(options);
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  return node.ok() ? *node : SampleNode{};
}

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
