// ScratchDir: the tests' one temporary directory. Made fresh by io/files.h MakeTempDir under
// $TMPDIR (else /tmp) with the mode asked (0755 where an unprivileged DSS or postgres user must
// reach inside), and removed at the end with all it holds, read-only folders included.
// Header-only so that every test executable can use it, whatever it links.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "io/files.h"

namespace gb {
namespace testing {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "gb-test-", mode_t mode = 0700) {
    const char* base = std::getenv("TMPDIR");
    Result<std::string> made = MakeTempDir(base && *base ? base : "/tmp", prefix);
    if (!made.ok()) {
      ADD_FAILURE() << made.status().ToString();
      return;
    }
    path_ = *made;
    if (mode != 0700 && ::chmod(path_.c_str(), mode) != 0) ADD_FAILURE() << "chmod " << path_;
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    namespace fs = std::filesystem;
    std::error_code error;
    // Trees made read-only by a test must become writable before they can be emptied.
    for (auto it = fs::recursive_directory_iterator(path_, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_directory(error) && !it->is_symlink(error)) ::chmod(it->path().c_str(), 0700);
    }
    fs::remove_all(path_, error);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace gb
