// Env: the seam between the tool and the operating system for the steps whose failure
// must be survivable (renames and removals of whole halves, the manifest's atomic write)
// and for what tests must be able to fix (the clock, the host name). Production code uses
// Env::Default(); tests substitute an Env that fails at step N (LevelDB's model).
// Env::Default() is stateless and safe from any thread; a test's Env says what it is.
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
  // Writes `content` to `path` atomically and durably (io/atomic_file.h).
  virtual Status WriteFileAtomically(const std::string& path, const std::string& content,
                                     mode_t mode);
  virtual std::chrono::system_clock::time_point Now();
  virtual std::string HostName();  // "" when the kernel does not say
};

}  // namespace gb
