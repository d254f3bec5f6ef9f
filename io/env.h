// Env: the seam between the tool and the operating system for the steps whose failure
// must be survivable (renames and removals of whole halves, the clock). Production code
// uses Env::Default(); tests substitute an Env that fails at step N (LevelDB's model).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "io/status.h"

namespace gb {

class Env {
 public:
  virtual ~Env() = default;
  static Env* Default();

  virtual Status Rename(const std::string& from, const std::string& to);
  virtual Status CreateDirectory(const std::string& path, mode_t mode);
  virtual Status RemoveAll(const std::string& path);   // like rm -rf; absent is fine
  virtual std::chrono::system_clock::time_point Now();
};

}  // namespace gb
